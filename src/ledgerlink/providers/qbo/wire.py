"""QBO wire models for what the sync reads (Customer, Item, Account, Invoice, Payment, CreditMemo, TaxCode,
TaxRate, CompanyInfo, JournalEntry, Purchase), and JSON encoding.

Models keep unknown properties (``extra="allow"``): Intuit adds fields without a new minor version
(reference §1.2, §7.10), and a model that drops them would silently lose data on a round trip.
Money is ``Decimal``: the client parses responses with ``parse_float=Decimal`` and writes Decimals
back as plain JSON numbers through :func:`dumps`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from pydantic import BaseModel, ConfigDict

INACTIVE_SUFFIX = " (deleted)"


def dumps(value: Any) -> bytes:
    """JSON bytes for a request body; Decimals are written as numbers without losing digits."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    # The json module's C string encoders, types tested most frequent first: every write's body
    # passes here, and a json.dumps per value (a new JSONEncoder each time) was 6 % of a first sync's CPU.
    if isinstance(value, str):
        return encode_basestring(value)
    if isinstance(value, Mapping):
        return (
            "{"
            + ",".join([encode_basestring_ascii(str(k)) + ":" + _encode(v) for k, v in value.items()])
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join([_encode(v) for v in value]) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite amount: {value}")
        return format(value, "f")
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, BaseModel):
        return _encode(value.model_dump(mode="python", exclude_none=True))
    if isinstance(value, datetime | date):
        return encode_basestring_ascii(value.isoformat())
    return json.dumps(value, ensure_ascii=False)


def bare_name(name: str) -> str:
    """A DisplayName without the " (deleted)" suffix QBO shows on inactive records (§1.5)."""
    return name[: -len(INACTIVE_SUFFIX)] if name.endswith(INACTIVE_SUFFIX) else name


class WireModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Ref(WireModel):
    """A reference to another record: only ``value`` (its Id) is needed on write."""

    value: str
    name: str | None = None
    type: str | None = None


class ModificationMetaData(WireModel):
    CreateTime: datetime | None = None
    LastUpdatedTime: datetime | None = None


class EmailAddress(WireModel):
    Address: str | None = None


class TelephoneNumber(WireModel):
    FreeFormNumber: str | None = None


class PhysicalAddress(WireModel):
    Id: str | None = None
    Line1: str | None = None
    Line2: str | None = None
    Line3: str | None = None
    Line4: str | None = None
    Line5: str | None = None
    City: str | None = None
    CountrySubDivisionCode: str | None = None
    PostalCode: str | None = None
    Country: str | None = None


class Customer(WireModel):
    Id: str
    SyncToken: str
    MetaData: ModificationMetaData | None = None
    DisplayName: str
    Title: str | None = None
    GivenName: str | None = None
    MiddleName: str | None = None
    FamilyName: str | None = None
    Suffix: str | None = None
    CompanyName: str | None = None
    PrintOnCheckName: str | None = None
    PrimaryEmailAddr: EmailAddress | None = None
    PrimaryPhone: TelephoneNumber | None = None
    Mobile: TelephoneNumber | None = None
    BillAddr: PhysicalAddress | None = None
    ShipAddr: PhysicalAddress | None = None
    Notes: str | None = None
    Active: bool = True
    Job: bool = False
    ParentRef: Ref | None = None
    Balance: Decimal = Decimal(0)

    @property
    def name(self) -> str:
        """The DisplayName as the firm typed it (without QBO's " (deleted)" on inactive customers)."""
        return bare_name(self.DisplayName) if not self.Active else self.DisplayName

    @property
    def email(self) -> str | None:
        return self.PrimaryEmailAddr.Address if self.PrimaryEmailAddr else None


class Item(WireModel):
    Id: str
    SyncToken: str
    MetaData: ModificationMetaData | None = None
    Name: str
    Type: str | None = None
    Active: bool = True
    Description: str | None = None
    UnitPrice: Decimal | None = None
    IncomeAccountRef: Ref | None = None
    FullyQualifiedName: str | None = None


class SalesItemDetail(WireModel):
    ItemRef: Ref | None = None
    Qty: Decimal | None = None
    UnitPrice: Decimal | None = None
    TaxCodeRef: Ref | None = None
    ServiceDate: date | None = None


class DiscountDetail(WireModel):
    PercentBased: bool | None = None
    DiscountPercent: Decimal | None = None
    DiscountAccountRef: Ref | None = None


class InvoiceLine(WireModel):
    Id: str | None = None
    LineNum: int | None = None
    Description: str | None = None
    Amount: Decimal = Decimal(0)
    DetailType: str
    SalesItemLineDetail: SalesItemDetail | None = None
    DiscountLineDetail: DiscountDetail | None = None


class LinkedTransaction(WireModel):
    TxnId: str
    TxnType: str


class TaxDetail(WireModel):
    """``TxnTaxDetail``: the tax the service computed on a sales form (non-US companies, §2.7)."""

    TxnTaxCodeRef: Ref | None = None
    TotalTax: Decimal | None = None


class MemoRef(WireModel):
    value: str | None = None


class Invoice(WireModel):
    Id: str
    SyncToken: str
    MetaData: ModificationMetaData | None = None
    DocNumber: str | None = None
    TxnDate: date | None = None
    DueDate: date | None = None
    CustomerRef: Ref
    Line: list[InvoiceLine] = []
    TotalAmt: Decimal = Decimal(0)
    Balance: Decimal = Decimal(0)
    PrivateNote: str | None = None
    CustomerMemo: MemoRef | None = None
    LinkedTxn: list[LinkedTransaction] = []
    TxnTaxDetail: TaxDetail | None = None
    GlobalTaxCalculation: str | None = None

    @property
    def item_lines(self) -> list[InvoiceLine]:
        """The lines the firm entered (the service's computed subtotal line left out)."""
        return [line for line in self.Line if line.DetailType != "SubTotalLineDetail"]


class CreditMemo(WireModel):
    """A credit note: the sales shape of an invoice plus the credit still unapplied (§2.9)."""

    Id: str
    SyncToken: str
    MetaData: ModificationMetaData | None = None
    DocNumber: str | None = None
    TxnDate: date | None = None
    CustomerRef: Ref
    Line: list[InvoiceLine] = []
    TotalAmt: Decimal = Decimal(0)
    Balance: Decimal | None = None
    RemainingCredit: Decimal | None = None
    PrivateNote: str | None = None
    TxnTaxDetail: TaxDetail | None = None
    GlobalTaxCalculation: str | None = None


class PaymentLine(WireModel):
    """An amount of a payment applied to the transactions it links (invoices, credit memos)."""

    Amount: Decimal = Decimal(0)
    LinkedTxn: list[LinkedTransaction] = []


class Payment(WireModel):
    """A customer payment (§2.8); with TotalAmt 0 it applies credit memos to invoices (§2.9)."""

    Id: str
    SyncToken: str
    MetaData: ModificationMetaData | None = None
    TxnDate: date | None = None
    CustomerRef: Ref
    TotalAmt: Decimal = Decimal(0)
    UnappliedAmt: Decimal | None = None
    Line: list[PaymentLine] = []
    DepositToAccountRef: Ref | None = None
    PaymentRefNum: str | None = None
    PrivateNote: str | None = None


class Account(WireModel):
    Id: str
    SyncToken: str
    Name: str
    FullyQualifiedName: str | None = None
    AccountType: str | None = None
    AccountSubType: str | None = None
    Active: bool = True


class JournalEntity(WireModel):
    """Who a journal line is about: ``Type`` Customer|Vendor|Employee|Job|Other (§2.12)."""

    Type: str | None = None
    EntityRef: Ref | None = None


class JournalLineDetail(WireModel):
    PostingType: str  # "Debit" | "Credit"
    AccountRef: Ref
    Entity: JournalEntity | None = None


class JournalLine(WireModel):
    Id: str | None = None
    Description: str | None = None
    Amount: Decimal = Decimal(0)
    DetailType: str
    JournalEntryLineDetail: JournalLineDetail | None = None


class JournalEntry(WireModel):
    """A journal entry (§2.12): lines of positive amounts, each a debit or a credit of one account."""

    Id: str
    SyncToken: str
    MetaData: ModificationMetaData | None = None
    DocNumber: str | None = None
    TxnDate: date | None = None
    PrivateNote: str | None = None
    Line: list[JournalLine] = []
    TotalAmt: Decimal | None = None


class AccountExpenseDetail(WireModel):
    AccountRef: Ref | None = None
    CustomerRef: Ref | None = None
    BillableStatus: str | None = None


class ItemExpenseDetail(WireModel):
    ItemRef: Ref | None = None
    Qty: Decimal | None = None
    UnitPrice: Decimal | None = None
    CustomerRef: Ref | None = None


class PurchaseLine(WireModel):
    Id: str | None = None
    Description: str | None = None
    Amount: Decimal = Decimal(0)
    DetailType: str
    AccountBasedExpenseLineDetail: AccountExpenseDetail | None = None
    ItemBasedExpenseLineDetail: ItemExpenseDetail | None = None


class Purchase(WireModel):
    """Money paid out of ``AccountRef`` (§2.13); a Check has ``PaymentType`` "Check" and a PrintStatus."""

    Id: str
    SyncToken: str
    MetaData: ModificationMetaData | None = None
    PaymentType: str
    AccountRef: Ref
    EntityRef: Ref | None = None
    DocNumber: str | None = None
    TxnDate: date | None = None
    PrivateNote: str | None = None
    PrintStatus: str | None = None
    Credit: bool | None = None
    Line: list[PurchaseLine] = []
    TotalAmt: Decimal = Decimal(0)


class TaxRateUse(WireModel):
    """One rate a tax code charges (a ``TaxRateDetail`` entry)."""

    TaxRateRef: Ref
    TaxTypeApplicable: str | None = None
    TaxOrder: int | None = None


class TaxRateList(WireModel):
    TaxRateDetail: list[TaxRateUse] = []


class TaxCode(WireModel):
    """A sales tax code (read-only through the API): the rates it charges on sales and purchases."""

    Id: str
    SyncToken: str | None = None
    Name: str
    Description: str | None = None
    Active: bool = True
    Taxable: bool | None = None
    TaxGroup: bool | None = None
    SalesTaxRateList: TaxRateList | None = None
    PurchaseTaxRateList: TaxRateList | None = None


class TaxRate(WireModel):
    """One tax rate; ``RateValue`` is a percentage (5 means 5%)."""

    Id: str
    SyncToken: str | None = None
    Name: str
    Description: str | None = None
    RateValue: Decimal | None = None
    Active: bool = True


class CompanyInfo(WireModel):
    Id: str
    SyncToken: str | None = None
    CompanyName: str
    LegalName: str | None = None
    Country: str | None = None
    CompanyAddr: PhysicalAddress | None = None
    Email: EmailAddress | None = None
    FiscalYearStartMonth: str | None = None
    DefaultTimeZone: str | None = None
