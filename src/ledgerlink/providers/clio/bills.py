"""Clio bills as invoices, in windows: the first bills are ready to write while the rest are still read.

A bill becomes an invoice from three reads: the bill, its line items, and the activities behind
those lines (for each line's category). Clio's ``bill_id`` filter takes one bill, so reading many
bills' lines one request each would spend the rate limit (50 requests a minute at peak) on little
data. The lines of many bills come instead from one paged scan of the line items created since the
oldest of them (:data:`LINES_PER_BILL_UP_TO` of the oldest bills get a request each, so one old
bill does not make the scan read years of lines).

The scan is consumed as it arrives. Bills are taken in the order they were created; Clio numbers
line items in the order it creates them, so once the scan shows a line of a later bill, an earlier
bill's lines from when it was made have all been read: if they add up to its total it is complete,
and its activities are read (whole requests of ids at a time) and it is handed out in the next
window. A bill whose scanned lines never add up is read again on its own at the end. A line that
turns up for a bill already handed out (added to the bill later, e.g. a zero-amount line) makes that
bill be read again on its own and handed out once more, whole: the engine then updates what it
wrote, so the ledger ends with every line.

Windows bound what a pass holds at once (a page of bills, their lines and activities) and let the
engine write one window while the next is read.
"""

from __future__ import annotations

import logging
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import timedelta
from decimal import Decimal

from ledgerlink.domain import Invoice, money
from ledgerlink.errors import LedgerlinkError
from ledgerlink.providers.clio.client import IDS_PER_REQUEST, ClioClient
from ledgerlink.providers.clio.translate import invoice_from_clio
from ledgerlink.providers.clio.wire import ClioActivityCategory, ClioBill, ClioBillingSettings, ClioLineItem

log = logging.getLogger("ledgerlink.clio")

# Up to this many bills (the oldest ones, when there are more) get a line-item request each;
# the lines of the rest come from one paged scan of the line items created since then.
LINES_PER_BILL_UP_TO = 10
# Lines are created with or after their bill; the margin covers clocks and time zones.
SCAN_MARGIN = timedelta(days=1)
# A window closes once this many activity ids wait to be read (rounded down to whole requests),
# or this many bills wait (bills without activities: expenses typed on the bill, interest).
ACTIVITIES_AT_ONCE = 1000
BILLS_AT_ONCE = 200


def header(bill: ClioBill) -> Invoice | None:
    """The bill as an invoice without its charge lines (client, state, dates, total), or None when it
    cannot be an invoice (the full read says why)."""
    try:
        return invoice_from_clio(bill, (), {}, ClioBillingSettings())
    except LedgerlinkError:
        return None


class BillStream:
    """The invoices of ``bills`` (read already), in windows as their lines and activities arrive."""

    def __init__(
        self, client: ClioClient, bills: Sequence[ClioBill], settings: Callable[[], ClioBillingSettings]
    ) -> None:
        self._client = client
        self._bills = list({bill.id: bill for bill in bills}.values())  # a bill listed twice is read once
        self._settings = settings
        self.headers: list[Invoice] = [h for bill in self._bills if (h := header(bill)) is not None]

    def windows(self) -> Iterator[list[Invoice]]:
        if not self._bills:  # an idle pass: no need to read the billing settings
            return
        builder = _Builder(self._client, self._settings())
        for bill, lines in self._complete_bills():
            builder.add(bill, lines)
            if builder.due() and (window := builder.take(final=False)):
                yield window
        last = builder.take(final=True)
        if last:
            yield last

    def _complete_bills(self) -> Iterator[tuple[ClioBill, list[ClioLineItem]]]:
        """Each bill with all its lines, as soon as they are known; a bill with a late line comes twice."""
        dated = sorted((b for b in self._bills if b.created_at), key=lambda b: (b.created_at, b.id))
        undated = [b for b in self._bills if not b.created_at]
        one_by_one, scanned = undated + dated[:LINES_PER_BILL_UP_TO], dated[LINES_PER_BILL_UP_TO:]
        for bill in one_by_one:
            yield bill, self._client.line_items(bill.id)
        if not scanned or scanned[0].created_at is None:
            return
        position = {bill.id: n for n, bill in enumerate(scanned)}
        found: dict[int, list[ClioLineItem]] = {bill.id: [] for bill in scanned}
        handed: set[int] = set()
        late: set[int] = set()
        passed = 0  # scanned[:passed] have had their moment: their first lines are all read
        for line in self._client.line_items_created_since(scanned[0].created_at - SCAN_MARGIN):
            bill_id = line.bill.id if line.bill is not None else None
            if bill_id not in position:
                continue
            if bill_id in handed:
                late.add(bill_id)
                continue
            found[bill_id].append(line)
            while passed < position[bill_id]:
                earlier = scanned[passed]
                passed += 1
                if _adds_up(earlier, found[earlier.id]):
                    handed.add(earlier.id)
                    yield earlier, found.pop(earlier.id)
        for bill in scanned:
            if bill.id in handed:
                continue
            lines = found.pop(bill.id)
            yield bill, lines if _adds_up(bill, lines) else self._client.line_items(bill.id)
        for bill in scanned:
            if bill.id in late:
                log.info("Clio bill %s gained a line after it was made; reading it whole again", bill.number)
                yield bill, self._client.line_items(bill.id)


class _Builder:
    """Bills with their lines wait here until the activities behind their lines are read."""

    def __init__(self, client: ClioClient, settings: ClioBillingSettings) -> None:
        self._client = client
        self._settings = settings
        self._activities: dict[int, ClioActivityCategory] = {}
        self._queued: list[int] = []  # activity ids still to read, in the order of their bills
        self._asked: set[int] = set()  # activity ids read or queued
        self._waiting: deque[tuple[ClioBill, list[ClioLineItem], list[int]]] = deque()
        self._needed: Counter[int] = Counter()  # how many waiting bills need each activity

    def add(self, bill: ClioBill, lines: list[ClioLineItem]) -> None:
        ids = list(dict.fromkeys(line.activity.id for line in lines if line.activity))
        self._queued += [i for i in ids if i not in self._asked]
        self._asked.update(ids)
        self._waiting.append((bill, lines, ids))
        self._needed.update(ids)

    def due(self) -> bool:
        return len(self._queued) >= ACTIVITIES_AT_ONCE or len(self._waiting) >= BILLS_AT_ONCE

    def take(self, *, final: bool) -> list[Invoice]:
        """Read the queued activities (whole requests only, unless ``final``) and build every bill they
        complete: reading in windows costs no request more than reading every id at once."""
        whole = len(self._queued) if final else len(self._queued) // IDS_PER_REQUEST * IDS_PER_REQUEST
        if whole:
            read = self._client.activity_categories(self._queued[:whole])
            self._activities.update((a.id, a) for a in read)
            self._queued = self._queued[whole:]
        pending = set(self._queued)
        ready = next((n for n, (_, _, ids) in enumerate(self._waiting) if pending.intersection(ids)), None)
        return self._build(len(self._waiting) if ready is None else ready)

    def _build(self, count: int) -> list[Invoice]:
        invoices = []
        for _ in range(count):
            bill, lines, ids = self._waiting.popleft()
            try:
                invoices.append(invoice_from_clio(bill, lines, self._activities, self._settings))
            except LedgerlinkError as exc:
                # Not an invoice ledgerlink can write (e.g. a bill state Clio added later): say so, go on.
                log.warning("skipping Clio bill %s: %s", bill.number, exc.message)
            self._needed.subtract(ids)
            for activity_id in ids:
                if self._needed[activity_id] <= 0:  # read again should a later bill name it
                    self._activities.pop(activity_id, None)
                    self._asked.discard(activity_id)
                    del self._needed[activity_id]
        # A bill read again whole (a late line) while its first reading still waited here: the last counts.
        return list({invoice.source_id: invoice for invoice in invoices}.values())


def flatten(windows: Iterable[list[Invoice]]) -> list[Invoice]:
    """Every window's invoices in one list; a bill handed out twice (a late line) counts as its last."""
    return list({invoice.source_id: invoice for window in windows for invoice in window}.values())


def _adds_up(bill: ClioBill, lines: Iterable[ClioLineItem]) -> bool:
    """Whether these lines, the bill's taxes and its interest make exactly its total."""
    interest = bill.interest.total if bill.interest else Decimal(0)
    charges = sum((money(line.total) for line in lines), Decimal(0))
    return charges + money(bill.tax_sum) + money(bill.secondary_tax_sum) + money(interest) == money(
        bill.total
    )
