"""End to end, issue 4: payments, credit notes, bill lifecycle, tax and two-way contacts against the sandbox.

Each test builds a small firm in an empty sandbox, acts as the bookkeeper would in Clio (or in
QuickBooks), runs a pass and checks both sides tie out to the cent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledgerlink.domain import money
from ledgerlink.sandbox import Sandbox
from tests.scenarios.small_firm import SmallFirm, build_small_firm


@pytest.fixture
def small(empty_sandbox: Sandbox, tmp_path: Path) -> Iterator[SmallFirm]:
    yield build_small_firm(empty_sandbox, tmp_path)


def _balance(record: dict[str, Any]) -> Decimal:
    return money(record["Balance"])


def _payments(firm: SmallFirm) -> list[dict[str, Any]]:
    return [p for p in firm.qbo("Payment") if money(p["TotalAmt"]) != 0]


def test_a_paid_bill_ends_with_a_zero_balance_in_quickbooks(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield", "dana@example.com")
    bill = small.bill(dana, hours=("2.0", "1.5"))
    small.sandbox.clio.record_payment(bill["id"])

    result = small.sync()

    invoice = small.invoice(bill["number"])
    assert money(invoice["TotalAmt"]) == Decimal("875.00")
    assert _balance(invoice) == Decimal("0.00")
    [payment] = _payments(small)
    assert money(payment["TotalAmt"]) == Decimal("875.00")
    assert payment["Line"][0]["LinkedTxn"][0]["TxnId"] == invoice["Id"]
    assert result.tally.get("payment", "created") == 1
    assert small.sync().tally.writes == 0


def test_a_payment_over_several_bills_is_one_quickbooks_payment_with_a_line_per_invoice(
    small: SmallFirm,
) -> None:
    dana = small.client("Dana", "Whitfield")
    bills = [small.bill(dana, hours=(h,)) for h in ("1.0", "2.0", "3.0")]
    small.sandbox.clio.record_split_payment(
        dana,
        {
            bills[0]["id"]: Decimal("250.00"),
            bills[1]["id"]: Decimal("500.00"),
            bills[2]["id"]: Decimal("100.00"),
        },
    )

    small.sync()

    [payment] = _payments(small)
    assert money(payment["TotalAmt"]) == Decimal("850.00")
    assert len(payment["Line"]) == 3
    for bill in bills:
        assert _balance(small.invoice(bill["number"])) == money(small.clio_bill(bill["id"])["balance"])


def test_partially_paid_and_credited_bill_has_the_same_balance_on_both_sides(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield")
    bill = small.bill(dana, hours=("4.0",))  # 1,000.00
    clio = small.sandbox.clio
    clio.record_payment(bill["id"], amount=Decimal("300.00"))
    clio.add_credit_memo(dana, {bill["id"]: Decimal("125.50")}, description="Courtesy discount")

    result = small.sync()

    invoice = small.invoice(bill["number"])
    assert money(small.clio_bill(bill["id"])["balance"]) == Decimal("574.50")
    assert _balance(invoice) == Decimal("574.50")
    [memo] = small.qbo("CreditMemo")
    assert money(memo["TotalAmt"]) == Decimal("125.50")
    assert result.tally.get("credit_note", "created") == 1
    assert result.tally.get("credit_application", "created") == 1
    assert small.sync().tally.writes == 0


def test_deleting_a_payment_in_clio_restores_the_quickbooks_balance(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield")
    bill = small.bill(dana)
    clio = small.sandbox.clio
    allocation = clio.record_payment(bill["id"])
    small.sync()
    assert _balance(small.invoice(bill["number"])) == 0

    clio.delete_payment(
        allocation["parent"]["id"] if isinstance(allocation.get("parent"), dict) else allocation["parent"]
    )
    result = small.sync()

    assert _balance(small.invoice(bill["number"])) == Decimal("500.00")
    assert _payments(small) == []
    assert result.tally.get("payment", "deleted") == 1


def test_editing_a_payment_in_clio_updates_it_in_quickbooks(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield")
    bill = small.bill(dana)
    clio = small.sandbox.clio
    allocation = clio.record_payment(bill["id"], amount=Decimal("200.00"))
    small.sync()
    payment_id = (
        allocation["parent"]["id"] if isinstance(allocation.get("parent"), dict) else allocation["parent"]
    )

    clio.edit_payment(payment_id, {bill["id"]: Decimal("350.00")})
    result = small.sync()

    [payment] = _payments(small)
    assert money(payment["TotalAmt"]) == Decimal("350.00")
    assert _balance(small.invoice(bill["number"])) == Decimal("150.00")
    assert result.tally.get("payment", "updated") == 1


def test_a_payment_edited_in_quickbooks_is_overwritten_and_reported(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield")
    bill = small.bill(dana)
    small.sandbox.clio.record_payment(bill["id"], amount=Decimal("200.00"))
    small.sync()
    [payment] = _payments(small)
    invoice = small.invoice(bill["number"])
    small.sandbox.qbo.edit(
        small.realm,
        "Payment",
        payment["Id"],
        TotalAmt=Decimal("150.00"),
        Line=[{"Amount": Decimal("150.00"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    )

    result = small.sync()

    [payment] = _payments(small)
    assert money(payment["TotalAmt"]) == Decimal("200.00")
    assert _balance(small.invoice(bill["number"])) == Decimal("300.00")
    assert any("QuickBooks" in notice for _action, notice in result.notices)


def test_a_voided_bill_voids_its_invoice_and_a_deleted_bill_deletes_it(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield")
    voided, deleted = small.bill(dana), small.bill(dana)
    small.sync()
    clio = small.sandbox.clio
    clio.void_bill(voided["id"])
    clio.update_bill(deleted["id"], state="deleted")

    result = small.sync()

    invoice = small.invoice(voided["number"])
    assert money(invoice["TotalAmt"]) == 0
    assert invoice["PrivateNote"] == "Voided"
    assert [i for i in small.qbo("Invoice") if i.get("DocNumber") == deleted["number"]] == []
    assert result.tally.get("invoice", "voided") == 1
    assert result.tally.get("invoice", "deleted") == 1
    assert small.sync().tally.writes == 0


def test_a_bill_back_in_draft_is_reported_not_left_stale_in_silence(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield")
    bill = small.bill(dana)
    small.sync()
    small.sandbox.clio.update_bill(bill["id"], state="draft")

    result = small.sync()

    [(_action, error)] = result.problems
    assert error.cause == "unapproved"
    assert "Clio" in error.remedy
    assert money(small.invoice(bill["number"])["TotalAmt"]) == Decimal("500.00")


def test_since_backfills_bills_issued_before_the_start_date(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield")
    old = small.bill(dana, issued_at=date(2025, 11, 3))
    small.sync()
    assert not [i for i in small.qbo("Invoice") if i.get("DocNumber") == old["number"]]

    completed = small.cli("sync", "--since", "2025-11-01")

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert money(small.invoice(old["number"])["TotalAmt"]) == Decimal("500.00")


def test_us_tax_arrives_as_one_line_or_one_line_per_charge(empty_sandbox: Sandbox, tmp_path: Path) -> None:
    firm = build_small_firm(empty_sandbox, tmp_path)
    firm.sandbox.clio.set_billing_settings(
        tax_name="Sales Tax", tax_rate=Decimal("8.875"), use_secondary_tax=False, currency="USD"
    )
    dana = firm.client("Dana", "Whitfield")
    bill = firm.bill(dana, hours=("1.3", "2.7"), expenses=("19.99",), taxable=True)
    firm.sandbox.clio.update_bill(bill["id"], tax_rate=Decimal("8.875"))
    bill = firm.clio_bill(bill["id"])

    firm.sync()

    invoice = firm.invoice(bill["number"])
    assert money(invoice["TotalAmt"]) == money(bill["total"])
    tax_lines = [
        line
        for line in invoice["Line"]
        if "Tax" in str(line.get("SalesItemLineDetail", {}).get("ItemRef", {}).get("name", ""))
    ]
    assert len(tax_lines) == 1
    assert money(tax_lines[0]["Amount"]) == money(bill["tax_sum"])


def test_contact_edits_in_quickbooks_flow_back_to_clio_and_conflicts_keep_clio(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield", "dana@example.com")
    small.bill(dana)
    small.sync()
    [customer] = [c for c in small.qbo("Customer") if c["DisplayName"] == "Dana Whitfield"]
    clio = small.sandbox.clio

    small.sandbox.qbo.edit(
        small.realm, "Customer", customer["Id"], PrimaryPhone={"FreeFormNumber": "(212) 555-0142"}
    )
    small.sync()
    contact = clio.get("contact", dana)
    assert contact["primary_phone_number"] == "(212) 555-0142"

    # Both sides change the e-mail: Clio's value is kept on both sides and the conflict is reported.
    clio.update_contact(
        dana, email_addresses=[{"name": "Work", "address": "dana@clio.example", "primary": True}]
    )
    customer = small.sandbox.qbo.get(small.realm, "Customer", customer["Id"])
    small.sandbox.qbo.edit(
        small.realm, "Customer", customer["Id"], PrimaryEmailAddr={"Address": "dana@qbo.example"}
    )
    result = small.sync()

    customer = small.sandbox.qbo.get(small.realm, "Customer", customer["Id"])
    assert customer["PrimaryEmailAddr"]["Address"] == "dana@clio.example"
    assert clio.get("contact", dana)["primary_email_address"] == "dana@clio.example"
    assert any("e-mail" in notice or "email" in notice for _action, notice in result.notices)


def test_custom_transaction_numbers_off_is_an_error_that_says_which_setting_to_turn_on(
    small: SmallFirm,
) -> None:
    small.sandbox.qbo.set_preference(small.realm, "SalesFormsPrefs", "CustomTxnNumbers", False)
    dana = small.client("Dana", "Whitfield")
    small.bill(dana)

    result = small.sync()

    [(_action, error)] = result.problems
    assert error.cause == "custom_numbers_off"
    assert "Custom transaction numbers" in error.remedy
    assert small.qbo("Invoice") == []  # never silently renumbered


def test_a_number_quickbooks_has_for_another_customer_is_an_error_never_a_renumbering(
    small: SmallFirm,
) -> None:
    dana, omar = small.client("Dana", "Whitfield"), small.client("Omar", "Haddad")
    small.bill(omar, number="7001")
    small.sync()
    small.bill(dana, number="7001")

    result = small.sync()

    [(_action, error)] = result.problems
    assert error.cause == "duplicate_number"
    assert len([i for i in small.qbo("Invoice") if i.get("DocNumber") == "7001"]) == 1


def test_a_mapped_expense_category_posts_to_its_product_and_an_unmapped_one_blocks_only_its_bill(
    empty_sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = build_small_firm(empty_sandbox, tmp_path)
    text = firm.config_path.read_text().replace('expense_entries = "Reimbursable Expenses"\n', "")
    firm.config_path.write_text(
        text + '\n[mapping.expense_categories]\n"Filing Fees" = "Reimbursable Expenses"\n'
    )
    clio = firm.sandbox.clio
    filing = clio.add_expense_category(name="Filing Fees")
    courier = clio.add_expense_category(name="Courier")
    dana = firm.client("Dana", "Whitfield")
    bills = {}
    for name, category in (("filing", filing), ("courier", courier)):
        bill = firm.bill(dana, hours=())
        activity = clio.add_activity(
            type="ExpenseEntry", expense_category=category["id"], date=date(2026, 3, 1),
            matter=firm.matters[dana], price=Decimal("45.00"), note=name,
        )  # fmt: skip
        clio.add_line_item(
            bill=bill["id"], activity=activity["id"], kind="Expense", description=name,
            quantity=Decimal(1), price=Decimal("45.00"),
        )  # fmt: skip
        bills[name] = firm.clio_bill(bill["id"])

    result = firm.sync()

    [(action, error)] = result.problems
    assert action.source_id == str(bills["courier"]["id"]) and error.cause == "unmapped_category"
    assert "Courier" in error.message
    line = firm.invoice(bills["filing"]["number"])["Line"][0]
    assert line["SalesItemLineDetail"]["ItemRef"]["name"] == "Reimbursable Expenses"


def test_a_bill_voided_after_its_payment_was_deleted_loses_the_payment_first_then_is_voided(
    small: SmallFirm,
) -> None:
    dana = small.client("Dana", "Whitfield")
    bill = small.bill(dana)
    clio = small.sandbox.clio
    allocation = clio.record_payment(bill["id"], amount=Decimal("100.00"))
    small.sync()
    # In Clio a bill with payments cannot be voided: the bookkeeper deletes the payment, then voids.
    clio.delete_payment(allocation["parent"]["id"])
    clio.void_bill(bill["id"])

    result = small.sync()

    assert result.problems == []
    assert _payments(small) == []
    assert small.invoice(bill["number"])["PrivateNote"] == "Voided"
    assert result.tally.get("payment", "deleted") == 1 and result.tally.get("invoice", "voided") == 1


def test_us_tax_per_charge_gives_one_tax_line_per_taxed_charge_and_still_ties_out(
    empty_sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = build_small_firm(empty_sandbox, tmp_path)
    text = firm.config_path.read_text()
    assert "[sync]\n" in text
    firm.config_path.write_text(text.replace("[sync]\n", "[sync]\naggregate_line_item_taxes = false\n"))
    dana = firm.client("Dana", "Whitfield")
    bill = firm.bill(dana, hours=("1.3", "2.7", "0.7"), expenses=("19.99",), taxable=True, tax_rate="8.875")

    result = firm.sync()

    assert result.problems == []
    invoice = firm.invoice(bill["number"])
    taxes = [
        line for line in invoice["Line"]
        if line.get("SalesItemLineDetail", {}).get("ItemRef", {}).get("name") == "Sales Tax"
    ]  # fmt: skip
    assert len(taxes) == 4
    assert sum(money(line["Amount"]) for line in taxes) == money(bill["tax_sum"])
    assert money(invoice["TotalAmt"]) == money(bill["total"])


def test_a_name_and_address_edited_in_quickbooks_reach_the_clio_contact(small: SmallFirm) -> None:
    dana = small.client("Dana", "Whitfield", "dana@example.com")
    small.bill(dana)
    small.sync()
    [customer] = [c for c in small.qbo("Customer") if c["DisplayName"] == "Dana Whitfield"]

    small.sandbox.qbo.edit(
        small.realm,
        "Customer",
        customer["Id"],
        GivenName="Dana",
        FamilyName="Whitfield-Ames",
        DisplayName="Dana Whitfield-Ames",
        BillAddr={
            "Line1": "12 Harbor Street",
            "City": "Portland",
            "CountrySubDivisionCode": "ME",
            "PostalCode": "04101",
        },
    )
    result = small.sync()

    contact = small.sandbox.clio.get("contact", dana)
    assert contact["last_name"] == "Whitfield-Ames"
    [address] = contact["addresses"]
    assert (address["street"], address["city"], address["postal_code"]) == (
        "12 Harbor Street",
        "Portland",
        "04101",
    )
    assert result.tally.get("contact_writeback", "updated") == 1
    assert small.sync().tally.writes == 0  # the merge base now holds both sides: nothing flips back
