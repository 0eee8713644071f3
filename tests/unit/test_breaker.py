"""The mass-change circuit breaker, as pure counting: when it trips and what it says."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import pytest

from ledgerlink.errors import MassChangeError
from ledgerlink.sync.breaker import Limits, MassChangeBreaker, MassChangeCount
from ledgerlink.sync.plan import Action, Op

LIMITS = Limits(share=Decimal("0.2"), minimum=10)


def actions(op: Op, n: int, kind: str = "invoice") -> list[Action]:
    return [Action(op, kind, str(i), f"Bill {i}") for i in range(n)]


def count(linked: dict[str, int]) -> MassChangeCount:
    return MassChangeCount(
        limits=LIMITS, linked=lambda kind: linked.get(kind, 0), ledger_title="QuickBooks Online"
    )


def test_rewriting_a_fifth_of_the_linked_invoices_is_allowed_one_more_trips() -> None:
    at_limit = count({"invoice": 50})
    assert at_limit.add(actions(Op.UPDATE, 10)) is None
    over = count({"invoice": 50})
    tripped = over.add(actions(Op.UPDATE, 11))
    assert tripped is not None
    assert "rewrite 11 of the 50 invoice record(s) already in QuickBooks Online (22%)" in tripped.message
    assert "more than the 20%" in tripped.message


def test_voids_deletes_and_updates_of_one_kind_add_up_across_the_phases_of_a_pass() -> None:
    pass_count = count({"invoice": 20})
    assert pass_count.add(actions(Op.UPDATE, 3)) is None
    tripped = pass_count.add(actions(Op.VOID, 2))  # 5 of 20 = 25%
    assert tripped is not None and "rewrite 3, void 2 of the 20" in tripped.message


def test_kinds_are_counted_apart_and_creates_skips_and_failures_never_count() -> None:
    pass_count = count({"invoice": 20, "payment": 20})
    assert pass_count.add(actions(Op.UPDATE, 4) + actions(Op.UPDATE, 4, "payment")) is None
    assert pass_count.add(actions(Op.CREATE, 100) + actions(Op.SKIP, 50) + actions(Op.FAIL, 30)) is None


def test_a_kind_with_fewer_linked_records_than_the_minimum_is_not_guarded() -> None:
    assert count({"invoice": 9}).add(actions(Op.VOID, 9)) is None
    assert count({"invoice": 10}).add(actions(Op.VOID, 3)) is not None


def _guarded(breaker: MassChangeBreaker, batches: Sequence[Sequence[Action]]) -> list[Sequence[Action]]:
    applied: list[Sequence[Action]] = []
    apply = breaker.guard(applied.append)
    for batch in batches:
        apply(batch)
    return applied


def test_a_tripped_pass_raises_before_the_phase_is_applied_exit_3() -> None:
    warnings: list[str] = []
    breaker = MassChangeBreaker(count({"invoice": 10}), allowed=False, dry_run=False, warnings=warnings)
    with pytest.raises(MassChangeError) as caught:
        _guarded(breaker, [actions(Op.CREATE, 2), actions(Op.UPDATE, 3)])
    assert caught.value.exit_code == 3
    assert "Nothing of it was written" in str(caught.value)
    assert "--allow-mass-change" in caught.value.remedy


def test_allowed_passes_everything_and_a_dry_run_warns_once_instead_of_stopping() -> None:
    allowed = MassChangeBreaker(count({"invoice": 10}), allowed=True, dry_run=False, warnings=[])
    assert len(_guarded(allowed, [actions(Op.UPDATE, 10)])) == 1

    warnings: list[str] = []
    dry = MassChangeBreaker(count({"invoice": 10}), allowed=False, dry_run=True, warnings=warnings)
    applied = _guarded(dry, [actions(Op.UPDATE, 5), actions(Op.VOID, 5)])
    assert len(applied) == 2
    assert len(warnings) == 1 and "A real pass would stop here" in warnings[0]
