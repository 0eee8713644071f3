"""`ledgerlink doctor`: a line per check, ✓ / ✗ / !, with what to do."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from ledgerlink.cli import output
from ledgerlink.cli.context import app_context
from ledgerlink.doctor import run_checks

app = typer.Typer()

MARK = {"ok": "✓", "fail": "✗", "warn": "!"}


@app.command("doctor")
def doctor(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """Check the setup before syncing: connections and trust accounts. Exit 1 when a check fails."""
    with app_context(ctx).workspace() as workspace:
        checks = run_checks(workspace)
    if json_out:
        output.emit_json({"checks": [asdict(c) for c in checks]})
    else:
        for check in checks:
            output.console.print(f"{MARK[check.status]} {check.title}", markup=False)
            if check.remedy:
                output.console.print(f"    what to do: {check.remedy}", markup=False)
    raise typer.Exit(1 if any(c.status == "fail" for c in checks) else 0)
