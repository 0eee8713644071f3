"""Clio wire records become domain records; every invoice adds up to its bill's total to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerlink.domain import Address, BillState, Contact, InvoiceLine, LineKind
from ledgerlink.errors import LedgerlinkError
from ledgerlink.providers.clio.client import ACTIVITY_FIELDS, BILL_FIELDS, LINE_ITEM_FIELDS
from ledgerlink.providers.clio.translate import contact_from_clio, invoice_from_clio
from ledgerlink.providers.clio.wire import (
    ClioActivity,
    ClioBill,
    ClioBillingSettings,
    ClioContact,
    ClioLineItem,
)
from ledgerlink.sandbox.clio import ClioEmulator
from ledgerlink.sandbox.clio_records import bill_totals, line_totals
from ledgerlink.sandbox.clio_seed import seed_clio_demo
from ledgerlink.sandbox.state import SandboxState

SETTINGS = ClioBillingSettings(tax_name="Sales Tax", tax_rate=Decimal("8.875"), secondary_tax_name="City Tax")


def _bill(**overrides: Any) -> ClioBill:
    values: dict[str, Any] = {
        "id": 77,
        "number": "1042",
        "state": "awaiting_payment",
        "issued_at": "2026-03-02",
        "due_at": "2026-04-01",
        "total": "0",
        "balance": "0",
        "memo": "Professional services",
        "client": {"id": 12, "name": "Dana Whitfield"},
        "matters": [{"id": 5, "display_number": "00012-Whitfield"}],
    }
    return ClioBill.model_validate({**values, **overrides})


def _line(
    line_id: int, kind: str, quantity: str, price: str, total: str, activity: int | None
) -> ClioLineItem:
    return ClioLineItem.model_validate(
        {
            "id": line_id,
            "kind": kind,
            "description": f"line {line_id}",
            "date": "2026-02-20",
            "quantity": quantity,
            "price": price,
            "total": total,
            "activity": {"id": activity, "type": "TimeEntry"} if activity else None,
        }
    )


DRAFTING = {"id": 501, "type": "TimeEntry", "activity_description": {"id": 1, "name": "Drafting"}}
FILING_FEE = {"id": 502, "type": "ExpenseEntry", "expense_category": {"id": 2, "name": "Filing Fees"}}
ACTIVITIES = {501: ClioActivity.model_validate(DRAFTING), 502: ClioActivity.model_validate(FILING_FEE)}


# --- contacts --------------------------------------------------------------------------------


def test_a_person_keeps_first_and_last_name_and_primary_details() -> None:
    wire = ClioContact.model_validate(
        {
            "id": 12000001,
            "type": "Person",
            "name": "Zoë Åkesson-Nuñez",
            "first_name": "Zoë",
            "last_name": "Åkesson-Nuñez",
            "email_addresses": [
                {"id": 1, "address": "old@example.com", "name": "Home", "primary": False},
                {"id": 2, "address": "zoe@example.com", "name": "Work", "primary": True},
            ],
            "phone_numbers": [{"id": 3, "number": "(212) 555-0101", "name": "Work", "primary": True}],
            "addresses": [
                {
                    "id": 4,
                    "street": "1 Elm St",
                    "city": "Hoboken",
                    "province": "NJ",
                    "postal_code": "07030",
                    "country": "United States",
                    "primary": True,
                },
            ],
            "updated_at": "2026-11-21T21:14:50-05:00",
        }
    )

    contact = contact_from_clio(wire)

    assert contact == Contact(
        source_id="12000001",
        name="Zoë Åkesson-Nuñez",
        is_company=False,
        first_name="Zoë",
        last_name="Åkesson-Nuñez",
        email="zoe@example.com",
        phone="(212) 555-0101",
        address=Address("1 Elm St", "Hoboken", "NJ", "07030", "United States"),
        updated_at=wire.updated_at,
    )


def test_a_company_has_no_person_names_and_falls_back_to_the_first_details() -> None:
    wire = ClioContact.model_validate(
        {
            "id": 9,
            "type": "Company",
            "name": "Back\\Slash Holdings",
            "first_name": "ignored",
            "email_addresses": [{"address": "a@b.example", "primary": False}],
            "addresses": [{"city": "Stamford", "primary": False}],
        }
    )

    contact = contact_from_clio(wire)

    assert (contact.name, contact.is_company, contact.first_name) == ("Back\\Slash Holdings", True, None)
    assert contact.email == "a@b.example"
    assert contact.address == Address(city="Stamford")


def test_a_contact_without_email_or_phone_has_none() -> None:
    wire = ClioContact.model_validate(
        {"id": 3, "type": "Person", "first_name": "Marguerite", "last_name": "Bell"}
    )

    contact = contact_from_clio(wire)

    assert (contact.name, contact.email, contact.phone, contact.address) == (
        "Marguerite Bell",
        None,
        None,
        None,
    )


# --- invoices --------------------------------------------------------------------------------


def test_each_line_item_becomes_an_invoice_line_with_its_category() -> None:
    lines = [
        _line(1, "Service", "1.5", "450.0", "675.00", 501),
        _line(2, "Expense", "1", "125.5", "125.50", 502),
    ]

    invoice = invoice_from_clio(_bill(total="800.50", balance="800.50"), lines, ACTIVITIES, SETTINGS)

    day = date(2026, 2, 20)
    assert invoice.lines == (
        InvoiceLine(
            "1", LineKind.TIME, "line 1", Decimal("675.00"), Decimal("1.5"), Decimal("450.0"), "Drafting", day
        ),
        InvoiceLine(
            "2",
            LineKind.EXPENSE,
            "line 2",
            Decimal("125.50"),
            Decimal(1),
            Decimal("125.5"),
            "Filing Fees",
            day,
        ),
    )
    assert (invoice.source_id, invoice.number, invoice.state, invoice.contact_id) == (
        "77",
        "1042",
        BillState.AWAITING_PAYMENT,
        "12",
    )
    assert (invoice.matter, invoice.total, invoice.balance, invoice.due_at) == (
        "00012-Whitfield",
        Decimal("800.50"),
        Decimal("800.50"),
        date(2026, 4, 1),
    )


def test_primary_tax_is_a_line_of_its_own_named_after_the_firm_tax() -> None:
    lines = [_line(1, "Service", "2", "100", "200.00", 501)]

    invoice = invoice_from_clio(_bill(tax_sum="17.75", total="217.75"), lines, ACTIVITIES, SETTINGS)

    tax = invoice.lines[-1]
    assert (tax.kind, tax.description, tax.amount, tax.source_id) == (
        LineKind.TAX,
        "Sales Tax",
        Decimal("17.75"),
        "77:tax",
    )


def test_secondary_tax_and_interest_follow_the_primary_tax() -> None:
    lines = [_line(1, "Service", "2", "100", "200.00", 501)]
    bill = _bill(tax_sum="17.75", secondary_tax_sum="4.00", interest={"total": "12.34"}, total="234.09")

    invoice = invoice_from_clio(bill, lines, ACTIVITIES, SETTINGS)

    assert [(line.kind, line.description, line.amount) for line in invoice.lines[1:]] == [
        (LineKind.TAX, "Sales Tax", Decimal("17.75")),
        (LineKind.TAX, "City Tax", Decimal("4.00")),
        (LineKind.INTEREST, "Interest", Decimal("12.34")),
    ]
    assert sum(line.amount for line in invoice.lines) == invoice.total


def test_a_bill_without_tax_or_interest_has_no_zero_lines_for_them() -> None:
    invoice = invoice_from_clio(
        _bill(total="200"), [_line(1, "Service", "2", "100", "200.00", 501)], ACTIVITIES, SETTINGS
    )

    assert [line.kind for line in invoice.lines] == [LineKind.TIME]


def test_a_refund_credit_stays_negative_and_a_no_charge_line_stays_zero() -> None:
    lines = [
        _line(1, "Service", "2", "300", "600.00", 501),
        _line(2, "Service", "0.2", "0", "0.00", 501),
        _line(3, "Expense", "1", "-45.00", "-45.00", 502),
    ]

    invoice = invoice_from_clio(_bill(total="555.00"), lines, ACTIVITIES, SETTINGS)

    assert [line.amount for line in invoice.lines] == [Decimal("600.00"), Decimal("0.00"), Decimal("-45.00")]
    assert sum(line.amount for line in invoice.lines) == invoice.total


def test_an_approved_bill_with_no_lines_is_an_empty_invoice_for_zero() -> None:
    invoice = invoice_from_clio(_bill(state="paid", total=0, balance=0), [], ACTIVITIES, SETTINGS)

    assert (invoice.lines, invoice.total, invoice.is_approved) == ((), Decimal("0.00"), True)


def test_a_line_of_an_unknown_kind_is_an_expense_and_a_missing_activity_leaves_no_category() -> None:
    lines = [_line(1, "Product", "3", "10", "30.00", None), _line(2, "Service", "1", "50", "50.00", 999)]

    invoice = invoice_from_clio(_bill(total="80"), lines, ACTIVITIES, SETTINGS)

    assert [(line.kind, line.category) for line in invoice.lines] == [
        (LineKind.EXPENSE, None),
        (LineKind.TIME, None),
    ]


def test_a_bill_in_a_state_ledgerlink_does_not_know_is_an_error_naming_the_bill() -> None:
    bill = _bill(state="archived")  # tolerated on the wire

    with pytest.raises(LedgerlinkError, match=r"1042.*archived"):
        invoice_from_clio(bill, [], ACTIVITIES, SETTINGS)


def test_a_bill_without_client_or_issue_date_is_an_error() -> None:
    with pytest.raises(LedgerlinkError, match="no client"):
        invoice_from_clio(_bill(client=None), [], ACTIVITIES, SETTINGS)
    with pytest.raises(LedgerlinkError, match="no issue date"):
        invoice_from_clio(_bill(issued_at=None), [], ACTIVITIES, SETTINGS)


# --- totals ----------------------------------------------------------------------------------


def test_every_seeded_approved_bill_ties_out_to_the_cent() -> None:
    clio = ClioEmulator(SandboxState())
    seed_clio_demo(clio)
    settings = ClioBillingSettings(tax_name="Sales Tax", tax_rate=Decimal("8.875"))
    lines_of: dict[int, list[ClioLineItem]] = {}
    for line in clio.records("line_item"):
        lines_of.setdefault(line["bill"], []).append(
            ClioLineItem.model_validate(clio.wire("line_item", line["id"], LINE_ITEM_FIELDS))
        )
    activities = {
        a["id"]: ClioActivity.model_validate(clio.wire("activity", a["id"], ACTIVITY_FIELDS))
        for a in clio.records("activity")
    }
    checked = 0

    for record in clio.records("bill"):
        if record["state"] not in ("awaiting_payment", "paid"):
            continue
        bill = ClioBill.model_validate(clio.wire("bill", record["id"], BILL_FIELDS))
        invoice = invoice_from_clio(bill, lines_of.get(bill.id, []), activities, settings)
        assert sum((line.amount for line in invoice.lines), Decimal(0)) == invoice.total, bill.number
        checked += 1

    assert checked > 100


amounts = st.decimals(min_value=-500, max_value=5000, places=2, allow_nan=False, allow_infinity=False)
hours = st.decimals(min_value=0, max_value=24, places=1, allow_nan=False, allow_infinity=False)


@given(
    lines=st.lists(st.tuples(hours, amounts, st.booleans(), st.booleans()), max_size=8),
    tax_rate=st.sampled_from([Decimal(0), Decimal("8.875"), Decimal("13")]),
    secondary_rate=st.sampled_from([Decimal(0), Decimal("5")]),
    interest=st.decimals(min_value=0, max_value=200, places=2, allow_nan=False, allow_infinity=False),
)
def test_any_bill_the_emulator_can_compute_ties_out(
    lines: list[tuple[Decimal, Decimal, bool, bool]],
    tax_rate: Decimal,
    secondary_rate: Decimal,
    interest: Decimal,
) -> None:
    raw = [
        {"quantity": q, "price": p, "taxable": t, "secondary_taxable": s, "kind": "Service"}
        for q, p, t, s in lines
    ]
    for line in raw:
        line.update(line_totals(line, tax_rate, secondary_rate))
    bill: dict[str, Any] = {
        "state": "awaiting_payment",
        "tax_rate": tax_rate,
        "secondary_tax_rate": secondary_rate,
    }
    bill["interest"] = {"total": interest}
    bill.update(bill_totals(bill, raw))
    wire_lines = [
        _line(n, "Service", str(line["quantity"]), str(line["price"]), str(line["total"]), 501)
        for n, line in enumerate(raw, start=1)
    ]
    wire_bill = _bill(
        total=str(bill["total"]),
        tax_sum=str(bill["tax_sum"]),
        secondary_tax_sum=str(bill["secondary_tax_sum"]),
        interest={"total": str(interest)},
    )

    invoice = invoice_from_clio(wire_bill, wire_lines, ACTIVITIES, SETTINGS)

    assert sum((line.amount for line in invoice.lines), Decimal(0)) == invoice.total
