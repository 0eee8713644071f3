"""The crash-anywhere harness: a firm with every kind of record, passes killed by SIGKILL, the books checked.

Three pieces:

- :func:`build_crash_firm`: an empty sandbox made into a small firm holding one or more of every
  kind the pass writes — clients, bills, a full, a partial and a split payment, credit notes over
  one and two bills, trust deposits, a paid trust request, a disbursement, a transfer, a bill paid
  from trust, two trust cheques, and a QBO cheque of hard costs for two matters.
- :class:`CommandForker`: runs ``ledgerlink <args>`` as a real child process, killed wherever the
  ``LEDGERLINK_FAILPOINTS`` variable says (``http_request:N`` / ``http_response:N``: SIGKILL before
  the Nth request leaves / after the Nth answer arrived). Starting Python and importing ledgerlink
  costs ~1–2 s, more than a pass of this firm, so one helper process imports the CLI once and forks
  a child per command: each child is a fresh process running the real entry point
  (``ledgerlink.cli.main``) with its own environment, killed for real.
- :func:`broken_invariants`: DESIGN.md invariants 1–3 read from the sandbox's raw records and the
  store, independently of ledgerlink's own bookkeeping; the list of what is wrong, empty when all is
  well.

Assumptions:
- A remote record "belongs" to a source record through what ledgerlink writes on it: the bill
  number (invoice DocNumber), the display name (customers), the PrivateNote naming the Clio id
  (payments, credit memos and their applications, trust postings and cheques: the text before the
  ``[ledgerlink <key>]`` marker names the Clio record and differs per record), and the QBO cheque
  number and Clio matter (hard-cost entries in Clio).
- Forking the warmed-up helper is equivalent to ``python -m ledgerlink`` for what is tested here:
  the child inherits no open file, socket or store of a previous command (the helper opens none).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ledgerlink import failpoints
from ledgerlink.domain import money
from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.state import FaultRule
from tests.scenarios.small_firm import (
    COURT_VENDOR,
    REALM,
    TRUST_LIABILITY,
    SmallFirm,
    build_trust_firm,
    trust_config,
)
from tests.scenarios.test_hard_cost_import import CONFIG as HARD_COST_CONFIG
from tests.scenarios.test_hard_cost_import import HardCostFirm

KILLED = -signal.SIGKILL  # how subprocess reports a child that died of SIGKILL
MARKER = re.compile(r"\s*\[ledgerlink [0-9a-f]+\]")
LINKED_ENTITIES = {  # link kind -> the QBO entity its target is
    "contact": "Customer",
    "invoice": "Invoice",
    "payment": "Payment",
    "credit_application": "Payment",
    "credit_note": "CreditMemo",
    "trust_posting": "JournalEntry",
    "trust_cheque": "Purchase",
}
HARD_COST_KIND = "hard_cost"  # link: "<QBO purchase id>/<Clio matter id>" -> Clio activity id
HARD_COST_CHEQUE = "1043"
TRUST_REQUEST = "trust_kind"  # the Clio bill kind of a trust request (sandbox/clio_records.py)
VENDOR = "Metro Courier"  # the QBO vendor of the hard costs, created in Clio as a contact by the import


# -- the firm ------------------------------------------------------------------------------------


@dataclass
class CrashFirm:
    """The small firm plus what the checker must know about it that the sandbox cannot tell."""

    firm: SmallFirm
    costs: HardCostFirm
    clients: dict[str, int]  # name -> Clio contact id
    qbo_customers: dict[str, str]  # name -> QBO customer id, for the clients that have hard costs
    bills: dict[str, dict[str, Any]]  # a name for the story -> the Clio bill as it was created
    payments: dict[str, int] = field(default_factory=dict)  # a name for the story -> Clio payment id
    credits: dict[str, int] = field(default_factory=dict)  # a name for the story -> Clio credit memo id
    hard_costs: list[tuple[str, int, Decimal]] = field(default_factory=list)  # (cheque, matter, amount)
    days: int = 0  # how many of NEXT_DAYS have happened

    @property
    def sandbox(self) -> Sandbox:
        return self.firm.sandbox

    @property
    def names(self) -> dict[int, str]:
        return {contact: name for name, contact in self.clients.items()}

    def hard_cost_cheque(self, number: str, parts: Mapping[str, str]) -> None:
        """A QBO cheque of hard costs (client name -> amount), one line per client, on the day's books."""
        lines = [
            self.costs.line(amount, self.qbo_customers[name], "Filing fee") for name, amount in parts.items()
        ]
        self.costs.cheque(number, lines)
        for name, amount in parts.items():
            self.hard_costs.append((number, self.firm.matters[self.clients[name]], Decimal(amount)))

    def next_day(self) -> None:
        """The firm's next day of work in Clio and QBO: new, changed and removed records.

        The first days of NEXT_DAYS each bring something new; after them every day is ordinary.
        """
        day = NEXT_DAYS[self.days] if self.days < len(NEXT_DAYS) else _ordinary_day
        day(self)
        self.days += 1


def build_crash_firm(sandbox: Sandbox, workdir: Path) -> CrashFirm:
    """Five clients, eight bills, payments, credits, trust and hard costs: every kind, ~40 requests a pass."""
    firm = build_trust_firm(sandbox, workdir, trust=trust_config() + HARD_COST_CONFIG)
    costs = HardCostFirm(firm)
    clio = sandbox.clio
    dana, dana_qbo = costs.customer("Dana", "Whitfield")
    lee, lee_qbo = costs.customer("Lee", "Park")
    omar = firm.client("Omar", "Haddad", "omar@example.com")
    mina = firm.client("Mina", "Sato", "mina@example.com")
    ravi = firm.client("Ravi", "Iyer")
    crash = CrashFirm(
        firm,
        costs,
        clients={
            "Dana Whitfield": dana,
            "Lee Park": lee,
            "Omar Haddad": omar,
            "Mina Sato": mina,
            "Ravi Iyer": ravi,
        },
        qbo_customers={"Dana Whitfield": dana_qbo, "Lee Park": lee_qbo},
        bills={
            "dana paid": firm.bill(dana, hours=("2.0",)),
            "dana open": firm.bill(dana, hours=("1.5", "0.5"), expenses=("42.10",)),
            "omar one": firm.bill(omar, hours=("3.0",)),
            "omar two": firm.bill(omar, hours=("1.0",), expenses=("19.99",)),
            "lee one": firm.bill(lee, hours=("0.7",)),
            "lee two": firm.bill(lee, hours=("4.0",)),
            "mina one": firm.bill(mina, hours=("1.2",), expenses=("7.35",)),
            "ravi one": firm.bill(ravi, hours=("2.0",)),
        },
    )
    bill = crash.bills
    crash.payments["dana full"] = _paid(clio.record_payment(bill["dana paid"]["id"]))
    crash.payments["omar part"] = _paid(
        clio.record_payment(bill["omar one"]["id"], Decimal("100.00"), reference="CHK 2231")
    )
    crash.payments["lee split"] = clio.record_split_payment(
        lee, {bill["lee one"]["id"]: bill["lee one"]["balance"], bill["lee two"]["id"]: Decimal("50.00")}
    )
    crash.credits["mina"] = clio.add_credit_memo(
        mina, {bill["mina one"]["id"]: Decimal("75.00")}, description="Courtesy discount"
    )
    crash.credits["omar"] = clio.add_credit_memo(
        omar, {bill["omar one"]["id"]: Decimal("20.00"), bill["omar two"]["id"]: Decimal("30.00")}
    )

    clio.trust_deposit(dana, Decimal("5000.00"), description="Retainer")
    clio.trust_deposit(ravi, Decimal("1200.00"))
    request = clio.add_trust_request(ravi, Decimal("800.00"))
    clio.pay_trust_request(request["id"])
    clio.trust_disbursement(dana, Decimal("250.00"), description="Expert report")
    clio.trust_transfer(dana, ravi, Decimal("300.00"), description="Joint matter costs")
    crash.payments["ravi from trust"] = _paid(clio.record_payment(bill["ravi one"]["id"], from_trust=True))
    clio.trust_disbursement(
        dana, Decimal("150.00"), reference="QBO CHECK 1001", description=f"Pay to: {COURT_VENDOR}\nFiling fee"
    )
    clio.trust_disbursement(ravi, Decimal("100.00"), reference="QBO CHECK 1002", description="Refund")
    crash.hard_cost_cheque("1043", {"Dana Whitfield": "40.00", "Lee Park": "99.99"})
    return crash


def _paid(allocation: Mapping[str, Any]) -> int:
    """The payment an allocation belongs to."""
    return int(allocation["parent"]["id"])


def _new_work(crash: CrashFirm) -> None:
    """New bills, one paid at once; new trust money; a cheque out of trust."""
    clio, firm, who = crash.sandbox.clio, crash.firm, crash.clients
    crash.bills["mina two"] = firm.bill(who["Mina Sato"], hours=("0.4",), number="5101")
    crash.bills["omar three"] = firm.bill(
        who["Omar Haddad"], hours=("2.5",), expenses=("12.00",), number="5102"
    )
    crash.payments["mina two"] = _paid(clio.record_payment(crash.bills["mina two"]["id"]))
    clio.trust_deposit(who["Omar Haddad"], Decimal("400.00"), description="Retainer top-up")
    clio.trust_disbursement(
        who["Omar Haddad"],
        Decimal("50.00"),
        reference="QBO CHECK 1003",
        description=f"Pay to: {COURT_VENDOR}",
    )


def _changes(crash: CrashFirm) -> None:
    """A bill grows a line (its invoice is updated); a payment is deleted; a credit memo is voided."""
    clio = crash.sandbox.clio
    clio.add_line_item(
        bill=crash.bills["dana open"]["id"],
        kind="Expense",
        description="Couriers",
        date=crash.bills["dana open"]["issued_at"],
        quantity=Decimal(1),
        price=Decimal("18.40"),
        taxable=False,
        secondary_taxable=False,
    )
    clio.delete_payment(crash.payments.pop("omar part"))
    clio.void_credit_memo(crash.credits.pop("mina"))


def _more_credits_and_costs(crash: CrashFirm) -> None:
    """A credit over two bills, a split payment, hard costs on another cheque, a trust transfer."""
    clio, who, bill = crash.sandbox.clio, crash.clients, crash.bills
    crash.credits["omar again"] = clio.add_credit_memo(
        who["Omar Haddad"],
        {bill["omar two"]["id"]: Decimal("10.00"), bill["omar three"]["id"]: Decimal("5.00")},
    )
    crash.payments["omar split"] = clio.record_split_payment(
        who["Omar Haddad"],
        {bill["omar one"]["id"]: Decimal("200.00"), bill["omar three"]["id"]: Decimal("40.00")},
    )
    crash.hard_cost_cheque("1044", {"Dana Whitfield": "23.75"})
    clio.trust_transfer(who["Ravi Iyer"], who["Dana Whitfield"], Decimal("75.00"), description="Shared costs")


def _ordinary_day(crash: CrashFirm) -> None:
    """A bill for one client in turn, paid at once every other day, and a trust deposit."""
    name = sorted(crash.clients)[crash.days % len(crash.clients)]
    client = crash.clients[name]
    bill = crash.firm.bill(client, hours=(f"{crash.days % 4 + 1}.25",), number=str(5200 + crash.days))
    crash.bills[f"day {crash.days}"] = bill
    if crash.days % 2:
        crash.payments[f"day {crash.days}"] = _paid(crash.sandbox.clio.record_payment(bill["id"]))
    crash.sandbox.clio.trust_deposit(client, Decimal("60.00") + crash.days, description="Top-up")


NEXT_DAYS = (_new_work, _changes, _more_credits_and_costs)


# -- running the real command ----------------------------------------------------------------------

# The helper: imports the CLI once, then per request line forks a child that runs it and exits.
_FORKER = r"""
import json, os, sys
from ledgerlink.cli import main

for line in sys.stdin:
    order = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.environ.clear()
            os.environ.update(order["env"])
            for fd, path in ((1, order["stdout"]), (2, order["stderr"])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            sys.stdin = open(os.devnull)
            sys.argv = ["ledgerlink", *order["args"]]
            try:
                main(order["args"])
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except BaseException:
                import traceback
                traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps(os.waitstatus_to_exitcode(status)), flush=True)
"""


@dataclass(frozen=True)
class Outcome:
    """How one command ended: its exit code (``KILLED`` when SIGKILL ended it) and what it printed."""

    code: int
    stdout: str
    stderr: str


class CommandForker:
    """Runs ``ledgerlink`` commands as real child processes forked from one warmed-up helper."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._runs = 0
        self._helper = subprocess.Popen(
            [sys.executable, "-c", _FORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "COLUMNS": "200"},
        )

    def run(self, config: Path, *args: str, env: Mapping[str, str] | None = None) -> Outcome:
        """``ledgerlink --config CONFIG ARGS`` in a fresh child; waits for it to end, however it ends."""
        self._runs += 1
        out, err = (self.workdir / f"run{self._runs}.{name}" for name in ("out", "err"))
        order = {
            "args": ["--config", str(config), *args],
            "env": {**os.environ, "COLUMNS": "200", **(env or {})},
            "stdout": str(out),
            "stderr": str(err),
        }
        stdin, stdout = self._pipes()
        stdin.write(json.dumps(order) + "\n")
        stdin.flush()
        answer = stdout.readline()
        if not answer:
            raise RuntimeError("the command helper died")
        return Outcome(int(json.loads(answer)), out.read_text(), err.read_text())

    def _pipes(self) -> tuple[IO[str], IO[str]]:
        assert self._helper.stdin is not None and self._helper.stdout is not None
        return self._helper.stdin, self._helper.stdout

    def close(self) -> None:
        stdin, _stdout = self._pipes()
        stdin.close()
        self._helper.wait(timeout=30)

    def __enter__(self) -> CommandForker:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def kill_point(where: str, nth: int) -> dict[str, str]:
    """The environment that kills a pass at its ``nth`` HTTP request (``where``: request or response)."""
    name = {"request": failpoints.HTTP_REQUEST, "response": failpoints.HTTP_RESPONSE}[where]
    return {failpoints.ENV: f"{name}:{nth}"}


def drop_after_commit(sandbox: Sandbox, path: str, times: int = 1) -> None:
    """The next ``times`` writes to ``path`` are applied, but their answers lost (a 502 instead)."""
    sandbox.state.faults.add(FaultRule(kind="drop_after_commit", method="POST", path=path, times=times))


def requests_seen(sandbox: Sandbox) -> int:
    return len(sandbox.state.request_log)


# -- the invariants --------------------------------------------------------------------------------


def broken_invariants(crash: CrashFirm) -> list[str]:
    """What breaks DESIGN.md invariants 1–3 in this firm now; empty when the books are right."""
    qbo = _QboBooks(crash.sandbox)
    problems: list[str] = []
    problems += _one_remote_record_each(crash, qbo)
    problems += _links_point_at_live_records(crash, qbo)
    problems += _amounts_tie_out(crash, qbo)
    problems += _hard_costs_once(crash)
    return problems


class _QboBooks:
    """The QBO company's records, read once, straight from the emulator."""

    def __init__(self, sandbox: Sandbox) -> None:
        entities = {*LINKED_ENTITIES.values(), "Account"}
        self.rows = {e: sandbox.qbo.records(REALM, e) for e in entities}

    def ids(self, entity: str) -> set[str]:
        return {str(r["Id"]) for r in self.rows[entity]}

    def marked(self, entity: str) -> list[dict[str, Any]]:
        """The records ledgerlink created (they carry its marker)."""
        return [r for r in self.rows[entity] if MARKER.search(str(r.get("PrivateNote") or ""))]

    def account(self, name: str) -> str:
        return next(str(a["Id"]) for a in self.rows["Account"] if a["Name"] == name)

    def customer_names(self) -> dict[str, str]:
        return {str(c["Id"]): str(c["DisplayName"]) for c in self.rows["Customer"]}


def _duplicates(values: Iterable[str]) -> dict[str, int]:
    return {value: count for value, count in Counter(values).items() if count > 1}


def _one_remote_record_each(crash: CrashFirm, qbo: _QboBooks) -> list[str]:
    problems = []
    names = sorted(c["DisplayName"] for c in qbo.rows["Customer"])
    if names != sorted(crash.clients):
        problems.append(f"QBO customers {names} are not one per Clio client {sorted(crash.clients)}")
    numbers = Counter(str(i.get("DocNumber")) for i in qbo.rows["Invoice"])
    wanted = Counter(str(b["number"]) for b in _revenue_bills(crash))
    if numbers != wanted:
        problems.append(f"QBO invoice numbers {dict(numbers)} are not one per Clio bill {dict(wanted)}")
    for entity in sorted(set(LINKED_ENTITIES.values()) - {"Customer"}):
        twice = _duplicates(MARKER.sub("", str(r["PrivateNote"])) for r in qbo.marked(entity))
        if twice:
            problems.append(f"{entity}: one Clio record written more than once: {twice}")
    return problems


def _links_point_at_live_records(crash: CrashFirm, qbo: _QboBooks) -> list[str]:
    problems = []
    linked: dict[str, set[str]] = defaultdict(set)
    for kind, links in _links(crash, [*LINKED_ENTITIES, HARD_COST_KIND]).items():
        entity = LINKED_ENTITIES.get(kind)
        live = qbo.ids(entity) if entity else {str(a["id"]) for a in crash.sandbox.clio.records("activity")}
        dead = {source: target for source, target in links.items() if target not in live}
        if dead:
            problems.append(f"{kind} links to records that do not exist: {dead}")
        if entity:
            linked[entity] |= set(links.values())
    for entity in sorted(set(LINKED_ENTITIES.values())):
        mine = {str(r["Id"]) for r in (qbo.rows[entity] if entity == "Customer" else qbo.marked(entity))}
        orphans = mine - linked[entity]
        if orphans:
            problems.append(f"{entity}: records ledgerlink wrote that no link knows (duplicates): {orphans}")
    return problems


def _amounts_tie_out(crash: CrashFirm, qbo: _QboBooks) -> list[str]:
    problems = []
    invoices = {str(i.get("DocNumber")): i for i in qbo.rows["Invoice"]}
    owed: dict[str, Decimal] = defaultdict(Decimal)
    for bill in _revenue_bills(crash):
        owed[crash.names[int(bill["client"])]] += money(bill["balance"])
        invoice = invoices.get(str(bill["number"]))
        if invoice is not None and money(invoice["TotalAmt"]) != money(bill["total"]):
            problems.append(
                f"invoice {bill['number']}: QBO total {invoice['TotalAmt']} ≠ Clio {bill['total']}"
            )
    customers = qbo.customer_names()
    receivable: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in qbo.rows["Invoice"]:
        receivable[customers[str(invoice["CustomerRef"]["value"])]] += money(invoice["Balance"])
    if _nonzero(receivable) != _nonzero(owed):
        problems.append(f"receivables: QBO {_nonzero(receivable)} ≠ Clio {_nonzero(owed)}")
    trust_clio = _nonzero(_clio_trust(crash))
    trust_qbo = _nonzero(_qbo_trust(qbo))
    if trust_clio != trust_qbo:
        problems.append(f"trust per client: QBO {trust_qbo} ≠ Clio {trust_clio}")
    return problems


def _hard_costs_once(crash: CrashFirm) -> list[str]:
    clio = crash.sandbox.clio
    entries = [a for a in clio.records("activity") if a["type"] == "HardCostEntry"]
    found = Counter((str(e.get("reference")), int(e["matter"]), money(e["total"])) for e in entries)
    wanted = Counter(crash.hard_costs)
    problems = []
    if found != wanted:
        problems.append(
            f"hard-cost entries in Clio {dict(found)} ≠ one per QBO cheque and matter {dict(wanted)}"
        )
    vendors = [c for c in clio.records("contact") if c.get("name") == VENDOR]
    if len(vendors) > 1:
        problems.append(f"the vendor {VENDOR} is in Clio {len(vendors)} times")
    return problems


def _revenue_bills(crash: CrashFirm) -> list[dict[str, Any]]:
    """The Clio bills that become invoices (trust requests do not)."""
    return [
        b
        for b in crash.sandbox.clio.records("bill")
        if b["kind"] != TRUST_REQUEST and b.get("state") != "void"
    ]


def _clio_trust(crash: CrashFirm) -> dict[str, Decimal]:
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for txn in crash.sandbox.clio.records("bank_transaction"):
        if txn.get("client"):
            balances[crash.names[int(txn["client"])]] += money(txn["amount"])
    return balances


def _qbo_trust(qbo: _QboBooks) -> dict[str, Decimal]:
    """Per-customer balance of the trust liability account: journal lines and cheques on it."""
    liability = qbo.account(TRUST_LIABILITY)
    customers = qbo.customer_names()
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for entry in qbo.rows["JournalEntry"]:
        for line in entry["Line"]:
            detail = line["JournalEntryLineDetail"]
            if detail["AccountRef"]["value"] == liability:
                customer = customers.get(str(detail.get("Entity", {}).get("EntityRef", {}).get("value")), "?")
                sign = 1 if detail["PostingType"] == "Credit" else -1
                balances[customer] += sign * money(line["Amount"])
    for cheque in qbo.rows["Purchase"]:
        for line in cheque["Line"]:
            detail = line.get("AccountBasedExpenseLineDetail", {})
            if detail.get("AccountRef", {}).get("value") == liability:
                customer = customers.get(str(detail.get("CustomerRef", {}).get("value")), "?")
                balances[customer] -= money(line["Amount"])
    return balances


def _nonzero(amounts: Mapping[str, Decimal]) -> dict[str, Decimal]:
    return {k: v for k, v in sorted(amounts.items()) if v}


def _links(crash: CrashFirm, kinds: Sequence[str]) -> dict[str, dict[str, str]]:
    """Every link of ``kinds`` in the store (all connections), as source id -> target id."""
    with crash.firm.workspace() as workspace:
        store = workspace.store
        found: dict[str, dict[str, str]] = defaultdict(dict)
        for connection in store.connections():
            for kind in kinds:
                found[kind].update(
                    {s: link.target_id for s, link in store.links(connection.id, kind).items()}
                )
        return dict(found)


def open_intents(crash: CrashFirm) -> list[str]:
    """Intents no pass has settled yet, as "kind/source (state)"."""
    with crash.firm.workspace() as workspace:
        store = workspace.store
        return [
            f"{i.kind}/{i.source_id} ({i.state})"
            for c in store.connections()
            for i in store.open_intents(c.id)
        ]
