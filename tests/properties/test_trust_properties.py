"""Trust properties: whatever Clio's trust ledger goes through, the ledger ties out and never goes negative.

Random valid histories of one trust account (deposits, disbursements within the client's funds,
cheques to clients and vendors, transfers between clients, trust-request and bill payments, bank
interest and charges, back-dated entries before the start date, edits, deletions, refunds and
reassignments) are planned pass after pass (opening balances on) and applied to an in-memory ledger
(a dict of postings). Each round: new transactions, a pass in which some clients fail; changes, a
pass in which those clients still fail and some cheque vendors are missing; a clean pass; one more.

- after any pass, no client's end-of-day balance in the ledger is below zero (the guard);
- after the clean pass, every client's ledger balance equals Clio's and the three-way check is clean;
- the pass after that plans no writes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerlink.domain import TrustAccount, TrustKind, TrustTransaction
from ledgerlink.reports.trust import three_way
from ledgerlink.sync.flows.trust import (
    CHEQUE_KIND,
    KIND,
    TrustSetup,
    TrustWorld,
    plan_trust,
    plan_trust_waves,
    snapshot,
    wanted_clients,
)
from ledgerlink.sync.plan import WRITES, Action, Op
from ledgerlink.sync.ports import TrustBooks, TrustChequeDraft
from tests.factories import FakeLink

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
CLIENTS = ("1", "2", "3", "4")
FIRST_DAY = date(2026, 2, 20)
SETUP = TrustSetup(
    account=TrustAccount("7", "IOLTA Trust Account", ZERO),
    bank_account="Client Trust Account",
    liability_account="Client Trust Liability",
    start_date=date(2026, 3, 1),
    include_disbursements=True,
    include_trust_payments=True,
    opening_balances=True,
    cheque_marker="QBO CHECK",
)
VENDORS = {"county court": "V1", "land registry": "V2", "expert witness": "V3"}
VENDOR_NAMES = ("County Court", "Land Registry", "Expert Witness")
ADDS = ("deposit", "request_payment", "interest", "charge", "transfer", "bill_payment", "disbursement")
ADDS += ("cheque", "vendor_cheque", "vendor_cheque", "deposit")  # type: ignore[assignment]
# "refund" lowers a money-out and "reassign" gives it to another client; both then spend the money
# that frees in Clio. When the ledger cannot follow (the cheque's vendor is missing, the new client
# failed), it still holds the old money-out: what the guard has to catch.
CHANGES = ("edit", "delete", "refund", "reassign", "refund")


def end_of_day(entries: Iterable[tuple[date, Decimal]]) -> list[tuple[date, Decimal]]:
    days: dict[date, Decimal] = {}
    for day, amount in entries:
        days[day] = days.get(day, ZERO) + amount
    balance, out = ZERO, []
    for day in sorted(days):
        balance += days[day]
        out.append((day, balance))
    return out


@dataclass
class Clio:
    """A trust account's ledger that stays valid: no client's end-of-day balance below zero."""

    transactions: dict[str, TrustTransaction] = field(default_factory=dict)
    next_id: int = 100

    def _entries(self, txns: Iterable[TrustTransaction], client: str) -> list[tuple[date, Decimal]]:
        return [(t.date, t.signed) for t in txns if t.client_id == client]

    def valid(self, txns: Iterable[TrustTransaction]) -> bool:
        txns = list(txns)
        clients = {t.client_id for t in txns if t.client_id}
        return all(b >= 0 for c in clients for _, b in end_of_day(self._entries(txns, c)))

    def room(self, client: str, day: date) -> Decimal:
        """The most the client can pay out on ``day`` without any later day going below zero."""
        entries = self._entries(self.transactions.values(), client)
        then = sum((a for d, a in entries if d <= day), ZERO)
        later = [b for d, b in end_of_day(entries) if d > day]
        return min([then, *later])

    def add(
        self,
        kind: TrustKind,
        client: str | None,
        day: date,
        amount: Decimal,
        reference: str | None = None,
        description: str | None = None,
    ) -> None:
        self.next_id += 1
        sid = str(self.next_id)
        txn = TrustTransaction(
            sid,
            "7",
            kind,
            day,
            amount,
            client,
            f"Client {client}",
            reference=reference,
            description=description,
        )
        if amount > 0 and self.valid([*self.transactions.values(), txn]):
            self.transactions[sid] = txn

    def change(self, sid: str, new: TrustTransaction | None) -> None:
        others = [t for s, t in self.transactions.items() if s != sid]
        if self.valid(others if new is None else [*others, new]):
            if new is None:
                del self.transactions[sid]
            else:
                self.transactions[sid] = new

    def apply(self, op: tuple[str, int, int, int, int, int, int]) -> None:
        name, who, other, offset, cents, percent, pick = op
        client, day = CLIENTS[who], FIRST_DAY + timedelta(days=offset)
        amount = (Decimal(cents) / 100).quantize(CENT)
        if name in ("edit", "delete", "refund", "reassign"):
            self.change_one(name, pick, amount, percent, CLIENTS[other])
        elif name in ("deposit", "request_payment"):
            self.add(TrustKind(name), client, day, amount)
        elif name == "interest":
            self.add(TrustKind.DEPOSIT, None, day, (Decimal(cents % 1000 + 1) / 100).quantize(CENT))
        elif name == "charge":
            self.add(TrustKind.DISBURSEMENT, None, day, Decimal("0.25"))
        else:
            self.pay_out(name, client, day, percent, CLIENTS[other])

    def pay_out(self, name: str, client: str, day: date, percent: int, other: str = "") -> None:
        share = (self.room(client, day) * percent / 100).quantize(CENT, ROUND_DOWN)
        if name == "transfer" and other != client:
            self.add(TrustKind.TRANSFER_OUT, client, day, share)
            self.add(TrustKind.TRANSFER_IN, other, day, share)
        elif name == "bill_payment":
            self.add(TrustKind.BILL_PAYMENT, client, day, share)
        elif name == "cheque":
            self.add(TrustKind.DISBURSEMENT, client, day, share, reference="QBO CHECK 1001")
        elif name == "vendor_cheque":
            pay_to = f"Pay to: {VENDOR_NAMES[day.toordinal() % len(VENDOR_NAMES)]}"
            self.add(TrustKind.DISBURSEMENT, client, day, share, reference="QBO CHECK", description=pay_to)
        elif name == "disbursement":
            self.add(TrustKind.DISBURSEMENT, client, day, share)

    def change_one(self, name: str, pick: int, amount: Decimal, percent: int, other: str) -> None:
        """Edit, delete, refund (lower a money-out) or reassign (to another client) one transaction."""
        if name in ("edit", "delete"):
            candidates = list(self.transactions)
        else:
            paid_out = [
                sid
                for sid, t in self.transactions.items()
                if t.client_id and t.kind in (TrustKind.DISBURSEMENT, TrustKind.BILL_PAYMENT)
            ]
            to_vendors = [sid for sid in paid_out if self.transactions[sid].description]
            candidates = (to_vendors if name == "refund" else []) or paid_out
        if not candidates:
            return
        sid = candidates[pick % len(candidates)]
        txn = self.transactions[sid]
        client = txn.client_id
        if name == "delete":
            self.change(sid, None)
        elif name == "edit" and txn.kind.money_in:
            self.change(sid, replace(txn, amount=amount))
        elif client is None or txn.kind.money_in or txn.kind is TrustKind.TRANSFER_OUT:
            return
        elif name == "reassign":
            self.change(sid, replace(txn, client_id=other, client_name=f"Client {other}"))
        else:
            lower = (txn.amount * percent / 100).quantize(CENT, ROUND_DOWN)
            self.change(sid, replace(txn, amount=lower) if lower > 0 else None)
        if name in ("refund", "reassign") and client is not None:  # spend what it freed
            self.pay_out("disbursement", client, txn.date, 100)

    def balances(self) -> dict[str | None, Decimal]:
        out: dict[str | None, Decimal] = {}
        for txn in self.transactions.values():
            out[txn.client_id] = out.get(txn.client_id, ZERO) + txn.signed
        return {c: b for c, b in out.items() if b != 0}


@dataclass
class Ledger:
    """The books as the plan's writes leave them: one posting per link."""

    postings: dict[str, tuple[str | None, date, Decimal]] = field(default_factory=dict)
    links: dict[str, dict[str, FakeLink]] = field(default_factory=lambda: {KIND: {}, CHEQUE_KIND: {}})
    contacts: dict[str, FakeLink] = field(default_factory=dict)
    next_id: int = 0

    def apply(self, actions: Sequence[Action]) -> None:
        for action in actions:
            links = self.links[action.kind]
            if action.op is Op.CREATE:
                self.next_id += 1
                self._write(action, links, f"J{self.next_id}")
            elif action.op is Op.UPDATE:
                assert action.target_id == links[action.source_id].target_id
                self._write(action, links, action.target_id)
            elif action.op is Op.DELETE:
                del self.postings[links.pop(action.source_id).target_id]
            else:
                assert action.op not in WRITES, action

    def _write(self, action: Action, links: dict[str, FakeLink], target: str) -> None:
        draft = action.payload
        txn = draft.transaction
        client = draft.customer_id[1:] if draft.customer_id else None
        assert client == txn.client_id
        if isinstance(draft, TrustChequeDraft):
            payees = {(v, "Vendor") for v in VENDORS.values()} | {(f"C{client}", "Customer")}
            assert (draft.payee_id, draft.payee_type) in payees
        self.postings[target] = (client, txn.date, txn.signed)
        links[action.source_id] = FakeLink(target, action.content_hash or "", "0", snapshot(draft))

    def balances(self) -> dict[str | None, Decimal]:
        out: dict[str | None, Decimal] = {}
        for client, _, amount in self.postings.values():
            out[client] = out.get(client, ZERO) + amount
        return {c: b for c, b in out.items() if b != 0}

    def lowest(self) -> Decimal:
        """The lowest end-of-day balance of any client in the books."""
        clients = {c for c, _, _ in self.postings.values() if c}
        days = [
            b for c in clients for _, b in end_of_day((d, a) for k, d, a in self.postings.values() if k == c)
        ]
        return min(days, default=ZERO)

    def books(self) -> TrustBooks:
        total = sum((a for _, _, a in self.postings.values()), ZERO)
        by_customer = {f"C{c}" if c else "": b for c, b in self.balances().items()}
        return TrustBooks(total, total, by_customer)


def run_pass(
    clio: Clio,
    ledger: Ledger,
    failing: Iterable[str] = (),
    vendors: Mapping[str, str] = VENDORS,
    refused: Collection[int] = (),
) -> list[Action]:
    """One pass as the engine runs it: the clients it needs reach the ledger first (unless failing),
    then the plan in two waves. First-wave writes whose id hashes into ``refused`` fail (the ledger
    refused them); the second wave is then planned again knowing it."""
    transactions = list(clio.transactions.values())
    failing = set(failing)
    for client in wanted_clients(SETUP, transactions) - failing:
        ledger.contacts.setdefault(client, FakeLink(f"C{client}"))

    def world(unwritten: Mapping[str, str]) -> TrustWorld:
        return TrustWorld(
            links=dict(ledger.links[KIND]),
            cheque_links=dict(ledger.links[CHEQUE_KIND]),
            contact_links=dict(ledger.contacts),
            failed_contacts={c: f"Contact Client {c}" for c in failing if c not in ledger.contacts},
            vendors=vendors,
            unwritten=unwritten,
        )

    first, later = plan_trust_waves(SETUP, transactions, world({}))
    lost = {
        a.source_id: a.label for a in first if a.op in WRITES and sum(map(ord, a.source_id)) % 5 in refused
    }
    ledger.apply([a for a in first if a.source_id not in lost])
    if lost:
        again = {a.source_id: a for a in plan_trust(SETUP, transactions, world(lost))}
        later = [again[a.source_id] for a in later]
    ledger.apply(later)
    return first + later


ClioOp = tuple[str, int, int, int, int, int, int]


def op(names: Sequence[str]) -> st.SearchStrategy[ClioOp]:
    return st.tuples(
        st.sampled_from(names),
        st.integers(0, len(CLIENTS) - 1),  # client
        st.integers(0, len(CLIENTS) - 1),  # the other client of a transfer
        st.integers(0, 30),  # day (the start date is day 9)
        st.integers(1, 100_000),  # cents of money in
        st.integers(1, 100),  # percent of what may go out
        st.integers(0, 1_000),  # which transaction to change
    )


# A round: additions, changes, the clients that fail, the vendors the ledger has for the second pass,
# and which writes the ledger refuses in both.
round_ = st.tuples(
    st.lists(op(ADDS), max_size=12),
    st.lists(op(CHANGES), max_size=6),
    st.sets(st.sampled_from(CLIENTS)),
    st.sets(st.sampled_from(list(VENDORS))),
    st.sets(st.integers(0, 4), max_size=2),  # which first-wave writes the ledger refuses (by id hash)
)


def assert_ties_out(clio: Clio, ledger: Ledger) -> None:
    assert ledger.balances() == clio.balances()
    total = sum(clio.balances().values(), ZERO)
    check = three_way(
        replace(SETUP.account, balance=total),
        list(clio.transactions.values()),
        ledger.books(),
        {link.target_id: client for client, link in ledger.contacts.items()},
        {},
        date(2026, 12, 31),
        date(2026, 12, 31),
        "QuickBooks Online",
    )
    assert check.clean, check.problems


@settings(max_examples=150, deadline=None)
@given(st.lists(round_, min_size=1, max_size=4))
def test_trust_postings_tie_out_and_never_overdraw_a_client(
    rounds: list[tuple[list[ClioOp], list[ClioOp], set[str], set[str], set[int]]],
) -> None:
    clio, ledger = Clio(), Ledger()
    for adds, changes, failing, vendors, refused in rounds:
        for operation in adds:
            clio.apply(operation)
        run_pass(clio, ledger, failing, refused=refused)
        assert ledger.lowest() >= 0, ledger.postings
        for operation in changes:
            clio.apply(operation)
        run_pass(clio, ledger, failing, {v: VENDORS[v] for v in vendors}, refused)
        assert ledger.lowest() >= 0, ledger.postings
        run_pass(clio, ledger)
        assert ledger.lowest() >= 0
        assert_ties_out(clio, ledger)
        again = run_pass(clio, ledger)
        assert [a for a in again if a.op in WRITES] == []
