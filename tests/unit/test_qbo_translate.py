"""Neutral records → QBO bodies: QBO's name rules, limits and line arithmetic."""

from __future__ import annotations

from decimal import Decimal

from ledgerlink.domain import Address, Contact, LineKind
from ledgerlink.providers.qbo import translate
from ledgerlink.sync.ports import InvoiceDraft, MappedLine
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
