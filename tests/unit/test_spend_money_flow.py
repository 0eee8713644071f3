"""The pure spend-money flow (seed 004, "Syncing Hard Costs"): Clio hard cost + link → the action to take."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerlink.sync.flows import spend_money as flow
from ledgerlink.sync.flows.spend_money import (
    Disbursement,
    RemoteSpend,
    SpendDeletion,
    SpendMoney,
    SpendMoneyWorld,
    plan_spend_money,
    spend_hash,
    to_check,
)
from ledgerlink.sync.plan import Action, Op

START = date(2026, 1, 1)
TXN = "5f0e0c2a-0000-4000-8000-000000000001"


@dataclass(frozen=True)
class FakeLink:
    target_id: str
    content_hash: str
    version_token: str | None = None
    snapshot: Mapping[str, Any] | None = None


def cost(activity_id: str = "41", **changes: Any) -> Disbursement:
    base = Disbursement(
        activity_id=activity_id,
        date=date(2026, 3, 5),
        amount=Decimal("52.50"),
        note="Courier to court",
        reference="CHK-1043",
        vendor_id="7",
        vendor_name="Metro Courier",
        matter="00012-Whitfield",
        client="Dana Whitfield",
    )
    return replace(base, **changes)


def world(
    links: Mapping[str, FakeLink] | None = None, remote: Mapping[str, RemoteSpend] | None = None
) -> SpendMoneyWorld:
    return SpendMoneyWorld(
        start_date=START,
        bank_account="090",
        expense_account="400",
        links=links or {},
        remote=remote or {},
    )


def spend_of(c: Disbursement) -> SpendMoney:
    wanted = flow.spend_money(c, world())
    assert isinstance(wanted, SpendMoney)
    return wanted


def linked(c: Disbursement, content_hash: str | None = None) -> dict[str, FakeLink]:
    return {c.activity_id: FakeLink(TXN, content_hash or spend_hash(spend_of(c)))}


def live(*, reconciled: bool = False, status: str = "AUTHORISED") -> dict[str, RemoteSpend]:
    return {TXN: RemoteSpend(TXN, status, reconciled)}


def test_new_hard_cost_from_the_start_date_is_created_as_spend_money() -> None:
    [action] = plan_spend_money([cost()], [], world())

    expected = SpendMoney(
        activity_id="41",
        date=date(2026, 3, 5),
        amount=Decimal("52.50"),
        vendor="Metro Courier",
        description="Courier to court · Matter 00012-Whitfield (Dana Whitfield)",
        reference="CHK-1043 [Clio hard cost 41]",
        bank_account="090",
        expense_account="400",
    )
    assert action == Action(
        Op.CREATE,
        "spend_money",
        "41",
        "Clio hard cost 41 (Metro Courier, 52.50, 00012-Whitfield)",
        "new in Clio",
        expected,
        content_hash=spend_hash(expected),
    )


def test_hard_cost_dated_before_the_start_date_is_not_in_scope() -> None:
    assert plan_spend_money([cost(date=date(2025, 12, 31))], [], world()) == []


def test_linked_cost_moved_before_the_start_date_is_still_updated() -> None:
    old = cost()
    moved = cost(date=date(2025, 12, 31))

    [action] = plan_spend_money([moved], [], world(linked(old), live()))

    assert (action.op, action.target_id) == (Op.UPDATE, TXN)


def test_unchanged_linked_cost_is_skipped() -> None:
    [action] = plan_spend_money([cost()], [], world(linked(cost()), live()))

    assert (action.op, action.reason, action.target_id) == (Op.SKIP, "unchanged", TXN)


def test_cost_edited_in_clio_updates_its_transaction() -> None:
    edited = cost(amount=Decimal("60.00"))

    [action] = plan_spend_money([edited], [], world(linked(cost()), live()))

    assert action.op is Op.UPDATE and action.target_id == TXN
    assert action.payload == spend_of(edited)
    assert action.content_hash == spend_hash(spend_of(edited))


def test_changed_account_mapping_updates_the_transaction() -> None:
    remapped = replace(world(linked(cost()), live()), expense_account="455")

    [action] = plan_spend_money([cost()], [], remapped)

    assert action.op is Op.UPDATE and action.payload.expense_account == "455"


def test_edit_of_a_reconciled_transaction_is_an_error_that_is_not_retried() -> None:
    [action] = plan_spend_money(
        [cost(amount=Decimal("60"))], [], world(linked(cost()), live(reconciled=True))
    )

    assert action.op is Op.FAIL and action.error is not None
    assert action.error.cause == "reconciled_in_xero" and not action.error.retryable
    assert TXN in action.error.message and "Remove & Redo" in action.error.remedy


def test_edit_of_a_transaction_deleted_in_xero_is_reported_not_sent_again() -> None:
    for remote in ({}, live(status="DELETED"), live(status="VOIDED")):
        [action] = plan_spend_money([cost(amount=Decimal("60"))], [], world(linked(cost()), remote))

        assert action.op is Op.FAIL and action.error is not None
        assert action.error.cause == "deleted_in_xero" and not action.error.retryable


def test_cost_without_vendor_is_an_error_with_the_seed_text() -> None:
    for missing in (cost(vendor_id=None, vendor_name=None), cost(vendor_name="  ")):
        [action] = plan_spend_money([missing], [], world())

        assert action.op is Op.FAIL and action.error is not None
        assert action.error.cause == "no_vendor" and action.error.retryable
        assert action.error.message == (
            "Clio hard cost 41 (52.50, 00012-Whitfield): the vendor is required on hard costs while "
            "Sync Hard Costs is on."
        )
        assert "vendor" in action.error.remedy


def test_linked_cost_whose_vendor_was_removed_fails_and_leaves_xero_alone() -> None:
    [action] = plan_spend_money([cost(vendor_id=None, vendor_name=None)], [], world(linked(cost()), live()))

    assert action.op is Op.FAIL and action.error is not None and action.error.cause == "no_vendor"


def test_cost_of_zero_or_less_cannot_be_spend_money() -> None:
    for amount in ("0", "-12.00"):
        [action] = plan_spend_money([cost(amount=Decimal(amount))], [], world())

        assert action.op is Op.FAIL and action.error is not None
        assert action.error.cause == "amount_not_positive"


def test_cost_deleted_in_clio_deletes_its_transaction() -> None:
    [action] = plan_spend_money([], ["41"], world(linked(cost()), live()))

    assert (action.op, action.target_id, action.payload) == (Op.DELETE, TXN, SpendDeletion(TXN, gone=False))


def test_cost_deleted_in_clio_whose_transaction_is_gone_only_forgets_the_link() -> None:
    for remote in ({}, live(status="DELETED")):
        [action] = plan_spend_money([], ["41"], world(linked(cost()), remote))

        assert (action.op, action.payload) == (Op.DELETE, SpendDeletion(TXN, gone=True))


def test_deletion_of_a_reconciled_transaction_is_an_error_that_is_not_retried() -> None:
    [action] = plan_spend_money([], ["41"], world(linked(cost()), live(reconciled=True)))

    assert action.op is Op.FAIL and action.error is not None
    assert action.error.cause == "reconciled_in_xero" and not action.error.retryable
    assert "deleted in Clio" in action.error.message


def test_deletion_of_a_cost_never_synced_plans_nothing() -> None:
    assert plan_spend_money([], ["99"], world()) == []


def test_only_transactions_the_plan_would_change_are_looked_at_in_xero() -> None:
    same, edited, fresh = cost("1"), cost("2"), cost("3")
    links = {**linked(same), **linked(edited)}
    links["2"] = FakeLink("txn-2", links["2"].content_hash)
    links["4"] = FakeLink("txn-4", "old")

    checked = to_check([same, replace(edited, amount=Decimal("1.00")), fresh], ["4"], world(links))

    assert checked == {"txn-2", "txn-4"}


def test_a_cost_read_twice_is_planned_once() -> None:
    assert len(plan_spend_money([cost(), cost()], [], world())) == 1


def test_description_without_note_or_matter_still_names_the_cost() -> None:
    bare = cost(note="", matter=None, client=None, reference=None)

    spend = spend_of(bare)

    assert (spend.description, spend.reference) == ("Clio hard cost 41", "[Clio hard cost 41]")


def test_description_is_cut_to_xeros_limit() -> None:
    assert len(spend_of(cost(note="x" * 5000)).description) == flow.DESCRIPTION_MAX


def test_hash_depends_on_content_only() -> None:
    assert spend_hash(spend_of(cost())) == spend_hash(spend_of(cost()))
    assert spend_hash(spend_of(cost())) != spend_hash(spend_of(cost(note="Other")))
