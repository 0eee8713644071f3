"""`ledgerlink sandbox serve`: the built-in Clio + QBO emulators, for trying ledgerlink by hand."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from ledgerlink.cli.output import console
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
    console.print("Config for it:", markup=False)
    clio_id, clio_secret = next(iter(box.state.clio_apps.items()))
    qbo_id, qbo_secret = next(iter(box.state.qbo_apps.items()))
    console.print(
        "\n".join(
            [
                "[secrets]",
                'backend = "file"   # sandbox tokens are worthless; a 0600 file keeps the keyring clean',
                "[clio]",
                f'base_url = "{urls.base}/clio"',
                f'client_id = "{clio_id}"',
                f'client_secret = "{clio_secret}"',
                "[qbo]",
                f'api_url = "{urls.qbo_api}"',
                f'authorize_url = "{urls.qbo_oauth}/authorize"',
                f'token_url = "{urls.qbo_oauth}/v1/tokens/bearer"',
                f'revoke_url = "{urls.qbo_oauth}/v1/tokens/revoke"',
                f'client_id = "{qbo_id}"',
                f'client_secret = "{qbo_secret}"',
            ]
        ),
        markup=False,
    )
    box.serve_forever()
