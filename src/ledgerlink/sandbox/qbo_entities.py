"""What the QBO emulator knows about each entity: its rules and its computed fields.

Every entity is an :class:`EntityType`. The emulator (``qbo.py``) owns storage, ids, SyncTokens
and HTTP; an entity type turns a candidate record into a valid stored one
(:meth:`EntityType.complete`) or refuses it with a :class:`~ledgerlink.sandbox.qbo_schema.QboFault`,
and decorates a stored record for output (:meth:`EntityType.render`). This module holds the base
class, the lists (Customer, Vendor, Employee, Item, TaxRate, TaxCode), the company documents
(with their defaults) and the receivables ledger (what payments apply to which sales form). The
sales transactions (Invoice, CreditMemo, Payment) live in :mod:`ledgerlink.sandbox.qbo_sales`,
which holds the registry of every type, ``ENTITY_TYPES``; accounts and the transactions that only
move money between them (JournalEntry, Purchase) in :mod:`ledgerlink.sandbox.qbo_banking`.
Adding Deposit or TimeActivity means one more subclass (and its shape in ``qbo_schema.py``)
registered there; a sales form also joins the DocNumber space by setting ``doc_number_label``.

Assumptions (where the reference is silent, the stricter reading is taken):

- Duplicate names (6240) compare trimmed and case-insensitively; inactive records keep their name.
  Items, accounts, tax rates and tax codes are unique within their own list.
- Names with ``:``, tab or newline, and emails without ``@`` and ``.``, are 6000 Business Validation
  Errors (the reference documents the rule, not its code).
- Only inactive *customers* are rendered with `` (deleted)`` appended to DisplayName and
  FullyQualifiedName (the one recorded example, §1.5); the stored name stays bare, and a client
  that sends the suffixed name back in an update has it stripped.
- Limits of §2.1 apply to vendors and employees as well as customers.
- Item: ``Type`` is required; Service and NonInventory items need an ``IncomeAccountRef`` (2020),
  which must name an existing account (2500) that is active (610).
- A customer's ``Balance`` is its opening balance plus its invoices' open balances, less the
  unapplied part of its payments and the remaining credit of its credit memos; a customer with a
  non-zero balance cannot be made inactive (6000 "Delete List Has Balance Error").
- Records take the company's home currency (``Preferences.CurrencyPrefs.HomeCurrency``) when they
  name none.
- TaxRate and TaxCode are read-only through the API (the reference creates them through the tax
  service, which the emulator does not serve); tests seed them with ``add_tax_rate`` /
  ``add_tax_code``. A rate's ``AgencyRef`` is the sandbox's one tax agency, ``{"value": "1"}``. Like
  other lists, queries return active tax rates and codes unless WHERE mentions ``Active``.
- Change data capture is refused for TaxCode and TaxRate (§3.2) and for the company documents,
  which the reference never lists among CDC entities.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, TypeVar

from ledgerlink.sandbox.qbo_schema import (
    QboFault,
    Shape,
    business_validation,
    duplicate_name,
    invalid_enumeration,
    invalid_reference,
    object_not_found,
    required_parameter,
    string_too_long,
    unsupported_operation,
    unsupported_property,
)

if TYPE_CHECKING:
    from ledgerlink.sandbox.qbo_indexes import CompanyIndexes, Receivables

T = TypeVar("T")
VoidForm = Literal["operation", "include"]
CENT = Decimal("0.01")
INACTIVE_SUFFIX = " (deleted)"
NAME_LIST_ENTITIES = ("Customer", "Vendor", "Employee")
CURRENCY_NAMES = {
    "USD": "United States Dollar",
    "CAD": "Canadian Dollar",
    "GBP": "British Pound Sterling",
    "AUD": "Australian Dollar",
}


# ---------------------------------------------------------------------------------------------
# What an entity type may ask of the company it is written into


class Books(Protocol):
    """The company's books as an entity type sees them during one write."""

    country: str
    #: what the company keeps in step with its tables (names, DocNumbers, payment lines, changes)
    indexes: CompanyIndexes

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


def copied(value: T) -> T:
    """A deep copy of a record or a request body: JSON-shaped data is copied here, by type, faster
    than ``copy.deepcopy`` (which a record's every read and write used to spend most of its time in);
    anything else is left to it."""
    kind = type(value)
    if kind is dict:
        return {key: copied(item) for key, item in value.items()}  # type: ignore[attr-defined,return-value]
    if kind is list:
        return [copied(item) for item in value]  # type: ignore[attr-defined,return-value]
    if value is None or kind in _IMMUTABLE:
        return value
    return copy.deepcopy(value)


_IMMUTABLE = frozenset({str, int, bool, float, Decimal})


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


def resolve_reference(books: Books, entity: str, ref_id: str, *, label: str, element: str) -> dict[str, Any]:
    """The referenced record: 2500 when it does not exist (``label`` names the list), 610 when inactive."""
    target = books.visible(entity, ref_id)
    if target is None:
        raise invalid_reference(label, ref_id, element)
    if target.get("Active", True) is not True:
        raise object_not_found()
    return target


def home_currency(books: Books) -> dict[str, str]:
    """The company's home currency as a reference, the currency of every record that names none."""
    home = books.preference("CurrencyPrefs", "HomeCurrency")
    code = str(home.get("value")) if isinstance(home, Mapping) and home.get("value") else "USD"
    return {"value": code, "name": CURRENCY_NAMES.get(code, code)}


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


def check_unique_name(
    books: Books, entity: str, record: Mapping[str, Any], record_id: str | None, *, noun: str
) -> None:
    """Names within one list (items, accounts, tax lists) are unique, trimmed and case-insensitive (6240)."""
    wanted = str(record["Name"]).strip().casefold()
    for holder_entity, holder_id in books.indexes.names.holding(wanted):
        if holder_entity == entity and holder_id != record_id:
            raise duplicate_name(f"Another {noun} is already using this name. Please use a different name.")


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
    #: how a void is asked for: ``POST ?operation=void`` (Invoice) or
    #: ``POST ?operation=update&include=void`` (Payment, SalesReceipt; §1.5)
    void_form: VoidForm = "operation"
    #: sales forms share one DocNumber space (6140); the label is how the fault names the type
    doc_number_label: str | None = None
    writable_by_api: bool = True
    #: readable by id (``GET /{entity}/{id}``); company documents have their own paths
    readable_by_id: bool = True
    #: reported by change data capture (``GET /cdc``, §3.2)
    change_data_capture: bool = True

    COMMON_READ_ONLY: ClassVar[frozenset[str]] = frozenset(
        {"Id", "SyncToken", "MetaData", "domain", "sparse", "status"}
    )
    #: top-level properties :meth:`render` adds, changes or drops; a query on none of them is
    #: answered from the stored records, and only its page is rendered
    COMPUTED: ClassVar[frozenset[str]] = frozenset()

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
        return copied(dict(record))

    def check_removable(self, books: Books, record: Mapping[str, Any]) -> None:
        """Refuse to delete or void ``record`` while other records depend on it (no-op by default)."""

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
        for entity, holder_id in books.indexes.display_names.holding(wanted):
            if not (entity == self.name and holder_id == record_id):
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

    COMPUTED: ClassVar[frozenset[str]] = frozenset(
        {"DisplayName", "FullyQualifiedName", "OpeningBalance", "Balance", "BalanceWithJobs"}
    )

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
        record.setdefault("CurrencyRef", home_currency(books))
        deactivating = previous is not None and previous.get("Active") is True and record["Active"] is False
        if deactivating and record_id is not None and _customer_balance(books, record_id, record) != 0:
            raise business_validation(
                "The balance on this customer is not zero; it cannot be made inactive.",
                message="Delete List Has Balance Error",
            )

    def render(self, books: Books, record: Mapping[str, Any]) -> dict[str, Any]:
        out = super().render(books, record)
        out.pop("OpeningBalance", None)
        balance = _customer_balance(books, str(record.get("Id")), record)
        out["Balance"] = balance
        out["BalanceWithJobs"] = balance
        return out


# -- Receivables: what each payment applies to which sales form -------------------------------

#: the transactions a payment line may link (§2.8), and their labels in faults
APPLIED_TXN_TYPES = {"Invoice": "Invoice", "CreditMemo": "Credit Memo"}


def payment_lines(payment: Mapping[str, Any]) -> list[tuple[tuple[str, str], Decimal]]:
    """``((TxnType, TxnId), Amount)`` for each line of one stored payment."""
    out = []
    for line in payment.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            out.append(((str(link["TxnType"]), str(link["TxnId"])), Decimal(line["Amount"])))
    return out


def applications(books: Books) -> Receivables:
    """Every payment line in the books, per linked ``(TxnType, TxnId)``: ``applied`` and ``linking``.

    Balances are derived from this at render time rather than stored on the invoices, so a
    payment's edit, void or delete changes them without touching the invoice's version.
    """
    return books.indexes.receivables


def open_amount(books: Books, txn_type: str, record: Mapping[str, Any]) -> Decimal:
    """What is still open on an invoice (its Balance) or a credit memo (its RemainingCredit)."""
    applied = applications(books).applied(txn_type, str(record["Id"]))
    return cents(Decimal(record.get("TotalAmt", 0)) - applied)


def _customer_balance(books: Books, customer_id: str, record: Mapping[str, Any]) -> Decimal:
    """Opening balance, plus open invoices, less unapplied payments and remaining credit."""
    receivable = Decimal(0)
    for entity, form in books.indexes.receivables.of_customer(customer_id):
        if entity == "Payment":
            receivable -= Decimal(form.get("UnappliedAmt", 0))
        elif entity == "Invoice":
            receivable += open_amount(books, entity, form)
        else:
            receivable -= open_amount(books, entity, form)
    return cents(Decimal(record.get("OpeningBalance", 0)) + receivable)


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
        record.setdefault("CurrencyRef", home_currency(books))
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


# -- Item ------------------------------------------------------------------------------------


def require_name(record: dict[str, Any]) -> None:
    """Accounts and items need a ``Name`` of 1–100 characters (surrounding blanks are dropped)."""
    name = record.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise required_parameter("Name")
    record["Name"] = name.strip()
    check_length(record, "Name", 100)


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
        require_name(record)
        check_length(record, "Sku", 100)
        check_length(record, "Description", 4000)
        check_length(record, "PurchaseDesc", 4000)
        check_name_characters(record, ("Name",))
        item_type = record.get("Type")
        if item_type is None:
            raise required_parameter("Type")
        if item_type not in ITEM_TYPES:
            raise invalid_enumeration("Type", item_type)
        income = reference_id(record, "IncomeAccountRef")
        if item_type in ("Service", "NonInventory") and income is None:
            raise required_parameter("IncomeAccountRef")
        if income is not None:
            account = resolve_reference(
                books, "Account", income, label="Accounts", element="IncomeAccountRef"
            )
            record["IncomeAccountRef"] = {"value": income, "name": account["Name"]}
        check_unique_name(books, "Item", record, record_id, noun="product or service")
        for amount in ("UnitPrice", "PurchaseCost"):
            record[amount] = as_amount(record.get(amount, 0), amount)
        record["FullyQualifiedName"] = record["Name"]
        record.setdefault("Active", True)
        record.setdefault("Taxable", False)
        record.setdefault("SalesTaxIncluded", False)
        record.setdefault("TrackQtyOnHand", False)


# -- Non-US sales tax: TaxRate and TaxCode (read-only lists, §2.7) -----------------------------


@dataclass(frozen=True)
class TaxRateType(EntityType):
    """One tax rate (e.g. GST 5%); a TaxCode groups the rates a sales line is taxed at."""

    name_list: bool = True
    writable_by_api: bool = False
    change_data_capture: bool = False

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        require_name(record)
        check_unique_name(books, "TaxRate", record, record_id, noun="TaxRate")
        if record.get("RateValue") is None:
            raise required_parameter("RateValue")
        rate = as_amount(record["RateValue"], "RateValue")
        if not Decimal(0) <= rate <= Decimal(100):
            raise business_validation("RateValue must be a percentage between 0 and 100.")
        record["RateValue"] = rate
        record.setdefault("Active", True)
        record.setdefault("AgencyRef", {"value": "1"})
        record.setdefault("SpecialTaxType", "NONE")
        record.setdefault("DisplayType", "ReadOnly")


@dataclass(frozen=True)
class TaxCodeType(EntityType):
    """A tax code names the rates applied to a line (``TaxGroup`` when more than one)."""

    name_list: bool = True
    writable_by_api: bool = False
    change_data_capture: bool = False

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        require_name(record)
        check_unique_name(books, "TaxCode", record, record_id, noun="TaxCode")
        details = []
        sales_rates = record.get("SalesTaxRateList") or {}
        for order, detail in enumerate(sales_rates.get("TaxRateDetail") or []):
            rate_id = reference_id(detail, "TaxRateRef")
            if rate_id is None:
                raise required_parameter("SalesTaxRateList.TaxRateDetail.TaxRateRef")
            rate = resolve_reference(
                books,
                "TaxRate",
                rate_id,
                label="TaxRate",
                element="SalesTaxRateList.TaxRateDetail.TaxRateRef",
            )
            details.append(
                {
                    "TaxRateRef": {"value": rate_id, "name": rate["Name"]},
                    "TaxTypeApplicable": "TaxOnAmount",
                    "TaxOrder": order,
                }
            )
        if not details:
            raise required_parameter("SalesTaxRateList.TaxRateDetail")
        record["SalesTaxRateList"] = {"TaxRateDetail": details}
        record["PurchaseTaxRateList"] = {"TaxRateDetail": []}
        record["TaxGroup"] = len(details) > 1
        record["Taxable"] = True
        record.setdefault("Active", True)
        record.setdefault("Hidden", False)


def sales_rate_ids(tax_code: Mapping[str, Any]) -> list[str]:
    """The TaxRate ids a sales line coded with ``tax_code`` is taxed at."""
    details = (tax_code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
    return [str(d["TaxRateRef"]["value"]) for d in details]


# -- Read-only company documents ---------------------------------------------------------------


@dataclass(frozen=True)
class CompanyDocumentType(EntityType):
    """CompanyInfo and Preferences: one per company, read at their own paths, written by no one."""

    writable_by_api: bool = False
    readable_by_id: bool = False
    change_data_capture: bool = False


_HOME_CURRENCY = {"US": "USD", "CA": "CAD", "GB": "GBP", "AU": "AUD"}


def default_company_info(name: str, country: str) -> dict[str, Any]:
    """A new company's CompanyInfo: the sandbox's one address, a law firm's industry."""
    return {
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": {
            "Id": "1",
            "Line1": "100 Main Street",
            "City": "Springfield",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94000",
            "Country": "USA",
        },
        "CustomerCommunicationAddr": {
            "Id": "1",
            "Line1": "100 Main Street",
            "City": "Springfield",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94000",
            "Country": "USA",
        },
        "LegalAddr": {
            "Id": "1",
            "Line1": "100 Main Street",
            "City": "Springfield",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94000",
            "Country": "USA",
        },
        "PrimaryPhone": {},
        "CompanyStartDate": "2020-01-01",
        "FiscalYearStartMonth": "January",
        "Country": country,
        "Email": {"Address": "books@example.com"},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "DefaultTimeZone": "America/Los_Angeles",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IndustryType", "Value": "Legal Services"},
        ],
    }


def default_preferences(country: str) -> dict[str, Any]:
    """A new company's Preferences: no custom numbers, sales tax outside the US, home currency by country."""
    return {
        "AccountingInfoPrefs": {
            "TrackDepartments": False,
            "DepartmentTerminology": "Location",
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "CustomerTerminology": "Customers",
            "FirstMonthOfFiscalYear": "January",
            "UseAccountNumbers": False,
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": False,
        },
        "SalesFormsPrefs": {
            "CustomTxnNumbers": False,
            "AllowDeposit": False,
            "AllowDiscount": True,
            "AllowServiceDate": True,
            "AllowShipping": False,
            "AutoApplyCredit": True,
            "AutoApplyPayments": True,
            "CustomField": [],
        },
        "EmailMessagesPrefs": {},
        "VendorAndPurchasesPrefs": {
            "BillableExpenseTracking": False,
            "TrackingByCustomer": False,
            "POCustomField": [],
        },
        "TimeTrackingPrefs": {
            "UseServices": True,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "TaxPrefs": {"UsingSalesTax": country != "US"},
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": False,
            "HomeCurrency": {"value": _HOME_CURRENCY.get(country, "USD")},
        },
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "OtherPrefs": {
            "NameValue": [
                {"Name": "TimeTrackingFeatureEnabled", "Value": "true"},
                {"Name": "ProjectsEnabled", "Value": "false"},
            ]
        },
    }
