"""`ledgerlink status`: connections, tokens' lifetimes and the last pass."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ledgerlink.auth.tokens import provider_name
from ledgerlink.cli import output
from ledgerlink.cli.context import app_context
from ledgerlink.errors import LedgerlinkError

app = typer.Typer()


def _when(epoch: float | None) -> str | None:
    if epoch is None or epoch == float("inf"):
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show each connection, when its tokens expire, and how the last pass went."""
    with app_context(ctx).workspace() as workspace:
        connections: list[dict[str, Any]] = []
        for conn in workspace.store.connections():
            entry: dict[str, Any] = asdict(conn)
            entry["active"] = conn.active
            try:
                tokens = workspace.tokens.load(conn.provider) if conn.active else None
            except LedgerlinkError as exc:
                tokens, entry["token_problem"] = None, str(exc)
            entry["access_token_expires_at"] = _when(tokens.expires_at) if tokens else None
            entry["refresh_token_expires_at"] = _when(tokens.refresh_expires_at) if tokens else None
            entry["tokens"] = "present" if tokens else "missing"
            connections.append(entry)
        last = workspace.store.last_run()
        store_url = workspace.config.store_url
    if as_json:
        output.emit_json(
            {"store": store_url, "connections": connections, "last_run": asdict(last) if last else None}
        )
        return
    output.console.print(f"Store: {store_url}", markup=False)
    if not connections:
        output.console.print(
            "No connections yet: run `ledgerlink connect clio` and `ledgerlink connect qbo`."
        )
    for entry in connections:
        state = "connected" if entry["active"] else "disconnected"
        output.console.print(
            f"{provider_name(entry['provider'])}: {entry['name']} ({entry['external_id']}), {state} since "
            f"{entry['connected_at']:%Y-%m-%d}; tokens {entry['tokens']}"
            + (
                f", access token expires {entry['access_token_expires_at']}"
                if entry["access_token_expires_at"]
                else ""
            )
            + (
                f", re-consent needed by {entry['refresh_token_expires_at']}"
                if entry["refresh_token_expires_at"]
                else ""
            ),
            markup=False,
        )
    if last:
        output.console.print(
            f"Last pass: #{last.id} {last.status} (exit {last.exit_code}), "
            f"started {last.started_at:%Y-%m-%d %H:%M} UTC" + (" [dry run]" if last.dry_run else ""),
            markup=False,
        )
