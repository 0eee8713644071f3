"""`ledgerlink sync`: one pass (`--once`, for cron), a loop, or the plan (`--dry-run`)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from functools import partial
from types import FrameType
from typing import Annotated

import typer

from ledgerlink.auth.tokens import provider_name
from ledgerlink.cli import output
from ledgerlink.cli.context import app_context
from ledgerlink.cli.progress import PassProgress
from ledgerlink.errors import LedgerlinkError
from ledgerlink.http import add_wait_listener
from ledgerlink.sync import locks
from ledgerlink.sync.engine import PassResult
from ledgerlink.workspace import Workspace

app = typer.Typer()


class StopFlag:
    """Set by SIGINT/SIGTERM: the pass finishes the record in hand, then stops cleanly."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def __call__(self) -> bool:
        return self._event.is_set()

    def set(self, signum: int, frame: FrameType | None) -> None:
        if self._event.is_set():
            raise KeyboardInterrupt  # a second Ctrl-C: stop now
        output.err_console.print("Stopping after the current record (Ctrl-C again to stop at once)…")
        self._event.set()

    def wait(self, seconds: float) -> bool:
        return self._event.wait(seconds)

    def install(self) -> None:
        signal.signal(signal.SIGINT, self.set)
        signal.signal(signal.SIGTERM, self.set)


# Seconds a loop's lock outlives its last renewal (after each pass): long enough for a first pass of
# thousands of bills at Clio's 50 requests a minute. A loop that died on this machine is taken over
# at once; only a loop that died on another machine sharing the store waits this out.
class Only(StrEnum):
    CONTACTS = "contacts"


LOOP_GRACE = 6 * 3600


@contextmanager
def _loop_lock(workspace: Workspace, interval: float) -> Iterator[None]:
    """One looping `ledgerlink sync` per store: a second one exits 3; `sync --once` still runs."""
    owner = locks.this_process()
    locks.take(workspace.store, locks.LOOP_LOCK, owner, interval + LOOP_GRACE)
    try:
        yield
    finally:
        workspace.store.release_lock(locks.LOOP_LOCK, owner)


def run_pass(
    workspace: Workspace,
    *,
    dry_run: bool,
    stop: StopFlag,
    since: datetime | None = None,
    allow_mass_change: bool = False,
    only_contacts: bool = False,
    contact_ids: Sequence[str] = (),
) -> PassResult:
    """One pass, shown as it runs (bars on a terminal), then what it did or would do, and its event lines."""
    rich = output.is_rich()
    sync_once = partial(
        workspace.sync_once,
        dry_run=dry_run,
        should_stop=stop,
        since=since.date() if since else None,
        allow_mass_change=allow_mass_change,
        only_contacts=only_contacts,
        contact_ids=contact_ids,
    )
    # Event lines always: logs sends them to stderr when no one watches it, and to the log file.
    stop_telling = add_wait_listener(output.rate_limit_event)
    try:
        if rich:
            with PassProgress(output.console) as progress:
                result = sync_once(on_plan=progress.on_plan, on_progress=progress.on_progress)
        else:
            result = sync_once()
    except LedgerlinkError as exc:
        output.pass_failed_event(exc)  # the cause and remedy go to stderr as usual
        raise
    finally:
        stop_telling()
    ledger = workspace.connection(workspace.target)
    title = provider_name(workspace.target)
    if dry_run:
        output.plan_view(result, ledger_title=title, company=ledger.name)
    else:
        output.pass_summary(result, ledger_title=title, company=ledger.name)
    output.pass_events(result)
    return result


@app.command("sync")
def sync(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="Run one pass and exit (for cron).")] = False,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the plan; write nothing. Exit 1 if anything would change."),
    ] = False,
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            formats=["%Y-%m-%d"],
            metavar="YYYY-MM-DD",
            help="One-off backfill: (re)read every bill issued on or after this date, whatever was read "
            "before. Implies --once.",
        ),
    ] = None,
    allow_mass_change: Annotated[
        bool,
        typer.Option(
            "--allow-mass-change",
            # The backslash keeps "[sync]": typer renders help as rich markup, which drops unknown tags.
            help="Let this pass void, delete or rewrite more than \\[sync] mass_change_share of the linked "
            "records (the circuit breaker stops it otherwise; exit 3).",
        ),
    ] = False,
    only: Annotated[
        Only | None,
        typer.Option(
            "--only",
            help="Push just these records now: `--only contacts` creates, links or updates every Clio client "
            "in QuickBooks (bills follow in the next full pass). Implies --once.",
        ),
    ] = None,
    contact: Annotated[
        list[str] | None,
        typer.Option(
            "--contact",
            metavar="CLIO_ID",
            help="Push this Clio contact now (repeatable; the number in the contact's Clio address). "
            "Implies --once.",
        ),
    ] = None,
) -> None:
    """Sync Clio into QuickBooks Online or Xero. Exit 0 clean, 1 with record errors, 2 config, 3 systemic."""
    stop = StopFlag()
    stop.install()
    with app_context(ctx).workspace() as workspace:
        if once or dry_run or since or only or contact:
            result = run_pass(
                workspace,
                dry_run=dry_run,
                stop=stop,
                since=since,
                allow_mass_change=allow_mass_change,
                only_contacts=only is Only.CONTACTS,
                contact_ids=contact or (),
            )
            raise typer.Exit(result.exit_code)
        interval = workspace.config.sync.interval_minutes * 60
        with _loop_lock(workspace, interval):
            output.console.print(f"Syncing every {workspace.config.sync.interval_minutes} min; Ctrl-C stops.")
            code = 0
            while not stop():
                try:
                    code = run_pass(
                        workspace, dry_run=False, stop=stop, allow_mass_change=allow_mass_change
                    ).exit_code
                except LedgerlinkError as exc:
                    if exc.exit_code == 2:
                        raise
                    output.print_error(exc)  # systemic: report and try again next interval
                    code = exc.exit_code
                allow_mass_change = False  # it lets one pass through, not every pass of the loop
                workspace.store.renew_lock(locks.LOOP_LOCK, locks.this_process(), interval + LOOP_GRACE)
                if stop.wait(interval):
                    break
        raise typer.Exit(code)
