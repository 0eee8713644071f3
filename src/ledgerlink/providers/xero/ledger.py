"""Xero as a :class:`ledgerlink.sync.ports.Ledger`: the unchanged engine syncs Clio → Xero (seed 004).

Reads for matching (every contact incl. archived ones, invoices by number, the chart of accounts),
the organisation's settings, ``If-Modified-Since`` reads for the change feed; writes batched by
kind and operation (≤ 50 elements a request, ``summarizeErrors=false``, an ``Idempotency-Key``
derived from the intent keys) through :class:`~ledgerlink.providers.xero.client.XeroClient`; and
Xero's validation texts turned into causes and remedies. :mod:`.translate` builds every body.

Mapping values (``[mapping]``) are Xero **account codes**: every line is coded to one, payments go
into ``mapping.payment_account`` (a BANK account, or one with payments enabled).

Assumptions:

- Clio's tax reaches Xero as lines on ``mapping.tax`` (like a US QBO company): invoices are sent
  ``LineAmountTypes: NoTax`` and Xero computes no tax (``settings().computes_tax`` is False).
- Xero keeps the numbers ledgerlink sends (ACCREC ``InvoiceNumber`` is the Clio bill number);
  ``max_doc_number`` is the spec's 255. Credit notes are numbered ``CLIO-CN-<clio id>`` (Clio
  credit memos have no number).
- Xero has one contact list (no vendor/employee lists holding names), so :meth:`name_holders` is
  empty; a name clash is Xero's "is already assigned to another contact", explained per record.
- A contact's ``ContactNumber`` (API-only) is its Clio id. The contact "link" operation restores an
  archived contact (``ContactStatus: ACTIVE``), writes the Clio id into ``ContactNumber`` and changes
  nothing else; an invoice to a contact
  archived later is Xero's archived-contact refusal, explained (never silently re-activated).
- Lines may post to any ACTIVE account with a code except banks and the receivables/payables
  system accounts (Xero refuses those on sales documents); payments need a BANK account or one
  with ``EnablePaymentsToAccount``.
- A Clio payment over N bills is N Xero payments (one document each); the link's target is their
  ids joined (:func:`ledgerlink.sync.ports.compound_target`). Payments cannot be edited: an
  update deletes every part and creates them again; a part refused on create has its landed
  siblings deleted again so nothing half-posted stays behind. A part already deleted (in Xero or
  by an interrupted pass) counts as deleted.
- A credit note is applied by one allocation per invoice (each its own call); its link is the
  allocation ids joined. Allocations carry no marker, so :meth:`find_marked` finds none; instead a
  credit note belongs to one Clio credit, and allocations already on it that equal the draft
  (invoices, amounts, date) are adopted by the write rather than made twice; a note this ledger
  created in the pass has none, so its application is sent without reading it. Changing or voiding
  a credit note first removes its allocations (Xero locks allocated documents; a change puts
  back those that still fit); voiding an AUTHORISED document is ``VOIDED``, a DRAFT/SUBMITTED
  one is ``DELETED`` (§2.2).
- Invoice and credit-note versions hash what can be edited in them, not ``UpdatedDateUTC``
  (which moves when a payment or allocation lands): see :func:`.translate.document_version`.
- Invoices, credit notes and payments ledgerlink created carry the marker
  ``[ledgerlink <intent key>]`` in ``Reference``; :meth:`find_marked` finds them by date.
- The change feed reads each collection with ``If-Modified-Since`` (Xero answers any ``since``,
  so it never answers None); DELETED/VOIDED records are ``None``. Xero lists no deleted
  allocations, so an allocation removed by hand in Xero is not noticed (its credit note's edits
  are). Naive datetimes are UTC.
- Trust postings and cheques are never planned for Xero (config refuses trust for a Xero target):
  asking for them is a ValueError, as are ``trust_books`` reads.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from ledgerlink.domain import Contact
from ledgerlink.errors import ApiError, NotFoundError, RecordError, ValidationError
from ledgerlink.providers.xero import translate
from ledgerlink.providers.xero.client import MAX_ELEMENTS_PER_WRITE, ElementOutcome, XeroClient
from ledgerlink.providers.xero.wire import (
    XeroAccount,
    XeroAllocation,
    XeroContact,
    XeroCreditNote,
    XeroInvoice,
)
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    LedgerAccount,
    LedgerChanges,
    LedgerCustomer,
    LedgerInvoice,
    LedgerSettings,
    LedgerWrite,
    PaymentDraft,
    TrustBooks,
    Written,
    compound_target,
    fold,
    target_parts,
)

log = logging.getLogger("ledgerlink.xero")

NO_PAYMENT_ACCOUNT = "NO_PAYMENT_ACCOUNT"
TRUST_KINDS = frozenset({"trust_posting", "trust_cheque"})
_ALREADY_DELETED = ("already been deleted", "could not be found", "was not found")

Answer = Written | ApiError
_Marked = tuple[str | None, date | None, str | None, str | None]  # reference, date, id, version
# Days one marker look-up asks for: each is a 40-character clause once percent-encoded, so 40 of
# them keep the query string well within Xero's 2,048 characters (client.MAX_QUERY_STRING).
DAYS_PER_LOOKUP = 40


@dataclass
class _Slot:
    """The answer to one write, filled in as the calls come back."""

    write: LedgerWrite
    answer: Answer | None = None


class XeroLedger:
    provider = "xero"
    title = "Xero"
    max_doc_number = translate.MAX_DOC_NUMBER
    mapping_noun = "account code"
    # Writes a batch: Xero advises ~50 elements a request (reference/xero.md §5), the client's chunk.
    batch_size = MAX_ELEMENTS_PER_WRITE

    def __init__(
        self,
        client: XeroClient,
        *,
        append_contact_id: bool = True,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._append = append_contact_id
        self._now = now
        self._chart: dict[str, XeroAccount] | None = None
        self._settings: LedgerSettings | None = None
        # Credit notes this ledger created (lower-case ids) and nothing has allocated since.
        self._unallocated_notes: set[str] = set()

    @property
    def name_clash_help(self) -> str:
        """Seed 004's ways out of "already assigned to another contact" beyond renaming."""
        append = (
            ""
            if self._append
            else "set [xero] append_contact_id = true so new contacts carry their Clio id, "
        )
        return (
            append
            + "or move the invoices to the original contact in Xero if the second one was made in error"
        )

    @property
    def client(self) -> XeroClient:
        """The organisation's client (side phases share its limiter and daily budget)."""
        return self._client

    # -- reads ---------------------------------------------------------------------------------

    def display_name(self, contact: Contact) -> str:
        return translate.display_name(contact, append_contact_id=self._append)

    def customers(self) -> list[LedgerCustomer]:
        return [translate.ledger_customer(c) for c in self._client.contacts(include_archived=True)]

    def name_holders(self) -> dict[str, str]:
        return {}  # Xero has one contact list: no vendor or employee can hold a customer's name

    def find_customer(self, display_name: str) -> LedgerCustomer | None:
        wanted = fold(display_name)
        found = self._client.contacts(search_term=display_name, include_archived=True)
        matches = sorted(
            (c for c in found if fold(c.name or "") == wanted), key=lambda c: c.contact_status != "ACTIVE"
        )
        return translate.ledger_customer(matches[0]) if matches else None

    def chart(self) -> dict[str, XeroAccount]:
        """The chart of accounts by code, read once per ledger instance (one pass)."""
        if self._chart is None:
            self._chart = translate.accounts_by_code(self._client.accounts())
        return self._chart

    def missing_items(self, names: Collection[str]) -> set[str]:
        """Account codes a line cannot post to: unknown, archived, a bank or a system account."""
        return translate.unusable_line_codes(names, self.chart())

    def missing_accounts(self, names: Collection[str]) -> set[str]:
        """Account codes payments cannot go into: unknown, archived, neither BANK nor payments-enabled."""
        return translate.unusable_payment_codes(names, self.chart())

    def accounts(self, names: Collection[str]) -> dict[str, LedgerAccount]:
        chart = self.chart()
        return {code: translate.ledger_account(chart[code]) for code in names if code in chart}

    def invoices_by_number(self, numbers: Iterable[str]) -> dict[str, LedgerInvoice]:
        found: dict[str, LedgerInvoice] = {}
        for record in self._client.invoices_by_number(sorted(set(numbers))):
            if record.type == "ACCREC" and record.status != "DELETED" and record.invoice_number:
                found.setdefault(record.invoice_number, translate.ledger_invoice(record))
        return found

    def settings(self) -> LedgerSettings:
        if self._settings is None:
            organisation = self._client.organisation()
            self._settings = LedgerSettings(
                custom_numbers=True, computes_tax=False, country=organisation.country_code or "US"
            )
        return self._settings

    def vendors(self) -> dict[str, str]:
        return {}  # trust cheques (the only reader) are never planned for Xero

    def trust_books(self, bank_account: str, liability_account: str, as_of: date) -> TrustBooks:
        raise ValueError("Xero cannot hold trust postings (seed 004): there are no trust books to read")

    def find_marked(self, kind: str, wanted: Mapping[str, date]) -> dict[str, Written]:
        """Invoices, credit notes or payments an unfinished write created: intent key → record."""
        if not wanted or kind == "credit_application":
            return {}  # allocations carry no marker: a credit application adopts its own (see the write)
        read = self._marked_reader(kind)
        days = sorted(set(wanted.values()))
        records = [
            record
            for start in range(0, len(days), DAYS_PER_LOOKUP)
            for record in read(" OR ".join(_on(day) for day in days[start : start + DAYS_PER_LOOKUP]))
        ]
        found: dict[str, Written] = {}
        for key, day in wanted.items():
            tag = translate.marker(key)
            parts = [(i, v) for ref, d, i, v in records if i and d == day and tag in (ref or "")]
            if parts:
                found[key] = Written(compound_target([i for i, _ in parts]), _join(v for _, v in parts))
        return found

    def _marked_reader(self, kind: str) -> Callable[[str], list[_Marked]]:
        """How to read the live records of ``kind`` matching a ``where``: (reference, date, id, version)."""
        if kind == "invoice":
            return lambda where: [
                (r.reference, r.date, r.invoice_id, translate.document_version(r))
                for r in self._client.invoices(where=where)
                if r.status != "DELETED"
            ]
        if kind == "credit_note":
            return lambda where: [
                (r.reference, r.date, r.credit_note_id, translate.document_version(r))
                for r in self._client.credit_notes(where=where)
                if r.status not in translate.GONE
            ]
        if kind == "payment":
            return lambda where: [
                (r.reference, r.date, r.payment_id, translate.version(r.updated_date_utc))
                for r in self._client.payments(where=where)
                if r.status != "DELETED"
            ]
        raise ValueError(f"Xero cannot look up {kind!r} records by date and marker")

    def changes(self, since: datetime, kinds: Collection[str]) -> LedgerChanges | None:
        """Everything changed after ``since``: contacts, plus the records behind ``kinds``."""
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        customers = tuple(
            translate.ledger_customer(c)
            for c in self._client.contacts(modified_since=since, include_archived=True)
        )
        versions: dict[str, dict[str, str | None]] = {}
        # Pages are read and reduced to versions one at a time: after a big first sync the feed holds
        # every record that pass wrote, and only their versions are kept.
        if "invoice" in kinds:
            invoices = self._client.modified_invoices(since)
            versions["invoice"] = {str(r.invoice_id): translate.document_version(r) for r in invoices}
        if "payment" in kinds:
            versions["payment"] = {
                str(r.payment_id): None if r.status == "DELETED" else translate.version(r.updated_date_utc)
                for r in self._client.modified_payments(since)
            }
        if "credit_note" in kinds or "credit_application" in kinds:
            notes: dict[str, str | None] = {}
            applications: dict[str, str | None] = {}
            for note in self._client.modified_credit_notes(since):
                notes[str(note.credit_note_id)] = translate.document_version(note)
                applications.update(
                    {
                        str(a.allocation_id): translate.allocation_version(a)
                        for a in note.allocations or []
                        if a.allocation_id and not a.is_deleted
                    }
                )
            versions["credit_note"], versions["credit_application"] = notes, applications
        return LedgerChanges(customers=customers, versions=versions)

    # -- single writes (the Ledger protocol's one-at-a-time calls) -----------------------------

    def create_customer(self, contact: Contact, *, key: str) -> Written:
        return self._one(LedgerWrite("create", "contact", key, contact))

    def update_customer(self, target_id: str, version: str | None, contact: Contact, *, key: str) -> Written:
        return self._one(LedgerWrite("update", "contact", key, contact, target_id, version))

    def reactivate_customer(self, target_id: str, *, key: str) -> Written:
        return self._one(LedgerWrite("link", "contact", key, None, target_id))

    def create_invoice(self, draft: InvoiceDraft, *, key: str) -> Written:
        return self._one(LedgerWrite("create", "invoice", key, draft))

    def update_invoice(
        self, target_id: str, version: str | None, draft: InvoiceDraft, *, key: str
    ) -> Written:
        return self._one(LedgerWrite("update", "invoice", key, draft, target_id, version))

    def _one(self, write: LedgerWrite) -> Written:
        (answer,) = self.write([write])
        if isinstance(answer, ApiError):
            raise answer
        return answer

    # -- batched writes ------------------------------------------------------------------------

    def write(self, writes: Sequence[LedgerWrite]) -> list[Written | ApiError]:
        """Carry out writes grouped by kind and operation; one answer per write, in input order."""
        slots = [_Slot(w) for w in writes]
        groups: dict[tuple[str, str], list[_Slot]] = {}
        for slot in slots:
            w = slot.write
            if w.kind in TRUST_KINDS:
                raise ValueError(f"Xero cannot hold a {w.kind} (trust is not synced to Xero)")
            if w.kind not in translate.COLLECTION:
                raise ValueError(f"Xero cannot write a {w.kind!r}")
            if w.op != "create" and not w.target_id:
                raise ValueError(f"a {w.op} of a {w.kind} needs the ledger record's id")
            groups.setdefault((w.kind, w.op), []).append(slot)
        for (kind, op), group in groups.items():
            handler = getattr(self, f"_{kind}_{op}", None)
            if handler is None:
                raise ValueError(f"Xero cannot {op} a {kind}")
            handler(group)
        return [slot.answer if slot.answer is not None else _unanswered(slot.write) for slot in slots]

    # contacts

    def _contact_create(self, group: list[_Slot]) -> None:
        records = [translate.contact_record(c, self.display_name(c)) for c in _payloads(group, Contact)]
        self._fill(group, self._client.put_contacts(records, key=_group_key(group)), _contact_written)

    def _contact_update(self, group: list[_Slot]) -> None:
        records = [
            translate.contact_record(c, self.display_name(c), contact_id=s.write.target_id)
            for s, c in zip(group, _payloads(group, Contact), strict=True)
        ]
        self._fill(group, self._client.post_contacts(records, key=_group_key(group)), _contact_written)

    def _contact_link(self, group: list[_Slot]) -> None:
        """Adopt existing contacts: archived ones are restored (ContactStatus ACTIVE) and each gets its
        Clio id in ContactNumber (API-only, so nothing a bookkeeper sees changes); nothing else."""
        ids = [str(s.write.target_id) for s in group]
        current = {c.contact_id: c for c in self._client.contacts(ids=ids, include_archived=True)}
        changed: list[tuple[_Slot, XeroContact]] = []
        for slot in group:
            found = current.get(slot.write.target_id)
            clio_id = slot.write.payload.source_id if isinstance(slot.write.payload, Contact) else None
            if found is None:
                slot.answer = NotFoundError(f"Xero has no contact {slot.write.target_id}", status=404)
            elif found.contact_status == "ARCHIVED" or (clio_id and found.contact_number != clio_id):
                change = XeroContact(contact_id=slot.write.target_id, contact_number=clio_id)
                if found.contact_status == "ARCHIVED":
                    change = change.model_copy(update={"contact_status": "ACTIVE"})
                changed.append((slot, change))
            else:
                slot.answer = _contact_written(found)
        if changed:
            slots = [slot for slot, _change in changed]
            records = [change for _slot, change in changed]
            self._fill(slots, self._client.post_contacts(records, key=_group_key(slots)), _contact_written)

    # invoices

    def _invoice_create(self, group: list[_Slot]) -> None:
        records = [translate.invoice_record(d, key=s.write.key) for s, d in _drafts(group, InvoiceDraft)]
        self._fill(group, self._client.put_invoices(records, key=_group_key(group)), _invoice_written)

    def _invoice_update(self, group: list[_Slot]) -> None:
        records = [
            translate.invoice_record(d, key=None, invoice_id=s.write.target_id)
            for s, d in _drafts(group, InvoiceDraft)
        ]
        self._fill(group, self._client.post_invoices(records, key=_group_key(group)), _invoice_written)

    _invoice_link = _invoice_update  # an adopted invoice is made equal to Clio's bill

    def _invoice_void(self, group: list[_Slot]) -> None:
        """Take invoices out of the books: VOIDED when approved, DELETED while draft or submitted."""
        current = {
            r.invoice_id: r for r in self._client.invoices(ids=[str(s.write.target_id) for s in group])
        }
        sending: list[tuple[_Slot, XeroInvoice]] = []
        for slot in group:
            found = current.get(slot.write.target_id)
            status = translate.ending_status(found.status if found else None)
            if found is None:
                slot.answer = NotFoundError(f"Xero has no invoice {slot.write.target_id}", status=404)
            elif status is None:
                slot.answer = _invoice_written(found)
            else:
                sending.append((slot, XeroInvoice(invoice_id=found.invoice_id, status=status)))
        if sending:
            slots = [s for s, _ in sending]
            outcomes = self._client.post_invoices([r for _, r in sending], key=_group_key(slots))
            self._fill(slots, outcomes, _invoice_written)

    _invoice_delete = _invoice_void  # Xero deletes only drafts; an approved invoice is voided

    # payments

    def _payment_create(self, group: list[_Slot]) -> None:
        self._create_payments(group)

    def _payment_update(self, group: list[_Slot]) -> None:
        """Payments cannot be edited (§2.4): delete every part, then create Clio's payment again."""
        ready = [slot for slot in group if self._delete_payment_parts(slot)]
        self._create_payments(ready)

    def _payment_delete(self, group: list[_Slot]) -> None:
        for slot in group:
            if self._delete_payment_parts(slot):
                slot.answer = Written(str(slot.write.target_id), None)

    def _delete_payment_parts(self, slot: _Slot) -> bool:
        """Delete every part of a linked payment; False (with the refusal as answer) when one is refused."""
        for index, part in enumerate(target_parts(str(slot.write.target_id))):
            try:
                self._client.delete_payment(part, key=f"{slot.write.key}-d{index}")
            except (ValidationError, NotFoundError) as refused:
                if not _already_gone(refused):
                    slot.answer = refused
                    return False
        return True

    def _create_payments(self, group: list[_Slot]) -> None:
        planned: list[tuple[_Slot, int]] = []
        records = []
        for slot in group:
            draft = slot.write.payload
            if not isinstance(draft, PaymentDraft):
                raise ValueError(f"a payment write cannot carry a {type(draft).__name__}")
            if not draft.deposit_account:
                slot.answer = _no_payment_account()
                continue
            parts = translate.payment_records(draft, draft.deposit_account, key=slot.write.key)
            planned.append((slot, len(parts)))
            records.extend(parts)
        if not records:
            return
        outcomes = self._client.put_payments(records, key=_group_key([s for s, _ in planned]))
        start = 0
        for slot, count in planned:
            mine = outcomes[start : start + count]
            start += count
            refused = next((o.error for o in mine if o.error is not None), None)
            landed = [o.record for o in mine if o.record is not None and o.record.payment_id]
            if refused is not None:
                for index, record in enumerate(landed):  # never leave half a payment behind
                    self._take_back(str(record.payment_id), f"{slot.write.key}-u{index}")
                slot.answer = refused
            else:
                slot.answer = Written(
                    compound_target([str(r.payment_id) for r in landed]),
                    _join(translate.version(r.updated_date_utc) for r in landed),
                )

    def _take_back(self, payment_id: str, key: str) -> None:
        try:
            self._client.delete_payment(payment_id, key=key)
        except (ValidationError, NotFoundError) as refused:
            # Reported, not raised: the write's own refusal is what the bookkeeper must see first.
            log.warning("Xero kept part %s of a refused payment: %s", payment_id, refused)

    # credit notes

    def _credit_note_create(self, group: list[_Slot]) -> None:
        records = [
            translate.credit_note_record(d, key=s.write.key) for s, d in _drafts(group, CreditNoteDraft)
        ]
        outcomes = self._client.put_credit_notes(records, key=_group_key(group))
        self._fill(group, outcomes, _credit_written)
        self._unallocated_notes |= {
            str(o.record.credit_note_id).lower()
            for o in outcomes
            if o.record is not None and o.record.credit_note_id and not _live(o.record)
        }

    def _credit_note_update(self, group: list[_Slot]) -> None:
        """Allocated notes are locked (§2.5): allocations come off, the note changes, they go back on.

        An allocation that no longer fits the changed note stays off; the credit application (its
        amounts changed in Clio too) puts Clio's back.
        """
        ready: list[tuple[_Slot, CreditNoteDraft, XeroCreditNote | None]] = []
        for slot, draft in _drafts(group, CreditNoteDraft):
            note = self._credit_note(str(slot.write.target_id))
            if self._unallocate(slot, note):
                ready.append((slot, draft, note))
        if not ready:
            return
        records = [
            translate.credit_note_record(d, key=None, credit_note_id=s.write.target_id) for s, d, _ in ready
        ]
        slots = [s for s, _, _ in ready]
        self._fill(slots, self._client.post_credit_notes(records, key=_group_key(slots)), _credit_written)
        for slot, _draft, note in ready:
            if isinstance(slot.answer, Written) and note is not None:
                for index, allocation in enumerate(_live(note)):
                    if (
                        allocation.invoice
                        and allocation.invoice.invoice_id
                        and allocation.amount
                        and allocation.date
                    ):
                        self._client.allocate_credit_note(
                            slot.answer.id,
                            allocation.invoice.invoice_id,
                            allocation.amount,
                            allocation.date,
                            key=f"{slot.write.key}-r{index}",
                        )

    _credit_note_link = _credit_note_update

    def _credit_note_delete(self, group: list[_Slot]) -> None:
        sending: list[tuple[_Slot, XeroCreditNote]] = []
        for slot in group:
            note = self._credit_note(str(slot.write.target_id))
            status = translate.ending_status(note.status if note else None)
            if note is None or status is None:
                slot.answer = Written(str(slot.write.target_id), None)
            elif self._unallocate(slot, note):
                sending.append((slot, XeroCreditNote(credit_note_id=note.credit_note_id, status=status)))
        if sending:
            slots = [s for s, _ in sending]
            outcomes = self._client.post_credit_notes([r for _, r in sending], key=_group_key(slots))
            self._fill(slots, outcomes, _credit_written)

    _credit_note_void = _credit_note_delete

    def _unallocate(self, slot: _Slot, note: XeroCreditNote | None) -> bool:
        """Take every allocation off a credit note (one Clio credit, one application: all are ours)."""
        if note is None or not note.credit_note_id:
            return True
        return all(
            self._delete_allocation(slot, note.credit_note_id, str(a.allocation_id)) for a in _live(note)
        )

    def _delete_allocation(self, slot: _Slot, note_id: str, allocation_id: str) -> bool:
        try:
            self._client.delete_allocation(note_id, allocation_id)
        except (ValidationError, NotFoundError) as refused:
            if not _already_gone(refused):
                slot.answer = refused
                return False
        return True

    def _credit_note(self, credit_note_id: str) -> XeroCreditNote | None:
        """A credit note read for a write that is about to change it (no longer known unallocated)."""
        self._unallocated_notes.discard(credit_note_id.lower())
        return self._client.credit_note(credit_note_id)

    # credit applications (allocations)

    def _credit_application_create(self, group: list[_Slot]) -> None:
        """Allocate a credit note as Clio applied it; allocations already equal to that are adopted.

        Allocations carry no marker, but a credit note belongs to one Clio credit: allocations on
        it that match the draft were made by a pass cut off before it learnt their ids. Any other
        allocations on it are taken off first (a half-done application, or one made by hand).
        A note this ledger created and nothing allocated since has none of either, so it is
        allocated without reading it first; Xero itself refuses an allocation past the note's
        remaining credit or to a note that is not AUTHORISED (reference §2.5).
        """
        for slot, draft in _drafts(group, CreditApplicationDraft):
            if draft.credit_target_id.lower() in self._unallocated_notes:
                self._unallocated_notes.discard(draft.credit_target_id.lower())
                self._allocate(slot, draft)
                continue
            note = self._credit_note(draft.credit_target_id)
            if note is None:
                slot.answer = NotFoundError(f"Xero has no credit note {draft.credit_target_id}", status=404)
                continue
            live = _live(note)
            if live and _allocated_as(live, draft):
                slot.answer = Written(
                    compound_target([str(a.allocation_id) for a in live]),
                    _join(translate.allocation_version(a) for a in live),
                )
            elif self._unallocate(slot, note):
                self._allocate(slot, draft)

    _credit_application_update = _credit_application_create
    _credit_application_link = _credit_application_create

    def _credit_application_delete(self, group: list[_Slot]) -> None:
        """Take the allocations off: every one on the application's credit note.

        A delete planned for a credit voided in Clio carries no draft naming its note: the notes
        holding the link's allocations are found in one read of the credit notes.
        """
        unnamed = any(not isinstance(s.write.payload, CreditApplicationDraft) for s in group)
        holding = self._notes_by_allocation() if unnamed else {}
        for slot in group:
            draft = slot.write.payload
            if isinstance(draft, CreditApplicationDraft):
                notes = [self._credit_note(draft.credit_target_id)]
            else:
                parts = target_parts(str(slot.write.target_id))
                notes = list({id(n): n for p in parts if (n := holding.get(p)) is not None}.values())
            if all(self._unallocate(slot, note) for note in notes):
                slot.answer = Written(str(slot.write.target_id), None)

    def _notes_by_allocation(self) -> dict[str, XeroCreditNote | None]:
        """Every live allocation's credit note, by allocation id."""
        return {
            str(a.allocation_id): note
            for note in self._client.credit_notes(where='Type=="ACCRECCREDIT"')
            for a in _live(note)
        }

    def _allocate(self, slot: _Slot, draft: CreditApplicationDraft) -> None:
        made: list[tuple[str, str]] = []
        for index, line in enumerate(translate.allocations(draft)):
            outcome = self._client.allocate_credit_note(
                draft.credit_target_id,
                line.target_id,
                line.amount,
                draft.credit.date,
                key=f"{slot.write.key}-a{index}",
            )
            if outcome.error is not None or outcome.record is None or not outcome.record.allocation_id:
                for allocation_id, _ in made:  # never leave a credit half applied
                    self._delete_allocation(_Slot(slot.write), draft.credit_target_id, allocation_id)
                slot.answer = outcome.error or ApiError(
                    "Xero answered an allocation without its id", status=200
                )
                return
            made.append((outcome.record.allocation_id, translate.allocation_version(outcome.record)))
        slot.answer = Written(compound_target([i for i, _ in made]), _join(v for _, v in made))

    # plumbing

    def _fill(
        self,
        group: Sequence[_Slot],
        outcomes: Sequence[ElementOutcome[Any]],
        written: Callable[[Any], Written],
    ) -> None:
        for slot, outcome in zip(group, outcomes, strict=True):
            if outcome.error is not None:
                slot.answer = outcome.error
            elif outcome.record is None:
                slot.answer = ApiError("Xero answered without the record", status=200)
            else:
                slot.answer = written(outcome.record)

    # -- errors --------------------------------------------------------------------------------

    def explain(self, error: ApiError, *, label: str) -> RecordError:
        said = f"Xero said: {error}" + (
            f" ({error.detail})" if error.detail and error.detail not in str(error) else ""
        )
        cause, remedy, retryable = _rule(f"{error} {error.detail or ''}".casefold(), error.code or "")
        return RecordError(cause=cause, message=said, remedy=remedy, retryable=retryable)


# ---------------------------------------------------------------------------------------------
# Pure helpers

_DUPLICATE_NAME_REMEDY = (
    "Xero allows one active contact per name. Either turn on append_contact_id in the [xero] section "
    "of the config (new contacts get their Clio id after the name; contacts already in Xero are "
    "created again under the new name), or rename the contact in Clio, or, if this contact was "
    "created in error, move its bills in Clio to the original contact."
)

_RULES: tuple[tuple[tuple[str, ...], str, str, bool], ...] = (
    (
        ("contact name", "is already assigned to another contact"),
        "duplicate_name",
        _DUPLICATE_NAME_REMEDY,
        False,
    ),
    (
        ("contact number", "is already assigned to another contact"),
        "duplicate_contact_number",
        "Another Xero contact already carries this Clio id as its Contact Code (ContactNumber): link the "
        "two with `ledgerlink links set`, or clear the code on the other contact in Xero.",
        False,
    ),
    (
        ("has been archived", "un-archived"),
        "archived_contact",
        "The client's contact is archived in Xero: restore it there (Contacts → Archived → Restore); "
        "ledgerlink retries the record next pass.",
        True,
    ),
    (
        ("archived contacts cannot be edited",),
        "archived_contact",
        "The contact is archived in Xero: restore it there (Contacts → Archived → Restore); ledgerlink "
        "retries the record next pass.",
        True,
    ),
    (
        ("must be unique",),
        "duplicate_number",
        "Xero already has a document with this number (Xero keeps the numbers of voided invoices): "
        "renumber the bill in Clio, then run sync again.",
        False,
    ),
    (
        ("has been reconciled",),
        "reconciled",
        "The payment is reconciled with a bank statement line in Xero, so Xero will not change or delete "
        "it: in Xero un-reconcile it (Remove & Redo on the statement line), then run sync again.",
        False,
    ),
    (
        ("has a payment or credit note allocated", "because it has payments or credit notes"),
        "invoice_has_payments",
        "The Xero invoice has payments or credit notes on it, so its lines cannot change. Remove them in "
        "Xero (ledgerlink creates Clio's payments again next pass) or undo the change to the bill in Clio.",
        True,
    ),
    (
        ("not of valid status for modification",),
        "invoice_locked",
        "The Xero invoice is paid, voided or deleted, and Xero will not change it any more. Undo the "
        "change in Clio, or void the bill in Clio and issue a new one.",
        False,
    ),
    (
        ("exceeds the amount outstanding", "greater than amount outstanding", "already been paid off"),
        "over_applied",
        "More would be applied than is open on the Xero invoice: look in Xero for payments or credit notes "
        "entered by hand on it and remove them; ledgerlink retries it next pass.",
        True,
    ),
    (
        ("can only be made against authorised",),
        "invoice_not_approved",
        "The Xero invoice is not approved (draft, voided or deleted), so it cannot take payments or "
        "credits: approve the bill in Clio, or check the invoice in Xero.",
        True,
    ),
    (
        ("account code", "account must be valid", "account could not be found", "account type is invalid"),
        "invalid_account",
        "An account code in [mapping] does not exist in Xero, is archived, or is of a type that cannot "
        "be used here (lines: not a bank account; payments: a bank account): fix the code in the "
        "config or the account in Xero's chart of accounts.",
        False,
    ),
    (
        ("period lock date", "end of year lock date"),
        "period_closed",
        "The Xero books are locked for this date: move the lock date in Xero (Advisor → Financial "
        "settings) or change the date in Clio.",
        False,
    ),
)


def _rule(text: str, code: str) -> tuple[str, str, bool]:
    if code == NO_PAYMENT_ACCOUNT:
        return (
            "no_payment_account",
            "Set mapping.payment_account to the code of the Xero bank account payments go into "
            "(or turn payment sync off).",
            False,
        )
    for words, cause, remedy, retryable in _RULES:
        # The contact rules name a field and the clash; the others are any of their phrasings.
        together = cause in ("duplicate_name", "duplicate_contact_number")
        if (all if together else any)(w in text for w in words):
            return cause, remedy, retryable
    return "api_rejected", "Fix the record as the message says; ledgerlink retries it next pass.", True


def _no_payment_account() -> ApiError:
    return ValidationError(
        "Xero needs a bank account to receive a payment into, and mapping.payment_account is empty",
        status=0,
        code=NO_PAYMENT_ACCOUNT,
    )


def _already_gone(error: ApiError) -> bool:
    text = f"{error} {error.detail or ''}".casefold()
    return isinstance(error, NotFoundError) or any(words in text for words in _ALREADY_DELETED)


def _allocated_as(live: Sequence[XeroAllocation], draft: CreditApplicationDraft) -> bool:
    """Whether a note's allocations are exactly the application's: same invoices, amounts and date."""
    have = sorted(
        (str(a.invoice.invoice_id if a.invoice else "").lower(), a.amount or 0, a.date) for a in live
    )
    want = sorted((line.target_id.lower(), line.amount, draft.credit.date) for line in draft.lines)
    return have == want


def _live(note: XeroCreditNote) -> list[XeroAllocation]:
    return [a for a in note.allocations or [] if a.allocation_id and not a.is_deleted]


def _on(day: date) -> str:
    return f"Date==DateTime({day.year}, {day.month:02d}, {day.day:02d})"


def _unanswered(write: LedgerWrite) -> ApiError:
    return ApiError(f"ledgerlink did not send the {write.kind} {write.op}", status=0)


def _group_key(group: Sequence[_Slot]) -> str:
    """One idempotency base for a call carrying several writes: their intent keys, hashed."""
    if len(group) == 1:
        return group[0].write.key
    digest = hashlib.sha256("\n".join(s.write.key for s in group).encode()).hexdigest()[:32]
    return f"batch-{digest}"


def _join(versions: Iterable[str | None]) -> str | None:
    return translate.joined_versions(versions)


def _payloads(group: Sequence[_Slot], kind: type[Contact]) -> list[Contact]:
    found = []
    for slot in group:
        if not isinstance(slot.write.payload, kind):
            raise ValueError(f"a {slot.write.kind} write cannot carry a {type(slot.write.payload).__name__}")
        found.append(slot.write.payload)
    return found


def _drafts(group: Sequence[_Slot], kind: type[Any]) -> list[tuple[_Slot, Any]]:
    for slot in group:
        if not isinstance(slot.write.payload, kind):
            raise ValueError(f"a {slot.write.kind} write cannot carry a {type(slot.write.payload).__name__}")
    return [(slot, slot.write.payload) for slot in group]


def _contact_written(record: XeroContact) -> Written:
    return Written(
        str(record.contact_id),
        translate.version(record.updated_date_utc),
        customer=translate.ledger_customer(record),
    )


def _invoice_written(record: XeroInvoice) -> Written:
    return Written(str(record.invoice_id), translate.document_version(record))


def _credit_written(record: XeroCreditNote) -> Written:
    return Written(str(record.credit_note_id), translate.document_version(record))
