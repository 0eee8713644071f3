"""Contacts flow: match before create, never duplicate, name clashes explained."""

from __future__ import annotations

from ledgerlink.sync.flows.contacts import contact_hash, plan_contacts
from ledgerlink.sync.plan import Op
from ledgerlink.sync.ports import LedgerCustomer
from tests.factories import FakeLink, contact


def plan(contacts, links=None, customers=(), holders=None):  # type: ignore[no-untyped-def]
    return plan_contacts(
        contacts,
        links or {},
        list(customers),
        holders or {},
        display_name=lambda c: c.name,
        ledger_title="QuickBooks Online",
    )


def test_new_contact_is_created() -> None:
    [action] = plan([contact()])
    assert (action.op, action.source_id, action.target_id) == (Op.CREATE, "1", None)


def test_existing_inactive_customer_with_same_name_and_email_is_linked_not_duplicated() -> None:
    customer = LedgerCustomer("58", "dana whitfield (deleted)", "DANA@example.com", active=False)
    [action] = plan([contact()], customers=[customer])
    assert (action.op, action.target_id) == (Op.LINK, "58")
    assert "inactive" in action.reason


def test_same_name_with_different_email_is_an_error_not_a_guess() -> None:
    customer = LedgerCustomer("58", "Dana Whitfield", "other@example.com", active=True)
    [action] = plan([contact()], customers=[customer])
    assert action.op is Op.FAIL and action.error is not None
    assert action.error.cause == "ambiguous_match"
    assert "other@example.com" in action.error.message


def test_name_held_by_a_vendor_fails_with_a_remedy() -> None:
    [action] = plan(
        [contact(name="Metro Court Reporters LLC")], holders={"metro court reporters llc": "vendor"}
    )
    assert action.op is Op.FAIL and action.error is not None
    assert action.error.cause == "duplicate_name"
    assert "vendor" in action.error.message and "Rename" in action.error.remedy


def test_two_clio_contacts_with_one_name_cannot_share_a_customer() -> None:
    customer = LedgerCustomer("7", "Sam Lee", None, active=True)
    first, second = plan([contact("1", "Sam Lee", None), contact("2", "Sam Lee", None)], customers=[customer])
    assert first.op is Op.LINK and second.op is Op.FAIL


def test_linked_contact_unchanged_is_skipped_and_changed_is_updated() -> None:
    same, edited = contact("1"), contact("2", "Ann Bell", "ann@example.com")
    links = {"1": FakeLink("40", contact_hash(same)), "2": FakeLink("41", "stale-hash")}
    skip, update = plan([same, edited], links=links)
    assert (skip.op, update.op, update.target_id) == (Op.SKIP, Op.UPDATE, "41")
