"""Invoices flow: scope, mapping, totals to the cent, adoption instead of duplicates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledgerlink.config import MappingConfig
from ledgerlink.domain import BillState, LineKind
from ledgerlink.sync.flows.invoices import (
    InvoiceScope,
    InvoiceWorld,
    draft_hash,
    draft_invoice,
    plan_invoices,
)
from ledgerlink.sync.plan import Op
from ledgerlink.sync.ports import InvoiceDraft, LedgerInvoice
from tests.factories import FakeLink, invoice, line

MAPPING = MappingConfig(
    time_entries="Legal Services",
    tax="Sales Tax",
    expense_categories={"Filing Fees": "Filing Fees"},
)
SCOPE = InvoiceScope(states=frozenset({"awaiting_payment", "paid"}), start_date=date(2026, 1, 1))
CONTACTS = {"1": FakeLink("C1")}


def plan(invoices, links=None, existing=None, failed=None, ours=None):  # type: ignore[no-untyped-def]
    world = InvoiceWorld(
        scope=SCOPE,
        links=links or {},
        contact_links=CONTACTS,
        failed_contacts=failed or {},
        existing=existing or {},
        mapping=MAPPING,
        contact_names={"1": "Dana Whitfield"},
        max_number=21,
        ours=ours or {},
    )
    return plan_invoices(invoices, world)


def test_approved_bill_becomes_a_create_with_every_line_mapped() -> None:
    bill = invoice(lines=(line("1"), line("2", LineKind.EXPENSE, "35.00", "Filing Fees")))
    [action] = plan([bill])
    assert action.op is Op.CREATE
    assert isinstance(action.payload, InvoiceDraft)
    assert [m.item for m in action.payload.lines] == ["Legal Services", "Filing Fees"]
    assert action.payload.customer_id == "C1"


def test_draft_and_void_bills_and_bills_before_the_start_date_are_not_synced() -> None:
    actions = plan(
        [
            invoice("1", state=BillState.DRAFT),
            invoice("2", state=BillState.VOID),
            invoice("3", issued_at=date(2025, 12, 31)),
        ]
    )
    assert [a.op for a in actions] == [Op.SKIP, Op.SKIP, Op.SKIP]
    assert "before the start date" in actions[2].reason


def test_unmapped_expense_category_fails_only_that_bill_and_names_the_config_key() -> None:
    bad = invoice("1", lines=(line("1", LineKind.EXPENSE, "80.00", "Process Server Fees"),))
    good = invoice("2", number="1002")
    failed, created = plan([bad, good])
    assert failed.op is Op.FAIL and failed.error is not None
    assert failed.error.cause == "unmapped_category"
    assert "Process Server Fees" in failed.error.message
    assert '[mapping.expense_categories] "Process Server Fees"' in failed.error.remedy
    assert created.op is Op.CREATE


def test_bill_of_a_contact_that_failed_is_blocked_naming_the_contact() -> None:
    bill = invoice(contact_id="9")
    [action] = plan([bill], failed={"9": "Contact Metro Court Reporters LLC"})
    assert action.op is Op.BLOCKED and action.error is not None
    assert "Metro Court Reporters" in action.error.message
    assert action.error.blocked_by == "contact 9"


def test_lines_that_do_not_add_up_to_the_total_are_refused() -> None:
    bill = invoice(total="999.99")
    [action] = plan([bill])
    assert action.op is Op.FAIL and action.error is not None and action.error.cause == "total_mismatch"


def test_zero_and_negative_lines_are_posted_when_the_total_ties_out() -> None:
    bill = invoice(
        lines=(
            line("1", amount="300.00"),
            line("2", LineKind.EXPENSE, "0.00", "Filing Fees"),
            line("3", LineKind.EXPENSE, "-45.50", "Filing Fees"),
        )
    )
    [action] = plan([bill])
    assert action.op is Op.CREATE
    assert sum(m.line.amount for m in action.payload.lines) == Decimal("254.50")


def test_bill_with_no_lines_and_zero_total_is_skipped_not_failed() -> None:
    [action] = plan([invoice(lines=(), total="0.00")])
    assert action.op is Op.SKIP and "no lines" in action.reason


def test_bill_number_longer_than_the_ledger_allows_is_an_error() -> None:
    [action] = plan([invoice(number="INV-2026-000000000001234")])
    assert action.op is Op.FAIL and action.error is not None and action.error.cause == "number_too_long"


def test_linked_bill_is_skipped_when_unchanged_and_updated_when_edited() -> None:
    bill = invoice()
    draft = draft_invoice(bill, "C1", MAPPING, max_number=21)
    assert isinstance(draft, InvoiceDraft)
    [same] = plan([bill], links={"100": FakeLink("I1", draft_hash(draft))})
    [edited] = plan([bill], links={"100": FakeLink("I1", "old")})
    assert (same.op, edited.op, edited.target_id) == (Op.SKIP, Op.UPDATE, "I1")


def test_existing_ledger_invoice_with_same_number_customer_and_total_is_adopted() -> None:
    bill = invoice()
    found = LedgerInvoice("I9", "1001", "C1", bill.total, "0", note="")
    [action] = plan([bill], existing={"1001": found})
    assert (action.op, action.target_id) == (Op.LINK, "I9")


def test_existing_ledger_invoice_with_same_number_for_someone_else_is_an_error() -> None:
    bill = invoice()
    found = LedgerInvoice("I9", "1001", "C77", Decimal("12.00"), "0", note="")
    [action] = plan([bill], existing={"1001": found})
    assert action.op is Op.FAIL and action.error is not None and action.error.cause == "duplicate_number"


def test_invoice_created_by_an_interrupted_pass_is_recognised_by_its_marker() -> None:
    bill = invoice(total=None)
    found = LedgerInvoice("I9", "1001", "C1", Decimal("1.00"), "0", note="Clio bill 1001 [ledgerlink k123]")
    [action] = plan([bill], existing={"1001": found}, ours={"100": "k123"})
    assert (action.op, action.target_id) == (Op.LINK, "I9")
