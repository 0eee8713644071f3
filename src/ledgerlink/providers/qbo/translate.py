"""Neutral records → QuickBooks Online request bodies (pure).

QBO's rules applied here (reference/qbo.md §2.1, §2.6): DisplayName unique and ≤ 500 chars, no
colon, tab or newline in any name part; GivenName/FamilyName/CompanyName ≤ 100; e-mail ≤ 100 with
'@' and '.'; phone ≤ 30; address lines ≤ 500, city ≤ 255, postal code ≤ 30; DocNumber ≤ 21;
line Description ≤ 4000; ``Amount`` must equal round(Qty × UnitPrice, 2) when both are sent.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from ledgerlink.domain import Contact, Invoice
from ledgerlink.sync.ports import InvoiceDraft

MAX_DISPLAY_NAME = 500
MAX_NAME_PART = 100
MAX_COMPANY = 100
MAX_EMAIL = 100
MAX_PHONE = 30
MAX_DOC_NUMBER = 21
MAX_DESCRIPTION = 4000
MAX_PRIVATE_NOTE = 4000

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
    return body


def invoice_create_body(draft: InvoiceDraft, item_ids: Mapping[str, str], *, key: str) -> dict[str, Any]:
    return {**invoice_fields(draft, item_ids), "PrivateNote": invoice_note(draft.invoice, key)}
