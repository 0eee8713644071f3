"""Payroll: approved Clio time entries become QBO TimeActivities (issue 7, Firm360's payroll sync).

Each test builds a small firm, runs a normal sync pass (which links the clients of the bills),
then a full pass with payroll on (the engine runs ``run_payroll`` after its other phases).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledgerlink.config import load_config
from ledgerlink.errors import MappingMissingError
from ledgerlink.sandbox import Sandbox
from ledgerlink.sync.apply import PassResult
from ledgerlink.sync.flows import payroll as payroll_flow
from ledgerlink.workspace import Workspace
from tests.scenarios.small_firm import ISSUED, REALM, SERVICE_ITEM, SmallFirm, build_small_firm

# Off in the file, so `firm.sync()` stages a firm without payroll; `payroll(firm)` is a full pass with it on.
PAYROLL = """
[payroll]
enabled = false
start_date = 2026-01-01
"""
_numbers = itertools.count(7001)


@pytest.fixture
def firm(empty_sandbox: Sandbox, tmp_path: Path) -> SmallFirm:
    return build_small_firm(empty_sandbox, tmp_path, extra=PAYROLL)


def user(firm: SmallFirm, first: str, last: str, email: str | None) -> int:
    return int(firm.sandbox.clio.add_user(first_name=first, last_name=last, email=email)["id"])


def employee(firm: SmallFirm, given: str, family: str, email: str, rate: str = "250.00") -> str:
    body = {
        "GivenName": given,
        "FamilyName": family,
        "DisplayName": f"{given} {family}",
        "PrimaryEmailAddr": {"Address": email},
        "BillRate": Decimal(rate),
    }
    return str(firm.sandbox.qbo.add(REALM, "Employee", body)["Id"])


def time_entry(
    firm: SmallFirm, client: int, user_id: int, hours: str, *, rate: str = "250.00", note: str = "Drafting"
) -> dict[str, Any]:
    return firm.sandbox.clio.add_activity(
        type="TimeEntry",
        date=ISSUED,
        quantity_in_hours=Decimal(hours),
        price=Decimal(rate),
        user=user_id,
        matter=firm.matters[client],
        note=note,
    )


def bill_time(firm: SmallFirm, client: int, entries: list[dict[str, Any]], *, state: str) -> int:
    clio = firm.sandbox.clio
    bill = clio.add_bill(
        client=client,
        matters=[firm.matters[client]],
        number=str(next(_numbers)),
        state=state,
        issued_at=ISSUED,
        due_at=ISSUED + timedelta(days=30),
        created_at=datetime.combine(ISSUED, time(10, 0), UTC),
    )
    for entry in entries:
        clio.add_line_item(
            bill=bill["id"],
            activity=entry["id"],
            kind="Service",
            description=entry["note"],
            date=ISSUED,
            quantity=entry["quantity_in_hours"],
            price=entry["price"],
        )
    return int(bill["id"])


def payroll(firm: SmallFirm, *, dry_run: bool = False) -> PassResult:
    """A full `sync --once` pass with [payroll] on: the engine runs the payroll phase after the others."""
    config = load_config(firm.config_path)
    config = config.model_copy(update={"payroll": config.payroll.model_copy(update={"enabled": True})})
    with Workspace(config) as workspace:
        return workspace.sync_once(dry_run=dry_run)


def activities(firm: SmallFirm) -> list[dict[str, Any]]:
    return firm.qbo("TimeActivity")


def customer_id(firm: SmallFirm, name: str) -> str:
    return next(c["Id"] for c in firm.qbo("Customer") if c["DisplayName"] == name)


def test_approved_time_becomes_time_activities_with_hours_rate_customer_and_employee(firm: SmallFirm) -> None:
    dana = firm.client("Dana", "Whitfield", "dana@example.com")
    jordan = user(firm, "Jordan", "Lee", "jordan@whitfield.law")
    jordan_employee = employee(firm, "Jordan", "Lee", "JORDAN@whitfield.law ")
    approved = [time_entry(firm, dana, jordan, "1.5"), time_entry(firm, dana, jordan, "0.25", note="Call")]
    bill_time(firm, dana, approved, state="awaiting_payment")
    draft = time_entry(firm, dana, jordan, "3.0", note="Not approved yet")
    bill_time(firm, dana, [draft], state="draft")
    time_entry(firm, dana, jordan, "2.0", note="Unbilled")
    firm.sync()

    result = payroll(firm)

    assert result.problems == []
    assert result.tally.get(payroll_flow.KIND, "created") == 2
    rows = sorted(activities(firm), key=lambda r: (r["Hours"], r["Minutes"]))
    assert [(r["Hours"], r["Minutes"]) for r in rows] == [(0, 15), (1, 30)]
    for row in rows:
        assert row["NameOf"] == "Employee"
        assert row["EmployeeRef"]["value"] == jordan_employee
        assert row["CustomerRef"]["value"] == customer_id(firm, "Dana Whitfield")
        assert row["ItemRef"]["name"] == SERVICE_ITEM
        assert Decimal(str(row["HourlyRate"])) == Decimal("250.00")
        assert row["TxnDate"] == ISSUED.isoformat()
    assert rows[0]["Description"].startswith("Call [ledgerlink ")


def test_a_rerun_writes_nothing_and_a_dry_run_writes_nothing(firm: SmallFirm) -> None:
    dana = firm.client("Dana", "Whitfield", "dana@example.com")
    jordan = user(firm, "Jordan", "Lee", "jordan@whitfield.law")
    employee(firm, "Jordan", "Lee", "jordan@whitfield.law")
    bill_time(firm, dana, [time_entry(firm, dana, jordan, "2.0")], state="paid")
    firm.sync()

    planned = payroll(firm, dry_run=True)
    assert planned.tally.get(payroll_flow.KIND, "created") == 1
    assert activities(firm) == []
    with firm.workspace() as workspace:
        assert workspace.store.open_intents(1) == []

    payroll(firm)
    before = len(firm.sandbox.state.writes_received())
    again = payroll(firm)
    assert again.tally.writes == 0
    assert again.tally.get(payroll_flow.KIND, "skipped") == 1
    assert len(firm.sandbox.state.writes_received()) == before
    assert len(activities(firm)) == 1


def test_a_user_without_an_employee_is_one_error_naming_the_user(firm: SmallFirm) -> None:
    dana = firm.client("Dana", "Whitfield", "dana@example.com")
    sam = user(firm, "Sam", "Rivera", "sam@whitfield.law")
    employee(firm, "Sam", "Rivera", "sam.rivera@elsewhere.com")  # same name, other e-mail: no match
    entries = [time_entry(firm, dana, sam, hours) for hours in ("1.0", "2.0", "0.5")]
    bill_time(firm, dana, entries, state="awaiting_payment")
    firm.sync()

    result = payroll(firm)

    own = [(a, e) for a, e in result.problems if e.cause != "blocked"]
    assert len(own) == 1
    action, error = own[0]
    assert action.kind == payroll_flow.USER_KIND
    assert "Sam Rivera" in error.message and "sam@whitfield.law" in action.label
    blocked = [e for a, e in result.problems if e.cause == "blocked"]
    assert len(blocked) == 3
    assert {e.blocked_by for e in blocked} == {f"{payroll_flow.USER_KIND} {sam}"}
    assert activities(firm) == []


def test_a_rate_different_from_the_employees_is_reported_and_clios_rate_posted(firm: SmallFirm) -> None:
    dana = firm.client("Dana", "Whitfield", "dana@example.com")
    jordan = user(firm, "Jordan", "Lee", "jordan@whitfield.law")
    employee(firm, "Jordan", "Lee", "jordan@whitfield.law", rate="200.00")
    bill_time(firm, dana, [time_entry(firm, dana, jordan, "1.0", rate="275.00")], state="awaiting_payment")
    firm.sync()

    result = payroll(firm)

    assert result.problems == []
    assert len(result.notices) == 1
    assert "275.00" in result.notices[0][1] and "200.00" in result.notices[0][1]
    assert Decimal(str(activities(firm)[0]["HourlyRate"])) == Decimal("275.00")


def test_an_edit_updates_and_a_voided_bill_deletes_the_time_activity(firm: SmallFirm) -> None:
    dana = firm.client("Dana", "Whitfield", "dana@example.com")
    jordan = user(firm, "Jordan", "Lee", "jordan@whitfield.law")
    employee(firm, "Jordan", "Lee", "jordan@whitfield.law")
    entry = time_entry(firm, dana, jordan, "1.0")
    bill = bill_time(firm, dana, [entry], state="awaiting_payment")
    firm.sync()
    payroll(firm)
    [created] = activities(firm)

    firm.sandbox.clio.update_activity(entry["id"], note="Drafting the lease", quantity=Decimal(5400))
    edited = payroll(firm)
    assert edited.tally.get(payroll_flow.KIND, "updated") == 1
    [row] = activities(firm)
    assert row["Id"] == created["Id"]
    assert (row["Hours"], row["Minutes"], row["Description"]) == (1, 30, "Drafting the lease")

    firm.sandbox.clio.void_bill(bill)
    voided = payroll(firm)
    assert voided.tally.get(payroll_flow.KIND, "deleted") == 1
    assert activities(firm) == []


def test_a_client_not_yet_in_quickbooks_blocks_the_entry(firm: SmallFirm) -> None:
    dana = firm.client("Dana", "Whitfield", "dana@example.com")
    jordan = user(firm, "Jordan", "Lee", "jordan@whitfield.law")
    employee(firm, "Jordan", "Lee", "jordan@whitfield.law")
    bill_time(firm, dana, [time_entry(firm, dana, jordan, "1.0")], state="awaiting_payment")
    # A QBO vendor holds Dana's name, so her customer cannot be created: she never gets linked.
    firm.sandbox.qbo.add(REALM, "Vendor", {"DisplayName": "Dana Whitfield"})

    result = payroll(firm)

    [(_action, error)] = [(a, e) for a, e in result.problems if a.kind == payroll_flow.KIND]
    assert error.cause == "blocked" and error.blocked_by == f"contact {dana}"
    assert "Waiting for the client" in error.message
    assert activities(firm) == []


def test_a_missing_service_item_stops_before_any_write(empty_sandbox: Sandbox, tmp_path: Path) -> None:
    firm = build_small_firm(empty_sandbox, tmp_path, extra=PAYROLL + 'service_item = "Paralegal Time"\n')
    before = len(empty_sandbox.state.writes_received())
    with pytest.raises(MappingMissingError, match="Paralegal Time"):
        payroll(firm)
    assert len(empty_sandbox.state.writes_received()) == before


def test_a_create_lost_in_a_crash_is_adopted_not_duplicated(firm: SmallFirm) -> None:
    dana = firm.client("Dana", "Whitfield", "dana@example.com")
    jordan = user(firm, "Jordan", "Lee", "jordan@whitfield.law")
    jordan_employee = employee(firm, "Jordan", "Lee", "jordan@whitfield.law")
    entry = time_entry(firm, dana, jordan, "1.0")
    bill_time(firm, dana, [entry], state="awaiting_payment")
    firm.sync()
    # What a crash between QBO's answer and the link commit leaves: a sent intent and the record.
    with firm.workspace() as workspace:
        connection = workspace.store.active_connection("qbo")
        assert connection is not None
        intent = workspace.store.begin_intent(
            connection.id, "create", payroll_flow.KIND, str(entry["id"]), ""
        )
        workspace.store.mark_intent_sent(intent.key)
    items = {i["Name"]: i["Id"] for i in firm.qbo("Item")}
    landed = firm.sandbox.qbo.add(
        REALM,
        "TimeActivity",
        {
            "TxnDate": ISSUED.isoformat(),
            "NameOf": "Employee",
            "EmployeeRef": {"value": jordan_employee},
            "ItemRef": {"value": items[SERVICE_ITEM]},
            "Hours": 1,
            "Description": f"Drafting [ledgerlink {intent.key}]",
        },
    )

    result = payroll(firm)

    assert result.tally.get(payroll_flow.KIND, "linked") == 1
    [row] = activities(firm)
    assert row["Id"] == landed["Id"]
    assert row["CustomerRef"]["value"] == customer_id(firm, "Dana Whitfield")
    with firm.workspace() as workspace:
        assert workspace.store.open_intents(connection.id) == []
    assert payroll(firm).tally.writes == 0
