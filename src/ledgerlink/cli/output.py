"""How ledgerlink talks to people: rich tables on a terminal, plain lines otherwise, JSON on request.

Every verb renders through here so the words are the same everywhere.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ledgerlink.cli import logs
from ledgerlink.errors import LedgerlinkError, RecordError
from ledgerlink.sync.engine import PassResult
from ledgerlink.sync.plan import Action, Op
from ledgerlink.sync.plan_view import (
    BLOCKED,
    LINE_ORDER,
    WOULD_FAIL,
    WRITING,
    PlanGroup,
    plan_counts,
    plan_groups,
)

# "parked": records the bookkeeper set aside with `ledgerlink skip`; shown like "skipped".
OUTCOMES = (
    "created",
    "updated",
    "linked",
    "voided",
    "deleted",
    "skipped",
    "parked",
    "failed",
    "blocked",
)
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
    "hard_cost": "QuickBooks hard costs → Clio",
    "spend_money": "Hard costs → Xero Spend Money",
    "payroll_user": "Clio users → employees",
    "time_activity": "Time entries → payroll",
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
    if not result.dry_run and result.tally.writes == 0 and not result.interrupted:
        rest = ", apart from the records that need attention" if result.problems else ""
        console.print(f"Nothing to write: {ledger_title} is up to date with Clio{rest}.")
    _pass_notes(result)
    if result.problems and list_problems:
        problems(result.problems, title=f"{len(result.problems)} record(s) need attention")
    elif result.problems:
        console.print(f"{len(result.problems)} record(s) still need attention: see `ledgerlink errors`.")


def _pass_notes(result: PassResult) -> None:
    """What a bookkeeper should know beyond the counts: an early stop, notices, company-wide warnings."""
    if result.interrupted:
        console.print("Stopped early on request; the next pass picks up where this one stopped.")
    if not logs.quiet():  # -q: the table and what needs attention, no chatter
        for action, notice in result.notices:
            console.print(f"note: {action.label}: {notice}", markup=False)
    for warning in result.warnings:
        err_console.print(f"warning: {warning}", markup=False)


def _cell(count: int, outcome: str) -> str:
    if count and outcome == "failed":
        return f"[bold red]{count}[/]"
    if count and outcome == "blocked":
        return f"[yellow]{count}[/]"
    return str(count)


def problems(items: Sequence[tuple[Action, RecordError]], *, title: str) -> None:
    rows = [(a.label, e.cause, e.message, e.remedy, e.blocked_by) for a, e in items]
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


# -- the dry-run plan ---------------------------------------------------------------------------

PLAN_WORDS = {
    "create": "to create",
    "update": "to update",
    "link": "to link",
    "void": "to void",
    "delete": "to delete",
    WOULD_FAIL: WOULD_FAIL,
    BLOCKED: BLOCKED,
}


def amount_text(amount: Decimal) -> str:
    """Money as a bookkeeper writes it: two places and thousands separators (1,234.50; -300.00)."""
    return f"{amount:,.2f}"


def _records(n: int) -> str:
    return "1 record needs" if n == 1 else f"{n} records need"


def group_heading(group: PlanGroup) -> str:
    """ "Bills → invoices: 12 to create, 1 would fail; total 14,250.00" """
    counts = ", ".join(f"{n} {PLAN_WORDS.get(op, op)}" for op, n in group.counts.items())
    total = f"; total {amount_text(group.total)}" if group.total is not None else ""
    return f"{KIND_TITLES.get(group.kind, group.kind)}: {counts}{total}"


def plan_total_line(groups: Sequence[PlanGroup], *, parked: int = 0) -> str:
    """The plan in one line: "Plan: 12 to create, 3 to update, 1 to void; 2 records need attention"."""
    counts = plan_counts(groups)
    writes = ", ".join(f"{counts[op]} {PLAN_WORDS[op]}" for op in LINE_ORDER if op in WRITING and counts[op])
    attention = sum(counts[op] for op in LINE_ORDER if op not in WRITING)
    rest = f"; {_records(attention)} attention" if attention else ""
    rest += f"; {parked} parked (`ledgerlink errors --parked`)" if parked else ""
    if not writes:
        return f"Nothing would change{rest}."
    return f"Plan: {writes}{rest}."


def plan_view(result: PassResult, *, ledger_title: str, company: str) -> list[PlanGroup]:
    """The dry run's plan, grouped by kind with counts and sums, one line per record, then the total."""
    groups = plan_groups(result.actions, order=tuple(KIND_TITLES), parked=result.parked)
    console.print(f"The plan (dry run, nothing written): Clio → {ledger_title} ({company})", markup=False)
    for group in groups:
        if is_rich():
            _plan_table(group, ledger_title)
        else:
            _plan_plain(group)
    _pass_notes(result)
    console.print(plan_total_line(groups, parked=len(result.parked)), markup=False)
    return groups


def _plan_plain(group: PlanGroup) -> None:
    console.print(group_heading(group), markup=False)
    width = max(len(line.op) for line in group.lines)
    for line in group.lines:
        target = f" → {line.target_id}" if line.target_id else ""
        amount = f" · {amount_text(line.amount)}" if line.amount is not None else ""
        why = f"{line.cause}: {line.reason}" if line.cause else line.reason
        console.print(f"  {line.op:<{width}}  {line.label}{target}{amount} · {why}", markup=False)
        if line.remedy:
            console.print(f"  {'':<{width}}  what to do: {line.remedy}", markup=False)


def _plan_table(group: PlanGroup, ledger_title: str) -> None:
    table = Table(title=escape(group_heading(group)), title_justify="left")
    table.add_column("")
    table.add_column("record", overflow="fold")
    table.add_column("amount", justify="right")
    table.add_column(f"{ledger_title} id")
    table.add_column("why", overflow="fold")
    for line in group.lines:
        op = {WOULD_FAIL: f"[bold red]{WOULD_FAIL}[/]", BLOCKED: f"[yellow]{BLOCKED}[/]"}.get(
            line.op, line.op
        )
        why = escape(f"{line.cause}: {line.reason}" if line.cause else line.reason)
        if line.remedy:
            why += f"\n[bold]what to do:[/] {escape(line.remedy)}"
        amount = amount_text(line.amount) if line.amount is not None else ""
        table.add_row(op, escape(line.label), amount, escape(line.target_id or ""), why)
    console.print(table)


# -- event lines (the log of a pass: stderr when no one watches a terminal, and the log file) -----
# `ledgerlink.cli.logs` decides where they go and shapes them:
#   2026-12-04T18:03:11Z INFO ledgerlink.events: event=pass.finished run=12 exit=1 invoice.created=3


def pass_counts(result: PassResult) -> dict[str, int]:
    """ "invoice.created" → 3, for every kind and outcome the pass counted (kinds in the usual order)."""
    kinds = [k for k in KIND_TITLES if k in result.tally.counts]
    kinds += [k for k in result.tally.counts if k not in KIND_TITLES]
    outcomes = [*OUTCOMES, *sorted({o for c in result.tally.counts.values() for o in c} - set(OUTCOMES))]
    return {
        f"{kind}.{outcome}": result.tally.get(kind, outcome)
        for kind in kinds
        for outcome in outcomes
        if result.tally.get(kind, outcome)
    }


def pass_events(result: PassResult) -> None:
    """The pass as event lines: one per record that needs attention, then `pass.finished` with the counts."""
    planned: dict[str, object] = {"dry_run": True} if result.dry_run else {}  # would fail, did not
    for action, error in result.problems:
        blocked = action.op is Op.BLOCKED or error.cause == "blocked"
        logs.event(
            "record.blocked" if blocked else "record.failed",
            run=result.run_id,
            kind=action.kind,
            label=action.label,
            cause=error.cause,
            **planned,
        )
    fields: dict[str, object] = {"run": result.run_id, "exit": result.exit_code, **planned}
    if result.interrupted:
        fields["interrupted"] = True
    logs.event("pass.finished", **fields, **pass_counts(result))


def pass_failed_event(error: LedgerlinkError) -> None:
    """A pass that stopped on a systemic fault (its cause and remedy are printed as usual)."""
    logs.event("pass.failed", exit=error.exit_code, error=type(error).__name__)


def rate_limit_event(api: str, seconds: float) -> None:
    """A wait listener (ledgerlink.http.add_wait_listener): the pass is throttled, not stuck."""
    logs.event("rate_limit.wait", api=api, seconds=math.ceil(seconds))
