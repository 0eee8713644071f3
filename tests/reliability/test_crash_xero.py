"""Crash anywhere into Xero (issue 9): `ledgerlink sync --once` to Xero SIGKILLed at any request.

The small Xero firm of :mod:`xero_crash_harness` (contacts, invoices, a split payment, a credit
note over two bills and its allocations, Spend Money for hard costs) is synced by real child
processes (:class:`~tests.reliability.crash_harness.CommandForker`), each armed to die by SIGKILL
before its Nth HTTP request leaves (``http_request:N``) or once its Nth answer arrived, unread
(``http_response:N``). N is drawn by a seeded RNG; killed passes are chained. Some kills also lose
the answer of a Xero write after Xero committed it (``drop_after_commit`` on the Xero PUT/POST
paths). Each chain ends with a completing pass, after which the Xero books are checked
(:func:`broken_xero_invariants`) and the firm lives its next day (a new client, bills, a payment,
a credit, a hard cost; then an edited bill, a deleted payment, a voided credit).

A failure message names the seed and every kill point so far: replay it with the same seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.state import FaultRule
from tests.reliability.crash_harness import KILLED, CommandForker, Outcome, kill_point
from tests.reliability.xero_crash_harness import (
    XeroCrashFirm,
    broken_xero_invariants,
    build_xero_crash_firm,
    open_xero_intents,
)

FIRST_PASS_REQUESTS = 26  # a little over what the first pass of this firm sends (25)
EXTRA_WRITES = 6  # more requests a day's new records cost a pass
MAX_CHAIN = 6  # kills in a row before a completion
XERO_API = r"/xero/api/api\.xro/2\.0/"
# Every Xero write of a pass is a PUT (creations, allocations) or a POST (updates, deletions, voids).
WRITE_METHODS = ("PUT", "PUT", "POST")


@pytest.fixture(scope="module")
def forker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CommandForker]:
    with CommandForker(tmp_path_factory.mktemp("xero-commands")) as running:
        yield running


@pytest.fixture
def crash(empty_sandbox: Sandbox, tmp_path: Path) -> XeroCrashFirm:
    return build_xero_crash_firm(empty_sandbox, tmp_path)


@dataclass
class XeroCampaign:
    """Kill passes of the Xero firm at random points; check the Xero books each time a pass completes."""

    crash: XeroCrashFirm
    forker: CommandForker
    seed: int
    where: Sequence[str] = ("request", "response")
    lost_answers: float = 0.0  # the chance that a killed pass also loses a Xero write's answer after commit
    log: list[str] = field(default_factory=list)
    points: set[tuple[int, int, str, int]] = field(default_factory=set)
    completions: int = 0

    def run(self, kills: int) -> None:
        """Kill ``kills`` passes, each at a point (firm state, where, N) not tried before."""
        rng = random.Random(self.seed)
        width = FIRST_PASS_REQUESTS
        chain = rng.randint(1, MAX_CHAIN)
        while len(self.points) < kills:
            where, nth = rng.choice(self.where), rng.randint(1, width)
            point = (len(self.crash.sandbox.state.writes_received()), self.completions, where, nth)
            if point in self.points:
                width += 1
                continue
            if rng.random() < self.lost_answers:
                # Xero commits the how-many-eth write of this method, its answer is lost (a 502).
                method, after = rng.choice(WRITE_METHODS), rng.randint(0, 4)
                self.crash.sandbox.state.faults.add(
                    FaultRule(kind="drop_after_commit", method=method, path=XERO_API, after=after)
                )
                self.log.append(f"drop:{method}#{after + 1}")
            outcome = self._sync(kill_point(where, nth))
            self.log.append(f"{where}:{nth}={outcome.code}")
            if outcome.code == KILLED:
                self.points.add(point)
                chain -= 1
                if chain > 0:
                    continue
            else:
                assert outcome.code in (0, 1), self.explain(outcome.stdout + outcome.stderr)
            width = self.complete() + EXTRA_WRITES
            self.crash.next_day()
            chain = rng.randint(1, MAX_CHAIN)
        self.complete()

    def complete(self) -> int:
        """Unkilled passes until a clean one (a lost answer may cost one more); check the books.

        Returns how many requests the last pass made.
        """
        state = self.crash.sandbox.state
        state.faults.clear()
        for _ in range(2 if self.lost_answers else 1):
            before = len(state.request_log)
            outcome = self._sync({})
            requests = len(state.request_log) - before
            if outcome.code == 0:
                break
        assert outcome.code == 0, self.explain(outcome.stdout + outcome.stderr)
        self.completions += 1
        self.log.append("completed")
        assert broken_xero_invariants(self.crash) == [], self.explain("Xero books do not tie out")
        assert open_xero_intents(self.crash) == [], self.explain("intents left unsettled")
        return requests

    def _sync(self, env: dict[str, str]) -> Outcome:
        return self.forker.run(self.crash.config_path, "sync", "--once", env=env)

    def explain(self, what: str) -> str:
        return f"seed {self.seed}, kill points {' '.join(self.log)}: {what}"


def test_kills_anywhere_in_xero_passes_across_days_create_nothing_twice(
    crash: XeroCrashFirm, forker: CommandForker
) -> None:
    campaign = XeroCampaign(crash, forker, seed=9201)
    campaign.run(kills=24)
    assert crash.days >= 2 and campaign.completions >= 3, campaign.explain("the firm did not live every day")


def test_xero_answers_lost_after_commit_then_killed_create_nothing_twice(
    crash: XeroCrashFirm, forker: CommandForker
) -> None:
    campaign = XeroCampaign(crash, forker, seed=9202, lost_answers=0.6)
    campaign.run(kills=20)
    lost = {(method, path.rsplit("/2.0/", 1)[-1].split("/")[0]) for _, method, path in crash.sandbox.state.faults.injected}
    assert len(lost) >= 4, campaign.explain(f"too few kinds of Xero answers lost: {sorted(lost)}")
    assert campaign.completions >= 3, campaign.explain("too few completions")
