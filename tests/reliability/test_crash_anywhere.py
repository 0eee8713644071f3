"""Crash anywhere (issue 9, DESIGN.md invariants 1–3): `ledgerlink sync --once` SIGKILLed at any request.

Each campaign builds the small firm of :mod:`crash_harness` (every kind of record), then runs
passes as real child processes, each armed to die by SIGKILL at the Nth HTTP request it sends
(``http_request:N``) or the Nth answer it receives, before it looks at it (``http_response:N``:
the remote side committed, ledgerlink never learnt it). N is drawn by a seeded RNG over the whole
range of requests a pass makes; killed passes are chained (each run starts from what the last one
left). When a drawn N lies beyond the end of a pass, the pass completes: the books are checked —
one remote record per source record, every link alive, every amount tied out, nothing left
unsettled — and the firm lives its next day (new bills and payments, an edited bill, a deleted
payment, a voided credit memo, more credits, trust and hard costs), which the next kills interrupt.

A failure message names the seed and every kill point so far: replay it with the same seed.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ledgerlink import failpoints
from ledgerlink.sandbox import Sandbox
from tests.reliability.crash_harness import (
    KILLED,
    CommandForker,
    CrashFirm,
    Outcome,
    broken_invariants,
    build_crash_firm,
    drop_after_commit,
    kill_point,
    open_intents,
    requests_seen,
)

FIRST_PASS_REQUESTS = 45  # a little over what the first pass of the crash firm sends (42)
MAX_CHAIN = 12  # kills in a row, each run starting from what the last left, before a completion
EXTRA_WRITES = 8  # more requests a day's new records cost a pass
KILLS = 40  # per campaign: five campaigns and the plain-command test make 201 distinct kill points
QBO_WRITES = r"/v3/company/\d+/batch$"  # every QBO write of a pass goes through /batch
CLIO_WRITES = r"/api/v4/(activities|contacts)\.json$"  # hard costs (and their vendor) into Clio


@pytest.fixture(scope="module")
def forker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CommandForker]:
    with CommandForker(tmp_path_factory.mktemp("commands")) as running:
        yield running


@pytest.fixture
def crash(empty_sandbox: Sandbox, tmp_path: Path) -> CrashFirm:
    return build_crash_firm(empty_sandbox, tmp_path)


@dataclass
class Campaign:
    """Kill passes of one firm at random points; check the books each time a pass completes."""

    crash: CrashFirm
    forker: CommandForker
    seed: int
    where: Sequence[str] = ("request", "response")
    lost_answers: float = 0.0  # the chance that a killed pass also loses a write's answer after commit
    low: int = 1  # the earliest request to kill at
    log: list[str] = field(default_factory=list)
    kills: int = 0
    completions: int = 0

    def run(self, kills: int) -> None:
        """Kill ``kills`` passes, each at a point not tried before in that state of the firm."""
        rng = random.Random(self.seed)
        width = FIRST_PASS_REQUESTS
        seen: set[tuple[int, int, str, int]] = set()
        chain = rng.randint(1, MAX_CHAIN)
        while self.kills < kills:
            where, nth = rng.choice(self.where), rng.randint(self.low if self.low < width else 1, width)
            # The firm's state, as far as a kill can tell: what was written so far, in which round.
            point = (len(self.crash.sandbox.state.writes_received()), self.completions, where, nth)
            if point in seen:
                width += 1  # every point of the range may be tried already: there are more
                continue
            seen.add(point)
            if rng.random() < self.lost_answers:
                path = rng.choice((QBO_WRITES, CLIO_WRITES))
                drop_after_commit(self.crash.sandbox, path)
                self.log.append(f"drop:{path}")
            outcome = self._sync(kill_point(where, nth))
            self.log.append(f"{where}:{nth}={outcome.code}")
            if outcome.code == KILLED:
                self.kills += 1
                chain -= 1
                if chain > 0:
                    continue
            else:
                assert outcome.code in (0, 1), self.explain(outcome.stdout + outcome.stderr)
            # A pass of the next day makes about as many requests as this completed one, plus its writes.
            width = self.complete(finished=outcome.code == 0) + EXTRA_WRITES
            self.crash.next_day()
            chain = rng.randint(1, MAX_CHAIN)
        self.complete(finished=False)

    def complete(self, *, finished: bool) -> int:
        """Run unkilled passes to a clean one, check every invariant; the requests of the last pass.

        After a kill the first pass must be clean: it settles what the killed one left. Only a lost
        answer may cost a second pass (the first records the write as uncertain, the second finds it).
        """
        self.crash.sandbox.state.faults.clear()
        requests = 0
        for _ in range(0 if finished else 2 if self.lost_answers else 1):
            before = requests_seen(self.crash.sandbox)
            outcome = self._sync({})
            requests = requests_seen(self.crash.sandbox) - before
            if outcome.code == 0:
                break
        else:
            assert finished, self.explain(outcome.stdout + outcome.stderr)
        self.completions += 1
        assert broken_invariants(self.crash) == [], self.explain("books do not tie out")
        assert open_intents(self.crash) == [], self.explain("intents left unsettled")
        return requests or FIRST_PASS_REQUESTS

    def _sync(self, env: dict[str, str]) -> Outcome:
        return self.forker.run(self.crash.firm.config_path, "sync", "--once", env=env)

    def explain(self, what: str) -> str:
        return f"seed {self.seed}, kill points {' '.join(self.log)}: {what}"


def test_a_first_sync_killed_before_any_request_creates_nothing_twice(
    crash: CrashFirm, forker: CommandForker
) -> None:
    campaign = Campaign(crash, forker, seed=9101, where=("request",))
    campaign.run(kills=KILLS)
    assert campaign.kills == KILLS and campaign.completions >= 2, campaign.explain("too few completions")


def test_a_sync_killed_after_any_answer_arrived_creates_nothing_twice(
    crash: CrashFirm, forker: CommandForker
) -> None:
    campaign = Campaign(crash, forker, seed=9102, where=("response",))
    campaign.run(kills=KILLS)
    assert campaign.kills == KILLS and campaign.completions >= 2, campaign.explain("too few completions")


def test_kills_anywhere_across_days_of_new_changed_and_removed_records(
    crash: CrashFirm, forker: CommandForker
) -> None:
    campaign = Campaign(crash, forker, seed=9103)
    campaign.run(kills=KILLS)
    assert crash.days >= 3, campaign.explain("the firm did not live every kind of day")


def test_answers_lost_after_commit_then_killed_create_nothing_twice(
    crash: CrashFirm, forker: CommandForker
) -> None:
    campaign = Campaign(crash, forker, seed=9104, lost_answers=0.6)
    campaign.run(kills=KILLS)
    assert any(entry.startswith("drop:") for entry in campaign.log)


def test_kills_late_in_the_pass_trust_cheques_and_hard_costs(crash: CrashFirm, forker: CommandForker) -> None:
    campaign = Campaign(crash, forker, seed=9105, low=20)
    campaign.run(kills=KILLS)
    assert campaign.completions >= 2, campaign.explain("too few completions")


@pytest.mark.parametrize(
    ("batch", "phase", "line"),
    [
        (3, "credit notes", "Credit notes: 2 linked"),
        (4, "credit applications", "Credits applied: 2 linked"),
        (5, "payments", "Payments: 4 linked"),
    ],
)
def test_a_pass_killed_once_its_payments_or_credits_landed_links_them_next_time_never_twice(
    crash: CrashFirm, forker: CommandForker, batch: int, phase: str, line: str
) -> None:
    """The first pass writes in batches: contacts, invoices, credit notes, applications, payments, trust.

    Killed once QBO answered the ``batch``-th one (every record of it landed, none linked), the next
    pass finds them by their marker and links them: it neither writes them again nor fails on
    "more than is open on the invoice" for ever.
    """
    killed = forker.run(
        crash.firm.config_path, "sync", "--once", env={failpoints.ENV: f"after_ledger_write:{batch}"}
    )
    assert killed.code == failpoints.CRASH_EXIT_CODE, killed.stderr
    assert any("no link knows" in problem for problem in broken_invariants(crash)), phase

    healed = forker.run(crash.firm.config_path, "sync", "--once")

    assert healed.code == 0, healed.stdout + healed.stderr
    assert line in healed.stdout, healed.stdout
    assert broken_invariants(crash) == []
    assert open_intents(crash) == []


def test_a_hard_cost_whose_answer_clio_lost_is_found_next_pass_not_entered_twice(
    crash: CrashFirm, forker: CommandForker
) -> None:
    drop_after_commit(crash.sandbox, CLIO_WRITES.replace("(activities|contacts)", "activities"))

    lost = forker.run(crash.firm.config_path, "sync", "--once")
    assert lost.code == 1, lost.stdout + lost.stderr
    assert "no answer from Clio" in lost.stdout, lost.stdout

    healed = forker.run(crash.firm.config_path, "sync", "--once")
    assert healed.code == 0, healed.stdout + healed.stderr
    assert broken_invariants(crash) == []
    assert open_intents(crash) == []


def test_kills_of_the_plain_python_m_ledgerlink_command(crash: CrashFirm) -> None:
    """The forked children are the real command: the same kills of `python -m ledgerlink` heal alike."""
    sandbox = crash.sandbox
    killed = crash.firm.cli("sync", "--once", env=kill_point("response", 29))
    assert killed.returncode == KILLED, killed.stderr
    assert len(sandbox.state.writes_received()) >= 3  # contacts, invoices, credits landed; no links for some
    before = requests_seen(sandbox)
    healed = crash.firm.cli("sync", "--once")
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert requests_seen(sandbox) > before
    assert broken_invariants(crash) == []
    assert open_intents(crash) == []


def test_an_armed_http_request_point_kills_by_sigkill_and_an_unset_one_does_nothing() -> None:
    script = (
        "from ledgerlink import failpoints\n"
        "for n in range(5):\n"
        "    failpoints.hit(failpoints.HTTP_REQUEST)\n"
        "    print(n, flush=True)\n"
    )

    def run(spec: str | None) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k != failpoints.ENV}
        if spec is not None:
            env[failpoints.ENV] = spec
        return subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60
        )

    killed = run("http_request:3")
    assert killed.returncode == -signal.SIGKILL
    assert killed.stdout.split() == ["0", "1"]
    assert run(None).stdout.split() == ["0", "1", "2", "3", "4"]
    assert run("http_response:1,after_ledger_write:2").returncode == 0
    assert failpoints.armed("http_request:3, http_response") == {"http_request": 3, "http_response": 1}
