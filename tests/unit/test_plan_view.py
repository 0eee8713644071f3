"""The dry-run plan as a bookkeeper reads it: grouped by kind, summed to the cent, every line with its why."""

from __future__ import annotations

import logging
from datetime import date
from decimal import Decimal

import pytest

from ledgerlink.cli import logs, output
from ledgerlink.domain import ContactEdit, TrustKind, TrustTransaction
from ledgerlink.errors import RecordError
from ledgerlink.sync.engine import PassResult
from ledgerlink.sync.plan import Action, Op
from ledgerlink.sync.plan_view import PlanGroup, PlanLine, action_amount, plan_groups
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    PaymentDraft,
    Settlement,
    TrustChequeDraft,
    TrustPostingDraft,
)
from tests import factories

ORDER = tuple(output.KIND_TITLES)
UNMAPPED = RecordError(
    cause="unmapped_category",
    message="No Product/Service is mapped for “Process Server Fees”.",
    remedy="Add it to [mapping.expense_categories].",
)
WAITING = RecordError(
    cause="blocked",
    message="Waiting for Contact Acme, which could not be synced.",
    remedy="Fix the contact first.",
    blocked_by="contact 7",
)


def bill(source_id: str, number: str, total: str, op: Op = Op.CREATE, target: str | None = None) -> Action:
    invoice = factories.invoice(source_id, number, total=total)
    draft = InvoiceDraft(invoice, "C1", ())
    label = f"Bill {number} (Dana Whitfield)"
    return Action(op, "invoice", source_id, label, "approved in Clio", payload=draft, target_id=target)


def new_contact(source_id: str, name: str) -> Action:
    person = factories.contact(source_id, name)
    return Action(Op.CREATE, "contact", source_id, f"Contact {name}", "has an approved bill", payload=person)


def trust(source_id: str, kind: TrustKind, amount: str) -> TrustTransaction:
    return TrustTransaction(source_id, "9", kind, date(2026, 3, 3), Decimal(amount), "1", "Dana Whitfield")


def test_groups_follow_the_kind_order_and_leave_out_what_only_skips() -> None:
    actions = [
        bill("100", "1001", "250.00"),
        Action(Op.SKIP, "payment", "500", "Payment of 10.00", "unchanged"),
        new_contact("1", "Dana Whitfield"),
        Action(Op.SKIP, "invoice", "101", "Bill 1002", "unchanged"),
    ]

    groups = plan_groups(actions, order=ORDER)

    assert [g.kind for g in groups] == ["contact", "invoice"]
    assert [line.label for line in groups[1].lines] == ["Bill 1001 (Dana Whitfield)"]


def test_a_groups_total_is_the_sum_of_what_it_writes_to_the_cent() -> None:
    actions = [
        bill("100", "1001", "0.10"),
        bill("101", "1002", "0.20"),
        bill("102", "1003", "12345.30", Op.UPDATE, target="145"),
        Action(Op.VOID, "invoice", "103", "Bill 1004", "voided in Clio", target_id="146"),
        Action(Op.FAIL, "invoice", "104", "Bill 1005", error=UNMAPPED),
    ]

    (group,) = plan_groups(actions)

    assert group.total == Decimal("12345.60")
    assert dict(group.counts) == {"create": 2, "update": 1, "void": 1, "would fail": 1}
    assert (group.writes, group.attention) == (4, 1)
    assert output.group_heading(group) == (
        "Bills → invoices: 2 to create, 1 to update, 1 to void, 1 would fail; total 12,345.60"
    )


def test_lines_say_what_happens_to_each_record_and_why_creates_first_blocked_last() -> None:
    actions = [
        Action(Op.BLOCKED, "invoice", "105", "Bill 1006 (Acme)", error=WAITING),
        bill("102", "1003", "300.00", Op.UPDATE, target="145"),
        Action(Op.FAIL, "invoice", "104", "Bill 1005 (Acme)", error=UNMAPPED),
        bill("100", "1001", "1250.00"),
    ]

    (group,) = plan_groups(actions)

    assert group.lines == (
        PlanLine("create", "Bill 1001 (Dana Whitfield)", Decimal("1250.00"), None, "approved in Clio"),
        PlanLine("update", "Bill 1003 (Dana Whitfield)", Decimal("300.00"), "145", "approved in Clio"),
        PlanLine(
            "would fail",
            "Bill 1005 (Acme)",
            None,
            None,
            UNMAPPED.message,
            "unmapped_category",
            UNMAPPED.remedy,
        ),
        PlanLine("blocked", "Bill 1006 (Acme)", None, None, WAITING.message, "blocked", WAITING.remedy),
    )


def test_contacts_have_no_amount_so_their_group_has_no_total() -> None:
    (group,) = plan_groups([new_contact("1", "Dana Whitfield"), new_contact("2", "Acme LLC")])

    assert group.total is None
    assert output.group_heading(group) == "Contacts → customers: 2 to create"


@pytest.mark.parametrize(
    ("payload", "amount"),
    [
        (InvoiceDraft(factories.invoice(total="1043.75"), "C1", ()), Decimal("1043.75")),
        (
            PaymentDraft(
                factories.payment(parts={"100": "200.00", "101": "50.25"}),
                "C1",
                (Settlement("145", Decimal("200.00")), Settlement("146", Decimal("50.25"))),
            ),
            Decimal("250.25"),
        ),
        (CreditNoteDraft(factories.credit_note(parts={"100": "75.50"}), "C1", "Credits"), Decimal("75.50")),
        (
            CreditApplicationDraft(
                factories.credit_note(parts={"100": "75.50"}),
                "C1",
                "CM9",
                (Settlement("145", Decimal("75.50")),),
            ),
            Decimal("75.50"),
        ),
        (
            TrustPostingDraft(
                trust("t1", TrustKind.DEPOSIT, "5000.00"), "Trust Bank", "Trust Liability", "C1", ""
            ),
            Decimal("5000.00"),
        ),
        (
            TrustChequeDraft(
                trust("t2", TrustKind.DISBURSEMENT, "320.00"),
                "Trust Bank",
                "Trust Liability",
                "C1",
                "V1",
                "Vendor",
                "",
            ),
            Decimal("-320.00"),
        ),
        (factories.contact(), None),
        (ContactEdit(email="dana@whitfield.example"), None),
        (None, None),
    ],
    ids=[
        "invoice",
        "payment",
        "credit_note",
        "credit_application",
        "trust_in",
        "trust_cheque",
        "contact",
        "edit",
        "none",
    ],
)
def test_the_amount_of_a_record_is_what_the_ledger_would_show(
    payload: object, amount: Decimal | None
) -> None:
    assert action_amount(payload) == amount


def test_trust_money_out_counts_against_money_in() -> None:
    deposit = TrustPostingDraft(trust("t1", TrustKind.DEPOSIT, "1000.00"), "Bank", "Liability", "C1", "")
    cheque = TrustChequeDraft(
        trust("t2", TrustKind.DISBURSEMENT, "250.00"), "Bank", "Liability", "C1", "V1", "Vendor", ""
    )
    actions = [
        Action(Op.CREATE, "trust_posting", "t1", "Trust deposit t1", "recorded in Clio", payload=deposit),
        Action(Op.CREATE, "trust_posting", "t2", "Trust cheque t2", "recorded in Clio", payload=cheque),
    ]

    (group,) = plan_groups(actions)

    assert group.total == Decimal("750.00")


def test_the_total_line_counts_every_write_and_the_records_that_need_attention() -> None:
    groups = plan_groups(
        [
            new_contact("1", "Dana Whitfield"),
            bill("100", "1001", "10.00"),
            bill("101", "1002", "10.00", Op.UPDATE, target="7"),
            Action(Op.VOID, "invoice", "103", "Bill 1004", "voided in Clio", target_id="146"),
            Action(Op.FAIL, "invoice", "104", "Bill 1005", error=UNMAPPED),
            Action(Op.BLOCKED, "payment", "500", "Payment of 5.00", error=WAITING),
        ],
        order=ORDER,
    )

    assert (
        output.plan_total_line(groups)
        == "Plan: 2 to create, 1 to update, 1 to void; 2 records need attention."
    )


def test_an_empty_plan_says_nothing_would_change() -> None:
    skips = [Action(Op.SKIP, "invoice", "100", "Bill 1001", "unchanged")]
    blocked = [*skips, Action(Op.BLOCKED, "payment", "500", "Payment of 5.00", error=WAITING)]

    assert plan_groups(skips) == []
    assert output.plan_total_line([]) == "Nothing would change."
    assert output.plan_total_line(plan_groups(blocked)) == "Nothing would change; 1 record needs attention."


def test_amounts_are_written_with_two_places_and_thousands_separators() -> None:
    assert output.amount_text(Decimal("1234567.5")) == "1,234,567.50"
    assert output.amount_text(Decimal("-300")) == "-300.00"
    assert output.amount_text(Decimal("0.10") + Decimal("0.20")) == "0.30"


def test_a_pass_is_told_as_event_lines_each_problem_then_the_counts(caplog: pytest.LogCaptureFixture) -> None:
    result = PassResult(run_id=12, dry_run=False)
    result.tally.add("invoice", "created", 3)
    result.tally.add("contact", "created", 2)
    result.tally.add("payment", "blocked")
    result.tally.add("invoice", "failed")
    result.tally.add("invoice", "parked")
    failed = Action(Op.FAIL, "invoice", "104", "Bill 1005 (Acme)", error=UNMAPPED)
    waiting = Action(Op.BLOCKED, "payment", "500", "Payment of 5.00 (Acme)", error=WAITING)
    result.problems += [(failed, UNMAPPED), (waiting, WAITING)]
    caplog.set_level(logging.INFO, logger=logs.EVENTS)

    output.pass_events(result)

    assert [r.getMessage() for r in caplog.records if r.name == logs.EVENTS] == [
        'event=record.failed run=12 kind=invoice label="Bill 1005 (Acme)" cause=unmapped_category',
        'event=record.blocked run=12 kind=payment label="Payment of 5.00 (Acme)" cause=blocked',
        "event=pass.finished run=12 exit=1 contact.created=2 invoice.created=3 invoice.parked=1 "
        "invoice.failed=1 payment.blocked=1",
    ]


def test_plan_group_counts_follow_the_line_order_whatever_the_engines_order() -> None:
    actions = [
        Action(Op.FAIL, "invoice", "104", "Bill 1005", error=UNMAPPED),
        Action(Op.DELETE, "invoice", "103", "Bill 1004", "deleted in Clio", target_id="146"),
        bill("100", "1001", "10.00"),
    ]

    (group,) = plan_groups(actions)

    assert isinstance(group, PlanGroup)
    assert list(group.counts) == ["create", "delete", "would fail"]


def test_parked_records_are_left_out_of_the_plan_and_counted_in_its_total() -> None:
    parked = bill("100", "1001", "10.00")  # fixed in Clio meanwhile, but the bookkeeper parked it
    actions = [parked, bill("101", "1002", "20.00")]

    groups = plan_groups(actions, parked=[parked])

    assert [line.label for group in groups for line in group.lines] == ["Bill 1002 (Dana Whitfield)"]
    assert groups[0].total == Decimal("20.00")
    assert (
        output.plan_total_line(groups, parked=1)
        == "Plan: 1 to create; 1 parked (`ledgerlink errors --parked`)."
    )
