"""The plan of a dry run as a bookkeeper reads it: per kind of record, what would be written, how much, why.

``sync --dry-run`` shows what a pass would do before it does it (like ``terraform plan``). The
engine's plan is a flat list of Actions in the order they would be applied; this module groups
them by kind, counts them per operation and adds up their amounts, so that "120 invoices to create,
145,230.50" can be checked against Clio's own bill list before anything reaches the books. Pure:
the CLI renders what it returns (``ledgerlink.cli.output``).

Skips are left out (nothing would happen to them); failures and blocked records stay in, as
"would fail" / "blocked" with their cause, because they are what the bookkeeper must fix.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ledgerlink.domain import CreditNote, Invoice, Payment, TrustTransaction
from ledgerlink.sync.plan import Action, Op
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    PaymentDraft,
    Settlement,
    TrustChequeDraft,
    TrustPostingDraft,
)

WOULD_FAIL = "would fail"
BLOCKED = "blocked"

# The order lines are listed in within a group: what would be written first, then what needs a person.
LINE_ORDER: tuple[str, ...] = (
    Op.CREATE.value,
    Op.UPDATE.value,
    Op.LINK.value,
    Op.VOID.value,
    Op.DELETE.value,
    WOULD_FAIL,
    BLOCKED,
)
WRITING = frozenset(LINE_ORDER[:5])
_SHOWN = {Op.FAIL: WOULD_FAIL, Op.BLOCKED: BLOCKED}


@dataclass(frozen=True)
class PlanLine:
    """One record of the plan: what would happen to it and why.

    ``op`` is the operation ("create", "update", "link", "void", "delete") or, for a record that
    cannot be written, "would fail" / "blocked"; those carry the ``cause`` and ``remedy`` of their
    error and its message as ``reason``.
    """

    op: str
    label: str
    amount: Decimal | None
    target_id: str | None
    reason: str
    cause: str | None = None
    remedy: str | None = None

    @property
    def writes(self) -> bool:
        return self.op in WRITING


@dataclass(frozen=True)
class PlanGroup:
    """The plan for one kind of record (contacts, invoices, payments, ...).

    ``counts``: lines per op, in :data:`LINE_ORDER`. ``total``: the sum of the amounts of the lines
    that would be written, or ``None`` when no record of the group carries an amount (contacts).
    """

    kind: str
    lines: tuple[PlanLine, ...]
    counts: Mapping[str, int]
    total: Decimal | None

    @property
    def writes(self) -> int:
        return sum(n for op, n in self.counts.items() if op in WRITING)

    @property
    def attention(self) -> int:
        return sum(n for op, n in self.counts.items() if op not in WRITING)


def _sum(settlements: Iterable[Settlement]) -> Decimal:
    return sum((s.amount for s in settlements), Decimal("0.00"))


def action_amount(payload: Any) -> Decimal | None:
    """The money a record of the plan moves, as the ledger would show it; ``None`` when it has none.

    Invoices: the bill's total. Payments and credit applications: what they settle on the ledger's
    invoices (the sum of their lines). Credit notes: the credit's total. Trust postings and cheques:
    the signed amount (money out of trust is negative), so a group's sum is the net change in
    client trust funds. Contacts and edits written back to Clio have no amount.
    """
    if isinstance(payload, InvoiceDraft):
        return payload.invoice.total
    if isinstance(payload, PaymentDraft | CreditApplicationDraft):
        return _sum(payload.lines)
    if isinstance(payload, CreditNoteDraft):
        return payload.credit.total
    if isinstance(payload, TrustPostingDraft | TrustChequeDraft):
        return payload.transaction.signed
    if isinstance(payload, Invoice | Payment | CreditNote):
        return payload.total
    if isinstance(payload, TrustTransaction):
        return payload.signed
    return None


def plan_line(action: Action) -> PlanLine | None:
    """The plan's line for one action; ``None`` for a skip (nothing would happen to the record)."""
    if action.op is Op.SKIP:
        return None
    shown = _SHOWN.get(action.op, action.op.value)
    error = action.error
    if shown in WRITING or error is None:
        return PlanLine(shown, action.label, action_amount(action.payload), action.target_id, action.reason)
    return PlanLine(
        shown,
        action.label,
        action_amount(action.payload),
        action.target_id,
        error.message,
        cause=error.cause,
        remedy=error.remedy,
    )


def plan_groups(
    actions: Sequence[Action], order: Sequence[str] = (), parked: Collection[Action] = ()
) -> list[PlanGroup]:
    """Group the plan by kind: kinds named in ``order`` first, in that order, then as they first appear.

    Within a group, lines follow :data:`LINE_ORDER` (creates first, blocked last) and keep the
    engine's order among equals. Kinds with nothing but skips are left out. ``parked``: the
    actions of records the bookkeeper set aside (``ledgerlink skip``); like skips, nothing would
    happen to them, whatever their plan says.
    """
    aside = {(a.kind, a.source_id) for a in parked}
    by_kind: dict[str, list[PlanLine]] = {}
    for action in actions:
        line = None if (action.kind, action.source_id) in aside else plan_line(action)
        if line is not None:
            by_kind.setdefault(action.kind, []).append(line)
    rank = {kind: i for i, kind in enumerate(order)}
    kinds = sorted(by_kind, key=lambda kind: rank.get(kind, len(rank)))
    return [_group(kind, by_kind[kind]) for kind in kinds]


def _group(kind: str, lines: Sequence[PlanLine]) -> PlanGroup:
    ordered = tuple(sorted(lines, key=lambda line: LINE_ORDER.index(line.op)))
    counted = Counter(line.op for line in ordered)
    amounts = [line.amount for line in ordered if line.writes and line.amount is not None]
    total = sum(amounts, Decimal("0.00")) if amounts else None
    return PlanGroup(kind, ordered, {op: counted[op] for op in LINE_ORDER if counted[op]}, total)


def plan_counts(groups: Iterable[PlanGroup]) -> Counter[str]:
    """Lines per op over the whole plan (for the one-line total)."""
    total: Counter[str] = Counter()
    for group in groups:
        total.update(group.counts)
    return total
