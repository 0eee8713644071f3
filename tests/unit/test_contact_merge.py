"""Two-way contacts: a three-way merge per field; Clio wins true conflicts; QBO-only customers stay."""

from __future__ import annotations

import json
from dataclasses import replace

from ledgerlink.domain import Address, ContactEdit
from ledgerlink.sync.flows.contact_merge import (
    WRITEBACK_KIND,
    ContactSnapshot,
    apply_edit,
    merge,
    merge_actions,
    snapshot,
    with_clio,
)
from ledgerlink.sync.flows.contacts import KIND, contact_hash, plan_contacts
from ledgerlink.sync.plan import Op
from ledgerlink.sync.ports import LedgerCustomer
from tests.factories import FakeLink, contact, ledger_customer

OFFICE = Address("12 King St", "Toronto", "ON", "M5H 1A1", "CA")
CLIO = contact(phone="555-010-2000", address=OFFICE)
# What QBO stored when ledgerlink last wrote the contact: its own phone formatting.
LEDGER = ledger_customer(phone="(555) 010-2000", address=OFFICE)
BASE = ContactSnapshot.taken(CLIO, LEDGER)


def test_snapshot_round_trips_through_json_and_keeps_clios_name_on_top() -> None:
    stored = json.loads(json.dumps(BASE.to_dict()))
    assert ContactSnapshot.from_dict(stored) == BASE
    assert (stored["name"], stored["email"]) == ("Dana Whitfield", "dana@example.com")


def test_an_old_snapshot_without_both_sides_is_no_base() -> None:
    assert ContactSnapshot.from_dict({"hash": "x", "name": "Dana Whitfield", "email": None}) is None
    assert ContactSnapshot.from_dict(None) is None


def test_nothing_changed_means_nothing_to_do_even_where_qbo_formats_differently() -> None:
    result = merge(BASE, CLIO, LEDGER)
    assert (result.to_clio, result.to_ledger, result.conflicts) == (ContactEdit(), False, ())


def test_a_field_changed_only_in_the_ledger_goes_to_clio() -> None:
    result = merge(BASE, CLIO, replace(LEDGER, email="dana@whitfield.law"))
    assert result.to_clio == ContactEdit(email="dana@whitfield.law")
    assert (result.to_ledger, result.from_ledger) == (False, ("email",))


def test_a_field_changed_only_in_clio_goes_to_the_ledger() -> None:
    result = merge(BASE, replace(CLIO, phone="555-010-9999"), LEDGER)
    assert (result.to_clio, result.to_ledger, result.from_clio) == (ContactEdit(), True, ("phone",))


def test_a_field_changed_on_both_sides_keeps_clios_value_and_is_a_conflict() -> None:
    result = merge(BASE, replace(CLIO, email="dana@clio.example"), replace(LEDGER, email="dana@qbo.example"))
    assert (result.to_clio, result.to_ledger, result.conflicts) == (ContactEdit(), True, ("email",))
    assert result.conflict_notes() == ["email changed on both sides; Clio's value kept"]


def test_the_same_change_on_both_sides_is_no_conflict() -> None:
    result = merge(BASE, replace(CLIO, email="new@example.com"), replace(LEDGER, email="NEW@example.com"))
    assert (result.to_clio, result.to_ledger, result.conflicts) == (ContactEdit(), False, ())


def test_different_fields_changed_on_each_side_flow_each_their_way() -> None:
    result = merge(BASE, replace(CLIO, phone="555-010-9999"), replace(LEDGER, email="dana@whitfield.law"))
    assert result.to_clio == ContactEdit(email="dana@whitfield.law")
    assert (result.to_ledger, result.conflicts) == (True, ())


def test_a_persons_given_and_family_name_edited_in_qbo_become_first_and_last_name() -> None:
    renamed = replace(LEDGER, display_name="Dana Whitfield-Cho", family_name="Whitfield-Cho")
    assert merge(BASE, CLIO, renamed).to_clio == ContactEdit(first_name="Dana", last_name="Whitfield-Cho")


def test_a_persons_display_name_edited_alone_is_split_on_its_last_space() -> None:
    renamed = replace(LEDGER, display_name="Mary Ann Smith")
    assert merge(BASE, CLIO, renamed).to_clio == ContactEdit(first_name="Mary Ann", last_name="Smith")


def test_a_companys_name_edited_in_qbo_becomes_its_name() -> None:
    firm = replace(contact("2", "Acme Holdings", None), is_company=True, first_name=None, last_name=None)
    customer = ledger_customer("C2", "Acme Holdings", None, person=False)
    base = ContactSnapshot.taken(firm, customer)
    result = merge(base, firm, replace(customer, display_name="Acme Holdings Inc."))
    assert result.to_clio == ContactEdit(name="Acme Holdings Inc.")


def test_an_inactive_customers_deleted_suffix_is_not_a_rename() -> None:
    hidden = replace(LEDGER, display_name="Dana Whitfield (deleted)", active=False)
    assert merge(BASE, CLIO, hidden).to_clio.empty


def test_a_field_removed_in_the_ledger_is_removed_in_clio() -> None:
    result = merge(BASE, CLIO, replace(LEDGER, phone=None, address=None))
    assert result.to_clio == ContactEdit(phone="", address=Address())


def test_an_address_edited_in_the_ledger_goes_to_clio() -> None:
    moved = replace(OFFICE, street="1 Bay St")
    assert merge(BASE, CLIO, replace(LEDGER, address=moved)).to_clio == ContactEdit(address=moved)


def test_without_a_base_clio_wins_every_difference_and_nothing_is_written_back() -> None:
    result = merge(None, CLIO, replace(LEDGER, email="dana@qbo.example"))
    assert (result.to_clio, result.to_ledger, result.conflicts) == (ContactEdit(), True, ())


def test_applying_an_edit_gives_the_contact_clio_will_hold() -> None:
    edited = apply_edit(
        CLIO, ContactEdit(first_name="Mary Ann", last_name="Smith", phone="", address=Address())
    )
    assert (edited.name, edited.first_name, edited.last_name) == ("Mary Ann Smith", "Mary Ann", "Smith")
    assert (edited.phone, edited.address, edited.email) == (None, None, CLIO.email)


def test_snapshot_without_the_ledgers_answer_keeps_no_base() -> None:
    stored = snapshot(CLIO, None)
    assert stored == {"name": "Dana Whitfield", "email": "dana@example.com"}
    assert ContactSnapshot.from_dict(stored) is None


def test_after_a_write_back_the_snapshots_clio_side_is_clios_contact() -> None:
    now = replace(CLIO, email="dana@whitfield.law")
    updated = ContactSnapshot.from_dict(with_clio(BASE.to_dict(), now))
    assert updated == replace(BASE, clio=ContactSnapshot.taken(now, LEDGER).clio)


# -- planning ---------------------------------------------------------------------------------------


def planned(contacts, links, edited):  # type: ignore[no-untyped-def]
    actions = plan_contacts(
        contacts, links, [], {}, display_name=lambda c: c.name, ledger_title="QuickBooks Online"
    )
    return merge_actions(actions, contacts, links, edited, ledger_title="QuickBooks Online")


def test_an_edit_in_qbo_is_written_back_to_clio_and_clios_own_change_goes_to_qbo() -> None:
    clio_now = replace(CLIO, phone="555-010-9999")
    links = {"1": FakeLink("C1", contact_hash(CLIO), "1", BASE.to_dict())}
    update, writeback = planned([clio_now], links, {"1": replace(LEDGER, email="dana@whitfield.law")})
    assert (update.op, update.kind, update.target_id) == (Op.UPDATE, KIND, "C1")
    assert update.payload == replace(clio_now, email="dana@whitfield.law")
    assert update.content_hash == contact_hash(update.payload)
    assert (writeback.op, writeback.kind, writeback.payload) == (
        Op.UPDATE,
        WRITEBACK_KIND,
        ContactEdit(email="dana@whitfield.law"),
    )
    assert writeback.reason == "changed in QuickBooks Online: email; written to Clio"


def test_a_conflict_is_named_in_the_reason_and_the_notice() -> None:
    links = {"1": FakeLink("C1", contact_hash(CLIO), "1", BASE.to_dict())}
    [update] = planned(
        [replace(CLIO, email="dana@clio.example")], links, {"1": replace(LEDGER, email="dana@qbo.example")}
    )
    assert update.op is Op.UPDATE and update.payload.email == "dana@clio.example"
    assert update.reason == "changed in Clio: email; email changed on both sides; Clio's value kept"
    assert update.notice == "email changed on both sides; Clio's value kept"


def test_a_ledger_change_that_was_ledgerlinks_own_write_leaves_the_one_way_plan() -> None:
    links = {"1": FakeLink("C1", contact_hash(CLIO), "1", BASE.to_dict())}
    [action] = planned([CLIO], links, {"1": replace(LEDGER, version="2")})
    assert (action.op, action.kind, action.reason) == (Op.SKIP, KIND, "unchanged")


def test_customers_not_linked_are_never_pushed_to_clio() -> None:
    stranger: LedgerCustomer = ledger_customer("C9", "Sam Lee", "sam@example.com")
    [action] = planned([contact("5", "Sam Lee", "sam@example.com")], {}, {"5": stranger})
    assert action.kind == KIND and action.op is Op.CREATE
