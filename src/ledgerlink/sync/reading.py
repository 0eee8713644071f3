"""What a pass reads: the changes on both sides since the last pass, and what to try again.

Clio's request budget is small (50 a minute at peak), so the reader asks for changes since the
stream's cursor (less a small overlap for clock skew) and re-reads only records that can have
moved: open errors whose blocker is fixed, unfinished intents, records edited in the ledger.
Records whose error the bookkeeper parked (`ledgerlink skip`) are not read again for their error
(the Applier would not send them anyway); records they asked to retry (`ledgerlink retry`) are
read again even while their parent still fails, so the retry gets a fresh answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Generic, Protocol, TypeVar

from ledgerlink.config import Config
from ledgerlink.domain import Contact, CreditNote, Invoice, Payment
from ledgerlink.errors import RecordError
from ledgerlink.store import Store, SyncError
from ledgerlink.sync.apply import WRITEBACK
from ledgerlink.sync.flows import contacts as contact_flow
from ledgerlink.sync.flows import credit_notes as credit_flow
from ledgerlink.sync.flows import invoices as invoice_flow
from ledgerlink.sync.flows import payments as payment_flow
from ledgerlink.sync.flows import trust as trust_flow
from ledgerlink.sync.plan import Action, Op
from ledgerlink.sync.ports import InvoiceStream, Ledger, LedgerChanges, LinkView, Source

log = logging.getLogger("ledgerlink.sync")

OVERLAP = timedelta(minutes=2)
STREAM_BILLS = "clio:bills"
STREAM_CONTACTS = "clio:contacts"
STREAM_ALLOCATIONS = "clio:allocations"
STREAM_LEDGER = "ledger:changes"
# The words a blocked record's ``blocked_by`` uses for its parent, and the parent's link kind.
BLOCKER_KINDS = {"bill": invoice_flow.KIND}
# Link kinds whose ledger-side edits are overwritten with Clio's version (Clio owns them).
CLIO_OWNED = (
    invoice_flow.KIND,
    payment_flow.KIND,
    credit_flow.KIND,
    credit_flow.APPLICATION_KIND,
)


def blocker_of(error: SyncError) -> tuple[str, str] | None:
    """(kind, source id) of the record a blocked error waits for, read from its ``blocked_by``."""
    noun, _, parent = (error.blocked_by or "").partition(" ")
    return (BLOCKER_KINDS.get(noun, noun), parent) if parent else None


class _Settled(Protocol):
    @property
    def source_id(self) -> str: ...


S = TypeVar("S", bound=_Settled)


@dataclass(frozen=True)
class Settlements(Generic[S]):
    """Payments or credit notes: both are Clio allocations, read and retried alike."""

    kinds: tuple[str, ...]  # their link kinds
    enabled: bool  # sync.payments / sync.credit_notes
    changed: Callable[[datetime | None], list[S]]
    by_ids: Callable[[Collection[str]], list[S]]


class PassReader:
    """Reads one pass's records for one connection; ``since`` is a --since backfill date, if any."""

    def __init__(
        self,
        *,
        source: Source,
        ledger: Ledger,
        store: Store,
        connection_id: int,
        config: Config,
        since: date | None = None,
    ) -> None:
        self.source = source
        self.ledger = ledger
        self.store = store
        self.conn = connection_id
        self.config = config
        self.since = since
        self.payments = Settlements(
            (payment_flow.KIND,), config.sync.payments, source.changed_payments, source.payments
        )
        self.credit_notes = Settlements(
            (credit_flow.KIND, credit_flow.APPLICATION_KIND),
            config.sync.credit_notes,
            source.changed_credit_notes,
            source.credit_notes,
        )

    def mark(self, stream: str) -> datetime | None:
        mark = self.store.cursor(self.conn, stream)
        return mark - OVERLAP if mark else None

    def ledger_changes(self) -> LedgerChanges | None:
        """What was edited or deleted in the ledger since the last pass (None on a first pass)."""
        mark = self.mark(STREAM_LEDGER)
        if mark is None:
            return None
        kinds = CLIO_OWNED + (trust_flow.KINDS if self.config.trust.accounts else ())
        changes = self.ledger.changes(mark, kinds)
        if changes is None:
            log.warning(
                "%s could not list its changes since the last pass (over 30 days ago, or too many): "
                "edits made there are not detected this time",
                self.ledger.title,
            )
        return changes

    def invoice_stream(self, extra_ids: Collection[str]) -> InvoiceStream:
        """Bills changed since the last pass (by issue date for a --since backfill), bills whose error
        is open and not parked, and ``extra_ids`` (unfinished intents)."""
        start = self.since or self.config.sync.start_date
        failed = self.store.open_error_ids(self.conn, invoice_flow.KIND, parked=False)
        return self.source.invoice_stream(
            None if self.since else self.mark(STREAM_BILLS),
            issued_after=start - timedelta(days=1) if start else None,
            ids=sorted(failed | set(extra_ids)),
        )

    def retry_ids(
        self,
        kinds: Sequence[str],
        have: Collection[str],
        changes: LedgerChanges | None,
        waiting: Collection[tuple[str, str]],
    ) -> list[str]:
        """Source ids to read again: open errors not still waiting on a failed parent, and records
        edited or deleted in the ledger since the last pass."""
        ids: set[str] = set()
        for kind in kinds:
            ids |= {
                e.source_id
                for e in self.store.open_errors(self.conn, kind, parked=False)
                if (kind, e.source_id) not in waiting
            }
            if changes is not None:
                touched = changes.versions.get(kind, {})
                for source_id, link in self.store.links(self.conn, kind).items():
                    if link.target_id in touched and touched[link.target_id] != link.version_token:
                        ids.add(source_id)
        return sorted(ids - set(have))

    @cached_property
    def forced(self) -> frozenset[tuple[str, str]]:
        """Records the bookkeeper asked to retry (`ledgerlink retry`): never left waiting this pass."""
        return frozenset(self.store.retry_requested(self.conn))

    def still_waiting(self) -> dict[tuple[str, str], SyncError]:
        """Blocked records whose blocker (a bill or contact) still has an open error, by (kind, id)."""
        errors = self.store.open_errors(self.conn)
        open_records = {(e.kind, e.source_id) for e in errors}
        waiting = {}
        for error in errors:
            key = (error.kind, error.source_id)
            if error.cause != "blocked" or key in self.forced:
                continue
            if blocker_of(error) in open_records:
                waiting[key] = error
        return waiting

    @staticmethod
    def still_blocked(
        waiting: Mapping[tuple[str, str], SyncError], kinds: Collection[str], read: Collection[str]
    ) -> list[Action]:
        """Records not read again because their parent failed again: still blocked, and counted so."""
        return [
            Action(
                Op.BLOCKED,
                e.kind,
                e.source_id,
                e.label,
                error=RecordError(
                    cause=e.cause,
                    message=e.message,
                    remedy=e.remedy,
                    retryable=e.retryable,
                    blocked_by=e.blocked_by,
                ),
            )
            for (kind, source_id), e in waiting.items()
            if kind in kinds and source_id not in read
        ]

    def changed(self, stream: Settlements[S], extra: Mapping[str, Sequence[str]]) -> list[S]:
        """Payments (or credit notes) changed since the last pass, and those of unfinished intents."""
        if not stream.enabled:
            return []
        records = stream.changed(self.mark(STREAM_ALLOCATIONS))
        wanted = {source_id for kind in stream.kinds for source_id in extra.get(kind, ())}
        unread = sorted(wanted - {r.source_id for r in records})
        return records + (stream.by_ids(unread) if unread else [])

    def retries(
        self,
        stream: Settlements[S],
        have: Sequence[S],
        changes: LedgerChanges | None,
        waiting: Collection[tuple[str, str]],
    ) -> list[S]:
        """Payments (or credit notes) to try again; see :meth:`retry_ids`."""
        if not stream.enabled:
            return []
        retry = self.retry_ids(stream.kinds, {r.source_id for r in have}, changes, waiting)
        return stream.by_ids(retry) if retry else []

    def bills_paid(
        self,
        payments: Sequence[Payment],
        credits: Sequence[CreditNote],
        invoices: Sequence[Invoice],
        invoice_links: Mapping[str, LinkView],
    ) -> dict[str, Invoice]:
        """The bills payments and credits apply to, for labels and scope (unlinked ones read from Clio)."""
        referenced = {b for p in payments for b in p.bill_ids} | {b for c in credits for b in c.bill_ids}
        known = {i.source_id: i for i in invoices if i.source_id in referenced}
        unread = referenced - set(known) - set(invoice_links)
        if unread:
            known.update({i.source_id: i for i in self.source.invoices(sorted(unread))})
        return known

    def contacts(
        self, needed: set[str], links: Mapping[str, LinkView], extra_ids: Collection[str]
    ) -> list[Contact]:
        changed = self.source.changed_contacts(self.mark(STREAM_CONTACTS))
        retry = self.store.open_error_ids(self.conn, contact_flow.KIND, parked=False) | set(extra_ids)
        retry |= self.store.open_error_ids(self.conn, WRITEBACK, parked=False)
        wanted = needed | retry
        relevant = [c for c in changed if c.source_id in links or c.source_id in wanted]
        missing = wanted - {c.source_id for c in relevant}
        if missing:
            relevant += self.source.contacts(sorted(missing))
        return relevant


def remembered_start(store: Store, connection_id: int, key: str, today: date, *, dry_run: bool) -> date:
    """The day a feature with no configured start date began: today on its first pass, then remembered.

    A dry run reads the remembered day but does not fix one (it writes nothing).
    """
    began = store.cursor(connection_id, key)
    if began is None:
        began = datetime.combine(today, time(), UTC)
        if not dry_run:
            store.set_cursor(connection_id, key, began)
    return began.date()
