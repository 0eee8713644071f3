"""Xero Accounting records as they travel on the wire: pydantic models, money as Decimal, Xero's dates.

Field names are snake_case in Python and Xero's PascalCase on the wire (``reference/xero.md`` §2).
Only what ledgerlink reads or writes is declared, each field named as in Xero's OpenAPI spec; fields
Xero answers beyond those (``DateString``, ``Addresses``, ...) are kept on a read record
(``extra="allow"``) for whoever needs them, but never sent back: some of them are not in the spec
at all, and a body must fit the spec.

Dates (§1 "Dates"): Xero answers ``/Date(1439434356790)/`` (UTC milliseconds) or
``/Date(1419937200000+1300)/`` (milliseconds plus the organisation's offset). Clients disagree on
the offset; both readings agree on the *local wall time*, so a date-time keeps the instant and
carries the offset as its zone, and a document date is the calendar day at that offset. Dates are
sent as ``YYYY-MM-DD`` (a date-time with an offset stored the previous day: §8.6).

:meth:`XeroModel.wire` is the body form: declared fields only, no ``None`` fields, and none of the
fields Xero computes (the spec's ``readOnly`` ones plus the per-element outcome fields), so a
record read from Xero can be changed and sent back as it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    model_serializer,
)

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-])?(\d{2})?(\d{2})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Fields Xero reports per element of a write answer; they describe the outcome, never a wish.
OUTCOME_FIELDS = frozenset(
    {"HasErrors", "HasValidationErrors", "StatusAttributeString", "ValidationErrors", "Warnings"}
)


# ---------------------------------------------------------------------------------------------
# Dates and JSON


def parse_ms_datetime(text: str) -> datetime:
    """The instant of a ``/Date(ms[±hhmm])/`` value, in the zone of its offset (UTC without one)."""
    match = _MS_DATE.match(text.strip())
    if not match:
        raise ValueError(f"not a Xero /Date(…)/ value: {text!r}")
    millis, sign, hours, minutes = match.groups()
    zone: timezone = UTC
    if sign:
        if hours is None or minutes is None:
            raise ValueError(f"a Xero /Date(…)/ offset needs four digits: {text!r}")
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        zone = timezone(-offset if sign == "-" else offset)
    return (_EPOCH + timedelta(milliseconds=int(millis))).astimezone(zone)


def parse_xero_datetime(value: Any) -> Any:
    """A date-time from ``/Date(…)/`` or an ISO string (naive ones are UTC, as Xero's ``…UTCString``)."""
    if isinstance(value, str):
        if value.startswith("/Date("):
            return parse_ms_datetime(value)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return value


def parse_xero_date(value: Any) -> Any:
    """A calendar date from ``/Date(…)/`` (the day at its offset), ``YYYY-MM-DD`` or an ISO date-time."""
    if isinstance(value, str):
        if value.startswith("/Date("):
            return parse_ms_datetime(value).date()
        return date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        return value.date()
    return value


XeroDate = Annotated[date, BeforeValidator(parse_xero_date)]
XeroDateTime = Annotated[datetime, BeforeValidator(parse_xero_datetime)]


def loads(content: bytes | str) -> Any:
    """Decoded JSON with every fractional number as a Decimal, so no cent is lost to a float."""
    return json.loads(content, parse_float=Decimal)


def dumps(value: Any) -> bytes:
    """JSON bytes for a request body: Decimals as exact numbers, dates as ``YYYY-MM-DD``."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, XeroModel):
        return _encode(value.wire())
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite amount: {value}")
        return format(value, "f")
    if isinstance(value, datetime):
        return json.dumps(value.isoformat())
    if isinstance(value, date):
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=False)


# ---------------------------------------------------------------------------------------------
# Models


class ValidationMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    message: str = Field("", alias="Message")


class XeroModel(BaseModel):
    """Base of every record: Xero's field names on the wire, unknown fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    # Wire names of the fields Xero computes; never sent (see the module docstring).
    READ_ONLY: ClassVar[frozenset[str]] = frozenset()

    has_errors: bool | None = Field(None, alias="HasErrors")
    has_validation_errors: bool | None = Field(None, alias="HasValidationErrors")
    status_attribute_string: str | None = Field(None, alias="StatusAttributeString")
    validation_errors: list[ValidationMessage] | None = Field(None, alias="ValidationErrors")
    warnings: list[ValidationMessage] | None = Field(None, alias="Warnings")

    @model_serializer(mode="wrap")
    def _leave_out_computed(
        self, handler: SerializerFunctionWrapHandler, info: SerializationInfo
    ) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if isinstance(info.context, Mapping) and info.context.get("wire"):
            for name in OUTCOME_FIELDS | self.READ_ONLY | set(self.model_extra or ()):
                data.pop(name, None)
        return data

    def wire(self) -> dict[str, Any]:
        """The record as a request body element (see the module docstring)."""
        dumped: dict[str, Any] = self.model_dump(
            mode="python", by_alias=True, exclude_none=True, context={"wire": True}
        )
        return dumped

    def problems(self) -> list[str]:
        """The validation messages Xero attached to this element of a write answer."""
        return [m.message for m in self.validation_errors or [] if m.message]

    def warning_messages(self) -> list[str]:
        return [m.message for m in self.warnings or [] if m.message]

    @property
    def refused(self) -> bool:
        """Whether Xero refused this element (any of the spellings of §1 "Bulk + errors")."""
        return bool(
            self.has_errors
            or self.has_validation_errors
            or (self.status_attribute_string or "").upper() == "ERROR"
            or self.problems()
        )


class XeroAccount(XeroModel):
    READ_ONLY: ClassVar[frozenset[str]] = frozenset(
        {"Class", "SystemAccount", "ReportingCodeName", "HasAttachments", "UpdatedDateUTC", "AddToWatchlist"}
    )

    account_id: str | None = Field(None, alias="AccountID")
    code: str | None = Field(None, alias="Code")
    name: str | None = Field(None, alias="Name")
    type: str | None = Field(None, alias="Type")
    status: str | None = Field(None, alias="Status")
    account_class: str | None = Field(None, alias="Class")
    bank_account_type: str | None = Field(None, alias="BankAccountType")
    currency_code: str | None = Field(None, alias="CurrencyCode")
    tax_type: str | None = Field(None, alias="TaxType")
    enable_payments_to_account: bool | None = Field(None, alias="EnablePaymentsToAccount")
    system_account: str | None = Field(None, alias="SystemAccount")
    updated_date_utc: XeroDateTime | None = Field(None, alias="UpdatedDateUTC")


class XeroContact(XeroModel):
    READ_ONLY: ClassVar[frozenset[str]] = frozenset(
        {"IsCustomer", "IsSupplier", "UpdatedDateUTC", "Website", "Discount", "Balances", "HasAttachments"}
    )

    contact_id: str | None = Field(None, alias="ContactID")
    contact_number: str | None = Field(None, alias="ContactNumber")
    account_number: str | None = Field(None, alias="AccountNumber")
    contact_status: str | None = Field(None, alias="ContactStatus")
    name: str | None = Field(None, alias="Name")
    first_name: str | None = Field(None, alias="FirstName")
    last_name: str | None = Field(None, alias="LastName")
    email_address: str | None = Field(None, alias="EmailAddress")
    tax_number: str | None = Field(None, alias="TaxNumber")
    phones: list[dict[str, Any]] | None = Field(None, alias="Phones")
    addresses: list[dict[str, Any]] | None = Field(None, alias="Addresses")
    default_currency: str | None = Field(None, alias="DefaultCurrency")
    merged_to_contact_id: str | None = Field(None, alias="MergedToContactID")
    is_customer: bool | None = Field(None, alias="IsCustomer")
    is_supplier: bool | None = Field(None, alias="IsSupplier")
    updated_date_utc: XeroDateTime | None = Field(None, alias="UpdatedDateUTC")


class XeroLineItem(XeroModel):
    line_item_id: str | None = Field(None, alias="LineItemID")
    description: str | None = Field(None, alias="Description")
    quantity: Decimal | None = Field(None, alias="Quantity")
    unit_amount: Decimal | None = Field(None, alias="UnitAmount")
    item_code: str | None = Field(None, alias="ItemCode")
    account_code: str | None = Field(None, alias="AccountCode")
    account_id: str | None = Field(None, alias="AccountID")
    tax_type: str | None = Field(None, alias="TaxType")
    tax_amount: Decimal | None = Field(None, alias="TaxAmount")
    line_amount: Decimal | None = Field(None, alias="LineAmount")
    discount_rate: Decimal | None = Field(None, alias="DiscountRate")
    tracking: list[dict[str, Any]] | None = Field(None, alias="Tracking")


class XeroAllocation(XeroModel):
    READ_ONLY: ClassVar[frozenset[str]] = frozenset({"IsDeleted"})

    allocation_id: str | None = Field(None, alias="AllocationID")
    invoice: XeroInvoice | None = Field(None, alias="Invoice")
    credit_note: XeroCreditNote | None = Field(None, alias="CreditNote")
    amount: Decimal | None = Field(None, alias="Amount")
    date: XeroDate | None = Field(None, alias="Date")
    is_deleted: bool | None = Field(None, alias="IsDeleted")


class XeroPayment(XeroModel):
    READ_ONLY: ClassVar[frozenset[str]] = frozenset({"PaymentType", "UpdatedDateUTC", "UpdatedDateUTCString"})

    payment_id: str | None = Field(None, alias="PaymentID")
    invoice: XeroInvoice | None = Field(None, alias="Invoice")
    credit_note: XeroCreditNote | None = Field(None, alias="CreditNote")
    account: XeroAccount | None = Field(None, alias="Account")
    date: XeroDate | None = Field(None, alias="Date")
    amount: Decimal | None = Field(None, alias="Amount")
    bank_amount: Decimal | None = Field(None, alias="BankAmount")
    currency_rate: Decimal | None = Field(None, alias="CurrencyRate")
    reference: str | None = Field(None, alias="Reference")
    is_reconciled: bool | None = Field(None, alias="IsReconciled")
    status: str | None = Field(None, alias="Status")
    payment_type: str | None = Field(None, alias="PaymentType")
    updated_date_utc: XeroDateTime | None = Field(None, alias="UpdatedDateUTC")


_DOCUMENT_TOTALS = frozenset({"SubTotal", "TotalTax", "Total", "CISDeduction", "CISRate"})


class XeroInvoice(XeroModel):
    READ_ONLY: ClassVar[frozenset[str]] = _DOCUMENT_TOTALS | frozenset(
        {
            "TotalDiscount",
            "HasAttachments",
            "IsDiscounted",
            "Payments",
            "Prepayments",
            "Overpayments",
            "AmountDue",
            "AmountPaid",
            "FullyPaidOnDate",
            "AmountCredited",
            "UpdatedDateUTC",
            "UpdatedDateUTCString",
            "CreditNotes",
        }
    )

    invoice_id: str | None = Field(None, alias="InvoiceID")
    type: str | None = Field(None, alias="Type")
    contact: XeroContact | None = Field(None, alias="Contact")
    line_items: list[XeroLineItem] | None = Field(None, alias="LineItems")
    date: XeroDate | None = Field(None, alias="Date")
    due_date: XeroDate | None = Field(None, alias="DueDate")
    line_amount_types: str | None = Field(None, alias="LineAmountTypes")
    invoice_number: str | None = Field(None, alias="InvoiceNumber")
    reference: str | None = Field(None, alias="Reference")
    url: str | None = Field(None, alias="Url")
    currency_code: str | None = Field(None, alias="CurrencyCode")
    currency_rate: Decimal | None = Field(None, alias="CurrencyRate")
    status: str | None = Field(None, alias="Status")
    sub_total: Decimal | None = Field(None, alias="SubTotal")
    total_tax: Decimal | None = Field(None, alias="TotalTax")
    total: Decimal | None = Field(None, alias="Total")
    amount_due: Decimal | None = Field(None, alias="AmountDue")
    amount_paid: Decimal | None = Field(None, alias="AmountPaid")
    amount_credited: Decimal | None = Field(None, alias="AmountCredited")
    fully_paid_on_date: XeroDate | None = Field(None, alias="FullyPaidOnDate")
    payments: list[XeroPayment] | None = Field(None, alias="Payments")
    updated_date_utc: XeroDateTime | None = Field(None, alias="UpdatedDateUTC")


class XeroCreditNote(XeroModel):
    # SubTotal/TotalTax/Total are not marked readOnly on credit notes in the spec, but Xero computes
    # them from the lines all the same; RemainingCredit and Allocations change only through allocations.
    READ_ONLY: ClassVar[frozenset[str]] = _DOCUMENT_TOTALS | frozenset(
        {"UpdatedDateUTC", "UpdatedDateUTCString", "SentToContact", "FullyPaidOnDate", "RemainingCredit"}
        | {"Allocations", "AppliedAmount", "Payments"}
    )

    credit_note_id: str | None = Field(None, alias="CreditNoteID")
    type: str | None = Field(None, alias="Type")
    contact: XeroContact | None = Field(None, alias="Contact")
    date: XeroDate | None = Field(None, alias="Date")
    due_date: XeroDate | None = Field(None, alias="DueDate")
    status: str | None = Field(None, alias="Status")
    line_amount_types: str | None = Field(None, alias="LineAmountTypes")
    line_items: list[XeroLineItem] | None = Field(None, alias="LineItems")
    credit_note_number: str | None = Field(None, alias="CreditNoteNumber")
    reference: str | None = Field(None, alias="Reference")
    currency_code: str | None = Field(None, alias="CurrencyCode")
    sub_total: Decimal | None = Field(None, alias="SubTotal")
    total_tax: Decimal | None = Field(None, alias="TotalTax")
    total: Decimal | None = Field(None, alias="Total")
    remaining_credit: Decimal | None = Field(None, alias="RemainingCredit")
    allocations: list[XeroAllocation] | None = Field(None, alias="Allocations")
    updated_date_utc: XeroDateTime | None = Field(None, alias="UpdatedDateUTC")


class XeroBankTransaction(XeroModel):
    READ_ONLY: ClassVar[frozenset[str]] = frozenset(
        {"SubTotal", "TotalTax", "Total", "PrepaymentID", "OverpaymentID", "UpdatedDateUTC", "HasAttachments"}
    )

    bank_transaction_id: str | None = Field(None, alias="BankTransactionID")
    type: str | None = Field(None, alias="Type")
    contact: XeroContact | None = Field(None, alias="Contact")
    line_items: list[XeroLineItem] | None = Field(None, alias="LineItems")
    bank_account: XeroAccount | None = Field(None, alias="BankAccount")
    is_reconciled: bool | None = Field(None, alias="IsReconciled")
    date: XeroDate | None = Field(None, alias="Date")
    reference: str | None = Field(None, alias="Reference")
    url: str | None = Field(None, alias="Url")
    currency_code: str | None = Field(None, alias="CurrencyCode")
    status: str | None = Field(None, alias="Status")
    line_amount_types: str | None = Field(None, alias="LineAmountTypes")
    sub_total: Decimal | None = Field(None, alias="SubTotal")
    total_tax: Decimal | None = Field(None, alias="TotalTax")
    total: Decimal | None = Field(None, alias="Total")
    updated_date_utc: XeroDateTime | None = Field(None, alias="UpdatedDateUTC")


class XeroTaxRate(XeroModel):
    READ_ONLY: ClassVar[frozenset[str]] = frozenset({"DisplayTaxRate", "EffectiveRate"})

    name: str | None = Field(None, alias="Name")
    tax_type: str | None = Field(None, alias="TaxType")
    status: str | None = Field(None, alias="Status")
    report_tax_type: str | None = Field(None, alias="ReportTaxType")
    effective_rate: Decimal | None = Field(None, alias="EffectiveRate")
    display_tax_rate: Decimal | None = Field(None, alias="DisplayTaxRate")
    tax_components: list[dict[str, Any]] | None = Field(None, alias="TaxComponents")


class XeroOrganisation(XeroModel):
    organisation_id: str | None = Field(None, alias="OrganisationID")
    name: str | None = Field(None, alias="Name")
    legal_name: str | None = Field(None, alias="LegalName")
    short_code: str | None = Field(None, alias="ShortCode")
    base_currency: str | None = Field(None, alias="BaseCurrency")
    country_code: str | None = Field(None, alias="CountryCode")
    timezone: str | None = Field(None, alias="Timezone")
    version: str | None = Field(None, alias="Version")
    plan: str | None = Field(None, alias="Class")
    edition: str | None = Field(None, alias="Edition")
    is_demo_company: bool | None = Field(None, alias="IsDemoCompany")
    default_sales_tax: str | None = Field(None, alias="DefaultSalesTax")
    period_lock_date: XeroDate | None = Field(None, alias="PeriodLockDate")
    end_of_year_lock_date: XeroDate | None = Field(None, alias="EndOfYearLockDate")


for _model in (XeroAllocation, XeroPayment, XeroInvoice, XeroCreditNote):
    _model.model_rebuild()


__all__ = [
    "OUTCOME_FIELDS",
    "ValidationMessage",
    "XeroAccount",
    "XeroAllocation",
    "XeroBankTransaction",
    "XeroContact",
    "XeroCreditNote",
    "XeroDate",
    "XeroDateTime",
    "XeroInvoice",
    "XeroLineItem",
    "XeroModel",
    "XeroOrganisation",
    "XeroPayment",
    "XeroTaxRate",
    "dumps",
    "loads",
    "parse_ms_datetime",
    "parse_xero_date",
    "parse_xero_datetime",
]
