"""Clio Manage v4 records as they arrive on the wire: frozen pydantic models, money as Decimal.

Field names are Clio's (``reference/clio.md`` §3). Unknown fields are ignored and enum-like
values (bill ``state``, line ``kind``, activity ``type``) are plain strings, because Clio adds
enum values without a new API version (§1.7). The client asks for exactly these fields; see the
``*_FIELDS`` constants in :mod:`ledgerlink.providers.clio.client`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

ZERO = Decimal("0")


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ClioRef(_Wire):
    """A nested record of which only the id was asked for."""

    id: int


class ClioNamed(ClioRef):
    name: str | None = None


class ClioAccount(ClioNamed):
    """The Clio account: the firm."""


class ClioUser(_Wire):
    id: int
    name: str | None = None
    email: str | None = None
    enabled: bool = True
    account_owner: bool = False
    subscription_type: str | None = None
    roles: tuple[str, ...] = ()
    account: ClioAccount | None = None


class ClioEmailAddress(_Wire):
    id: int | None = None
    address: str
    name: str | None = None
    primary: bool = False


class ClioPhoneNumber(_Wire):
    id: int | None = None
    number: str
    name: str | None = None
    primary: bool = False


class ClioAddress(_Wire):
    id: int | None = None
    name: str | None = None
    street: str | None = None
    city: str | None = None
    province: str | None = None
    postal_code: str | None = None
    country: str | None = None
    primary: bool = False


class ClioContact(_Wire):
    id: int
    etag: str | None = None
    type: str  # "Person" | "Company"
    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    is_client: bool = False
    primary_email_address: str | None = None
    primary_phone_number: str | None = None
    email_addresses: tuple[ClioEmailAddress, ...] = ()
    phone_numbers: tuple[ClioPhoneNumber, ...] = ()
    addresses: tuple[ClioAddress, ...] = ()
    company: ClioNamed | None = None
    sales_tax_number: str | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class ClioMatterRef(ClioRef):
    display_number: str | None = None


class ClioBillRef(ClioRef):
    number: str | None = None


class ClioCurrency(_Wire):
    code: str | None = None


class ClioInterest(_Wire):
    total: Decimal = ZERO


class ClioBill(_Wire):
    id: int
    etag: str | None = None
    number: str
    state: str  # draft | awaiting_approval | awaiting_payment | paid | void | deleted (+ future values)
    kind: str | None = None
    type: str | None = None
    issued_at: dt.date | None = None
    due_at: dt.date | None = None
    subject: str | None = None
    memo: str | None = None
    total: Decimal
    sub_total: Decimal = ZERO
    tax_rate: Decimal = ZERO
    secondary_tax_rate: Decimal = ZERO
    tax_sum: Decimal = ZERO
    secondary_tax_sum: Decimal = ZERO
    total_tax: Decimal = ZERO
    interest: ClioInterest | None = None
    balance: Decimal = ZERO
    paid: Decimal = ZERO
    paid_at: dt.datetime | None = None
    due: Decimal = ZERO
    credits_issued: Decimal = ZERO
    client: ClioNamed | None = None
    matters: tuple[ClioMatterRef, ...] = ()
    currency: ClioCurrency | None = None
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None


class ClioActivityRef(ClioRef):
    type: str | None = None


class ClioLineItem(_Wire):
    """A bill's line, with the fields an invoice line is made of.

    A first sync reads one for every line of every bill, so the fields nobody reads (``etag``,
    ``type``, ``sub_total``, ``matter``, ``user``) are not asked for.
    """

    id: int
    kind: str  # "Service" | "Expense" (+ future values)
    description: str | None = None
    note: str | None = None
    date: dt.date | None = None
    quantity: Decimal  # hours for time lines (unlike an activity's quantity, which is seconds)
    price: Decimal
    total: Decimal
    tax: Decimal = ZERO
    secondary_tax: Decimal = ZERO
    taxable: bool = False
    secondary_taxable: bool = False
    activity: ClioActivityRef | None = None
    bill: ClioRef | None = None


class ClioActivityDescription(ClioNamed):
    """An activity category (the kind of time entry)."""

    etag: str | None = None
    type: str | None = None
    category_type: str | None = None
    updated_at: dt.datetime | None = None


class ClioExpenseCategoryRef(ClioNamed):
    entry_type: str | None = None


class ClioExpenseCategory(ClioExpenseCategoryRef):
    etag: str | None = None
    rate: Decimal | None = None
    updated_at: dt.datetime | None = None


class ClioActivityCategory(_Wire):
    """An activity as a bill's lines need it: the category of the time or expense entry.

    A line item names only ``activity{id,type}`` (fields nest one level, reference §1.2), so the
    categories are a read of their own, of these fields alone: every line of a first sync needs one.
    """

    id: int
    type: str  # TimeEntry | ExpenseEntry | HardCostEntry | SoftCostEntry (+ future values)
    activity_description: ClioNamed | None = None
    expense_category: ClioExpenseCategoryRef | None = None


class ClioActivity(ClioActivityCategory):
    etag: str | None = None
    date: dt.date | None = None
    quantity: Decimal | None = None  # seconds for time entries since 4.0.4
    quantity_in_hours: Decimal | None = None
    price: Decimal | None = None
    total: Decimal | None = None
    note: str | None = None
    reference: str | None = None
    non_billable: bool = False
    no_charge: bool = False
    billed: bool = False
    tax_setting: str | None = None
    user: ClioNamed | None = None
    matter: ClioMatterRef | None = None
    bill: ClioBillRef | None = None
    vendor: ClioNamed | None = None
    updated_at: dt.datetime | None = None


class ClioMatter(_Wire):
    """A matter with its client: where a hard cost is entered (reference §3.3)."""

    id: int
    display_number: str | None = None
    description: str | None = None
    status: str | None = None  # Pending | Open | Closed
    client: ClioRef | None = None


class ClioBillingSettings(_Wire):
    """The firm's tax configuration: one primary and one optional secondary tax (reference §3.8)."""

    tax_name: str | None = None
    tax_rate: Decimal = ZERO
    use_secondary_tax: bool = False
    secondary_tax_name: str | None = None
    secondary_tax_rate: Decimal = ZERO
    secondary_tax_rule: str | None = None
    currency: str | None = None


class ClioBankAccountRef(ClioRef):
    type: str | None = None  # "Operating" | "Trust"


class ClioParent(_Wire):
    """What an allocation belongs to: ``type`` is "Payment" or "CreditMemo" (+ other polymorphic types)."""

    id: int
    type: str


class ClioBillKindRef(ClioBillRef):
    """A nested bill with its ``kind`` (``trust_kind`` for a trust request, see ``trust_kinds``)."""

    kind: str | None = None


class ClioAllocation(_Wire):
    """Part of a payment or credit memo applied to one bill (reference §3.9).

    ``bill`` may be absent for an interest allocation whose interest bill was deleted.
    """

    id: int
    date: dt.date
    amount: Decimal
    description: str | None = None  # the credit memo's description, on credit memo allocations
    voided_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    bill: ClioBillKindRef | None = None
    contact: ClioRef | None = None
    parent: ClioParent | None = None
    source_bank_account: ClioBankAccountRef | None = None


class ClioBankAccount(_Wire):
    """A bank account of the firm (reference §3.10): ``type`` is "Operating" or "Trust"."""

    id: int
    etag: str | None = None
    name: str | None = None
    type: str | None = None
    balance: Decimal = ZERO
    currency: str | None = None
    updated_at: dt.datetime | None = None


class ClioBankTransaction(_Wire):
    """One transaction of a bank account (reference §3.10).

    ``amount`` is signed (funds in positive); ``funds_in``/``funds_out`` carry its size on their
    side. What ``transaction_type`` holds is undocumented: see :mod:`.trust_kinds`.
    """

    id: int
    etag: str | None = None
    transaction_type: str | None = None
    date: dt.date
    amount: Decimal | None = None
    funds_in: Decimal | None = None
    funds_out: Decimal | None = None
    description: str | None = None
    confirmation: str | None = None  # the reference (cheque number, wire reference, ...)
    bank_account_id: int | None = None
    client: ClioNamed | None = None
    matter: ClioMatterRef | None = None
    bill: ClioBillKindRef | None = None
    allocation: ClioRef | None = None
    updated_at: dt.datetime | None = None


class ClioBillStateRef(ClioRef):
    """A time entry's bill with its state: whether the entry is approved (awaiting payment or paid)."""

    number: str | None = None
    state: str | None = None


class ClioMatterOfClient(ClioMatterRef):
    """A matter with its client (the client's default fields, one level further down)."""

    client: ClioNamed | None = None


class ClioTimeEntry(_Wire):
    """A TimeEntry activity as payroll reads it (reference §3.6): ``quantity`` in seconds (≥ 4.0.4)."""

    id: int
    type: str
    date: dt.date | None = None
    quantity: Decimal | None = None
    quantity_redacted: bool = False
    price: Decimal | None = None
    note: str | None = None
    billed: bool = False
    on_bill: bool = False
    user: ClioNamed | None = None
    matter: ClioMatterOfClient | None = None
    bill: ClioBillStateRef | None = None
    updated_at: dt.datetime | None = None
