"""`ledgerlink links show|set`: what a Clio contact is linked to, and the bookkeeper's matter choices.

`links show` is Firm360's "QB" badge: the QuickBooks customer a Clio contact is linked to, and how
many of that customer's invoices ledgerlink wrote. `links set matter` records which Clio matter
the hard-cost import posts a QBO customer's costs to when its Clio client has several matters.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledgerlink.cli import output
from ledgerlink.cli.context import app_context
from ledgerlink.errors import AuthError, UserError
from ledgerlink.providers.clio.client import ClioClient
from ledgerlink.providers.clio.translate import contact_from_clio
from ledgerlink.providers.qbo.ledger import QboLedger
from ledgerlink.store import Connection, Link, Store
from ledgerlink.sync.flows import invoices as invoice_flow
from ledgerlink.sync.flows.customer_import import KIND, MATTER_CHOICE_KIND, BookCustomer, Proposal, propose
from ledgerlink.workspace import Workspace

app = typer.Typer(help="Show and set links between Clio and the accounting system.", no_args_is_help=True)

TITLES = {"qbo": "QuickBooks Online", "xero": "Xero"}


@app.command("show")
def show(
    ctx: typer.Context,
    contact_id: Annotated[str, typer.Argument(metavar="CLIO_CONTACT_ID", help="The Clio contact's id.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The customer a Clio contact is linked to, and its linked invoices. Exit 1 when not linked."""
    with app_context(ctx).workspace() as workspace:
        conn = _ledger_connection(workspace.store)
        title = TITLES.get(conn.provider, conn.provider)
        link = workspace.store.link(conn.id, KIND, contact_id)
        invoices = _linked_invoices(workspace, conn, link.target_id) if link is not None else None
    if link is None:
        if as_json:
            output.emit_json({"clio_id": contact_id, "linked": False})
        else:
            output.console.print(f"Clio contact {contact_id}: not linked to {title}.", markup=False)
        raise typer.Exit(1)
    name = _ledger_name(link)
    if as_json:
        output.emit_json(
            {
                "clio_id": contact_id,
                "linked": True,
                "ledger": conn.provider,
                "ledger_id": link.target_id,
                "ledger_name": name,
                "linked_invoices": invoices,
            }
        )
        return
    count = "" if invoices is None else f"; {invoices} linked invoice(s)"
    output.console.print(
        f"Clio contact {contact_id} → {title} customer {link.target_id}"
        + (f" “{name}”" if name else "")
        + count,
        markup=False,
    )


@app.command("set")
def set_link(
    ctx: typer.Context,
    what: Annotated[str, typer.Argument(metavar="matter", help="What to link: `matter`.")],
    customer: Annotated[str, typer.Argument(metavar="QBO_CUSTOMER", help="QBO customer id or exact name.")],
    matter: Annotated[str, typer.Argument(metavar="CLIO_MATTER", help="Clio matter id or display number.")],
) -> None:
    """Choose the Clio matter a QuickBooks customer's hard costs go to (its client has several)."""
    if what != "matter":
        raise UserError(
            f"`links set` sets matters, not “{what}”.", remedy="Use `ledgerlink links set matter …`."
        )
    with app_context(ctx).workspace() as workspace:
        workspace.only_qbo("Choosing the matter of a QuickBooks customer's hard costs")
        _clio, conn = workspace.require_connections()
        store = workspace.store
        with workspace.qbo_client(conn.external_id) as qbo, workspace.clio_client() as clio:
            ledger = QboLedger(qbo)
            books = [BookCustomer(c, company, job) for c, company, job in ledger.customers_with_company()]
            chosen = _customer(books, customer)
            contact_id = _contact_of(store, conn.id, chosen, books, clio, ledger)
            matters = clio.matters_of([int(contact_id)])
        found = [m for m in matters if matter in (str(m.id), m.display_number)]
        if not found:
            listed = ", ".join(f"{m.display_number} ({m.id})" for m in matters) or "none"
            raise UserError(
                f"Clio contact {contact_id}, linked to “{chosen.name}”, has no matter “{matter}” "
                f"(its matters: {listed}).",
                remedy="Give the id or display number of one of that client's matters.",
            )
        store.save_link(conn.id, MATTER_CHOICE_KIND, chosen.id, str(found[0].id), content_hash="")
    output.console.print(
        f"Hard costs of “{chosen.name}” ({chosen.id}) go to Clio matter {found[0].display_number} "
        f"({found[0].id}).",
        markup=False,
    )


def _ledger_connection(store: Store) -> Connection:
    for provider in ("qbo", "xero"):
        conn = store.active_connection(provider)
        if conn is not None:
            return conn
    raise AuthError("Not connected to an accounting system.", remedy="Run `ledgerlink connect qbo` first.")


def _ledger_name(link: Link) -> str | None:
    snapshot: dict[str, Any] = link.snapshot or {}
    ledger = snapshot.get("ledger")
    name = ledger.get("name") if isinstance(ledger, dict) else snapshot.get("name")
    return str(name) if name else None


def _linked_invoices(workspace: Workspace, conn: Connection, customer_id: str) -> int | None:
    """How many of the customer's QBO invoices ledgerlink wrote (None for a ledger it cannot ask)."""
    if conn.provider != "qbo":
        return None
    with workspace.qbo_client(conn.external_id) as qbo:
        ids = set(QboLedger(qbo).customer_invoice_ids(customer_id))
    written = {link.target_id for link in workspace.store.links(conn.id, invoice_flow.KIND).values()}
    return len(ids & written)


def _customer(books: list[BookCustomer], wanted: str) -> BookCustomer:
    for book in books:
        if wanted in (book.id, book.name):
            return book
    raise UserError(
        f"QuickBooks has no customer with the id or name “{wanted}”.",
        remedy="Give the customer's id or its exact display name "
        "(`ledgerlink import customers --dry-run` lists them).",
    )


def _contact_of(
    store: Store,
    conn_id: int,
    book: BookCustomer,
    books: list[BookCustomer],
    clio: ClioClient,
    ledger: QboLedger,
) -> str:
    """The Clio contact of a customer: its link, else the one the import would link it to."""
    link = store.link_by_target(conn_id, KIND, book.id)
    if link is not None:
        return link.source_id
    contacts = [contact_from_clio(c) for c in clio.contacts()]
    linked = {lk.target_id: s for s, lk in store.links(conn_id, KIND).items()}
    (row,) = propose([book], contacts, linked, ledger.name_holders(), include_inactive=True)
    if row.action is Proposal.LINK and row.clio_id is not None:
        return row.clio_id
    raise UserError(
        f"“{book.name}” is not linked to a Clio contact, and none matches it for sure ({row.reason}).",
        remedy="Link it first with `ledgerlink import customers`, then set its matter.",
    )
