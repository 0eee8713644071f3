"""Xero's document rules in the emulator: invoices, credit notes, payments, allocations, spend money.

Pure functions over :class:`~ledgerlink.sandbox.xero_records.Books`: each ``write_*`` validates
one request element, raises :class:`~ledgerlink.sandbox.xero_records.Refusal` with Xero's texts
(reference §3) or stores the result; each ``render_*`` turns a stored record into Xero's JSON.

Rules taken from the reference (§2.2–§2.6):

- Lines: ``Quantity`` 4 dp, ``UnitAmount`` 2 dp (4 with ``unitdp=4``), ``LineAmount`` =
  Quantity × UnitAmount (less ``DiscountRate`` %) rounded to 2 dp; tax per line, rounded to 2 dp,
  then summed; ``LineAmountTypes`` Exclusive (default) / Inclusive / NoTax. A supplied ``Total``
  is ignored.
- Invoices: ACCREC numbers unique ("Invoice # must be unique."), generated as ``INV-0001`` when
  omitted. DRAFT/SUBMITTED edit freely and may be DELETED; AUTHORISED may be edited or VOIDED
  while nothing is paid or credited; with payments/allocations an edit fails ("This document
  cannot be edited as it has a payment or credit note allocated to it.") and a status change fails
  ("The status X cannot be applied to the invoice because it has payments or credit notes
  allocated to it."); PAID, VOIDED and DELETED are final ("Invoice not of valid status for
  modification"). PAID is reached only through payments/allocations.
- Payments: against AUTHORISED documents only, amount ≤ amount due, account BANK or
  payments-enabled; they cannot be edited, only deleted with ``Status: DELETED`` (any other field:
  "Only Status accepted for updates."), which reopens a PAID invoice.
- Credit notes: allocation is a separate call; amount ≤ remaining credit and ≤ the invoice's
  amount due; a fully allocated note is PAID.
- Spend money: Type, Contact, LineItems, BankAccount (a BANK account); reconciled ones refuse any
  change ("This Bank Transaction cannot be edited as it has been reconciled with a Bank
  Statement.").

Assumptions the reference does not settle (this emulator's choices, named):

- ``Quantity`` defaults to 1; a line with only ``LineAmount`` gets UnitAmount = LineAmount. A
  line whose given ``LineAmount`` differs from its computed amount, or has more than 2 dp, is
  refused with "The invoice total does not equal the sum of the lines.".
- An account on a line is required unless the document is DRAFT or the line's amount is 0;
  missing → "Account must be valid."; a code that does not exist or is a BANK account → "Account
  code 'X' is not a valid code for this document."; an archived one → "Account code 'X' has been
  archived, or has been deleted. Each line item must reference a valid account.". A line's tax
  type defaults to its account's.
- Documents cannot be created PAID/VOIDED/DELETED, nor DRAFT→VOIDED, AUTHORISED→DRAFT/SUBMITTED/
  DELETED: "Invoice not of valid status for modification". A POST update may send ``Contact: {}``
  or ``LineItems: []`` (the spec's own updateInvoice example does): both mean "unchanged".
  On part-paid AUTHORISED documents only ``DueDate``, ``SentToContact``, ``ExpectedPaymentDate``
  and ``PlannedPaymentDate`` may change.
- Documents dated on or before the organisation's ``PeriodLockDate`` are refused with "The
  document date cannot be before the period lock date of <d Month yyyy>".
- Credit note numbers (ACCRECCREDIT) are unique ("Credit Note # must be unique."), generated as
  ``CN-0001``. Payments reference invoices only (not credit notes, prepayments, overpayments).
  Payment texts not in the reference: unknown invoice "Invoice could not be found", amount ≤ 0
  "Payment amount must be greater than zero", deleting a deleted payment "Payment has already
  been deleted", deleting a reconciled one (reference [?]: "expect a 400") "This Payment cannot be
  deleted as it has been reconciled with a Bank Statement.". Unknown ids on POST updates: "An
  existing Invoice with the specified InvoiceID could not be found" (patterned on the spec's
  credit-note text). Allocation: unknown invoice "Invoice could not be found", a document not
  AUTHORISED "Allocations can only be made against Authorised documents".
- Spend money supports ``SPEND`` and ``RECEIVE``; lines need Quantity ≥ 0 and UnitAmount > 0
  ("Unit amount must be greater than zero for bank transaction lines"); a BankAccount that is not
  BANK → "Account must be valid.". Deleting is a POST with ``Status: DELETED``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from ledgerlink.sandbox.xero_records import (
    CENT,
    FOUR_DP,
    Books,
    Refusal,
    date_string,
    document_contact,
    money,
    msdate,
    mstime,
    new_id,
    parse_date,
    render_contact,
    utc_string,
)

# Texts from reference §3 (exact) and this emulator's own (see the module docstring).
DUPLICATE_INVOICE_NUMBER = "Invoice # must be unique."
DUPLICATE_CREDIT_NOTE_NUMBER = "Credit Note # must be unique."
NOT_VALID_STATUS = "Invoice not of valid status for modification"
HAS_PAYMENTS = "This document cannot be edited as it has a payment or credit note allocated to it."
STATUS_WITH_PAYMENTS = (
    "The status {status} cannot be applied to the invoice because it has payments or credit notes "
    "allocated to it."
)
PAYMENT_EXCEEDS = "Payment amount exceeds the amount outstanding on this document"
PAYMENT_NOT_AUTHORISED = "Payments can only be made against Authorised documents"
PAYMENT_ACCOUNT_NOT_FOUND = "Account could not be found"
PAYMENT_ACCOUNT_TYPE = "Account type is invalid for making a payment to/from"
ONLY_STATUS = "Only Status accepted for updates."
RECONCILED = "This Bank Transaction cannot be edited as it has been reconciled with a Bank Statement."
TOTAL_MISMATCH = "The invoice total does not equal the sum of the lines."
ACCOUNT_INVALID = "Account must be valid."
ACCOUNT_CODE_INVALID = "Account code '{code}' is not a valid code for this document."
ACCOUNT_ARCHIVED = (
    "Account code '{code}' has been archived, or has been deleted. "
    "Each line item must reference a valid account."
)
TAX_TYPE_INVALID = "The TaxType code {tax} does not exist or cannot be used for this type of transaction."
CURRENCY_NOT_ENABLED = "Users Organisation is not subscribed to currency {currency}"
CREDIT_NOTE_NOT_FOUND = "An existing Credit Note with the specified CreditNoteID could not be found"
INVOICE_NOT_FOUND = "An existing Invoice with the specified InvoiceID could not be found"
BANK_TRANSACTION_NOT_FOUND = (
    "An existing Bank Transaction with the specified BankTransactionID could not be found"
)
OVER_ALLOCATION = "Credit Note cannot be allocated as amount is greater than amount outstanding"
ALREADY_PAID_OFF = "The invoice you are trying to allocate to has already been paid off"
LOCK_DATE = "The document date cannot be before the period lock date of {date}"

INVOICE_TYPES = ("ACCREC", "ACCPAY")
CREDIT_NOTE_TYPES = ("ACCRECCREDIT", "ACCPAYCREDIT")
BANK_TRANSACTION_TYPES = ("SPEND", "RECEIVE")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
FINAL = ("PAID", "VOIDED", "DELETED")
# Changes Xero allows on a part-paid document (reference §1 "If-Modified-Since").
LATE_EDITABLE = ("DueDate", "SentToContact", "ExpectedPaymentDate", "PlannedPaymentDate")


# ---------------------------------------------------------------------------------------------
# Lines and totals


def build_lines(
    books: Books,
    raw: Any,
    *,
    line_amount_types: str,
    unitdp: int,
    require_accounts: bool,
    bank_lines: bool = False,
) -> list[dict[str, Any]]:
    """Validated, computed line items; every problem of every line in one :class:`Refusal`."""
    if not isinstance(raw, list):
        raise Refusal("LineItems must be a list.")
    problems: list[str] = []
    lines: list[dict[str, Any]] = []
    for given in raw:
        try:
            lines.append(
                _build_line(books, given, line_amount_types, unitdp, require_accounts, bank_lines=bank_lines)
            )
        except Refusal as refusal:
            problems += [m for m in refusal.messages if m not in problems]
    if problems:
        raise Refusal(*problems)
    return lines


def _build_line(
    books: Books, given: Mapping[str, Any], lat: str, unitdp: int, require_accounts: bool, *, bank_lines: bool
) -> dict[str, Any]:
    places = FOUR_DP if unitdp == 4 else CENT
    has_qty, has_unit = given.get("Quantity") is not None, given.get("UnitAmount") is not None
    given_amount = given.get("LineAmount")
    quantity = money(given["Quantity"], FOUR_DP) if has_qty else Decimal("1.0000")
    if has_unit:
        unit = money(given["UnitAmount"], places)
    elif given_amount is not None:
        unit = money(Decimal(str(given_amount)) / quantity, places) if quantity else money(0, places)
    else:
        unit = money(0, places)
    discount = money(given["DiscountRate"]) if given.get("DiscountRate") is not None else None
    amount = money(quantity * unit * ((Decimal(100) - discount) / 100 if discount is not None else 1))
    if given_amount is not None and (has_qty or has_unit or given.get("DiscountRate") is not None):
        exact = Decimal(str(given_amount))
        if exact != exact.quantize(CENT) or (has_unit and exact != amount):
            raise Refusal(TOTAL_MISMATCH)
        amount = exact.quantize(CENT)
    elif given_amount is not None:
        amount = money(given_amount)
    if bank_lines and (quantity < 0 or unit <= 0):
        raise Refusal("Unit amount must be greater than zero for bank transaction lines")
    line: dict[str, Any] = {
        "LineItemID": str(given.get("LineItemID") or new_id()),
        "Description": str(given.get("Description") or ""),
        "Quantity": quantity,
        "UnitAmount": unit,
        "LineAmount": amount,
    }
    if discount is not None:
        line["DiscountRate"] = discount
    account = _line_account(books, given, required=require_accounts and amount != 0)
    if account is not None:
        line["AccountCode"] = account.get("Code")
        line["AccountID"] = account["AccountID"]
    tax_type = str(given.get("TaxType") or (account or {}).get("TaxType") or "NONE")
    if lat == "NoTax":
        tax_type = "NONE"
    rate = books.tax_rates.get(tax_type)
    if rate is None or rate["Status"] != "ACTIVE":
        raise Refusal(TAX_TYPE_INVALID.format(tax=tax_type))
    line["TaxType"] = tax_type
    percent: Decimal = rate["Rate"]
    if given.get("TaxAmount") is not None:
        tax = money(given["TaxAmount"])
    elif lat == "Exclusive":
        tax = money(amount * percent / 100)
    elif lat == "Inclusive":
        tax = money(amount - amount / (1 + percent / 100))
    else:
        tax = Decimal("0.00")
    line["TaxAmount"] = tax
    for passthrough in ("ItemCode", "Tracking"):
        if given.get(passthrough) is not None:
            line[passthrough] = copy.deepcopy(given[passthrough])
    return line


def _line_account(books: Books, given: Mapping[str, Any], *, required: bool) -> dict[str, Any] | None:
    code, account_id = given.get("AccountCode"), given.get("AccountID")
    if account_id:
        account = books.accounts.get(str(account_id).lower())
        if account is None or account["Status"] == "DELETED":
            raise Refusal(ACCOUNT_INVALID)
        shown = account.get("Code") or account["Name"]
    elif code:
        account = books.account_by_code(str(code))
        shown = str(code)
        if account is None:
            raise Refusal(ACCOUNT_CODE_INVALID.format(code=code))
    else:
        if required:
            raise Refusal(ACCOUNT_INVALID)
        return None
    if account["Status"] == "ARCHIVED":
        raise Refusal(ACCOUNT_ARCHIVED.format(code=shown))
    if account["Type"] == "BANK":
        raise Refusal(ACCOUNT_CODE_INVALID.format(code=shown))
    return account


def totals(lines: list[dict[str, Any]], lat: str) -> dict[str, Decimal]:
    amounts = sum((line["LineAmount"] for line in lines), Decimal("0.00"))
    tax = sum((line["TaxAmount"] for line in lines), Decimal("0.00"))
    if lat == "Inclusive":
        return {"SubTotal": amounts - tax, "TotalTax": tax, "Total": amounts}
    return {"SubTotal": amounts, "TotalTax": tax, "Total": amounts + tax}


# ---------------------------------------------------------------------------------------------
# Invoices and credit notes


def paid_on(books: Books, record: Mapping[str, Any], id_field: str) -> tuple[Decimal, Decimal]:
    """(amount paid, amount credited) of a document from its live payments and allocations."""
    paid = sum((p["Amount"] for p in payments_of(books, record, id_field)), Decimal("0.00"))
    credited = sum((a["Amount"] for a in allocations_of(books, record, id_field)), Decimal("0.00"))
    return paid, credited


def payments_of(books: Books, record: Mapping[str, Any], id_field: str) -> list[dict[str, Any]]:
    """The payments (not deleted) of a document, oldest first."""
    filed = (
        books.payments_to.live(record[id_field], books.payments, "PaymentID")
        if id_field == "InvoiceID"
        else []
    )
    return [p for p in filed if p.get(id_field) == record[id_field] and p["Status"] != "DELETED"]


def allocations_of(books: Books, record: Mapping[str, Any], id_field: str) -> list[dict[str, Any]]:
    """The credit note allocations (not deleted) to or from a document, oldest first."""
    filed = books.allocations_to.live((id_field, record[id_field]), books.allocations, "AllocationID")
    return [a for a in filed if a.get(id_field) == record[id_field] and not a["IsDeleted"]]


def amount_due(books: Books, record: Mapping[str, Any], id_field: str) -> Decimal:
    paid, credited = paid_on(books, record, id_field)
    due: Decimal = record["Total"] - paid - credited
    return due


def write_document(
    books: Books,
    element: Mapping[str, Any],
    *,
    kind: str,
    create_only: bool,
    path_id: str | None,
    unitdp: int,
) -> dict[str, Any]:
    """Create or update an invoice (``kind="Invoice"``) or credit note (``kind="CreditNote"``)."""
    is_invoice = kind == "Invoice"
    table = books.invoices if is_invoice else books.credit_notes
    id_field, number_field = f"{kind}ID", f"{kind}Number"
    types = INVOICE_TYPES if is_invoice else CREDIT_NOTE_TYPES
    record_id = path_id or (str(element[id_field]).lower() if element.get(id_field) else None)
    current = table.get(record_id) if record_id else None
    if record_id and current is None and (path_id or not create_only):
        raise Refusal(INVOICE_NOT_FOUND if is_invoice else CREDIT_NOTE_NOT_FOUND)
    if create_only:
        current = None
    problems: list[str] = []
    status = str(element.get("Status") or (current["Status"] if current else "DRAFT"))
    if current is not None:
        _check_document_change(books, current, element, status, id_field)
    elif status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        raise Refusal(NOT_VALID_STATUS)
    doc_type = str(element.get("Type") or (current["Type"] if current else ""))
    if doc_type not in types:
        problems.append(f"Type must be one of {', '.join(types)}.")
    contact_ref = element.get("Contact")
    contact_id = current["ContactID"] if current else None
    # On an update, an absent or empty Contact means "unchanged" (the spec's updateInvoice example).
    if current is None or (isinstance(contact_ref, Mapping) and contact_ref):
        try:
            contact_id = document_contact(books, contact_ref, documents=True)["ContactID"]
        except Refusal as refusal:
            problems += refusal.messages
    lat = str(element.get("LineAmountTypes") or (current["LineAmountTypes"] if current else "Exclusive"))
    if lat not in LINE_AMOUNT_TYPES:
        problems.append(f"LineAmountTypes must be one of {', '.join(LINE_AMOUNT_TYPES)}.")
        lat = "Exclusive"
    raw_lines = element.get("LineItems")
    lines: list[dict[str, Any]] = current["LineItems"] if current else []
    if raw_lines is None and current is None:
        problems.append("LineItems must be supplied.")
    approving = current is not None and status != current["Status"] and status in ("SUBMITTED", "AUTHORISED")
    if raw_lines or (raw_lines is not None and current is None) or approving:
        try:
            source = raw_lines if raw_lines else [_line_input(line) for line in lines]
            lines = build_lines(
                books, source, line_amount_types=lat, unitdp=unitdp, require_accounts=status != "DRAFT"
            )
        except Refusal as refusal:
            problems += refusal.messages
    try:
        day = (
            parse_date(element["Date"])
            if element.get("Date")
            else (current["Date"] if current else books.today())
        )
        due_day = parse_date(element["DueDate"]) if element.get("DueDate") else (current or {}).get("DueDate")
    except Refusal as refusal:
        problems += refusal.messages
        day, due_day = books.today(), None
    if books.period_lock_date is not None and day <= books.period_lock_date:
        lock = books.period_lock_date
        problems.append(LOCK_DATE.format(date=f"{lock.day} {lock.strftime('%B %Y')}"))
    currency = str(
        element.get("CurrencyCode") or (current["CurrencyCode"] if current else books.base_currency)
    )
    if currency not in books.currencies:
        problems.append(CURRENCY_NOT_ENABLED.format(currency=currency))
    number = element.get(number_field)
    own_id = current[id_field] if current else None
    numbers = books.invoice_numbers if is_invoice else books.credit_note_numbers
    if number and doc_type in ("ACCREC", "ACCRECCREDIT"):
        for other in numbers.live(str(number), table, id_field):
            same = other.get(number_field) == number and other["Type"] == doc_type
            if same and other[id_field] != own_id and other["Status"] != "DELETED":
                problems.append(DUPLICATE_INVOICE_NUMBER if is_invoice else DUPLICATE_CREDIT_NOTE_NUMBER)
                break
    if problems:
        raise Refusal(*problems)
    record: dict[str, Any] = copy.deepcopy(dict(current)) if current else {id_field: new_id()}
    record.update(
        {
            "Type": doc_type,
            "ContactID": contact_id,
            "Date": day,
            "Status": status,
            "LineAmountTypes": lat,
            "LineItems": lines,
            "CurrencyCode": currency,
            **totals(lines, lat),
        }
    )
    if due_day is not None:
        record["DueDate"] = due_day
    if number:
        record[number_field] = str(number)
    elif current is None:
        record[number_field] = (
            books.next_number("INV" if is_invoice else "CN") if doc_type in ("ACCREC", "ACCRECCREDIT") else ""
        )
    for optional in (
        "Reference",
        "Url",
        "SentToContact",
        "BrandingThemeID",
        "ExpectedPaymentDate",
        "PlannedPaymentDate",
    ):
        if element.get(optional) is not None:
            record[optional] = element[optional]
    record["UpdatedDateUTC"] = books.now()
    table[record[id_field]] = record
    numbers.file(str(record.get(number_field)), record)
    (books.invoices_of if is_invoice else books.credit_notes_of).file(record["ContactID"], record)
    return record


def _line_input(line: Mapping[str, Any]) -> dict[str, Any]:
    """A stored line as a request line again (to re-check it, e.g. when a DRAFT is approved)."""
    keys = (
        "LineItemID",
        "Description",
        "Quantity",
        "UnitAmount",
        "DiscountRate",
        "TaxType",
        "ItemCode",
        "Tracking",
    )
    out = {k: line[k] for k in keys if k in line}
    if line.get("AccountID"):
        out["AccountID"] = line["AccountID"]
    return out


def _check_document_change(
    books: Books, current: Mapping[str, Any], element: Mapping[str, Any], status: str, id_field: str
) -> None:
    """Refuse a change the document's status (or its payments and allocations) does not allow."""
    was = current["Status"]
    if was in FINAL:
        raise Refusal(NOT_VALID_STATUS)
    paid, credited = paid_on(books, current, id_field)
    if paid or credited:
        if status != was:
            raise Refusal(STATUS_WITH_PAYMENTS.format(status=status))
        if _changes_beyond(current, element, LATE_EDITABLE):
            raise Refusal(HAS_PAYMENTS)
        return
    allowed = {
        "DRAFT": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
        "SUBMITTED": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
        "AUTHORISED": ("AUTHORISED", "VOIDED"),
    }
    if status not in allowed.get(was, ()):
        raise Refusal(NOT_VALID_STATUS)


def _changes_beyond(current: Mapping[str, Any], element: Mapping[str, Any], allowed: tuple[str, ...]) -> bool:
    """True when ``element`` would change something of ``current`` other than ``allowed`` fields."""
    ignore = {
        *allowed,
        "Status",
        "InvoiceID",
        "CreditNoteID",
        "Type",
        "UpdatedDateUTC",
        "Total",
        "SubTotal",
        "TotalTax",
    }
    for key, value in element.items():
        if key in ignore or value is None or value == [] or value == {}:
            continue
        if key == "Contact":
            if (
                isinstance(value, Mapping)
                and value.get("ContactID")
                and str(value["ContactID"]).lower() != current["ContactID"]
            ):
                return True
            continue
        if key in ("Date", "DueDate"):
            try:
                if parse_date(value) != current.get(key):
                    return True
            except Refusal:
                return True
            continue
        if key == "LineItems":
            return True
        if key in _COMPARED and str(current.get(key, "")) != str(value):
            return True
    return False


# Writable document fields an edit is judged by (read-only echoes such as AmountDue are ignored).
_COMPARED = (
    "Reference",
    "InvoiceNumber",
    "CreditNoteNumber",
    "LineAmountTypes",
    "CurrencyCode",
    "Url",
    "BrandingThemeID",
)


def settle(books: Books, record: dict[str, Any], id_field: str, on: Any) -> None:
    """Move a document to PAID when nothing is due, back to AUTHORISED when something is again."""
    due = amount_due(books, record, id_field)
    if record["Status"] == "AUTHORISED" and due == 0:
        record["Status"] = "PAID"
        record["FullyPaidOnDate"] = on
    elif record["Status"] == "PAID" and due > 0:
        record["Status"] = "AUTHORISED"
        record.pop("FullyPaidOnDate", None)
    record["UpdatedDateUTC"] = books.now()


def render_line(line: Mapping[str, Any], unitdp: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "LineItemID": line["LineItemID"],
        "Description": line["Description"],
        "Quantity": line["Quantity"],
        "UnitAmount": line["UnitAmount"].quantize(FOUR_DP if unitdp == 4 else CENT),
        "TaxType": line["TaxType"],
        "TaxAmount": line["TaxAmount"],
        "LineAmount": line["LineAmount"],
        "Tracking": copy.deepcopy(line.get("Tracking", [])),
    }
    for key in ("AccountCode", "AccountID", "ItemCode", "DiscountRate"):
        if line.get(key) is not None:
            out[key] = line[key]
    out["ValidationErrors"] = []
    return out


def document_head(books: Books, record: Mapping[str, Any], *, kind: str) -> dict[str, Any]:
    """The first fields of a rendered invoice or credit note: those read from the record alone
    (and its contact), not from its lines, payments or allocations (:data:`DOCUMENT_HEAD`)."""
    id_field = f"{kind}ID"
    out: dict[str, Any] = {
        "Type": record["Type"],
        id_field: record[id_field],
        f"{kind}Number": record.get(f"{kind}Number", ""),
        "Reference": record.get("Reference", ""),
        "Contact": render_contact(books, books.contacts[record["ContactID"]], summary=True),
        "DateString": date_string(record["Date"]),
        "Date": msdate(record["Date"]),
        "Status": record["Status"],
        "LineAmountTypes": record["LineAmountTypes"],
        "SubTotal": record["SubTotal"],
        "TotalTax": record["TotalTax"],
        "Total": record["Total"],
        "UpdatedDateUTC": mstime(record["UpdatedDateUTC"]),
        "CurrencyCode": record["CurrencyCode"],
        "CurrencyRate": Decimal("1.000000"),
        "SentToContact": bool(record.get("SentToContact", False)),
        "HasErrors": False,
    }
    if record.get("DueDate") is not None:
        out["DueDateString"] = date_string(record["DueDate"])
        out["DueDate"] = msdate(record["DueDate"])
    return out


# What document_head may hold, lower case, with the numbers of both kinds.
DOCUMENT_HEAD = frozenset(
    name.lower()
    for name in (
        "Type", "InvoiceID", "CreditNoteID", "InvoiceNumber", "CreditNoteNumber", "Reference", "Contact",
        "DateString", "Date", "Status", "LineAmountTypes", "SubTotal", "TotalTax", "Total",
        "UpdatedDateUTC", "CurrencyCode", "CurrencyRate", "SentToContact", "HasErrors", "DueDateString",
        "DueDate",
    )
)  # fmt: skip


def render_document(
    books: Books, record: Mapping[str, Any], *, kind: str, unitdp: int = 2, with_lines: bool = True
) -> dict[str, Any]:
    """An invoice or credit note as Xero returns it (amounts due/paid/credited computed)."""
    id_field = f"{kind}ID"
    paid, credited = paid_on(books, record, id_field)
    out = document_head(books, record, kind=kind)
    if with_lines:
        out["LineItems"] = [render_line(line, unitdp) for line in record["LineItems"]]
    if record.get("FullyPaidOnDate") is not None:
        out["FullyPaidOnDate"] = msdate(record["FullyPaidOnDate"])
    out["Payments"] = [
        {
            "PaymentID": p["PaymentID"],
            "Date": msdate(p["Date"]),
            "Amount": p["Amount"],
            "Reference": p.get("Reference", ""),
            "CurrencyRate": Decimal("1.000000"),
            "HasAccount": False,
            "HasValidationErrors": False,
        }
        for p in payments_of(books, record, id_field)
    ]
    allocations = allocations_of(books, record, id_field)
    if kind == "Invoice":
        out["InvoiceNumber"] = record.get("InvoiceNumber", "")
        out["AmountDue"] = record["Total"] - paid - credited
        out["AmountPaid"] = paid
        out["AmountCredited"] = credited
        out["CreditNotes"] = [
            {
                "CreditNoteID": a["CreditNoteID"],
                "CreditNoteNumber": books.credit_notes[a["CreditNoteID"]].get("CreditNoteNumber", ""),
                "AppliedAmount": a["Amount"],
                "Total": books.credit_notes[a["CreditNoteID"]]["Total"],
            }
            for a in allocations
        ]
        out["Prepayments"], out["Overpayments"] = [], []
        out["IsDiscounted"] = False
    else:
        out["RemainingCredit"] = record["Total"] - paid - credited
        out["Allocations"] = [render_allocation(books, a, nested=True) for a in allocations]
    for optional in ("Url", "BrandingThemeID"):
        if record.get(optional) is not None:
            out[optional] = record[optional]
    out["UpdatedDateUTCString"] = utc_string(record["UpdatedDateUTC"])
    return out


# ---------------------------------------------------------------------------------------------
# Allocations


def write_allocation(books: Books, credit_note_id: str, element: Mapping[str, Any]) -> dict[str, Any]:
    """Allocate part of an AUTHORISED credit note to an AUTHORISED invoice of the same currency."""
    note = books.credit_notes.get(credit_note_id.lower())
    if note is None:
        raise Refusal(CREDIT_NOTE_NOT_FOUND)
    problems: list[str] = []
    for required in ("Amount", "Invoice", "Date"):
        if element.get(required) in (None, ""):
            problems.append(f"{required} is required for an allocation.")
    if problems:
        raise Refusal(*problems)
    ref = element["Invoice"]
    invoice = books.invoices.get(str(ref.get("InvoiceID", "")).lower()) if isinstance(ref, Mapping) else None
    if invoice is None:
        raise Refusal("Invoice could not be found")
    amount = money(element["Amount"])
    day = parse_date(element["Date"])
    if note["Status"] != "AUTHORISED" or invoice["Status"] not in ("AUTHORISED", "PAID"):
        raise Refusal("Allocations can only be made against Authorised documents")
    invoice_due = amount_due(books, invoice, "InvoiceID")
    if invoice_due <= 0:
        raise Refusal(ALREADY_PAID_OFF)
    if amount <= 0 or amount > amount_due(books, note, "CreditNoteID") or amount > invoice_due:
        raise Refusal(OVER_ALLOCATION)
    if note["CurrencyCode"] != invoice["CurrencyCode"]:
        raise Refusal(CURRENCY_NOT_ENABLED.format(currency=note["CurrencyCode"]))
    allocation = {
        "AllocationID": new_id(),
        "CreditNoteID": note["CreditNoteID"],
        "InvoiceID": invoice["InvoiceID"],
        "Amount": amount,
        "Date": day,
        "IsDeleted": False,
    }
    books.allocations[allocation["AllocationID"]] = allocation
    books.allocations_to.file(("InvoiceID", invoice["InvoiceID"]), allocation)
    books.allocations_to.file(("CreditNoteID", note["CreditNoteID"]), allocation)
    settle(books, invoice, "InvoiceID", day)
    settle(books, note, "CreditNoteID", day)
    return allocation


def delete_allocation(books: Books, credit_note_id: str, allocation_id: str) -> dict[str, Any]:
    allocation = books.allocations.get(allocation_id.lower())
    if allocation is None or allocation["CreditNoteID"] != credit_note_id.lower() or allocation["IsDeleted"]:
        raise Refusal("Allocation could not be found")
    allocation["IsDeleted"] = True
    settle(books, books.invoices[allocation["InvoiceID"]], "InvoiceID", None)
    settle(books, books.credit_notes[allocation["CreditNoteID"]], "CreditNoteID", None)
    return allocation


def render_allocation(books: Books, allocation: Mapping[str, Any], *, nested: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "AllocationID": allocation["AllocationID"],
        "Amount": allocation["Amount"],
        "Date": msdate(allocation["Date"]),
        "Invoice": {
            "InvoiceID": allocation["InvoiceID"],
            "InvoiceNumber": books.invoices[allocation["InvoiceID"]].get("InvoiceNumber", ""),
        },
        "IsDeleted": allocation["IsDeleted"],
    }
    if not nested:
        out["CreditNote"] = {"CreditNoteID": allocation["CreditNoteID"]}
        out["ValidationErrors"] = []
    return out


# ---------------------------------------------------------------------------------------------
# Payments


def write_payment(books: Books, element: Mapping[str, Any]) -> dict[str, Any]:
    """Create one payment against an AUTHORISED invoice (reference §2.4)."""
    problems: list[str] = []
    if element.get("Status") not in (None, "AUTHORISED"):
        raise Refusal("A new payment must have Status AUTHORISED.")
    invoice = _payment_invoice(books, element)
    account = _payment_account(books, element.get("Account"), element.get("Code"))
    if element.get("Amount") is None:
        raise Refusal("Payment amount must be greater than zero")
    amount = money(element["Amount"])
    day = parse_date(element["Date"]) if element.get("Date") else books.today()
    if amount <= 0:
        problems.append("Payment amount must be greater than zero")
    if invoice["Status"] != "AUTHORISED":
        problems.append(PAYMENT_NOT_AUTHORISED)
    elif amount > amount_due(books, invoice, "InvoiceID"):
        problems.append(PAYMENT_EXCEEDS)
    if books.period_lock_date is not None and day <= books.period_lock_date:
        lock = books.period_lock_date
        problems.append(LOCK_DATE.format(date=f"{lock.day} {lock.strftime('%B %Y')}"))
    if problems:
        raise Refusal(*problems)
    payment = {
        "PaymentID": new_id(),
        "InvoiceID": invoice["InvoiceID"],
        "AccountID": account["AccountID"],
        "Date": day,
        "Amount": amount,
        "Reference": str(element.get("Reference") or ""),
        "Status": "AUTHORISED",
        "IsReconciled": bool(element.get("IsReconciled", False)),
        "PaymentType": "ACCRECPAYMENT" if invoice["Type"] == "ACCREC" else "ACCPAYPAYMENT",
        "UpdatedDateUTC": books.now(),
    }
    books.payments[payment["PaymentID"]] = payment
    books.payments_to.file(invoice["InvoiceID"], payment)  # payments name invoices only
    settle(books, invoice, "InvoiceID", day)
    return payment


def _payment_invoice(books: Books, element: Mapping[str, Any]) -> dict[str, Any]:
    ref = element.get("Invoice")
    number = element.get("InvoiceNumber")
    if isinstance(ref, Mapping):
        if ref.get("InvoiceID"):
            found = books.invoices.get(str(ref["InvoiceID"]).lower())
            if found is not None:
                return found
            raise Refusal("Invoice could not be found")
        number = ref.get("InvoiceNumber") or number
    if number:
        for invoice in books.invoices.values():
            if invoice.get("InvoiceNumber") == number and invoice["Status"] != "DELETED":
                return invoice
    raise Refusal("Invoice could not be found")


def _payment_account(books: Books, ref: Any, code: Any) -> dict[str, Any]:
    account = None
    if isinstance(ref, Mapping) and ref.get("AccountID"):
        account = books.accounts.get(str(ref["AccountID"]).lower())
    elif isinstance(ref, Mapping) and ref.get("Code"):
        account = books.account_by_code(str(ref["Code"]))
    elif code:
        account = books.account_by_code(str(code))
    if account is None or account["Status"] != "ACTIVE":
        raise Refusal(PAYMENT_ACCOUNT_NOT_FOUND)
    if account["Type"] != "BANK" and not account.get("EnablePaymentsToAccount"):
        raise Refusal(PAYMENT_ACCOUNT_TYPE)
    return account


def delete_payment(books: Books, payment_id: str, element: Mapping[str, Any]) -> dict[str, Any]:
    """The only change a payment takes: ``Status: DELETED`` alone (reference §2.4)."""
    payment = books.payments.get(payment_id.lower())
    if payment is None:
        raise Refusal("The document with the supplied id was not found for this endpoint.")
    if set(element) - {"Status", "PaymentID"} or element.get("Status") != "DELETED":
        raise Refusal(ONLY_STATUS)
    if payment["Status"] == "DELETED":
        raise Refusal("Payment has already been deleted")
    if payment["IsReconciled"]:
        raise Refusal("This Payment cannot be deleted as it has been reconciled with a Bank Statement.")
    payment["Status"] = "DELETED"
    payment["UpdatedDateUTC"] = books.now()
    settle(books, books.invoices[payment["InvoiceID"]], "InvoiceID", None)
    return payment


def render_payment(books: Books, payment: Mapping[str, Any]) -> dict[str, Any]:
    invoice = books.invoices[payment["InvoiceID"]]
    account = books.accounts[payment["AccountID"]]
    rendered_account = {"AccountID": account["AccountID"], "Name": account["Name"]}
    if account.get("Code"):
        rendered_account["Code"] = account["Code"]
    return {
        **payment_head(payment),
        "Account": rendered_account,
        "Invoice": render_document(books, invoice, kind="Invoice", with_lines=False),
        "HasValidationErrors": False,
    }


def payment_head(payment: Mapping[str, Any]) -> dict[str, Any]:
    """The first fields of a rendered payment: those read from the payment alone (:data:`PAYMENT_HEAD`)."""
    return {
        "PaymentID": payment["PaymentID"],
        "Date": msdate(payment["Date"]),
        "BankAmount": payment["Amount"],
        "Amount": payment["Amount"],
        "Reference": payment["Reference"],
        "CurrencyRate": Decimal("1.000000"),
        "PaymentType": payment["PaymentType"],
        "Status": payment["Status"],
        "UpdatedDateUTC": mstime(payment["UpdatedDateUTC"]),
        "UpdatedDateUTCString": utc_string(payment["UpdatedDateUTC"]),
        "HasAccount": True,
        "IsReconciled": payment["IsReconciled"],
    }


PAYMENT_HEAD = frozenset(
    name.lower()
    for name in (
        "PaymentID", "Date", "BankAmount", "Amount", "Reference", "CurrencyRate", "PaymentType", "Status",
        "UpdatedDateUTC", "UpdatedDateUTCString", "HasAccount", "IsReconciled",
    )
)  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Bank transactions (spend / receive money)


def write_bank_transaction(
    books: Books, element: Mapping[str, Any], *, create_only: bool, path_id: str | None, unitdp: int
) -> dict[str, Any]:
    record_id = path_id or (
        str(element["BankTransactionID"]).lower() if element.get("BankTransactionID") else None
    )
    current = books.bank_transactions.get(record_id) if record_id else None
    if record_id and current is None and (path_id or not create_only):
        raise Refusal(BANK_TRANSACTION_NOT_FOUND)
    if create_only:
        current = None
    if current is not None:
        if current["IsReconciled"]:
            raise Refusal(RECONCILED)
        if current["Status"] != "AUTHORISED":
            raise Refusal("This Bank Transaction cannot be edited as it has been deleted.")
    problems: list[str] = []
    kind = str(element.get("Type") or (current["Type"] if current else ""))
    if kind not in BANK_TRANSACTION_TYPES:
        problems.append(f"Type must be one of {', '.join(BANK_TRANSACTION_TYPES)}.")
    status = str(element.get("Status") or (current["Status"] if current else "AUTHORISED"))
    if status not in ("AUTHORISED", "DELETED") or (current is None and status != "AUTHORISED"):
        problems.append(f"The status {status} is not valid for this bank transaction.")
    contact_id = current["ContactID"] if current else None
    contact_ref = element.get("Contact")
    if current is None or (isinstance(contact_ref, Mapping) and contact_ref):
        try:
            contact_id = document_contact(books, contact_ref, documents=False)["ContactID"]
        except Refusal as refusal:
            problems += refusal.messages
    bank_id = current["BankAccountID"] if current else None
    bank_ref = element.get("BankAccount")
    if current is None or bank_ref:
        bank = None
        if isinstance(bank_ref, Mapping) and bank_ref.get("AccountID"):
            bank = books.accounts.get(str(bank_ref["AccountID"]).lower())
        elif isinstance(bank_ref, Mapping) and bank_ref.get("Code"):
            bank = books.account_by_code(str(bank_ref["Code"]))
        if bank is None or bank["Type"] != "BANK" or bank["Status"] != "ACTIVE":
            problems.append(ACCOUNT_INVALID)
        else:
            bank_id = bank["AccountID"]
    lat = str(element.get("LineAmountTypes") or (current["LineAmountTypes"] if current else "Exclusive"))
    if lat not in LINE_AMOUNT_TYPES:
        problems.append(f"LineAmountTypes must be one of {', '.join(LINE_AMOUNT_TYPES)}.")
        lat = "Exclusive"
    lines: list[dict[str, Any]] = current["LineItems"] if current else []
    raw_lines = element.get("LineItems")
    if raw_lines or current is None:
        try:
            lines = build_lines(
                books,
                raw_lines or [],
                line_amount_types=lat,
                unitdp=unitdp,
                require_accounts=True,
                bank_lines=True,
            )
            if not lines:
                problems.append("At least one line item is required.")
        except Refusal as refusal:
            problems += refusal.messages
    try:
        day = (
            parse_date(element["Date"])
            if element.get("Date")
            else (current["Date"] if current else books.today())
        )
    except Refusal as refusal:
        problems += refusal.messages
        day = books.today()
    if books.period_lock_date is not None and day <= books.period_lock_date:
        lock = books.period_lock_date
        problems.append(LOCK_DATE.format(date=f"{lock.day} {lock.strftime('%B %Y')}"))
    if problems:
        raise Refusal(*problems)
    record: dict[str, Any] = (
        copy.deepcopy(dict(current))
        if current
        else {
            "BankTransactionID": new_id(),
            "IsReconciled": bool(element.get("IsReconciled", False)),
        }
    )
    record.update(
        {
            "Type": kind,
            "ContactID": contact_id,
            "BankAccountID": bank_id,
            "Date": day,
            "Status": status,
            "LineAmountTypes": lat,
            "LineItems": lines,
            "CurrencyCode": books.base_currency,
            **totals(lines, lat),
            "UpdatedDateUTC": books.now(),
        }
    )
    for optional in ("Reference", "Url"):
        if element.get(optional) is not None:
            record[optional] = str(element[optional])
    books.bank_transactions[record["BankTransactionID"]] = record
    return record


def render_bank_transaction(
    books: Books, record: Mapping[str, Any], *, unitdp: int = 2, with_lines: bool = True
) -> dict[str, Any]:
    bank = books.accounts[record["BankAccountID"]]
    out: dict[str, Any] = {
        "BankTransactionID": record["BankTransactionID"],
        "Type": record["Type"],
        "Contact": render_contact(books, books.contacts[record["ContactID"]], summary=True),
        "BankAccount": {k: bank[k] for k in ("AccountID", "Code", "Name") if k in bank},
        "IsReconciled": record["IsReconciled"],
        "DateString": date_string(record["Date"]),
        "Date": msdate(record["Date"]),
        "Reference": record.get("Reference", ""),
        "CurrencyCode": record["CurrencyCode"],
        "CurrencyRate": Decimal("1.000000"),
        "Status": record["Status"],
        "LineAmountTypes": record["LineAmountTypes"],
        "SubTotal": record["SubTotal"],
        "TotalTax": record["TotalTax"],
        "Total": record["Total"],
        "UpdatedDateUTC": mstime(record["UpdatedDateUTC"]),
        "HasAttachments": False,
    }
    if with_lines:
        out["LineItems"] = [render_line(line, unitdp) for line in record["LineItems"]]
    if record.get("Url"):
        out["Url"] = record["Url"]
    return out


__all__ = [
    "DUPLICATE_INVOICE_NUMBER",
    "HAS_PAYMENTS",
    "NOT_VALID_STATUS",
    "ONLY_STATUS",
    "PAYMENT_EXCEEDS",
    "RECONCILED",
    "build_lines",
    "delete_allocation",
    "delete_payment",
    "document_head",
    "payment_head",
    "render_allocation",
    "render_bank_transaction",
    "render_document",
    "render_payment",
    "write_allocation",
    "write_bank_transaction",
    "write_document",
    "write_payment",
]
