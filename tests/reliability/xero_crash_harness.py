"""Crash anywhere into Xero (issue 9): a small firm syncing to Xero, and the books it must end with.

- :func:`build_xero_crash_firm`: an empty sandbox made into a small Clio firm — three clients, four
  bills, a full, a partial and a split payment (one Clio payment over two bills), a credit memo
  over two bills, two hard costs with a vendor — syncing into the demo Xero organisation (its
  chart from :mod:`ledgerlink.sandbox.xero_demo`), hard costs on as Spend Money, both connected.
- :func:`broken_xero_invariants`: DESIGN.md invariants 1–3 read straight from the Xero emulator's
  records and the store: one contact per Clio client, one live invoice per bill number, one live
  payment per (Clio payment, bill) and none without a link, one live credit note per Clio credit,
  one live SPEND per hard cost, every link's target(s) live, each invoice's AmountDue equal to its
  Clio bill's balance. The list of what is wrong, empty when all is well.

Assumptions:
- A Xero record belongs to its Clio record through what ledgerlink writes on it: ``ContactNumber``
  (the Clio contact id), ``InvoiceNumber`` (the bill number), ``CreditNoteNumber`` (``CLIO-CN-<id>``,
  see providers/xero/ledger.py), and for a payment the link's compound target; a hard cost's
  SPEND names its Clio activity in ``Reference`` (``[Clio hard cost <id>]``).
- A payment is "live" unless DELETED; an invoice / credit note / bank transaction unless DELETED or
  VOIDED.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledgerlink.config import load_config
from ledgerlink.demo import demo_config, scripted_browser
from ledgerlink.domain import money
from ledgerlink.providers.xero.connections import XeroTenant
from ledgerlink.sandbox import Sandbox, demo_firm
from ledgerlink.sandbox.xero_demo import (
    XERO_DEMO_HARD_COST_BANK,
    XERO_DEMO_HARD_COST_EXPENSE,
    XERO_DEMO_MAPPING,
    XERO_DEMO_PAYMENT_ACCOUNT,
)
from ledgerlink.sandbox.xero_identity import seed_xero_organisations
from ledgerlink.sync.ports import COMPOUND_SEPARATOR
from ledgerlink.workspace import Workspace
from tests.conftest import sandbox_clio_client
from tests.scenarios.small_firm import SmallFirm

TENANT = demo_firm.XERO_ORG_TENANT_ID
DEAD = ("DELETED", "VOIDED")
HARD_COST_REF = re.compile(r"\[Clio hard cost (\d+)\]")
VENDOR = "Metro Courier"
COST_DAY = date(2026, 3, 5)
# link kind -> the Xero collection its target(s) live in (credit applications: allocations on notes)
LINKED = {
    "contact": "Contacts",
    "invoice": "Invoices",
    "payment": "Payments",
    "credit_note": "CreditNotes",
    "spend_money": "BankTransactions",
}


@dataclass
class XeroCrashFirm:
    """The small Clio firm syncing to Xero, plus what the checker must know that the sandbox cannot tell."""

    firm: SmallFirm
    clients: dict[str, int]  # name -> Clio contact id
    bills: dict[str, dict[str, Any]]  # a name for the story -> the Clio bill as it was created
    payments: dict[str, int] = field(default_factory=dict)  # a name -> Clio payment id
    credits: dict[str, int] = field(default_factory=dict)  # a name -> Clio credit memo id
    hard_costs: list[str] = field(default_factory=list)  # Clio activity ids
    vendor: int = 0  # the Clio contact the hard costs were paid to
    days: int = 0  # how many of NEXT_DAYS have happened

    @property
    def sandbox(self) -> Sandbox:
        return self.firm.sandbox

    @property
    def config_path(self) -> Path:
        return self.firm.config_path

    def hard_cost(self, client: str, price: str, note: str) -> str:
        """A hard cost on the client's matter, paid to the vendor; its Clio activity id."""
        body = {
            "type": "HardCostEntry",
            "date": COST_DAY.isoformat(),
            "price": price,
            "note": note,
            "matter": {"id": self.firm.matters[self.clients[client]]},
            "vendor": {"id": self.vendor},
        }
        with sandbox_clio_client(self.sandbox) as clio:
            made = str(clio.create_activity(body).id)
        self.hard_costs.append(made)
        return made

    def next_day(self) -> None:
        """The firm's next day in Clio: new, changed and removed records (after NEXT_DAYS, ordinary ones)."""
        day = NEXT_DAYS[self.days] if self.days < len(NEXT_DAYS) else _ordinary_day
        day(self)
        self.days += 1


def xero_config(box: Sandbox, workdir: Path) -> str:
    """The demo's Xero config with this firm's mapping (every charge to a demo code) and Spend Money on."""
    head, _, _mapping = demo_config(box, workdir, qbo_requests_per_second=1000, target="xero").partition(
        "[mapping]"
    )
    hard_costs = (
        "[xero.hard_costs]\nenabled = true\nstart_date = 2026-01-01\n"
        f'bank_account = "{XERO_DEMO_HARD_COST_BANK}"\n'
        f'expense_account = "{XERO_DEMO_HARD_COST_EXPENSE}"\n\n[sync]'
    )
    codes = XERO_DEMO_MAPPING
    return re.sub(r"^\[sync\]$", hard_costs, head, flags=re.M) + (
        "[mapping]\n"
        f'time_entries = "{codes[demo_firm.TIME_ITEM]}"\n'
        f'expense_entries = "{codes[demo_firm.EXPENSE_ITEM_MAP["Photocopies"]]}"\n'
        f'tax = "{codes[demo_firm.TAX_ITEM]}"\n'
        f'interest = "{codes[demo_firm.INTEREST_ITEM]}"\n'
        f'credit_notes = "{codes[demo_firm.CREDIT_ITEM]}"\n'
        f'payment_account = "{XERO_DEMO_PAYMENT_ACCOUNT}"\n'
    )


def _demo_org(tenants: Sequence[XeroTenant]) -> XeroTenant:
    return next(t for t in tenants if t.tenant_id == TENANT)


def build_xero_crash_firm(box: Sandbox, workdir: Path) -> XeroCrashFirm:
    """Three clients, four bills, three payments (one split), a credit over two bills, two hard costs."""
    settings = box.state.settings
    settings.xero_per_minute = settings.xero_app_per_minute = 1_000_000  # kills cost passes, not waits
    settings.xero_per_day = 1_000_000
    seed_xero_organisations(box.state)
    box.xero.open_demo_books(TENANT)
    clio = box.clio
    clio.set_account(1_001, "Whitfield & Ames LLP")
    clio.add_user(
        name="Avery Ames", first_name="Avery", last_name="Ames", account_owner=True, rate=Decimal(250)
    )
    clio.set_billing_settings(
        tax_name="Sales Tax", tax_rate=Decimal(0), use_secondary_tax=False, currency="USD"
    )
    config_path = workdir / "config.toml"
    config_path.write_text(xero_config(box, workdir), encoding="utf-8")
    with Workspace(load_config(config_path)) as workspace:
        workspace.connect("clio", open_url=scripted_browser)
        workspace.connect("xero", open_url=scripted_browser, confirm=lambda q: True, choose_tenant=_demo_org)
    firm = SmallFirm(box, config_path, workdir)
    dana = firm.client("Dana", "Whitfield", "dana@example.com")
    omar = firm.client("Omar", "Haddad")
    lee = firm.client("Lee", "Park")
    crash = XeroCrashFirm(
        firm,
        clients={"Dana Whitfield": dana, "Omar Haddad": omar, "Lee Park": lee},
        bills={
            "dana paid": firm.bill(dana, hours=("2.0",)),
            "omar one": firm.bill(omar, hours=("3.0",)),
            "omar two": firm.bill(omar, hours=("1.0",), expenses=("19.99",)),
            "lee one": firm.bill(lee, hours=("0.7",), expenses=("7.35",)),
        },
    )
    bill = crash.bills
    crash.payments["dana full"] = _paid(clio.record_payment(bill["dana paid"]["id"]))
    crash.payments["omar part"] = _paid(
        clio.record_payment(bill["omar one"]["id"], Decimal("100.00"), reference="CHK 2231")
    )
    crash.payments["split"] = int(
        clio.record_split_payment(
            omar, {bill["omar one"]["id"]: Decimal("50.00"), bill["omar two"]["id"]: Decimal("60.00")}
        )
    )
    crash.credits["omar"] = int(
        clio.add_credit_memo(
            omar, {bill["omar one"]["id"]: Decimal("20.00"), bill["omar two"]["id"]: Decimal("30.00")}
        )
    )
    crash.vendor = int(clio.add_contact(type="Company", name=VENDOR)["id"])
    crash.hard_cost("Dana Whitfield", "84.50", "Courier to court")
    crash.hard_cost("Lee Park", "12.40", "Filing fee")
    return crash


def _paid(allocation: Mapping[str, Any]) -> int:
    """The payment an allocation belongs to."""
    return int(allocation["parent"]["id"])


def _new_work(crash: XeroCrashFirm) -> None:
    """A new bill paid at once, a new client billed, a new credit and a hard cost."""
    clio, firm = crash.sandbox.clio, crash.firm
    crash.clients["Mina Sato"] = firm.client("Mina", "Sato", "mina@example.com")
    crash.bills["mina one"] = firm.bill(crash.clients["Mina Sato"], hours=("1.2",), expenses=("7.35",))
    crash.bills["dana two"] = firm.bill(crash.clients["Dana Whitfield"], hours=("0.4",))
    crash.payments["dana two"] = _paid(clio.record_payment(crash.bills["dana two"]["id"]))
    crash.credits["mina"] = int(
        clio.add_credit_memo(
            crash.clients["Mina Sato"],
            {crash.bills["mina one"]["id"]: Decimal("75.00")},
            description="Discount",
        )
    )
    crash.hard_cost("Omar Haddad", "33.00", "Process server")


def _changes(crash: XeroCrashFirm) -> None:
    """A bill grows a line (its invoice is updated); a payment is deleted; a credit memo is voided."""
    clio = crash.sandbox.clio
    lee = crash.bills["lee one"]
    clio.add_line_item(
        bill=lee["id"],
        kind="Expense",
        description="Couriers",
        date=lee["issued_at"],
        quantity=Decimal(1),
        price=Decimal("18.40"),
        taxable=False,
        secondary_taxable=False,
    )
    clio.delete_payment(crash.payments.pop("omar part"))
    clio.void_credit_memo(crash.credits.pop("mina"))


def _ordinary_day(crash: XeroCrashFirm) -> None:
    """A bill for one client in turn, paid at once every other day."""
    name = sorted(crash.clients)[crash.days % len(crash.clients)]
    bill = crash.firm.bill(
        crash.clients[name], hours=(f"{crash.days % 4 + 1}.25",), number=str(5200 + crash.days)
    )
    crash.bills[f"day {crash.days}"] = bill
    if crash.days % 2:
        crash.payments[f"day {crash.days}"] = _paid(crash.sandbox.clio.record_payment(bill["id"]))


NEXT_DAYS = (_new_work, _changes)


# -- the invariants --------------------------------------------------------------------------------


def broken_xero_invariants(crash: XeroCrashFirm) -> list[str]:
    """What breaks DESIGN.md invariants 1–3 in this firm's Xero books now; empty when they are right."""
    rows = {name: crash.sandbox.xero.records(TENANT, name) for name in LINKED.values()}
    links = xero_links(crash)
    problems: list[str] = []
    problems += _one_record_each(crash, rows)
    problems += _payments_once(links, rows["Payments"])
    problems += _links_live(links, rows)
    problems += _amounts_due(crash, rows["Invoices"])
    return problems


def xero_links(crash: XeroCrashFirm) -> dict[str, dict[str, str]]:
    """Every link of the Xero connection, by kind, as source id -> target id."""
    with crash.firm.workspace() as workspace:
        store = workspace.store
        connection = workspace.connection("xero")
        return {
            kind: {s: link.target_id for s, link in store.links(connection.id, kind).items()}
            for kind in (*LINKED, "credit_application")
        }


def _alive(record: Mapping[str, Any]) -> bool:
    return record.get("Status") not in DEAD


def _differs(what: str, found: Iterable[str], wanted: Iterable[str]) -> list[str]:
    have, want = Counter(found), Counter(wanted)
    return [] if have == want else [f"{what}: Xero has {dict(have)}, one per Clio record is {dict(want)}"]


def _one_record_each(crash: XeroCrashFirm, rows: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    clio = crash.sandbox.clio
    problems = _differs(
        "contacts by ContactNumber",
        (str(c["ContactNumber"]) for c in rows["Contacts"] if c.get("ContactNumber")),
        (str(c) for c in crash.clients.values()),
    )
    problems += _differs(
        "live invoices by number",
        (str(i["InvoiceNumber"]) for i in rows["Invoices"] if i.get("Type") == "ACCREC" and _alive(i)),
        (str(b["number"]) for b in clio.records("bill") if b["state"] in ("awaiting_payment", "paid")),
    )
    problems += _differs(
        "live credit notes by number",
        (str(n.get("CreditNoteNumber")) for n in rows["CreditNotes"] if _alive(n)),
        (f"CLIO-CN-{c}" for c in crash.credits.values()),
    )
    spent = [
        match.group(1)
        for t in rows["BankTransactions"]
        if t.get("Type") == "SPEND" and _alive(t)
        for match in [HARD_COST_REF.search(str(t.get("Reference") or ""))]
        if match
    ]
    problems += _differs("live SPEND per hard cost", spent, crash.hard_costs)
    return problems


def _payments_once(links: Mapping[str, Mapping[str, str]], payments: list[dict[str, Any]]) -> list[str]:
    """One live Xero payment per (Clio payment, bill); none live without a link naming it."""
    by_id = {p["PaymentID"]: p for p in payments}
    problems = []
    for source, target in sorted(links["payment"].items()):
        parts = target.split(COMPOUND_SEPARATOR)
        invoices = [by_id[p]["Invoice"]["InvoiceID"] for p in parts if p in by_id]
        if len(set(invoices)) != len(parts):
            problems.append(f"Clio payment {source}: parts {parts} are not one per bill ({invoices})")
    linked = {p for t in links["payment"].values() for p in t.split(COMPOUND_SEPARATOR)}
    orphans = sorted(p["PaymentID"] for p in payments if _alive(p) and p["PaymentID"] not in linked)
    if orphans:
        problems.append(f"live Xero payments no link knows (duplicates): {orphans}")
    return problems


def _links_live(
    links: Mapping[str, Mapping[str, str]], rows: Mapping[str, list[dict[str, Any]]]
) -> list[str]:
    problems = []
    for kind, collection in LINKED.items():
        key = {"Contacts": "ContactID"}.get(collection, collection[:-1] + "ID")
        if collection == "BankTransactions":
            key = "BankTransactionID"
        live = {str(r[key]) for r in rows[collection] if _alive(r) and r.get("ContactStatus") != "ARCHIVED"}
        dead = {s: t for s, t in links[kind].items() if not set(t.split(COMPOUND_SEPARATOR)) <= live}
        if dead:
            problems.append(f"{kind} links to records that are not live: {dead}")
    allocations = {
        str(a.get("AllocationID"))
        for note in rows["CreditNotes"]
        if _alive(note)
        for a in note.get("Allocations") or []
        if _alive(a)
    }
    dead = {
        s: t
        for s, t in links["credit_application"].items()
        if not set(t.split(COMPOUND_SEPARATOR)) <= allocations
    }
    if dead:
        problems.append(f"credit_application links to allocations that are not live: {dead}")
    return problems


def _amounts_due(crash: XeroCrashFirm, invoices: list[dict[str, Any]]) -> list[str]:
    live = {str(i["InvoiceNumber"]): i for i in invoices if i.get("Type") == "ACCREC" and _alive(i)}
    problems = []
    for name, made in sorted(crash.bills.items()):
        bill = crash.sandbox.clio.get("bill", made["id"])
        invoice = live.get(str(bill["number"]))
        if invoice is None:
            continue  # counted by _one_record_each
        if money(invoice["AmountDue"]) != money(bill["balance"]):
            problems.append(
                f"{name} ({bill['number']}): Xero AmountDue {invoice['AmountDue']} ≠ Clio {bill['balance']}"
            )
    return problems


def open_xero_intents(crash: XeroCrashFirm) -> list[str]:
    """Intents no pass has settled yet, as "kind/source (state)"."""
    with crash.firm.workspace() as workspace:
        connection = workspace.connection("xero")
        return [f"{i.kind}/{i.source_id} ({i.state})" for i in workspace.store.open_intents(connection.id)]
