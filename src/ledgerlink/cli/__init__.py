"""Command-line interface: one module per verb group, joined here. Thin: parse, call, render."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import click
import typer

from ledgerlink import __version__
from ledgerlink.cli import connect, demo, doctor, errors, report, sandbox, status, sync
from ledgerlink.cli.context import AppContext
from ledgerlink.cli.output import print_error
from ledgerlink.errors import LedgerlinkError
from ledgerlink.http import install_log_redaction

app = typer.Typer(
    name="ledgerlink",
    help="Sync Clio Manage into QuickBooks Online: contacts, bills, payments, credit notes and trust, "
    "exactly once, failures explained.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ledgerlink {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", envvar="LEDGERLINK_CONFIG", help="Config file (default: user config dir)."
        ),
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log what ledgerlink does to stderr.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    install_log_redaction()
    ctx.obj = AppContext(config_path=config)


app.add_typer(connect.app)
app.add_typer(sync.app)
app.add_typer(errors.app)
app.add_typer(status.app)
app.add_typer(demo.app)
app.add_typer(doctor.app)
app.add_typer(report.app, name="report")
app.add_typer(sandbox.app, name="sandbox")


def main(argv: list[str] | None = None) -> None:
    """Entry point: map errors to one cause line + one remedy line and the documented exit codes."""
    try:
        code = app(args=argv, standalone_mode=False)
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        code = 130
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except LedgerlinkError as exc:
        print_error(exc)
        code = exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    raise SystemExit(code if isinstance(code, int) else 0)
