"""What the QBO emulator knows about each entity: its rules and its computed fields.

Every entity is an :class:`EntityType`. The emulator (``qbo.py``) owns storage, ids, SyncTokens
and HTTP; an entity type turns a candidate record into a valid stored one
(:meth:`EntityType.complete`) or refuses it with a :class:`~ledgerlink.sandbox.qbo_schema.QboFault`,
and decorates a stored record for output (:meth:`EntityType.render`). Adding Payment, CreditMemo,
JournalEntry, Deposit, Purchase or TimeActivity means one more subclass (and its shape in
``qbo_schema.py``) registered in :data:`ENTITY_TYPES`; a sales form also joins the DocNumber space by
setting ``doc_number_label``.

Assumptions (where the reference is silent, the stricter reading is taken):

- Duplicate names (6240) compare trimmed and case-insensitively; inactive records keep their name.
  Items and accounts are unique within their own list.
- Names with ``:``, tab or newline, and emails without ``@`` and ``.``, are 6000 Business Validation
  Errors (the reference documents the rule, not its code). Account names also refuse ``"``.
- Only inactive *customers* are rendered with `` (deleted)`` appended to DisplayName and
  FullyQualifiedName (the one recorded example, §1.5); the stored name stays bare, and a client
  that sends the suffixed name back in an update has it stripped.
- Limits of §2.1 apply to vendors and employees as well as customers.
- Invoice: every SalesItemLineDetail needs an ItemRef; line amounts are rounded half-up to the cent;
  a negative invoice total is refused (6000); ``DueDate`` defaults to ``TxnDate``; line ``TaxCodeRef``
  defaults to ``NON`` and must be ``TAX`` or ``NON`` in US companies (6100); no sales tax is
  computed. Client-sent SubTotalLineDetail lines are dropped and one computed subtotal line is
  appended. Without custom transaction numbers, DocNumber continues from the highest numeric one
  (from 1001). A TxnDate on or before ``BookCloseDate`` is 6210.
- Invoice void zeroes every line ``Amount`` (and ``Qty`` where given), ``TotalAmt``, ``Balance`` and
  sets ``PrivateNote`` to "Voided".
- Item: ``Type`` is required; Service and NonInventory items need an ``IncomeAccountRef`` (2020),
  which must name an existing account (2500) that is active (610).
- Account: ``Classification`` is derived from ``AccountType``; an ``AccountSubType`` sent alone must
  be one the emulator can map to a type.
- A customer's ``Balance`` is its opening balance plus its invoices' balances; a customer with a
  non-zero balance cannot be made inactive (6000 "Delete List Has Balance Error").
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, ClassVar, Protocol, TypeVar

from ledgerlink.sandbox.qbo_schema import (
    ACCOUNT_SHAPE,
    COMPANY_INFO_SHAPE,
    CUSTOMER_SHAPE,
    EMPLOYEE_SHAPE,
    INVOICE_SHAPE,
    ITEM_SHAPE,
    PREFERENCES_SHAPE,
    VENDOR_SHAPE,
    QboFault,
    Shape,
    business_validation,
    duplicate_name,
    object_not_found,
    required_parameter,
    string_too_long,
    unsupported_operation,
    unsupported_property,
)

T = TypeVar("T")
CENT = Decimal("0.01")
INACTIVE_SUFFIX = " (deleted)"
NAME_LIST_ENTITIES = ("Customer", "Vendor", "Employee")
USD = {"value": "USD", "name": "United States Dollar"}


# ---------------------------------------------------------------------------------------------
# What an entity type may ask of the company it is written into


class Books(Protocol):
    """The company's books as an entity type sees them during one write."""

    country: str

    def visible(self, entity: str, record_id: str) -> dict[str, Any] | None:
        """The stored record, or None if it does not exist or this request may not see it."""
        ...

    def rows(self, entity: str) -> Iterable[dict[str, Any]]:
        """Every stored record of ``entity`` (active and inactive)."""
        ...

    def preference(self, section: str, name: str) -> Any: ...

    def today(self) -> date: ...

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, remembered until the books next change (for totals over many rows)."""
        ...


# ---------------------------------------------------------------------------------------------
# Small validators


def as_amount(value: Any, name: str) -> Decimal:
    """A JSON number (or numeric string) as Decimal, else 2010."""
    if isinstance(value, bool) or value is None:
        raise unsupported_property(f"{name} must be a number")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise unsupported_property(f"{name} must be a number, not {value!r}") from None


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def check_length(record: Mapping[str, Any], name: str, limit: int, *, label: str | None = None) -> None:
    value = record.get(name)
    if isinstance(value, str) and len(value) > limit:
        raise string_too_long(label or name, limit, len(value))


def check_date(record: Mapping[str, Any], name: str) -> date | None:
    value = record.get(name)
    if value is None:
        return None
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise unsupported_property(f"{name} must be a date (yyyy-MM-dd), not {value!r}") from None


def reference_id(record: Mapping[str, Any], name: str) -> str | None:
    ref = record.get(name)
    if not isinstance(ref, Mapping) or ref.get("value") in (None, ""):
        return None
    return str(ref["value"])


def resolve_active(books: Books, entity: str, ref_id: str) -> dict[str, Any]:
    """The referenced record when it exists, is visible and is active; else 610."""
    target = books.visible(entity, ref_id)
    if target is None or target.get("Active", True) is not True:
        raise object_not_found()
    return target


def check_books_open(books: Books, txn_date: date) -> None:
    """6210 when the transaction is dated on or before the company's BookCloseDate."""
    closed = books.preference("AccountingInfoPrefs", "BookCloseDate")
    if closed and txn_date <= date.fromisoformat(str(closed)):
        raise QboFault(
            "6210",
            "Account Period Closed, Cannot Update Through Services API",
            "The account period has closed and the books cannot be updated through the QBO Services API. "
            "Please use the QBO website to make these changes.",
        )


_FORBIDDEN_IN_NAMES = (":", "\t", "\n")


def check_name_characters(record: Mapping[str, Any], names: Iterable[str]) -> None:
    for name in names:
        value = record.get(name)
        if isinstance(value, str) and any(c in value for c in _FORBIDDEN_IN_NAMES):
            raise business_validation(f"{name} cannot contain a colon (:), a tab or a newline.")


# ---------------------------------------------------------------------------------------------
# Entity types


@dataclass(frozen=True)
class EntityType:
    """How one entity is validated, completed and rendered. Subclasses override the hooks."""

    name: str
    shape: Shape
    #: server-managed properties a client may send but never sets
    read_only: frozenset[str] = field(default_factory=frozenset)
    #: name lists: never deleted, queries return active rows unless WHERE mentions Active
    name_list: bool = False
    #: entities sharing an id sequence
    id_family: str = ""
    deletable: bool = False
    voidable: bool = False
    #: sales forms share one DocNumber space (6140); the label is how the fault names the type
    doc_number_label: str | None = None
    writable_by_api: bool = True

    COMMON_READ_ONLY: ClassVar[frozenset[str]] = frozenset(
        {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}
    )

    @property
    def family(self) -> str:
        return self.id_family or self.name

    def server_managed(self, key: str) -> bool:
        return key in self.COMMON_READ_ONLY or key in self.read_only

    def queryable(self, prop: str) -> bool:
        """Whether ``prop`` may be used in WHERE/ORDERBY: scalar and reference properties, MetaData times."""
        lowered = prop.lower()
        if lowered in ("metadata.createtime", "metadata.lastupdatedtime"):
            return True
        match = next((p for p in self.shape.properties if p.lower() == lowered), None)
        return (
            match is not None
            and match not in ("domain", "sparse", "status")
            and (self.shape.scalar_or_reference(match))
        )

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        """Validate ``record`` (the candidate stored record) in place and fill computed fields."""

    def render(self, books: Books, record: Mapping[str, Any]) -> dict[str, Any]:
        """The record as the API returns it (a copy)."""
        return copy.deepcopy(dict(record))

    def void(self, record: dict[str, Any]) -> None:
        raise unsupported_operation("Void")


# -- Customer, Vendor, Employee ------------------------------------------------------------


_NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")
_PERSON_LIMITS = {
    "DisplayName": 500,
    "Title": 16,
    "GivenName": 100,
    "MiddleName": 100,
    "FamilyName": 100,
    "Suffix": 16,
    "CompanyName": 100,
    "PrintOnCheckName": 110,
    "Notes": 2000,
}
_ADDRESS_LIMITS = {
    "Line1": 500,
    "Line2": 500,
    "Line3": 500,
    "Line4": 500,
    "Line5": 500,
    "City": 255,
    "Country": 255,
    "CountrySubDivisionCode": 255,
    "PostalCode": 30,
}
_PHONES = ("PrimaryPhone", "Mobile", "AlternatePhone", "Fax")


def bare_name(value: str) -> str:
    """A name without the " (deleted)" suffix QBO shows on inactive records."""
    return value[: -len(INACTIVE_SUFFIX)] if value.endswith(INACTIVE_SUFFIX) else value


@dataclass(frozen=True)
class NameListEntity(EntityType):
    """Customer, Vendor and Employee: DisplayName unique across all three lists (6240)."""

    name_list: bool = True
    id_family: str = "name"
    deleted_suffix: bool = False

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        for key in ("DisplayName", *_NAME_PARTS):
            if isinstance(record.get(key), str):
                record[key] = record[key].strip() or None
                if record[key] is None:
                    del record[key]
        if previous is not None and previous.get("Active") is False and "DisplayName" in record:
            record["DisplayName"] = bare_name(record["DisplayName"])
        if "DisplayName" not in record:
            parts = [record[p] for p in _NAME_PARTS if isinstance(record.get(p), str)]
            if not parts:
                raise QboFault(
                    "6080",
                    "No Name Provided",
                    "Title, GivenName, MiddleName, FamilyName, DisplayName, Suffix - "
                    "one of these must be non-empty",
                )
            record["DisplayName"] = " ".join(parts)
        check_name_characters(record, ("DisplayName", "PrintOnCheckName", *_NAME_PARTS))
        for name, limit in _PERSON_LIMITS.items():
            check_length(record, name, limit)
        self._check_contact_details(record)
        self._check_unique(books, record, record_id)
        record.setdefault("PrintOnCheckName", record["DisplayName"])
        record.setdefault("Active", True)
        if not isinstance(record["Active"], bool):
            raise unsupported_property("Active must be true or false")

    def _check_contact_details(self, record: Mapping[str, Any]) -> None:
        email = record.get("PrimaryEmailAddr")
        if isinstance(email, Mapping) and email.get("Address") is not None:
            address = str(email["Address"])
            check_length(email, "Address", 100, label="PrimaryEmailAddr.Address")
            if "@" not in address or "." not in address:
                raise business_validation(
                    "Invalid Email Address format. The email address must contain @ and ."
                )
        for phone in _PHONES:
            if isinstance(record.get(phone), Mapping):
                check_length(record[phone], "FreeFormNumber", 30, label=f"{phone}.FreeFormNumber")
        if isinstance(record.get("WebAddr"), Mapping):
            check_length(record["WebAddr"], "URI", 1000, label="WebAddr.URI")
        for address_name in ("BillAddr", "ShipAddr", "PrimaryAddr"):
            address_value = record.get(address_name)
            if isinstance(address_value, Mapping):
                for part, limit in _ADDRESS_LIMITS.items():
                    check_length(address_value, part, limit, label=f"{address_name}.{part}")
                lines = sum(len(str(address_value.get(f"Line{n}") or "")) for n in range(1, 6))
                if lines > 2000:
                    raise string_too_long(f"{address_name}.Line", 2000, lines)

    def _check_unique(self, books: Books, record: Mapping[str, Any], record_id: str | None) -> None:
        wanted = record["DisplayName"].strip().casefold()
        for entity in NAME_LIST_ENTITIES:
            for other in books.rows(entity):
                if entity == self.name and other.get("Id") == record_id:
                    continue
                if str(other.get("DisplayName", "")).strip().casefold() == wanted:
                    raise duplicate_name(
                        "Another customer, vendor or employee is already using this name. "
                        "Please use a different name."
                    )

    def render(self, books: Books, record: Mapping[str, Any]) -> dict[str, Any]:
        out = super().render(books, record)
        if self.deleted_suffix and out.get("Active") is False:
            out["DisplayName"] = f"{out['DisplayName']}{INACTIVE_SUFFIX}"
            if "FullyQualifiedName" in out:
                out["FullyQualifiedName"] = f"{out['FullyQualifiedName']}{INACTIVE_SUFFIX}"
        return out


@dataclass(frozen=True)
class CustomerType(NameListEntity):
    deleted_suffix: bool = True

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        super().complete(books, record, record_id=record_id, previous=previous)
        record["FullyQualifiedName"] = record["DisplayName"]
        if previous is None:
            record["OpeningBalance"] = cents(as_amount(record.pop("Balance", 0), "Balance"))
        else:
            record.pop("Balance", None)
            record["OpeningBalance"] = previous.get("OpeningBalance", Decimal(0))
        record.setdefault("Taxable", False)
        record.setdefault("Job", False)
        record.setdefault("BillWithParent", False)
        record.setdefault("PreferredDeliveryMethod", "Print")
        record.setdefault("CurrencyRef", dict(USD))
        deactivating = previous is not None and previous.get("Active") is True and record["Active"] is False
        if deactivating and record_id is not None and _customer_balance(books, record_id, record) != 0:
            raise business_validation(
                "The balance on this customer is not zero; it cannot be made inactive.",
                message="Delete List Has Balance Error",
            )

    def render(self, books: Books, record: Mapping[str, Any]) -> dict[str, Any]:
        out = super().render(books, record)
        opening = out.pop("OpeningBalance", Decimal(0))
        balance = cents(opening + _open_invoice_total(books, str(record.get("Id"))))
        out["Balance"] = balance
        out["BalanceWithJobs"] = balance
        return out


def _open_invoice_total(books: Books, customer_id: str) -> Decimal:
    return books.memo("open invoice totals", lambda: _open_invoice_totals(books)).get(customer_id, Decimal(0))


def _open_invoice_totals(books: Books) -> dict[str, Decimal]:
    """Each customer's open invoice balance, in one pass over the invoices."""
    totals: dict[str, Decimal] = {}
    for invoice in books.rows("Invoice"):
        customer = reference_id(invoice, "CustomerRef")
        if customer is not None:
            totals[customer] = totals.get(customer, Decimal(0)) + Decimal(invoice.get("Balance", 0))
    return totals


def _customer_balance(books: Books, customer_id: str, record: Mapping[str, Any]) -> Decimal:
    return Decimal(record.get("OpeningBalance", 0)) + _open_invoice_total(books, customer_id)


@dataclass(frozen=True)
class VendorType(NameListEntity):
    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        super().complete(books, record, record_id=record_id, previous=previous)
        record.setdefault("Vendor1099", False)
        record.setdefault("CurrencyRef", dict(USD))
        record["Balance"] = previous.get("Balance", Decimal(0)) if previous else Decimal(0)


@dataclass(frozen=True)
class EmployeeType(NameListEntity):
    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        super().complete(books, record, record_id=record_id, previous=previous)
        record.setdefault("BillableTime", False)
        for name in ("HiredDate", "ReleasedDate", "BirthDate"):
            check_date(record, name)


# -- Account and Item ------------------------------------------------------------------------


ACCOUNT_CLASSIFICATION = {
    "Bank": "Asset",
    "Accounts Receivable": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Other Current Liability": "Liability",
    "Long Term Liability": "Liability",
    "Equity": "Equity",
    "Income": "Revenue",
    "Other Income": "Revenue",
    "Cost of Goods Sold": "Expense",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Non-Posting": "Asset",
}
# Sub-types the emulator can map back to a type when AccountType is omitted.
ACCOUNT_SUBTYPES = {
    "CashOnHand": "Bank",
    "Checking": "Bank",
    "MoneyMarket": "Bank",
    "RentsHeldInTrust": "Bank",
    "Savings": "Bank",
    "TrustAccounts": "Bank",
    "AccountsReceivable": "Accounts Receivable",
    "UndepositedFunds": "Other Current Asset",
    "OtherCurrentAssets": "Other Current Asset",
    "AccountsPayable": "Accounts Payable",
    "CreditCard": "Credit Card",
    "TrustAccountsLiabilities": "Other Current Liability",
    "SalesTaxPayable": "Other Current Liability",
    "OtherCurrentLiabilities": "Other Current Liability",
    "ServiceFeeIncome": "Income",
    "OtherPrimaryIncome": "Income",
    "SalesOfProductIncome": "Income",
    "DiscountsRefundsGiven": "Income",
    "OtherMiscellaneousIncome": "Other Income",
    "OpeningBalanceEquity": "Equity",
    "RetainedEarnings": "Equity",
    "OtherMiscellaneousServiceCost": "Expense",
    "LegalProfessionalFees": "Expense",
}


def _require_name(record: dict[str, Any]) -> None:
    """Accounts and items need a ``Name`` of 1–100 characters (surrounding blanks are dropped)."""
    name = record.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise required_parameter("Name")
    record["Name"] = name.strip()
    check_length(record, "Name", 100)


@dataclass(frozen=True)
class AccountType(EntityType):
    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        _require_name(record)
        check_length(record, "Description", 100)
        check_length(record, "AcctNum", 20)
        if any(c in record["Name"] for c in (":", '"')):
            raise business_validation('Account Name cannot contain a colon (:) or a double quote (").')
        account_type, sub_type = record.get("AccountType"), record.get("AccountSubType")
        if account_type is None and sub_type is None:
            raise QboFault(
                "6010",
                "Invalid Account.AccountType && Account.SubType",
                "Either an Account.AccountType or an Account.AccountSubType must be specified",
            )
        if account_type is None:
            if sub_type not in ACCOUNT_SUBTYPES:
                raise _invalid_enumeration("AccountSubType", sub_type)
            account_type = record["AccountType"] = ACCOUNT_SUBTYPES[sub_type]
        if account_type not in ACCOUNT_CLASSIFICATION:
            raise _invalid_enumeration("AccountType", account_type)
        record["Classification"] = ACCOUNT_CLASSIFICATION[account_type]
        wanted = record["Name"].casefold()
        for other in books.rows("Account"):
            if other.get("Id") != record_id and str(other.get("Name", "")).casefold() == wanted:
                raise duplicate_name(
                    "Another account is already using this name. Please use a different name."
                )
        record["FullyQualifiedName"] = record["Name"]
        record.setdefault("SubAccount", False)
        record.setdefault("Active", True)
        record.setdefault("CurrencyRef", dict(USD))
        record["CurrentBalance"] = previous.get("CurrentBalance", Decimal(0)) if previous else Decimal(0)
        record["CurrentBalanceWithSubAccounts"] = record["CurrentBalance"]


def _invalid_enumeration(name: str, value: Any) -> QboFault:
    return QboFault(
        "2170", "Invalid Enumeration", f"Invalid Enumeration : {value} is not valid for {name}", element=name
    )


ITEM_TYPES = ("Service", "NonInventory", "Inventory", "Category", "Group")


@dataclass(frozen=True)
class ItemType(EntityType):
    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        _require_name(record)
        check_length(record, "Sku", 100)
        check_length(record, "Description", 4000)
        check_length(record, "PurchaseDesc", 4000)
        check_name_characters(record, ("Name",))
        item_type = record.get("Type")
        if item_type is None:
            raise required_parameter("Type")
        if item_type not in ITEM_TYPES:
            raise _invalid_enumeration("Type", item_type)
        income = reference_id(record, "IncomeAccountRef")
        if item_type in ("Service", "NonInventory") and income is None:
            raise required_parameter("IncomeAccountRef")
        if income is not None:
            account = books.visible("Account", income)
            if account is None:
                raise QboFault(
                    "2500",
                    "Invalid Reference Id",
                    f"Invalid Reference Id : Accounts element id {income} not found",
                    element="IncomeAccountRef",
                )
            if account.get("Active", True) is not True:
                raise object_not_found()
            record["IncomeAccountRef"] = {"value": income, "name": account["Name"]}
        wanted = record["Name"].casefold()
        for other in books.rows("Item"):
            if other.get("Id") != record_id and str(other.get("Name", "")).casefold() == wanted:
                raise duplicate_name(
                    "Another product or service is already using this name. Please use a different name."
                )
        for amount in ("UnitPrice", "PurchaseCost"):
            record[amount] = as_amount(record.get(amount, 0), amount)
        record["FullyQualifiedName"] = record["Name"]
        record.setdefault("Active", True)
        record.setdefault("Taxable", False)
        record.setdefault("SalesTaxIncluded", False)
        record.setdefault("TrackQtyOnHand", False)


# -- Invoice -----------------------------------------------------------------------------------


_LINE_DETAIL_KEYS = {
    "SalesItemLineDetail": "SalesItemLineDetail",
    "DiscountLineDetail": "DiscountLineDetail",
    "SubTotalLineDetail": "SubTotalLineDetail",
    "DescriptionOnly": "DescriptionLineDetail",
}
US_LINE_TAX_CODES = ("TAX", "NON")


@dataclass(frozen=True)
class InvoiceType(EntityType):
    id_family: str = "txn"
    deletable: bool = True
    voidable: bool = True
    doc_number_label: str | None = "Invoice"

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        lines = record.get("Line")
        if not lines:
            raise required_parameter("Line")
        customer_id = reference_id(record, "CustomerRef")
        if customer_id is None:
            raise required_parameter("CustomerRef")
        customer = resolve_active(books, "Customer", customer_id)
        record["CustomerRef"] = {"value": customer_id, "name": customer["DisplayName"]}
        check_length(record, "PrivateNote", 4000)
        memo = record.get("CustomerMemo")
        if isinstance(memo, Mapping):
            check_length(memo, "value", 1000, label="CustomerMemo")
        txn_date = check_date(record, "TxnDate") or books.today()
        record["TxnDate"] = txn_date.isoformat()
        check_books_open(books, txn_date)
        due = check_date(record, "DueDate") or txn_date
        record["DueDate"] = due.isoformat()
        self._assign_doc_number(books, record, record_id)
        record["Line"], subtotal, discount = self._complete_lines(books, lines, previous)
        total = subtotal - discount
        if total < 0:
            raise business_validation("The transaction total cannot be negative.")
        record["TotalAmt"] = cents(total)
        # No payments or credits are applied yet, so the whole total is open.
        record["Balance"] = record["TotalAmt"]
        record["TxnTaxDetail"] = {"TotalTax": Decimal(0)}
        record.setdefault("CurrencyRef", dict(USD))
        record.setdefault("LinkedTxn", [])
        record.setdefault("PrintStatus", "NotSet")
        record.setdefault("EmailStatus", "NotSet")
        record.setdefault("ApplyTaxAfterDiscount", False)

    def _assign_doc_number(self, books: Books, record: dict[str, Any], record_id: str | None) -> None:
        doc_number = record.get("DocNumber")
        custom_numbers = books.preference("SalesFormsPrefs", "CustomTxnNumbers") is True
        if doc_number in (None, "") or doc_number == "AUTO_GENERATE":
            record.pop("DocNumber", None)
            if not custom_numbers or doc_number == "AUTO_GENERATE":
                record["DocNumber"] = _next_doc_number(books)
            return
        doc_number = record["DocNumber"] = str(doc_number)
        check_length(record, "DocNumber", 21)
        for entity, label in SALES_FORMS.items():
            for other in books.rows(entity):
                if other.get("DocNumber") == doc_number and not (
                    entity == self.name and other["Id"] == record_id
                ):
                    raise QboFault(
                        "6140",
                        "Duplicate Document Number Error",
                        "Duplicate Document Number Error : You must specify a different number. "
                        f"This number has already been used. DocNumber={doc_number} is assigned to "
                        f"TxnType={label} with TxnId={other['Id']}",
                    )

    def _complete_lines(
        self, books: Books, lines: Any, previous: Mapping[str, Any] | None
    ) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
        previous_ids = {str(line.get("Id")) for line in (previous or {}).get("Line", []) if line.get("Id")}
        next_id = max((int(i) for i in previous_ids if i.isascii() and i.isdigit()), default=0) + 1
        kept: list[dict[str, Any]] = []
        subtotal = Decimal(0)
        discounts: list[dict[str, Any]] = []
        for raw in lines:
            line = dict(raw)
            detail_type = line.get("DetailType")
            if detail_type is None:
                raise required_parameter("Line.DetailType")
            if detail_type not in _LINE_DETAIL_KEYS:
                raise unsupported_property(f"Line.DetailType {detail_type!r} is not a supported line type")
            if detail_type == "SubTotalLineDetail":
                continue  # computed by the service
            check_length(line, "Description", 4000, label="Line.Description")
            if detail_type == "SalesItemLineDetail":
                subtotal += self._complete_sales_line(books, line)
            elif detail_type == "DiscountLineDetail":
                discounts.append(line)
            elif "Amount" in line:
                line["Amount"] = cents(as_amount(line["Amount"], "Line.Amount"))
            line_id = str(line.get("Id", ""))
            if line_id not in previous_ids:
                line["Id"] = str(next_id)
                next_id += 1
            kept.append(line)
        if not any(line["DetailType"] == "SalesItemLineDetail" for line in kept):
            raise required_parameter("Line.SalesItemLineDetail")
        discount_total = Decimal(0)
        for line in discounts:
            discount_total += self._complete_discount_line(line, subtotal)
        kept = [
            {"Id": line.pop("Id"), "LineNum": number, **{k: v for k, v in line.items() if k != "LineNum"}}
            for number, line in enumerate(kept, start=1)
        ]
        kept.append({"Amount": cents(subtotal), "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}})
        return kept, subtotal, discount_total

    def _complete_sales_line(self, books: Books, line: dict[str, Any]) -> Decimal:
        if "Amount" not in line or line["Amount"] is None:
            raise required_parameter("Line.Amount")
        amount = as_amount(line["Amount"], "Line.Amount")
        detail = dict(line.get("SalesItemLineDetail") or {})
        item_id = reference_id(detail, "ItemRef")
        if item_id is None:
            raise required_parameter("Line.SalesItemLineDetail.ItemRef")
        item = resolve_active(books, "Item", item_id)
        detail["ItemRef"] = {"value": item_id, "name": item["Name"]}
        if detail.get("Qty") is not None and detail.get("UnitPrice") is not None:
            qty = as_amount(detail["Qty"], "Qty")
            unit_price = as_amount(detail["UnitPrice"], "UnitPrice")
            if amount != cents(qty * unit_price):
                raise QboFault(
                    "6070",
                    "Amount calculation incorrect in the request",
                    f"Amount is not equal to Qty * UnitPrice. Supplied value:{amount}",
                    element="Line.Amount",
                )
            detail["Qty"], detail["UnitPrice"] = qty, unit_price
        if books.country == "US":
            tax_code = reference_id(detail, "TaxCodeRef") or "NON"
            if tax_code not in US_LINE_TAX_CODES:
                raise QboFault(
                    "6100",
                    "Invalid Line TaxCode in the request",
                    f"Valid Line TaxCodes for US should be TAX or NON. Supplied value:{tax_code}",
                )
            detail["TaxCodeRef"] = {"value": tax_code}
        check_date(detail, "ServiceDate")
        line["SalesItemLineDetail"] = detail
        line["Amount"] = cents(amount)
        return Decimal(line["Amount"])

    def _complete_discount_line(self, line: dict[str, Any], subtotal: Decimal) -> Decimal:
        detail = dict(line.get("DiscountLineDetail") or {})
        if detail.get("PercentBased") is True and detail.get("DiscountPercent") is not None:
            percent = as_amount(detail["DiscountPercent"], "DiscountPercent")
            amount = cents(subtotal * percent / 100)
        elif line.get("Amount") is not None:
            amount = cents(as_amount(line["Amount"], "Line.Amount"))
        else:
            raise QboFault(
                "6090",
                "Discount Line missing required info.",
                "Discount amount or percent should be provided.",
            )
        line["DiscountLineDetail"] = detail
        line["Amount"] = amount
        return amount

    def void(self, record: dict[str, Any]) -> None:
        for line in record.get("Line", []):
            line["Amount"] = Decimal(0)
            detail = line.get("SalesItemLineDetail")
            if isinstance(detail, dict) and "Qty" in detail:
                detail["Qty"] = Decimal(0)
        record["TotalAmt"] = Decimal(0)
        record["Balance"] = Decimal(0)
        record["TxnTaxDetail"] = {"TotalTax": Decimal(0)}
        record["PrivateNote"] = "Voided"


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _next_doc_number(books: Books) -> str:
    """Continue the company's sales-form numbering: one past the highest numeric DocNumber (from 1001)."""
    numbers = [
        int(str(r["DocNumber"]))
        for entity in SALES_FORMS
        for r in books.rows(entity)
        if _is_digits(str(r.get("DocNumber", "")))
    ]
    return str(max(numbers, default=1000) + 1)


# -- Read-only company documents ---------------------------------------------------------------


@dataclass(frozen=True)
class CompanyDocumentType(EntityType):
    writable_by_api: bool = False


# ---------------------------------------------------------------------------------------------
# Registry

ENTITY_TYPES: dict[str, EntityType] = {
    t.name: t
    for t in (
        CustomerType(
            "Customer",
            CUSTOMER_SHAPE,
            read_only=frozenset({"FullyQualifiedName", "Level", "IsProject", "BalanceWithJobs"}),
        ),
        VendorType("Vendor", VENDOR_SHAPE, read_only=frozenset({"Balance"})),
        EmployeeType("Employee", EMPLOYEE_SHAPE),
        ItemType("Item", ITEM_SHAPE, read_only=frozenset({"FullyQualifiedName", "Level"}), name_list=True),
        AccountType(
            "Account",
            ACCOUNT_SHAPE,
            read_only=frozenset(
                {"FullyQualifiedName", "Classification", "CurrentBalance", "CurrentBalanceWithSubAccounts"}
            ),
            name_list=True,
        ),
        InvoiceType(
            "Invoice",
            INVOICE_SHAPE,
            read_only=frozenset(
                {"TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "LinkedTxn", "InvoiceLink"}
            ),
        ),
        CompanyDocumentType("CompanyInfo", COMPANY_INFO_SHAPE),
        CompanyDocumentType("Preferences", PREFERENCES_SHAPE),
    )
}

# Sales forms sharing the DocNumber space, with the label a 6140 fault uses for each.
SALES_FORMS: dict[str, str] = {
    name: t.doc_number_label for name, t in ENTITY_TYPES.items() if t.doc_number_label is not None
}


def entity_type(name: str) -> EntityType | None:
    """The entity type for a name in any letter case (paths use lower case, queries any case)."""
    lowered = name.lower()
    return next((t for key, t in ENTITY_TYPES.items() if key.lower() == lowered), None)
