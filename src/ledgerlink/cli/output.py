"""How ledgerlink talks to people: rich tables on a terminal, plain lines otherwise, JSON on request.

Every verb renders through here so the words are the same everywhere.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ledgerlink.errors import LedgerlinkError, RecordError
from ledgerlink.store import SyncError
from ledgerlink.sync.engine import PassResult
from ledgerlink.sync.plan import Action

OUTCOMES = ("created", "updated", "linked", "voided", "deleted", "skipped", "failed", "blocked")
PLANNED = {
    "created": "to create",
    "updated": "to update",
    "linked": "to link",
    "voided": "to void",
    "deleted": "to delete",
}
KIND_TITLES = {
    "contact": "Contacts → customers",
    "contact_writeback": "Customer edits → Clio",
    "invoice": "Bills → invoices",
    "credit_note": "Credit notes",
    "credit_application": "Credits applied",
    "payment": "Payments",
    "trust_posting": "Trust transactions",
    "trust_cheque": "Trust cheques to print",
}

# Plain lines are not wrapped when the output is a file or a pipe (cron mail, logs, grep).
console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def is_rich(target: Console | None = None) -> bool:
    return (target or console).is_terminal


def print_error(error: LedgerlinkError) -> None:
    """One line of cause, one line of remedy: never a traceback for something a user can fix."""
    err_console.print(f"[bold red]error:[/] {error}", markup=True, highlight=False, soft_wrap=True)
    err_console.print(f"  [bold]what to do:[/] {error.remedy}", markup=True, highlight=False, soft_wrap=True)


def emit_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=_json_default, ensure_ascii=False) + "\n")


def _json_default(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def pass_summary(result: PassResult, *, ledger_title: str, company: str, list_problems: bool = True) -> None:
    """The table of what a pass did (or would do), then what needs attention."""
    verb = "Planned" if result.dry_run else "Pass"
    heading = f"{verb} {result.run_id}: Clio → {ledger_title} ({company})"
    kinds = [k for k in KIND_TITLES if k in result.tally.counts] or ["contact", "invoice"]
    # Columns nobody needs today (no voids, no deletions…) are left out; "created" always shows.
    outcomes = [o for o in OUTCOMES if o == "created" or any(result.tally.get(k, o) for k in kinds)]
    headers = [PLANNED.get(o, o) if result.dry_run else o for o in outcomes]
    if is_rich():
        table = Table(title=heading, title_justify="left")
        table.add_column("records")
        for header in headers:
            table.add_column(header, justify="right")
        for kind in kinds:
            table.add_row(
                KIND_TITLES.get(kind, kind), *(_cell(result.tally.get(kind, o), o) for o in outcomes)
            )
        console.print(table)
    else:
        console.print(heading)
        for kind in kinds:
            parts = ", ".join(
                f"{result.tally.get(kind, o)} {h}"
                for o, h in zip(outcomes, headers, strict=True)
                if result.tally.get(kind, o)
            )
            console.print(f"  {KIND_TITLES.get(kind, kind)}: {parts or 'nothing to do'}")
    if result.interrupted:
        console.print("Stopped early on request; the next pass picks up where this one stopped.")
    if not result.dry_run and result.tally.writes == 0:
        rest = ", apart from the records that need attention" if result.problems else ""
        console.print(f"Nothing to write: {ledger_title} is up to date with Clio{rest}.")
    for action, notice in result.notices:
        console.print(f"note: {action.label}: {notice}", markup=False)
    for warning in result.warnings:
        err_console.print(f"warning: {warning}", markup=False)
    if result.problems and list_problems:
        problems(result.problems, title=f"{len(result.problems)} record(s) need attention")
    elif result.problems:
        console.print(f"{len(result.problems)} record(s) still need attention: see `ledgerlink errors`.")


def _cell(count: int, outcome: str) -> str:
    if count and outcome == "failed":
        return f"[bold red]{count}[/]"
    if count and outcome == "blocked":
        return f"[yellow]{count}[/]"
    return str(count)


def problems(items: Sequence[tuple[Action, RecordError]], *, title: str) -> None:
    rows = [(a.label, e.cause, e.message, e.remedy, e.blocked_by) for a, e in items]
    _problem_rows(rows, title)


def stored_errors(errors: Iterable[SyncError], *, title: str) -> None:
    rows = [(e.label, e.cause, e.message, e.remedy, e.blocked_by) for e in errors]
    _problem_rows(rows, title)


def _problem_rows(rows: Sequence[tuple[str, str, str, str, str | None]], title: str) -> None:
    if is_rich():
        table = Table(title=title, title_justify="left", show_lines=True)
        table.add_column("record", overflow="fold")
        table.add_column("cause")
        table.add_column("what happened", overflow="fold")
        table.add_column("what to do", overflow="fold")
        for label, cause, message, remedy, _blocked in rows:
            table.add_row(*(escape(cell) for cell in (label, cause, message, remedy)))
        console.print(table)
        return
    console.print(f"{title}:")
    for label, cause, message, remedy, _blocked in rows:
        console.print(f"  {label} [{cause}]", markup=False)
        console.print(f"    {message}", markup=False)
        console.print(f"    what to do: {remedy}", markup=False)


def plan_lines(actions: Sequence[Action]) -> None:
    """The dry-run plan: one line per record that would change."""
    changing = [a for a in actions if a.op.value in ("create", "update", "link", "void", "delete")]
    if not changing:
        console.print("The plan writes nothing.")
        return
    console.print(f"The plan ({len(changing)} write(s)):")
    for action in changing:
        target = f" → {action.target_id}" if action.target_id else ""
        console.print(f"  {action.op.value:<6} {action.label}{target}: {action.reason}", markup=False)
