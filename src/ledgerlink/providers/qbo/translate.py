"""Neutral records ↔ QuickBooks Online bodies (pure): request bodies out, ledger views back.

QBO's rules applied here (reference/qbo.md §2.1, §2.6–2.9): DisplayName unique and ≤ 500 chars, no
colon, tab or newline in any name part; GivenName/FamilyName/CompanyName ≤ 100; e-mail ≤ 100 with
'@' and '.'; phone ≤ 30; address lines ≤ 500, city ≤ 255, postal code ≤ 30; DocNumber and
PaymentRefNum ≤ 21; line Description ≤ 4000; ``Amount`` must equal round(Qty × UnitPrice, 2) when
both are sent. Non-US companies: every sales line names a real TaxCode and the form says
``GlobalTaxCalculation`` (§2.7). A credit memo is applied with a zero-total Payment linking it and
the invoices (§2.9).

Assumptions:

- A credit memo carries no DocNumber: it would share the invoices' number space (6140, §2.6/§7).
- PaymentRefNum shares DocNumber's limit of 21 characters (the reference gives none of its own).
- A tax code's rate is the sum of the ``RateValue`` of its *sales* rates; a code without sales
  rates charges 0.
- The " (deleted)" suffix QBO shows on inactive customers is not part of their name: a customer
  read back from a write or from change data capture carries the bare name.
- A company whose CompanyInfo gives no Country is a US company (QBO's original market); only
  "US"/"USA" are read as US.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledgerlink.domain import Address, Contact, Invoice
from ledgerlink.providers.qbo import wire
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    LedgerAccount,
    LedgerChanges,
    LedgerCustomer,
    LedgerSettings,
    PaymentDraft,
    Settlement,
    TaxCode,
    TrustBooks,
    TrustChequeDraft,
    TrustPostingDraft,
    Written,
)

MAX_DISPLAY_NAME = 500
MAX_NAME_PART = 100
MAX_COMPANY = 100
MAX_EMAIL = 100
MAX_PHONE = 30
MAX_DOC_NUMBER = 21
MAX_DESCRIPTION = 4000
MAX_PRIVATE_NOTE = 4000
MAX_PAYMENT_REF = 21
MAX_BATCH_REQUEST_ID = 36
TAX_EXCLUDED = "TaxExcluded"
US_COUNTRIES = frozenset({"US", "USA"})
# The QBO entity that holds each link kind's records (written, looked up, reported by change capture).
ENTITY = {
    "contact": "Customer",
    "invoice": "Invoice",
    "payment": "Payment",
    "credit_application": "Payment",  # a credit applied is a zero-total Payment
    "credit_note": "CreditMemo",
    "trust_posting": "JournalEntry",
    "trust_cheque": "Purchase",  # a Check is a Purchase with PaymentType "Check" (§2.13)
    "time_activity": "TimeActivity",  # Clio time entries for payroll (§2.14)
}
JOURNAL_LINE = "JournalEntryLineDetail"
EXPENSE_LINE = "AccountBasedExpenseLineDetail"
NEED_TO_PRINT = "NeedToPrint"
PRINT_COMPLETE = "PrintComplete"

_FORBIDDEN = re.compile(r"[:\t\r\n]+")


def clean_name(value: str, limit: int) -> str:
    """A name QBO accepts: colons become ' - ', tabs/newlines spaces, spaces collapse, cut to limit."""
    value = _FORBIDDEN.sub(lambda m: " - " if ":" in m.group(0) else " ", value)
    return " ".join(value.split())[:limit].rstrip()


def display_name(contact: Contact) -> str:
    return clean_name(contact.name, MAX_DISPLAY_NAME)


def _valid_email(email: str | None) -> str | None:
    if not email:
        return None
    email = email.strip()
    if len(email) > MAX_EMAIL or "@" not in email or "." not in email.split("@")[-1]:
        return None
    return email


def customer_fields(contact: Contact) -> dict[str, Any]:
    """The customer fields ledgerlink owns, for a create or a sparse update (never clears a field)."""
    body: dict[str, Any] = {"DisplayName": display_name(contact)}
    if contact.is_company:
        body["CompanyName"] = clean_name(contact.name, MAX_COMPANY)
    else:
        if contact.first_name:
            body["GivenName"] = clean_name(contact.first_name, MAX_NAME_PART)
        if contact.last_name:
            body["FamilyName"] = clean_name(contact.last_name, MAX_NAME_PART)
    email = _valid_email(contact.email)
    if email:
        body["PrimaryEmailAddr"] = {"Address": email}
    if contact.phone:
        body["PrimaryPhone"] = {"FreeFormNumber": contact.phone.strip()[:MAX_PHONE]}
    address = contact.address
    if address and any(vars(address).values()):
        addr: dict[str, str] = {}
        for key, value, limit in (
            ("Line1", address.street, 500),
            ("City", address.city, 255),
            ("CountrySubDivisionCode", address.province, 255),
            ("PostalCode", address.postal_code, 30),
            ("Country", address.country, 255),
        ):
            if value:
                addr[key] = value.strip()[:limit]
        body["BillAddr"] = addr
    return body


def marker(key: str) -> str:
    """The tag written on every record ledgerlink creates: finds it again after a crash."""
    return f"[ledgerlink {key}]"


def marked_note(text: str, key: str) -> str:
    """``text`` then the marker, cut to the PrivateNote limit without ever cutting the marker."""
    tag = marker(key)
    return f"{text[: MAX_PRIVATE_NOTE - len(tag) - 1]} {tag}"


def invoice_note(invoice: Invoice, key: str) -> str:
    matter = f", matter {invoice.matter}" if invoice.matter else ""
    return f"Clio bill {invoice.number} (id {invoice.source_id}{matter}) {marker(key)}"[:MAX_PRIVATE_NOTE]


def _amount(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def invoice_lines(draft: InvoiceDraft, item_ids: Mapping[str, str]) -> list[dict[str, Any]]:
    """One SalesItemLine per Clio line, posted to its mapped Product/Service."""
    lines: list[dict[str, Any]] = []
    for mapped in draft.lines:
        line = mapped.line
        detail: dict[str, Any] = {"ItemRef": {"value": item_ids[mapped.item], "name": mapped.item}}
        if line.unit_price is not None and _amount(line.quantity * line.unit_price) == line.amount:
            detail["Qty"] = line.quantity
            detail["UnitPrice"] = line.unit_price
        if line.date:
            detail["ServiceDate"] = line.date.isoformat()
        if mapped.tax_code is not None:
            detail["TaxCodeRef"] = {"value": mapped.tax_code}
        entry: dict[str, Any] = {
            "DetailType": "SalesItemLineDetail",
            "Amount": line.amount,
            "SalesItemLineDetail": detail,
        }
        if line.description:
            entry["Description"] = line.description[:MAX_DESCRIPTION]
        lines.append(entry)
    return lines


def invoice_fields(draft: InvoiceDraft, item_ids: Mapping[str, str]) -> dict[str, Any]:
    """The invoice fields ledgerlink owns (create and full sparse update alike)."""
    invoice = draft.invoice
    body: dict[str, Any] = {
        "CustomerRef": {"value": draft.customer_id},
        "DocNumber": invoice.number,
        "TxnDate": invoice.issued_at.isoformat(),
        "Line": invoice_lines(draft, item_ids),
    }
    if invoice.due_at:
        body["DueDate"] = invoice.due_at.isoformat()
    if any(mapped.tax_code is not None for mapped in draft.lines):
        # The ledger computes the tax on top of Clio's pre-tax amounts (non-US companies, §2.7).
        body["GlobalTaxCalculation"] = TAX_EXCLUDED
    return body


def invoice_create_body(draft: InvoiceDraft, item_ids: Mapping[str, str], *, key: str) -> dict[str, Any]:
    return {**invoice_fields(draft, item_ids), "PrivateNote": invoice_note(draft.invoice, key)}


# ---------------------------------------------------------------------------------------------
# Payments, credit memos and applying credits


def _settled(lines: Sequence[Settlement]) -> Decimal:
    return _amount(sum((s.amount for s in lines), Decimal("0.00")))


def _linked_line(amount: Decimal, txn_id: str, txn_type: str) -> dict[str, Any]:
    return {"Amount": _amount(amount), "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]}


def payment_fields(draft: PaymentDraft, deposit_account_id: str | None) -> dict[str, Any]:
    """The payment fields ledgerlink owns: one line per invoice paid, the total their sum.

    Without a deposit account the field is left out and QBO files the money in Undeposited Funds
    (§2.8). An update sends every line again: QBO replaces a payment's lines whole (§1.4).
    """
    payment = draft.payment
    body: dict[str, Any] = {
        "CustomerRef": {"value": draft.customer_id},
        "TxnDate": payment.date.isoformat(),
        "TotalAmt": _settled(draft.lines),
        "Line": [_linked_line(s.amount, s.target_id, "Invoice") for s in draft.lines],
    }
    if deposit_account_id is not None:
        body["DepositToAccountRef"] = {"value": deposit_account_id}
    if payment.reference and payment.reference.strip():
        body["PaymentRefNum"] = payment.reference.strip()[:MAX_PAYMENT_REF]
    return body


def payment_create_body(draft: PaymentDraft, deposit_account_id: str | None, *, key: str) -> dict[str, Any]:
    note = marked_note(f"Clio payment (id {draft.payment.source_id})", key)
    return {**payment_fields(draft, deposit_account_id), "PrivateNote": note}


def credit_memo_fields(draft: CreditNoteDraft, item_id: str, tax_code: str | None) -> dict[str, Any]:
    """One sales line on the credit's Product/Service for the whole credit, and never a DocNumber.

    ``tax_code`` (non-US companies) is the zero-rate code the line must name: the credit reduces
    what the client owes by exactly Clio's amount, with no tax computed on top.
    """
    credit = draft.credit
    detail: dict[str, Any] = {"ItemRef": {"value": item_id, "name": draft.item}}
    if tax_code is not None:
        detail["TaxCodeRef"] = {"value": tax_code}
    line: dict[str, Any] = {
        "DetailType": "SalesItemLineDetail",
        "Amount": _amount(credit.total),
        "Description": (credit.description or f"Clio credit note {credit.source_id}")[:MAX_DESCRIPTION],
        "SalesItemLineDetail": detail,
    }
    body: dict[str, Any] = {
        "CustomerRef": {"value": draft.customer_id},
        "TxnDate": credit.date.isoformat(),
        "Line": [line],
    }
    if tax_code is not None:
        body["GlobalTaxCalculation"] = TAX_EXCLUDED
    return body


def credit_memo_create_body(
    draft: CreditNoteDraft, item_id: str, tax_code: str | None, *, key: str
) -> dict[str, Any]:
    credit = draft.credit
    about = f": {' '.join(credit.description.split())}" if credit.description else ""
    note = marked_note(f"Clio credit note (id {credit.source_id}){about}", key)
    return {**credit_memo_fields(draft, item_id, tax_code), "PrivateNote": note}


def credit_application_fields(draft: CreditApplicationDraft) -> dict[str, Any]:
    """A zero-total Payment: a line per invoice credited, and ONE line taking the sum from the credit memo."""
    lines = [_linked_line(s.amount, s.target_id, "Invoice") for s in draft.lines]
    lines.append(_linked_line(_settled(draft.lines), draft.credit_target_id, "CreditMemo"))
    return {
        "CustomerRef": {"value": draft.customer_id},
        "TxnDate": draft.credit.date.isoformat(),
        "TotalAmt": Decimal("0.00"),
        "Line": lines,
    }


def credit_application_create_body(draft: CreditApplicationDraft, *, key: str) -> dict[str, Any]:
    note = marked_note(f"Clio credit note (id {draft.credit.source_id}) applied", key)
    return {**credit_application_fields(draft), "PrivateNote": note}


# ---------------------------------------------------------------------------------------------
# Trust: journal entries between the trust bank and liability accounts, and cheques to print


def _journal_line(posting: str, account_id: str, amount: Decimal, memo: str) -> dict[str, Any]:
    return {
        "DetailType": JOURNAL_LINE,
        "Amount": amount,
        "Description": memo[:MAX_DESCRIPTION],
        JOURNAL_LINE: {"PostingType": posting, "AccountRef": {"value": account_id}},
    }


def journal_entry_fields(draft: TrustPostingDraft, bank_id: str, liability_id: str) -> dict[str, Any]:
    """Two lines moving the amount between the trust bank and the client's trust liability, debit first.

    Money in debits the bank and credits the liability; money out the reverse. The liability line
    names the client (a Customer ``Entity``) so QBO can report trust per client. No DocNumber: QBO
    may refuse a repeated journal number (6140, §2.12), and the marker finds the entry instead.
    """
    txn = draft.transaction
    amount = _amount(txn.amount)
    bank = _journal_line("Debit" if txn.kind.money_in else "Credit", bank_id, amount, draft.memo)
    liability = _journal_line("Credit" if txn.kind.money_in else "Debit", liability_id, amount, draft.memo)
    if draft.customer_id:
        liability[JOURNAL_LINE]["Entity"] = {"Type": "Customer", "EntityRef": {"value": draft.customer_id}}
    lines = [bank, liability] if txn.kind.money_in else [liability, bank]
    return {"TxnDate": txn.date.isoformat(), "Line": lines}


def journal_entry_create_body(
    draft: TrustPostingDraft, bank_id: str, liability_id: str, *, key: str
) -> dict[str, Any]:
    return {**journal_entry_fields(draft, bank_id, liability_id), "PrivateNote": marked_note(draft.memo, key)}


def cheque_fields(draft: TrustChequeDraft, bank_id: str, liability_id: str) -> dict[str, Any]:
    """A Check paid from the trust bank to the payee, its one line debiting the client's trust liability.

    Never a DocNumber (QBO's print queue numbers the cheque) and never a PrintStatus: an update
    keeps the print status QBO has; only a create asks for the cheque to be printed.
    """
    detail: dict[str, Any] = {"AccountRef": {"value": liability_id}}
    if draft.customer_id:
        detail["CustomerRef"] = {"value": draft.customer_id}
    line = {
        "DetailType": EXPENSE_LINE,
        "Amount": _amount(draft.transaction.amount),
        "Description": draft.memo[:MAX_DESCRIPTION],
        EXPENSE_LINE: detail,
    }
    return {
        "PaymentType": "Check",
        "AccountRef": {"value": bank_id},
        "EntityRef": {"value": draft.payee_id, "type": draft.payee_type},
        "TxnDate": draft.transaction.date.isoformat(),
        "Line": [line],
    }


def cheque_create_body(
    draft: TrustChequeDraft, bank_id: str, liability_id: str, *, key: str
) -> dict[str, Any]:
    return {
        **cheque_fields(draft, bank_id, liability_id),
        "PrintStatus": NEED_TO_PRINT,
        "PrivateNote": marked_note(draft.memo, key),
    }


def batch_request_id(keys: Sequence[str]) -> str:
    """A batch's ``requestid`` (≤ 36 chars): same writes, same id, so a resent batch replays (§3.1, §4)."""
    digest = hashlib.sha256("\n".join(keys).encode("utf-8")).hexdigest()
    return f"ll-{digest}"[:MAX_BATCH_REQUEST_ID]


# ---------------------------------------------------------------------------------------------
# What the ledger holds, as neutral views


def _text(value: str | None) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def address_of(addr: wire.PhysicalAddress | None) -> Address | None:
    """A QBO address as the domain's; the street is its lines joined, as Clio keeps one street field."""
    if addr is None:
        return None
    lines = [line for line in (addr.Line1, addr.Line2, addr.Line3, addr.Line4, addr.Line5) if _text(line)]
    address = Address(
        street="\n".join(line.strip() for line in lines if line) or None,
        city=_text(addr.City),
        province=_text(addr.CountrySubDivisionCode),
        postal_code=_text(addr.PostalCode),
        country=_text(addr.Country),
    )
    return address if any(vars(address).values()) else None


def ledger_customer(record: Mapping[str, Any], *, bare_name: bool = False) -> LedgerCustomer:
    """A QBO Customer as the sync sees it; ``bare_name`` drops the " (deleted)" of inactive customers."""
    customer = wire.Customer.model_validate(record)
    phone = customer.PrimaryPhone.FreeFormNumber if customer.PrimaryPhone else None
    return LedgerCustomer(
        id=customer.Id,
        display_name=customer.name if bare_name else customer.DisplayName,
        email=_text(customer.email),
        active=customer.Active,
        version=customer.SyncToken or None,
        phone=_text(phone),
        address=address_of(customer.BillAddr),
        given_name=_text(customer.GivenName),
        family_name=_text(customer.FamilyName),
    )


def computed_tax(record: Mapping[str, Any]) -> Decimal | None:
    """The tax QBO computed on a sales form (``TxnTaxDetail.TotalTax``), to the cent."""
    detail = wire.TaxDetail.model_validate(record.get("TxnTaxDetail") or {})
    return _amount(detail.TotalTax) if detail.TotalTax is not None else None


def tax_codes(
    code_rows: Sequence[Mapping[str, Any]], rate_rows: Sequence[Mapping[str, Any]]
) -> tuple[TaxCode, ...]:
    """Every tax code with the total percentage of the sales rates it charges."""
    rates = {rate.Id: rate.RateValue or Decimal(0) for rate in map(wire.TaxRate.model_validate, rate_rows)}
    codes = []
    for code in map(wire.TaxCode.model_validate, code_rows):
        details = code.SalesTaxRateList.TaxRateDetail if code.SalesTaxRateList else []
        rate = sum((rates.get(d.TaxRateRef.value, Decimal(0)) for d in details), Decimal(0))
        codes.append(TaxCode(id=code.Id, name=code.Name, rate=rate, active=code.Active))
    return tuple(codes)


def zero_rate_code(codes: Sequence[TaxCode]) -> TaxCode | None:
    """The company's first active tax code that charges nothing (exempt / zero-rated), if any."""
    return next((code for code in codes if code.active and code.rate == 0), None)


def is_us(country: str | None) -> bool:
    return country is None or country.strip().upper() in US_COUNTRIES


def ledger_settings(
    preferences: Mapping[str, Any], company_info: Mapping[str, Any], codes: Sequence[TaxCode]
) -> LedgerSettings:
    """What a pass needs of the company's settings (§2.15): its numbering and whether it computes tax."""
    sales = preferences.get("SalesFormsPrefs") or {}
    tax = preferences.get("TaxPrefs") or {}
    country = company_info.get("Country")
    us = is_us(country)
    return LedgerSettings(
        custom_numbers=sales.get("CustomTxnNumbers") is True,
        computes_tax=not us and tax.get("UsingSalesTax") is True,
        tax_codes=tuple(codes),
        country="US" if us else str(country).strip().upper(),
    )


def cdc_entities(kinds: Collection[str]) -> list[str]:
    """The entities one change-data-capture read asks for: customers always, plus the kinds' records."""
    return list(dict.fromkeys(["Customer", *(ENTITY[k] for k in kinds if k in ENTITY)]))


def ledger_changes(rows: Mapping[str, Sequence[Mapping[str, Any]]], kinds: Collection[str]) -> LedgerChanges:
    """Change-data-capture rows as changed customers and, per kind, each record's version (None: deleted)."""
    customers = tuple(
        ledger_customer(row, bare_name=True)
        for row in rows.get("Customer", ())
        if row.get("status") != "Deleted"
    )
    versions: dict[str, dict[str, str | None]] = {}
    for kind in kinds:
        entity = ENTITY.get(kind)
        if entity is None:
            continue
        versions[kind] = {
            str(row["Id"]): None if row.get("status") == "Deleted" else str(row.get("SyncToken", "")) or None
            for row in rows.get(entity, ())
        }
    return LedgerChanges(customers=customers, versions=versions)


def ledger_account(record: Mapping[str, Any]) -> LedgerAccount:
    """A chart-of-accounts row as trust checks see it: its type and detail type (AccountSubType)."""
    account = wire.Account.model_validate(record)
    return LedgerAccount(
        id=account.Id,
        name=wire.bare_name(account.Name),
        type=account.AccountType or "",
        detail_type=account.AccountSubType or None,
        active=account.Active,
    )


def marked_records(rows: Sequence[Mapping[str, Any]], keys: Collection[str]) -> dict[str, Written]:
    """Intent key → the record whose private note carries that key's marker (the first, by Id)."""
    found: dict[str, Written] = {}
    for row in rows:
        note = str(row.get("PrivateNote") or "")
        for key in keys:
            if key not in found and marker(key) in note:
                found[key] = Written(id=str(row["Id"]), version=str(row.get("SyncToken", "")) or None)
    return found


class _TrustLedger:
    """Running balances of the trust bank, the trust liability and the liability per customer."""

    def __init__(self, bank_id: str, liability_id: str) -> None:
        self.bank_id, self.liability_id = bank_id, liability_id
        self.bank = Decimal("0.00")
        self.liability = Decimal("0.00")
        self.by_customer: dict[str, Decimal] = {}

    def post(self, account_id: str | None, debit: Decimal, customer_id: str | None = None) -> None:
        """Post ``debit`` (negative: a credit) to an account; only the two trust accounts are kept."""
        if account_id == self.bank_id:
            self.bank += debit
        if account_id == self.liability_id:
            self.liability -= debit
            key = customer_id or ""
            self.by_customer[key] = self.by_customer.get(key, Decimal("0.00")) - debit

    def journal_entry(self, entry: wire.JournalEntry) -> None:
        for line in entry.Line:
            detail = line.JournalEntryLineDetail
            if detail is not None:
                debit = _amount(line.Amount) if detail.PostingType == "Debit" else -_amount(line.Amount)
                self.post(detail.AccountRef.value, debit, _customer_of(detail.Entity))

    def purchase(self, purchase: wire.Purchase) -> None:
        """Credits the paying account by the lines' total, debits each account-based line's account.

        A ``Credit`` purchase (a card refund) moves the other way.
        """
        sign = -1 if purchase.Credit else 1
        total = Decimal("0.00")
        for line in purchase.Line:
            total += _amount(line.Amount)
            detail = line.AccountBasedExpenseLineDetail
            if detail is not None and detail.AccountRef is not None:
                customer = detail.CustomerRef.value if detail.CustomerRef else None
                self.post(detail.AccountRef.value, sign * _amount(line.Amount), customer)
        self.post(purchase.AccountRef.value, -sign * total)

    def payment(self, payment: wire.Payment) -> None:
        if payment.DepositToAccountRef is not None:
            self.post(payment.DepositToAccountRef.value, _amount(payment.TotalAmt))

    def books(self) -> TrustBooks:
        owed = {customer: balance for customer, balance in self.by_customer.items() if balance != 0}
        return TrustBooks(bank_balance=self.bank, liability_balance=self.liability, by_customer=owed)


def _customer_of(entity: wire.JournalEntity | None) -> str | None:
    if entity is None or entity.EntityRef is None or entity.Type not in (None, "Customer", "Job"):
        return None
    return entity.EntityRef.value


def trust_books(
    bank_id: str,
    liability_id: str,
    journal_entries: Sequence[Mapping[str, Any]],
    purchases: Sequence[Mapping[str, Any]],
    payments: Sequence[Mapping[str, Any]] = (),
) -> TrustBooks:
    """The two trust accounts' balances from the transactions given (the caller picks their dates).

    Journal lines post as they say (a liability line's Customer entity names the client); a
    Purchase pays out of its account (its lines' CustomerRef names the client); a Payment debits
    the account it was deposited to. Lines on other accounts are passed over.
    """
    ledger = _TrustLedger(bank_id, liability_id)
    for entry in journal_entries:
        ledger.journal_entry(wire.JournalEntry.model_validate(entry))
    for purchase in purchases:
        ledger.purchase(wire.Purchase.model_validate(purchase))
    for payment in payments:
        ledger.payment(wire.Payment.model_validate(payment))
    return ledger.books()
