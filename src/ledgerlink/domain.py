"""Provider-neutral records: what a flow plans with.

Frozen, typed, and free of any API's field names. Money is ``Decimal`` quantized to the cent.
Source ids are strings (Clio ids are integers on the wire; QBO/Xero ids are strings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

CENT = Decimal("0.01")


def money(value: object) -> Decimal:
    """Turn an API number (int, str, float from JSON) into a Decimal rounded to the cent.

    Floats go through ``repr`` so 0.1 becomes Decimal('0.10'), not its binary expansion.
    """
    if isinstance(value, Decimal):
        d = value
    elif isinstance(value, float):
        d = Decimal(repr(value))
    elif isinstance(value, int | str):
        d = Decimal(value)
    else:
        raise TypeError(f"not an amount: {value!r}")
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


class BillState(StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    VOID = "void"
    DELETED = "deleted"


APPROVED_STATES = frozenset({BillState.AWAITING_PAYMENT, BillState.PAID})


class LineKind(StrEnum):
    """What a bill line charges for; selects the Product/Service mapping."""

    TIME = "time"
    EXPENSE = "expense"
    TAX = "tax"
    INTEREST = "interest"
    DISCOUNT = "discount"


@dataclass(frozen=True)
class Address:
    street: str | None = None
    city: str | None = None
    province: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass(frozen=True)
class Contact:
    """A Clio contact (person or company) that may become a ledger customer."""

    source_id: str
    name: str
    is_company: bool = False
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class InvoiceLine:
    """One charge on a bill. ``amount`` is what the line adds to the bill total."""

    source_id: str
    kind: LineKind
    description: str
    amount: Decimal
    quantity: Decimal = Decimal("1")
    unit_price: Decimal | None = None
    category: str | None = None  # activity category / expense category name, when known
    date: date | None = None


@dataclass(frozen=True)
class Invoice:
    """A Clio bill as the ledger should see it."""

    source_id: str
    number: str
    state: BillState
    contact_id: str
    issued_at: date
    total: Decimal
    lines: tuple[InvoiceLine, ...] = field(default_factory=tuple)
    due_at: date | None = None
    balance: Decimal | None = None
    memo: str | None = None
    matter: str | None = None  # display number of the (first) matter, for the memo
    updated_at: datetime | None = None

    @property
    def is_approved(self) -> bool:
        return self.state in APPROVED_STATES
