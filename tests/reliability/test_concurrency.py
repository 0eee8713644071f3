"""Passes and commands started at the same moment against one store (issue 9, "Concurrency").

The lead's operator-safety tests start a second pass while a first one is well under way; here the
processes start together, so they race for the store's creation, its migration and the pass lock.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ledgerlink.sandbox import Sandbox
from ledgerlink.store import Store
from ledgerlink.sync.engine import LOCK_NAME
from tests.reliability.test_store_reliability import HEAD, integrity, mode, revision
from tests.scenarios.small_firm import SmallFirm, build_small_firm

BILLS = 6


@pytest.fixture
def small(empty_sandbox: Sandbox, tmp_path: Path) -> Iterator[SmallFirm]:
    yield build_small_firm(empty_sandbox, tmp_path)


def start_together(commands: Sequence[Sequence[str]]) -> list[subprocess.CompletedProcess[str]]:
    """Start every command back to back (none waits for another), then wait for all of them."""
    env = {**os.environ, "COLUMNS": "200"}
    running = [
        subprocess.Popen(list(c), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for c in commands
    ]
    done = []
    for process in running:
        out, err = process.communicate(timeout=300)
        done.append(subprocess.CompletedProcess(process.args, process.returncode, out, err))
    return done


def test_two_passes_started_at_once_one_runs_and_the_other_exits_3(small: SmallFirm) -> None:
    for n in range(BILLS):
        small.bill(small.client(f"Client{n}", f"Family{n}", f"c{n}@example.com"))
    # Paced like a real QuickBooks company, the pass outlasts the other process's start-up by far.
    paced = small.config_path.read_text().replace("requests_per_second = 1000", "requests_per_second = 4")
    small.config_path.write_text(paced)
    sync = [sys.executable, "-m", "ledgerlink", "--config", str(small.config_path), "sync", "--once"]

    first, second = start_together([sync, sync])

    codes = sorted([first.returncode, second.returncode])
    assert codes == [0, 3], [(p.returncode, p.stderr) for p in (first, second)]
    [loser] = [p for p in (first, second) if p.returncode == 3]
    assert "another pass is running (pid " in loser.stderr
    assert "Traceback" not in loser.stderr
    numbers = Counter(str(i.get("DocNumber")) for i in small.qbo("Invoice"))
    assert sorted(numbers) == [str(5001 + n) for n in range(BILLS)]
    assert all(count == 1 for count in numbers.values()), numbers
    customers = Counter(c["DisplayName"] for c in small.qbo("Customer"))
    assert len(customers) == BILLS and all(count == 1 for count in customers.values()), customers
    with small.workspace() as workspace:
        assert workspace.store.lock_owner(LOCK_NAME) is None
        runs = workspace.store.runs(limit=10)
        assert [(r.status, r.exit_code) for r in runs] == [("ok", 0)]


OPEN_AND_WRITE = """
import sys
from ledgerlink.store import Store
with Store.open(sys.argv[1]) as store:
    store.upsert_connection("qbo", "9341453050101234", "Whitfield & Ames LLP")
"""


def test_commands_opening_a_store_that_does_not_exist_yet_at_once_share_one_private_store(
    tmp_path: Path,
) -> None:
    store = tmp_path / "new" / "ledgerlink.sqlite"
    command = [sys.executable, "-c", OPEN_AND_WRITE, f"sqlite:///{store}"]

    done = start_together([command] * 4)

    assert [p.returncode for p in done] == [0] * 4, [p.stderr for p in done]
    assert revision(store) == HEAD
    assert integrity(store) == "ok"
    assert mode(store) == 0o600 and mode(store.parent) == 0o700
    with Store.open(f"sqlite:///{store}") as opened:
        connection = opened.active_connection("qbo")
    assert connection is not None and connection.id == 1  # one row, upserted four times
