"""What a pass reads: the changes on both sides since the last pass, and what to try again.

Clio's request budget is small (50 a minute at peak), so the reader asks for changes since the
stream's cursor (less a small overlap for clock skew) and re-reads only records that can have
moved: open errors whose blocker is fixed, unfinished intents, records edited in the ledger.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, timedelta

from ledgerlink.config import Config
from ledgerlink.domain import Contact, CreditNote, Invoice, Payment
from ledgerlink.errors import RecordError
from ledgerlink.store import Store
from ledgerlink.sync.apply import WRITEBACK
from ledgerlink.sync.flows import contacts as contact_flow
from ledgerlink.sync.flows import credit_notes as credit_flow
from ledgerlink.sync.flows import invoices as invoice_flow
from ledgerlink.sync.flows import payments as payment_flow
from ledgerlink.sync.plan import Action, Op
from ledgerlink.sync.ports import Ledger, LedgerChanges, LinkView, Source

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

    def mark(self, stream: str) -> datetime | None:
        mark = self.store.cursor(self.conn, stream)
        return mark - OVERLAP if mark else None

    def ledger_changes(self) -> LedgerChanges | None:
        """What was edited or deleted in the ledger since the last pass (None on a first pass)."""
        mark = self.mark(STREAM_LEDGER)
        if mark is None:
            return None
        changes = self.ledger.changes(mark, CLIO_OWNED)
        if changes is None:
            log.warning(
                "%s could not list its changes since the last pass (over 30 days ago, or too many): "
                "edits made there are not detected this time",
                self.ledger.title,
            )
        return changes

    def changed_invoices(self, extra_ids: Collection[str]) -> list[Invoice]:
        start = self.since or self.config.sync.start_date
        invoices = self.source.changed_invoices(
            None if self.since else self.mark(STREAM_BILLS),
            issued_after=start - timedelta(days=1) if start else None,
        )
        have = {i.source_id for i in invoices}
        retry = (self.store.open_error_ids(self.conn, invoice_flow.KIND) | set(extra_ids)) - have
        if retry:
            invoices = invoices + self.source.invoices(sorted(retry))
        return invoices

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
                for e in self.store.open_errors(self.conn, kind)
                if (kind, e.source_id) not in waiting
            }
            if changes is not None:
                touched = changes.versions.get(kind, {})
                for source_id, link in self.store.links(self.conn, kind).items():
                    if link.target_id in touched and touched[link.target_id] != link.version_token:
                        ids.add(source_id)
        return sorted(ids - set(have))

    def still_waiting(self) -> set[tuple[str, str]]:
        """(kind, id) of blocked records whose blocker (a bill or contact) still has an open error."""
        errors = self.store.open_errors(self.conn)
        open_records = {(e.kind, e.source_id) for e in errors}
        waiting = set()
        for error in errors:
            if error.cause != "blocked" or not error.blocked_by:
                continue
            noun, _, parent = error.blocked_by.partition(" ")
            if (BLOCKER_KINDS.get(noun, noun), parent) in open_records:
                waiting.add((error.kind, error.source_id))
        return waiting

    def still_blocked(
        self,
        waiting: Collection[tuple[str, str]],
        kinds: Sequence[str],
        read: Collection[Payment | CreditNote],
    ) -> list[Action]:
        """Records not read again because their parent failed again: still blocked, and counted so."""
        seen = {r.source_id for r in read}
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
            for e in self.store.open_errors(self.conn)
            if e.kind in kinds and (e.kind, e.source_id) in waiting and e.source_id not in seen
        ]

    def changed_payments(self, extra: Collection[str]) -> list[Payment]:
        if not self.config.sync.payments:
            return []
        payments = self.source.changed_payments(self.mark(STREAM_ALLOCATIONS))
        unread = sorted(set(extra) - {p.source_id for p in payments})
        return payments + (self.source.payments(unread) if unread else [])

    def retry_payments(
        self,
        kinds: Sequence[str],
        have: Sequence[Payment],
        changes: LedgerChanges | None,
        waiting: Collection[tuple[str, str]],
    ) -> list[Payment]:
        if not self.config.sync.payments:
            return []
        retry = self.retry_ids(kinds, {p.source_id for p in have}, changes, waiting)
        return self.source.payments(retry) if retry else []

    def changed_credit_notes(self, extra: Collection[str]) -> list[CreditNote]:
        if not self.config.sync.credit_notes:
            return []
        credits = self.source.changed_credit_notes(self.mark(STREAM_ALLOCATIONS))
        unread = sorted(set(extra) - {c.source_id for c in credits})
        return credits + (self.source.credit_notes(unread) if unread else [])

    def retry_credit_notes(
        self,
        kinds: Sequence[str],
        have: Sequence[CreditNote],
        changes: LedgerChanges | None,
        waiting: Collection[tuple[str, str]],
    ) -> list[CreditNote]:
        if not self.config.sync.credit_notes:
            return []
        retry = self.retry_ids(kinds, {c.source_id for c in have}, changes, waiting)
        return self.source.credit_notes(retry) if retry else []

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
        retry = self.store.open_error_ids(self.conn, contact_flow.KIND) | set(extra_ids)
        retry |= self.store.open_error_ids(self.conn, WRITEBACK)
        wanted = needed | retry
        relevant = [c for c in changed if c.source_id in links or c.source_id in wanted]
        missing = wanted - {c.source_id for c in relevant}
        if missing:
            relevant += self.source.contacts(sorted(missing))
        return relevant
