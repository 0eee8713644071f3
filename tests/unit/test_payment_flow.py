"""Payments flow: posted against synced invoices, waiting for their parents, Clio's version kept."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ledgerlink.domain import Application
from ledgerlink.sync.flows.payments import PaymentWorld, payment_hash, plan_payments
from ledgerlink.sync.plan import Action, Op
from ledgerlink.sync.ports import PaymentDraft, Settlement
from tests.factories import FakeLink, payment

INVOICES = {"100": FakeLink("I100"), "101": FakeLink("I101")}
CONTACTS = {"1": FakeLink("C1")}


def world(**changes: object) -> PaymentWorld:
    values: dict[str, object] = {
        "links": {},
        "invoice_links": INVOICES,
        "contact_links": CONTACTS,
        "contact_names": {"1": "Dana Whitfield"},
        "bill_labels": {"102": "Bill 1043 (Dana Whitfield)"},
    }
    values.update(changes)
    return PaymentWorld(**values)  # type: ignore[arg-type]


def plan_one(p: object, **changes: object) -> Action:
    [action] = plan_payments([p], world(**changes))  # type: ignore[list-item]
    return action


def synced(p: object, version: str = "3", **changes: object) -> dict[str, FakeLink]:
    """The payment link as a pass that created ``p`` left it."""
    created = plan_one(p, **changes)
    assert created.op is Op.CREATE and created.content_hash
    return {"500": FakeLink("P9", created.content_hash, version)}


def test_new_payment_is_created_against_the_synced_invoices_it_pays() -> None:
    split = payment(parts={"100": "250.00", "101": "80.00"})
    action = plan_one(split, deposit_account="Operating Account")
    assert action.op is Op.CREATE
    assert action.payload == PaymentDraft(
        split,
        "C1",
        (Settlement("I100", Decimal("250.00")), Settlement("I101", Decimal("80.00"))),
        deposit_account="Operating Account",
    )
    assert action.label == "Payment of 330.00 on 2026-03-10 (Dana Whitfield)"


def test_parts_applied_to_one_bill_are_one_amount_on_its_invoice() -> None:
    p = payment(parts={"100": "100.00"})
    twice = replace(p, applications=p.applications * 2)
    action = plan_one(twice)
    assert action.payload.lines == (Settlement("I100", Decimal("200.00")),)


def test_without_a_deposit_account_the_ledger_default_is_used() -> None:
    assert plan_one(payment()).payload.deposit_account is None


def test_trust_payment_is_posted_like_any_other_and_says_so() -> None:
    action = plan_one(payment(from_trust=True))
    assert action.op is Op.CREATE and "paid from trust" in action.reason
    assert action.label.startswith("Trust payment of 250.00")


def test_payment_of_a_bill_not_yet_in_the_ledger_is_blocked_naming_the_bill() -> None:
    action = plan_one(payment(parts={"100": "10.00", "102": "20.00"}))
    assert action.op is Op.BLOCKED and action.error is not None
    assert action.error.blocked_by == "bill 102"
    assert "Bill 1043" in action.error.message
    assert "`ledgerlink errors`" in action.error.remedy


def test_payment_of_failed_invoice_is_blocked_not_sent() -> None:
    action = plan_one(payment(parts={"103": "20.00"}), unsynced_bills={"103": "Bill 1050 (Sam Lee)"})
    assert action.op is Op.BLOCKED and action.error is not None
    assert action.error.message == "Waiting for Bill 1050 (Sam Lee), which could not be synced."
    assert action.error.blocked_by == "bill 103"


def test_payment_of_a_bill_that_is_never_synced_is_skipped_with_the_reason() -> None:
    out = {"102": "not synced: issued 2025-12-01, before the start date 2026-01-01"}
    action = plan_one(payment(parts={"100": "10.00", "102": "20.00"}), out_of_scope_bills=out)
    assert action.op is Op.SKIP
    assert action.reason == (
        "not synced: it applies to Bill 1043 (Dana Whitfield), which is not synced "
        "(issued 2025-12-01, before the start date 2026-01-01)"
    )


def test_payment_of_a_contact_not_in_the_ledger_is_blocked_on_the_contact() -> None:
    action = plan_one(payment(contact_id="9"), failed_contacts={"9": "Contact Sam Lee"})
    assert action.op is Op.BLOCKED and action.error is not None
    assert action.error.blocked_by == "contact 9" and "Contact Sam Lee" in action.error.message


def test_voided_payment_is_deleted_from_the_ledger_or_skipped_if_never_synced() -> None:
    links = {"500": FakeLink("P9", "h")}
    deleted = plan_one(payment(voided=True), links=links)
    never = plan_one(payment(voided=True))
    assert (deleted.op, deleted.target_id, deleted.reason) == (Op.DELETE, "P9", "deleted in Clio")
    assert never.op is Op.SKIP and never.target_id is None


def test_voided_payment_already_deleted_in_the_ledger_needs_nothing() -> None:
    action = plan_one(
        payment(voided=True), links={"500": FakeLink("P9", "h")}, versions={"payment": {"P9": None}}
    )
    assert action.op is Op.SKIP and "already deleted" in action.reason


def test_synced_payment_unchanged_on_both_sides_is_skipped() -> None:
    p = payment()
    action = plan_one(p, links=synced(p), versions={"payment": {"P9": "3", "other": None}})
    assert (action.op, action.target_id) == (Op.SKIP, "P9")


def test_payment_edited_in_clio_is_updated() -> None:
    links = synced(payment())
    action = plan_one(payment(parts={"100": "200.00"}), links=links)
    assert (action.op, action.target_id, action.reason) == (Op.UPDATE, "P9", "changed in Clio")


def test_payment_edited_in_the_ledger_is_restored_to_clios_version() -> None:
    p = payment()
    action = plan_one(p, links=synced(p, "3"), versions={"payment": {"P9": "4"}})
    assert (action.op, action.target_id) == (Op.UPDATE, "P9")
    assert action.reason == "changed in QuickBooks Online; Clio's payment is restored"
    assert isinstance(action.payload, PaymentDraft)


def test_payment_deleted_in_the_ledger_is_created_again() -> None:
    p = payment()
    action = plan_one(p, links=synced(p), versions={"payment": {"P9": None}})
    assert (action.op, action.target_id) == (Op.CREATE, None)
    assert action.reason == "deleted in QuickBooks Online; re-created from Clio"


def test_what_the_hash_covers_is_what_the_ledger_shows() -> None:
    p = payment()
    draft = PaymentDraft(p, "C1", (Settlement("I100", Decimal("250.00")),))
    restamped = replace(p, applications=(Application("other-allocation", "100", Decimal("250.00")),))
    assert payment_hash(draft) == payment_hash(PaymentDraft(restamped, "C1", draft.lines))
    assert payment_hash(draft) != payment_hash(
        PaymentDraft(p, "C1", draft.lines, deposit_account="Operating")
    )
