"""Invoices flow: scope, mapping, totals to the cent, adoption instead of duplicates."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerlink.config import MappingConfig, TaxCodeMapping
from ledgerlink.domain import BillState, Invoice, InvoiceLine, LineKind
from ledgerlink.sync.flows.invoices import (
    InvoiceScope,
    InvoiceWorld,
    draft_hash,
    draft_invoice,
    plan_invoices,
)
from ledgerlink.sync.plan import Op, content_hash
from ledgerlink.sync.ports import InvoiceDraft, LedgerInvoice, LedgerSettings, MappedLine
from ledgerlink.sync.tax import TaxTreatment
from tests.factories import FakeLink, clio_bill, invoice, line, tax_codes, taxed_line

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
    # Clio cannot lock a synced bill, so its edit is synced and reported to the bookkeeper.
    assert same.notice is None
    assert edited.notice is not None and edited.notice.startswith("was edited in Clio after it was synced")


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


# -- a synced bill's later life in Clio ---------------------------------------------------------


def test_synced_bill_voided_in_clio_is_voided_in_the_ledger() -> None:
    [action] = plan([invoice(state=BillState.VOID)], links={"100": FakeLink("I1", "h")})
    assert (action.op, action.target_id, action.reason) == (Op.VOID, "I1", "voided in Clio")
    assert action.label == "Bill 1001 (Dana Whitfield)"


def test_synced_bill_voided_once_is_not_voided_again() -> None:
    [voiding] = plan([invoice(state=BillState.VOID)], links={"100": FakeLink("I1", "h")})
    [again] = plan([invoice(state=BillState.VOID)], links={"100": FakeLink("I1", voiding.content_hash or "")})
    assert again.op is Op.SKIP and "already voided" in again.reason


def test_synced_bill_deleted_in_clio_is_deleted_from_the_ledger() -> None:
    [action] = plan([invoice(state=BillState.DELETED)], links={"100": FakeLink("I1", "h")})
    assert (action.op, action.target_id, action.reason) == (Op.DELETE, "I1", "deleted in Clio")


def test_synced_bill_taken_back_to_draft_is_an_error_saying_the_ledger_keeps_the_approved_version() -> None:
    for state in (BillState.DRAFT, BillState.AWAITING_APPROVAL):
        [action] = plan([invoice(state=state)], links={"100": FakeLink("I1", "h")})
        assert action.op is Op.FAIL and action.error is not None
        assert action.error.cause == "unapproved" and action.error.retryable is True
        assert "still shows the last approved version" in action.error.message
        assert action.error.remedy == (
            "Re-approve it in Clio (it syncs again) or void it in Clio "
            "(the QuickBooks Online invoice is voided)."
        )


def test_synced_bill_issued_before_the_start_date_is_left_alone_whatever_its_state() -> None:
    links = {"100": FakeLink("I1", "h")}
    for state in (BillState.VOID, BillState.DELETED, BillState.DRAFT, BillState.PAID):
        [action] = plan([invoice(state=state, issued_at=date(2025, 12, 1))], links=links)
        assert action.op is Op.SKIP and "before the start date" in action.reason


def test_unlinked_void_deleted_and_draft_bills_are_skipped() -> None:
    bills = [
        invoice(str(n), state=s) for n, s in enumerate((BillState.VOID, BillState.DELETED, BillState.DRAFT))
    ]
    assert [a.op for a in plan(bills)] == [Op.SKIP, Op.SKIP, Op.SKIP]


# -- invoice numbers ------------------------------------------------------------------------------


def plan_numbers_off(invoices, links=None, existing=None):  # type: ignore[no-untyped-def]
    world = InvoiceWorld(
        scope=SCOPE,
        links=links or {},
        contact_links=CONTACTS,
        failed_contacts={},
        existing=existing or {},
        mapping=MAPPING,
        contact_names={},
        max_number=21,
        custom_numbers=False,
    )
    return plan_invoices(invoices, world)


def test_with_custom_numbers_off_a_new_bill_fails_with_the_setting_to_turn_on() -> None:
    [action] = plan_numbers_off([invoice()])
    assert action.op is Op.FAIL and action.error is not None
    assert action.error.cause == "custom_numbers_off"
    assert "Bill 1001" in action.error.message
    assert action.error.remedy == (
        "In QuickBooks: Settings → Account and settings → Sales → Sales form content → turn on Custom "
        "transaction numbers, then run sync again."
    )


def test_with_custom_numbers_off_synced_and_matching_bills_still_update_and_link() -> None:
    bill = invoice()
    found = LedgerInvoice("I9", "1001", "C1", bill.total, "0", note="")
    [update] = plan_numbers_off([bill], links={"100": FakeLink("I1", "old")})
    [link] = plan_numbers_off([bill], existing={"1001": found})
    assert (update.op, link.op) == (Op.UPDATE, Op.LINK)


def test_number_taken_by_another_customer_says_to_raise_clios_next_number() -> None:
    found = LedgerInvoice("I9", "1001", "C77", Decimal("12.00"), "0", note="")
    [action] = plan([invoice()], existing={"1001": found})
    assert action.error is not None and action.error.cause == "duplicate_number"
    assert "next invoice number above the last invoice number in QuickBooks Online" in action.error.remedy


# -- tax ------------------------------------------------------------------------------------------

CODES_MAPPING = MappingConfig(
    time_entries="Legal Services",
    interest="Interest Charges",
    tax_codes=TaxCodeMapping(primary="GST", secondary="PST", both="GST/PST", exempt="Exempt"),
)


NON_US = LedgerSettings(custom_numbers=True, computes_tax=True, tax_codes=tax_codes(), country="CA")


def plan_taxed(invoices, mapping=MAPPING, settings=None, aggregate=True):  # type: ignore[no-untyped-def]
    world = InvoiceWorld(
        scope=SCOPE,
        links={},
        contact_links=CONTACTS,
        failed_contacts={},
        existing={},
        mapping=mapping,
        contact_names={},
        max_number=21,
        settings=settings,
        aggregate_taxes=aggregate,
    )
    return plan_invoices(invoices, world)


def taxed_bill():  # type: ignore[no-untyped-def]
    return clio_bill(
        [
            taxed_line("1", "100.00", secondary_taxable=True),
            taxed_line("2", "50.00"),
            taxed_line("3", "30.00", taxable=False, secondary_taxable=True),
            taxed_line("4", "20.00", taxable=False),
        ],
        interest="2.50",
    )


def test_us_company_gets_clios_tax_as_one_line_on_the_tax_item() -> None:
    [action] = plan_taxed([taxed_bill()], MAPPING.model_copy(update={"interest": "Interest Charges"}))
    assert action.op is Op.CREATE
    lines = action.payload.lines
    assert [(m.item, m.line.description) for m in lines if m.line.kind is LineKind.TAX] == [
        ("Sales Tax", "GST + PST")
    ]
    assert sum(m.line.amount for m in lines) == taxed_bill().total
    assert all(m.tax_code is None for m in lines) and action.payload.expected_tax is None


def test_us_company_can_get_one_tax_line_per_taxed_charge() -> None:
    mapping = MAPPING.model_copy(update={"interest": "Interest Charges"})
    [action] = plan_taxed([taxed_bill()], mapping, aggregate=False)
    tax_lines = [m.line for m in action.payload.lines if m.line.kind is LineKind.TAX]
    assert [t.description for t in tax_lines] == [
        "Tax on time line 1",
        "Tax on time line 2",
        "Tax on time line 3",
    ]
    assert sum(t.amount for t in tax_lines) == taxed_bill().total_tax


def test_non_us_company_gets_each_line_coded_by_its_taxes_and_no_tax_lines() -> None:
    bill = taxed_bill()
    [action] = plan_taxed([bill], CODES_MAPPING, NON_US)
    assert action.op is Op.CREATE
    draft = action.payload
    assert [(m.line.source_id, m.tax_code) for m in draft.lines] == [
        ("1", "5"),  # both → GST/PST
        ("2", "3"),  # primary → GST
        ("3", "4"),  # secondary → PST
        ("4", "6"),  # neither → Exempt
        ("100:interest", "6"),
    ]
    assert draft.expected_tax == bill.total_tax == Decimal("16.60")
    assert sum(m.line.amount for m in draft.lines) + draft.expected_tax == bill.total


def test_non_us_bill_needing_an_unmapped_tax_code_fails_naming_the_key() -> None:
    mapping = CODES_MAPPING.model_copy(update={"tax_codes": TaxCodeMapping(primary="GST", exempt="Exempt")})
    [action] = plan_taxed([taxed_bill()], mapping, NON_US)
    assert action.op is Op.FAIL and action.error is not None and action.error.cause == "unmapped_tax"
    assert "[mapping.tax_codes] both" in action.error.message
    assert "[mapping.tax_codes] secondary" in action.error.message


def test_non_us_bill_whose_tax_does_not_make_up_the_total_is_refused() -> None:
    bill = replace(taxed_bill(), secondary_tax=Decimal("0.00"))
    [action] = plan_taxed([bill], CODES_MAPPING, NON_US)
    assert action.op is Op.FAIL and action.error is not None and action.error.cause == "total_mismatch"
    assert "Clio's tax to 7.50" in action.error.message


def test_tax_codes_are_part_of_what_makes_an_invoice_changed() -> None:
    bill = taxed_bill()
    coded = draft_invoice(bill, "C1", CODES_MAPPING, max_number=21, tax=TaxTreatment(True, True, tax_codes()))
    assert isinstance(coded, InvoiceDraft)
    recoded = replace(coded, lines=tuple(replace(m, tax_code="6") for m in coded.lines))
    assert draft_hash(coded) != draft_hash(recoded)


# -- edits made in the ledger ---------------------------------------------------------------------


def plan_versions(invoices, links, versions, custom_numbers=True):  # type: ignore[no-untyped-def]
    world = InvoiceWorld(
        scope=SCOPE,
        links=links,
        contact_links=CONTACTS,
        failed_contacts={},
        existing={},
        mapping=MAPPING,
        contact_names={},
        max_number=21,
        custom_numbers=custom_numbers,
        versions=versions,
    )
    return plan_invoices(invoices, world)


def synced_link(version: str = "2") -> dict[str, FakeLink]:
    draft = draft_invoice(invoice(), "C1", MAPPING, max_number=21)
    assert isinstance(draft, InvoiceDraft)
    return {"100": FakeLink("I1", draft_hash(draft), version)}


def test_invoice_edited_in_the_ledger_gets_clios_version_back_and_says_so() -> None:
    [action] = plan_versions([invoice()], synced_link("2"), {"I1": "3"})
    assert (action.op, action.target_id) == (Op.UPDATE, "I1")
    assert action.reason == "changed in QuickBooks Online; Clio's bill is restored"
    assert action.notice == "was edited in QuickBooks Online; overwritten with Clio's bill"


def test_invoice_whose_only_change_was_ledgerlinks_own_write_is_skipped() -> None:
    [action] = plan_versions([invoice()], synced_link("2"), {"I1": "2"})
    assert action.op is Op.SKIP


def test_invoice_deleted_in_the_ledger_is_created_again_unless_the_ledger_would_renumber_it() -> None:
    [again] = plan_versions([invoice()], synced_link(), {"I1": None})
    [refused] = plan_versions([invoice()], synced_link(), {"I1": None}, custom_numbers=False)
    assert (again.op, again.target_id, again.reason) == (
        Op.CREATE,
        None,
        "deleted in QuickBooks Online; re-created from Clio",
    )
    assert refused.op is Op.FAIL and refused.error is not None and refused.error.cause == "custom_numbers_off"


def test_bill_voided_in_clio_after_its_invoice_was_deleted_in_the_ledger_needs_nothing() -> None:
    [action] = plan_versions([invoice(state=BillState.VOID)], synced_link(), {"I1": None})
    assert action.op is Op.SKIP and "already deleted" in action.reason


# -- the hash a link keeps ------------------------------------------------------------------------


def _pinned_drafts() -> tuple[InvoiceDraft, InvoiceDraft]:
    lines = (
        replace(line("1", quantity="2.5", price="100.0"), amount=Decimal("250.00"), date=date(2026, 2, 27)),
        line("2", LineKind.EXPENSE, "35.00", "Filing Fees"),
    )
    bill = replace(invoice(lines=lines), due_at=date(2026, 3, 31), memo="Müller – “brief”", matter="00177")
    us = InvoiceDraft(
        bill, "C1", (MappedLine(lines[0], "Legal Services"), MappedLine(lines[1], "Filing Fees"))
    )
    coded = replace(
        us, lines=tuple(replace(m, tax_code="5") for m in us.lines), expected_tax=Decimal("14.20")
    )
    return us, coded


def test_draft_hashes_stay_what_the_links_of_earlier_releases_hold() -> None:
    # Values from the release before draft_hash was rewritten: a change rewrites every synced invoice.
    assert [draft_hash(d) for d in _pinned_drafts()] == [
        "2d898048fa2594e33f44d6b7380f60a8",
        "c4d962bb183502fffc94143b0f9af5d1",
    ]


def _as_content_hash(draft: InvoiceDraft) -> str:
    """draft_hash as it was first written: content_hash of the draft's fields."""
    bill = draft.invoice
    return content_hash(
        {
            "number": bill.number,
            "issued_at": bill.issued_at,
            "due_at": bill.due_at,
            "customer": draft.customer_id,
            "total": bill.total,
            "memo": bill.memo,
            "matter": bill.matter,
            "lines": [
                (m.item, m.line) if m.tax_code is None else (m.item, m.line, m.tax_code) for m in draft.lines
            ],
            **({} if draft.expected_tax is None else {"expected_tax": draft.expected_tax}),
        }
    )


texts = st.text(max_size=12)
# Amounts as Clio's JSON numbers parse: any number of places, exponents, a negative zero.
amounts = st.decimals(
    allow_nan=False, allow_infinity=False, places=3, min_value=-(10**6), max_value=10**6
) | (st.sampled_from([Decimal("450.0"), Decimal("1E+2"), Decimal("-0.00"), Decimal("0.1000000000000000055")]))
days = st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1))
hashed_lines = st.builds(
    InvoiceLine,
    source_id=texts,
    kind=st.sampled_from(LineKind),
    description=texts,
    amount=amounts,
    quantity=amounts,
    unit_price=st.none() | amounts,
    category=st.none() | texts,
    date=st.none() | days,
    taxable=st.booleans(),
    secondary_taxable=st.booleans(),
    tax=amounts,
    secondary_tax=amounts,
)


@st.composite
def drafts(draw: st.DrawFn) -> InvoiceDraft:
    lines = draw(st.lists(st.tuples(hashed_lines, texts, st.none() | texts), max_size=4))
    bill = Invoice(
        source_id=draw(texts),
        number=draw(texts),
        state=BillState.PAID,
        contact_id="1",
        issued_at=draw(days),
        total=draw(amounts),
        due_at=draw(st.none() | days),
        memo=draw(st.none() | texts),
        matter=draw(st.none() | texts),
    )
    mapped = tuple(MappedLine(ln, item, code) for ln, item, code in lines)
    return InvoiceDraft(bill, draw(texts), mapped, expected_tax=draw(st.none() | amounts))


@given(drafts())
@settings(max_examples=40, deadline=None)
def test_draft_hash_is_the_content_hash_of_the_drafts_fields(draft: InvoiceDraft) -> None:
    assert draft_hash(draft) == _as_content_hash(draft)
