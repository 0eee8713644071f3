"""The wire schema of the QBO emulator: faults, the properties each v3 class knows, JSON and XML.

The service binds request JSON to its schema classes and refuses a property a class does not know
("Unrecognized field ... not marked as ignorable", code 2010, reference §7.10); :meth:`Shape.check`
does the same at every nesting level, with case-sensitive property names. Fault codes and texts
follow the reference (§5.2, §5.3) and the recorded fixtures it cites.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

XML_NAMESPACE = "http://schema.intuit.com/finance/v3"

# ---------------------------------------------------------------------------------------------
# Faults


class QboFault(Exception):
    """An error the service answers with: one entry of ``Fault.Error[]`` plus HTTP status and type."""

    def __init__(
        self,
        code: str,
        message: str,
        detail: str,
        *,
        element: str = "",
        status: int = 400,
        kind: str = "ValidationFault",
    ) -> None:
        super().__init__(f"{code} {message}: {detail}")
        self.code = code
        self.message = message
        self.detail = detail
        self.element = element
        self.status = status
        self.kind = kind

    def error(self) -> dict[str, Any]:
        return {"Message": self.message, "Detail": self.detail, "code": self.code, "element": self.element}

    def envelope(self) -> dict[str, Any]:
        return {"Fault": {"Error": [self.error()], "type": self.kind}}


def object_not_found() -> QboFault:
    return QboFault(
        "610",
        "Object Not Found",
        "Object Not Found : Something you're trying to use has been made inactive. "
        "Check the fields with accounts, customers, items, vendors or employees.",
    )


def required_parameter(name: str) -> QboFault:
    return QboFault(
        "2020",
        "Required param missing, need to supply the required value for the API",
        f"Required parameter {name} is missing in the request",
        element=name,
    )


def string_too_long(name: str, limit: int, supplied: int) -> QboFault:
    return QboFault(
        "2050",
        "String length is either shorter or longer than supported by specification",
        f"String length specified does not match the supported length. "
        f"Min:0 Max:{limit:,} supported. Supplied length:{supplied:,}",
        element=name,
    )


def unsupported_property(detail: str) -> QboFault:
    return QboFault(
        "2010",
        "Request has invalid or unsupported property",
        f"Property Name:{detail} specified is unsupported or invalid",
    )


def business_validation(
    detail: str, message: str = "A business validation error has occurred while processing your request"
) -> QboFault:
    return QboFault("6000", message, f"Business Validation Error: {detail}")


def duplicate_name(detail: str) -> QboFault:
    return QboFault("6240", "Duplicate Name Exists Error", f"The name supplied already exists. : {detail}")


def stale_object() -> QboFault:
    return QboFault(
        "5010",
        "Stale Object Error",
        "Stale Object Error : You and Sandbox User were working on this at the same time. "
        "Sandbox User finished before you did, so your work was not saved.",
    )


def invalid_reference(label: str, ref_id: str, element: str) -> QboFault:
    """2500: a reference names no record of the list it points into (``label`` as the service names it)."""
    return QboFault(
        "2500",
        "Invalid Reference Id",
        f"Invalid Reference Id : {label} element id {ref_id} not found",
        element=element,
    )


def invalid_enumeration(name: str, value: Any) -> QboFault:
    return QboFault(
        "2170", "Invalid Enumeration", f"Invalid Enumeration : {value} is not valid for {name}", element=name
    )


def cannot_link(txn_id: str) -> QboFault:
    """620: a payment line links a transaction it may not (another customer's, §5.3)."""
    return QboFault(
        "620",
        "TxnID Cannot Be Linked",
        f"TxnID Cannot Be Linked : {txn_id}",
        element="Payment.Line.LinkedTxn.TxnId",
    )


def unsupported_operation(detail: str) -> QboFault:
    return QboFault("500", "Unsupported Operation", f"Operation {detail} is not supported.")


# ---------------------------------------------------------------------------------------------
# Wire shapes: which properties the service's schema knows, per class


@dataclass(frozen=True)
class Shape:
    """A class of the v3 schema: its property names and, for nested ones, their shapes.

    A property maps to None (a scalar), a Shape (an object) or a one-element tuple (a list of
    that shape).
    """

    java_name: str
    properties: Mapping[str, Shape | tuple[Shape] | None]

    def check(self, body: Any, path: str = "") -> None:
        """Raise 2010 for a property this class does not know, at any depth."""
        if type(body) is not dict and not isinstance(body, Mapping):
            raise unsupported_property(f"{path or self.java_name} must be an object")
        for key, value in body.items():
            if key not in self.properties:
                raise unsupported_property(
                    f'Unrecognized field "{key}" (class com.intuit.schema.finance.v3.{self.java_name}), '
                    f"not marked as ignorable ({len(self.properties)} known properties)"
                )
            kind = self.properties[key]
            where = f"{path}.{key}" if path else key
            if value is None:
                continue
            if isinstance(kind, Shape):
                kind.check(value, where)
            elif isinstance(kind, tuple):
                if not isinstance(value, list):
                    raise unsupported_property(f"{where} must be a list")
                for item in value:
                    kind[0].check(item, where)
            elif isinstance(value, Mapping | list):
                raise unsupported_property(f"{where} must be a single value")

    def scalar_or_reference(self, name: str) -> bool:
        kind = self.properties.get(name)
        return kind is None or (isinstance(kind, Shape) and kind.java_name == "ReferenceType")


def shape(java_name: str, scalars: str, **nested: Shape | tuple[Shape]) -> Shape:
    properties: dict[str, Shape | tuple[Shape] | None] = dict.fromkeys(scalars.split())
    properties.update(nested)
    return Shape(java_name, properties)


REF = shape("ReferenceType", "value name type")
EMAIL = shape("EmailAddress", "Id Address Default Tag")
PHONE = shape(
    "TelephoneNumber", "Id DeviceType CountryCode AreaCode ExchangeCode Extension FreeFormNumber Default Tag"
)
WEB = shape("WebSiteAddress", "Id URI Default Tag")
ADDRESS = shape(
    "PhysicalAddress",
    "Id Line1 Line2 Line3 Line4 Line5 City Country CountryCode County CountrySubDivisionCode PostalCode "
    "PostalCodeSuffix Lat Long Tag Note",
)
METADATA = shape(
    "ModificationMetaData",
    "CreateTime LastUpdatedTime LastChangedInQB Synchronized",
    CreatedByRef=REF,
    LastModifiedByRef=REF,
)
MEMO = shape("MemoRef", "value id")
CUSTOM_FIELD = shape("CustomField", "DefinitionId Name Type StringValue BooleanValue DateValue NumberValue")
LINKED_TXN = shape("LinkedTxn", "TxnId TxnType TxnLineId")
MARKUP = shape("MarkupInfo", "PercentBased Value Percent", PriceLevelRef=REF, MarkUpIncomeAccountRef=REF)
SALES_ITEM_DETAIL = shape(
    "SalesItemLineDetail",
    "UnitPrice RatePercent Qty ServiceDate TaxInclusiveAmt DiscountRate DiscountAmt",
    ItemRef=REF,
    ClassRef=REF,
    PriceLevelRef=REF,
    MarkupInfo=MARKUP,
    UOMRef=REF,
    ItemAccountRef=REF,
    InventorySiteRef=REF,
    TaxCodeRef=REF,
    TaxClassificationRef=REF,
)
DISCOUNT_DETAIL = shape(
    "DiscountLineDetail",
    "PercentBased DiscountPercent",
    DiscountRef=REF,
    DiscountAccountRef=REF,
    ClassRef=REF,
    TaxCodeRef=REF,
)
SUBTOTAL_DETAIL = shape("SubTotalLineDetail", "", ItemRef=REF)
DESCRIPTION_DETAIL = shape("DescriptionLineDetail", "ServiceDate", TaxCodeRef=REF)
SALES_LINE = shape(
    "Line",
    "Id LineNum Description Amount DetailType",
    LinkedTxn=(LINKED_TXN,),
    CustomField=(CUSTOM_FIELD,),
    SalesItemLineDetail=SALES_ITEM_DETAIL,
    DiscountLineDetail=DISCOUNT_DETAIL,
    SubTotalLineDetail=SUBTOTAL_DETAIL,
    DescriptionLineDetail=DESCRIPTION_DETAIL,
)
TAX_LINE = shape(
    "Line",
    "Id LineNum Description Amount DetailType",
    TaxLineDetail=shape(
        "TaxLineDetail",
        "PercentBased TaxPercent NetAmountTaxable TaxInclusiveAmount OverrideDeltaAmount",
        TaxRateRef=REF,
    ),
)
TXN_TAX_DETAIL = shape("TxnTaxDetail", "TotalTax", TxnTaxCodeRef=REF, TaxLine=(TAX_LINE,))

_COMMON = "Id SyncToken domain sparse status"
_PERSON = "Title GivenName MiddleName FamilyName Suffix DisplayName PrintOnCheckName Active"

CUSTOMER_SHAPE = shape(
    "Customer",
    f"{_COMMON} {_PERSON} CompanyName FullyQualifiedName Notes Job BillWithParent Level Taxable "
    "PreferredDeliveryMethod Balance BalanceWithJobs OpenBalanceDate ResaleNum PrimaryTaxIdentifier "
    "IsProject TaxExemptionReasonId GSTIN BusinessNumber GSTRegistrationType SecondaryTaxIdentifier Source",
    MetaData=METADATA,
    PrimaryEmailAddr=EMAIL,
    PrimaryPhone=PHONE,
    Mobile=PHONE,
    AlternatePhone=PHONE,
    Fax=PHONE,
    WebAddr=WEB,
    BillAddr=ADDRESS,
    ShipAddr=ADDRESS,
    ParentRef=REF,
    DefaultTaxCodeRef=REF,
    SalesTermRef=REF,
    PaymentMethodRef=REF,
    CurrencyRef=REF,
    ARAccountRef=REF,
    CustomerTypeRef=REF,
)
VENDOR_SHAPE = shape(
    "Vendor",
    f"{_COMMON} {_PERSON} CompanyName AcctNum TaxIdentifier Vendor1099 BillRate CostRate Balance GSTIN "
    "BusinessNumber T4AEligible T5018Eligible HasTPAR Source",
    MetaData=METADATA,
    PrimaryEmailAddr=EMAIL,
    PrimaryPhone=PHONE,
    Mobile=PHONE,
    AlternatePhone=PHONE,
    Fax=PHONE,
    WebAddr=WEB,
    BillAddr=ADDRESS,
    TermRef=REF,
    APAccountRef=REF,
    CurrencyRef=REF,
)
EMPLOYEE_SHAPE = shape(
    "Employee",
    f"{_COMMON} {_PERSON} EmployeeNumber SSN BillableTime BillRate CostRate HiredDate ReleasedDate BirthDate "
    "Gender UseTimeEntry Organization",
    MetaData=METADATA,
    PrimaryEmailAddr=EMAIL,
    PrimaryPhone=PHONE,
    Mobile=PHONE,
    PrimaryAddr=ADDRESS,
)
ITEM_SHAPE = shape(
    "Item",
    f"{_COMMON} Name Sku Description Type Active UnitPrice Taxable SalesTaxIncluded PurchaseDesc "
    "PurchaseCost PurchaseTaxIncluded SubItem FullyQualifiedName TrackQtyOnHand QtyOnHand InvStartDate "
    "Level ReorderPoint AbatementRate ReverseChargeRate ServiceType ItemCategoryType Source",
    MetaData=METADATA,
    IncomeAccountRef=REF,
    ExpenseAccountRef=REF,
    AssetAccountRef=REF,
    SalesTaxCodeRef=REF,
    PurchaseTaxCodeRef=REF,
    ParentRef=REF,
    ClassRef=REF,
    PrefVendorRef=REF,
    TaxClassificationRef=REF,
)
ACCOUNT_SHAPE = shape(
    "Account",
    f"{_COMMON} Name AcctNum Description Classification AccountType AccountSubType SubAccount "
    "FullyQualifiedName Active CurrentBalance CurrentBalanceWithSubAccounts TxnLocationType AccountAlias",
    MetaData=METADATA,
    ParentRef=REF,
    CurrencyRef=REF,
    TaxCodeRef=REF,
)
# What every sales form (Invoice, CreditMemo) knows, from the v3 SalesTransaction class.
_SALES_FORM = (
    "DocNumber TxnDate PrivateNote GlobalTaxCalculation ApplyTaxAfterDiscount ExchangeRate Balance "
    "HomeBalance TotalAmt HomeTotalAmt PrintStatus EmailStatus TxnSource TxnStatus AutoDocNumber "
    "FreeFormAddress TransactionLocationType"
)
_SALES_FORM_NESTED: dict[str, Shape | tuple[Shape]] = {
    "MetaData": METADATA,
    "CustomerRef": REF,
    "Line": (SALES_LINE,),
    "SalesTermRef": REF,
    "CustomerMemo": MEMO,
    "BillEmail": EMAIL,
    "BillEmailCc": EMAIL,
    "BillEmailBcc": EMAIL,
    "BillAddr": ADDRESS,
    "ShipAddr": ADDRESS,
    "ShipFromAddr": ADDRESS,
    "CustomField": (CUSTOM_FIELD,),
    "TxnTaxDetail": TXN_TAX_DETAIL,
    "ClassRef": REF,
    "DepartmentRef": REF,
    "CurrencyRef": REF,
    "DepositToAccountRef": REF,
    "LinkedTxn": (LINKED_TXN,),
    "PaymentMethodRef": REF,
    "SalesRepRef": REF,
    "RecurDataRef": REF,
    "TaxExemptionRef": REF,
    "ProjectRef": REF,
}

INVOICE_SHAPE = shape(
    "Invoice",
    f"{_COMMON} {_SALES_FORM} DueDate Deposit AllowIPNPayment AllowOnlinePayment "
    "AllowOnlineCreditCardPayment AllowOnlineACHPayment InvoiceLink ShipDate TrackingNum PONumber FOB",
    **_SALES_FORM_NESTED,
    ShipMethodRef=REF,
)
CREDIT_MEMO_SHAPE = shape(
    "CreditMemo",
    f"{_COMMON} {_SALES_FORM} RemainingCredit",
    **_SALES_FORM_NESTED,
    InvoiceRef=REF,
)
PAYMENT_LINE = shape("Line", "Id LineNum Description Amount", LinkedTxn=(LINKED_TXN,))
PAYMENT_SHAPE = shape(
    "Payment",
    f"{_COMMON} DocNumber TxnDate PrivateNote TotalAmt HomeTotalAmt UnappliedAmt ProcessPayment "
    "PaymentRefNum ExchangeRate TxnSource TxnStatus TransactionLocationType",
    MetaData=METADATA,
    CustomerRef=REF,
    Line=(PAYMENT_LINE,),
    DepositToAccountRef=REF,
    PaymentMethodRef=REF,
    ARAccountRef=REF,
    CurrencyRef=REF,
    DepartmentRef=REF,
    ProjectRef=REF,
    CreditCardPayment=shape(
        "CreditCardPayment",
        "",
        CreditChargeInfo=shape(
            "CreditChargeInfo",
            "Number Type NameOnAcct CcExpiryMonth CcExpiryYear BillAddrStreet PostalCode CommercialCardCode "
            "CCTxnMode CCTxnType PrevCCTransId Amount ProcessPayment",
        ),
        CreditChargeResponse=shape("CreditChargeResponse", "Status AuthCode TxnAuthorizationTime CCTransId"),
    ),
)
_ENTITY_TYPE_REF = shape("EntityTypeRef", "Type", EntityRef=REF)
JOURNAL_ENTRY_LINE = shape(
    "Line",
    "Id LineNum Description Amount DetailType",
    LinkedTxn=(LINKED_TXN,),
    JournalEntryLineDetail=shape(
        "JournalEntryLineDetail",
        "PostingType BillableStatus TaxApplicableOn TaxAmount TaxInclusiveAmt",
        Entity=_ENTITY_TYPE_REF,
        AccountRef=REF,
        ClassRef=REF,
        DepartmentRef=REF,
        TaxCodeRef=REF,
        JournalCodeRef=REF,
    ),
)
JOURNAL_ENTRY_SHAPE = shape(
    "JournalEntry",
    f"{_COMMON} DocNumber TxnDate PrivateNote Adjustment TotalAmt HomeTotalAmt ExchangeRate "
    "GlobalTaxCalculation TxnSource TxnStatus TransactionLocationType",
    MetaData=METADATA,
    Line=(JOURNAL_ENTRY_LINE,),
    CurrencyRef=REF,
    DepartmentRef=REF,
    TxnTaxDetail=TXN_TAX_DETAIL,
    LinkedTxn=(LINKED_TXN,),
    ProjectRef=REF,
)
_EXPENSE_DETAIL = "BillableStatus TaxAmount TaxInclusiveAmt"
PURCHASE_LINE = shape(
    "Line",
    "Id LineNum Description Amount DetailType",
    LinkedTxn=(LINKED_TXN,),
    AccountBasedExpenseLineDetail=shape(
        "AccountBasedExpenseLineDetail",
        _EXPENSE_DETAIL,
        AccountRef=REF,
        CustomerRef=REF,
        ClassRef=REF,
        TaxCodeRef=REF,
        MarkupInfo=MARKUP,
    ),
    ItemBasedExpenseLineDetail=shape(
        "ItemBasedExpenseLineDetail",
        f"{_EXPENSE_DETAIL} Qty UnitPrice",
        ItemRef=REF,
        CustomerRef=REF,
        ClassRef=REF,
        TaxCodeRef=REF,
        PriceLevelRef=REF,
        MarkupInfo=MARKUP,
    ),
)
PURCHASE_SHAPE = shape(
    "Purchase",
    f"{_COMMON} DocNumber TxnDate PrivateNote PaymentType Credit TotalAmt HomeTotalAmt PrintStatus "
    "ExchangeRate GlobalTaxCalculation TxnSource TxnStatus TransactionLocationType",
    MetaData=METADATA,
    AccountRef=REF,
    EntityRef=REF,
    Line=(PURCHASE_LINE,),
    RemitToAddr=ADDRESS,
    PaymentMethodRef=REF,
    TxnTaxDetail=TXN_TAX_DETAIL,
    DepartmentRef=REF,
    CurrencyRef=REF,
    LinkedTxn=(LINKED_TXN,),
    ProjectRef=REF,
)
TIME_ACTIVITY_SHAPE = shape(
    "TimeActivity",
    f"{_COMMON} TxnDate NameOf BillableStatus Taxable HourlyRate CostRate Hours Minutes BreakHours "
    "BreakMinutes StartTime EndTime TimeZone Description",
    MetaData=METADATA,
    EmployeeRef=REF,
    VendorRef=REF,
    CustomerRef=REF,
    ItemRef=REF,
    ClassRef=REF,
    DepartmentRef=REF,
    PayrollItemRef=REF,
)
TAX_RATE_SHAPE = shape(
    "TaxRate",
    f"{_COMMON} Name Description RateValue Active SpecialTaxType DisplayType",
    MetaData=METADATA,
    AgencyRef=REF,
    TaxReturnLineRef=REF,
)
_TAX_RATE_LIST = shape(
    "TaxRateList", "", TaxRateDetail=(shape("TaxRateDetail", "TaxTypeApplicable TaxOrder", TaxRateRef=REF),)
)
TAX_CODE_SHAPE = shape(
    "TaxCode",
    f"{_COMMON} Name Description Active Hidden Taxable TaxGroup",
    MetaData=METADATA,
    SalesTaxRateList=_TAX_RATE_LIST,
    PurchaseTaxRateList=_TAX_RATE_LIST,
)


COMPANY_INFO_SHAPE = shape(
    "CompanyInfo",
    f"{_COMMON} CompanyName LegalName CompanyStartDate FiscalYearStartMonth Country SupportedLanguages "
    "DefaultTimeZone",
    MetaData=METADATA,
    CompanyAddr=ADDRESS,
    LegalAddr=ADDRESS,
    CustomerCommunicationAddr=ADDRESS,
    PrimaryPhone=PHONE,
    Email=EMAIL,
    WebAddr=WEB,
    NameValue=(shape("NameValue", "Name Value"),),
)
PREFERENCES_SHAPE = shape(
    "Preferences",
    _COMMON,
    MetaData=METADATA,
    AccountingInfoPrefs=shape(
        "AccountingInfoPrefs",
        "TrackDepartments DepartmentTerminology "
        "ClassTrackingPerTxn ClassTrackingPerTxnLine CustomerTerminology BookCloseDate "
        "FirstMonthOfFiscalYear UseAccountNumbers TaxYearMonth",
    ),
    SalesFormsPrefs=shape(
        "SalesFormsPrefs",
        "CustomTxnNumbers AllowDeposit AllowDiscount AllowServiceDate "
        "AutoApplyCredit AutoApplyPayments DefaultTerms AllowShipping AllowEstimates "
        "ETransactionEnabledStatus ETransactionAttachPDF ETransactionPaymentEnabled "
        "IPNSupportEnabled UsingPriceLevels UsingProgressInvoicing DefaultCustomerMessage",
        CustomField=(shape("CustomFieldDefinition", "CustomField"),),
    ),
    VendorAndPurchasesPrefs=shape(
        "VendorAndPurchasesPrefs",
        "BillableExpenseTracking TrackingByCustomer DefaultTerms DefaultMarkup",
        POCustomField=(shape("CustomFieldDefinition", "CustomField"),),
    ),
    TimeTrackingPrefs=shape(
        "TimeTrackingPrefs",
        "UseServices BillCustomers ShowBillRateToAll WorkWeekStartDate MarkTimeEntriesBillable",
    ),
    TaxPrefs=shape("TaxPrefs", "UsingSalesTax PartnerTaxEnabled", TaxGroupCodeRef=REF),
    CurrencyPrefs=shape("CurrencyPrefs", "MultiCurrencyEnabled", HomeCurrency=REF),
    ReportPrefs=shape("ReportPrefs", "ReportBasis CalcAgingReportFromTxnDate"),
    OtherPrefs=shape("OtherPrefs", "", NameValue=(shape("NameValue", "Name Value"),)),
    EmailMessagesPrefs=shape("EmailMessagesPrefs", ""),
    ProductAndServicesPrefs=shape(
        "ProductAndServicesPrefs", "ForSales ForPurchase QuantityWithPriceAndRate QuantityOnHand"
    ),
)


# ---------------------------------------------------------------------------------------------
# Wire encoding: JSON with exact Decimals, and the service's XML form


def to_json(value: Any) -> str:
    """JSON text with Decimals written as plain numbers (``100.00`` stays ``100.00``)."""
    kind = type(value)  # the common types first, by exact type: a response holds thousands of values
    if kind is str:
        return _json_string(value)
    if kind is Decimal:
        return format(value, "f")
    if kind is dict:
        return "{" + ",".join(f"{_json_key(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if kind is list:
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if isinstance(value, str):
        return _json_string(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{_json_key(str(k))}:{to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(to_json(v) for v in value) + "]"
    if value is None or isinstance(value, bool):
        return _JSON_CONSTANTS[value]
    return json.dumps(value, ensure_ascii=False)


# json.dumps(text, ensure_ascii=False) and json.dumps(key) without json.dumps's per-call set-up.
_json_string: Callable[[str], str] = json.encoder.encode_basestring
_json_key: Callable[[str], str] = json.encoder.encode_basestring_ascii
_JSON_CONSTANTS = {None: "null", True: "true", False: "false"}


_XML_ATTRIBUTES = {"domain", "sparse", "status", "startPosition", "maxResults", "totalCount", "bId"}


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _xml_fill(element: ElementTree.Element, value: Any) -> None:
    if not isinstance(value, Mapping):
        element.text = _xml_text(value)
        return
    if "value" in value and set(value) <= {"value", "name", "type"}:  # a reference: <ItemRef name="..">1</..>
        element.text = _xml_text(value["value"])
        for key in ("name", "type"):
            if key in value:
                element.set(key, _xml_text(value[key]))
        return
    for key, child in value.items():
        as_attribute = (
            key in _XML_ATTRIBUTES
            or (element.tag == "Fault" and key == "type")
            or (element.tag == "Error" and key in ("code", "element"))
        )
        if as_attribute:
            if child is not None:
                element.set(key, _xml_text(child))
            continue
        for item in child if isinstance(child, list) else [child]:
            if item is not None:
                _xml_fill(ElementTree.SubElement(element, key), item)


def to_xml(envelope: Mapping[str, Any]) -> str:
    """The service's XML form of an envelope: ``<IntuitResponse time=".."><Customer ..>``."""
    root = ElementTree.Element("IntuitResponse", {"xmlns": XML_NAMESPACE})
    for key, value in envelope.items():
        if key == "time":
            root.set("time", str(value))
            continue
        for item in value if isinstance(value, list) else [value]:
            _xml_fill(ElementTree.SubElement(root, key), item)
    return '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + ElementTree.tostring(root, "unicode")
