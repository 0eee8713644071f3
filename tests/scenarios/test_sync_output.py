"""What `sync` shows: the dry-run plan, progress bars on a terminal, plain log lines in cron mail."""

from __future__ import annotations

import io
import logging
import re
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from ledgerlink.cli import logs, output
from ledgerlink.cli.progress import PassProgress
from ledgerlink.http import RateLimiter, add_wait_listener
from ledgerlink.providers.clio import ClioClient
from ledgerlink.sandbox import Sandbox, SandboxSettings, SandboxState
from ledgerlink.sandbox import demo_firm as demo
from ledgerlink.sync.plan import Action, Op
from tests.conftest import StaticToken
from tests.scenarios.conftest import Firm
from tests.scenarios.small_firm import build_small_firm

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
BILL_LINE = re.compile(r"^  create +Bill (\S+) \(.*\) · ([\d,]+\.\d\d) · approved in Clio$", re.M)


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", ""))


def _group_total(stdout: str, title: str) -> Decimal:
    found = re.search(rf"^{re.escape(title)}: .*; total (-?[\d,]+\.\d\d)$", stdout, re.M)
    assert found, f"no “{title}” group with a total in:\n{stdout[:2000]}"
    return _amount(found.group(1))


def _settle_the_demo_firms_problems(firm: Firm) -> None:
    """Do what the plan's "what to do" lines say: rename the vendor, map the category, renumber the bill."""
    qbo = firm.sandbox.qbo
    (vendor,) = [
        v for v in qbo.records(demo.QBO_REALM_ID, "Vendor") if v["DisplayName"] == demo.VENDOR_CONFLICT_NAME
    ]
    qbo.edit(demo.QBO_REALM_ID, "Vendor", vendor["Id"], DisplayName=f"{demo.VENDOR_CONFLICT_NAME} (vendor)")
    item = next(iter(demo.EXPENSE_ITEM_MAP.values()))
    config = firm.config_path.read_text()
    firm.config_path.write_text(
        config.replace(
            "[mapping.expense_categories]\n",
            f'[mapping.expense_categories]\n"{demo.UNMAPPED_EXPENSE_CATEGORY}" = "{item}"\n',
        )
    )
    clio = firm.sandbox.clio
    for bill in clio.records("bill"):
        if len(str(bill["number"])) > 21:
            clio.update_bill(bill["id"], number="H-123")


def test_dry_run_plan_groups_sums_and_explains_then_says_nothing_would_change(firm: Firm) -> None:
    firm.sandbox.state.request_log.clear()
    planned = firm.cli("sync", "--dry-run")

    assert planned.returncode == 1, planned.stderr
    out = planned.stdout
    assert [w for w in firm.sandbox.state.writes_received() if "/oauth" not in w[1]] == []
    for title in ("Contacts → customers:", "Bills → invoices:", "Payments:", "Trust transactions:"):
        assert re.search(rf"^{title} \d+ to create", out, re.M), title
    # Every bill to create is listed with its Clio total; the group's total is their sum, to the cent.
    clio_totals = {str(b["number"]): Decimal(str(b["total"])) for b in firm.sandbox.clio.records("bill")}
    listed = {number: _amount(amount) for number, amount in BILL_LINE.findall(out)}
    assert len(listed) > 100
    assert listed == {number: clio_totals[number] for number in listed}
    assert _group_total(out, "Bills → invoices") == sum(clio_totals[n] for n in listed)
    # Reasons, and the records that cannot be written with their cause and what to do.
    assert re.search(r"^  create +Contact .* · has an approved bill$", out, re.M)
    assert re.search(rf"^  would fail +Contact {demo.VENDOR_CONFLICT_NAME} · duplicate_name: ", out, re.M)
    assert re.search(r"^  blocked +Bill \S+ \(.*\) · blocked: Waiting for Contact ", out, re.M)
    assert "what to do: Add to the config: [mapping.expense_categories]" in out
    assert re.search(r"^Plan: \d+ to create, 1 to link; 8 records need attention\.$", out, re.M)

    assert firm.cli("sync", "--once").returncode == 1
    after = firm.cli("sync", "--dry-run")
    assert after.returncode == 0  # the records that still fail are in `ledgerlink errors`: not changes
    assert "Nothing would change; 8 records need attention." in after.stdout
    assert "to create" not in after.stdout

    _settle_the_demo_firms_problems(firm)
    assert firm.cli("sync", "--once").returncode == 0
    settled = firm.cli("sync", "--dry-run")
    assert settled.returncode == 0, settled.stdout
    assert "Nothing would change." in settled.stdout.splitlines()


def events(stderr: str, name: str) -> list[dict[str, str]]:
    """The fields of each `name` event line on stderr (values unquoted)."""
    found = []
    for line in stderr.splitlines():
        head = re.match(rf"{STAMP} INFO ledgerlink\.events: event={re.escape(name)}(?: |$)", line)
        if head:
            pairs = re.findall(r'(\S+?)=("(?:[^"\\]|\\.)*"|\S*)', line[head.end() :])
            found.append({key: value.strip('"') for key, value in pairs})
    return found


def test_pass_off_a_terminal_logs_event_lines_with_counts_and_problems(firm: Firm) -> None:
    done = firm.cli("sync", "--once")

    assert done.returncode == 1
    (finished,) = events(done.stderr, "pass.finished")
    invoices = firm.sandbox.qbo.records(demo.QBO_REALM_ID, "Invoice")
    with firm.workspace() as workspace:
        last = workspace.store.last_run()
    assert last is not None
    assert (finished["run"], finished["exit"]) == (str(last.id), "1")
    assert int(finished["invoice.created"]) == len(invoices) == last.counts["invoice"]["created"]
    assert (finished["invoice.failed"], finished["payment.blocked"]) == ("3", "2")
    failed, blocked = events(done.stderr, "record.failed"), events(done.stderr, "record.blocked")
    assert (len(failed), len(blocked)) == (4, 4)
    assert {
        "run": str(last.id),
        "kind": "contact",
        "label": f"Contact {demo.VENDOR_CONFLICT_NAME}",
    }.items() <= (failed[0].items())
    assert failed[0]["cause"] == "duplicate_name"
    # The friendly summary stays on stdout for the person reading cron mail: no tables, no bars.
    assert "8 record(s) need attention:" in done.stdout
    assert not any(c in done.stdout for c in "━│┃")
    assert "event=" not in done.stdout


def test_progress_on_a_terminal_shows_a_bar_per_kind_that_fills_as_records_are_written(
    empty_sandbox: Sandbox, tmp_path: Path
) -> None:
    small = build_small_firm(empty_sandbox, tmp_path)
    for first, last in (("Ada", "Lovelace"), ("Alan", "Turing")):
        client = small.client(first, last)
        small.bill(client, ("1.0",))
        small.bill(client, ("2.5",))
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)

    with small.workspace() as workspace, PassProgress(console) as progress:
        result = workspace.sync_once(on_plan=progress.on_plan, on_progress=progress.on_progress)

    shown = screen.getvalue()
    assert result.tally.get("invoice", "created") == 4
    assert re.search(r"Contacts → customers .*2/2", shown)
    assert re.search(r"Bills → invoices .*4/4", shown)
    assert "Payments" not in shown  # no bar for a kind with nothing to write
    assert progress.bars.finished


def test_progress_shows_the_rate_limit_wait_with_a_countdown_and_drops_it_after() -> None:
    state = SandboxState(settings=SandboxSettings(clio_rate_limit=3, clio_rate_window=60))
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    now = [1_000.0]
    during: list[str | None] = []

    with Sandbox(state, seed="demo") as box, PassProgress(console, clock=lambda: now[0]) as progress:

        def sleep(seconds: float) -> None:  # the sandbox's time passes instead of the test's
            during.append(progress.status())
            now[0] += seconds
            state.clock.advance(seconds)

        token = StaticToken(state.tokens.issue("clio", "sandbox-clio-app", None).access_token)
        limiter = RateLimiter(sleep=sleep, wall=state.clock.now)
        with ClioClient.connect(box.urls.clio_api, token, limiter=limiter, sleep=sleep) as clio:
            for _ in range(5):
                clio.who_am_i()
        after = progress.status()

    # Clio's window is 60 s; its reset time is a whole second, so a wait is shown as 55 to 61 s.
    assert during and all(
        re.fullmatch(r"waiting (5[5-9]|6[01]) s for Clio's rate limit", s or "") for s in during
    )
    assert re.search(r"waiting \d+ s for Clio's rate limit", screen.getvalue())
    assert after is None


def test_a_rate_limit_wait_is_an_event_line(caplog: pytest.LogCaptureFixture) -> None:
    state = SandboxState(settings=SandboxSettings(clio_rate_limit=3, clio_rate_window=60))
    caplog.set_level(logging.INFO, logger=logs.EVENTS)
    remove = add_wait_listener(output.rate_limit_event)
    try:
        with Sandbox(state, seed="demo") as box:
            token = StaticToken(state.tokens.issue("clio", "sandbox-clio-app", None).access_token)
            limiter = RateLimiter(sleep=state.clock.advance, wall=state.clock.now)
            with ClioClient.connect(
                box.urls.clio_api, token, limiter=limiter, sleep=state.clock.advance
            ) as clio:
                for _ in range(4):
                    clio.who_am_i()
    finally:
        remove()

    told = [r.getMessage() for r in caplog.records if r.name == logs.EVENTS]
    assert len(told) == 1 and re.fullmatch(r"event=rate_limit\.wait api=Clio seconds=(5[5-9]|6[01])", told[0])


def test_a_pass_that_cannot_start_is_one_pass_failed_line_with_its_exit_code(
    firm: Firm, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "unconnected.toml"
    elsewhere.write_text(firm.config_path.read_text().replace("ledgerlink.sqlite", "other.sqlite"))

    done = firm.cli("--config", str(elsewhere), "sync", "--once")

    assert done.returncode == 3
    assert events(done.stderr, "pass.failed") == [{"exit": "3", "error": "AuthError"}]
    assert "ledgerlink connect clio" in done.stderr


def test_a_bar_counts_what_was_sent_not_a_parked_record_and_a_wait_names_the_api() -> None:
    screen = io.StringIO()
    now = [0.0]
    sent = [Action(Op.CREATE, "invoice", str(n), f"Bill {n}", "approved in Clio") for n in (1, 2)]
    parked = Action(Op.CREATE, "invoice", "3", "Bill 3", "approved in Clio")

    with PassProgress(Console(file=screen, force_terminal=True), clock=lambda: now[0]) as progress:
        progress.on_plan(sent)
        progress.on_progress(sent[0], "created")
        progress.on_progress(parked, "parked")
        progress.on_wait("QuickBooks", 59.2)
        waiting = progress.status()
        now[0] += 30
        later = progress.status()
        progress.on_progress(sent[1], "failed")
        (bar,) = progress.bars.tasks

    assert (bar.completed, bar.total) == (2, 2)
    assert (waiting, later) == (
        "waiting 60 s for QuickBooks' rate limit",
        "waiting 30 s for QuickBooks' rate limit",
    )
    assert progress.status() is None  # the pass moved on: the wait is over
