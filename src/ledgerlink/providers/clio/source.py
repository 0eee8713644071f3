"""Clio as the sync engine's :class:`~ledgerlink.sync.ports.Source`: contacts and bills as domain records."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal

from ledgerlink.domain import Contact, Invoice, money
from ledgerlink.errors import LedgerlinkError
from ledgerlink.providers.clio.client import ClioClient
from ledgerlink.providers.clio.translate import contact_from_clio, invoice_from_clio
from ledgerlink.providers.clio.wire import ClioBill, ClioBillingSettings, ClioLineItem

log = logging.getLogger("ledgerlink.clio")

# Up to this many bills (the oldest ones, when there are more) get a line-item request each;
# the lines of the rest come from one paged scan of the line items created since then.
LINES_PER_BILL_UP_TO = 10
# Lines are created with or after their bill; the margin covers clocks and time zones.
SCAN_MARGIN = timedelta(days=1)


class ClioSource:
    """Reads one Clio account for a sync pass.

    Clio's ``bill_id`` filter takes one bill, so reading the lines of many bills one request each
    would spend the rate limit (50 requests a minute at peak) on little data. Many bills' lines
    are read instead by one scan of the line items created since the oldest of them; a bill whose
    scanned lines do not add up to its total is read again on its own.
    """

    def __init__(self, client: ClioClient) -> None:
        self._client = client
        self._settings: ClioBillingSettings | None = None

    def changed_contacts(self, since: datetime | None) -> list[Contact]:
        return [contact_from_clio(c) for c in self._client.contacts(updated_since=since)]

    def contacts(self, ids: Collection[str]) -> list[Contact]:
        return [contact_from_clio(c) for c in self._client.contacts(ids=[int(i) for i in ids])]

    def changed_invoices(self, since: datetime | None, *, issued_after: date | None) -> list[Invoice]:
        """Bills updated after ``since`` and issued strictly after ``issued_after``, as invoices."""
        return self._invoices(list(self._client.bills(updated_since=since, issued_after=issued_after)))

    def invoices(self, ids: Collection[str]) -> list[Invoice]:
        return self._invoices(list(self._client.bills(ids=[int(i) for i in ids])))

    def _invoices(self, bills: list[ClioBill]) -> list[Invoice]:
        if self._settings is None:
            self._settings = self._client.billing_settings()
        lines = self._lines(bills)
        activity_ids = {line.activity.id for group in lines.values() for line in group if line.activity}
        activities = {a.id: a for a in self._client.activities(activity_ids)}
        invoices = []
        for bill in bills:
            try:
                invoices.append(invoice_from_clio(bill, lines[bill.id], activities, self._settings))
            except LedgerlinkError as exc:
                # Not an invoice ledgerlink can write (e.g. a bill state Clio added later): say so, go on.
                log.warning("skipping Clio bill %s: %s", bill.number, exc.message)
        return invoices

    def _lines(self, bills: Sequence[ClioBill]) -> dict[int, list[ClioLineItem]]:
        dated = sorted((b for b in bills if b.created_at), key=lambda b: b.created_at or datetime.min)
        undated = [b for b in bills if not b.created_at]
        one_by_one, scanned = undated + dated[:LINES_PER_BILL_UP_TO], dated[LINES_PER_BILL_UP_TO:]
        lines = {bill.id: self._client.line_items(bill.id) for bill in one_by_one}
        if scanned and scanned[0].created_at:
            found: dict[int, list[ClioLineItem]] = {bill.id: [] for bill in scanned}
            for line in self._client.line_items_created_since(scanned[0].created_at - SCAN_MARGIN):
                if line.bill is not None and line.bill.id in found:
                    found[line.bill.id].append(line)
            for bill in scanned:
                adds_up = _adds_up(bill, found[bill.id])
                lines[bill.id] = found[bill.id] if adds_up else self._client.line_items(bill.id)
        return lines


def _adds_up(bill: ClioBill, lines: Iterable[ClioLineItem]) -> bool:
    """Whether these lines, the bill's taxes and its interest make exactly its total."""
    interest = bill.interest.total if bill.interest else Decimal(0)
    charges = sum((money(line.total) for line in lines), Decimal(0))
    return charges + money(bill.tax_sum) + money(bill.secondary_tax_sum) + money(interest) == money(
        bill.total
    )
