"""Clio wire records become domain records; every invoice adds up to its bill's total to the cent."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledgerlink.domain import (
    Address,
    Application,
    BillState,
    Contact,
    ContactEdit,
    CreditNote,
    InvoiceLine,
    LineKind,
    Payment,
    TaxSettings,
)
from ledgerlink.errors import LedgerlinkError
from ledgerlink.providers.clio.client import ACTIVITY_FIELDS, ALLOCATION_FIELDS, BILL_FIELDS, LINE_ITEM_FIELDS
from ledgerlink.providers.clio.translate import (
    contact_edit_body,
    contact_from_clio,
    credit_notes_from_allocations,
    invoice_from_clio,
    payments_from_allocations,
    tax_settings_from_clio,
)
from ledgerlink.providers.clio.wire import (
    ClioActivity,
    ClioAllocation,
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
        if record["state"] not in ("awaiting_payment", "paid") or record["kind"] == "trust_kind":
            continue  # trust requests are never invoices
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


# --- tax ---------------------------------------------------------------------------------------


def test_each_line_carries_its_tax_flags_and_the_invoice_the_bill_tax_sums() -> None:
    line = ClioLineItem.model_validate(
        {
            "id": 1,
            "kind": "Service",
            "quantity": "2",
            "price": "100",
            "total": "200.00",
            "taxable": True,
            "secondary_taxable": True,
            "tax": "17.75",
            "secondary_tax": "10.0",
        }
    )
    bill = _bill(tax_sum="17.75", secondary_tax_sum="10.00", total="227.75")

    invoice = invoice_from_clio(bill, [line], ACTIVITIES, SETTINGS)

    first = invoice.lines[0]
    assert (first.taxable, first.secondary_taxable, first.tax, first.secondary_tax) == (
        True,
        True,
        Decimal("17.75"),
        Decimal("10.00"),
    )
    assert (invoice.tax, invoice.secondary_tax, invoice.total_tax) == (
        Decimal("17.75"),
        Decimal("10.00"),
        Decimal("27.75"),
    )
    assert [li.kind for li in invoice.lines] == [LineKind.TIME, LineKind.TAX, LineKind.TAX]


def test_an_untaxed_line_says_so() -> None:
    invoice = invoice_from_clio(
        _bill(total="200"), [_line(1, "Service", "2", "100", "200.00", 501)], ACTIVITIES, SETTINGS
    )

    line = invoice.lines[0]
    assert (line.taxable, line.secondary_taxable, line.tax, invoice.tax) == (
        False,
        False,
        Decimal(0),
        Decimal(0),
    )


def test_tax_settings_keep_both_taxes_and_whether_the_second_applies() -> None:
    settings = ClioBillingSettings(
        tax_name="GST",
        tax_rate=Decimal("5"),
        use_secondary_tax=True,
        secondary_tax_name="PST",
        secondary_tax_rate=Decimal("7"),
    )

    assert tax_settings_from_clio(settings) == TaxSettings("GST", Decimal("5"), "PST", Decimal("7"), True)
    assert tax_settings_from_clio(ClioBillingSettings()) == TaxSettings(
        "Tax", Decimal(0), None, Decimal(0), False
    )


# --- payments and credit notes -------------------------------------------------------------------


def _allocation(
    allocation_id: int,
    parent: int,
    bill: int | None,
    amount: str,
    *,
    parent_type: str = "Payment",
    day: str = "2026-03-10",
    voided_at: str | None = None,
    updated_at: str = "2026-03-10T10:00:00-05:00",
    **extra: Any,
) -> ClioAllocation:
    return ClioAllocation.model_validate(
        {
            "id": allocation_id,
            "date": day,
            "amount": amount,
            "voided_at": voided_at,
            "updated_at": updated_at,
            "bill": {"id": bill} if bill else None,
            "contact": {"id": 12},
            "parent": {"id": parent, "type": parent_type},
            **extra,
        }
    )


def test_allocations_of_one_payment_make_one_payment_over_its_bills() -> None:
    allocations = [
        _allocation(3, 900, 77, "500.00", day="2026-03-09"),
        _allocation(1, 900, 78, "100.5"),
        _allocation(2, 901, 77, "20.00", source_bank_account={"id": 5, "type": "Trust"}),
    ]

    payments = payments_from_allocations(allocations)

    assert payments == [
        Payment(
            source_id="900",
            contact_id="12",
            date=date(2026, 3, 10),
            applications=(
                Application("1", "78", Decimal("100.50")),
                Application("3", "77", Decimal("500.00")),
            ),
            updated_at=allocations[0].updated_at,
        ),
        Payment(
            source_id="901",
            contact_id="12",
            date=date(2026, 3, 10),
            applications=(Application("2", "77", Decimal("20.00")),),
            from_trust=True,
            updated_at=allocations[2].updated_at,
        ),
    ]
    assert payments[0].total == Decimal("600.50") and payments[0].bill_ids == ("78", "77")


def test_an_operating_source_account_is_not_trust() -> None:
    [payment] = payments_from_allocations(
        [_allocation(1, 900, 77, "5", source_bank_account={"id": 4, "type": "Operating"})]
    )

    assert not payment.from_trust


def test_a_payment_applies_only_its_valid_allocations() -> None:
    allocations = [
        _allocation(1, 900, 77, "100", voided_at="2026-03-11T09:00:00-05:00"),
        _allocation(2, 900, 78, "50"),
    ]

    [payment] = payments_from_allocations(allocations)

    assert not payment.voided and [a.bill_id for a in payment.applications] == ["78"]


def test_a_payment_with_every_allocation_voided_is_voided_with_what_it_applied_last() -> None:
    removed_earlier = _allocation(1, 900, 76, "10", voided_at="2026-03-11T09:00:00-05:00")
    deleted = [
        _allocation(2, 900, 77, "100", voided_at="2026-03-12T09:00:00-05:00"),
        _allocation(3, 900, 78, "50", voided_at="2026-03-12T09:00:00-05:00"),
    ]

    [payment] = payments_from_allocations([removed_earlier, *deleted])

    assert payment.voided
    assert [(a.bill_id, a.amount) for a in payment.applications] == [
        ("77", Decimal("100.00")),
        ("78", Decimal("50.00")),
    ]


def test_an_allocation_read_twice_counts_once_as_its_latest_version() -> None:
    old = _allocation(1, 900, 77, "100", updated_at="2026-03-10T10:00:00-05:00")
    new = _allocation(1, 900, 77, "150", updated_at="2026-03-10T11:00:00-05:00")

    assert payments_from_allocations([new, old])[0].applications == (
        Application("1", "77", Decimal("150.00")),
    )
    assert payments_from_allocations([old, new])[0].applications == (
        Application("1", "77", Decimal("150.00")),
    )


def test_an_interest_allocation_without_a_bill_applies_to_no_invoice() -> None:
    [payment] = payments_from_allocations([_allocation(1, 900, None, "3.00"), _allocation(2, 900, 77, "10")])

    assert payment.applications == (Application("2", "77", Decimal("10.00")),)


def test_payments_and_credit_notes_are_told_apart_by_their_parent_type() -> None:
    allocations = [
        _allocation(1, 900, 77, "100"),
        _allocation(2, 900, 77, "25", parent_type="CreditMemo", description="Courtesy discount"),
        _allocation(3, 900, 78, "5", parent_type="CreditMemo", description="Courtesy discount"),
    ]

    payments = payments_from_allocations(allocations)
    credits = credit_notes_from_allocations(allocations)

    assert [(p.source_id, p.total) for p in payments] == [("900", Decimal("100.00"))]
    assert credits == [
        CreditNote(
            source_id="900",
            contact_id="12",
            date=date(2026, 3, 10),
            applications=(Application("2", "77", Decimal("25.00")), Application("3", "78", Decimal("5.00"))),
            description="Courtesy discount",
            updated_at=allocations[1].updated_at,
        )
    ]


def test_a_payment_whose_allocations_name_no_client_is_an_error() -> None:
    orphan = _allocation(1, 900, 77, "100").model_copy(update={"contact": None})

    with pytest.raises(LedgerlinkError, match="Payment 900"):
        payments_from_allocations([orphan])


def test_the_emulator_allocations_read_with_the_client_fields_translate() -> None:
    clio = ClioEmulator(SandboxState())
    contact = clio.add_contact(type="Company", name="Acme Corp")
    bill = clio.add_bill(client=contact["id"], number="1", state="awaiting_payment")
    clio.add_line_item(bill=bill["id"], kind="Service", quantity=1, price=100)
    clio.trust_deposit(contact["id"], "40.00")
    allocation = clio.record_payment(bill["id"], "40.00", from_trust=True)
    memo = clio.add_credit_memo(contact["id"], {bill["id"]: "10.00"}, description="Write-off")
    wire = [
        ClioAllocation.model_validate(clio.wire("allocation", a["id"], ALLOCATION_FIELDS))
        for a in clio.records("allocation")
    ]

    [payment] = payments_from_allocations(wire)
    [credit] = credit_notes_from_allocations(wire)

    assert (payment.source_id, payment.total, payment.from_trust) == (
        str(allocation["parent"]["id"]),
        Decimal(40),
        True,
    )
    assert (credit.source_id, credit.total, credit.description) == (str(memo), Decimal(10), "Write-off")
    assert payment.contact_id == credit.contact_id == str(contact["id"])


# --- contact write-back ---------------------------------------------------------------------------


DANA = ClioContact.model_validate(
    {
        "id": 12,
        "etag": '"abc"',
        "type": "Person",
        "name": "Dana Whitfield",
        "first_name": "Dana",
        "last_name": "Whitfield",
        "email_addresses": [
            {"id": 1, "address": "home@dana.example", "primary": False},
            {"id": 2, "address": "dana@old.example", "primary": True},
        ],
        "addresses": [{"id": 4, "street": "1 Main St", "city": "Albany", "province": "NY", "primary": True}],
    }
)
ACME = ClioContact.model_validate({"id": 13, "type": "Company", "name": "Acme Corp"})


def test_a_changed_email_updates_the_primary_one_by_id() -> None:
    assert contact_edit_body(DANA, ContactEdit(email="dana@new.example")) == {
        "email_addresses": [{"id": 2, "address": "dana@new.example"}]
    }


def test_a_new_phone_is_created_as_the_primary_one() -> None:
    assert contact_edit_body(DANA, ContactEdit(phone="555-0199")) == {
        "phone_numbers": [{"name": "Work", "number": "555-0199", "default_number": True}]
    }


def test_a_cleared_email_destroys_the_primary_one_and_a_cleared_phone_that_is_absent_is_nothing() -> None:
    assert contact_edit_body(DANA, ContactEdit(email="", phone="")) == {
        "email_addresses": [{"id": 2, "_destroy": True}]
    }


def test_a_person_is_renamed_by_first_and_last_name() -> None:
    assert contact_edit_body(DANA, ContactEdit(name="Danielle Whitfield-Moore")) == {
        "first_name": "Danielle",
        "last_name": "Whitfield-Moore",
    }
    assert contact_edit_body(DANA, ContactEdit(first_name="Dani")) == {"first_name": "Dani"}
    assert contact_edit_body(DANA, ContactEdit(name="Cher")) == {"first_name": "Cher", "last_name": None}


def test_a_company_is_renamed_by_name_and_gets_a_billing_address() -> None:
    edit = ContactEdit(name="Acme Holdings", first_name="ignored", address=Address("9 Elm St", "Troy", "NY"))

    assert contact_edit_body(ACME, edit) == {
        "name": "Acme Holdings",
        "addresses": [
            {
                "name": "Billing",
                "street": "9 Elm St",
                "city": "Troy",
                "province": "NY",
                "postal_code": None,
                "country": None,
            }
        ],
    }


def test_the_primary_address_is_updated_by_id_with_only_what_changed() -> None:
    edit = ContactEdit(address=Address("1 Main St", "Troy", "NY"))

    assert contact_edit_body(DANA, edit) == {"addresses": [{"id": 4, "city": "Troy"}]}
    assert contact_edit_body(DANA, ContactEdit(address=Address())) == {
        "addresses": [{"id": 4, "_destroy": True}]
    }


def test_an_edit_that_changes_nothing_is_an_empty_body() -> None:
    edit = ContactEdit(
        name="Dana Whitfield", email="dana@old.example", address=Address("1 Main St", "Albany", "NY")
    )

    assert contact_edit_body(DANA, edit) == {}
    assert contact_edit_body(ACME, ContactEdit(name="Acme Corp", phone="")) == {}
