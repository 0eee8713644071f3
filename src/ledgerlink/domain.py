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
    taxable: bool = False  # Clio's primary tax applies to this line
    secondary_taxable: bool = False  # Clio's secondary tax applies to this line
    tax: Decimal = Decimal("0.00")  # Clio's primary tax on this line alone (informational)
    secondary_tax: Decimal = Decimal("0.00")


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
    tax: Decimal = Decimal("0.00")  # Clio's primary tax on the whole bill
    secondary_tax: Decimal = Decimal("0.00")

    @property
    def is_approved(self) -> bool:
        return self.state in APPROVED_STATES

    @property
    def total_tax(self) -> Decimal:
        return self.tax + self.secondary_tax


@dataclass(frozen=True)
class Application:
    """Part of a payment or credit note applied to one bill (one Clio allocation)."""

    source_id: str  # the allocation's id
    bill_id: str
    amount: Decimal


class _AppliedToBills:
    """What payments and credit notes share: amounts applied to bills."""

    applications: tuple[Application, ...]

    @property
    def total(self) -> Decimal:
        return sum((a.amount for a in self.applications), Decimal("0.00"))

    @property
    def bill_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(a.bill_id for a in self.applications))


@dataclass(frozen=True)
class Payment(_AppliedToBills):
    """Money a client paid against one or more bills: Clio's allocations under one parent Payment.

    ``voided`` is true when the payment was deleted or voided in Clio (every allocation voided);
    its ``applications`` then hold what it used to apply, for the record.
    """

    source_id: str  # the parent Payment's id
    contact_id: str
    date: date
    applications: tuple[Application, ...]
    reference: str | None = None
    from_trust: bool = False  # paid out of the client's trust funds
    voided: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True)
class CreditNote(_AppliedToBills):
    """A Clio credit memo: an amount written off approved bills, applied through allocations."""

    source_id: str  # the parent CreditMemo's id
    contact_id: str
    date: date
    applications: tuple[Application, ...]
    description: str | None = None
    voided: bool = False
    updated_at: datetime | None = None


@dataclass(frozen=True)
class TaxSettings:
    """The firm's tax rates as Clio's billing settings hold them (percentages, e.g. 5 for 5%)."""

    primary_name: str
    primary_rate: Decimal
    secondary_name: str | None = None
    secondary_rate: Decimal = Decimal("0")
    secondary_enabled: bool = False


@dataclass(frozen=True)
class ContactEdit:
    """Changes to write back to a Clio contact (two-way contacts); ``None`` means unchanged.

    An empty string clears a field (an e-mail or phone removed in the ledger).
    """

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address | None = None

    @property
    def empty(self) -> bool:
        return all(
            getattr(self, f) is None for f in ("name", "first_name", "last_name", "email", "phone", "address")
        )


class TrustKind(StrEnum):
    """What moved money in or out of a client's trust funds (seed 000's list of trust transactions)."""

    DEPOSIT = "deposit"  # a manual addition of trust funds
    DISBURSEMENT = "disbursement"  # a manual subtraction (incl. cheques printed through the ledger)
    TRANSFER_IN = "transfer_in"  # the receiving side of a matter-to-matter transfer
    TRANSFER_OUT = "transfer_out"  # the paying side of a matter-to-matter transfer
    REQUEST_PAYMENT = "request_payment"  # a payment made to a trust request (money into trust)
    BILL_PAYMENT = "bill_payment"  # a revenue bill paid from trust (money out of trust)

    @property
    def money_in(self) -> bool:
        return self in (TrustKind.DEPOSIT, TrustKind.TRANSFER_IN, TrustKind.REQUEST_PAYMENT)


@dataclass(frozen=True)
class TrustAccount:
    """A Clio trust bank account (Clio may hold several, one per bank)."""

    source_id: str
    name: str
    balance: Decimal
    currency: str | None = None


@dataclass(frozen=True)
class TrustTransaction:
    """One movement of client money in a Clio trust account.

    ``amount`` is positive; :attr:`signed` says which way it moved the client's trust balance.
    ``client_id`` is ``None`` for a movement of the firm's own (bank interest, a bank charge).
    """

    source_id: str
    account_id: str
    kind: TrustKind
    date: date
    amount: Decimal
    client_id: str | None
    client_name: str | None = None
    matter: str | None = None  # the matter's display number
    description: str | None = None
    reference: str | None = None  # Clio's "confirmation" (cheque number, wire reference, ...)
    bill_id: str | None = None  # the trust request or revenue bill it pays
    updated_at: datetime | None = None

    @property
    def signed(self) -> Decimal:
        return self.amount if self.kind.money_in else -self.amount
