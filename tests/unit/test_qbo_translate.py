"""Neutral records → QBO bodies: QBO's name rules, limits and line arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from ledgerlink.domain import Address, Application, Contact, CreditNote, LineKind, Payment
from ledgerlink.providers.qbo import translate, wire
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    LedgerCustomer,
    LedgerSettings,
    MappedLine,
    PaymentDraft,
    Settlement,
    TaxCode,
)
from tests.factories import contact, invoice, line

ITEMS = {"Legal Services": "1", "Filing Fees": "3"}


def test_person_becomes_customer_with_given_and_family_name_and_email() -> None:
    body = translate.customer_fields(contact(address=Address(street="1 Main St", city="Springfield")))
    assert body == {
        "DisplayName": "Dana Whitfield",
        "GivenName": "Dana",
        "FamilyName": "Whitfield",
        "PrimaryEmailAddr": {"Address": "dana@example.com"},
        "BillAddr": {"Line1": "1 Main St", "City": "Springfield"},
    }


def test_company_name_over_100_characters_is_cut_for_company_name_but_kept_in_display_name() -> None:
    name = "The " + "Very " * 23 + "Long Company Inc"
    body = translate.customer_fields(Contact(source_id="5", name=name, is_company=True))
    assert len(name) > 100
    assert body["DisplayName"] == name
    assert len(body["CompanyName"]) <= 100


def test_colons_tabs_and_newlines_never_reach_a_qbo_name() -> None:
    assert translate.clean_name("Acme: Holdings\tWest\nDivision", 500) == "Acme - Holdings West Division"


def test_unicode_apostrophes_and_backslashes_pass_through_unchanged() -> None:
    for name in ("Zoë Åkesson-Nuñez", "Patrick O'Brien", "Back\\Slash Holdings"):
        assert translate.customer_fields(Contact(source_id="1", name=name))["DisplayName"] == name


def test_invalid_email_is_left_out_rather_than_refused() -> None:
    assert "PrimaryEmailAddr" not in translate.customer_fields(contact(email="not-an-address"))


def test_invoice_lines_carry_qty_and_rate_only_when_they_multiply_to_the_amount() -> None:
    exact = line("1", amount="375.00", quantity="1.5", price="250.00")
    rounded_elsewhere = line("2", amount="33.34", quantity="0.3333", price="100.00")
    draft = InvoiceDraft(
        invoice(lines=(exact, rounded_elsewhere)),
        "C1",
        (MappedLine(exact, "Legal Services"), MappedLine(rounded_elsewhere, "Legal Services")),
    )
    first, second = translate.invoice_lines(draft, ITEMS)
    assert first["SalesItemLineDetail"]["Qty"] == Decimal("1.5")
    assert first["Amount"] == Decimal("375.00")
    assert "Qty" not in second["SalesItemLineDetail"] and second["Amount"] == Decimal("33.34")


def test_create_body_has_doc_number_customer_and_the_crash_marker() -> None:
    bill = invoice(lines=(line("1", LineKind.EXPENSE, "35.00", "Filing Fees"),))
    draft = InvoiceDraft(bill, "C1", (MappedLine(bill.lines[0], "Filing Fees"),))
    body = translate.invoice_create_body(draft, ITEMS, key="abc123")
    assert body["DocNumber"] == "1001" and body["CustomerRef"] == {"value": "C1"}
    assert body["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"] == "3"
    assert translate.marker("abc123") in body["PrivateNote"]


# -- payments, credit memos, applying credits ----------------------------------------------------------


def payment_draft(
    reference: str | None = "CHK 20417", deposit: str | None = "Operating Checking"
) -> PaymentDraft:
    paid = Payment(
        source_id="77",
        contact_id="1",
        date=date(2026, 3, 9),
        applications=(
            Application("a1", "100", Decimal("250.00")),
            Application("a2", "101", Decimal("99.99")),
        ),
        reference=reference,
    )
    return PaymentDraft(
        paid, "C1", (Settlement("INV-1", Decimal("250.00")), Settlement("INV-2", Decimal("99.99"))), deposit
    )


def credit(description: str | None = "Courtesy discount") -> CreditNote:
    return CreditNote(
        source_id="55",
        contact_id="1",
        date=date(2026, 3, 12),
        applications=(Application("c1", "100", Decimal("40.00")), Application("c2", "101", Decimal("10.50"))),
        description=description,
    )


def test_a_payment_links_each_invoice_it_pays_and_totals_their_sum() -> None:
    body = translate.payment_create_body(payment_draft(), "35", key="k-pay")
    assert body == {
        "CustomerRef": {"value": "C1"},
        "TxnDate": "2026-03-09",
        "TotalAmt": Decimal("349.99"),
        "Line": [
            {"Amount": Decimal("250.00"), "LinkedTxn": [{"TxnId": "INV-1", "TxnType": "Invoice"}]},
            {"Amount": Decimal("99.99"), "LinkedTxn": [{"TxnId": "INV-2", "TxnType": "Invoice"}]},
        ],
        "DepositToAccountRef": {"value": "35"},
        "PaymentRefNum": "CHK 20417",
        "PrivateNote": "Clio payment (id 77) [ledgerlink k-pay]",
    }


def test_a_payment_without_deposit_account_leaves_it_to_undeposited_funds_and_cuts_long_references() -> None:
    body = translate.payment_fields(payment_draft(reference="W" * 30, deposit=None), None)
    assert "DepositToAccountRef" not in body and "PrivateNote" not in body
    assert body["PaymentRefNum"] == "W" * 21


def test_a_payment_without_reference_sends_no_reference_number() -> None:
    assert "PaymentRefNum" not in translate.payment_fields(payment_draft(reference="  "), None)


def test_a_credit_memo_is_one_line_on_the_credit_item_without_a_doc_number() -> None:
    draft = CreditNoteDraft(credit(), "C1", "Legal Services")
    body = translate.credit_memo_create_body(draft, "1", None, key="k-cm")
    assert body == {
        "CustomerRef": {"value": "C1"},
        "TxnDate": "2026-03-12",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("50.50"),
                "Description": "Courtesy discount",
                "SalesItemLineDetail": {"ItemRef": {"value": "1", "name": "Legal Services"}},
            }
        ],
        "PrivateNote": "Clio credit note (id 55): Courtesy discount [ledgerlink k-cm]",
    }


def test_a_credit_memo_in_a_tax_computing_company_names_the_zero_code_and_excludes_tax() -> None:
    body = translate.credit_memo_fields(CreditNoteDraft(credit(None), "C1", "Legal Services"), "1", "7")
    assert body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "7"}
    assert body["GlobalTaxCalculation"] == "TaxExcluded"
    assert body["Line"][0]["Description"] == "Clio credit note 55"


def test_a_long_description_never_cuts_the_marker_from_the_private_note() -> None:
    body = translate.credit_memo_create_body(
        CreditNoteDraft(credit("x" * 5000), "C1", "S"), "1", None, key="k"
    )
    assert len(body["PrivateNote"]) == translate.MAX_PRIVATE_NOTE
    assert body["PrivateNote"].endswith("[ledgerlink k]")


def test_applying_a_credit_is_a_zero_total_payment_with_one_credit_memo_line_for_the_sum() -> None:
    draft = CreditApplicationDraft(
        credit(), "C1", "CM-9", (Settlement("INV-1", Decimal("40.00")), Settlement("INV-2", Decimal("10.50")))
    )
    body = translate.credit_application_create_body(draft, key="k-app")
    assert body == {
        "CustomerRef": {"value": "C1"},
        "TxnDate": "2026-03-12",
        "TotalAmt": Decimal("0.00"),
        "Line": [
            {"Amount": Decimal("40.00"), "LinkedTxn": [{"TxnId": "INV-1", "TxnType": "Invoice"}]},
            {"Amount": Decimal("10.50"), "LinkedTxn": [{"TxnId": "INV-2", "TxnType": "Invoice"}]},
            {"Amount": Decimal("50.50"), "LinkedTxn": [{"TxnId": "CM-9", "TxnType": "CreditMemo"}]},
        ],
        "PrivateNote": "Clio credit note (id 55) applied [ledgerlink k-app]",
    }


# -- tax codes on invoice lines ------------------------------------------------------------------------


def test_tax_coded_lines_name_their_code_and_the_invoice_excludes_tax() -> None:
    fee, filing = line("1"), line("2", LineKind.EXPENSE, "35.00", "Filing Fees")
    draft = InvoiceDraft(
        invoice(lines=(fee, filing)),
        "C1",
        (MappedLine(fee, "Legal Services", tax_code="4"), MappedLine(filing, "Filing Fees", tax_code="9")),
        expected_tax=Decimal("12.50"),
    )
    body = translate.invoice_create_body(draft, ITEMS, key="k")
    assert [ln["SalesItemLineDetail"]["TaxCodeRef"] for ln in body["Line"]] == [
        {"value": "4"},
        {"value": "9"},
    ]
    assert body["GlobalTaxCalculation"] == "TaxExcluded"
    assert translate.invoice_fields(draft, ITEMS)["GlobalTaxCalculation"] == "TaxExcluded"


def test_us_invoices_carry_no_tax_code_and_no_global_tax_calculation() -> None:
    bill = invoice()
    body = translate.invoice_fields(
        InvoiceDraft(bill, "C1", (MappedLine(bill.lines[0], "Legal Services"),)), ITEMS
    )
    assert "GlobalTaxCalculation" not in body
    assert "TaxCodeRef" not in body["Line"][0]["SalesItemLineDetail"]


# -- batch request ids ---------------------------------------------------------------------------------


def test_a_batch_request_id_is_deterministic_short_and_depends_on_every_key_and_their_order() -> None:
    keys = [f"{n:032x}" for n in range(30)]
    rid = translate.batch_request_id(keys)
    assert rid == translate.batch_request_id(list(keys)) and len(rid) == 36
    assert rid.startswith("ll-")
    assert translate.batch_request_id(keys[:-1]) != rid
    assert translate.batch_request_id([*keys[1:], keys[0]]) != rid


# -- the ledger read back ------------------------------------------------------------------------------


CUSTOMER_ROW = {
    "Id": "58",
    "SyncToken": "3",
    "DisplayName": "Dana Whitfield (deleted)",
    "GivenName": "Dana",
    "FamilyName": "Whitfield",
    "Active": False,
    "PrimaryEmailAddr": {"Address": "dana@example.com"},
    "PrimaryPhone": {"FreeFormNumber": "(555) 010-2000"},
    "BillAddr": {
        "Id": "9",
        "Line1": "1 Main St",
        "Line2": "Suite 4",
        "City": "Springfield",
        "PostalCode": "94000",
    },
    "Balance": Decimal("0"),
}


def test_a_customer_reads_back_with_phone_address_and_names() -> None:
    assert translate.ledger_customer(CUSTOMER_ROW) == LedgerCustomer(
        id="58",
        display_name="Dana Whitfield (deleted)",
        email="dana@example.com",
        active=False,
        version="3",
        phone="(555) 010-2000",
        address=Address(street="1 Main St\nSuite 4", city="Springfield", postal_code="94000"),
        given_name="Dana",
        family_name="Whitfield",
    )
    assert translate.ledger_customer(CUSTOMER_ROW, bare_name=True).display_name == "Dana Whitfield"


def test_a_customer_without_contact_details_reads_back_with_none() -> None:
    bare = translate.ledger_customer(
        {"Id": "1", "SyncToken": "0", "DisplayName": "Acme", "BillAddr": {"Id": "2"}}
    )
    assert (bare.email, bare.phone, bare.address, bare.given_name) == (None, None, None, None)


TAX_RATES = [
    {"Id": "1", "Name": "GST", "RateValue": Decimal("5")},
    {"Id": "2", "Name": "PST BC", "RateValue": Decimal("7")},
    {"Id": "3", "Name": "GST purchases", "RateValue": Decimal("5")},
]


def tax_code_row(code_id: str, name: str, *rate_ids: str, active: bool = True) -> dict[str, object]:
    return {
        "Id": code_id,
        "Name": name,
        "Active": active,
        "SalesTaxRateList": {"TaxRateDetail": [{"TaxRateRef": {"value": r}} for r in rate_ids]},
        "PurchaseTaxRateList": {"TaxRateDetail": [{"TaxRateRef": {"value": "3"}}]},
    }


def test_a_tax_code_charges_the_sum_of_its_sales_rates() -> None:
    codes = translate.tax_codes(
        [
            tax_code_row("4", "GST/PST BC", "1", "2"),
            tax_code_row("5", "Exempt"),
            tax_code_row("6", "Old", active=False),
        ],
        TAX_RATES,
    )
    assert codes == (
        TaxCode("4", "GST/PST BC", Decimal("12")),
        TaxCode("5", "Exempt", Decimal("0")),
        TaxCode("6", "Old", Decimal("0"), active=False),
    )
    assert translate.zero_rate_code(codes) == TaxCode("5", "Exempt", Decimal("0"))
    assert translate.zero_rate_code([codes[0], codes[2]]) is None


def test_settings_read_numbering_country_and_tax() -> None:
    prefs = {"SalesFormsPrefs": {"CustomTxnNumbers": True}, "TaxPrefs": {"UsingSalesTax": True}}
    canada = translate.ledger_settings(prefs, {"Country": "CA"}, ())
    assert canada == LedgerSettings(custom_numbers=True, computes_tax=True, country="CA")
    us = translate.ledger_settings(prefs, {"Country": "USA"}, ())
    assert (us.computes_tax, us.country) == (False, "US")
    no_tax = translate.ledger_settings({"TaxPrefs": {"UsingSalesTax": False}}, {"Country": "GB"}, ())
    assert (no_tax.custom_numbers, no_tax.computes_tax) == (False, False)


def test_change_data_capture_asks_for_customers_and_the_entities_of_the_kinds() -> None:
    assert translate.cdc_entities(["invoice", "payment", "credit_application", "credit_note"]) == [
        "Customer",
        "Invoice",
        "Payment",
        "CreditMemo",
    ]
    assert translate.cdc_entities(["time_entry"]) == ["Customer"]


def test_changes_give_versions_per_kind_and_none_for_deleted_records() -> None:
    rows = {
        "Customer": [CUSTOMER_ROW],
        "Payment": [{"Id": "70", "SyncToken": "2"}, {"Id": "71", "status": "Deleted"}],
        "Invoice": [{"Id": "60", "SyncToken": "5"}],
    }
    changes = translate.ledger_changes(rows, ["payment", "credit_application", "invoice", "credit_note"])
    assert [c.display_name for c in changes.customers] == ["Dana Whitfield"]
    assert changes.versions == {
        "payment": {"70": "2", "71": None},
        "credit_application": {"70": "2", "71": None},
        "invoice": {"60": "5"},
        "credit_note": {},
    }


# -- request bodies on the wire -----------------------------------------------------------------


def test_a_request_body_is_json_with_amounts_as_plain_numbers_keeping_every_digit() -> None:
    body = {
        "Amount": Decimal("1E+2"),
        "Qty": Decimal("2.50"),
        "Description": 'Müller “brief”\n"quoted"\x00',
        "Line": [{"LineNum": 3, "Active": True, "Taxable": False, "Memo": None}],
        "TxnDate": date(2026, 3, 1),
        "Kind": LineKind.TIME,
        "Ids": ("1", "2"),
    }

    assert (
        wire.dumps(body)
        == (
            '{"Amount":100,"Qty":2.50,"Description":"Müller “brief”\\n\\"quoted\\"\\u0000",'
            '"Line":[{"LineNum":3,"Active":true,"Taxable":false,"Memo":null}],'
            '"TxnDate":"2026-03-01","Kind":"time","Ids":["1","2"]}'
        ).encode()
    )
    with pytest.raises(ValueError, match="not a finite amount"):
        wire.dumps({"Amount": Decimal("NaN")})
