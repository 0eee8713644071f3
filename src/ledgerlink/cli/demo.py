"""`ledgerlink demo`: see it work against the built-in sandbox."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ledgerlink.cli import output
from ledgerlink.demo import DEMO_DIR, LEDGER_TITLES, Target, run_demo
from ledgerlink.errors import UserError
from ledgerlink.sync.engine import PassResult, ProgressFn
from ledgerlink.sync.plan import Action

app = typer.Typer()


@app.command("demo")
def demo(
    workdir: Annotated[
        Path, typer.Option(help="Where the demo keeps its config, store and tokens (recreated each run).")
    ] = DEMO_DIR,
    target: Annotated[
        str, typer.Option(help='The books to sync into: "qbo" (QuickBooks Online) or "xero".')
    ] = "qbo",
) -> None:
    """Start the sandbox, connect through OAuth, sync the demo firm, and show the result."""
    if target not in LEDGER_TITLES:
        raise UserError(f"Unknown target “{target}”.", remedy="Use --target qbo or --target xero.")
    books: Target = "xero" if target == "xero" else "qbo"
    title = LEDGER_TITLES[books]
    rich = output.is_rich()
    bar = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=output.console,
        transient=True,
        disable=not rich,
    )

    def progress(title: str) -> ProgressFn:
        for old in list(bar.task_ids):
            bar.remove_task(old)
        bar.start()
        task = bar.add_task(title, total=None)
        seen = [0]

        def tick(action: Action, outcome: str) -> None:
            seen[0] += 1
            bar.update(task, description=f"{title}: {seen[0]} records ({action.label}: {outcome})")

        return tick

    shown: list[int] = []

    def show(result: PassResult, company: str) -> None:
        bar.stop()
        # The first pass lists each record that needs attention; later ones just count them.
        output.pass_summary(result, ledger_title=title, company=company, list_problems=not shown)
        shown.append(result.run_id)

    def say(text: str) -> None:
        output.console.print(text, markup=False)

    try:
        _first, second = run_demo(workdir, say=say, progress=progress, show=show, target=books)
    finally:
        bar.stop()
    config = workdir / "config.toml"
    say("")
    say("The failures above are provoked on purpose by the demo firm's data; each says what to do.")
    say(
        f"Second pass wrote {second.tally.writes} records."
        if second.tally.writes
        else "The second pass wrote nothing: every record was already in the books."
    )
    say("Look around (the sandbox has stopped, the store and config stay):")
    # `make demo` runs .venv/bin/ledgerlink, which is not on PATH: show the command as it was typed.
    program = sys.argv[0] if Path(sys.argv[0]).name == "ledgerlink" else "ledgerlink"
    say(f"  {program} --config {config} errors")
    say(f"  {program} --config {config} status")
    say(f"Connect your real Clio and {title}: see README.md, “Using it for real”.")
    # The demo's record errors are intended; the demo itself succeeded.
    raise typer.Exit(0)
