"""QBO → Clio hard-cost import (issue 7, seeds 002/000) against the sandbox: QBO expenses and cheques on the
hard-cost account become Clio HardCostEntry records on the customer's matter."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledgerlink import failpoints
from ledgerlink.sandbox import Sandbox
from ledgerlink.sync.apply import PassResult
from tests.scenarios.small_firm import REALM, SmallFirm, build_small_firm

HARD_COST_ACCOUNT = "Reimbursable Expenses"
START = date(2026, 1, 1)
CONFIG = f"""
[import.hard_costs]
enabled = true
start_date = {START.isoformat()}
qbo_account = "{HARD_COST_ACCOUNT}"
"""


class HardCostFirm:
    """The small firm plus a QBO bank account, the hard-cost account, a vendor and helpers."""

    def __init__(self, firm: SmallFirm) -> None:
        self.firm = firm
        qbo = firm.sandbox.qbo
        self.bank = qbo.add_account(REALM, "Operating Checking", "Bank", "Checking")["Id"]
        self.account = qbo.add_account(REALM, HARD_COST_ACCOUNT, "Expense")["Id"]
        self.other_account = qbo.add_account(REALM, "Office Supplies", "Expense")["Id"]
        self.vendor = qbo.add_vendor(REALM, "Metro Courier")["Id"]

    @property
    def clio(self) -> Any:
        return self.firm.sandbox.clio

    def customer(self, first: str, last: str, *, matter: bool = True) -> tuple[int, str]:
        """A Clio client (with a matter unless told otherwise) and the QBO customer of the same name."""
        if matter:
            contact = self.firm.client(first, last)
        else:
            contact = int(self.clio.add_contact(type="Person", first_name=first, last_name=last)["id"])
        qbo = self.firm.sandbox.qbo.add(REALM, "Customer", {"DisplayName": f"{first} {last}"})
        return contact, str(qbo["Id"])

    def line(
        self, amount: str, customer: str | None, description: str = "", account: str | None = None
    ) -> dict:
        detail: dict[str, Any] = {"AccountRef": {"value": account or self.account}}
        if customer:
            detail["CustomerRef"] = {"value": customer}
        return {
            "Amount": amount,
            "Description": description,
            "DetailType": "AccountBasedExpenseLineDetail",
            "AccountBasedExpenseLineDetail": detail,
        }

    def cheque(self, number: str, lines: list[dict], day: date = date(2026, 3, 5)) -> str:
        body = {
            "PaymentType": "Check",
            "AccountRef": {"value": self.bank},
            "DocNumber": number,
            "TxnDate": day.isoformat(),
            "EntityRef": {"value": self.vendor, "type": "Vendor"},
            "Line": lines,
        }
        return str(self.firm.sandbox.qbo.add(REALM, "Purchase", body)["Id"])

    def run(self, *, dry_run: bool = False) -> PassResult:
        """A full `sync --once` pass: the engine runs the hard-cost import after its other phases."""
        with self.firm.workspace() as workspace:
            return workspace.sync_once(dry_run=dry_run)

    def entries(self) -> list[dict[str, Any]]:
        return [a for a in self.clio.records("activity") if a["type"] == "HardCostEntry"]

    def errors(self) -> dict[str, str]:
        with self.firm.workspace() as workspace:
            return {e.source_id: e.cause for e in workspace.store.open_errors(kind="hard_cost")}


@pytest.fixture
def costs(empty_sandbox: Sandbox, tmp_path: Path) -> Iterator[HardCostFirm]:
    yield HardCostFirm(build_small_firm(empty_sandbox, tmp_path, extra=CONFIG))


def test_cheque_with_three_lines_for_two_matters_becomes_two_clio_entries(costs: HardCostFirm) -> None:
    dana, dana_qbo = costs.customer("Dana", "Whitfield")
    lee, lee_qbo = costs.customer("Lee", "Park")
    costs.cheque(
        "1043",
        [
            costs.line("40.00", dana_qbo, "Filing fee"),
            costs.line("12.50", dana_qbo, "Courier"),
            costs.line("99.99", lee_qbo, "Process server"),
            costs.line(
                "7.00", dana_qbo, "Pens", account=costs.other_account
            ),  # another account: not imported
        ],
    )
    result = costs.run()

    assert result.tally.get("hard_cost", "created") == 2
    assert not result.problems
    by_matter = {e["matter"]: e for e in costs.entries()}
    assert set(by_matter) == {costs.firm.matters[dana], costs.firm.matters[lee]}
    dana_entry = by_matter[costs.firm.matters[dana]]
    assert dana_entry["price"] == Decimal("52.50") and dana_entry["total"] == Decimal("52.50")
    assert dana_entry["date"] == date(2026, 3, 5)
    assert dana_entry["reference"] == "1043"
    assert dana_entry["note"].startswith("Filing fee; Courier")
    assert dana_entry["user"] == next(u["id"] for u in costs.clio.records("user") if u["account_owner"])
    vendor = costs.clio.get("contact", dana_entry["vendor"])
    assert vendor["name"] == "Metro Courier" and vendor["type"] == "Company"
    assert by_matter[costs.firm.matters[lee]]["vendor"] == dana_entry["vendor"]  # one vendor contact, reused


def test_rerun_writes_nothing(costs: HardCostFirm) -> None:
    _dana, dana_qbo = costs.customer("Dana", "Whitfield")
    costs.cheque("1043", [costs.line("40.00", dana_qbo, "Filing fee")])
    costs.run()
    writes_before = len(costs.firm.sandbox.state.writes_received())

    again = costs.run()

    assert again.tally.writes == 0
    assert len(costs.firm.sandbox.state.writes_received()) == writes_before
    assert len(costs.entries()) == 1


def test_item_details_line_is_refused_with_seed_000_message(costs: HardCostFirm) -> None:
    _dana, dana_qbo = costs.customer("Dana", "Whitfield")
    qbo = costs.firm.sandbox.qbo
    item = qbo.add(
        REALM,
        "Item",
        {
            "Name": "Copies",
            "Type": "NonInventory",
            "IncomeAccountRef": {
                "value": next(
                    a["Id"] for a in qbo.records(REALM, "Account") if a["Name"] == "Legal Fee Income"
                )
            },
            "ExpenseAccountRef": {"value": costs.account},
        },
    )
    item_line = {
        "Amount": "15.00",
        "DetailType": "ItemBasedExpenseLineDetail",
        "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item["Id"]}, "CustomerRef": {"value": dana_qbo}},
    }
    purchase = costs.cheque("1044", [item_line])

    result = costs.run()

    assert costs.entries() == []
    [(_action, error)] = result.problems
    assert (
        error.cause == "item_details"
        and "Item details" in error.message
        and "Category details" in error.remedy
    )
    assert costs.errors() == {f"{purchase}/items": "item_details"}


def test_deleted_qbo_expense_is_removed_from_clio(costs: HardCostFirm) -> None:
    _dana, dana_qbo = costs.customer("Dana", "Whitfield")
    purchase = costs.cheque("1043", [costs.line("40.00", dana_qbo, "Filing fee")])
    costs.run()
    assert len(costs.entries()) == 1

    costs.firm.sandbox.qbo.delete(REALM, "Purchase", purchase)
    result = costs.run()

    assert result.tally.get("hard_cost", "deleted") == 1
    assert costs.entries() == []


def test_edit_in_qbo_updates_the_entry(costs: HardCostFirm) -> None:
    _dana, dana_qbo = costs.customer("Dana", "Whitfield")
    purchase = costs.cheque("1043", [costs.line("40.00", dana_qbo, "Filing fee")])
    costs.run()
    [before] = costs.entries()

    costs.firm.sandbox.qbo.edit(
        REALM, "Purchase", purchase, Line=[costs.line("45.00", dana_qbo, "Filing fee")]
    )
    result = costs.run()

    assert result.tally.get("hard_cost", "updated") == 1
    [after] = costs.entries()
    assert after["id"] == before["id"] and after["price"] == Decimal("45.00")


def test_billed_entry_is_not_changed_and_is_reported(costs: HardCostFirm) -> None:
    _dana, dana_qbo = costs.customer("Dana", "Whitfield")
    purchase = costs.cheque("1043", [costs.line("40.00", dana_qbo, "Filing fee")])
    costs.run()
    [entry] = costs.entries()
    costs.clio.update_activity(entry["id"], billed=True)

    costs.firm.sandbox.qbo.edit(
        REALM, "Purchase", purchase, Line=[costs.line("45.00", dana_qbo, "Filing fee")]
    )
    result = costs.run()

    [(_action, error)] = result.problems
    assert error.cause == "billed_in_clio" and not error.retryable
    assert costs.clio.get("activity", entry["id"])["price"] == Decimal("40.00")
    # Reported once, not retried for ever: the next run does not touch it again.
    assert costs.run().problems == []


def test_customer_with_several_matters_is_reported_then_resolved_by_a_matter_choice(
    costs: HardCostFirm,
) -> None:
    dana, dana_qbo = costs.customer("Dana", "Whitfield")
    second = costs.clio.add_matter(client=dana, display_number="00002-Whitfield", description="Estate")
    purchase = costs.cheque("1043", [costs.line("40.00", dana_qbo, "Filing fee")])

    result = costs.run()

    [(_action, error)] = result.problems
    assert error.cause == "several_matters"
    assert f"ledgerlink links set matter {dana_qbo} <clio matter id>" in error.remedy
    assert costs.entries() == []

    with costs.firm.workspace() as workspace, workspace.both_sides() as (_s, _l, connection):
        workspace.store.save_link(
            connection.id, "matter_choice", dana_qbo, str(second["id"]), content_hash=""
        )
    resolved = costs.run()

    assert resolved.tally.get("hard_cost", "created") == 1
    [entry] = costs.entries()
    assert entry["matter"] == second["id"]
    assert costs.errors() == {}, f"error of purchase {purchase} left open"


def test_customer_whose_contact_has_no_matter_is_an_error(costs: HardCostFirm) -> None:
    _lee, lee_qbo = costs.customer("Lee", "Park", matter=False)
    purchase = costs.cheque("1043", [costs.line("40.00", lee_qbo, "Filing fee")])

    result = costs.run()

    [(_action, error)] = result.problems
    assert error.cause == "no_matter"
    assert costs.errors() == {f"{purchase}/customer/{lee_qbo}": "no_matter"}
    assert costs.entries() == []


def test_dry_run_writes_nothing(costs: HardCostFirm) -> None:
    _dana, dana_qbo = costs.customer("Dana", "Whitfield")
    costs.cheque("1043", [costs.line("40.00", dana_qbo, "Filing fee")])
    writes_before = len(costs.firm.sandbox.state.writes_received())

    result = costs.run(dry_run=True)

    assert result.tally.get("hard_cost", "created") == 1
    assert result.exit_code == 1
    assert len(costs.firm.sandbox.state.writes_received()) == writes_before
    assert costs.entries() == []
    with costs.firm.workspace() as workspace, workspace.both_sides() as (_s, _l, connection):
        assert workspace.store.links(connection.id, "hard_cost") == {}
        assert workspace.store.cursor(connection.id, "hard_costs") is None
        assert workspace.store.open_intents(connection.id) == []


def test_doctor_checks_track_by_customer_and_the_hard_cost_account(costs: HardCostFirm) -> None:
    off = costs.firm.cli("doctor")
    costs.firm.sandbox.qbo.set_preference(REALM, "VendorAndPurchasesPrefs", "TrackingByCustomer", True)
    on = costs.firm.cli("doctor")

    assert "“Track expenses and items by customer” is off" in off.stdout
    assert "Track expenses and items by customer" in off.stdout and "Bills and expenses" in off.stdout
    assert "“Track expenses and items by customer” is on" in on.stdout
    assert f"hard costs are imported from '{HARD_COST_ACCOUNT}'" in on.stdout


def test_crash_between_clio_write_and_link_does_not_duplicate(costs: HardCostFirm) -> None:
    _dana, dana_qbo = costs.customer("Dana", "Whitfield")
    costs.cheque("1043", [costs.line("40.00", dana_qbo, "Filing fee")])

    crashed = subprocess.run(
        [sys.executable, "-m", "ledgerlink", "--config", str(costs.firm.config_path), "sync", "--once"],
        env={**os.environ, failpoints.ENV: "after_clio_write"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == failpoints.CRASH_EXIT_CODE, crashed.stderr
    assert len(costs.entries()) == 1

    result = costs.run()

    assert len(costs.entries()) == 1  # adopted by its marker, not created again
    assert result.tally.writes == 0
    with costs.firm.workspace() as workspace, workspace.both_sides() as (_s, _l, connection):
        assert [link.target_id for link in workspace.store.links(connection.id, "hard_cost").values()] == [
            str(costs.entries()[0]["id"])
        ]
        assert workspace.store.open_intents(connection.id) == []
