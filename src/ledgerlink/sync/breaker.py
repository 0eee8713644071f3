"""The mass-change circuit breaker: a pass that would rewrite too much of the books stops first.

The classic accidents of a sync tool are not one bad record but a thousand: a Product/Service
renamed in the mapping rewrites every invoice; a bulk edit, or a reconnect to the wrong Clio
account, makes them all look voided or deleted. Before each phase of a pass sends its writes,
the breaker adds up, per kind, what the pass would void, delete or rewrite (updates) and
compares it with the records of that kind already linked. More than ``[sync] mass_change_share``
of them (20% by default) stops the pass before that phase writes anything, exit 3. Kinds with
fewer linked records than ``mass_change_minimum`` are not guarded (a firm with five invoices
that edits two is not an accident). ``--allow-mass-change`` lets a meant change through; a dry
run names what would trip instead of stopping. (Connecting a different company is guarded where
it happens: ``ledgerlink connect`` asks before it retires the old links.)

Phases run in dependence order (contacts, invoices, credit notes, payments, trust, deletions and
voids), so records of an earlier phase of the same pass may already be written when a later one
trips; those are never destructive (new customers for new bills, for instance).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from ledgerlink.errors import MassChangeError
from ledgerlink.sync.plan import Action, Op

REWRITES = frozenset({Op.UPDATE, Op.VOID, Op.DELETE})
VERBS = {Op.UPDATE: "rewrite", Op.VOID: "void", Op.DELETE: "delete"}
ALLOW = "ledgerlink sync --once --allow-mass-change"

Apply = Callable[[Sequence[Action]], None]


@dataclass(frozen=True)
class Limits:
    share: Decimal
    minimum: int


@dataclass
class Tripped:
    """Why the breaker would stop this pass: the bookkeeper's sentence."""

    message: str


@dataclass
class MassChangeCount:
    """What one pass has planned so far, per kind, against what was linked when it began (pure)."""

    limits: Limits
    linked: Callable[[str], int]  # records of a kind linked before this pass
    ledger_title: str = "the ledger"
    rewrites: dict[str, Counter[Op]] = field(default_factory=dict)
    _linked: dict[str, int] = field(default_factory=dict)

    def add(self, actions: Sequence[Action]) -> Tripped | None:
        """Count ``actions`` in; the reason to stop if the pass has now planned too much."""
        for action in actions:
            if action.op in REWRITES:
                self.rewrites.setdefault(action.kind, Counter())[action.op] += 1
        return self._over()

    def _over(self) -> Tripped | None:
        for kind, ops in self.rewrites.items():
            linked = self._linked.setdefault(kind, self.linked(kind))
            total = sum(ops.values())
            if linked < self.limits.minimum or total <= self.limits.share * linked:
                continue
            what = ", ".join(f"{VERBS[op]} {n}" for op, n in sorted(ops.items()))
            return Tripped(
                f"This pass would {what} of the {linked} {kind.replace('_', ' ')} record(s) already in "
                f"{self.ledger_title} ({_percent(Decimal(total) / linked)}), more than the "
                f"{_percent(self.limits.share)} the circuit breaker allows ([sync] mass_change_share)."
            )
        return None


def _percent(share: Decimal) -> str:
    return f"{(share * 100).quantize(Decimal('1'))}%"


class MassChangeBreaker:
    """Puts :class:`MassChangeCount` in front of an Applier's ``apply`` for one pass."""

    def __init__(
        self,
        count: MassChangeCount,
        *,
        allowed: bool,
        dry_run: bool,
        warnings: list[str],
    ) -> None:
        self.count = count
        self.allowed = allowed
        self.dry_run = dry_run
        self.warnings = warnings
        self._warned = False

    def guard(self, apply: Apply) -> Apply:
        if self.allowed:
            return apply

        def guarded(actions: Sequence[Action]) -> None:
            tripped = self.count.add(actions)
            if tripped is not None and self.dry_run:
                if not self._warned:
                    self.warnings.append(f"{tripped.message} A real pass would stop here; see {ALLOW}.")
                    self._warned = True
            elif tripped is not None:
                raise MassChangeError(
                    f"{tripped.message} Nothing of it was written.",
                    remedy="If a mapping change, a reconnect or a bulk edit in Clio was a mistake, undo it "
                    "(`ledgerlink sync --dry-run` lists every record). If the change is meant, run "
                    f"`{ALLOW}`.",
                )
            apply(actions)

        return guarded
