"""Clio as the sync engine's :class:`~ledgerlink.sync.ports.Source`: contacts, bills, payments, credit
notes, tax settings and trust ledgers as domain records, and contact edits written back."""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Sequence
from datetime import date, datetime
from typing import TypeVar

from ledgerlink.domain import (
    Contact,
    ContactEdit,
    CreditNote,
    Invoice,
    Payment,
    TaxSettings,
    TrustAccount,
    TrustTransaction,
)
from ledgerlink.errors import ConflictError, LedgerlinkError
from ledgerlink.providers.clio.bills import BillStream, flatten
from ledgerlink.providers.clio.client import ClioClient
from ledgerlink.providers.clio.hard_costs import ClioHardCosts
from ledgerlink.providers.clio.timesheet import firm_user, time_entry_from_clio
from ledgerlink.providers.clio.translate import (
    CREDIT_MEMO,
    PAYMENT,
    allocations_by_parent,
    contact_create_body,
    contact_edit_body,
    contact_from_clio,
    credit_note_from_allocations,
    payment_from_allocations,
    tax_settings_from_clio,
    trust_account_from_clio,
    trust_transaction_from_clio,
)
from ledgerlink.providers.clio.wire import (
    ClioAllocation,
    ClioBillingSettings,
)
from ledgerlink.sync.payroll_ports import FirmUser, TimeEntry

log = logging.getLogger("ledgerlink.clio")

# Up to this many payments (credit memos) get an allocations request each to complete them; more
# are completed by one paged read of every valid allocation.
PARENTS_ONE_BY_ONE_UP_TO = 10

Settled = TypeVar("Settled", Payment, CreditNote)


class ClioSource:
    """Reads one Clio account for a sync pass.

    Clio's ``bill_id`` filter takes one bill, so reading the lines of many bills one request each
    would spend the rate limit (50 requests a minute at peak) on little data. Many bills' lines
    are read instead by one scan of the line items created since the oldest of them; a bill whose
    scanned lines do not add up to its total is read again on its own.

    Payments and credit notes are read the same way from allocations: the changed ones (valid
    and voided in one read), then the valid allocations of each touched parent that did not
    change — one ``parent_id`` request per parent for a few, one read of every valid allocation
    for more than :data:`PARENTS_ONE_BY_ONE_UP_TO` (a firm's allocations fill a few pages of 200,
    cheaper than a request each). Voided siblings need no completing read: a payment is voided
    when all its allocations are, and voiding bumps each of them, so the changed read has them.
    """

    def __init__(self, client: ClioClient) -> None:
        self._client = client
        self._settings: ClioBillingSettings | None = None
        self._allocations: dict[datetime | None, tuple[list[ClioAllocation], set[str]]] = {}

    @property
    def client(self) -> ClioClient:
        """The Clio client the reads go through (side phases share its rate limit)."""
        return self._client

    def changed_contacts(self, since: datetime | None) -> list[Contact]:
        return [contact_from_clio(c) for c in self._client.contacts(updated_since=since)]

    def contacts(self, ids: Collection[str]) -> list[Contact]:
        return [contact_from_clio(c) for c in self._client.contacts(ids=[int(i) for i in ids])]

    def changed_invoices(self, since: datetime | None, *, issued_after: date | None) -> list[Invoice]:
        """Bills updated after ``since`` and issued strictly after ``issued_after``, as invoices."""
        return flatten(self.invoice_stream(since, issued_after=issued_after).windows())

    def invoices(self, ids: Collection[str]) -> list[Invoice]:
        bills = list(self._client.bills(ids=[int(i) for i in ids]))
        return flatten(BillStream(self._client, bills, self._billing_settings).windows())

    def tax_settings(self) -> TaxSettings:
        return tax_settings_from_clio(self._billing_settings())

    def _billing_settings(self) -> ClioBillingSettings:
        if self._settings is None:
            self._settings = self._client.billing_settings()
        return self._settings

    # -- payments and credit notes --------------------------------------------------------------

    def changed_payments(self, since: datetime | None) -> list[Payment]:
        """Payments any allocation of which changed after ``since`` (every payment when None)."""
        return self._changed(since, PAYMENT, payment_from_allocations)

    def payments(self, ids: Collection[str]) -> list[Payment]:
        return self._by_id(ids, PAYMENT, payment_from_allocations)

    def changed_credit_notes(self, since: datetime | None) -> list[CreditNote]:
        """Credit notes any allocation of which changed after ``since`` (every one when None)."""
        return self._changed(since, CREDIT_MEMO, credit_note_from_allocations)

    def credit_notes(self, ids: Collection[str]) -> list[CreditNote]:
        return self._by_id(ids, CREDIT_MEMO, credit_note_from_allocations)

    def _changed(
        self,
        since: datetime | None,
        parent_type: str,
        build: Callable[[int, Sequence[ClioAllocation]], Settled],
    ) -> list[Settled]:
        changed = self._changed_allocations(since, parent_type)
        if since is None:
            return _settled(allocations_by_parent(changed, parent_type), parent_type, build)
        touched = allocations_by_parent(changed, parent_type)
        groups = allocations_by_parent(self._valid_allocations(touched) + changed, parent_type)
        return _settled({i: groups[i] for i in touched}, parent_type, build)

    def _changed_allocations(self, since: datetime | None, parent_type: str) -> list[ClioAllocation]:
        """Allocations (valid and voided) changed after ``since``.

        Payments and credit notes are both allocations, and Clio's request budget is small: one read
        serves one payment read and one credit-note read (a pass makes one of each); a second read
        for the same parent type reads again, so nothing stale is ever served.
        """
        cached = self._allocations.get(since)
        if cached is None or parent_type in cached[1]:
            cached = (list(self._client.allocations(updated_since=since, status=None)), set())
            self._allocations = {since: cached}
        cached[1].add(parent_type)
        return cached[0]

    def _by_id(
        self,
        ids: Collection[str],
        parent_type: str,
        build: Callable[[int, Sequence[ClioAllocation]], Settled],
    ) -> list[Settled]:
        """Payments (credit notes) by id, valid or voided; an id Clio does not know is left out."""
        wanted: list[int] = sorted({int(i) for i in ids})
        if not wanted:
            return []
        few = len(wanted) <= PARENTS_ONE_BY_ONE_UP_TO
        found = list(self._client.allocations(status=None, parent_ids=wanted if few else None))
        groups = allocations_by_parent(found, parent_type)
        return _settled({i: groups[i] for i in wanted if i in groups}, parent_type, build)

    def _valid_allocations(self, touched: Collection[int]) -> list[ClioAllocation]:
        """Every valid allocation of the touched parents (and, for many parents, of all others too)."""
        if not touched:
            return []
        if len(touched) <= PARENTS_ONE_BY_ONE_UP_TO:
            return list(self._client.allocations(status="valid", parent_ids=sorted(touched)))
        return list(self._client.allocations(status="valid"))

    # -- trust ----------------------------------------------------------------------------------

    def trust_accounts(self) -> list[TrustAccount]:
        """The firm's open trust bank accounts."""
        return [trust_account_from_clio(a) for a in self._client.bank_accounts(type="TrustAccount")]

    def trust_transactions(self, account_id: str) -> list[TrustTransaction]:
        """Every transaction of one trust account that moves money, oldest first (date, then id)."""
        transactions = []
        for wire in self._client.bank_transactions(int(account_id)):
            transaction = trust_transaction_from_clio(wire, account_id=account_id)
            if transaction is None:
                log.info("Clio bank transaction %s moves no money; nothing to post", wire.id)
                continue
            transactions.append(transaction)
        return sorted(transactions, key=lambda t: (t.date, int(t.source_id)))

    # -- contact write-back ---------------------------------------------------------------------

    def update_contact(self, contact_id: str, edit: ContactEdit) -> Contact:
        """Write ledger-side edits to a Clio contact with If-Match; a contact changed meanwhile is read
        again and the edit applied once more (a second conflict is raised)."""
        for attempt in range(2):
            current = self._client.contact(int(contact_id))
            body = contact_edit_body(current, edit)
            if not body:
                return contact_from_clio(current)
            if current.etag is None:
                raise LedgerlinkError(
                    f"Clio sent contact {contact_id} without its etag",
                    remedy="Report this to the ledgerlink maintainers with the log (run with --verbose).",
                )
            try:
                return contact_from_clio(self._client.update_contact(current.id, body, etag=current.etag))
            except ConflictError:
                if attempt:
                    raise
                log.info("Clio contact %s changed while writing it back; reading it again", contact_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def create_contact(self, contact: Contact) -> Contact:
        """Create ``contact`` in Clio (its ``source_id`` is ignored); the contact as Clio made it."""
        return contact_from_clio(self._client.create_contact(contact_create_body(contact)))

    # -- payroll --------------------------------------------------------------------------------

    def users(self) -> list[FirmUser]:
        """Every user of the firm (their names and e-mails are matched to ledger employees)."""
        return [firm_user(u) for u in self._client.users()]

    def time_entries(
        self, *, since: datetime | None = None, ids: Collection[str] | None = None
    ) -> list[TimeEntry]:
        """Time entries changed after ``since`` (all when None), or those with these ids."""
        wanted = None if ids is None else [int(i) for i in ids]
        if wanted == []:
            return []
        return [time_entry_from_clio(e) for e in self._client.time_entries(updated_since=since, ids=wanted)]

    def time_entries_on_changed_bills(self, since: datetime) -> dict[str, set[str]]:
        """Bills changed after ``since`` (any state) → ids of the time entries on their lines.

        A bill approved, voided or sent back to draft changes whether its time is approved; Clio
        is not documented to touch the entries themselves then, so the bills are read instead
        (one line-item request per changed bill).
        """
        found: dict[str, set[str]] = {}
        for bill in self._client.bills(updated_since=since):
            found[str(bill.id)] = {
                str(line.activity.id)
                for line in self._client.line_items(bill.id)
                if line.activity is not None and line.activity.type == "TimeEntry"
            }
        return found

    def hard_costs(self) -> ClioHardCosts:
        """Clio's side of the QBO → Clio hard-cost import (its own reads and writes of activities)."""
        return ClioHardCosts(self._client)

    # -- bills ----------------------------------------------------------------------------------

    def invoice_stream(
        self, since: datetime | None, *, issued_after: date | None, ids: Collection[str] = ()
    ) -> BillStream:
        """Bills updated after ``since`` (issued strictly after ``issued_after``) and the bills ``ids``,
        as invoices in windows (see :mod:`ledgerlink.providers.clio.bills`)."""
        bills = list(self._client.bills(updated_since=since, issued_after=issued_after))
        have = {str(bill.id) for bill in bills}
        unread = sorted({int(i) for i in ids if i not in have})
        if unread:
            bills += self._client.bills(ids=unread)
        return BillStream(self._client, bills, self._billing_settings)

    # -- what `ledgerlink doctor` reads ---------------------------------------------------------

    def clients(self) -> list[Contact]:
        """Every contact marked as a client, in one paged read."""
        return [contact_from_clio(c) for c in self._client.clients()]

    def latest_bill_numbers(self) -> list[str]:
        """The numbers of the highest-numbered and of the latest-issued revenue bills (two requests).

        Clio's ``number`` is a string, so ``order=number(desc)`` may sort it as text ("9" above
        "10"); the latest-issued bills cover that case, so the highest number is all but surely here.
        """
        by_number = self._client.bill_numbers("number(desc)")
        latest = self._client.bill_numbers("issued_at(desc)")
        return list(dict.fromkeys([*by_number, *latest]))


def _settled(
    groups: dict[int, list[ClioAllocation]],
    parent_type: str,
    build: Callable[[int, Sequence[ClioAllocation]], Settled],
) -> list[Settled]:
    """Each parent's allocations as one record; a parent ledgerlink cannot read is logged and left out."""
    records = []
    for parent_id, allocations in groups.items():
        try:
            records.append(build(parent_id, allocations))
        except LedgerlinkError as exc:
            log.warning("skipping Clio %s %s: %s", parent_type, parent_id, exc.message)
    return records
