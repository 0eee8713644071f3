"""Credit notes flow: the credit note, then its application to the invoices; Clio's version kept."""

from __future__ import annotations

from decimal import Decimal

from ledgerlink.sync.flows.credit_notes import (
    APPLICATION_KIND,
    KIND,
    ApplicationWorld,
    CreditWorld,
    plan_credit_applications,
    plan_credit_notes,
)
from ledgerlink.sync.plan import Action, Op
from ledgerlink.sync.ports import CreditApplicationDraft, CreditNoteDraft, Settlement
from tests.factories import FakeLink, credit_note

INVOICES = {"100": FakeLink("I100"), "101": FakeLink("I101")}
CONTACTS = {"1": FakeLink("C1")}


COMMON: dict[str, object] = {
    "invoice_links": INVOICES,
    "contact_links": CONTACTS,
    "contact_names": {"1": "Dana Whitfield"},
    "bill_labels": {"102": "Bill 1043 (Dana Whitfield)"},
}


def credit_action(credit: object, **changes: object) -> Action:
    world = CreditWorld(**{**COMMON, "links": {}, "item": "Discounts Given", **changes})  # type: ignore[arg-type]
    [action] = plan_credit_notes([credit], world)  # type: ignore[list-item]
    return action


def application_action(credit: object, **changes: object) -> Action:
    world = ApplicationWorld(**{**COMMON, "links": {}, "credit_links": {}, **changes})  # type: ignore[arg-type]
    [action] = plan_credit_applications([credit], world)  # type: ignore[list-item]
    return action


def test_new_credit_is_created_on_the_mapped_item_for_its_total() -> None:
    credit = credit_note(parts={"100": "50.00", "101": "25.00"})
    action = credit_action(credit)
    assert (action.op, action.kind) == (Op.CREATE, KIND)
    assert action.payload == CreditNoteDraft(credit, "C1", "Discounts Given")
    assert action.label == "Credit note of 75.00 on 2026-03-12 (Dana Whitfield)"


def test_credit_notes_without_a_mapped_item_fail_naming_the_key() -> None:
    action = credit_action(credit_note(), item="")
    assert action.op is Op.FAIL and action.error is not None
    assert action.error.cause == "unmapped" and "mapping.credit_notes" in action.error.message
    assert 'credit_notes = "<Product/Service>"' in action.error.remedy


def test_credit_is_applied_once_the_credit_note_is_linked() -> None:
    credit = credit_note(parts={"100": "50.00", "101": "25.00"})
    action = application_action(credit, credit_links={"700": FakeLink("CM7")})
    assert (action.op, action.kind) == (Op.CREATE, APPLICATION_KIND)
    assert action.payload == CreditApplicationDraft(
        credit, "C1", "CM7", (Settlement("I100", Decimal("50.00")), Settlement("I101", Decimal("25.00")))
    )


def test_application_waits_for_a_credit_note_that_is_not_linked() -> None:
    action = application_action(credit_note())
    assert action.op is Op.BLOCKED and action.error is not None
    assert action.error.blocked_by == "credit_note 700"


def test_application_waits_while_the_credit_note_was_deleted_in_the_ledger() -> None:
    action = application_action(
        credit_note(), credit_links={"700": FakeLink("CM7")}, versions={"credit_note": {"CM7": None}}
    )
    assert action.op is Op.BLOCKED


def test_credit_on_a_bill_not_in_the_ledger_waits_for_the_bill_in_both_steps() -> None:
    credit = credit_note(parts={"102": "10.00"})
    for action in (credit_action(credit), application_action(credit, credit_links={"700": FakeLink("CM7")})):
        assert action.op is Op.BLOCKED and action.error is not None
        assert action.error.blocked_by == "bill 102" and "Bill 1043" in action.error.message


def test_credit_on_a_bill_never_synced_is_skipped() -> None:
    out = {"102": "not synced: bill is draft"}
    action = credit_action(credit_note(parts={"102": "10.00"}), out_of_scope_bills=out)
    assert action.op is Op.SKIP and "bill is draft" in action.reason


def test_credit_of_a_contact_not_in_the_ledger_is_blocked() -> None:
    action = credit_action(credit_note(contact_id="9"))
    assert action.op is Op.BLOCKED and action.error is not None and action.error.blocked_by == "contact 9"


def test_voided_credit_deletes_both_the_application_and_the_credit_note() -> None:
    voided = credit_note(voided=True)
    note = credit_action(voided, links={"700": FakeLink("CM7")})
    applied = application_action(voided, links={"700": FakeLink("P8")})
    assert (note.op, note.target_id, note.kind) == (Op.DELETE, "CM7", KIND)
    assert (applied.op, applied.target_id, applied.kind) == (Op.DELETE, "P8", APPLICATION_KIND)


def test_voided_credit_never_synced_is_skipped_in_both_steps() -> None:
    voided = credit_note(voided=True)
    assert (credit_action(voided).op, application_action(voided).op) == (Op.SKIP, Op.SKIP)


def test_amount_changed_in_clio_updates_both_records() -> None:
    before = credit_note(parts={"100": "50.00"})
    after = credit_note(parts={"100": "60.00"})
    note_hash = credit_action(before).content_hash or ""
    applied_hash = application_action(before, credit_links={"700": FakeLink("CM7")}).content_hash or ""
    links = {"700": FakeLink("CM7", note_hash)}
    note = credit_action(after, links=links)
    applied = application_action(after, credit_links=links, links={"700": FakeLink("P8", applied_hash)})
    assert (note.op, note.reason) == (Op.UPDATE, "changed in Clio")
    assert (applied.op, applied.target_id) == (Op.UPDATE, "P8")
    assert applied.payload.lines == (Settlement("I100", Decimal("60.00")),)


def test_unchanged_credit_is_skipped_in_both_steps() -> None:
    credit = credit_note()
    links = {"700": FakeLink("CM7", credit_action(credit).content_hash or "", "2")}
    applied_hash = application_action(credit, credit_links=links).content_hash or ""
    applications = {"700": FakeLink("P8", applied_hash, "5")}
    assert credit_action(credit, links=links).op is Op.SKIP
    assert application_action(credit, credit_links=links, links=applications).op is Op.SKIP


def test_credit_note_edited_or_deleted_in_the_ledger_gets_clios_version_back() -> None:
    credit = credit_note()
    links = {"700": FakeLink("CM7", credit_action(credit).content_hash or "", "2")}
    edited = credit_action(credit, links=links, versions={"credit_note": {"CM7": "3"}})
    deleted = credit_action(credit, links=links, versions={"credit_note": {"CM7": None}})
    assert (edited.op, edited.reason) == (
        Op.UPDATE,
        "changed in QuickBooks Online; Clio's credit note is restored",
    )
    assert (deleted.op, deleted.target_id) == (Op.CREATE, None)


def test_application_edited_in_the_ledger_is_restored() -> None:
    credit = credit_note()
    links = {"700": FakeLink("CM7")}
    applied_hash = application_action(credit, credit_links=links).content_hash or ""
    applications = {"700": FakeLink("P8", applied_hash, "5")}
    action = application_action(
        credit, credit_links=links, links=applications, versions={"credit_application": {"P8": "6"}}
    )
    assert (action.op, action.target_id) == (Op.UPDATE, "P8")
    assert "Clio's credit application is restored" in action.reason
