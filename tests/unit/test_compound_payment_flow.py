"""Payments flow with compound links (Xero: one ledger payment per invoice paid, ids joined)."""

from __future__ import annotations

import pytest

from ledgerlink.sync.flows.payments import PaymentWorld, plan_payments
from ledgerlink.sync.plan import Action, Op
from ledgerlink.sync.ports import compound_target, target_parts
from tests.factories import FakeLink, payment

INVOICES = {"100": FakeLink("I100"), "101": FakeLink("I101")}
CONTACTS = {"1": FakeLink("C1")}
TARGET = compound_target(["XP1", "XP2"])
STORED_VERSION = compound_target(["v1", "v2"])


def plan(p: object, link: FakeLink | None, versions: dict[str, str | None] | None = None) -> Action:
    world = PaymentWorld(
        links={"500": link} if link else {},
        invoice_links=INVOICES,
        contact_links=CONTACTS,
        versions={"payment": versions or {}},
        ledger_title="Xero",
    )
    [action] = plan_payments([p], world)  # type: ignore[list-item]
    return action


def synced(p: object) -> FakeLink:
    created = plan(p, None)
    assert created.op is Op.CREATE and created.content_hash
    return FakeLink(TARGET, created.content_hash, STORED_VERSION)


SPLIT = payment(parts={"100": "250.00", "101": "80.00"})


def test_compound_target_round_trips_and_refuses_a_separator_inside_an_id() -> None:
    assert target_parts(TARGET) == ["XP1", "XP2"] and target_parts("single") == ["single"]
    with pytest.raises(ValueError, match="cannot hold"):
        compound_target(["a,b"])


def test_compound_payment_not_in_the_change_feed_is_unchanged() -> None:
    assert plan(SPLIT, synced(SPLIT), {"other": "x"}).op is Op.SKIP


def test_compound_payment_whose_own_parts_come_back_unchanged_is_skipped() -> None:
    assert plan(SPLIT, synced(SPLIT), {"XP1": "v1", "XP2": "v2"}).op is Op.SKIP


def test_compound_payment_with_one_part_deleted_in_the_ledger_is_replaced_whole() -> None:
    action = plan(SPLIT, synced(SPLIT), {"XP2": None})
    assert action.op is Op.UPDATE and action.target_id == TARGET
    assert action.notice == "was edited in Xero; overwritten with Clio's payment"


def test_compound_payment_with_every_part_deleted_in_the_ledger_is_recreated() -> None:
    action = plan(SPLIT, synced(SPLIT), {"XP1": None, "XP2": None})
    assert action.op is Op.CREATE and action.notice == "was deleted in Xero; re-created from Clio"


def test_compound_payment_with_one_part_edited_in_the_ledger_is_restored() -> None:
    action = plan(SPLIT, synced(SPLIT), {"XP1": "v1-later"})
    assert action.op is Op.UPDATE and action.target_id == TARGET
    assert action.notice == "was edited in Xero; overwritten with Clio's payment"


def test_voided_compound_payment_with_a_part_already_deleted_still_deletes_the_rest() -> None:
    link = synced(SPLIT)
    voided = payment(parts={"100": "250.00", "101": "80.00"}, voided=True)
    assert plan(voided, link, {"XP1": "v1"}).op is Op.DELETE


def test_voided_compound_payment_deleted_in_the_ledger_needs_nothing() -> None:
    link = synced(SPLIT)
    voided = payment(parts={"100": "250.00", "101": "80.00"}, voided=True)
    action = plan(voided, link, {"XP1": None, "XP2": None})
    assert action.op is Op.SKIP and "already deleted in Xero" in action.reason
    assert plan(voided, link, {"XP1": None}).op is Op.DELETE  # the part left is still removed
