"""The real `ledgerlink` command in a child process: exit codes, what it prints, crashes that heal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from ledgerlink.failpoints import CRASH_EXIT_CODE
from ledgerlink.sandbox import demo_firm
from tests.scenarios.conftest import Firm

REALM = demo_firm.QBO_REALM_ID


def _invoice_numbers(firm: Firm) -> Counter[str]:
    return Counter(inv["DocNumber"] for inv in firm.sandbox.qbo.records(REALM, "Invoice"))


def _customer_names(firm: Firm) -> Counter[str]:
    return Counter(c["DisplayName"] for c in firm.sandbox.qbo.records(REALM, "Customer"))


def test_sync_once_exits_1_and_lists_the_records_that_need_attention(firm: Firm) -> None:
    done = firm.cli("sync", "--once")
    assert done.returncode == 1, done.stderr
    assert "Process Server Fees" in done.stdout
    assert demo_firm.VENDOR_CONFLICT_NAME in done.stdout
    again = firm.cli("sync", "--once")
    assert again.returncode == 1
    assert "Nothing to write" in again.stdout


def test_errors_json_names_cause_and_remedy_of_each_record(firm: Firm) -> None:
    firm.cli("sync", "--once")
    listed = firm.cli("errors", "--json")
    assert listed.returncode == 1
    errors = json.loads(listed.stdout)
    assert {e["cause"] for e in errors} >= {"unmapped_category", "duplicate_name", "blocked"}
    assert all(e["remedy"] and e["message"] and e["label"] for e in errors)


def test_status_json_shows_both_connections_and_the_last_pass_without_any_token(firm: Firm) -> None:
    firm.cli("sync", "--once")
    shown = firm.cli("status", "--json")
    assert shown.returncode == 0, shown.stderr
    status = json.loads(shown.stdout)
    assert {c["provider"] for c in status["connections"]} == {"clio", "qbo"}
    assert status["last_run"]["status"] == "errors"
    tokens = json.loads((firm.workdir / "tokens.json").read_text())
    for value in _strings(tokens):
        if len(value) > 20:
            assert value not in shown.stdout


def _strings(value: object) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return [value] if isinstance(value, str) else []


def test_dry_run_prints_the_plan_and_writes_nothing(firm: Firm) -> None:
    done = firm.cli("sync", "--dry-run")
    assert done.returncode == 1  # changes are pending
    assert "to create" in done.stdout and "The plan (" in done.stdout
    assert not firm.sandbox.qbo.records(REALM, "Invoice")


def test_bad_config_is_exit_2_naming_file_and_key(firm: Firm, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[sync]\ninterval_minutes = "sometimes"\n')
    done = firm.cli("--config", str(bad), "sync", "--once")
    assert done.returncode == 2
    assert "bad.toml" in done.stderr and "sync.interval_minutes" in done.stderr
    assert "Traceback" not in done.stderr


def test_not_connected_is_exit_3_with_the_command_to_run(tmp_path: Path, firm: Firm) -> None:
    cfg = tmp_path / "fresh.toml"
    cfg.write_text(firm.config_path.read_text().replace("ledgerlink.sqlite", "other.sqlite"))
    done = firm.cli("--config", str(cfg), "sync", "--once")
    assert done.returncode == 3
    assert "ledgerlink connect clio" in done.stderr


def test_killed_after_qbo_create_before_link_commit_the_next_pass_creates_no_duplicate(firm: Firm) -> None:
    # Writes go in batches of 30 and contacts (~35, two batches) come first, so the third batch is
    # invoices: QBO has them, the store does not.
    crashed = firm.cli("sync", "--once", env={"LEDGERLINK_FAILPOINTS": "after_ledger_write:3"})
    assert crashed.returncode == CRASH_EXIT_CODE, crashed.stderr
    created_before_crash = sum(_invoice_numbers(firm).values())
    assert created_before_crash >= 1

    healed = firm.cli("sync", "--once")
    assert healed.returncode == 1, healed.stderr
    numbers = _invoice_numbers(firm)
    assert all(count == 1 for count in numbers.values()), numbers.most_common(3)
    assert sum(numbers.values()) > created_before_crash
    assert all(count == 1 for count in _customer_names(firm).values())


def test_killed_while_creating_customers_the_next_pass_creates_no_duplicate_customer(firm: Firm) -> None:
    crashed = firm.cli("sync", "--once", env={"LEDGERLINK_FAILPOINTS": "after_ledger_write:1"})
    assert crashed.returncode == CRASH_EXIT_CODE
    assert len(firm.sandbox.qbo.records(REALM, "Customer")) >= 3
    healed = firm.cli("sync", "--once")
    assert healed.returncode == 1, healed.stderr
    assert all(count == 1 for count in _customer_names(firm).values())
    assert all(count == 1 for count in _invoice_numbers(firm).values())


def test_no_token_reaches_the_logs_the_store_the_config_or_json_output(firm: Firm) -> None:
    done = firm.cli("--verbose", "sync", "--once")
    assert done.returncode == 1
    assert "HTTP Request" in done.stderr  # the log really is verbose
    shown = firm.cli("status", "--json").stdout + firm.cli("errors", "--json").stdout
    tokens = json.loads((firm.workdir / "tokens.json").read_text())
    secrets = [value for value in _strings(tokens) if len(value) > 20]
    assert secrets
    store = b"".join(path.read_bytes() for path in firm.workdir.glob("ledgerlink.sqlite*"))
    config = firm.config_path.read_text()
    for secret in secrets:
        assert secret not in done.stderr and secret not in done.stdout and secret not in shown
        assert secret.encode() not in store and secret not in config


def _ids(firm: Firm, entity: str) -> set[str]:
    return {r["Id"] for r in firm.sandbox.qbo.records(REALM, entity)}


def test_looping_sync_stops_between_records_on_sigterm_and_leaves_no_lock(firm: Firm) -> None:
    slow = firm.config_path.read_text().replace("requests_per_second = 1000", "requests_per_second = 20")
    firm.config_path.write_text(slow)
    looping = subprocess.Popen(
        [sys.executable, "-m", "ledgerlink", "--config", str(firm.config_path), "sync"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while len(firm.sandbox.qbo.records(REALM, "Customer")) < 10 and time.monotonic() < deadline:
        time.sleep(0.05)  # polling the emulator, not waiting on a rate limit
    looping.send_signal(signal.SIGTERM)
    out, err = looping.communicate(timeout=60)
    assert looping.returncode in (0, 1), err
    assert "Stopping after the current record" in err
    assert "Stopped early" in out
    with firm.workspace() as workspace:
        last = workspace.store.last_run()
        conn = workspace.connection("qbo").id
        open_intents = workspace.store.open_intents(conn)
        links = {kind: workspace.store.links(conn, kind) for kind in ("contact", "invoice")}
    assert last is not None and last.status == "interrupted"
    # Nothing half-written: every write sent got its answer and its link before the pass stopped,
    # and every link points at a record QuickBooks has.
    assert open_intents == []
    live = {"contact": _ids(firm, "Customer"), "invoice": _ids(firm, "Invoice")}
    for kind, linked in links.items():
        assert {link.target_id for link in linked.values()} <= live[kind], kind

    resumed = firm.cli("sync", "--once")  # the lock was released: the next pass runs at once
    assert resumed.returncode == 1, resumed.stderr
    assert all(count == 1 for count in _customer_names(firm).values())
    assert all(count == 1 for count in _invoice_numbers(firm).values())
