"""The QBO emulator's chart of accounts and the money moved between accounts: JournalEntry, Purchase.

A JournalEntry moves money between accounts line by line (§2.12): trust money in is a debit to
the trust bank and a credit to the trust liability with the client as the line's ``Entity``. A
Purchase pays money out of one account (§2.13): a Check from a Bank account, a CreditCard charge
from a Credit Card account, each line charging an account (or an item's expense account) and
optionally tagging a customer. Cheques waiting in QBO's print queue (``PrintStatus
NeedToPrint``) are printed by :func:`print_cheque`, which the emulator exposes to tests as
``print_cheques``.

**Balances.** An account's ``CurrentBalance`` is computed when it is read, from every posting the
emulator holds, whatever its date:

- JournalEntry lines: a Debit line debits its ``AccountRef`` by ``Amount``, a Credit line credits it;
- Purchase: ``AccountRef`` is credited by ``TotalAmt`` and each line's account debited by its
  ``Amount`` (the reverse for a CreditCard credit, ``Credit: true``); an item line posts to the
  item's ``ExpenseAccountRef``;
- Payment: ``DepositToAccountRef`` is debited by ``TotalAmt`` (a voided payment's is 0).

Invoices, credit memos and the receivable side of payments are not posted, so an Accounts
Receivable or income account's balance leaves them out; nor does a journal line on Accounts
Receivable change its customer's ``Balance``. Asset and expense accounts show debits
less credits; liability, equity and revenue accounts credits less debits (a Bank account: debits
− credits; an Other Current Liability: credits − debits). ``CurrentBalanceWithSubAccounts`` adds
the balances of the accounts whose ``ParentRef`` names it, at any depth.

Assumptions (where the reference is silent the stricter reading is taken; fault texts are the
service's where a public recording has them):

- Account: ``Classification`` is derived from ``AccountType``; an ``AccountSubType`` sent alone
  must be one the emulator can map to a type, and one it can map must belong to the type sent
  with it (2170 otherwise). Names refuse ``:`` and ``"`` (6000).
- References: an account that does not exist is 2500 "Accounts element id N not found"; a
  customer, vendor or employee 2500 "Names element id N not found" (the wording public clients
  match on); an inactive one is 610. Items are resolved as on invoices (610 when unknown or
  inactive). The sandbox has no classes, departments, projects or payment methods, so any
  ``ClassRef``, ``DepartmentRef``, ``ProjectRef`` or ``PaymentMethodRef`` is 2500. ``LinkedTxn``
  on these transactions and any tax (``TxnTaxDetail`` with tax, line ``TaxAmount`` or
  ``TaxApplicableOn``, a journal line ``TaxCodeRef``) are unsupported by the sandbox (500).
- Amounts: a line ``Amount`` is required (2020), may not be negative (6000) and may carry at most
  two decimal places (2010); it is stored with two.
- JournalEntry: every line is ``DetailType: "JournalEntryLineDetail"`` (another type is 2010) with a
  ``JournalEntryLineDetail`` (2020), a ``PostingType`` (2020) of Debit or Credit (2170) and an
  ``AccountRef`` (2020, element ``AccountRef``, as recorded). ``Entity`` needs ``Type`` (2020) in
  Customer, Vendor or Employee (``Job`` and ``Other`` are 2170 in the sandbox) and an
  ``EntityRef`` naming a record of that list. Fewer than two lines is 6000 "Fill out at least two
  detail lines to continue." (recorded); unequal debit and credit totals are 6000 "Please balance
  debits and credits." followed by both totals (the QBO form's wording: no recording of the API's
  text was found); an A/R line without a customer and an A/P line without a vendor are 6000 with
  the recorded texts. Line Ids count from "0" (as in the recorded dump). ``TotalAmt`` is the
  total of the debits. Duplicate journal DocNumbers are accepted (the reference says QBO refuses
  them only when a company setting the sandbox does not model is on). No void (500): delete it.
- Purchase: ``PaymentType`` is required (2020) and one of Cash, Check, CreditCard (2170; the
  enum's Expense and Other are refused by the sandbox). A Check is paid from a Bank account, a
  CreditCard charge from a Credit Card account, Cash from a Bank or Other Current Asset account
  (6000 otherwise). ``EntityRef.type``, when sent, must be Customer, Vendor or Employee (2170) and
  the id a record of that list; without it the type is found from the id (the three lists share
  one id sequence). Lines are AccountBasedExpenseLineDetail (``AccountRef`` required) or
  ItemBasedExpenseLineDetail (``ItemRef`` required; the item needs an ``ExpenseAccountRef``, 6000;
  ``Amount`` must equal ``Qty × UnitPrice`` rounded to the cent when both are sent, 6070).
  ``BillableStatus`` is Billable, NotBillable or HasBeenBilled (2170), defaults to NotBillable,
  and Billable needs a ``CustomerRef`` (6000). US lines take ``TaxCodeRef`` NON unless TAX is sent
  (6100 otherwise); non-US companies' purchase lines may name no tax code (500). ``PrintStatus``
  (NotSet, NeedToPrint, PrintComplete; 2170) is only for checks (6000 on another type) and
  defaults to NotSet; a full update that leaves it out resets it like any omitted field.
  ``Credit`` is only for CreditCard (6000). Responses carry no ``PurchaseEx``. Duplicate check
  numbers are not refused (``include=allowduplicatedocnum`` is accepted and changes nothing). No
  void (500): delete it.
- Printing (``print_cheques``): only a Check whose ``PrintStatus`` is NeedToPrint can be printed;
  it becomes PrintComplete with the next cheque number of its bank account (one past the highest
  numeric DocNumber of that account's checks, from 1 unless a first number is given), as a user's
  edit in QBO (SyncToken and LastUpdatedTime move).
- Queries: Purchase may be filtered and ordered only by Id, MetaData.CreateTime,
  MetaData.LastUpdatedTime, DocNumber, TxnDate, PaymentType and TotalAmt (4001 otherwise, §1.6);
  JournalEntry, by analogy, by the same less PaymentType.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from ledgerlink.sandbox.qbo_entities import (
    CENT,
    Books,
    EntityType,
    as_amount,
    cents,
    check_books_open,
    check_date,
    check_length,
    check_unique_name,
    home_currency,
    reference_id,
    require_name,
    resolve_active,
    resolve_reference,
)
from ledgerlink.sandbox.qbo_schema import (
    QboFault,
    business_validation,
    invalid_enumeration,
    invalid_reference,
    required_parameter,
    unsupported_operation,
    unsupported_property,
)

# ---------------------------------------------------------------------------------------------
# Accounts

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
# Classifications whose balance grows with debits; the others grow with credits.
DEBIT_NORMAL = frozenset({"Asset", "Expense"})


@dataclass(frozen=True)
class AccountType(EntityType):
    """A chart-of-accounts row; its balances are derived from the postings when read."""

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        require_name(record)
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
                raise invalid_enumeration("AccountSubType", sub_type)
            account_type = record["AccountType"] = ACCOUNT_SUBTYPES[sub_type]
        if account_type not in ACCOUNT_CLASSIFICATION:
            raise invalid_enumeration("AccountType", account_type)
        if sub_type in ACCOUNT_SUBTYPES and ACCOUNT_SUBTYPES[sub_type] != account_type:
            raise invalid_enumeration("AccountSubType", f"{sub_type} (for AccountType {account_type})")
        record["Classification"] = ACCOUNT_CLASSIFICATION[account_type]
        check_unique_name(books, "Account", record, record_id, noun="account")
        record["FullyQualifiedName"] = record["Name"]
        record.setdefault("SubAccount", False)
        record.setdefault("Active", True)
        record.setdefault("CurrencyRef", home_currency(books))

    COMPUTED: ClassVar[frozenset[str]] = frozenset({"CurrentBalance", "CurrentBalanceWithSubAccounts"})

    def render(self, books: Books, record: Mapping[str, Any]) -> dict[str, Any]:
        out = super().render(books, record)
        out["CurrentBalance"] = account_balance(books, record)
        out["CurrentBalanceWithSubAccounts"] = _balance_with_subaccounts(books, record, set())
        return out


def account_balance(books: Books, account: Mapping[str, Any]) -> Decimal:
    """The account's own balance: debits − credits, or credits − debits for credit-normal accounts."""
    debits = books.memo("account_debits", lambda: _net_debits(books)).get(str(account["Id"]), Decimal(0))
    balance = debits if account.get("Classification") in DEBIT_NORMAL else -debits
    return cents(balance)


def _balance_with_subaccounts(books: Books, account: Mapping[str, Any], seen: set[str]) -> Decimal:
    seen.add(str(account["Id"]))
    total = account_balance(books, account)
    for child in books.rows("Account"):
        if reference_id(child, "ParentRef") == str(account["Id"]) and str(child["Id"]) not in seen:
            total += _balance_with_subaccounts(books, child, seen)
    return total


def _net_debits(books: Books) -> dict[str, Decimal]:
    """Per account id: its debits less its credits over every posting the books hold."""
    totals: dict[str, Decimal] = {}
    for account_id, amount in _postings(books):
        totals[account_id] = totals.get(account_id, Decimal(0)) + amount
    return totals


def _postings(books: Books) -> Iterator[tuple[str, Decimal]]:
    """``(account id, amount)`` for every posting: positive debits, negative credits."""
    for entry in books.rows("JournalEntry"):
        for line in entry.get("Line", []):
            detail = line["JournalEntryLineDetail"]
            sign = 1 if detail["PostingType"] == "Debit" else -1
            yield detail["AccountRef"]["value"], sign * Decimal(line["Amount"])
    for purchase in books.rows("Purchase"):
        sign = -1 if purchase.get("Credit") is True else 1
        yield purchase["AccountRef"]["value"], -sign * Decimal(purchase["TotalAmt"])
        for line in purchase.get("Line", []):
            yield _expense_account(books, line), sign * Decimal(line["Amount"])
    for payment in books.rows("Payment"):
        deposit = reference_id(payment, "DepositToAccountRef")
        if deposit is not None:
            yield deposit, Decimal(payment.get("TotalAmt", 0))


def _expense_account(books: Books, line: Mapping[str, Any]) -> str:
    """The account a purchase line charges: its own, or its item's expense account."""
    if line["DetailType"] == "AccountBasedExpenseLineDetail":
        return str(line["AccountBasedExpenseLineDetail"]["AccountRef"]["value"])
    item = books.visible("Item", line["ItemBasedExpenseLineDetail"]["ItemRef"]["value"]) or {}
    return str(reference_id(item, "ExpenseAccountRef"))


# ---------------------------------------------------------------------------------------------
# What journal entries and purchases share

NAME_TYPES = ("Customer", "Vendor", "Employee")
_UNSERVED_LISTS = {
    "ClassRef": "Class",
    "DepartmentRef": "Department",
    "ProjectRef": "Project",
    "PaymentMethodRef": "PaymentMethod",
}


@dataclass(frozen=True)
class BankingTransactionType(EntityType):
    """A transaction that moves money between accounts: dated, noted, numbered, never voided."""

    id_family: str = "txn"
    deletable: bool = True
    #: lower-cased properties the query language may filter and order on
    filterable: frozenset[str] = frozenset(
        {"id", "metadata.createtime", "metadata.lastupdatedtime", "docnumber", "txndate", "totalamt"}
    )

    def queryable(self, prop: str) -> bool:
        return prop.lower() in self.filterable

    def complete_header(self, books: Books, record: dict[str, Any]) -> list[Any]:
        """Check what every such transaction carries; return its lines (2020 when there are none)."""
        check_length(record, "DocNumber", 21)
        check_length(record, "PrivateNote", 4000)
        txn_date = check_date(record, "TxnDate") or books.today()
        record["TxnDate"] = txn_date.isoformat()
        check_books_open(books, txn_date)
        refuse_unserved_references(record, "")
        if record.get("LinkedTxn"):
            raise unsupported_operation(f"LinkedTxn on {self.name} in the sandbox")
        detail = record.get("TxnTaxDetail")
        if isinstance(detail, Mapping) and (
            detail.get("TaxLine") or as_amount(detail.get("TotalTax", 0), "TotalTax")
        ):
            raise unsupported_operation(f"tax on {self.name} in the sandbox")
        record.pop("TxnTaxDetail", None)
        mode = record.get("GlobalTaxCalculation")
        if mode is not None and mode not in ("TaxExcluded", "TaxInclusive", "NotApplicable"):
            raise invalid_enumeration("GlobalTaxCalculation", mode)
        record.setdefault("CurrencyRef", home_currency(books))
        lines = record.get("Line")
        if not lines:
            raise required_parameter("Line")
        return list(lines)


def refuse_unserved_references(record: Mapping[str, Any], where: str) -> None:
    """2500 for a reference into a list the sandbox does not serve (classes, departments, ...)."""
    for name, label in _UNSERVED_LISTS.items():
        ref_id = reference_id(record, name)
        if ref_id is not None:
            raise invalid_reference(label, ref_id, f"{where}{name}")


def line_amount(line: Mapping[str, Any]) -> Decimal:
    """A line's ``Amount``: required, not negative, at most two decimal places; stored with two."""
    if line.get("Amount") is None:
        raise required_parameter("Line.Amount")
    amount = as_amount(line["Amount"], "Line.Amount")
    try:
        whole_cents = amount.is_finite() and amount == amount.quantize(CENT)
    except InvalidOperation:  # too many digits to hold in cents
        whole_cents = False
    if not whole_cents:
        raise unsupported_property(f"Line.Amount {line['Amount']} (at most two decimal places)")
    if amount < 0:
        raise business_validation("A line Amount cannot be negative.")
    return cents(amount)


def account_reference(books: Books, holder: Mapping[str, Any], element: str) -> dict[str, Any]:
    """The active account ``holder["AccountRef"]`` names: 2020 when missing, 2500 unknown, 610 inactive."""
    account_id = reference_id(holder, "AccountRef")
    if account_id is None:
        raise required_parameter("AccountRef")
    return resolve_reference(books, "Account", account_id, label="Accounts", element=element)


def named_party(books: Books, ref_id: str, kind: str | None, element: str) -> tuple[str, dict[str, Any]]:
    """The active customer, vendor or employee ``ref_id`` names (of list ``kind`` when given)."""
    for entity in (kind,) if kind else NAME_TYPES:
        record = books.visible(entity, ref_id)
        if record is not None:
            if record.get("Active", True) is not True:
                resolve_active(books, entity, ref_id)  # 610
            return entity, record
    raise invalid_reference("Names", ref_id, element)


def _line_ids(previous: Mapping[str, Any] | None, first: int) -> tuple[set[str], Iterator[str]]:
    """The line Ids a transaction already has, and fresh ones after the highest (from ``first``)."""
    kept = {str(line["Id"]) for line in (previous or {}).get("Line", []) if line.get("Id") is not None}
    start = max((int(i) + 1 for i in kept if i.isdigit()), default=first)
    return kept, (str(n) for n in range(start, 1_000_000))


def _line_id(raw: Mapping[str, Any], kept: set[str], fresh: Iterator[str]) -> str:
    sent = raw.get("Id")
    return str(sent) if sent is not None and str(sent) in kept else next(fresh)


# ---------------------------------------------------------------------------------------------
# JournalEntry

POSTING_TYPES = ("Debit", "Credit")
_TAX_ON_LINES = ("TaxCodeRef", "TaxAmount", "TaxApplicableOn", "TaxInclusiveAmt")
# Accounts whose lines must name a party of one list, with the service's recorded refusal.
_PARTY_REQUIRED = {
    "Accounts Receivable": (
        "Customer",
        "When you use Accounts Receivable, you must choose a customer in the Name field.",
    ),
    "Accounts Payable": (
        "Vendor",
        "When you use Accounts Payable, you must choose a vendor in the Name field.",
    ),
}


@dataclass(frozen=True)
class JournalEntryType(BankingTransactionType):
    """Debit and credit lines between accounts, balanced; the client is the ``Entity`` of a line."""

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        raw_lines = self.complete_header(books, record)
        if not isinstance(record.setdefault("Adjustment", False), bool):
            raise unsupported_property("Adjustment must be true or false")
        kept, fresh = _line_ids(previous, 0)
        lines = [_journal_line(books, raw, _line_id(raw, kept, fresh)) for raw in raw_lines]
        if len(lines) < 2:
            raise business_validation("Fill out at least two detail lines to continue.")
        totals = {kind: Decimal(0) for kind in POSTING_TYPES}
        for line in lines:
            totals[line["JournalEntryLineDetail"]["PostingType"]] += line["Amount"]
        if totals["Debit"] != totals["Credit"]:
            raise business_validation(
                f"Please balance debits and credits. Total debits {totals['Debit']}, "
                f"total credits {totals['Credit']}."
            )
        record["Line"] = lines
        record["TotalAmt"] = totals["Debit"]


def _journal_line(books: Books, raw: Mapping[str, Any], line_id: str) -> dict[str, Any]:
    """One journal line as stored: amount, posting type, account and party checked and named."""
    detail_type = raw.get("DetailType")
    if detail_type is None:
        raise required_parameter("Line.DetailType")
    if detail_type != "JournalEntryLineDetail":
        raise unsupported_property(f"Line.DetailType {detail_type!r} is not a journal entry line type")
    if raw.get("LinkedTxn"):
        raise unsupported_operation("LinkedTxn on JournalEntry lines in the sandbox")
    amount = line_amount(raw)
    check_length(raw, "Description", 4000, label="Line.Description")
    detail = dict(raw.get("JournalEntryLineDetail") or {})
    if not detail:
        raise required_parameter("Line.JournalEntryLineDetail")
    posting = detail.get("PostingType")
    if posting is None:
        raise required_parameter("Line.JournalEntryLineDetail.PostingType")
    if posting not in POSTING_TYPES:
        raise invalid_enumeration("PostingType", posting)
    if any(detail.get(name) is not None for name in _TAX_ON_LINES):
        raise unsupported_operation("tax on journal entry lines in the sandbox")
    refuse_unserved_references(detail, "Line.JournalEntryLineDetail.")
    account = account_reference(books, detail, "Line.JournalEntryLineDetail.AccountRef")
    detail["AccountRef"] = {"value": str(account["Id"]), "name": account["Name"]}
    party = _line_party(books, detail.get("Entity"))
    if party is None:
        detail.pop("Entity", None)
    else:
        detail["Entity"] = party
    required = _PARTY_REQUIRED.get(str(account.get("AccountType")))
    if required is not None and (party is None or party["Type"] != required[0]):
        raise business_validation(required[1])
    line: dict[str, Any] = {"Id": line_id}
    if raw.get("Description") is not None:
        line["Description"] = raw["Description"]
    line.update({"Amount": amount, "DetailType": detail_type, "JournalEntryLineDetail": detail})
    return line


def _line_party(books: Books, entity: Any) -> dict[str, Any] | None:
    """A journal line's ``Entity`` as stored, ``{Type, EntityRef{value, name}}``, or None."""
    if not isinstance(entity, Mapping) or not entity:
        return None
    element = "Line.JournalEntryLineDetail.Entity"
    kind = entity.get("Type")
    if kind in (None, ""):
        raise required_parameter(f"{element}.Type")
    if kind not in NAME_TYPES:
        raise invalid_enumeration("Entity.Type", kind)
    ref_id = reference_id(entity, "EntityRef")
    if ref_id is None:
        raise required_parameter(f"{element}.EntityRef")
    kind, party = named_party(books, ref_id, str(kind), f"{element}.EntityRef")
    return {"Type": kind, "EntityRef": {"value": ref_id, "name": party["DisplayName"]}}


# ---------------------------------------------------------------------------------------------
# Purchase

PAYMENT_TYPES = ("Cash", "Check", "CreditCard")
PRINT_STATUSES = ("NotSet", "NeedToPrint", "PrintComplete")
BILLABLE_STATUSES = ("Billable", "NotBillable", "HasBeenBilled")
# The account types each kind of purchase may be paid from, and how a refusal names them.
PAID_FROM = {
    "Check": (("Bank",), "A check must be paid from a Bank account"),
    "CreditCard": (("Credit Card",), "A credit card purchase must be paid from a Credit Card account"),
    "Cash": (("Bank", "Other Current Asset"), "A cash purchase must be paid from a Bank or cash account"),
}
_EXPENSE_DETAILS = ("AccountBasedExpenseLineDetail", "ItemBasedExpenseLineDetail")
US_PURCHASE_TAX_CODES = ("NON", "TAX")


@dataclass(frozen=True)
class PurchaseType(BankingTransactionType):
    """Money paid out of one account (a cheque, a card charge, cash), its lines charging others."""

    filterable: frozenset[str] = BankingTransactionType.filterable | {"paymenttype"}

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        payment_type = record.get("PaymentType")
        if payment_type in (None, ""):
            raise required_parameter("PaymentType")
        if payment_type not in PAYMENT_TYPES:
            raise invalid_enumeration("PaymentType", payment_type)
        raw_lines = self.complete_header(books, record)
        account = account_reference(books, record, "AccountRef")
        allowed, refusal = PAID_FROM[payment_type]
        if account.get("AccountType") not in allowed:
            raise business_validation(f"{refusal}; {account['Name']} is {account.get('AccountType')}.")
        record["AccountRef"] = {"value": str(account["Id"]), "name": account["Name"]}
        _complete_payee(books, record)
        _complete_print_status(record, payment_type)
        credit = record.get("Credit")
        if credit is not None and not isinstance(credit, bool):
            raise unsupported_property("Credit must be true or false")
        if credit is True and payment_type != "CreditCard":
            raise business_validation("Only a credit card purchase can be a credit (a refund).")
        if payment_type == "CreditCard":
            record["Credit"] = credit is True
        kept, fresh = _line_ids(previous, 1)
        lines = [_expense_line(books, raw, _line_id(raw, kept, fresh)) for raw in raw_lines]
        record["Line"] = lines
        record["TotalAmt"] = cents(sum((line["Amount"] for line in lines), Decimal(0)))


def _complete_payee(books: Books, record: dict[str, Any]) -> None:
    ref_id = reference_id(record, "EntityRef")
    if ref_id is None:
        record.pop("EntityRef", None)
        return
    kind = record["EntityRef"].get("type")
    if kind is not None and kind not in NAME_TYPES:
        raise invalid_enumeration("EntityRef.type", kind)
    kind, party = named_party(books, ref_id, kind, "EntityRef")
    record["EntityRef"] = {"value": ref_id, "name": party["DisplayName"], "type": kind}


def _complete_print_status(record: dict[str, Any], payment_type: str) -> None:
    status = record.get("PrintStatus")
    if status is not None and status not in PRINT_STATUSES:
        raise invalid_enumeration("PrintStatus", status)
    if payment_type == "Check":
        record.setdefault("PrintStatus", "NotSet")
    elif status is not None:
        raise business_validation(f"PrintStatus applies to checks only, not to a {payment_type} purchase.")


def _expense_line(books: Books, raw: Mapping[str, Any], line_id: str) -> dict[str, Any]:
    """One purchase line as stored: its amount and the account or item it charges, checked and named."""
    detail_type = raw.get("DetailType")
    if detail_type is None:
        raise required_parameter("Line.DetailType")
    if detail_type not in _EXPENSE_DETAILS:
        raise unsupported_property(f"Line.DetailType {detail_type!r} is not a purchase line type")
    if raw.get("LinkedTxn"):
        raise unsupported_operation("LinkedTxn on Purchase lines in the sandbox")
    amount = line_amount(raw)
    check_length(raw, "Description", 4000, label="Line.Description")
    detail = dict(raw.get(detail_type) or {})
    if not detail:
        raise required_parameter(f"Line.{detail_type}")
    where = f"Line.{detail_type}."
    refuse_unserved_references(detail, where)
    if detail.get("TaxAmount") is not None or detail.get("TaxInclusiveAmt") is not None:
        raise unsupported_operation("tax on purchase lines in the sandbox")
    if detail_type == "AccountBasedExpenseLineDetail":
        account = account_reference(books, detail, f"{where}AccountRef")
        detail["AccountRef"] = {"value": str(account["Id"]), "name": account["Name"]}
    else:
        _complete_item_detail(books, detail, amount, where)
    customer_id = reference_id(detail, "CustomerRef")
    if customer_id is None:
        detail.pop("CustomerRef", None)
    else:
        customer = resolve_reference(
            books, "Customer", customer_id, label="Names", element=f"{where}CustomerRef"
        )
        detail["CustomerRef"] = {"value": customer_id, "name": customer["DisplayName"]}
    status = detail.setdefault("BillableStatus", "NotBillable")
    if status not in BILLABLE_STATUSES:
        raise invalid_enumeration("BillableStatus", status)
    if status == "Billable" and customer_id is None:
        raise business_validation("A billable expense line needs a customer (CustomerRef).")
    detail["TaxCodeRef"] = _purchase_tax_code(books, detail)
    line: dict[str, Any] = {"Id": line_id}
    if raw.get("Description") is not None:
        line["Description"] = raw["Description"]
    line.update({"Amount": amount, "DetailType": detail_type, detail_type: detail})
    return line


def _complete_item_detail(books: Books, detail: dict[str, Any], amount: Decimal, where: str) -> None:
    item_id = reference_id(detail, "ItemRef")
    if item_id is None:
        raise required_parameter(f"{where}ItemRef")
    item = resolve_active(books, "Item", item_id)
    if reference_id(item, "ExpenseAccountRef") is None:
        raise business_validation(
            f"The item {item['Name']} has no expense account to charge the purchase to."
        )
    detail["ItemRef"] = {"value": item_id, "name": item["Name"]}
    if detail.get("Qty") is not None and detail.get("UnitPrice") is not None:
        qty, unit_price = as_amount(detail["Qty"], "Qty"), as_amount(detail["UnitPrice"], "UnitPrice")
        if amount != cents(qty * unit_price):
            raise QboFault(
                "6070",
                "Amount calculation incorrect in the request",
                f"Amount is not equal to Qty * UnitPrice. Supplied value:{amount}",
                element="Line.Amount",
            )


def _purchase_tax_code(books: Books, detail: Mapping[str, Any]) -> dict[str, str]:
    code = reference_id(detail, "TaxCodeRef")
    if books.country != "US":
        if code is not None:
            raise unsupported_operation("tax codes on purchase lines outside the US in the sandbox")
        return {"value": "NON"}
    if code is not None and code not in US_PURCHASE_TAX_CODES:
        raise QboFault(
            "6100",
            "Invalid Line TaxCode in the request",
            f"Valid Line TaxCodes for US should be TAX or NON. Supplied value:{code}",
        )
    return {"value": code or "NON"}


# ---------------------------------------------------------------------------------------------
# The print queue


def print_cheque(books: Books, cheque: dict[str, Any], *, first_number: int | None = None) -> None:
    """Print a cheque waiting in the queue: PrintComplete and ``first_number`` or the account's next number.

    Raises ValueError for anything but a Check whose PrintStatus is NeedToPrint (the queue holds
    nothing else). The caller bumps the version, as for any edit made in QBO.
    """
    if not waiting_to_print(cheque):
        raise ValueError(f"Purchase {cheque.get('Id')} is not a check waiting to be printed")
    if first_number is None:
        first_number = max(_cheque_numbers(books, reference_id(cheque, "AccountRef")), default=0) + 1
    cheque["DocNumber"] = str(first_number)
    cheque["PrintStatus"] = "PrintComplete"


def waiting_to_print(purchase: Mapping[str, Any]) -> bool:
    """Whether the purchase is a cheque in QBO's print queue."""
    return purchase.get("PaymentType") == "Check" and purchase.get("PrintStatus") == "NeedToPrint"


def _cheque_numbers(books: Books, bank: str | None) -> Iterable[int]:
    for purchase in books.rows("Purchase"):
        number = str(purchase.get("DocNumber", ""))
        from_bank = purchase.get("PaymentType") == "Check" and reference_id(purchase, "AccountRef") == bank
        if from_bank and number.isascii() and number.isdigit():
            yield int(number)
