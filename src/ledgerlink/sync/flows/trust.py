"""Trust flow: Clio trust transactions become ledger postings, one way (seed 000 "Setting up the Trust Sync").

Each transaction of a configured Clio trust account, dated on or after the account's start date,
becomes a journal entry between the trust bank and trust liability accounts (kind ``trust_posting``)
— or, for a disbursement whose reference starts with the cheque marker, a cheque to print (kind
``trust_cheque``, seed 000 "Check Printing"). The liability side names the client, so the ledger
holds a trust balance per client; the memo names the Clio transaction, client and matter.

Clio owns trust records: an edit in Clio updates the posting, an edit in the ledger is overwritten,
a posting deleted in the ledger is posted again, a transaction deleted in Clio is removed from the
ledger. A transaction that falls out of scope (a toggle turned off, the start date moved) is left
in the ledger as it is: posted money stays.

The guard (DESIGN invariant 6): :func:`plan_trust` walks each client's postings in date order as
the ledger will hold them after this pass, and refuses every write that would take a client's
ledger balance below zero — a disbursement posted while the deposit that funds it is still waiting,
an edit lowering a deposit, a deletion — with an error naming what is not posted yet. The refusal
is retried on every pass and clears once the money is in.

The guard counts on this pass's writes. So a write that fails at the ledger cannot leave a client
overdrawn, :func:`plan_trust_waves` splits the plan: writes that take money out go second, and are
planned again (``TrustWorld.unwritten``) when a write of the first wave failed.

Assumptions:

- Balances are checked at the end of each day: the ledger orders a day's postings by its own
  rules, not by Clio's, so a deposit and a disbursement of one day count together.
- Money of the firm's own (no client: bank interest, a bank charge) is posted without a customer
  and not guarded: it is no client's balance.
- The opening balance of a client (``opening_balances``) covers the pre-start transactions that are
  not themselves linked to a posting: a start date moved later leaves the postings already made,
  so they are not counted twice. An opening entry stays in the ledger when opening balances are
  turned off, and is removed when the client's pre-start balance becomes zero.
- The opening entry is guarded like any posting: a client whose Clio balance before the start date
  is negative gets an error, not a negative balance in the ledger.
- A linked transaction whose amount becomes 0.00 in Clio is removed from the ledger, like a
  deletion; one that was never linked produces nothing.
- A marker that is empty (after trimming spaces) makes no disbursement a cheque.
- ``blocked_by`` is ``contact <id>`` as in the other flows (the engine reads it back as "noun id");
  the contact's label is in the message.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from ledgerlink.domain import TrustAccount, TrustKind, TrustTransaction
from ledgerlink.errors import RecordError
from ledgerlink.sync.flows.payments import linked_action
from ledgerlink.sync.plan import WRITES, Action, Op, content_hash
from ledgerlink.sync.ports import LinkView, TrustChequeDraft, TrustPostingDraft, Written, fold

KIND = "trust_posting"  # journal entries
CHEQUE_KIND = "trust_cheque"  # cheques to print
KINDS = (KIND, CHEQUE_KIND)
OPENING = "opening"  # source ids of opening balances: f"opening:{account_id}:{client_id}"
FIRM = "firm"  # the opening entry of the firm's own money: f"opening:{account_id}:firm"
OPENING_DESCRIPTION = "Opening trust balance brought forward from Clio"
PAY_TO = "pay to:"
MAX_MEMO = 4000  # QBO PrivateNote; the ledger cuts it further to append its marker
ZERO = Decimal("0.00")
_WORDS = {
    TrustKind.DEPOSIT: "deposit",
    TrustKind.DISBURSEMENT: "disbursement",
    TrustKind.TRANSFER_IN: "transfer in",
    TrustKind.TRANSFER_OUT: "transfer out",
    TrustKind.REQUEST_PAYMENT: "request payment",
    TrustKind.BILL_PAYMENT: "bill payment",
}


@dataclass(frozen=True)
class Cheque:
    """A disbursement to print as a cheque; ``payee`` is a ledger vendor's name, ``None`` the client."""

    payee: str | None


@dataclass(frozen=True)
class TrustSetup:
    """One configured trust account, resolved by the engine."""

    account: TrustAccount
    bank_account: str  # ledger account names
    liability_account: str
    start_date: date
    include_disbursements: bool
    include_trust_payments: bool
    opening_balances: bool
    cheque_marker: str


@dataclass(frozen=True, kw_only=True)
class TrustWorld:
    """What planning a trust account needs besides its transactions."""

    links: Mapping[str, LinkView]  # trust_posting links (any account)
    cheque_links: Mapping[str, LinkView]  # trust_cheque links
    contact_links: Mapping[str, LinkView]  # Clio contact id -> ledger customer
    failed_contacts: Mapping[str, str] = field(default_factory=dict)  # contact id -> label, failed this pass
    vendors: Mapping[str, str] = field(default_factory=dict)  # folded vendor name -> ledger id
    versions: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)  # LedgerChanges.versions
    landed: Mapping[str, Written] = field(default_factory=dict)  # source id -> what an unfinished create made
    # Source id -> label of trust writes that failed earlier in this pass (see plan_trust_waves).
    unwritten: Mapping[str, str] = field(default_factory=dict)
    ledger_title: str = "QuickBooks Online"


# -- what a transaction is ------------------------------------------------------------------------


def cheque_of(txn: TrustTransaction, marker: str) -> Cheque | None:
    """The cheque a disbursement asks for (reference starting with the marker), or None."""
    wanted = marker.strip().casefold()
    reference = (txn.reference or "").strip().casefold()
    if txn.kind is not TrustKind.DISBURSEMENT or not wanted or not reference.startswith(wanted):
        return None
    first = (txn.description or "").strip().split("\n", 1)[0].strip()
    if first.casefold().startswith(PAY_TO):
        return Cheque(first[len(PAY_TO) :].strip() or None)
    return Cheque(None)


def in_scope(setup: TrustSetup, txn: TrustTransaction) -> bool:
    """Whether the account's settings post this transaction (date and the two toggles of seed 000)."""
    if txn.date < setup.start_date:
        return False
    if txn.kind is TrustKind.DISBURSEMENT:
        return setup.include_disbursements
    if txn.kind in (TrustKind.REQUEST_PAYMENT, TrustKind.BILL_PAYMENT):
        return setup.include_trust_payments
    return True


def _excluded_by_toggle(setup: TrustSetup, txn: TrustTransaction) -> bool:
    return txn.date >= setup.start_date and not in_scope(setup, txn)


def opening_id(account_id: str, client_id: str | None) -> str:
    """The source id of a client's opening entry (``firm`` for the firm's own money)."""
    return f"{OPENING}:{account_id}:{client_id or FIRM}"


def _is_opening(source_id: str, account_id: str) -> bool:
    return source_id.startswith(f"{OPENING}:{account_id}:")


def openings(
    setup: TrustSetup, transactions: Sequence[TrustTransaction], linked: Iterable[str] = ()
) -> list[TrustTransaction]:
    """Each client's balance from before the start date, as one synthetic transaction (non-zero only).

    The firm's own money (no client) gets one too, so the trust bank account ties out with Clio's.
    Transactions in ``linked`` are already posted on their own and left out.
    """
    posted = set(linked)
    totals: dict[str | None, Decimal] = {}
    names: dict[str, str] = {}
    for txn in transactions:
        if txn.date >= setup.start_date or txn.source_id in posted:
            continue
        totals[txn.client_id] = totals.get(txn.client_id, ZERO) + txn.signed
        if txn.client_id and txn.client_name:
            names[txn.client_id] = txn.client_name
    account = setup.account.source_id
    return [
        TrustTransaction(
            source_id=opening_id(account, client),
            account_id=account,
            kind=TrustKind.DEPOSIT if total > 0 else TrustKind.DISBURSEMENT,
            date=setup.start_date - timedelta(days=1),
            amount=abs(total),
            client_id=client,
            client_name=names.get(client) if client else None,
            description=OPENING_DESCRIPTION,
        )
        for client, total in totals.items()
        if total != 0
    ]


def wanted_clients(setup: TrustSetup, transactions: Sequence[TrustTransaction]) -> set[str]:
    """The Clio contacts this account's postings need as ledger customers."""
    clients = {t.client_id for t in transactions if in_scope(setup, t) and t.amount != 0 and t.client_id}
    if setup.opening_balances:
        clients |= {t.client_id for t in openings(setup, transactions) if t.client_id}
    return clients


def _client(txn: TrustTransaction) -> str:
    if txn.client_id is None:
        return "no client"
    return txn.client_name or f"Clio contact {txn.client_id}"


def trust_label(txn: TrustTransaction, cheque: bool = False) -> str:
    """How a bookkeeper recognises the transaction: "Trust deposit 5012 (Dana Whitfield, 500.00)"."""
    if txn.description == OPENING_DESCRIPTION and _is_any_opening(txn.source_id):
        return f"Opening trust balance ({_client(txn)}, {_shown(txn.signed)})"
    noun = "cheque" if cheque else _WORDS[txn.kind]
    return f"Trust {noun} {txn.source_id} ({_client(txn)}, {txn.amount})"


def trust_memo(txn: TrustTransaction) -> str:
    """The searchable memo: Clio id and kind, client, matter, reference, description."""
    parts = [f"Clio trust {_WORDS[txn.kind]} {txn.source_id}", _client(txn)]
    parts += [p for p in (txn.matter, txn.reference, (txn.description or "").strip()) if p]
    return " · ".join(parts)[:MAX_MEMO]


def snapshot(draft: TrustPostingDraft | TrustChequeDraft) -> dict[str, Any]:
    """What a link remembers of a posting: enough to guard balances and word the next change."""
    txn = draft.transaction
    return {
        "account": txn.account_id,
        "client": txn.client_id,
        "amount": format(txn.signed, "f"),
        "kind": txn.kind.value,
        "date": txn.date.isoformat(),
    }


def posting_hash(draft: TrustPostingDraft | TrustChequeDraft) -> str:
    """Hash of what the ledger shows of a posting (not Clio's timestamps)."""
    txn = draft.transaction
    fields: dict[str, Any] = {
        "date": txn.date,
        "amount": txn.signed,
        "bank": draft.bank_account,
        "liability": draft.liability_account,
        "customer": draft.customer_id,
        "memo": draft.memo,
    }
    if isinstance(draft, TrustChequeDraft):
        fields |= {"payee": draft.payee_id, "payee_type": draft.payee_type}
    return content_hash(fields)


# -- planning --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    """What one posting adds to one client's ledger balance, on a day."""

    client: str
    day: date
    amount: Decimal  # signed


@dataclass
class _Item:
    """One planned action with what the ledger holds of it, written (``want``) or not (``keep``)."""

    action: Action
    want: _Entry | None
    keep: _Entry | None
    choice: str = "want"  # "want" | "keep" | "open" (a write the guard has to decide)
    lowering: bool = False  # a write that takes money from a client's ledger balance (the second wave)
    settled: bool = False  # its write already failed in this pass: counted as not posted, not planned again

    @property
    def entry(self) -> _Entry | None:
        return self.want if self.choice == "want" else self.keep


def plan_trust(
    setup: TrustSetup, transactions: Sequence[TrustTransaction], world: TrustWorld
) -> list[Action]:
    """Decide, for every transaction of one trust account (its whole Clio ledger), what the ledger gets."""
    return [item.action for item in _plan_items(setup, transactions, world) if not item.settled]


def plan_trust_waves(
    setup: TrustSetup, transactions: Sequence[TrustTransaction], world: TrustWorld
) -> tuple[list[Action], list[Action]]:
    """The plan in two waves, so a write that fails cannot leave a client overdrawn in the ledger.

    The first wave holds every action but the writes that take money from a client's ledger balance
    (disbursements, lowered deposits, deletions); the guard allowed those counting on the first
    wave's writes. Apply the first wave; if any of its writes failed, plan again with fresh links and
    ``world.unwritten`` naming them, and apply that plan's actions for the second wave's records.
    """
    first: list[Action] = []
    later: list[Action] = []
    for item in _plan_items(setup, transactions, world):
        if not item.settled:
            (later if item.lowering and item.action.op in WRITES else first).append(item.action)
    return first, later


def _plan_items(
    setup: TrustSetup, transactions: Sequence[TrustTransaction], world: TrustWorld
) -> list[_Item]:
    account = setup.account.source_id
    ordered = sorted(transactions, key=lambda t: t.date)  # stable: Clio's order within a day
    ids = {t.source_id for t in ordered}
    postings = _ours(world.links, account, ids)
    cheques = _ours(world.cheque_links, account, ids)
    linked = set(postings) | set(cheques)
    planner = _Planner(setup, world, postings, cheques)
    items: list[_Item] = []
    if setup.opening_balances:
        items += [planner.plan(opening) for opening in openings(setup, ordered, linked)]
    bank_feed: list[_Entry] = []  # kinds a toggle leaves to the firm's bank feed: counted, never written
    for txn in ordered:
        if txn.source_id in linked or (in_scope(setup, txn) and txn.amount):
            items.append(planner.plan(txn))
        elif _excluded_by_toggle(setup, txn) and txn.client_id:
            bank_feed.append(_Entry(txn.client_id, txn.date, txn.signed))
    planned = {item.action.source_id for item in items}
    items += [planner.gone(source_id) for source_id in sorted(linked - planned)]
    for item in items:
        if item.action.source_id in world.unwritten:
            item.choice, item.settled = "keep", True
    base: dict[str, Decimal] = {}
    if not setup.opening_balances:
        for txn in ordered:  # the books are assumed to hold each client's history before the start
            if txn.date < setup.start_date and txn.client_id:
                base[txn.client_id] = base.get(txn.client_id, ZERO) + txn.signed
    names = {t.client_id: _client(t) for t in ordered if t.client_id}
    _guard(items, bank_feed, base, names, world.ledger_title)
    return items


def _ours(links: Mapping[str, LinkView], account: str, ids: set[str]) -> dict[str, LinkView]:
    """Links of this account: its transactions', its opening entries', or remembered as of it."""
    return {
        source_id: link
        for source_id, link in links.items()
        if source_id in ids
        or _is_opening(source_id, account)
        or (link.snapshot is not None and link.snapshot.get("account") == account)
    }


def _remembered(link: LinkView | None, versions: Mapping[str, str | None]) -> _Entry | None:
    """What the ledger holds of a linked posting now, from the link's snapshot."""
    if link is None or not link.snapshot or versions.get(link.target_id, "") is None:
        return None
    snap = link.snapshot
    if not snap.get("client") or snap.get("amount") is None or not snap.get("date"):
        return None
    return _Entry(str(snap["client"]), date.fromisoformat(str(snap["date"])), Decimal(str(snap["amount"])))


_GUARDED = frozenset({Op.CREATE, Op.UPDATE, Op.DELETE})


class _Planner:
    """Plans one transaction at a time against the account's links."""

    def __init__(
        self,
        setup: TrustSetup,
        world: TrustWorld,
        postings: Mapping[str, LinkView],
        cheques: Mapping[str, LinkView],
    ) -> None:
        self.setup = setup
        self.world = world
        self.postings = postings
        self.cheques = cheques
        self.title = world.ledger_title

    def _link(self, source_id: str) -> tuple[str | None, LinkView | None]:
        if source_id in self.postings:
            return KIND, self.postings[source_id]
        if source_id in self.cheques:
            return CHEQUE_KIND, self.cheques[source_id]
        return None, None

    def _versions(self, kind: str) -> Mapping[str, str | None]:
        return self.world.versions.get(kind, {})

    def plan(self, txn: TrustTransaction) -> _Item:
        """The action for one transaction of the ledger (in scope, or linked)."""
        linked_kind, link = self._link(txn.source_id)
        cheque = cheque_of(txn, self.setup.cheque_marker)
        kind = CHEQUE_KIND if cheque else KIND
        label = trust_label(txn, cheque is not None)
        want = _Entry(txn.client_id, txn.date, txn.signed) if txn.client_id and txn.amount else None
        keep = _remembered(link, self._versions(linked_kind or kind))
        if linked_kind is not None and not in_scope(self.setup, txn) and not _is_any_opening(txn.source_id):
            reason = f"not synced any more ({self._why_out(txn)}); the posting in {self.title} stays"
            skip = Action(Op.SKIP, linked_kind, txn.source_id, label, reason, target_id=_target(link))
            if txn.date < self.setup.start_date and not self.setup.opening_balances:
                return _Item(skip, None, None)  # part of the history the books are assumed to hold
            return _Item(skip, want, keep, "keep")
        if txn.amount == 0:
            return self.gone(
                txn.source_id, label=label, why=f"amount is 0.00 in Clio; removed from {self.title}"
            )
        if linked_kind is not None and linked_kind != kind:
            message, remedy = self._switched(kind)
            error = RecordError(cause="cheque_changed", message=message, remedy=remedy, retryable=False)
            fail = Action(Op.FAIL, linked_kind, txn.source_id, label, error=error, target_id=_target(link))
            return _Item(fail, want, keep, "keep")
        draft = self._draft(txn, kind, cheque, label, link)
        if isinstance(draft, Action):
            return _Item(draft, want, keep, "keep")
        action = self._write(
            txn, kind, label, link, draft, noun="trust cheque" if cheque else "trust transaction"
        )
        return _Item(action, want, keep, "open" if action.op in _GUARDED else "want")

    def _draft(
        self, txn: TrustTransaction, kind: str, cheque: Cheque | None, label: str, link: LinkView | None
    ) -> TrustPostingDraft | TrustChequeDraft | Action:
        """What to write, or why it cannot be written (blocked on the client, no payee)."""
        customer = None
        if txn.client_id is not None:
            contact = self.world.contact_links.get(txn.client_id)
            if contact is None:
                return self._blocked(kind, txn, label)
            customer = contact.target_id
        memo = trust_memo(txn)
        bank, liability = self.setup.bank_account, self.setup.liability_account
        if cheque is None:
            return TrustPostingDraft(txn, bank, liability, customer, memo)
        payee = self._payee(cheque, customer)
        if isinstance(payee, RecordError):
            return Action(Op.FAIL, kind, txn.source_id, label, error=payee, target_id=_target(link))
        return TrustChequeDraft(txn, bank, liability, customer, payee[0], payee[1], memo)

    def _write(
        self,
        txn: TrustTransaction,
        kind: str,
        label: str,
        link: LinkView | None,
        draft: TrustPostingDraft | TrustChequeDraft,
        *,
        noun: str,
    ) -> Action:
        """Create, adopt what an interrupted pass left, or bring a linked posting to Clio's version."""
        digest = posting_hash(draft)
        source_id = txn.source_id
        if link is None:
            action = Action(
                Op.CREATE, kind, source_id, label, "recorded in Clio", payload=draft, content_hash=digest
            )
        else:
            versions = self._versions(kind)
            action = linked_action(
                kind, source_id, label, link, draft, digest, versions, ledger_title=self.title, noun=noun
            )
            if action.op is Op.UPDATE and action.notice is None:
                action = replace(action, notice=_change_notice(link, txn))
        landed = self.world.landed.get(source_id)
        if action.op is Op.CREATE and landed is not None:
            reason = f"posted in {self.title} by a pass that was cut off; linking it"
            action = replace(action, op=Op.LINK, target_id=landed.id, reason=reason)
        return action

    def gone(self, source_id: str, *, label: str | None = None, why: str | None = None) -> _Item:
        """A linked posting whose Clio transaction is gone (deleted, zero, or an opening no longer due)."""
        kind, link = self._link(source_id)
        if kind is None or link is None:
            raise KeyError(source_id)
        label = label or _remembered_label(kind, source_id, link)
        opening = _is_any_opening(source_id)
        if opening and not self.setup.opening_balances:
            # Part of the history the books are assumed to hold (see plan_trust's base): it stays.
            reason = f"opening balances are off (opening_balances = false); the entry in {self.title} stays"
            return _Item(
                Action(Op.SKIP, kind, source_id, label, reason, target_id=link.target_id), None, None
            )
        if self._versions(kind).get(link.target_id, "") is None:
            reason = f"gone from Clio; already deleted in {self.title}"
            return _Item(
                Action(Op.SKIP, kind, source_id, label, reason, target_id=link.target_id), None, None
            )
        if why is None and opening:
            why = f"the client's balance before the start date is 0.00 now; removed from {self.title}"
        why = why or f"deleted in Clio; removed from {self.title}"
        reason = why.split(";")[0]
        action = Action(Op.DELETE, kind, source_id, label, reason, target_id=link.target_id, notice=why)
        return _Item(action, None, _remembered(link, self._versions(kind)), "open")

    def _why_out(self, txn: TrustTransaction) -> str:
        if txn.date < self.setup.start_date:
            return f"dated before the start date {self.setup.start_date.isoformat()}"
        if txn.kind is TrustKind.DISBURSEMENT:
            return "disbursements are excluded (include_disbursements = false)"
        return "trust payments are excluded (include_trust_payments = false)"

    def _switched(self, kind: str) -> tuple[str, str]:
        was, now = ("a journal entry", "a cheque") if kind == CHEQUE_KIND else ("a cheque", "a journal entry")
        return (
            f"It was posted to {self.title} as {was} and Clio now asks for {now} (its reference changed); "
            "a posting does not change type.",
            f"Delete the transaction in Clio and enter it again with the reference you want (the posting in "
            f"{self.title} is removed and the new one posted), or restore its reference in Clio.",
        )

    def _blocked(self, kind: str, txn: TrustTransaction, label: str) -> Action:
        client = txn.client_id or ""
        failed = self.world.failed_contacts.get(client)
        if failed:
            message = f"Waiting for {failed}, which could not be synced."
        else:
            message = f"Waiting for the client ({_client(txn)}) to reach {self.title}."
        error = RecordError(
            cause="blocked",
            message=message,
            remedy="Fix the contact (see `ledgerlink errors`); this follows on the next pass.",
            blocked_by=f"contact {client}",
        )
        return Action(Op.BLOCKED, kind, txn.source_id, label, error=error)

    def _payee(self, cheque: Cheque, customer: str | None) -> tuple[str, str] | RecordError:
        if cheque.payee is not None:
            vendor = self.world.vendors.get(fold(cheque.payee))
            if vendor is not None:
                return vendor, "Vendor"
            return RecordError(
                cause="unknown_payee",
                message=f"The cheque is made out to “{cheque.payee}” (“Pay to:” in Clio), and "
                f"{self.title} has no active vendor of that name.",
                remedy=f"Create the vendor in {self.title} with exactly the name “{cheque.payee}”, or fix "
                "the “Pay to:” line of the transaction's description in Clio; then run sync again.",
            )
        if customer is not None:
            return customer, "Customer"
        return RecordError(
            cause="no_payee",
            message="The cheque has no payee: the transaction has no client and its description has no "
            "“Pay to: <vendor>” first line.",
            remedy="In Clio, put “Pay to: <vendor name>” as the first line of the description, or give the "
            "transaction a client; then run sync again.",
        )


def _target(link: LinkView | None) -> str | None:
    return link.target_id if link else None


def _is_any_opening(source_id: str) -> bool:
    return source_id.startswith(f"{OPENING}:")


def _remembered_label(kind: str, source_id: str, link: LinkView) -> str:
    snap = link.snapshot or {}
    amount = str(snap.get("amount", "")).lstrip("-")
    if _is_any_opening(source_id):
        return f"Opening trust balance ({amount})" if amount else "Opening trust balance"
    noun = "cheque" if kind == CHEQUE_KIND else _WORDS.get(_kind_of(snap.get("kind")), "transaction")
    return f"Trust {noun} {source_id}" + (f" ({amount})" if amount else "")


def _kind_of(value: object) -> TrustKind:
    try:
        return TrustKind(str(value))
    except ValueError:
        return TrustKind.DEPOSIT


def _shown(amount: Decimal) -> str:
    return f"−{-amount}" if amount < 0 else str(amount)


def _change_notice(link: LinkView, txn: TrustTransaction) -> str | None:
    """What changed in Clio, in words, from what the link remembers."""
    snap = link.snapshot
    if not snap:
        return None
    changes = []
    before = Decimal(str(snap.get("amount", txn.signed)))
    if before != txn.signed:
        same_way = (before < 0) == (txn.signed < 0)
        old, new = (abs(before), txn.amount) if same_way else (before, txn.signed)
        changes.append(f"amount changed in Clio: {_shown(old)} → {_shown(new)}")
    if str(snap.get("date", txn.date.isoformat())) != txn.date.isoformat():
        changes.append(f"date changed in Clio: {snap['date']} → {txn.date.isoformat()}")
    if snap.get("client", txn.client_id) != txn.client_id:
        changes.append(f"moved to {_client(txn)} in Clio")
    return "; ".join(changes) or None


# -- the guard ---------------------------------------------------------------------------------------


def _guard(
    items: Sequence[_Item],
    bank_feed: Sequence[_Entry],
    base: Mapping[str, Decimal],
    names: Mapping[str, str],
    title: str,
) -> None:
    """Refuse every write that would take a client's ledger balance below zero (turned into a FAIL).

    Writes that only raise balances are taken as written; the others are decided one by one in date
    order, each against the ledger as it will stand: decided items as decided, later ones unwritten.
    """
    for item in items:
        if item.choice == "open" and _only_raises(item.want, item.keep):
            item.choice = "want"
    touching: dict[str, list[_Item]] = {}
    for item in items:
        for client in {e.client for e in (item.want, item.keep) if e is not None}:
            touching.setdefault(client, []).append(item)
    fixed: dict[str, list[_Entry]] = {}
    for entry in bank_feed:
        fixed.setdefault(entry.client, []).append(entry)
    for item in sorted((i for i in items if i.choice == "open"), key=_first_day):
        item.lowering = True
        since = _first_day(item)
        for client in sorted({e.client for e in (item.want, item.keep) if e is not None}):
            start, others = base.get(client, ZERO), fixed.get(client, [])
            item.choice = "keep"
            before = _lowest(touching[client], others, start, client, since)
            item.choice = "want"
            lowest = _lowest(touching[client], others, start, client, since)
            if lowest is not None and lowest < 0 and (before is None or lowest < before):
                item.choice = "keep"
                item.action = _refused(item, client, lowest, touching[client], names, title)
                break


def _first_day(item: _Item) -> date:
    return min(e.day for e in (item.want, item.keep) if e is not None)


def _only_raises(want: _Entry | None, keep: _Entry | None) -> bool:
    """Whether writing ``want`` in place of ``keep`` raises (or keeps) every end-of-day balance."""
    if want is None and keep is None:
        return True
    if want is not None and keep is not None and want.client != keep.client:
        return False
    w = want.amount if want else ZERO
    k = keep.amount if keep else ZERO
    if want is None or keep is None:
        return w >= k
    return w >= k and (want.day >= keep.day or w >= 0) and (want.day <= keep.day or k <= 0)


def _lowest(
    items: Sequence[_Item], fixed: Sequence[_Entry], start: Decimal, client: str, since: date
) -> Decimal | None:
    """The lowest end-of-day balance of the client from ``since`` on, as the items now stand.

    Undecided items count as not written.
    """
    days: dict[date, Decimal] = {since: ZERO}  # a balance on the first day even when nothing is left
    for entry in [*(i.entry for i in items), *fixed]:
        if entry is not None and entry.client == client:
            days[entry.day] = days.get(entry.day, ZERO) + entry.amount
    balance, lowest = start, None
    for day in sorted(days):
        balance += days[day]
        if day >= since:
            lowest = balance if lowest is None else min(lowest, balance)
    return lowest


def _refused(
    item: _Item, client: str, lowest: Decimal, items: Sequence[_Item], names: Mapping[str, str], title: str
) -> Action:
    action = item.action
    name = names.get(client, f"Clio contact {client}")
    day = _first_day(item)
    waiting = [
        i.action.label
        for i in items
        if i is not item
        and i.choice == "keep"
        and i.want is not None
        and i.want.client == client
        and i.want.day <= day
        and i.want.amount > (i.keep.amount if i.keep and i.keep.client == client else ZERO)
    ]
    doing = {Op.UPDATE: "Not updated: the change", Op.DELETE: "Not removed: removing it"}.get(
        action.op, "Not posted: it"
    )
    message = f"{doing} would leave {name}'s trust balance in {title} at {_shown(lowest)}."
    if waiting:
        message += f" Earlier transactions of {name} not in {title} yet: {'; '.join(waiting[:5])}"
        message += f" and {len(waiting) - 5} more." if len(waiting) > 5 else "."
        remedy = "Fix those first (see `ledgerlink errors`); this one follows by itself once they are posted."
    else:
        remedy = (
            f"Check the dates and amounts of {name}'s trust transactions in Clio (a disbursement dated "
            "before the deposit that funds it, an edited or deleted deposit); this is retried on every pass."
        )
    error = RecordError(cause="trust_negative_balance", message=message, remedy=remedy, retryable=True)
    return Action(
        Op.FAIL, action.kind, action.source_id, action.label, error=error, target_id=action.target_id
    )
