"""`ledgerlink connect` and `disconnect`: the OAuth code flow in the browser, tokens into the token store."""

from __future__ import annotations

import sys
import webbrowser
from collections.abc import Callable, Sequence
from enum import StrEnum
from typing import Annotated

import typer

from ledgerlink.cli.context import app_context
from ledgerlink.cli.output import console
from ledgerlink.errors import UserError
from ledgerlink.providers.xero.connections import XeroTenant

app = typer.Typer()


class ProviderChoice(StrEnum):
    clio = "clio"
    qbo = "qbo"
    xero = "xero"


def _open_browser(url: str) -> None:
    console.print("Opening your browser for consent. If it does not open, visit:", markup=False)
    console.print(f"  {url}", markup=False, soft_wrap=True)
    webbrowser.open(url)


def _paste(url: str) -> str:
    console.print("Open this address in a browser on any machine and approve access:", markup=False)
    console.print(f"  {url}", markup=False, soft_wrap=True)
    console.print(
        "The browser then lands on an address starting with the redirect URI (it may show an error page:"
    )
    console.print("that is expected). Copy that whole address from the address bar and paste it here.")
    return str(typer.prompt("Redirect address"))


def _confirmer(yes: bool) -> Callable[[str], bool]:
    """Ask on a terminal; in a script only --yes agrees."""

    def confirm(question: str) -> bool:
        if yes:
            return True
        if not sys.stdin.isatty():
            return False
        return bool(typer.confirm(question, default=False))

    return confirm


def _tenant_chooser(wanted: str | None) -> Callable[[Sequence[XeroTenant]], XeroTenant]:
    """Pick the Xero organisation by --tenant, else by asking on a terminal."""

    def choose(tenants: Sequence[XeroTenant]) -> XeroTenant:
        names = [t.tenant_name or t.tenant_id for t in tenants]
        listed = ", ".join(f"“{n}”" for n in names)
        if wanted is not None:
            for tenant, name in zip(tenants, names, strict=True):
                if name.casefold() == wanted.casefold():
                    return tenant
            raise UserError(
                f"No Xero organisation named “{wanted}” in this consent.", remedy=f"Use one of: {listed}."
            )
        if not sys.stdin.isatty():
            raise UserError(
                f"The consent covered several Xero organisations: {listed}.",
                remedy="Run `ledgerlink connect xero --tenant NAME` to say which one this store syncs into.",
            )
        for number, name in enumerate(names, start=1):
            console.print(f"  {number}. {name}", markup=False)
        picked = int(typer.prompt("Which organisation does this store sync into? Number", type=int))
        if not 1 <= picked <= len(tenants):
            raise UserError(f"There is no organisation number {picked}.", remedy="Run the command again.")
        return tenants[picked - 1]

    return choose


@app.command("connect")
def connect(
    ctx: typer.Context,
    provider: Annotated[ProviderChoice, typer.Argument(help="clio, qbo or xero")],
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the consent address and paste the redirect (SSH).")
    ] = False,
    region: Annotated[
        str | None, typer.Option("--region", help="Clio only: us, ca, eu or au (default: clio.region).")
    ] = None,
    tenant: Annotated[
        str | None,
        typer.Option("--tenant", help="Xero only: which organisation, when consent covered several."),
    ] = None,
    yes: Annotated[
        bool,
        typer.Option("--yes", "-y", help="Switch to another company without asking (retires old links)."),
    ] = False,
) -> None:
    """Connect ledgerlink to Clio, QuickBooks Online or Xero (OAuth; tokens go to the keyring)."""
    with app_context(ctx).workspace() as workspace:
        if region:
            workspace.use_clio_region(region.lower())
        connected = workspace.connect(
            provider.value,
            open_url=None if no_browser else _open_browser,
            paste_redirect=_paste if no_browser else None,
            confirm=_confirmer(yes),
            choose_tenant=_tenant_chooser(tenant),
        )
    where = {
        ProviderChoice.qbo: f" (realm {connected.external_id})",
        ProviderChoice.xero: f" (tenant {connected.external_id})",
    }.get(provider, "")
    shown_region = f", region {connected.region}" if connected.region else ""
    console.print(f"Connected to {connected.name}{where}{shown_region}.", markup=False)
    console.print(f"Tokens are kept in: {connected.token_store}", markup=False)
    if connected.resumed:
        console.print(
            f"Resuming: {connected.resumed} records linked earlier are used again; nothing is re-sent."
        )


@app.command("disconnect")
def disconnect(
    ctx: typer.Context,
    provider: Annotated[ProviderChoice, typer.Argument(help="clio, qbo or xero")],
    purge: Annotated[
        bool, typer.Option("--purge", help="Also retire the links (kept for audit, never used again).")
    ] = False,
) -> None:
    """Revoke ledgerlink's access and forget the tokens; the links stay for a later reconnect."""
    with app_context(ctx).workspace() as workspace:
        conn = workspace.disconnect(provider.value, purge=purge)
        links = workspace.store.link_count(conn.id)
    console.print(f"Disconnected from {conn.name}: access revoked, tokens forgotten.", markup=False)
    if purge:
        console.print(f"Its {links} links are retired: kept for audit, never used for matching again.")
    else:
        console.print(
            f"Its {links} links are kept: connecting the same company again resumes where it stopped."
        )
