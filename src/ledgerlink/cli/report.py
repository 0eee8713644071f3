"""`ledgerlink report trust`: the three-way trust check, per trust account, per client."""

from __future__ import annotations

import csv
import sys
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from ledgerlink.cli import output
from ledgerlink.cli.context import app_context
from ledgerlink.reports.trust import TrustCheck, as_json, csv_rows

app = typer.Typer(help="Reports that tie the books out against Clio.", no_args_is_help=True)


def _amount(value: Decimal | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _render(check: TrustCheck) -> None:
    ledger = check.ledger_title
    heading = f"{check.account} — as of {check.as_of.isoformat()}"
    figures: list[tuple[str, Decimal | None]] = [("Clio trust bank balance", check.clio_bank)]
    if ledger is not None:
        figures += [
            (f"{ledger} trust bank account", check.ledger_bank),
            (f"{ledger} trust liability account", check.ledger_liability),
        ]
    columns = ["client", "Clio"] + ([ledger, "difference"] if ledger else [])
    rows = [
        [c.name, _amount(c.clio)] + ([_amount(c.ledger), _amount(c.difference)] if ledger else [])
        for c in check.clients
    ]
    if output.is_rich():
        output.console.print(f"[bold]{heading}[/]", markup=True)
        for label, value in figures:
            output.console.print(f"  {label}: {_amount(value)}", markup=False)
        table = Table(title_justify="left")
        for index, column in enumerate(columns):
            table.add_column(column, justify="left" if index == 0 else "right")
        for row in rows:
            table.add_row(*row)
        output.console.print(table)
    else:
        output.console.print(heading, markup=False)
        for label, value in figures:
            output.console.print(f"  {label}: {_amount(value)}", markup=False)
        output.console.print("  " + " | ".join(columns), markup=False)
        for row in rows:
            output.console.print("  " + " | ".join(row), markup=False)
    if check.clean:
        ways = (
            "three ways" if ledger else "within Clio (Clio's side only: this ledger holds no trust postings)"
        )
        output.console.print(f"✓ ties out {ways}", markup=False)
    else:
        output.console.print(f"✗ {len(check.problems)} difference(s):", markup=False)
        for problem in check.problems:
            output.console.print(f"  - {problem}", markup=False)


@app.command("trust")
def trust(
    ctx: typer.Context,
    as_of: Annotated[
        datetime | None,
        typer.Option("--as-of", formats=["%Y-%m-%d"], metavar="YYYY-MM-DD", help="Balances on this date."),
    ] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write the per-client lines to this CSV file ('-': stdout).")
    ] = None,
) -> None:
    """Three-way trust check: Clio's trust bank, the ledger's trust bank and liability, and every client.

    Exit 0 when everything ties out, 1 when anything differs.
    """
    today = datetime.now(UTC).date()
    day: date = as_of.date() if as_of else today
    with app_context(ctx).workspace() as workspace:
        checks = workspace.trust_checks(day, today=today)
    if csv_out is not None:
        rows = csv_rows(checks)
        if str(csv_out) == "-":
            csv.writer(sys.stdout).writerows(rows)
        else:
            with csv_out.open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle).writerows(rows)
    if json_out:
        output.emit_json(as_json(checks))
    elif csv_out is None or str(csv_out) != "-":
        for check in checks:
            _render(check)
    raise typer.Exit(0 if all(c.clean for c in checks) else 1)
