"""The payroll plan, without a server: matching, scope, blocking and change detection."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerlink.sync.flows import payroll as flow
from ledgerlink.sync.payroll_ports import FirmUser, LedgerEmployee, TimeEntry
from ledgerlink.sync.plan import Op
from ledgerlink.sync.ports import Written

JORDAN = FirmUser("7", "Jordan  Lee", "Jordan@Whitfield.law")
EMPLOYEE = LedgerEmployee("55", "Jordan Lee", "Jordan", "Lee", "jordan@whitfield.law", Decimal("250"))


@dataclass(frozen=True)
class Link:
    target_id: str
    content_hash: str = ""
    version_token: str | None = None
    snapshot: dict[str, Any] | None = None


def entry(source_id: str = "1", **changes: Any) -> TimeEntry:
    base = TimeEntry(
        source_id=source_id,
        date=date(2026, 3, 2),
        seconds=5400,
        rate=Decimal("250.00"),
        note="Drafting",
        user_id="7",
        user_name="Jordan Lee",
        client_id="12",
        matter="00001-Whitfield",
        bill_id="3",
        approved=True,
    )
    return replace(base, **changes)


def world(**changes: Any) -> flow.PayrollWorld:
    base = flow.PayrollWorld(
        users={"7": JORDAN},
        employees=(EMPLOYEE,),
        contact_links={"12": Link("101")},
        links={},
        item="Legal Services",
        start_date=date(2026, 1, 1),
    )
    return replace(base, **changes)


def entry_actions(actions: list[Any]) -> list[Any]:
    return [a for a in actions if a.kind == flow.KIND]


def test_seconds_become_hours_and_minutes_rounded_half_up() -> None:
    assert flow.hours_and_minutes(5400) == (1, 30)
    assert flow.hours_and_minutes(90) == (0, 2)
    assert flow.hours_and_minutes(89) == (0, 1)
    assert flow.hours_and_minutes(3599) == (1, 0)


def test_employee_matches_on_folded_name_and_email_only() -> None:
    assert flow.match_employee(JORDAN, [EMPLOYEE]) == EMPLOYEE
    assert flow.match_employee(replace(JORDAN, email="other@x.com"), [EMPLOYEE]) is None
    assert flow.match_employee(JORDAN, [replace(EMPLOYEE, active=False)]) is None
    twin = replace(EMPLOYEE, id="56", display_name="J. Lee")
    assert flow.match_employee(JORDAN, [EMPLOYEE, twin]) is None  # both "Jordan Lee" by given+family


def test_an_approved_entry_is_created_with_the_linked_customer() -> None:
    [action] = entry_actions(flow.plan_payroll([entry()], world()))
    assert action.op is Op.CREATE
    draft = action.payload
    assert (draft.employee_id, draft.customer_id, draft.hours, draft.minutes) == ("55", "101", 1, 30)
    assert action.notice is None


def test_unapproved_or_early_entries_are_skipped_and_linked_ones_deleted() -> None:
    early = entry("2", date=date(2025, 12, 31))
    draft = entry("3", approved=False)
    linked = entry("4", approved=False)
    actions = entry_actions(flow.plan_payroll([early, draft, linked], world(links={"4": Link("900")})))
    assert [(a.source_id, a.op) for a in actions] == [("2", Op.SKIP), ("3", Op.SKIP), ("4", Op.DELETE)]
    assert actions[2].target_id == "900"


def test_an_unchanged_entry_is_skipped_and_an_edited_one_updated() -> None:
    [created] = entry_actions(flow.plan_payroll([entry()], world()))
    links = {"1": Link("900", content_hash=created.content_hash)}
    [same] = entry_actions(flow.plan_payroll([entry()], world(links=links)))
    assert same.op is Op.SKIP
    [edited] = entry_actions(flow.plan_payroll([entry(seconds=7200)], world(links=links)))
    assert (edited.op, edited.target_id, edited.payload.hours) == (Op.UPDATE, "900", 2)


def test_a_user_without_employee_is_one_failure_and_blocks_each_entry() -> None:
    actions = flow.plan_payroll([entry("1"), entry("2"), entry("3")], world(employees=()))
    users = [a for a in actions if a.kind == flow.USER_KIND]
    assert [(a.op, a.source_id) for a in users] == [(Op.FAIL, "7")]
    assert users[0].error is not None and "Jordan" in users[0].error.message
    blocked = entry_actions(actions)
    assert {a.op for a in blocked} == {Op.BLOCKED}
    assert {a.error.blocked_by for a in blocked} == {"payroll_user 7"}


def test_an_unlinked_client_blocks_and_a_different_rate_is_a_notice() -> None:
    [waiting] = entry_actions(flow.plan_payroll([entry()], world(contact_links={})))
    assert waiting.op is Op.BLOCKED and waiting.error.blocked_by == "contact 12"
    [posted] = entry_actions(flow.plan_payroll([entry(rate=Decimal("275"))], world()))
    assert posted.op is Op.CREATE and posted.payload.rate == Decimal("275")
    assert posted.notice is not None and "250.00" in posted.notice


def test_a_create_that_landed_before_a_crash_is_adopted_and_a_deleted_entry_removed() -> None:
    landed = {"1": Written(id="900", version="0")}
    [adopted] = entry_actions(flow.plan_payroll([entry()], world(landed=landed)))
    assert (adopted.op, adopted.target_id) == (Op.LINK, "900")
    [gone] = entry_actions(flow.plan_payroll([], world(links={"8": Link("901")}), deleted={"8"}))
    assert (gone.op, gone.target_id) == (Op.DELETE, "901")
