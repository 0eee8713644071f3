"""`ledgerlink status`: connections, how long their consent lasts, and the last pass."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from ledgerlink.auth.lifetime import lifetime
from ledgerlink.auth.tokens import provider_name
from ledgerlink.cli import output
from ledgerlink.cli.context import app_context
from ledgerlink.errors import LedgerlinkError
from ledgerlink.store import Connection
from ledgerlink.workspace import Workspace

app = typer.Typer()


def _when(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def describe(workspace: Workspace, conn: Connection, now: float) -> dict[str, Any]:
    """One connection as `status` shows it: never a token, only when tokens run out."""
    entry: dict[str, Any] = asdict(conn)
    entry["active"] = conn.active
    entry.update(
        tokens="missing",
        access_token_expires_at=None,
        refresh_token_age_days=None,
        reconsent_by=None,
        reconsent_rule=None,
    )
    if not conn.active:
        return entry
    try:
        tokens = workspace.tokens.load(conn.provider)
    except LedgerlinkError as exc:
        entry["tokens"] = f"unreadable: {exc}"
        return entry
    if tokens is not None:
        life = lifetime(conn.provider, tokens, now=now)
        entry.update(
            tokens="present",
            access_token_expires_at=_when(life.access_expires_at),
            refresh_token_age_days=round(life.refresh_age_days, 1),
            reconsent_by=_when(life.reconsent_by),
            reconsent_rule=life.rule,
        )
    return entry


def _line(entry: dict[str, Any]) -> str:
    state = "connected" if entry["active"] else ("retired" if entry["retired_at"] else "disconnected")
    where = f" ({entry['external_id']}" + (f", region {entry['region']}" if entry["region"] else "") + ")"
    since = f"{entry['connected_at']:%Y-%m-%d}"
    text = f"{provider_name(entry['provider'])}: {entry['name']}{where}, {state} since {since}"
    if entry["active"]:
        text += f"; tokens {entry['tokens']}"
    if entry["access_token_expires_at"]:
        text += f"; access token until {entry['access_token_expires_at']}"
    if entry["refresh_token_age_days"] is not None:
        text += f"; refresh token {entry['refresh_token_age_days']:g} days old"
    if entry["reconsent_by"]:
        text += f"; connect again by {entry['reconsent_by'][:10]} ({entry['reconsent_rule']})"
    elif entry["reconsent_rule"]:
        text += f"; consent {entry['reconsent_rule']}"
    return text


@app.command("status")
def status(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Show each connection, when its consent runs out, and how the last pass went."""
    with app_context(ctx).workspace() as workspace:
        now = time.time()
        connections = [describe(workspace, conn, now) for conn in workspace.store.connections()]
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
            "No connections yet: run `ledgerlink connect clio`, then `ledgerlink connect qbo`."
        )
    for entry in connections:
        output.console.print(_line(entry), markup=False)
    if last:
        output.console.print(
            f"Last pass: #{last.id} {last.status} (exit {last.exit_code}), "
            f"started {last.started_at:%Y-%m-%d %H:%M} UTC" + (" [dry run]" if last.dry_run else ""),
            markup=False,
        )
