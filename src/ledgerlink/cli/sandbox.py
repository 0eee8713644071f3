"""`ledgerlink sandbox serve`: the built-in Clio + QBO emulators, for trying ledgerlink by hand."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ledgerlink.cli.output import console
from ledgerlink.demo import demo_config
from ledgerlink.sandbox import Sandbox

app = typer.Typer(help="The built-in sandbox: emulated Clio and QuickBooks Online on 127.0.0.1.")


class SeedChoice(StrEnum):
    demo = "demo"
    empty = "empty"


@app.command("serve")
def serve(
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1 (0 picks a free one).")] = 8700,
    seed: Annotated[
        SeedChoice, typer.Option(help="demo: the seeded demo firm; empty: nothing.")
    ] = SeedChoice.demo,
) -> None:
    """Serve the sandbox until Ctrl-C; prints the URLs and OAuth client ids to put in a config."""
    box = Sandbox(seed=seed.value, port=port).start()
    urls = box.urls
    console.print(f"Sandbox on {urls.base} (Ctrl-C stops; state lives in memory).", markup=False)
    console.print(
        "A config for it (save as sandbox.toml, then `ledgerlink --config sandbox.toml connect clio`):",
        markup=False,
    )
    console.print(demo_config(box, Path(".ledgerlink-sandbox")), markup=False)
    box.serve_forever()
