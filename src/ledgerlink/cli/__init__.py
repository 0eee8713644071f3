"""Command-line interface: one module per verb group, joined here. Thin: parse, call, render."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import click
import typer
from typer.exceptions import TyperException

from ledgerlink import __version__
from ledgerlink.cli import (
    connect,
    demo,
    doctor,
    errors,
    imports,
    links,
    logs,
    report,
    sandbox,
    schedule,
    status,
    sync,
)
from ledgerlink.cli.context import AppContext
from ledgerlink.cli.exit_codes import help_epilog
from ledgerlink.cli.output import print_error
from ledgerlink.errors import LedgerlinkError
from ledgerlink.runtime import tune_garbage_collector

log = logging.getLogger("ledgerlink.cli")

app = typer.Typer(
    name="ledgerlink",
    help="Sync Clio Manage into QuickBooks Online or Xero: contacts, bills, payments, credit notes, trust "
    "(QuickBooks) and hard costs, exactly once, failures explained.",
    epilog=help_epilog(),
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
        bool, typer.Option("--verbose", "-v", help="Log what ledgerlink does to stderr (DEBUG).")
    ] = False,
    quiet: Annotated[
        bool,
        typer.Option(
            "--quiet", "-q", help="Only errors on stderr; results are still printed, notes are left out."
        ),
    ] = False,
    log_file: Annotated[
        Path | None,
        typer.Option(
            "--log-file",
            envvar=logs.ENV_LOG_FILE,
            metavar="PATH",
            help=f"Also log to this file (INFO, DEBUG with -v), created 0600, rotated at "
            f"{logs.LOG_FILE_MAX_BYTES // 2**20} MB keeping {logs.LOG_FILE_BACKUPS} old files.",
        ),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    logs.configure(verbose=verbose, quiet=quiet, log_file=log_file)
    log.info("started: ledgerlink %s (version %s, pid %s)", ctx.invoked_subcommand, __version__, os.getpid())
    ctx.obj = AppContext(config_path=config)


app.add_typer(connect.app)
app.add_typer(sync.app)
app.add_typer(errors.app)
app.add_typer(status.app)
app.add_typer(demo.app)
app.add_typer(doctor.app)
app.add_typer(imports.app, name="import")
app.add_typer(links.app, name="links")
app.add_typer(report.app, name="report")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(schedule.app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: map errors to one cause line + one remedy line and the documented exit codes."""
    tune_garbage_collector()
    error: LedgerlinkError | None = None
    try:
        code = app(args=argv, standalone_mode=False)
    except (click.exceptions.Abort, typer.Abort):
        print("aborted", file=sys.stderr)
        code = 130
    except click.ClickException as exc:
        exc.show()
        code = exc.exit_code
    except TyperException as exc:
        # Typer bundles its own click: its usage errors (a bad option value: exit 2) are not click's.
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            print(f"Error: {exc.format_message()}", file=sys.stderr)
        code = exc.exit_code
    except LedgerlinkError as exc:
        print_error(exc)
        code = exc.exit_code
        error = exc
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code = 130
    code = code if isinstance(code, int) else 0
    logs.finished(code, error)
    raise SystemExit(code)
