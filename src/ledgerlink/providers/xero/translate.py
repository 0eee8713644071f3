"""Pure translation between ledgerlink's drafts and Xero's wire records (``reference/xero.md`` §2).

No I/O here: :mod:`ledgerlink.providers.xero.ledger` reads and writes, this module decides what
the bodies say and what Xero's answers mean to the sync (customers, invoices, version tokens).

Version tokens: contacts and payments use Xero's ``UpdatedDateUTC`` as ISO text (UTC, to the
millisecond), which moves whenever Xero records a change to them (§1 "If-Modified-Since").
Invoices and credit notes use a hash of what can be edited in them (:func:`document_version`):
their ``UpdatedDateUTC`` also moves when a payment or allocation lands, which is no edit. An
allocation has no ``UpdatedDateUTC``; its version is its amount and date.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from ledgerlink.domain import CENT, Address, BillState, Contact, money
from ledgerlink.providers.xero.wire import (
    XeroAccount,
    XeroAllocation,
    XeroContact,
    XeroCreditNote,
    XeroInvoice,
    XeroLineItem,
    XeroPayment,
)
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    LedgerAccount,
    LedgerCustomer,
    LedgerInvoice,
    MappedLine,
    PaymentDraft,
    Settlement,
    compound_target,
)

MAX_DOC_NUMBER = 255  # InvoiceNumber maxLength in the spec (§2.2)
MAX_NAME = 255  # Contact Name (§2.1)
MAX_CONTACT_NUMBER = 50  # Contact ContactNumber (§2.1)
MAX_DESCRIPTION = 4000  # LineItem Description (§2.3)
MAX_REFERENCE = 255  # [?] the spec gives none for Reference; Xero's UI caps it at 255
FOUR_DP = Decimal("0.0001")

# Link kind → the Xero collection its records live in.
COLLECTION = {
    "contact": "Contacts",
    "invoice": "Invoices",
    "payment": "Payments",
    "credit_note": "CreditNotes",
    "credit_application": "Allocations",
}
# Clio's bill state → the status the Xero invoice is written with (seed 004).
INVOICE_STATUS = {
    BillState.AWAITING_PAYMENT: "AUTHORISED",
    BillState.PAID: "AUTHORISED",  # PAID is reached through payments, never sent (§2.2)
    BillState.DRAFT: "DRAFT",
    BillState.AWAITING_APPROVAL: "SUBMITTED",
}
GONE = frozenset({"DELETED", "VOIDED"})
# Accounts a sales line may not be coded to: banks (Xero refuses them on documents) and the system
# accounts that other documents post to by themselves (receivables, payables).
UNUSABLE_TYPES = frozenset({"BANK"})
UNUSABLE_SYSTEM_ACCOUNTS = frozenset({"DEBTORS", "CREDITORS"})


def marker(key: str) -> str:
    """The tag that marks a record ledgerlink wrote under intent ``key`` (found again after a crash)."""
    return f"[ledgerlink {key}]"


def marked(text: str, key: str, limit: int = MAX_REFERENCE) -> str:
    """``text`` followed by the marker, shortened so the marker always fits in ``limit``."""
    tag = marker(key)
    room = limit - len(tag) - 1
    head = " ".join(text.split())[: max(room, 0)]
    return f"{head} {tag}" if head else tag


def version(moment: datetime | None) -> str | None:
    """A version token from ``UpdatedDateUTC``."""
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


# -- contacts ------------------------------------------------------------------------------------


def clean_name(name: str) -> str:
    """Xero's name hygiene (§2.1): no ``<``/``>``, no leading, trailing or repeated spaces."""
    return " ".join(name.replace("<", " ").replace(">", " ").split())


def display_name(contact: Contact, *, append_contact_id: bool) -> str:
    """The contact's Xero Name: Clio's name, plus `` (<clio id>)`` when asked, within 255 characters."""
    base = clean_name(contact.name)
    if not append_contact_id:
        return base[:MAX_NAME]
    suffix = f" ({contact.source_id})"
    return base[: MAX_NAME - len(suffix)].rstrip() + suffix


def contact_record(contact: Contact, name: str, *, contact_id: str | None = None) -> XeroContact:
    """The body of a contact create (``contact_id`` None) or update."""
    phones = [{"PhoneType": "DEFAULT", "PhoneNumber": contact.phone[:50]}] if contact.phone else None
    return XeroContact(
        contact_id=contact_id,
        contact_number=contact.source_id[:MAX_CONTACT_NUMBER],
        name=name,
        first_name=(contact.first_name or None) if not contact.is_company else None,
        last_name=(contact.last_name or None) if not contact.is_company else None,
        email_address=contact.email or None,
        phones=phones,
        addresses=_addresses(contact.address),
    )


def _addresses(address: Address | None) -> list[dict[str, str]] | None:
    if address is None:
        return None
    fields = {
        "AddressLine1": address.street,
        "City": address.city,
        "Region": address.province,
        "PostalCode": address.postal_code,
        "Country": address.country,
    }
    kept = {k: v.strip() for k, v in fields.items() if v and v.strip()}
    return [{"AddressType": "STREET", **kept}] if kept else None


def ledger_customer(record: XeroContact) -> LedgerCustomer:
    phone = next(
        (
            str(p.get("PhoneNumber"))
            for p in record.phones or []
            if p.get("PhoneType") == "DEFAULT" and p.get("PhoneNumber")
        ),
        None,
    )
    street = next((a for a in record.addresses or [] if a.get("AddressType") == "STREET"), None)
    address = None
    if street and any(street.get(k) for k in ("AddressLine1", "City", "Region", "PostalCode", "Country")):
        address = Address(
            street=street.get("AddressLine1") or None,
            city=street.get("City") or None,
            province=street.get("Region") or None,
            postal_code=street.get("PostalCode") or None,
            country=street.get("Country") or None,
        )
    return LedgerCustomer(
        id=str(record.contact_id),
        display_name=record.name or "",
        email=record.email_address or None,
        active=(record.contact_status or "ACTIVE") == "ACTIVE",
        version=version(record.updated_date_utc),
        phone=phone,
        address=address,
        given_name=record.first_name or None,
        family_name=record.last_name or None,
    )


# -- invoices ------------------------------------------------------------------------------------


def line_item(mapped: MappedLine) -> XeroLineItem:
    """One bill line on its account code; its amount in Xero equals Clio's to the cent.

    Quantity × rate is sent when Xero's own rounding of it (2 dp) gives Clio's amount and both fit
    Xero's decimals (4); otherwise one unit at the line's amount.
    """
    line = mapped.line
    quantity, rate = line.quantity, line.unit_price
    description = (line.description or line.kind.value).strip()[:MAX_DESCRIPTION] or line.kind.value
    if (
        rate is not None
        and quantity
        and _fits(quantity)
        and _fits(rate)
        and (quantity * rate).quantize(CENT, rounding=ROUND_HALF_UP) == line.amount
    ):
        return XeroLineItem(
            description=description,
            quantity=quantity.normalize() if quantity == quantity.to_integral() else quantity,
            unit_amount=rate,
            account_code=mapped.item,
        )
    return XeroLineItem(
        description=description, quantity=Decimal("1"), unit_amount=line.amount, account_code=mapped.item
    )


def _fits(value: Decimal) -> bool:
    return value == value.quantize(FOUR_DP)


def invoice_record(draft: InvoiceDraft, *, key: str | None, invoice_id: str | None = None) -> XeroInvoice:
    """An ACCREC invoice (a create carries the marker in Reference; an update leaves Reference alone)."""
    invoice = draft.invoice
    reference = None
    if key is not None:
        reference = marked(f"Clio bill {invoice.source_id}", key)
    return XeroInvoice(
        invoice_id=invoice_id,
        type="ACCREC",
        contact=XeroContact(contact_id=draft.customer_id),
        invoice_number=invoice.number,
        reference=reference,
        date=invoice.issued_at,
        due_date=invoice.due_at or invoice.issued_at,
        line_amount_types="NoTax",
        status=INVOICE_STATUS.get(invoice.state, "AUTHORISED"),
        line_items=[line_item(m) for m in draft.lines],
    )


def document_version(record: XeroInvoice | XeroCreditNote) -> str | None:
    """The version token of an invoice or credit note: what a bookkeeper can edit, hashed.

    Not ``UpdatedDateUTC``: Xero moves that whenever a payment or allocation lands (the document
    turns PAID), which is no edit of the document. PAID counts as AUTHORISED for the same reason;
    VOIDED and DELETED documents are gone (the change feed reports them as ``None``).
    """
    if record.status in GONE:
        return None
    contact = record.contact.contact_id if record.contact else None
    number = record.invoice_number if isinstance(record, XeroInvoice) else record.credit_note_number
    status = "AUTHORISED" if record.status == "PAID" else record.status
    lines = [
        [
            line.description or "",
            _plain(line.quantity),
            _plain(line.unit_amount),
            _plain(line.line_amount),
            line.account_code or "",
        ]
        for line in record.line_items or []
    ]
    facts = [
        contact,
        number,
        record.reference or "",
        record.date.isoformat() if record.date else "",
        record.due_date.isoformat() if record.due_date else "",
        status,
        _plain(record.total),
        lines,
    ]
    return hashlib.sha256(json.dumps(facts).encode()).hexdigest()[:24]


def _plain(amount: Decimal | None) -> str:
    return "" if amount is None else format(amount.normalize(), "f")


def ending_status(current: str | None) -> str | None:
    """What takes a Xero invoice or credit note out of the books: VOIDED or DELETED; None if it is out."""
    if current in GONE or current is None:
        return None
    return "DELETED" if current in ("DRAFT", "SUBMITTED") else "VOIDED"


def ledger_invoice(record: XeroInvoice) -> LedgerInvoice:
    return LedgerInvoice(
        id=str(record.invoice_id),
        number=record.invoice_number or "",
        customer_id=str(record.contact.contact_id if record.contact else ""),
        total=money(record.total if record.total is not None else Decimal(0)),
        version=document_version(record),
        note=record.reference or "",
    )


# -- payments and credits ------------------------------------------------------------------------


def payment_records(draft: PaymentDraft, account_code: str, *, key: str) -> list[XeroPayment]:
    """One Xero payment per invoice the Clio payment settles (Xero pays one document a payment)."""
    payment = draft.payment
    reference = marked(payment.reference or f"Clio payment {payment.source_id}", key)
    return [
        XeroPayment(
            invoice=XeroInvoice(invoice_id=line.target_id),
            account=XeroAccount(code=account_code),
            date=payment.date,
            amount=line.amount,
            reference=reference,
        )
        for line in draft.lines
    ]


def credit_note_number(draft: CreditNoteDraft) -> str:
    """Clio credit memos have no number of their own: Xero's carries the Clio id."""
    return f"CLIO-CN-{draft.credit.source_id}"


def credit_note_record(
    draft: CreditNoteDraft, *, key: str | None, credit_note_id: str | None = None
) -> XeroCreditNote:
    credit = draft.credit
    return XeroCreditNote(
        credit_note_id=credit_note_id,
        type="ACCRECCREDIT",
        contact=XeroContact(contact_id=draft.customer_id),
        date=credit.date,
        status="AUTHORISED",
        line_amount_types="NoTax",
        credit_note_number=credit_note_number(draft),
        reference=marked(f"Clio credit note {credit.source_id}", key) if key is not None else None,
        line_items=[
            XeroLineItem(
                description=(credit.description or "Credit").strip()[:MAX_DESCRIPTION] or "Credit",
                quantity=Decimal("1"),
                unit_amount=credit.total,
                account_code=draft.item,
            )
        ],
    )


def allocations(draft: CreditApplicationDraft) -> list[Settlement]:
    """The allocations a credit application makes: one per invoice credited, each its own call."""
    return list(draft.lines)


def allocation_version(record: XeroAllocation) -> str:
    return f"{record.amount}@{record.date.isoformat() if record.date else ''}"


def joined_versions(versions: Iterable[str | None]) -> str | None:
    """The version token of a compound record ("-" for a part without one, never an empty part)."""
    parts = [v or "-" for v in versions]
    return compound_target(parts) if parts else None


# -- accounts ------------------------------------------------------------------------------------


def ledger_account(record: XeroAccount) -> LedgerAccount:
    return LedgerAccount(
        id=str(record.account_id),
        name=record.name or "",
        type=record.type or "",
        detail_type=record.bank_account_type or None,
        active=(record.status or "ACTIVE") == "ACTIVE",
    )


def accounts_by_code(records: Sequence[XeroAccount]) -> dict[str, XeroAccount]:
    """Accounts with a code, by code (accounts without one cannot be mapped, seed 004)."""
    return {record.code: record for record in records if record.code and record.status != "DELETED"}


def unusable_line_codes(codes: Iterable[str], chart: Mapping[str, XeroAccount]) -> set[str]:
    """Codes a sales line cannot post to: unknown, archived, a bank, or a receivables/payables account."""
    missing: set[str] = set()
    for code in codes:
        account = chart.get(code)
        if (
            account is None
            or account.status != "ACTIVE"
            or (account.type or "") in UNUSABLE_TYPES
            or (account.system_account or "") in UNUSABLE_SYSTEM_ACCOUNTS
        ):
            missing.add(code)
    return missing


def unusable_payment_codes(codes: Iterable[str], chart: Mapping[str, XeroAccount]) -> set[str]:
    """Codes payments cannot be received into: unknown, archived, or neither BANK nor payments-enabled."""
    missing: set[str] = set()
    for code in codes:
        account = chart.get(code)
        if (
            account is None
            or account.status != "ACTIVE"
            or not (account.type == "BANK" or account.enable_payments_to_account)
        ):
            missing.add(code)
    return missing
