"""Hard costs → Xero "Spend Money" (seed 004, "Syncing Hard Costs"): which Clio hard costs become SPEND
bank transactions, and what happens to them when they change in Clio.

Pure. Seed 004's rules: with "Sync Hard Costs" on, every Clio hard-cost entry dated on or after the
start date becomes a spend-money transaction from the mapped bank account to the mapped expense
account, with the vendor as its contact; the vendor is required on hard costs while the feature is
on; edits in Clio are reflected in Xero "unless the transaction has been reconciled in Xero".

One transaction per hard cost: its link (kind ``spend_money``) goes from the Clio activity id to the
BankTransactionID. The transaction's Reference ends with ``[Clio hard cost <id>]`` so the edge can
find a transaction whose answer a crash lost and adopt it instead of writing it twice.

Decisions taken here (the seed is silent):

- The start date gates creation only: a linked cost whose date is moved before it is still updated.
- A reconciled transaction is never rewritten or deleted (Xero refuses it, reference §2.6): the edit
  or deletion is a per-record error that is not retryable, reported once while it stays open.
- A linked transaction deleted (or voided) in Xero is not sent again when its cost changes in Clio:
  that is reported (not retryable) — the bookkeeper removed it on purpose. A cost deleted in Clio
  whose transaction is already gone in Xero only forgets its link.
- Xero's spend-money lines need an amount above zero (reference §2.6): a hard cost of zero or less
  is an error, not a RECEIVE.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledgerlink.errors import RecordError
from ledgerlink.sync.plan import Action, Op, content_hash
from ledgerlink.sync.ports import LinkView

KIND = "spend_money"  # store links: Clio activity id → Xero BankTransactionID
MARKER = "Clio hard cost"  # "[Clio hard cost 123]" ends every transaction's Reference
DESCRIPTION_MAX = 4000  # Xero line Description (reference §2.3)
LIVE = "AUTHORISED"  # the only status of a spend-money transaction ledgerlink may change

NO_VENDOR = "the vendor is required on hard costs while Sync Hard Costs is on"


@dataclass(frozen=True)
class Disbursement:
    """A Clio hard-cost entry as the spend-money sync reads it."""

    activity_id: str
    date: date
    amount: Decimal  # the entry's total: what was paid to the vendor
    note: str = ""
    reference: str | None = None  # Clio's check reference
    vendor_id: str | None = None
    vendor_name: str | None = None
    matter: str | None = None  # the matter's display number
    client: str | None = None  # the matter's client's name, when Clio gave it


@dataclass(frozen=True)
class SpendMoney:
    """The SPEND bank transaction a hard cost should be in Xero: the payload of a create or update."""

    activity_id: str
    date: date
    amount: Decimal
    vendor: str  # the Xero contact's name (the Clio vendor's)
    description: str
    reference: str  # ends with the marker
    bank_account: str  # Xero account code the money is spent from
    expense_account: str  # Xero account code the cost is posted to


@dataclass(frozen=True)
class SpendDeletion:
    """The payload of a delete: ``gone`` when Xero no longer holds it live (only the link goes)."""

    transaction_id: str
    gone: bool = False


@dataclass(frozen=True)
class RemoteSpend:
    """A linked transaction as Xero has it now (absent from ``SpendMoneyWorld.remote``: not in Xero)."""

    transaction_id: str
    status: str  # AUTHORISED | DELETED | VOIDED
    reconciled: bool = False


@dataclass(frozen=True)
class SpendMoneyWorld:
    start_date: date
    bank_account: str
    expense_account: str
    links: Mapping[str, LinkView]  # kind KIND, by Clio activity id
    remote: Mapping[str, RemoteSpend]  # the linked transactions looked at, by BankTransactionID


def marker(activity_id: str) -> str:
    return f"[{MARKER} {activity_id}]"


def label(cost: Disbursement) -> str:
    """How a bookkeeper recognises the cost: "Clio hard cost 41 (Metro Courier, 52.50, 00012-Whitfield)"."""
    parts = [p for p in ((cost.vendor_name or "").strip(), format(cost.amount, "f"), cost.matter) if p]
    return f"Clio hard cost {cost.activity_id} ({', '.join(parts)})"


def description(cost: Disbursement) -> str:
    """The line's text: the note, then the matter (and its client) it was spent for."""
    where = " ".join(p for p in (cost.matter, f"({cost.client})" if cost.client else None) if p)
    parts = [p for p in (cost.note.strip(), f"Matter {where}" if where else "") if p]
    text = " · ".join(parts) or f"Clio hard cost {cost.activity_id}"
    return text[:DESCRIPTION_MAX]


def reference(cost: Disbursement) -> str:
    own = (cost.reference or "").strip()
    return f"{own} {marker(cost.activity_id)}" if own else marker(cost.activity_id)


def spend_money(cost: Disbursement, world: SpendMoneyWorld) -> SpendMoney | RecordError:
    """The transaction a hard cost should be, or why it cannot be one."""
    vendor = (cost.vendor_name or "").strip()
    if not vendor:
        return RecordError(
            cause="no_vendor",
            message=f"{label(cost)}: {NO_VENDOR}.",
            remedy="Choose the vendor on the hard cost in Clio (the vendor becomes the Xero contact the "
            "money was spent with); the next pass sends it.",
        )
    if cost.amount <= 0:
        return RecordError(
            cause="amount_not_positive",
            message=f"{label(cost)}: Xero's Spend Money needs an amount above zero, the hard cost is "
            f"{format(cost.amount, 'f')}.",
            remedy="Correct the amount in Clio (record a refund from the vendor in Xero by hand); the next "
            "pass sends it.",
        )
    return SpendMoney(
        activity_id=cost.activity_id,
        date=cost.date,
        amount=cost.amount,
        vendor=vendor,
        description=description(cost),
        reference=reference(cost),
        bank_account=world.bank_account,
        expense_account=world.expense_account,
    )


def spend_hash(spend: SpendMoney) -> str:
    return content_hash(spend)


def reconciled_error(what: str, cost_label: str, transaction_id: str) -> RecordError:
    return RecordError(
        cause="reconciled_in_xero",
        message=f"{cost_label}: {what} in Clio, but its Xero spend-money transaction {transaction_id} is "
        "reconciled with a bank statement; Xero refuses changes to it, so ledgerlink leaves it as it is.",
        remedy="In Xero, Remove & Redo the reconciliation of that bank line; the next pass then updates "
        "the transaction. Or `ledgerlink skip` this error to keep Xero's version.",
        retryable=False,
    )


def _fail(source_id: str, cost_label: str, error: RecordError) -> Action:
    return Action(Op.FAIL, KIND, source_id, cost_label, reason=error.message, error=error)


def _gone_in_xero(source_id: str, cost_label: str, transaction_id: str) -> Action:
    error = RecordError(
        cause="deleted_in_xero",
        message=f"{cost_label}: edited in Clio, but its Xero spend-money transaction {transaction_id} was "
        "deleted in Xero; ledgerlink does not send it again.",
        remedy="Enter the cost in Xero by hand if it belongs there, then `ledgerlink skip` this error.",
        retryable=False,
    )
    return _fail(source_id, cost_label, error)


def to_check(costs: Sequence[Disbursement], deleted: Collection[str], world: SpendMoneyWorld) -> set[str]:
    """The linked transactions whose state in Xero the plan needs: those it would change or delete."""
    targets: set[str] = set()
    for cost in costs:
        link = world.links.get(cost.activity_id)
        wanted = spend_money(cost, world)
        if link is not None and isinstance(wanted, SpendMoney) and link.content_hash != spend_hash(wanted):
            targets.add(link.target_id)
    targets |= {world.links[a].target_id for a in deleted if a in world.links}
    return targets


def plan_spend_money(
    costs: Sequence[Disbursement], deleted: Collection[str], world: SpendMoneyWorld
) -> list[Action]:
    """Create / update / delete / skip / fail, for every hard cost read and every linked one deleted."""
    actions: list[Action] = []
    seen: set[str] = set()
    for cost in costs:
        if cost.activity_id in seen:
            continue
        seen.add(cost.activity_id)
        action = _for_cost(cost, world)
        if action is not None:
            actions.append(action)
    for activity_id in sorted(set(deleted) - seen, key=_numeric):
        if activity_id in world.links:
            actions.append(_removal(activity_id, world))
    return actions


def _for_cost(cost: Disbursement, world: SpendMoneyWorld) -> Action | None:
    cost_label = label(cost)
    link = world.links.get(cost.activity_id)
    if link is None and cost.date < world.start_date:
        return None  # before the start date: not in scope (seed 004)
    wanted = spend_money(cost, world)
    if isinstance(wanted, RecordError):
        return _fail(cost.activity_id, cost_label, wanted)
    digest = spend_hash(wanted)
    if link is None:
        return Action(
            Op.CREATE, KIND, cost.activity_id, cost_label, "new in Clio", wanted, content_hash=digest
        )
    if link.content_hash == digest:
        return Action(Op.SKIP, KIND, cost.activity_id, cost_label, "unchanged", target_id=link.target_id)
    remote = world.remote.get(link.target_id)
    if remote is None or remote.status != LIVE:
        return _gone_in_xero(cost.activity_id, cost_label, link.target_id)
    if remote.reconciled:
        return _fail(cost.activity_id, cost_label, reconciled_error("edited", cost_label, link.target_id))
    return Action(
        Op.UPDATE,
        KIND,
        cost.activity_id,
        cost_label,
        "edited in Clio",
        wanted,
        link.target_id,
        content_hash=digest,
    )


def _removal(activity_id: str, world: SpendMoneyWorld) -> Action:
    link = world.links[activity_id]
    cost_label = f"Clio hard cost {activity_id}"
    remote = world.remote.get(link.target_id)
    if remote is not None and remote.status == LIVE and remote.reconciled:
        return _fail(activity_id, cost_label, reconciled_error("deleted", cost_label, link.target_id))
    gone = remote is None or remote.status != LIVE
    return Action(
        Op.DELETE,
        KIND,
        activity_id,
        cost_label,
        "deleted in Clio",
        SpendDeletion(link.target_id, gone=gone),
        link.target_id,
    )


def _numeric(activity_id: str) -> tuple[int, str]:
    return (int(activity_id), "") if activity_id.isdigit() else (0, activity_id)
