"""`ledgerlink errors`: the records that did not sync, why, and what to do."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from ledgerlink.cli import output
from ledgerlink.cli.context import app_context

app = typer.Typer()


@app.command("errors")
def errors(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the records that failed or are blocked, with cause and remedy. Exit 1 if there are any."""
    with app_context(ctx).workspace() as workspace:
        found = workspace.store.open_errors()
    if as_json:
        output.emit_json([asdict(e) for e in found])
    elif not found:
        output.console.print("No open errors: every record in scope is synced.")
    else:
        output.stored_errors(found, title=f"{len(found)} record(s) need attention")
    raise typer.Exit(1 if found else 0)
