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
    TENANT,
    XeroCrashFirm,
    broken_xero_invariants,
    build_xero_crash_firm,
    open_xero_intents,
    xero_links,
)

FIRST_PASS_REQUESTS = 26  # a little over what the first pass of this firm sends (25)
EXTRA_WRITES = 6  # more requests a day's new records cost a pass
MAX_CHAIN = 6  # kills in a row before a completion
LATE = 6  # a pass that loses an answer is killed within this many requests of the end (Xero writes come last)
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
            drop = rng.random() < self.lost_answers
            # A pass that is to lose an answer is killed late, after its writes began (or not at all).
            low, high = (width - LATE, width + LATE) if drop else (1, width)
            where, nth = rng.choice(self.where), rng.randint(low, high)
            point = (len(self.crash.sandbox.state.writes_received()), self.completions, where, nth)
            if point in self.points:
                width += 1
                continue
            if drop:
                # Xero commits the first or second write of this method, its answer is lost (a 502).
                method, after = rng.choice(WRITE_METHODS), rng.randint(0, 1)
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
    campaign = XeroCampaign(crash, forker, seed=9202, lost_answers=0.4)
    campaign.run(kills=16)  # with the 24 above: 40 distinct kill points
    lost = {(kind, method) for kind, method, _path in crash.sandbox.state.faults.injected}
    assert ("drop_after_commit", "PUT") in lost, campaign.explain("no Xero answer was lost")


def _drop(crash: XeroCrashFirm, method: str, path: str, times: int = 1) -> None:
    """The next ``times`` answers to ``method path`` are lost after Xero committed the write (-1: all)."""
    rule = FaultRule(kind="drop_after_commit", method=method, path=XERO_API + path, times=times)
    crash.sandbox.state.faults.add(rule)


def _completes(crash: XeroCrashFirm, forker: CommandForker) -> Outcome:
    crash.sandbox.state.faults.clear()
    done = forker.run(crash.config_path, "sync", "--once")
    assert done.code == 0, done.stdout + done.stderr
    assert broken_xero_invariants(crash) == []
    assert open_xero_intents(crash) == []
    return done


def _lost(crash: XeroCrashFirm) -> set[tuple[str, str]]:
    """(method, collection) of every Xero answer the sandbox lost so far."""
    return {(m, p.rsplit("/2.0/", 1)[-1].split("/")[0]) for _, m, p in crash.sandbox.state.faults.injected}


FIRST_PASS_WRITES = (  # every write of the first pass, in the order the pass makes them
    ("PUT", "Contacts$"),
    ("PUT", "Invoices$"),
    ("PUT", "CreditNotes$"),
    ("PUT", r"CreditNotes/[^/]+/Allocations$"),
    ("PUT", "Payments$"),
    ("PUT", "BankTransactions$"),
)
CHANGE_WRITES = (  # a day of changes: an invoice edited, a payment deleted, a credit note voided
    ("POST", "Invoices$"),
    ("DELETE", r"CreditNotes/[^/]+/Allocations/"),
    ("POST", "Payments/"),
    ("POST", "CreditNotes$"),
)


def test_each_kind_of_xero_write_whose_answer_is_lost_once_is_retried_never_made_twice(
    crash: XeroCrashFirm, forker: CommandForker
) -> None:
    """Xero commits each kind of write but its first answer is lost (a 502): the retry carries the same
    Idempotency-Key, Xero answers with what it made, and the pass ends with every record once."""
    for day, writes in enumerate((FIRST_PASS_WRITES, (), CHANGE_WRITES)):
        for method, path in writes:
            _drop(crash, method, path)
        retried = forker.run(crash.config_path, "sync", "--once")
        assert retried.code == 0, retried.stdout + retried.stderr
        _completes(crash, forker)
        wanted = {(m, p.split("/")[0].rstrip("$")) for m, p in writes}
        assert wanted <= _lost(crash), (day, sorted(wanted - _lost(crash)))
        crash.next_day()


def test_payments_and_a_payment_deletion_whose_answers_never_come_are_settled_next_pass(
    crash: XeroCrashFirm, forker: CommandForker
) -> None:
    """Every answer to the payments' writes is lost (retries' too): the pass leaves them uncertain.
    The next pass finds the payments Xero made by their marker and links them; a deletion Xero carried
    out is not sent again and its link is forgotten (sync/apply.py ``_forget_deleted``)."""
    _drop(crash, "PUT", "Payments$", times=-1)
    lost = forker.run(crash.config_path, "sync", "--once")
    assert lost.code == 1 and "No answer from Xero" in lost.stdout, lost.stdout + lost.stderr
    assert len(crash.sandbox.xero.records(TENANT, "Payments")) == 4  # 3 Clio payments, one over 2 bills
    _completes(crash, forker)
    crash.next_day()
    _completes(crash, forker)
    gone = str(crash.payments["omar part"])
    crash.next_day()  # "omar part" is deleted in Clio
    deleted = xero_links(crash)["payment"][gone]
    _drop(crash, "POST", "Payments/", times=-1)
    lost = forker.run(crash.config_path, "sync", "--once")
    assert lost.code == 1, lost.stdout + lost.stderr
    assert crash.sandbox.xero.get(TENANT, "Payments", deleted)["Status"] == "DELETED"
    healed = _completes(crash, forker)
    assert (
        "Payments:" in healed.stdout and "deleted" not in healed.stdout.split("Payments:")[1].split("\n")[0]
    )
    assert gone not in xero_links(crash)["payment"]
