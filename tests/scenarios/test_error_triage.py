"""End to end, issue 8: `ledgerlink errors`, `retry` and `skip` against the sandbox.

The stories: a bill fails (an expense category the mapping does not name) and holds up its
payment; a client fails (a QuickBooks vendor already has the name) and holds up their bill. The
bookkeeper lists the errors, parks one, fixes the cause and retries. Listing runs through Typer's
runner; retry and skip also run as the real command in a child process.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner, Result

from ledgerlink.cli import app, output
from ledgerlink.domain import money
from ledgerlink.errors import UserError
from ledgerlink.sandbox import Sandbox
from ledgerlink.store import SyncError
from ledgerlink.sync.reading import PassReader
from ledgerlink.workspace import Workspace
from tests.scenarios.small_firm import EXPENSE_ITEM, SmallFirm, build_small_firm

COURIER = "Courier"


@pytest.fixture
def small(empty_sandbox: Sandbox, tmp_path: Path) -> Iterator[SmallFirm]:
    """The small firm with expenses mapped per category, and no mapping for courier costs."""
    firm = build_small_firm(empty_sandbox, tmp_path)
    text = firm.config_path.read_text().replace(f'expense_entries = "{EXPENSE_ITEM}"\n', "")
    firm.config_path.write_text(text + f'\n[mapping.expense_categories]\n"Filing Fees" = "{EXPENSE_ITEM}"\n')
    yield firm


def map_courier(firm: SmallFirm) -> None:
    """The bookkeeper's fix: courier costs go to the reimbursable-expenses product too."""
    firm.config_path.write_text(firm.config_path.read_text() + f'"{COURIER}" = "{EXPENSE_ITEM}"\n')


def courier_bill(firm: SmallFirm, client: int) -> dict[str, Any]:
    """A bill of one courier expense (45.00), a category the mapping does not name: it fails alone."""
    clio = firm.sandbox.clio
    category = clio.add_expense_category(name=COURIER)
    bill = firm.bill(client, hours=())
    activity = clio.add_activity(
        type="ExpenseEntry", expense_category=category["id"], date=date(2026, 3, 1),
        matter=firm.matters[client], price=Decimal("45.00"), note="courier",
    )  # fmt: skip
    clio.add_line_item(
        bill=bill["id"], activity=activity["id"], kind="Expense", description="Courier",
        quantity=Decimal(1), price=Decimal("45.00"),
    )  # fmt: skip
    return firm.clio_bill(bill["id"])


def paid_courier_bill(firm: SmallFirm) -> tuple[dict[str, Any], str]:
    """Dana's courier bill, paid in full in Clio; the bill and the payment's Clio id."""
    dana = firm.client("Dana", "Whitfield", "dana@example.com")
    bill = courier_bill(firm, dana)
    allocation = firm.sandbox.clio.record_payment(bill["id"])
    return bill, str(allocation["parent"]["id"])


@contextmanager
def pass_reader(workspace: Workspace) -> Iterator[PassReader]:
    """What a pass would read, on the firm's real Clio, QuickBooks and store."""
    with workspace.both_sides() as (source, ledger, connection):
        yield PassReader(
            source=source, ledger=ledger, store=workspace.store,
            connection_id=connection.id, config=workspace.config,
        )  # fmt: skip


def invoke(firm: SmallFirm, *args: str) -> Result:
    return CliRunner().invoke(app, ["--config", str(firm.config_path), *args])


def open_errors(firm: SmallFirm) -> dict[tuple[str, str], SyncError]:
    with firm.workspace() as workspace:
        return {(e.kind, e.source_id): e for e in workspace.store.open_errors()}


def invoices(firm: SmallFirm) -> list[dict[str, Any]]:
    return firm.qbo("Invoice")


# -- errors -------------------------------------------------------------------------------------


def test_errors_shows_each_failure_with_its_id_attempts_and_the_records_it_blocks(small: SmallFirm) -> None:
    bill, payment_id = paid_courier_bill(small)
    small.sync()
    small.sync()
    errors = open_errors(small)
    failed, blocked = errors[("invoice", str(bill["id"]))], errors[("payment", payment_id)]

    listed = invoke(small, "errors")

    assert listed.exit_code == 1, listed.output
    assert (failed.cause, failed.attempts, blocked.cause, blocked.blocked_by) == (
        "unmapped_category",
        2,
        "blocked",
        f"bill {bill['id']}",
    )
    lines = listed.output.splitlines()
    assert lines[0] == "2 record(s) need attention:"
    assert f"  #{failed.id} {failed.label} [unmapped_category]" in lines
    assert f"    what to do: {failed.remedy}" in lines
    assert f"    blocks: #{blocked.id} {blocked.label}" in lines
    assert re.search(r"attempts: 2, first seen \d{4}-\d\d-\d\d \d\d:\d\d UTC, last seen ", listed.output)

    as_json = json.loads(invoke(small, "errors", "--json").output)
    by_id = {e["id"]: e for e in as_json}
    assert by_id[failed.id]["blocks"] == [{"id": blocked.id, "label": blocked.label}]
    assert by_id[blocked.id]["blocks"] == [] and by_id[blocked.id]["parked"] is False
    assert by_id[failed.id]["message"] == failed.message and by_id[failed.id]["attempts"] == 2


def test_errors_of_one_kind_and_an_unknown_kind_named_with_the_known_ones(small: SmallFirm) -> None:
    _bill, payment_id = paid_courier_bill(small)
    small.sync()

    payments = invoke(small, "errors", "--kind", "payment", "--json")
    wrong = small.cli("errors", "--kind", "bill")

    assert [(e["kind"], e["source_id"]) for e in json.loads(payments.output)] == [("payment", payment_id)]
    assert payments.exit_code == 1
    assert wrong.returncode == 2
    assert "“bill”" in wrong.stderr and "contact, contact_writeback, invoice, credit_note" in wrong.stderr


def test_errors_on_a_terminal_is_a_table_with_ids_and_what_each_blocks(
    small: SmallFirm, monkeypatch: pytest.MonkeyPatch
) -> None:
    bill, _payment_id = paid_courier_bill(small)
    small.sync()
    screen = io.StringIO()
    monkeypatch.setattr(output, "console", Console(file=screen, force_terminal=True, width=240))
    failed = open_errors(small)[("invoice", str(bill["id"]))]

    listed = invoke(small, "errors")

    shown = screen.getvalue()
    assert listed.exit_code == 1
    assert "2 record(s) need attention" in shown and "blocks" in shown and "attempts" in shown
    assert re.search(rf"│\s+{failed.id} │ Bill {bill['number']} \(Dana Whitfield\)", shown)


# -- skip ---------------------------------------------------------------------------------------


def test_a_parked_bill_is_never_sent_its_payment_stays_blocked_and_retry_brings_both_in(
    small: SmallFirm,
) -> None:
    bill, payment_id = paid_courier_bill(small)
    assert small.sync().exit_code == 1
    failed = open_errors(small)[("invoice", str(bill["id"]))]

    skipped = small.cli("skip", str(failed.id), "--reason", "courier costs are billed by hand")

    assert skipped.returncode == 0, skipped.stderr
    blocked = open_errors(small)[("payment", payment_id)]
    assert f"These stay blocked while it is parked (1):\n  #{blocked.id} {blocked.label}\n" in skipped.stdout
    assert f"ledgerlink retry {failed.id}" in skipped.stdout

    # Fixed meanwhile, but parked: nothing is sent; the payment is still blocked and is what fails the pass.
    map_courier(small)
    writes_before = len(small.sandbox.state.writes_received())
    again = small.sync()
    assert again.exit_code == 1
    assert [(a.kind, a.source_id, e.cause) for a, e in again.problems] == [("payment", payment_id, "blocked")]
    assert small.sandbox.state.writes_received()[writes_before:] == []
    assert invoices(small) == []
    with small.workspace() as workspace:
        [run] = workspace.store.runs(limit=1)
    assert run.counts["invoice"] == {"parked": 1} and run.counts["payment"] == {"blocked": 1}

    listed = invoke(small, "errors")
    assert listed.exit_code == 1  # the blocked payment is not parked
    assert "    parked by you: courier costs are billed by hand (since " in listed.output
    only_parked = invoke(small, "errors", "--parked", "--json")
    assert [e["id"] for e in json.loads(only_parked.output)] == [failed.id]
    assert only_parked.exit_code == 0

    # The payment set aside too: the pass is clean, `errors` exits 0, --all leaves parked ones alone.
    assert small.cli("skip", str(blocked.id), "--reason", "follows its bill").returncode == 0
    assert small.sync().exit_code == 0
    assert invoke(small, "errors").exit_code == 0
    nothing = small.cli("retry", "--all")
    assert (nothing.returncode, nothing.stdout.strip()) == (
        0,
        "No open errors to retry (parked ones are retried by id).",
    )

    retried = small.cli("retry", str(failed.id), str(blocked.id))

    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert f"  #{failed.id} {failed.label}: fixed\n" in retried.stdout
    assert f"  #{blocked.id} {blocked.label}: fixed\n" in retried.stdout
    [invoice] = invoices(small)
    assert (money(invoice["TotalAmt"]), money(invoice["Balance"])) == (Decimal("45.00"), Decimal("0.00"))
    assert open_errors(small) == {}


def test_skip_needs_a_reason_and_an_open_error(small: SmallFirm) -> None:
    bill, _payment_id = paid_courier_bill(small)
    small.sync()
    failed = open_errors(small)[("invoice", str(bill["id"]))]

    no_reason = invoke(small, "skip", str(failed.id))
    blank = invoke(small, "skip", str(failed.id), "--reason", "  ")
    unknown = small.cli("skip", "4242", "--reason", "typo")

    assert no_reason.exit_code == 2 and "--reason" in no_reason.output
    assert isinstance(blank.exception, UserError) and "reason is empty" in str(blank.exception)
    assert unknown.returncode == 2 and "There is no error with id 4242" in unknown.stderr
    assert not open_errors(small)[("invoice", str(bill["id"]))].parked


def test_a_trust_posting_is_not_parked(small: SmallFirm) -> None:
    with small.workspace() as workspace:
        connection = workspace.store.active_connection("qbo")
        assert connection is not None
        error = workspace.store.record_error(
            connection.id, "trust_posting", "88", label="Deposit 88 (Dana Whitfield)",
            cause="api_rejected", message="refused", remedy="fix it",
        )  # fmt: skip

    refused = invoke(small, "skip", str(error.id), "--reason", "later")

    assert isinstance(refused.exception, UserError) and refused.exception.exit_code == 2
    assert "could overdraw the client" in str(refused.exception)
    assert not open_errors(small)[("trust_posting", "88")].parked


# -- retry --------------------------------------------------------------------------------------


def test_a_retried_client_is_fixed_and_its_bill_follows_in_the_same_pass(small: SmallFirm) -> None:
    vendor = small.sandbox.qbo.add_vendor(small.realm, "Dana Whitfield")
    dana = small.client("Dana", "Whitfield", "dana@example.com")
    bill = small.bill(dana)
    assert small.sync().exit_code == 1
    errors = open_errors(small)
    client, waiting = errors[("contact", str(dana))], errors[("invoice", str(bill["id"]))]
    assert (client.cause, waiting.blocked_by) == ("duplicate_name", f"contact {dana}")
    small.sandbox.qbo.edit(small.realm, "Vendor", vendor["Id"], DisplayName="Dana Whitfield (vendor)")

    retried = small.cli("retry", str(client.id))

    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert f"Retried 1 record(s):\n  #{client.id} {client.label}: fixed\n" in retried.stdout
    assert small.invoice(bill["number"])["CustomerRef"]["name"] == "Dana Whitfield"
    assert open_errors(small) == {}
    assert invoke(small, "errors").output.strip() == "No open errors: nothing needs attention."


def test_a_retry_that_still_fails_says_why_and_exits_like_the_pass(small: SmallFirm) -> None:
    bill, payment_id = paid_courier_bill(small)
    small.sync()
    errors = open_errors(small)
    failed, blocked = errors[("invoice", str(bill["id"]))], errors[("payment", payment_id)]

    retried = small.cli("retry", "--all")

    assert retried.returncode == 1
    assert (
        f"  #{failed.id} {failed.label}: still failing: unmapped_category — {failed.message}"
        in retried.stdout
    )
    assert f"  #{blocked.id} {blocked.label}: still failing: blocked — " in retried.stdout
    assert open_errors(small)[("invoice", str(bill["id"]))].attempts == 2


def test_a_retried_payment_is_read_again_although_its_bill_still_fails(small: SmallFirm) -> None:
    _bill, payment_id = paid_courier_bill(small)
    small.sync()
    blocked = open_errors(small)[("payment", payment_id)]

    with small.workspace() as workspace:
        with pass_reader(workspace) as reader:
            waiting = reader.still_waiting()
            assert ("payment", payment_id) in waiting
            assert reader.retries(reader.payments, [], None, waiting) == []
        workspace.store.request_retry(blocked.id)
        with pass_reader(workspace) as reader:
            waiting = reader.still_waiting()
            assert ("payment", payment_id) not in waiting
            assert [p.source_id for p in reader.retries(reader.payments, [], None, waiting)] == [payment_id]


def test_retry_of_an_unknown_id_or_of_nothing_is_a_usage_error(small: SmallFirm) -> None:
    requests_before = len(small.sandbox.state.request_log)

    unknown = small.cli("retry", "31337", "4242")
    neither = small.cli("retry")

    assert unknown.returncode == 2 and "There is no error with id 31337, 4242" in unknown.stderr
    assert neither.returncode == 2 and "their ids, or --all" in neither.stderr
    assert small.sandbox.state.request_log[requests_before:] == []  # no pass was run
