"""`ledgerlink doctor`: a line per check, ✓ / ✗ / !, with what to do, grouped by section."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from ledgerlink.cli import output
from ledgerlink.cli.context import app_context
from ledgerlink.doctor import Check, by_section, exit_code, run_checks
from ledgerlink.doctor.setup import config_failure
from ledgerlink.errors import ConfigError

app = typer.Typer()

MARK = {"ok": "✓", "fail": "✗", "warn": "!"}
CONFIG_ERROR = 2


@app.command("doctor")
def doctor(
    ctx: typer.Context,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of lines.")] = False,
) -> None:
    """Check the setup before syncing; reads only. Exit 0 ok (! does not fail), 1 a check failed, 2 config.

    Config, connections, QuickBooks settings, mapping, tax rates, trust accounts, contacts and the store.
    """
    try:
        config = app_context(ctx).config()
    except ConfigError as exc:
        show([config_failure(exc)], json_out=json_out)
        raise typer.Exit(CONFIG_ERROR) from None
    checks = run_checks(config)
    show(checks, json_out=json_out)
    raise typer.Exit(exit_code(checks))


def show(checks: list[Check], *, json_out: bool) -> None:
    """Plain lines (readable in a pipe and on a narrow terminal), or ``{"checks": [...]}``."""
    if json_out:
        output.emit_json({"checks": [asdict(c) for c in checks]})
        return
    for section, group in by_section(checks):
        output.console.print(section, markup=False)
        for check in group:
            output.console.print(f"  {MARK[check.status]} {check.title}", markup=False)
            if check.remedy:
                output.console.print(f"      what to do: {check.remedy}", markup=False)
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    verdict = f"{failed} check(s) failed" if failed else "Ready to sync"
    output.console.print(
        f"{verdict}; {warned} note(s) worth reading." if warned else f"{verdict}.", markup=False
    )
