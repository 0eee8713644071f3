"""`ledgerlink import customers`: QuickBooks customers into Clio, reviewed first, never duplicated.

Firm360's "Import Clients" done right: every QBO customer is listed with what would happen to it
(link to an existing Clio contact, create one, ask, skip, linked already). Without ``--dry-run``
the list is also written to a CSV file; the bookkeeper edits its "ask" rows (action link with a
clio_id, create, or skip) and applies it with ``--apply FILE``. Imported clients are contact links
like any synced one, so edits made on either side afterwards flow both ways.

Exit codes: 0 nothing to do (or every row applied); 1 the proposal holds links/creations/questions,
or some rows could not be applied; 2 a bad file or option; 3 systemic (not connected, ...).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ledgerlink.cli import output
from ledgerlink.cli.context import app_context
from ledgerlink.errors import UserError
from ledgerlink.sync.customer_import import (
    Applied,
    apply_proposal,
    pending,
    plan_import,
    read_proposal,
    write_proposal,
)
from ledgerlink.sync.flows.customer_import import ImportRow

app = typer.Typer(help="Bring records from QuickBooks into Clio (reviewed first).", no_args_is_help=True)

DEFAULT_FILE = Path("customer-import.csv")


@app.command("customers")
def customers(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list the proposal: write no file, change nothing.")
    ] = False,
    apply_file: Annotated[
        Path | None,
        typer.Option("--apply", metavar="FILE", help="Apply a reviewed proposal file (link and create)."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", metavar="FILE", help="Where to write the proposal to review.")
    ] = DEFAULT_FILE,
    include_inactive: Annotated[
        bool, typer.Option("--include-inactive", help="Propose inactive QuickBooks customers too.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List every QuickBooks customer with its proposed action; write it for review, or apply a reviewed file.

    Exit 1 when the proposal holds something to do, or when rows of an applied file failed.
    """
    if dry_run and apply_file is not None:
        raise UserError(
            "--dry-run and --apply cannot go together.",
            remedy="Review with `ledgerlink import customers --dry-run`, then apply with --apply FILE.",
        )
    reviewed = read_proposal(apply_file) if apply_file is not None else None
    context = app_context(ctx)
    with context.workspace() as workspace, workspace.qbo_sides("Importing customers") as (clio, ledger, conn):
        if reviewed is not None:
            applied = apply_proposal(clio, ledger, workspace.store, conn.id, reviewed)
        else:
            plan = plan_import(clio, ledger, workspace.store, conn.id, include_inactive=include_inactive)
    if reviewed is not None:
        _show_applied(applied, as_json=as_json)
        raise typer.Exit(1 if any(a.outcome == "failed" for a in applied) else 0)
    rows = plan.rows
    todo = pending(rows)
    if as_json:
        output.emit_json([_row_json(r) for r in rows])
    else:
        _show_rows(rows)
    if not dry_run and todo:
        write_proposal(rows, out)
        if not as_json:
            output.console.print(
                f"Proposal written to {out}: change each “ask” row's action to link (with a clio_id), "
                f"create or skip, then run `ledgerlink import customers --apply {out}`.",
                markup=False,
            )
    elif not as_json:
        output.console.print(
            "Nothing to import: every customer is linked or skipped."
            if not todo
            else "Dry run: nothing was written."
        )
    raise typer.Exit(1 if todo else 0)


def _row_json(row: ImportRow) -> dict[str, Any]:
    return {
        "action": row.action.value,
        "qbo_id": row.qbo_id,
        "qbo_name": row.qbo_name,
        "clio_id": row.clio_id,
        "clio_name": row.clio_name,
        "reason": row.reason,
        "candidates": [{"clio_id": c.contact_id, "name": c.name, "email": c.email} for c in row.candidates],
    }


def _show_rows(rows: Sequence[ImportRow]) -> None:
    """A table on a terminal, one plain line per customer in a pipe or a log."""
    counts = Counter(r.action.value for r in rows)
    title = f"{len(rows)} QuickBooks customer(s): " + ", ".join(f"{n} {a}" for a, n in counts.items())
    lines = []
    for r in rows:
        clio = f"{r.clio_name} ({r.clio_id})" if r.clio_id else ""
        why = r.reason
        if r.candidates:
            why += "; candidates: " + ", ".join(f"{c.name} ({c.contact_id})" for c in r.candidates)
        lines.append((r.action.value, f"{r.qbo_name} ({r.qbo_id})", clio, why))
    if not output.is_rich():
        output.console.print(title, markup=False)
        for action, customer, clio, why in lines:
            output.console.print(
                f"  {action:<6} {customer}{f' → {clio}' if clio else ''}: {why}", markup=False
            )
        return
    table = Table(title=title)
    for column in ("action", "QuickBooks customer", "Clio contact", "why"):
        table.add_column(column)
    for line in lines:
        table.add_row(*(escape(cell) for cell in line))
    output.console.print(table)


def _show_applied(applied: Sequence[Applied], *, as_json: bool) -> None:
    if as_json:
        output.emit_json(
            [
                {
                    "qbo_id": a.row.qbo_id,
                    "qbo_name": a.row.qbo_name,
                    "outcome": a.outcome,
                    "clio_id": a.contact_id,
                    "message": a.message,
                }
                for a in applied
            ]
        )
        return
    counts = Counter(a.outcome for a in applied)
    output.console.print("Applied: " + ", ".join(f"{n} {o}" for o, n in sorted(counts.items())), markup=False)
    for a in applied:
        if a.outcome != "unchanged":
            target = f" → Clio contact {a.contact_id}" if a.contact_id else ""
            output.console.print(
                f"  {a.outcome}: {a.row.qbo_name} ({a.row.qbo_id}){target}: {a.message}", markup=False
            )
