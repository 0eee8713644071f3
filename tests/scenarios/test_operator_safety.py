"""The operator's guarantees, against the sandbox: a dry run writes nothing, the circuit breaker stops a
mass rewrite before it is written, one pass at a time (two real processes), a stale lock is taken over."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledgerlink.errors import MassChangeError
from ledgerlink.providers.clio import bills as clio_bills
from ledgerlink.sandbox import Sandbox, demo_firm
from ledgerlink.store.models import LockRow
from ledgerlink.sync.engine import LOCK_NAME
from tests.scenarios.conftest import Firm
from tests.scenarios.small_firm import EXPENSE_ITEM, SERVICE_ITEM, SmallFirm, build_small_firm

API_PREFIXES = ("/clio/api/", "/qbo/v3/", "/xero/api/")


def store_dump(workdir: Path) -> list[str]:
    """Every row of the SQLite store as SQL text: equal dumps, equal stores."""
    with sqlite3.connect(workdir / "ledgerlink.sqlite") as db:
        return list(db.iterdump())


def api_requests_since(sandbox: Sandbox, start: int) -> list[tuple[str, str]]:
    return [(m, p) for m, p in sandbox.state.request_log[start:] if p.startswith(API_PREFIXES)]


def api_writes_since(sandbox: Sandbox, start: int) -> list[tuple[str, str]]:
    reads = set(api_requests_since(sandbox, start)) - set(sandbox.state.writes_received())
    return [r for r in api_requests_since(sandbox, start) if r not in reads]


@pytest.fixture
def small(empty_sandbox: Sandbox, tmp_path: Path) -> Iterator[SmallFirm]:
    yield build_small_firm(empty_sandbox, tmp_path)


def _ten_synced_bills(small: SmallFirm) -> list[int]:
    bills = []
    for n in range(10):
        client = small.client(f"Client{n}", f"Family{n}", f"c{n}@example.com")
        bills.append(int(small.bill(client, ("1.5",))["id"]))
    first = small.cli("sync", "--once")
    assert first.returncode == 0, first.stdout + first.stderr
    assert len(small.qbo("Invoice")) == 10
    return bills


# -- dry run ------------------------------------------------------------------------------------


def test_dry_run_reads_everything_but_writes_nothing_locally_or_remotely(small: SmallFirm) -> None:
    _ten_synced_bills(small)
    client = small.client("Dana", "Whitfield", "dana@example.com")
    small.bill(client, ("2.0",), expenses=("12.50",))
    before = store_dump(small.workdir)
    start = len(small.sandbox.state.request_log)

    planned = small.cli("sync", "--dry-run")

    assert planned.returncode == 1, planned.stdout + planned.stderr  # changes are pending
    assert api_requests_since(small.sandbox, start), "the dry run read nothing"
    assert api_writes_since(small.sandbox, start) == []
    assert store_dump(small.workdir) == before  # not even a run row, a cursor or a lock
    assert len(small.qbo("Invoice")) == 10

    applied = small.cli("sync", "--once")
    assert applied.returncode == 0, applied.stdout
    assert len(small.qbo("Invoice")) == 11

    settled = store_dump(small.workdir)
    start = len(small.sandbox.state.request_log)
    nothing = small.cli("sync", "--dry-run")
    assert nothing.returncode == 0, nothing.stdout  # nothing would change
    assert api_writes_since(small.sandbox, start) == []
    assert store_dump(small.workdir) == settled


# -- circuit breaker ----------------------------------------------------------------------------


def test_a_mapping_change_that_rewrites_every_invoice_stops_before_writing_them(small: SmallFirm) -> None:
    _ten_synced_bills(small)
    versions = {i["Id"]: i["SyncToken"] for i in small.qbo("Invoice")}
    config = small.config_path.read_text()
    small.config_path.write_text(
        config.replace(f'time_entries = "{SERVICE_ITEM}"', f'time_entries = "{EXPENSE_ITEM}"')
    )

    planned = small.cli("sync", "--dry-run")
    assert planned.returncode == 1
    assert "A real pass would stop here" in planned.stdout + planned.stderr

    start = len(small.sandbox.state.request_log)
    stopped = small.cli("sync", "--once")
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert "rewrite 10 of the 10 invoice record(s) already in QuickBooks Online (100%)" in stopped.stderr
    assert "--allow-mass-change" in stopped.stderr
    assert api_writes_since(small.sandbox, start) == []
    assert {i["Id"]: i["SyncToken"] for i in small.qbo("Invoice")} == versions
    with small.workspace() as workspace:
        last = workspace.store.last_run()
        assert last is not None and last.status == "failed" and last.exit_code == 3
        assert workspace.store.lock_owner(LOCK_NAME) is None

    allowed = small.cli("sync", "--once", "--allow-mass-change")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert all(i["SyncToken"] != versions[i["Id"]] for i in small.qbo("Invoice"))
    again = small.cli("sync", "--once")  # the change is in: the next pass has nothing to rewrite
    assert again.returncode == 0, again.stderr


def test_read_in_windows_every_rewrite_is_weighed_before_one_is_written(
    small: SmallFirm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clio_bills, "BILLS_AT_ONCE", 2)  # ten bills: five windows
    _ten_synced_bills(small)
    versions = {i["Id"]: i["SyncToken"] for i in small.qbo("Invoice")}
    config = small.config_path.read_text()
    small.config_path.write_text(
        config.replace(f'time_entries = "{SERVICE_ITEM}"', f'time_entries = "{EXPENSE_ITEM}"')
    )

    with small.workspace() as workspace, pytest.raises(MassChangeError, match="rewrite 10 of the 10"):
        workspace.sync_once()
    assert {i["Id"]: i["SyncToken"] for i in small.qbo("Invoice")} == versions


def test_voiding_a_few_bills_passes_and_voiding_many_trips_the_breaker(small: SmallFirm) -> None:
    bills = _ten_synced_bills(small)
    small.sandbox.clio.void_bill(bills[0])
    small.sandbox.clio.void_bill(bills[1])  # 2 of 10: within the 20%
    assert small.sync().exit_code == 0
    assert sum(1 for i in small.qbo("Invoice") if i["TotalAmt"] == 0) == 2

    for bill in bills[2:5]:  # 3 more of 10: 30%
        small.sandbox.clio.void_bill(bill)
    with small.workspace() as workspace, pytest.raises(MassChangeError, match="void 3 of the 10"):
        workspace.sync_once()
    assert sum(1 for i in small.qbo("Invoice") if i["TotalAmt"] == 0) == 2
    with small.workspace() as workspace:
        assert workspace.sync_once(allow_mass_change=True).exit_code == 0
    assert sum(1 for i in small.qbo("Invoice") if i["TotalAmt"] == 0) == 5


# -- one pass at a time -------------------------------------------------------------------------


def _wait_for_lock(firm: Firm, process: subprocess.Popen[str]) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        with firm.workspace() as workspace:
            owner = workspace.store.lock_owner(LOCK_NAME)
        if owner is not None:
            return owner
        time.sleep(0.05)  # polling the store, not waiting on a rate limit
    raise AssertionError("the first pass never took the lock")


def test_a_second_pass_exits_3_while_one_runs_and_takes_over_once_the_holder_is_killed(firm: Firm) -> None:
    slow = firm.config_path.read_text().replace("requests_per_second = 1000", "requests_per_second = 10")
    firm.config_path.write_text(slow)
    firm.sandbox.state.settings.latency_ms = 40  # the first pass must still be running when the second starts
    first = subprocess.Popen(
        [sys.executable, "-m", "ledgerlink", "--config", str(firm.config_path), "sync", "--once"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        owner = _wait_for_lock(firm, first)
        assert owner.endswith(f":{first.pid}")

        second = firm.cli("sync", "--once")
        assert second.returncode == 3, second.stdout + second.stderr
        assert f"another pass is running (pid {first.pid}, since " in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=30)
        firm.sandbox.state.settings.latency_ms = 0

    with firm.workspace() as workspace:
        assert workspace.store.lock_owner(LOCK_NAME) == owner  # a killed pass cannot let go
    fast = firm.config_path.read_text().replace("requests_per_second = 10", "requests_per_second = 1000")
    firm.config_path.write_text(fast)
    third = firm.cli("sync", "--once")  # same machine, holder dead: taken over at once
    assert third.returncode in (0, 1), third.stderr
    numbers = Counter(i.get("DocNumber") for i in firm.sandbox.qbo.records(demo_firm.QBO_REALM_ID, "Invoice"))
    assert numbers and all(count == 1 for count in numbers.values())
    with firm.workspace() as workspace:
        assert workspace.store.lock_owner(LOCK_NAME) is None
        assert workspace.store.open_intents(workspace.connection("qbo").id) == []


def _plant_lock(firm: Firm, owner: str, expires_in: timedelta) -> None:
    now = datetime.now(UTC)
    with firm.workspace() as workspace, workspace.store._transaction() as session:
        session.add(LockRow(name=LOCK_NAME, owner=owner, acquired_at=now, expires_at=now + expires_in))


def test_a_lock_held_on_another_machine_blocks_until_it_expires_then_is_taken_over(small: SmallFirm) -> None:
    client = small.client("Dana", "Whitfield")
    small.bill(client)
    _plant_lock(small, "books-server:4242", timedelta(minutes=10))

    blocked = small.cli("sync", "--once")
    assert blocked.returncode == 3
    assert "another pass is running (pid 4242 on books-server, since " in blocked.stderr
    assert "expires at" in blocked.stderr
    assert small.qbo("Invoice") == []

    with small.workspace() as workspace:
        workspace.store.release_lock(LOCK_NAME, "books-server:4242")
    _plant_lock(small, "books-server:4242", timedelta(seconds=-1))  # crashed, and its lock ran out
    taken = small.cli("sync", "--once")
    assert taken.returncode == 0, taken.stderr
    assert len(small.qbo("Invoice")) == 1


def _pass_lock_owner(firm: Firm) -> str | None:
    with firm.workspace() as workspace:
        return workspace.store.lock_owner(LOCK_NAME)


def test_one_sync_loop_per_store_while_sync_once_still_runs_between_its_passes(small: SmallFirm) -> None:
    small.bill(small.client("Dana", "Whitfield"))
    loop = subprocess.Popen(
        [sys.executable, "-m", "ledgerlink", "--config", str(small.config_path), "sync"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not small.qbo("Invoice") and time.monotonic() < deadline:
            assert loop.poll() is None, loop.communicate()
            time.sleep(0.05)  # polling the emulator, not waiting on a rate limit
        second = small.cli("sync")
        assert second.returncode == 3, second.stdout + second.stderr
        assert f"another `ledgerlink sync` loop is running (pid {loop.pid}, since " in second.stderr

        while _pass_lock_owner(small) is not None and time.monotonic() < deadline:
            time.sleep(0.05)  # the loop's first pass is finishing; then it sleeps for its interval
        small.bill(small.client("Avery", "Ames"))
        now = small.cli("sync", "--once")  # "sync now" while the loop sleeps
        assert now.returncode == 0, now.stdout + now.stderr
        assert len(small.qbo("Invoice")) == 2
    finally:
        loop.send_signal(signal.SIGTERM)
        _out, err = loop.communicate(timeout=60)
    assert loop.returncode == 0, err
    with small.workspace() as workspace:
        assert workspace.store.lock_owner("sync-loop") is None
        assert workspace.store.lock_owner(LOCK_NAME) is None
