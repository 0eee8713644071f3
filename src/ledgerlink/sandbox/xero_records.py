"""One Xero organisation's books in the emulator: storage, dates, money, contacts and settings.

Records are stored in plain Python values (``Decimal`` money, ``date`` document dates, epoch
seconds for ``UpdatedDateUTC``) and rendered into Xero's JSON on the way out
(:func:`render`): ``"/Date(1552262400000+0000)/"`` plus the ``DateString`` / ``DueDateString`` /
``UpdatedDateUTCString`` twins the spec's examples show (reference §1 "Dates").

Assumptions the reference does not settle (the documents' rules are in :mod:`xero_documents`):

- The organisation's clock is UTC (documents default to the UTC date of the sandbox clock).
- A new organisation has a small US-style chart (codes 090 bank, 200 sales, 260 other revenue,
  400 advertising, 610 receivables, 800 payables, 860 rounding, 970 owner funds with payments
  enabled) and tax rates NONE / INPUT / OUTPUT at 0 %; base currency USD and no other currency.
- Contact names are unique among ACTIVE contacts, compared trimmed and case-insensitively;
  ContactNumbers are unique among all contacts, compared exactly.
- A contact cannot be *created* ARCHIVED ("The status 'ARCHIVED' is not valid for contacts",
  §3) but an active one may be archived by POST (§2.1); an archived contact cannot be edited at
  through the API (§2.1 [2°]) except to restore it: a POST carrying ``ContactStatus: ACTIVE``
  un-archives it (with whatever else the element changes), refused like any active contact when
  another active contact holds its name (§2.1: "can only be restored if no other contact has the
  name"). The text for any other edit is this emulator's:
  ``Archived contacts cannot be edited via the API.``
- Texts the reference does not give (this emulator's own, stable for tests): a contact without
  a name ``The contact name must be specified.``; an unknown ContactID on POST
  ``An existing Contact with the specified ContactID could not be found`` (patterned on the
  spec's credit-note text); a reference to a contact that does not exist (documents)
  ``The contact with the specified contact details could not be found.``; a bad date
  ``The date '<text>' is not a valid date.``.
- ``IsCustomer`` / ``IsSupplier`` are read-only: they are true once an ACCREC / ACCPAY document
  (or credit note) names the contact, whatever a request says.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
FOUR_DP = Decimal("0.0001")
_MSDATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")

# Texts from reference §3 (exact) and this emulator's own (see the module docstring).
DUPLICATE_CONTACT_NAME = (
    "The contact name {name} is already assigned to another contact. "
    "The contact name must be unique across all active contacts."
)
DUPLICATE_CONTACT_NUMBER = (
    "The contact number {number} is already assigned to another contact. "
    "The contact number must be unique across all contacts."
)
CONTACT_NOT_IDENTIFIED = (
    "The Contact must contain at least 1 of the following elements to identify the contact: "
    "Name, ContactID, ContactNumber"
)
ARCHIVED_CONTACT = (
    "The contact with the specified contact details has been archived. "
    "The contact must be un-archived before creating new invoices or credit notes."
)
ARCHIVED_STATUS_ON_CREATE = "The status 'ARCHIVED' is not valid for contacts"
INVALID_EMAIL = "Email address must be valid."
ARCHIVED_CONTACT_EDIT = "Archived contacts cannot be edited via the API."
CONTACT_NAME_REQUIRED = "The contact name must be specified."
CONTACT_ID_NOT_FOUND = "An existing Contact with the specified ContactID could not be found"
CONTACT_NOT_FOUND = "The contact with the specified contact details could not be found."


class Refusal(Exception):
    """One element fails Xero's validation: the messages go into its ``ValidationErrors``."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


# ---------------------------------------------------------------------------------------------
# Values


def money(value: Any, places: Decimal = CENT) -> Decimal:
    """A JSON number as Decimal rounded half-up to ``places`` (Xero rounds, it does not refuse)."""
    try:
        return Decimal(str(value)).quantize(places, rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise Refusal(f"'{value}' is not a valid number.") from None


def parse_date(value: Any) -> date:
    """A document date as a client may send it: ``YYYY-MM-DD``, an ISO date-time, or /Date(ms)/."""
    text = str(value).strip()
    found = _MSDATE.match(text)
    if found:
        return datetime.fromtimestamp(int(found.group(1)) / 1000, UTC).date()
    iso = _ISO_DATE.match(text)
    if iso:
        try:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            pass
    raise Refusal(f"The date '{text}' is not a valid date.")


def msdate(day: date) -> str:
    """A document date as Xero writes it: midnight UTC in .NET JSON form."""
    epoch = datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()
    return f"/Date({int(epoch * 1000)}+0000)/"


def mstime(epoch: float, *, offset: bool = True) -> str:
    """An instant as Xero writes it (``UpdatedDateUTC`` with ``+0000``; ``DateTimeUTC`` without)."""
    return f"/Date({int(epoch * 1000)}{'+0000' if offset else ''})/"


def date_string(day: date) -> str:
    return f"{day.isoformat()}T00:00:00"


def utc_string(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_id() -> str:
    return str(uuid.uuid4())


def same_name(a: str, b: str) -> bool:
    return folded_name(a) == folded_name(b)


def folded_name(name: str) -> str:
    """A contact name as uniqueness compares it: spaces collapsed, case-insensitive."""
    return " ".join(name.split()).casefold()


@dataclass
class Filed:
    """Stored records filed under a key (a contact, a number, a name) by the writer that stored them,
    so that a read looks at those few records instead of a whole table.

    Nothing else needs to tell it anything: a record a later write replaced (every write stores a
    new record) or that was taken out is no longer the one its table holds under its id, and is
    dropped when read. A record filed once and changed in place since (a status, a date) is read
    as it now is: callers still test what they ask for.
    """

    by_key: dict[Hashable, list[dict[str, Any]]] = field(default_factory=dict)

    def file(self, key: Hashable, record: dict[str, Any]) -> None:
        self.by_key.setdefault(key, []).append(record)

    def live(self, key: Hashable, table: Mapping[str, dict[str, Any]], id_field: str) -> list[dict[str, Any]]:
        """The records filed under ``key`` that ``table`` still holds, in the order they were filed."""
        filed = self.by_key.get(key)
        if not filed:
            return []
        kept = [record for record in filed if table.get(record[id_field]) is record]
        if len(kept) < len(filed):
            self.by_key[key] = kept
        return kept


# ---------------------------------------------------------------------------------------------
# The books


@dataclass
class Books:
    """Everything one organisation (tenant) holds. Tables map ids to stored records."""

    tenant_id: str
    name: str
    clock_now: Callable[[], float]
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    credit_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    allocations: dict[str, dict[str, Any]] = field(default_factory=dict)
    bank_transactions: dict[str, dict[str, Any]] = field(default_factory=dict)
    accounts: dict[str, dict[str, Any]] = field(default_factory=dict)
    tax_rates: dict[str, dict[str, Any]] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    base_currency: str = "USD"
    currencies: set[str] = field(default_factory=lambda: {"USD"})
    period_lock_date: date | None = None
    created_at: float = 0.0
    organisation_id: str = field(default_factory=new_id)
    # Filed by the writers (see Filed), so that no read scans a table: payments per InvoiceID;
    # allocations per ("InvoiceID" | "CreditNoteID", document id); invoices and credit notes per
    # ContactID and per number; contacts per folded name and per ContactNumber. A snapshot copies
    # them with the tables.
    payments_to: Filed = field(default_factory=Filed)
    allocations_to: Filed = field(default_factory=Filed)
    invoices_of: Filed = field(default_factory=Filed)
    credit_notes_of: Filed = field(default_factory=Filed)
    invoice_numbers: Filed = field(default_factory=Filed)
    credit_note_numbers: Filed = field(default_factory=Filed)
    contact_names: Filed = field(default_factory=Filed)
    contact_numbers: Filed = field(default_factory=Filed)

    def now(self) -> float:
        return self.clock_now()

    def today(self) -> date:
        return datetime.fromtimestamp(self.clock_now(), UTC).date()

    def next_number(self, prefix: str) -> str:
        """The next ``INV-0001`` style number for a prefix, skipping numbers already taken."""
        while True:
            self.sequences[prefix] = self.sequences.get(prefix, 0) + 1
            number = f"{prefix}-{self.sequences[prefix]:04d}"
            taken = self.invoice_numbers.live(
                number, self.invoices, "InvoiceID"
            ) or self.credit_note_numbers.live(number, self.credit_notes, "CreditNoteID")
            if not taken:
                return number

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of the tables, to roll a failed summarised batch back."""
        return copy.deepcopy({k: v for k, v in vars(self).items() if k != "clock_now"})

    def restore(self, saved: Mapping[str, Any]) -> None:
        for key, value in saved.items():
            setattr(self, key, value)

    # -- look-ups --
    def account_by_code(self, code: str) -> dict[str, Any] | None:
        for account in self.accounts.values():
            if account.get("Code") == code and account["Status"] != "DELETED":
                return account
        return None

    def contact_by(self, ref: Mapping[str, Any]) -> dict[str, Any] | None:
        """The contact a document's ``Contact`` names (ContactID, else ContactNumber, else Name)."""
        if ref.get("ContactID"):
            return self.contacts.get(str(ref["ContactID"]).lower())
        if ref.get("ContactNumber"):
            for contact in self.contacts.values():
                if contact.get("ContactNumber") == ref["ContactNumber"]:
                    return contact
            return None
        name = str(ref.get("Name") or "")
        live = [c for c in self.contacts.values() if same_name(c["Name"], name)]
        live.sort(key=lambda c: c["ContactStatus"] != "ACTIVE")
        return live[0] if live else None


# ---------------------------------------------------------------------------------------------
# Default chart, tax rates and organisation


def default_accounts() -> list[dict[str, Any]]:
    """The chart a new sandbox organisation starts with (see the module docstring)."""
    rows: list[tuple[str, str, str, str, dict[str, Any]]] = [
        (
            "090",
            "Business Bank Account",
            "BANK",
            "NONE",
            {"BankAccountNumber": "121000358", "BankAccountType": "BANK"},
        ),
        ("200", "Sales", "REVENUE", "OUTPUT", {}),
        ("260", "Other Revenue", "REVENUE", "OUTPUT", {}),
        ("400", "Advertising", "EXPENSE", "INPUT", {}),
        ("610", "Accounts Receivable", "CURRENT", "NONE", {"SystemAccount": "DEBTORS"}),
        ("800", "Accounts Payable", "CURRLIAB", "NONE", {"SystemAccount": "CREDITORS"}),
        ("860", "Rounding", "CURRLIAB", "NONE", {"SystemAccount": "ROUNDING"}),
        ("970", "Owner A Funds Introduced", "EQUITY", "NONE", {"EnablePaymentsToAccount": True}),
    ]
    return [
        {"Code": code, "Name": name, "Type": kind, "TaxType": tax, **extra}
        for code, name, kind, tax, extra in rows
    ]


def default_tax_rates() -> list[dict[str, Any]]:
    return [
        {"Name": "Tax Exempt", "TaxType": "NONE", "Rate": Decimal("0")},
        {"Name": "Tax on Purchases", "TaxType": "INPUT", "Rate": Decimal("0")},
        {"Name": "Tax on Sales", "TaxType": "OUTPUT", "Rate": Decimal("0")},
    ]


ACCOUNT_CLASS = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "NONCURRENT": "ASSET",
    "PREPAYMENT": "ASSET",
    "DEPRECIATN": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "PAYG": "LIABILITY",
    "EQUITY": "EQUITY",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
    "OTHERINCOME": "REVENUE",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
}


def store_account(books: Books, spec: Mapping[str, Any]) -> dict[str, Any]:
    """Add an account (a bookkeeper's edit in Xero); ``Code`` may be absent, ``Status`` ARCHIVED."""
    kind = str(spec.get("Type", "EXPENSE"))
    if kind not in ACCOUNT_CLASS:
        raise ValueError(f"unknown account Type {kind!r}")
    code = spec.get("Code")
    if code is not None and books.account_by_code(str(code)) is not None:
        raise ValueError(f"account code {code!r} is taken")
    account: dict[str, Any] = {
        "AccountID": str(spec.get("AccountID") or new_id()),
        "Name": str(spec.get("Name") or f"Account {code or ''}".strip()),
        "Type": kind,
        "Status": str(spec.get("Status", "ACTIVE")),
        "TaxType": str(spec.get("TaxType", "NONE")),
        "EnablePaymentsToAccount": bool(spec.get("EnablePaymentsToAccount", False)),
        "ShowInExpenseClaims": bool(spec.get("ShowInExpenseClaims", False)),
        "Class": ACCOUNT_CLASS[kind],
        "UpdatedDateUTC": books.now(),
        "CurrencyCode": str(spec.get("CurrencyCode", books.base_currency)),
    }
    if code is not None:
        account["Code"] = str(code)
    for optional in ("BankAccountNumber", "BankAccountType", "SystemAccount", "Description"):
        if spec.get(optional) is not None:
            account[optional] = spec[optional]
    if kind == "BANK":
        account.setdefault("BankAccountType", "BANK")
    books.accounts[str(account["AccountID"])] = account
    return account


def store_tax_rate(books: Books, spec: Mapping[str, Any]) -> dict[str, Any]:
    rate = Decimal(str(spec.get("Rate", "0")))
    tax_type = str(spec["TaxType"])
    record = {
        "Name": str(spec.get("Name", tax_type)),
        "TaxType": tax_type,
        "Status": str(spec.get("Status", "ACTIVE")),
        "ReportTaxType": str(
            spec.get("ReportTaxType", tax_type if tax_type in ("INPUT", "OUTPUT") else "NONE")
        ),
        "Rate": rate,
    }
    books.tax_rates[tax_type] = record
    return record


# ---------------------------------------------------------------------------------------------
# Contacts

CONTACT_WRITABLE = (
    "ContactNumber",
    "AccountNumber",
    "Name",
    "FirstName",
    "LastName",
    "CompanyNumber",
    "EmailAddress",
    "ContactPersons",
    "BankAccountDetails",
    "TaxNumber",
    "TaxNumberType",
    "AccountsReceivableTaxType",
    "AccountsPayableTaxType",
    "Addresses",
    "Phones",
    "SalesDefaultLineAmountType",
    "PurchasesDefaultLineAmountType",
    "DefaultCurrency",
    "SalesDefaultAccountCode",
    "PurchasesDefaultAccountCode",
    "PaymentTerms",
    "ContactGroups",
    "SalesTrackingCategories",
    "PurchasesTrackingCategories",
    "TrackingCategoryName",
    "TrackingCategoryOption",
)


def write_contact(
    books: Books, element: Mapping[str, Any], *, create_only: bool, path_id: str | None
) -> dict[str, Any]:
    """Create or update one contact from a request element; raise :class:`Refusal` when invalid."""
    contact_id = path_id or (str(element["ContactID"]).lower() if element.get("ContactID") else None)
    current = books.contacts.get(contact_id) if contact_id else None
    if contact_id and current is None and (path_id or not create_only):
        raise Refusal(CONTACT_ID_NOT_FOUND)
    if current is not None and create_only:
        current = None  # PUT creates; a ContactID it carries is not looked up (reference §1)
        contact_id = None
    restoring = element.get("ContactStatus") == "ACTIVE"
    if current is not None and current["ContactStatus"] == "ARCHIVED" and not restoring:
        raise Refusal(ARCHIVED_CONTACT_EDIT)
    candidate: dict[str, Any] = copy.deepcopy(current) if current else {"ContactStatus": "ACTIVE"}
    for key in CONTACT_WRITABLE:
        if key in element and element[key] is not None:
            candidate[key] = copy.deepcopy(element[key])
    status = element.get("ContactStatus")
    problems: list[str] = []
    if status is not None:
        if status == "ARCHIVED" and current is None:
            problems.append(ARCHIVED_STATUS_ON_CREATE)
        else:
            candidate["ContactStatus"] = status
    name = str(candidate.get("Name") or "").strip()
    if not name:
        problems.append(CONTACT_NAME_REQUIRED)
    own_id = current["ContactID"] if current else None
    if name and candidate["ContactStatus"] == "ACTIVE":
        for other in books.contact_names.live(folded_name(name), books.contacts, "ContactID"):
            if (
                other["ContactID"] != own_id
                and other["ContactStatus"] == "ACTIVE"
                and same_name(other["Name"], name)
            ):
                problems.append(DUPLICATE_CONTACT_NAME.format(name=name))
                break
    number = candidate.get("ContactNumber")
    if number:
        numbered = (
            books.contact_numbers.live(number, books.contacts, "ContactID")
            if isinstance(number, Hashable)
            else books.contacts.values()
        )
        for other in numbered:
            if other["ContactID"] != own_id and other.get("ContactNumber") == number:
                problems.append(DUPLICATE_CONTACT_NUMBER.format(number=number))
                break
    email = candidate.get("EmailAddress")
    if email and not _EMAIL.match(str(email)):
        problems.append(INVALID_EMAIL)
    if problems:
        raise Refusal(*problems)
    candidate["Name"] = name
    candidate["ContactID"] = own_id or new_id()
    candidate["UpdatedDateUTC"] = books.now()
    books.contacts[candidate["ContactID"]] = candidate
    books.contact_names.file(folded_name(name), candidate)
    if isinstance(candidate.get("ContactNumber"), Hashable):
        books.contact_numbers.file(candidate.get("ContactNumber"), candidate)
    return candidate


def document_contact(books: Books, ref: Any, *, documents: bool) -> dict[str, Any]:
    """The stored contact a document names; archived ones refused on invoices and credit notes."""
    if not isinstance(ref, Mapping) or not any(ref.get(k) for k in ("ContactID", "ContactNumber", "Name")):
        raise Refusal(CONTACT_NOT_IDENTIFIED)
    contact = books.contact_by(ref)
    if contact is None:
        raise Refusal(CONTACT_NOT_FOUND)
    if documents and contact["ContactStatus"] == "ARCHIVED":
        raise Refusal(ARCHIVED_CONTACT)
    return contact


# ---------------------------------------------------------------------------------------------
# Rendering


def render_contact(books: Books, contact: Mapping[str, Any], *, summary: bool = False) -> dict[str, Any]:
    """A contact as Xero returns it; ``summary`` is the short form embedded in documents."""
    if summary:
        head = {k: contact[k] for k in ("ContactID", "Name") if k in contact}
        return {**head, "ContactStatus": contact["ContactStatus"], "HasValidationErrors": False}
    out: dict[str, Any] = {"ContactID": contact["ContactID"], "ContactStatus": contact["ContactStatus"]}
    out.update({k: copy.deepcopy(contact[k]) for k in CONTACT_WRITABLE if k in contact})
    out.setdefault("Addresses", [])
    out.setdefault("Phones", [])
    out.setdefault("ContactPersons", [])
    out.setdefault("ContactGroups", [])
    out.setdefault("SalesTrackingCategories", [])
    out.setdefault("PurchasesTrackingCategories", [])
    out["UpdatedDateUTC"] = mstime(contact["UpdatedDateUTC"])
    kinds = {d["Type"] for d in _documents_of(books, contact["ContactID"])}
    out["IsSupplier"] = bool(kinds & {"ACCPAY", "ACCPAYCREDIT", "SPEND"})
    out["IsCustomer"] = bool(kinds & {"ACCREC", "ACCRECCREDIT"})
    out["HasValidationErrors"] = False
    return out


def _documents_of(books: Books, contact_id: str) -> Iterable[Mapping[str, Any]]:
    for filed, table, id_field in (
        (books.invoices_of, books.invoices, "InvoiceID"),
        (books.credit_notes_of, books.credit_notes, "CreditNoteID"),
    ):
        for record in filed.live(contact_id, table, id_field):
            if record["ContactID"] == contact_id and record["Status"] != "DELETED":
                yield record


def render_account(account: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in account.items() if k != "UpdatedDateUTC"}
    out["UpdatedDateUTC"] = mstime(account["UpdatedDateUTC"])
    out.setdefault("ReportingCode", "")
    return out


def render_tax_rate(rate: Mapping[str, Any]) -> dict[str, Any]:
    value: Decimal = rate["Rate"]
    applies = rate["Status"] == "ACTIVE"
    return {
        "Name": rate["Name"],
        "TaxType": rate["TaxType"],
        "ReportTaxType": rate["ReportTaxType"],
        "CanApplyToAssets": applies,
        "CanApplyToEquity": applies,
        "CanApplyToExpenses": applies,
        "CanApplyToLiabilities": applies,
        "CanApplyToRevenue": applies,
        "DisplayTaxRate": value.quantize(FOUR_DP),
        "EffectiveRate": value.quantize(FOUR_DP),
        "Status": rate["Status"],
        "TaxComponents": [
            {
                "Name": rate["Name"],
                "Rate": value.quantize(FOUR_DP),
                "IsCompound": False,
                "IsNonRecoverable": False,
            }
        ],
    }


def render_organisation(books: Books) -> dict[str, Any]:
    out: dict[str, Any] = {
        "OrganisationID": books.organisation_id,
        "APIKey": books.tenant_id.replace("-", "")[:30].upper(),
        "Name": books.name,
        "LegalName": books.name,
        "PaysTax": True,
        "Version": "US",
        "OrganisationType": "COMPANY",
        "BaseCurrency": books.base_currency,
        "CountryCode": "US",
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 12,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": mstime(books.created_at, offset=False),
        "OrganisationEntityType": "COMPANY",
        "Timezone": "UTC",
        "ShortCode": "!" + books.tenant_id[:5],
        "Edition": "BUSINESS",
        "Class": "STANDARD",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }
    if books.period_lock_date is not None:
        out["PeriodLockDate"] = msdate(books.period_lock_date)
    return out


__all__ = [
    "ARCHIVED_CONTACT",
    "CONTACT_NOT_IDENTIFIED",
    "DUPLICATE_CONTACT_NAME",
    "Books",
    "Refusal",
    "date_string",
    "default_accounts",
    "default_tax_rates",
    "document_contact",
    "money",
    "msdate",
    "mstime",
    "new_id",
    "parse_date",
    "render_account",
    "render_contact",
    "render_organisation",
    "render_tax_rate",
    "store_account",
    "store_tax_rate",
    "utc_string",
    "write_contact",
]
