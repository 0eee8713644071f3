"""QBO Purchases (Expense and Check transactions) as the hard-cost import reads them (reference §2.13).

Pure. ``PaymentType`` tells the kinds apart: Check is a cheque, Cash and CreditCard are what QBO's
form calls an Expense (the undocumented ``PurchaseEx`` TxnType is not used). Lines are either
``AccountBasedExpenseLineDetail`` ("Category details": an account, optionally a customer) or
``ItemBasedExpenseLineDetail`` ("Item details": a product/service); other detail types carry no cost
a firm would bill and are left out. The payee is a vendor only when ``EntityRef.type`` says Vendor.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerlink.sync.flows.hard_costs import ExpenseLine, Purchase

CHECK = "Check"
EXPENSE_PAYMENT_TYPES = frozenset({"Cash", "CreditCard"})


def purchase_from_qbo(row: Mapping[str, Any]) -> Purchase | None:
    """The purchase a QBO Purchase record is, or None when it is neither an Expense nor a Check."""
    payment_type = row.get("PaymentType")
    if payment_type != CHECK and payment_type not in EXPENSE_PAYMENT_TYPES:
        return None
    payee = row.get("EntityRef") or {}
    vendor = str(payee.get("name") or "") or None if payee.get("type") == "Vendor" else None
    lines = tuple(line for raw in row.get("Line") or () if (line := _line(raw)) is not None)
    return Purchase(
        purchase_id=str(row["Id"]),
        kind="Check" if payment_type == CHECK else "Expense",
        txn_date=date.fromisoformat(str(row["TxnDate"])),
        lines=lines,
        doc_number=str(row["DocNumber"]) if row.get("DocNumber") else None,
        memo=str(row["PrivateNote"]) if row.get("PrivateNote") else None,
        vendor=vendor,
        credit=bool(row.get("Credit")),
    )


def _line(raw: Mapping[str, Any]) -> ExpenseLine | None:
    kind = raw.get("DetailType")
    if kind not in ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail"):
        return None
    detail = raw.get(kind) or {}
    customer = detail.get("CustomerRef") or {}
    common: dict[str, Any] = {
        "line_id": str(raw.get("Id", "")),
        "amount": Decimal(str(raw.get("Amount", "0"))),
        "description": str(raw.get("Description") or ""),
        "customer_id": str(customer["value"]) if customer.get("value") else None,
        "customer_name": str(customer["name"]) if customer.get("name") else None,
    }
    if kind == "AccountBasedExpenseLineDetail":
        account = detail.get("AccountRef") or {}
        return ExpenseLine(account_id=str(account.get("value")) if account.get("value") else None, **common)
    item = detail.get("ItemRef") or {}
    return ExpenseLine(item=str(item.get("name") or item.get("value") or "item"), **common)
