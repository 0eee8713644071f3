"""The customer-import matcher: which QBO customer links to which Clio contact, and when to ask."""

from __future__ import annotations

from ledgerlink.domain import Contact
from ledgerlink.sync.flows.customer_import import (
    BookCustomer,
    Candidate,
    ImportRow,
    Proposal,
    contact_for,
    couple_members,
    name_keys,
    propose,
    resolve,
)
from ledgerlink.sync.ports import LedgerCustomer


def customer(
    qbo_id: str,
    name: str,
    email: str | None = None,
    *,
    given: str | None = None,
    family: str | None = None,
    company: str | None = None,
    active: bool = True,
    job: bool = False,
) -> BookCustomer:
    shown = name if active else f"{name} (deleted)"
    return BookCustomer(
        LedgerCustomer(qbo_id, shown, email, active, "0", given_name=given, family_name=family), company, job
    )


def person(contact_id: str, first: str, last: str, email: str | None = None) -> Contact:
    return Contact(contact_id, f"{first} {last}", False, first, last, email)


def company(contact_id: str, name: str, email: str | None = None) -> Contact:
    return Contact(contact_id, name, True, email=email)


def one(
    book: BookCustomer,
    contacts: list[Contact],
    holders: dict[str, str] | None = None,
    linked: dict[str, str] | None = None,
) -> ImportRow:
    (row,) = propose([book], contacts, linked or {}, holders or {})
    return row


def test_name_keys_ignore_punctuation_case_suffix_and_comma_order() -> None:
    assert name_keys("Acme, Inc.") & name_keys("ACME Inc")
    assert name_keys("Smith, John") & name_keys("John Smith")
    assert name_keys("Smith & Jones") & name_keys("smith and jones")
    assert not name_keys("Acme Holdings") & name_keys("Acme Inc")


def test_couple_names_in_both_orders_name_both_people() -> None:
    both = frozenset({"john smith", "jane smith"})
    assert couple_members("John & Jane Smith") == both
    assert couple_members("Smith, John and Jane") == both
    assert couple_members("John Smith and Jane Smith") == both
    assert couple_members("Smith and Jones LLP") == frozenset()
    assert couple_members("Dana Whitfield") == frozenset()


def test_same_name_and_email_links() -> None:
    row = one(
        customer("1", "Dana Whitfield", "dana@example.com"),
        [person("7", "Dana", "Whitfield", "DANA@example.com")],
    )
    assert row == ImportRow(
        Proposal.LINK, "1", "Dana Whitfield", "same name and e-mail", "7", "Dana Whitfield"
    )


def test_same_name_different_email_asks_with_the_candidate() -> None:
    row = one(customer("1", "Dana Whitfield", "dana@a.com"), [person("7", "Dana", "Whitfield", "dana@b.com")])
    assert row.action is Proposal.ASK
    assert "e-mail differs" in row.reason
    assert row.candidates == (Candidate("7", "Dana Whitfield", "dana@b.com"),)


def test_married_couple_links_to_the_spouse_with_the_customers_email() -> None:
    contacts = [
        person("7", "John", "Smith", "smiths@example.com"),
        person("8", "Jane", "Smith", "jane@work.com"),
    ]
    for name in ("John & Jane Smith", "Smith, John and Jane"):
        row = one(customer("1", name, "smiths@example.com"), contacts)
        assert (row.action, row.clio_id) == (Proposal.LINK, "7"), name
        assert "couple" in row.reason


def test_married_couple_without_matching_email_asks() -> None:
    row = one(
        customer("1", "John & Jane Smith", "smiths@example.com"), [person("7", "John", "Smith", "j@x.com")]
    )
    assert row.action is Proposal.ASK
    assert [c.contact_id for c in row.candidates] == ["7"]


def test_company_names_match_across_punctuation_and_suffix() -> None:
    row = one(customer("1", "Acme, Inc.", "ap@acme.com", company="Acme, Inc."), [company("7", "ACME Inc")])
    assert (row.action, row.clio_id) == (Proposal.LINK, "7")


def test_company_in_qbo_and_person_in_clio_of_the_same_name_asks() -> None:
    row = one(customer("1", "Jordan Lee", company="Jordan Lee"), [person("7", "Jordan", "Lee")])
    assert row.action is Proposal.ASK
    assert "a Company in QuickBooks, a Person in Clio" in row.reason


def test_clio_contact_named_like_a_qbo_vendor_is_never_linked_as_customer() -> None:
    row = one(
        customer("1", "Hartley Couriers Ltd", company="Hartley Couriers Ltd"),
        [company("7", "Hartley Couriers")],
        holders={"hartley couriers": "vendor"},
    )
    assert row.action is Proposal.ASK
    assert row.clio_id is None
    assert "QuickBooks vendor" in row.reason


def test_no_lookalike_creates_a_person_or_company() -> None:
    assert one(customer("1", "Nadia Okafor", given="Nadia", family="Okafor"), []).action is Proposal.CREATE
    acme = customer("2", "Acme Inc", company="Acme Inc")
    assert contact_for(acme) == Contact("", "Acme Inc", True)
    nadia = customer("1", "Nadia Okafor", "n@o.com", given="Nadia", family="Okafor")
    assert contact_for(nadia) == Contact("", "Nadia Okafor", False, "Nadia", "Okafor", "n@o.com")


def test_inactive_jobs_and_linked_customers_are_not_proposed() -> None:
    rows = propose(
        [
            customer("1", "Old Client", active=False),
            customer("2", "Smith:Estate", job=True),
            customer("3", "Dana Whitfield"),
        ],
        [person("7", "Dana", "Whitfield")],
        {"3": "7"},
        {},
    )
    assert [(r.action, r.reason) for r in rows] == [
        (Proposal.SKIP, "inactive in QuickBooks: not imported"),
        (Proposal.SKIP, "a sub-customer (job) in QuickBooks: a matter, not a client; not imported"),
        (Proposal.LINKED, "linked already: nothing to do"),
    ]
    (inactive,) = propose([customer("1", "Old Client", active=False)], [], {}, {}, include_inactive=True)
    assert (inactive.action, inactive.qbo_name) == (Proposal.CREATE, "Old Client")


def test_one_contact_matching_two_customers_is_asked_for_both() -> None:
    rows = propose(
        [customer("1", "Dana Whitfield"), customer("2", "Whitfield, Dana")],
        [person("7", "Dana", "Whitfield")],
        {},
        {},
    )
    assert [r.action for r in rows] == [Proposal.ASK, Proposal.ASK]


def test_a_linked_contact_is_no_candidate_for_another_customer() -> None:
    row = one(customer("2", "Dana Whitfield"), [person("7", "Dana", "Whitfield")], linked={"1": "7"})
    assert row.action is Proposal.CREATE


def test_resolve_links_a_create_whose_contact_exists_now_and_refuses_undecided_rows() -> None:
    reviewed = [
        ImportRow(Proposal.CREATE, "1", "Nadia Okafor", "new"),
        ImportRow(Proposal.ASK, "2", "Dana Whitfield", "?"),
        ImportRow(Proposal.LINK, "3", "Acme", "chosen", "99"),
    ]
    fresh = [
        ImportRow(Proposal.LINK, "1", "Nadia Okafor", "same name and e-mail", "7", "Nadia Okafor"),
        ImportRow(Proposal.ASK, "2", "Dana Whitfield", "?"),
        ImportRow(Proposal.CREATE, "3", "Acme", "new"),
    ]
    steps = resolve(reviewed, fresh, ["7"])
    assert [(s.op, s.contact_id) for s in steps] == [("link", "7"), ("error", None), ("error", None)]
    assert steps[2].message == "Clio has no contact 99"
