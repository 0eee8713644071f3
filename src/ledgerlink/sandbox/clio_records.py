"""The rules that keep the Clio emulator's records consistent: bill arithmetic and contact summaries.

Pure functions over plain record dicts. The sync checks totals to the cent, so the arithmetic
here is the whole contract between the emulator and every test that adds up a bill:

- line ``sub_total = round_half_up(quantity × price, 2)``, ``total = sub_total``; a line's
  ``tax``/``secondary_tax`` are informational;
- bill ``sub_total = Σ line total``; ``tax_sum = round_half_up(Σ total of taxable lines ×
  tax_rate / 100, 2)``, ``secondary_tax_sum`` likewise; ``total_tax = tax_sum +
  secondary_tax_sum``; ``total = sub_total + total_tax + interest.total``;
- ``paid = Σ amount`` of the bill's valid (not voided) allocations whose parent is a Payment,
  ``credits_issued`` likewise for CreditMemo parents, ``paid_at`` the moment the latest valid
  payment was received; ``balance = total − paid − credits_issued``; an approved bill is ``paid``
  exactly when its balance is zero.

Trust ledgers (bank transactions) follow their own rules: a transaction's ``amount`` is signed
(``funds_in − funds_out``); an account's ``balance`` is the sum of its transactions' amounts, and
each ``current_account_balance`` the running sum in ledger order (date, then id); no client's
balance in an account may be below zero at any point of that order (:func:`trust_shortfall`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
ZERO = Decimal("0")

BILL_STATES = ("draft", "awaiting_approval", "awaiting_payment", "paid", "void", "deleted")
APPROVED = frozenset({"awaiting_payment", "paid"})
# Amounts the emulator computes; seeds and tests may not set them.
BILL_DERIVED = frozenset(
    {
        "sub_total", "tax_sum", "secondary_tax_sum", "total_tax", "total", "balance", "due",
        "taxable_sub_total", "secondary_taxable_sub_total", "services_sub_total", "services_tax",
        "services_secondary_tax", "services_taxable_sub_total", "services_secondary_taxable_sub_total",
        "can_update", "paid", "paid_at", "credits_issued",
    }
)  # fmt: skip
LINE_DERIVED = frozenset({"sub_total", "total", "tax", "secondary_tax"})
# Fields stored as Decimal whatever number type a seed passes.
MONEY_FIELDS = frozenset(
    {
        "price",
        "rate",
        "tax_rate",
        "secondary_tax_rate",
        "paid",
        "pending",
        "credits_issued",
        "quantity",
        "amount",
    }
)
PAYMENT = "Payment"
CREDIT_MEMO = "CreditMemo"
PARENT_TYPES = (PAYMENT, CREDIT_MEMO)
TRUST_KIND = "trust_kind"  # the bill kind of a trust request


def round_half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def as_decimal(value: Any) -> Decimal:
    """A Decimal from a Decimal, int, str or float (floats through ``repr``, so 0.1 stays 0.1)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        return Decimal(repr(value))
    return Decimal(value)


def interest(given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A bill's ``interest`` value: zero unless ``given`` says otherwise."""
    value: dict[str, Any] = {"rate": ZERO, "type": "simple", "period": 30, "balance": ZERO, "total": ZERO}
    value.update(given or {})
    for key in ("rate", "balance", "total"):
        value[key] = as_decimal(value[key])
    return value


def line_totals(
    line: Mapping[str, Any], tax_rate: Decimal, secondary_tax_rate: Decimal
) -> dict[str, Decimal]:
    """A line's sub_total and total (quantity × price to the cent) and its informational taxes."""
    sub_total = round_half_up(as_decimal(line["quantity"]) * as_decimal(line["price"]))
    return {
        "sub_total": sub_total,
        "total": sub_total,
        "tax": round_half_up(sub_total * tax_rate / 100) if line.get("taxable") else ZERO,
        "secondary_tax": (
            round_half_up(sub_total * secondary_tax_rate / 100) if line.get("secondary_taxable") else ZERO
        ),
    }


def _sum(lines: Iterable[Mapping[str, Any]], flag: str | None = None) -> Decimal:
    return sum((line["total"] for line in lines if flag is None or line.get(flag)), ZERO)


def is_valid(allocation: Mapping[str, Any]) -> bool:
    """An allocation counts until it is voided (Clio's ``status=valid``)."""
    return allocation.get("voided_at") is None


def settlement(allocations: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What a bill's allocations settle: ``paid``, ``credits_issued`` and ``paid_at``.

    Only valid allocations count. ``paid_at`` is when the latest valid payment was received
    (the emulator keeps that moment on each payment allocation as ``received_at``).
    """
    valid = [a for a in allocations if is_valid(a)]
    payments = [a for a in valid if a["parent"]["type"] == PAYMENT]
    latest = max(payments, key=lambda a: (a["date"], a["received_at"], a["id"]), default=None)
    received: datetime | None = latest["received_at"] if latest else None
    return {
        "paid": sum((as_decimal(a["amount"]) for a in payments), ZERO),
        "credits_issued": sum(
            (as_decimal(a["amount"]) for a in valid if a["parent"]["type"] == CREDIT_MEMO), ZERO
        ),
        "paid_at": received,
    }


def bill_totals(
    bill: Mapping[str, Any],
    lines: Iterable[Mapping[str, Any]],
    allocations: Iterable[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """Every derived amount (and the paid/awaiting_payment state) of a bill with these lines.

    ``allocations`` are the payments and credits applied to the bill; without them the bill's
    own ``paid`` and ``credits_issued`` stand (a bill built by hand in a unit test).
    """
    lines = list(lines)
    settled: dict[str, Any] = (
        settlement(allocations)
        if allocations is not None
        else {
            "paid": as_decimal(bill.get("paid") or 0),
            "credits_issued": as_decimal(bill.get("credits_issued") or 0),
            "paid_at": bill.get("paid_at"),
        }
    )
    services = [line for line in lines if line.get("kind") == "Service"]
    tax_rate = as_decimal(bill.get("tax_rate") or 0)
    secondary_rate = as_decimal(bill.get("secondary_tax_rate") or 0)

    def tax(amount: Decimal, rate: Decimal) -> Decimal:
        return round_half_up(amount * rate / 100)

    tax_sum = tax(_sum(lines, "taxable"), tax_rate)
    secondary_tax_sum = tax(_sum(lines, "secondary_taxable"), secondary_rate)
    total = (
        _sum(lines) + tax_sum + secondary_tax_sum + as_decimal((bill.get("interest") or {}).get("total", 0))
    )
    balance = total - settled["paid"] - settled["credits_issued"]
    state = bill["state"]
    if state in APPROVED:
        state = "paid" if balance == 0 else "awaiting_payment"
    return {
        "sub_total": _sum(lines),
        "taxable_sub_total": _sum(lines, "taxable"),
        "secondary_taxable_sub_total": _sum(lines, "secondary_taxable"),
        "services_sub_total": _sum(services),
        "services_taxable_sub_total": _sum(services, "taxable"),
        "services_secondary_taxable_sub_total": _sum(services, "secondary_taxable"),
        "services_tax": tax(_sum(services, "taxable"), tax_rate),
        "services_secondary_tax": tax(_sum(services, "secondary_taxable"), secondary_rate),
        "tax_sum": tax_sum,
        "secondary_tax_sum": secondary_tax_sum,
        "total_tax": tax_sum + secondary_tax_sum,
        "total": total,
        "due": total,
        "balance": balance,
        "state": state,
        "can_update": state in ("draft", "awaiting_approval"),
        **settled,
    }


def contact_summary(contact: Mapping[str, Any]) -> dict[str, Any]:
    """The fields Clio derives from a contact's parts: a Person's name, initials, primary email/phone."""
    summary: dict[str, Any] = {}
    name = contact.get("name")
    if contact.get("type") == "Person":
        parts = (contact.get(key) for key in ("first_name", "middle_name", "last_name"))
        name = " ".join(part for part in parts if part) or name
        summary["name"] = name
    summary["initials"] = "".join(word[0] for word in str(name or "").split()[:3]).upper()
    for plural, singular, key in (
        ("email_addresses", "primary_email_address", "address"),
        ("phone_numbers", "primary_phone_number", "number"),
    ):
        primary = next((item for item in contact.get(plural) or () if item.get("primary")), None)
        summary[singular] = primary[key] if primary else None
    return summary


def _ledger_order(row: Mapping[str, Any]) -> tuple[date, float]:
    """Date, then id; a proposed row (no id yet) comes after every existing row of its day."""
    return row["date"], float("inf") if row.get("id") is None else float(row["id"])


def in_ledger_order(rows: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return sorted(rows, key=_ledger_order)


def running_balances(rows: Iterable[Mapping[str, Any]]) -> list[tuple[Mapping[str, Any], Decimal]]:
    """Each transaction of one account with the account's balance after it, in ledger order."""
    balance = ZERO
    out = []
    for row in in_ledger_order(rows):
        balance += as_decimal(row["amount"])
        out.append((row, balance))
    return out


def trust_shortfall(rows: Iterable[Mapping[str, Any]]) -> tuple[Any, date, Decimal] | None:
    """The first (client, date, balance) at which a client's funds in one account would be negative.

    ``None`` when every client's running balance stays at or above zero. Transactions without a
    client (the firm's own: interest, bank charges) are not a client's funds.
    """
    balances: dict[Any, Decimal] = {}
    for row in in_ledger_order(rows):
        client = row.get("client")
        if client is None:
            continue
        balances[client] = balances.get(client, ZERO) + as_decimal(row["amount"])
        if balances[client] < 0:
            return client, row["date"], balances[client]
    return None
