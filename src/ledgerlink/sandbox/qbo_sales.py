"""The QBO emulator's sales transactions: Invoice, CreditMemo and the Payment that settles them.

Invoice and CreditMemo are one sales form (:class:`SalesFormType`: customer, lines, DocNumber
space, tax); a Payment applies money, or a credit memo's credit, to them line by line (§2.8, §2.9).
What is still open on a form is derived from the payments when it is read (the receivables ledger
in :mod:`ledgerlink.sandbox.qbo_entities`), so ``SELECT * FROM Invoice WHERE Balance > '0'`` sees
the latest payments. This module also holds the registry of every entity type the emulator
serves, :data:`ENTITY_TYPES`, because it is the one module that sees them all.

Assumptions (where the reference is silent, the stricter reading is taken):

- Sales forms: every SalesItemLineDetail needs an ItemRef; line amounts are rounded half-up to
  the cent; a negative total is refused (6000). Client-sent SubTotalLineDetail lines are dropped
  and one computed subtotal line is appended. A TxnDate on or before ``BookCloseDate`` is 6210.
  An Invoice's ``DueDate`` defaults to its ``TxnDate``; a CreditMemo has none.
- DocNumber: Invoice and CreditMemo share one space (6140 names the other form's type). With
  ``CustomTxnNumbers`` false the service numbers the forms, continuing from the highest numeric
  DocNumber (from 1001): a DocNumber the client sends is ignored, and an update keeps the form's
  number (§2.6 says QBO numbers them, not that a sent number is refused). With it true and no
  DocNumber the form has none; ``"AUTO_GENERATE"`` forces the next number on invoices only (the
  reference names Invoices, Estimates and SalesReceipts), a credit memo keeps the text as sent.
- US companies: line ``TaxCodeRef`` defaults to ``NON`` and must be ``TAX`` or ``NON`` (6100); no
  sales tax is computed.
- Non-US companies: ``GlobalTaxCalculation`` is required (2020) and must be one of the enum
  (2170); ``TaxInclusive`` is refused as unsupported by the sandbox (500). Every
  SalesItemLineDetail needs a ``TaxCodeRef`` (missing: 6000) naming an existing, active TaxCode
  (2500 otherwise). With ``TaxExcluded`` the tax is computed per TaxRate on the sum of the lines
  whose code includes the rate, rounded half-up once per rate (not per line); a client-sent
  ``TxnTaxDetail`` is replaced by the computed one; discount lines are refused as unsupported
  (the emulator does not model tax after discounts). ``NotApplicable`` computes no tax.
- Invoice void zeroes every line ``Amount`` (and ``Qty`` where given), ``TotalAmt``, the tax and
  sets ``PrivateNote`` to "Voided". A CreditMemo can be deleted, not voided (the reference
  documents no credit-memo void).
- Balances: Invoice ``Balance`` and CreditMemo ``Balance``/``RemainingCredit`` are ``TotalAmt``
  less every payment line linking the form, computed when read; ``LinkedTxn`` lists the payments
  applying a non-zero amount. Applying a payment does not change the form's SyncToken or
  LastUpdatedTime: change data capture reports the payment, not the invoice.
- An invoice or credit memo a payment still applies to cannot be deleted or voided (6000, "unlink
  the payments first"); nor updated to a total below what is applied, or to another customer (6000).
- Payment: each line links exactly one Invoice or CreditMemo (another TxnType is 2170, several
  links on one line 6000) with a positive ``Amount`` (6000). The linked form must exist (610) and
  belong to the payment's customer (620). Lines cannot apply more than a form's open balance or
  remaining credit (6000); invoice lines less credit-memo lines cannot exceed ``TotalAmt`` (6000),
  which cannot be negative (6000). ``PaymentRefNum`` is at most 21 characters like DocNumber
  (2050). ``DepositToAccountRef`` must be a Bank or Other Current Asset account (6000) and
  defaults to Undeposited Funds. ``ARAccountRef`` must be an Accounts Receivable account. The
  sandbox has no payment methods, so any ``PaymentMethodRef`` is 2500, and it charges no cards:
  ``ProcessPayment: true`` or ``CreditCardPayment`` is unsupported (500). Responses carry no
  ``LineEx``.
- Payment void is only ``?operation=update&include=void`` (§1.5): ``TotalAmt``, ``UnappliedAmt``
  and every line ``Amount`` become 0 and ``PrivateNote`` "Voided"; the lines keep their links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, ClassVar

from ledgerlink.sandbox.qbo_banking import AccountType, JournalEntryType, PurchaseType
from ledgerlink.sandbox.qbo_entities import (
    APPLIED_TXN_TYPES,
    Books,
    CompanyDocumentType,
    CustomerType,
    EmployeeType,
    EntityType,
    ItemType,
    TaxCodeType,
    TaxRateType,
    VendorType,
    VoidForm,
    applications,
    as_amount,
    cents,
    check_books_open,
    check_date,
    check_length,
    home_currency,
    open_amount,
    payment_lines,
    reference_id,
    resolve_active,
    resolve_reference,
    sales_rate_ids,
)
from ledgerlink.sandbox.qbo_schema import (
    ACCOUNT_SHAPE,
    COMPANY_INFO_SHAPE,
    CREDIT_MEMO_SHAPE,
    CUSTOMER_SHAPE,
    EMPLOYEE_SHAPE,
    INVOICE_SHAPE,
    ITEM_SHAPE,
    JOURNAL_ENTRY_SHAPE,
    PAYMENT_SHAPE,
    PREFERENCES_SHAPE,
    PURCHASE_SHAPE,
    TAX_CODE_SHAPE,
    TAX_RATE_SHAPE,
    VENDOR_SHAPE,
    QboFault,
    business_validation,
    cannot_link,
    invalid_enumeration,
    invalid_reference,
    required_parameter,
    unsupported_operation,
    unsupported_property,
)

_LINE_DETAIL_KEYS = {
    "SalesItemLineDetail": "SalesItemLineDetail",
    "DiscountLineDetail": "DiscountLineDetail",
    "SubTotalLineDetail": "SubTotalLineDetail",
    "DescriptionOnly": "DescriptionLineDetail",
}
US_LINE_TAX_CODES = ("TAX", "NON")
GLOBAL_TAX_CALCULATIONS = ("TaxExcluded", "TaxInclusive", "NotApplicable")
DEPOSIT_ACCOUNT_TYPES = ("Bank", "Other Current Asset")
UNDEPOSITED_FUNDS = "UndepositedFunds"


# ---------------------------------------------------------------------------------------------
# Sales forms: Invoice and CreditMemo


@dataclass(frozen=True)
class SalesFormType(EntityType):
    """What an invoice and a credit memo share: customer, lines, totals, tax and DocNumber."""

    id_family: str = "txn"
    deletable: bool = True
    #: whether ``DocNumber: "AUTO_GENERATE"`` asks for the next number
    auto_generate: bool = False

    COMPUTED: ClassVar[frozenset[str]] = frozenset({"Balance", "LinkedTxn", "RemainingCredit"})

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
        self.complete_dates(record, txn_date)
        self._assign_doc_number(books, record, record_id, previous)
        tax_calculation = _tax_calculation(books, record)
        record["Line"], subtotal, discount = self._complete_lines(books, lines, previous)
        if discount and tax_calculation == "TaxExcluded":
            raise unsupported_operation(
                "DiscountLineDetail with TaxExcluded (tax after discount) in the sandbox"
            )
        if subtotal - discount < 0:
            raise business_validation("The transaction total cannot be negative.")
        record["TxnTaxDetail"] = tax_detail(books, record["Line"], tax_calculation)
        record["TotalAmt"] = cents(subtotal - discount + record["TxnTaxDetail"]["TotalTax"])
        for computed in ("Balance", "LinkedTxn", "RemainingCredit"):
            record.pop(computed, None)  # derived from the payments when read
        if previous is not None:
            self._check_still_covers_payments(books, record, previous)
        record.setdefault("CurrencyRef", home_currency(books))
        record.setdefault("PrintStatus", "NotSet")
        record.setdefault("EmailStatus", "NotSet")
        record.setdefault("ApplyTaxAfterDiscount", False)

    def complete_dates(self, record: dict[str, Any], txn_date: date) -> None:
        """Dates beyond TxnDate a form type carries (none by default)."""

    def render(self, books: Books, record: Mapping[str, Any]) -> dict[str, Any]:
        out = super().render(books, record)
        out["Balance"] = open_amount(books, self.name, record)
        out["LinkedTxn"] = [
            {"TxnId": payment_id, "TxnType": "Payment"}
            for payment_id in applications(books).linking(self.name, str(record["Id"]))
        ]
        return out

    def check_removable(self, books: Books, record: Mapping[str, Any]) -> None:
        linking = applications(books).linking(self.name, str(record["Id"]))
        if linking:
            raise business_validation(
                f"{self.doc_number_label} {record['Id']} is linked to other transactions "
                f"(Payment {', '.join(linking)}); unlink the payments first."
            )

    def _check_still_covers_payments(
        self, books: Books, record: Mapping[str, Any], previous: Mapping[str, Any]
    ) -> None:
        applied = applications(books).applied(self.name, str(previous["Id"]))
        if not applied:
            return
        if reference_id(record, "CustomerRef") != reference_id(previous, "CustomerRef"):
            raise business_validation(
                "Payments are applied to this transaction; unlink them before changing its customer."
            )
        if record["TotalAmt"] < applied:
            raise business_validation(
                f"The transaction total {record['TotalAmt']} cannot be less than the {applied} "
                "payments apply to it; unlink the payments first."
            )

    # -- DocNumber --

    def _assign_doc_number(
        self,
        books: Books,
        record: dict[str, Any],
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        sent = record.pop("DocNumber", None)
        if books.preference("SalesFormsPrefs", "CustomTxnNumbers") is not True:
            # QBO numbers the forms itself: the client's number is ignored, a form keeps its own.
            kept = previous.get("DocNumber") if previous is not None else None
            record["DocNumber"] = kept or _next_doc_number(books)
            return
        if sent in (None, ""):
            return
        if sent == "AUTO_GENERATE" and self.auto_generate:
            record["DocNumber"] = _next_doc_number(books)
            return
        doc_number = record["DocNumber"] = str(sent)
        check_length(record, "DocNumber", 21)
        for entity, other_id in books.indexes.doc_numbers.holding(doc_number):
            if not (entity == self.name and other_id == record_id):
                raise QboFault(
                    "6140",
                    "Duplicate Document Number Error",
                    "Duplicate Document Number Error : You must specify a different number. "
                    f"This number has already been used. DocNumber={doc_number} is assigned to "
                    f"TxnType={SALES_FORMS[entity]} with TxnId={other_id}",
                )

    # -- lines --

    def _complete_lines(
        self, books: Books, lines: Any, previous: Mapping[str, Any] | None
    ) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
        previous_ids = {str(line.get("Id")) for line in (previous or {}).get("Line", []) if line.get("Id")}
        next_id = max((int(i) for i in previous_ids if _is_digits(i)), default=0) + 1
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
        detail["TaxCodeRef"] = _line_tax_code(books, detail)
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


@dataclass(frozen=True)
class InvoiceType(SalesFormType):
    voidable: bool = True
    doc_number_label: str | None = "Invoice"
    auto_generate: bool = True

    def complete_dates(self, record: dict[str, Any], txn_date: date) -> None:
        record["DueDate"] = (check_date(record, "DueDate") or txn_date).isoformat()

    def void(self, record: dict[str, Any]) -> None:
        for line in record.get("Line", []):
            line["Amount"] = Decimal(0)
            detail = line.get("SalesItemLineDetail")
            if isinstance(detail, dict) and "Qty" in detail:
                detail["Qty"] = Decimal(0)
        record["TotalAmt"] = Decimal(0)
        record["TxnTaxDetail"] = {"TotalTax": Decimal(0)}
        record["PrivateNote"] = "Voided"


@dataclass(frozen=True)
class CreditMemoType(SalesFormType):
    """A credit note: credit the customer can have applied to invoices by a payment (§2.9)."""

    doc_number_label: str | None = "Credit Memo"

    def render(self, books: Books, record: Mapping[str, Any]) -> dict[str, Any]:
        out = super().render(books, record)
        out["RemainingCredit"] = out["Balance"]
        return out


def _is_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _next_doc_number(books: Books) -> str:
    """Continue the company's sales-form numbering: one past the highest numeric DocNumber (from 1001)."""
    highest = books.indexes.highest_doc_number.highest()
    return str((1000 if highest is None else highest) + 1)


# -- Sales tax ---------------------------------------------------------------------------------


def _tax_calculation(books: Books, record: Mapping[str, Any]) -> str | None:
    """The form's ``GlobalTaxCalculation`` in a non-US company (required there); None in the US."""
    if books.country == "US":
        return None
    mode = record.get("GlobalTaxCalculation")
    if mode in (None, ""):
        raise required_parameter("GlobalTaxCalculation")
    if mode not in GLOBAL_TAX_CALCULATIONS:
        raise invalid_enumeration("GlobalTaxCalculation", mode)
    if mode == "TaxInclusive":
        raise unsupported_operation(
            "GlobalTaxCalculation TaxInclusive in the sandbox; send TaxExcluded amounts"
        )
    return str(mode)


def _line_tax_code(books: Books, detail: Mapping[str, Any]) -> dict[str, str]:
    """A sales line's ``TaxCodeRef``: TAX/NON in the US, an active TaxCode elsewhere."""
    code_id = reference_id(detail, "TaxCodeRef")
    if books.country == "US":
        code_id = code_id or "NON"
        if code_id not in US_LINE_TAX_CODES:
            raise QboFault(
                "6100",
                "Invalid Line TaxCode in the request",
                f"Valid Line TaxCodes for US should be TAX or NON. Supplied value:{code_id}",
            )
        return {"value": code_id}
    if code_id is None:
        raise business_validation(
            "Every sales line needs a TaxCodeRef naming one of the company's tax codes."
        )
    code = books.visible("TaxCode", code_id)
    if code is None or code.get("Active", True) is not True:
        raise invalid_reference("TaxCode", code_id, "Line.SalesItemLineDetail.TaxCodeRef")
    return {"value": code_id}


def tax_detail(books: Books, lines: Iterable[Mapping[str, Any]], calculation: str | None) -> dict[str, Any]:
    """``TxnTaxDetail`` as the service computes it: one TaxLine per rate for ``TaxExcluded`` forms."""
    if calculation != "TaxExcluded":
        return {"TotalTax": Decimal(0)}
    taxable: dict[str, Decimal] = {}
    for line in lines:
        if line.get("DetailType") != "SalesItemLineDetail":
            continue
        code = books.visible("TaxCode", line["SalesItemLineDetail"]["TaxCodeRef"]["value"]) or {}
        for rate_id in sales_rate_ids(code):
            taxable[rate_id] = taxable.get(rate_id, Decimal(0)) + Decimal(line["Amount"])
    tax_lines = [
        _tax_line(books, rate_id, net) for rate_id, net in sorted(taxable.items(), key=lambda kv: int(kv[0]))
    ]
    total = sum((Decimal(t["Amount"]) for t in tax_lines), Decimal(0))
    return {"TotalTax": cents(total), "TaxLine": tax_lines}


def _tax_line(books: Books, rate_id: str, net_taxable: Decimal) -> dict[str, Any]:
    rate = books.visible("TaxRate", rate_id) or {}
    percent = Decimal(rate.get("RateValue", 0))
    return {
        "Amount": cents(net_taxable * percent / 100),
        "DetailType": "TaxLineDetail",
        "TaxLineDetail": {
            "TaxRateRef": {"value": rate_id},
            "PercentBased": True,
            "TaxPercent": percent,
            "NetAmountTaxable": cents(net_taxable),
        },
    }


# ---------------------------------------------------------------------------------------------
# Payment


@dataclass(frozen=True)
class PaymentType(EntityType):
    """Money received from a customer, applied line by line to its invoices and credit memos."""

    id_family: str = "txn"
    deletable: bool = True
    voidable: bool = True
    void_form: VoidForm = "include"

    def complete(
        self,
        books: Books,
        record: dict[str, Any],
        *,
        record_id: str | None,
        previous: Mapping[str, Any] | None,
    ) -> None:
        customer_id = reference_id(record, "CustomerRef")
        if customer_id is None:
            raise required_parameter("CustomerRef")
        customer = resolve_active(books, "Customer", customer_id)
        record["CustomerRef"] = {"value": customer_id, "name": customer["DisplayName"]}
        if record.get("TotalAmt") is None:
            raise required_parameter("TotalAmt")
        total = cents(as_amount(record["TotalAmt"], "TotalAmt"))
        if total < 0:
            raise business_validation("The payment amount cannot be negative.")
        for name, limit in (("PrivateNote", 4000), ("PaymentRefNum", 21), ("DocNumber", 21)):
            check_length(record, name, limit)
        txn_date = check_date(record, "TxnDate") or books.today()
        record["TxnDate"] = txn_date.isoformat()
        check_books_open(books, txn_date)
        if record.get("ProcessPayment") is True or "CreditCardPayment" in record:
            raise unsupported_operation("ProcessPayment (charging a card) in the sandbox")
        record["ProcessPayment"] = False
        record["DepositToAccountRef"] = _deposit_account(books, record)
        _check_optional_references(books, record)
        lines = [_payment_line(books, raw, customer_id) for raw in record.get("Line") or []]
        _check_open_amounts(books, lines, previous)
        to_invoices = _applied_sum(lines, "Invoice")
        from_credits = _applied_sum(lines, "CreditMemo")
        if to_invoices - from_credits > total:
            raise business_validation(
                f"The payment applies {to_invoices - from_credits} to invoices (after {from_credits} of "
                f"credit) but its TotalAmt is only {total}."
            )
        record["Line"] = lines
        record["TotalAmt"] = total
        record["UnappliedAmt"] = cents(total - to_invoices + from_credits)
        record.setdefault("CurrencyRef", home_currency(books))

    def void(self, record: dict[str, Any]) -> None:
        for line in record.get("Line", []):
            line["Amount"] = Decimal(0)
        record["TotalAmt"] = Decimal(0)
        record["UnappliedAmt"] = Decimal(0)
        record["PrivateNote"] = "Voided"


def _deposit_account(books: Books, record: Mapping[str, Any]) -> dict[str, str]:
    """Where the money lands: the named Bank/Other Current Asset account, else Undeposited Funds."""
    account_id = reference_id(record, "DepositToAccountRef")
    if account_id is None:
        account = next(
            (
                a
                for a in books.rows("Account")
                if a.get("AccountSubType") == UNDEPOSITED_FUNDS and a.get("Active", True) is True
            ),
            None,
        )
        if account is None:
            raise business_validation("The company has no Undeposited Funds account to receive the payment.")
    else:
        account = resolve_reference(
            books, "Account", account_id, label="Accounts", element="DepositToAccountRef"
        )
        if account.get("AccountType") not in DEPOSIT_ACCOUNT_TYPES:
            raise business_validation(
                f"A payment can be deposited only to a Bank or Other Current Asset account, "
                f"not to {account['Name']} ({account.get('AccountType')})."
            )
    return {"value": str(account["Id"]), "name": str(account["Name"])}


def _check_optional_references(books: Books, record: dict[str, Any]) -> None:
    ar_account_id = reference_id(record, "ARAccountRef")
    if ar_account_id is not None:
        account = resolve_reference(books, "Account", ar_account_id, label="Accounts", element="ARAccountRef")
        if account.get("AccountType") != "Accounts Receivable":
            raise business_validation(
                f"ARAccountRef must be an Accounts Receivable account, not {account['Name']}."
            )
        record["ARAccountRef"] = {"value": ar_account_id, "name": account["Name"]}
    method_id = reference_id(record, "PaymentMethodRef")
    if method_id is not None:
        resolve_reference(
            books, "PaymentMethod", method_id, label="PaymentMethod", element="PaymentMethodRef"
        )


def _payment_line(books: Books, raw: Mapping[str, Any], customer_id: str) -> dict[str, Any]:
    """One payment line as stored: its Amount and the one invoice or credit memo it links."""
    if raw.get("Amount") is None:
        raise required_parameter("Line.Amount")
    amount = cents(as_amount(raw["Amount"], "Line.Amount"))
    if amount <= 0:
        raise business_validation("A payment line must apply a positive Amount.")
    links = raw.get("LinkedTxn") or []
    if not links:
        raise required_parameter("Line.LinkedTxn")
    if len(links) > 1:
        raise business_validation(
            "A payment line links one invoice or credit memo; send one line per transaction."
        )
    link = links[0]
    if link.get("TxnId") in (None, ""):
        raise required_parameter("Line.LinkedTxn.TxnId")
    txn_id, txn_type = str(link["TxnId"]), link.get("TxnType")
    if txn_type is None:
        raise required_parameter("Line.LinkedTxn.TxnType")
    if txn_type not in APPLIED_TXN_TYPES:
        raise invalid_enumeration("Line.LinkedTxn.TxnType", txn_type)
    target = books.visible(txn_type, txn_id)
    if target is None:
        raise QboFault(
            "610",
            "Object Not Found",
            "Object Not Found : Another user has deleted this transaction.",
            element="Payment.Line.LinkedTxn.TxnId",
        )
    if reference_id(target, "CustomerRef") != customer_id:
        raise cannot_link(txn_id)
    line: dict[str, Any] = {"Amount": amount, "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]}
    if raw.get("Description") is not None:
        check_length(raw, "Description", 4000, label="Line.Description")
        line["Description"] = raw["Description"]
    return line


def _check_open_amounts(
    books: Books, lines: list[dict[str, Any]], previous: Mapping[str, Any] | None
) -> None:
    """6000 when the lines apply more to a form than is open on it (this payment's old lines excluded)."""
    requested = _sum_by_txn(payment_lines({"Line": lines}))
    already_mine = _sum_by_txn(payment_lines(previous or {}))
    for (txn_type, txn_id), amount in requested.items():
        target = books.visible(txn_type, txn_id) or {"Id": txn_id}
        available = open_amount(books, txn_type, target) + already_mine.get((txn_type, txn_id), Decimal(0))
        if amount > available:
            raise business_validation(
                f"The payment applies {amount} to {APPLIED_TXN_TYPES[txn_type]} {txn_id}, "
                f"but only {available} is open on it."
            )


def _sum_by_txn(lines: Iterable[tuple[tuple[str, str], Decimal]]) -> dict[tuple[str, str], Decimal]:
    sums: dict[tuple[str, str], Decimal] = {}
    for key, amount in lines:
        sums[key] = sums.get(key, Decimal(0)) + amount
    return sums


def _applied_sum(lines: list[dict[str, Any]], txn_type: str) -> Decimal:
    return sum(
        (Decimal(line["Amount"]) for line in lines if line["LinkedTxn"][0]["TxnType"] == txn_type), Decimal(0)
    )


# ---------------------------------------------------------------------------------------------
# Registry

_SALES_FORM_READ_ONLY = frozenset({"TotalAmt", "Balance", "HomeBalance", "HomeTotalAmt", "LinkedTxn"})

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
        InvoiceType("Invoice", INVOICE_SHAPE, read_only=_SALES_FORM_READ_ONLY | {"InvoiceLink"}),
        CreditMemoType(
            "CreditMemo", CREDIT_MEMO_SHAPE, read_only=_SALES_FORM_READ_ONLY | {"RemainingCredit"}
        ),
        PaymentType("Payment", PAYMENT_SHAPE, read_only=frozenset({"UnappliedAmt", "HomeTotalAmt"})),
        JournalEntryType(
            "JournalEntry", JOURNAL_ENTRY_SHAPE, read_only=frozenset({"TotalAmt", "HomeTotalAmt"})
        ),
        PurchaseType(
            "Purchase", PURCHASE_SHAPE, read_only=frozenset({"TotalAmt", "HomeTotalAmt", "RemitToAddr"})
        ),
        TaxRateType("TaxRate", TAX_RATE_SHAPE),
        TaxCodeType("TaxCode", TAX_CODE_SHAPE, read_only=frozenset({"TaxGroup", "Taxable"})),
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
