"""The pure hard-cost import flow: seed 002's rules as a plan, without any server."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledgerlink.config import HardCostImportConfig
from ledgerlink.doctor.imports import hard_cost_checks
from ledgerlink.providers.qbo.purchases import purchase_from_qbo
from ledgerlink.sync.flows.hard_costs import (
    ClioEntry,
    ClioMatterChoice,
    CustomerInClio,
    ExpenseLine,
    HardCost,
    HardCostWorld,
    Purchase,
    hard_cost_hash,
    plan_hard_costs,
)
from ledgerlink.sync.plan import Op
from ledgerlink.sync.ports import LedgerAccount

ACCOUNT = "81"
DANA = CustomerInClio("58", "Dana Whitfield", "12000001", (ClioMatterChoice("8100001", "00001-Whitfield"),))


@dataclass(frozen=True)
class Link:
    target_id: str
    content_hash: str
    version_token: str | None = None


def world(**changes: object) -> HardCostWorld:
    base: dict[str, object] = dict(
        account_id=ACCOUNT,
        start_date=date(2026, 1, 1),
        entry_type="HardCostEntry",
        user_id="344001",
        customers={"58": DANA},
        links={},
        entries={},
    )
    return HardCostWorld(**{**base, **changes})  # type: ignore[arg-type]


def cheque(*lines: ExpenseLine, day: date = date(2026, 3, 5)) -> Purchase:
    return Purchase("7", "Check", day, tuple(lines), doc_number="1043", vendor="Metro Courier")


def line(
    amount: str, description: str = "", customer: str | None = "58", account: str = ACCOUNT
) -> ExpenseLine:
    return ExpenseLine("1", Decimal(amount), description, account_id=account, customer_id=customer)


def test_lines_for_one_matter_are_aggregated_into_one_entry() -> None:
    [action] = plan_hard_costs([cheque(line("40.00", "Filing fee"), line("12.50", "Courier"))], (), world())

    assert action.op is Op.CREATE and action.source_id == "7/8100001"
    assert action.payload == HardCost(
        purchase_id="7",
        matter_id="8100001",
        date=date(2026, 3, 5),
        amount=Decimal("52.50"),
        description="Filing fee; Courier",
        entry_type="HardCostEntry",
        user_id="344001",
        vendor="Metro Courier",
        reference="1043",
    )


def test_lines_off_the_account_without_customer_or_before_the_start_are_ignored() -> None:
    purchases = [
        cheque(line("5.00", account="99"), line("6.00", customer=None)),
        cheque(line("40.00"), day=date(2025, 12, 31)),
    ]
    assert plan_hard_costs(purchases, (), world()) == []


def test_unchanged_entry_is_skipped_and_edited_one_updated() -> None:
    [created] = plan_hard_costs([cheque(line("40.00"))], (), world())
    assert isinstance(created.payload, HardCost)
    linked = world(
        links={"7/8100001": Link("96000001", hard_cost_hash(created.payload))},
        entries={"96000001": ClioEntry("96000001", False)},
    )

    [same] = plan_hard_costs([cheque(line("40.00"))], (), linked)
    [edited] = plan_hard_costs([cheque(line("45.00"))], (), linked)

    assert same.op is Op.SKIP
    assert edited.op is Op.UPDATE and edited.target_id == "96000001"


def test_billed_entry_is_refused_for_edit_and_deletion_without_retry() -> None:
    linked = world(
        links={"7/8100001": Link("96000001", "old")}, entries={"96000001": ClioEntry("96000001", True)}
    )

    [edit] = plan_hard_costs([cheque(line("45.00"))], (), linked)
    [removal] = plan_hard_costs([], {"7"}, linked)

    for action in (edit, removal):
        assert action.op is Op.FAIL and action.error is not None
        assert action.error.cause == "billed_in_clio" and not action.error.retryable


def test_deleted_purchase_and_line_moved_off_the_account_delete_the_entry() -> None:
    linked = world(
        links={"7/8100001": Link("96000001", "old")}, entries={"96000001": ClioEntry("96000001", False)}
    )

    [deleted] = plan_hard_costs([], {"7"}, linked)
    [moved] = plan_hard_costs([cheque(line("40.00", account="99"))], (), linked)

    assert deleted.op is Op.DELETE and moved.op is Op.DELETE and moved.target_id == "96000001"


def test_several_matters_need_a_choice_and_the_choice_is_used() -> None:
    matters = (ClioMatterChoice("8100001", "00001-Whitfield"), ClioMatterChoice("8100002", "00002-Whitfield"))
    several = CustomerInClio("58", "Dana Whitfield", "12000001", matters)

    [asked] = plan_hard_costs([cheque(line("40.00"))], (), world(customers={"58": several}))
    chosen = CustomerInClio("58", "Dana Whitfield", "12000001", matters, chosen="8100002")
    [created] = plan_hard_costs([cheque(line("40.00"))], (), world(customers={"58": chosen}))

    assert asked.op is Op.FAIL and asked.error is not None and asked.error.cause == "several_matters"
    assert "ledgerlink links set matter 58 <clio matter id>" in asked.error.remedy
    assert created.op is Op.CREATE and created.source_id == "7/8100002"


def test_item_details_line_with_a_customer_is_an_error() -> None:
    item = ExpenseLine("2", Decimal("15.00"), item="Copies", customer_id="58")
    actions = plan_hard_costs([cheque(line("40.00"), item)], (), world())

    assert [(a.op, a.source_id) for a in actions] == [(Op.FAIL, "7/items"), (Op.CREATE, "7/8100001")]


def test_qbo_purchase_wire_record_becomes_a_purchase() -> None:
    row = {
        "Id": "7",
        "PaymentType": "Check",
        "TxnDate": "2026-03-05",
        "DocNumber": "1043",
        "EntityRef": {"value": "3", "name": "Metro Courier", "type": "Vendor"},
        "Line": [
            {
                "Id": "1",
                "Amount": 40.0,
                "Description": "Filing fee",
                "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {
                    "AccountRef": {"value": "81"},
                    "CustomerRef": {"value": "58", "name": "Dana Whitfield"},
                },
            },
            {
                "Id": "2",
                "Amount": 15,
                "DetailType": "ItemBasedExpenseLineDetail",
                "ItemBasedExpenseLineDetail": {"ItemRef": {"value": "9", "name": "Copies"}},
            },
        ],
    }
    purchase = purchase_from_qbo(row)

    assert purchase is not None and purchase.kind == "Check" and purchase.vendor == "Metro Courier"
    assert purchase.lines[0] == ExpenseLine(
        "1", Decimal("40.0"), "Filing fee", "81", None, "58", "Dana Whitfield"
    )
    assert purchase.lines[1].item == "Copies"
    assert purchase_from_qbo({**row, "PaymentType": "Other"}) is None


def test_doctor_refuses_a_non_expense_account_and_missing_preference() -> None:
    settings = HardCostImportConfig(enabled=True, start_date=date(2026, 1, 1), qbo_account="Checking")
    checks = hard_cost_checks(settings, {}, LedgerAccount("1", "Checking", "Bank", "Checking"))

    assert [(c.check, c.status) for c in checks] == [
        ("import.track_by_customer", "fail"),
        ("import.hard_cost_account", "fail"),
    ]
    assert hard_cost_checks(HardCostImportConfig(), {}, None) == []
