"""Contacts: Clio clients whose names would clash with what QuickBooks Online already holds.

QuickBooks keeps one DisplayName across customers, vendors and employees, inactive ones included
(qbo.md §2.1), and a sync links a Clio client to an existing customer of the same name instead of
creating a duplicate (:mod:`ledgerlink.sync.flows.contacts`). These checks predict, for the Clio
clients not linked yet, what that first sync will meet, with the flow's own matching rules:
names compared case- and space-insensitively, the customer's " (deleted)" suffix ignored, and a
candidate's e-mail compatible when either side has none.

Assumption: every contact marked as a client in Clio may be pushed (a sync pushes those with an
approved bill); reading the clients is one paged request, reading their bills would be many.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ledgerlink.doctor.model import CONTACTS, Check, fail, ok, warn
from ledgerlink.domain import Contact
from ledgerlink.sync.flows.contacts import customer_key, emails_agree
from ledgerlink.sync.ports import LedgerCustomer, fold

SHOWN_NAMES = 4


def _listed(customers: Sequence[LedgerCustomer]) -> str:
    return ", ".join(f"“{c.display_name}” (id {c.id})" for c in customers)


def contact_checks(
    clients: Sequence[Contact],
    links: Mapping[str, str],
    customers: Sequence[LedgerCustomer],
    name_holders: Mapping[str, str],
    *,
    display_name: Callable[[Contact], str],
    ledger_title: str,
) -> list[Check]:
    """What the first sync of each unlinked client will meet; one ✓ line when nothing.

    ``links``: Clio contact id → ledger customer id, for the clients already linked;
    ``name_holders``: folded vendor/employee name → "vendor" / "employee".
    """
    by_name: dict[str, list[LedgerCustomer]] = {}
    for customer in customers:
        by_name.setdefault(customer_key(customer), []).append(customer)
    linked_targets = set(links.values())
    unlinked = sorted((c for c in clients if c.source_id not in links), key=lambda c: fold(display_name(c)))
    checks: list[Check] = []
    reported: set[str] = set()
    clio_names: dict[str, list[Contact]] = {}
    for contact in unlinked:
        name = display_name(contact)
        key = fold(name)
        clio_names.setdefault(key, []).append(contact)
        found = by_name.get(key, [])
        problem = _clash(contact, name, name_holders.get(key), found, linked_targets, ledger_title)
        if problem is not None:
            checks.append(problem)
            reported.add(key)
    for key, same in clio_names.items():
        if len(same) > 1 and key not in name_holders:
            ids = ", ".join(c.source_id for c in same)
            checks.append(
                fail(
                    "contacts.clio_duplicates",
                    CONTACTS,
                    f"{len(same)} Clio clients are named “{display_name(same[0])}” (Clio ids {ids}): "
                    f"{ledger_title} allows a customer name once, so only one of them can be synced",
                    "make the names distinct in Clio (e.g. add a middle initial or the company)",
                )
            )
    for key, group in by_name.items():
        if len(group) > 1 and key not in reported:
            checks.append(
                warn(
                    "contacts.duplicate_customers",
                    CONTACTS,
                    f"{ledger_title} customers named alike: {_listed(group[:SHOWN_NAMES])}"
                    + (" …" if len(group) > SHOWN_NAMES else ""),
                    f"merge or rename them in {ledger_title}: a Clio client of that name is linked to the "
                    "first one",
                )
            )
    if not checks:
        checks.append(
            ok(
                "contacts",
                CONTACTS,
                f"contacts: no name clash for the {len(unlinked)} Clio client(s) not yet in {ledger_title}",
            )
        )
    return checks


def _clash(
    contact: Contact,
    name: str,
    holder: str | None,
    found: Sequence[LedgerCustomer],
    linked_targets: set[str],
    title: str,
) -> Check | None:
    """What a sync will meet for one unlinked client, in the flow's order; None when it simply creates."""
    who = f"Clio client “{name}”"
    if holder is not None:
        return fail(
            "contacts.name_held",
            CONTACTS,
            f"{who}: the name is held by a {title} {holder}, so the customer cannot be created",
            f"rename the {holder} in {title} (e.g. add “({holder})”) or the contact in Clio",
        )
    if not found:
        return None
    first = found[0]
    if first.id in linked_targets:
        return fail(
            "contacts.linked_elsewhere",
            CONTACTS,
            f"{who}: the {title} customer of that name (id {first.id}) is linked to another Clio contact",
            "make the names distinct in Clio (e.g. add a middle initial or the company)",
        )
    if not emails_agree(first.email, contact.email):
        return fail(
            "contacts.email_differs",
            CONTACTS,
            f"{who}: {title} has a customer of that name with e-mail {first.email}, but Clio has "
            f"{contact.email}",
            f"if they are the same client, make the e-mails match in Clio or {title}; if not, rename one",
        )
    if len(found) > 1:
        return warn(
            "contacts.duplicate_customers",
            CONTACTS,
            f"{who}: {len(found)} {title} customers are named alike ({_listed(found[:SHOWN_NAMES])}); "
            f"the sync links the client to the first, id {first.id}",
            f"merge the duplicates in {title} (or rename all but the right one) before syncing",
        )
    if not first.active:
        return warn(
            "contacts.inactive_customer",
            CONTACTS,
            f"{who}: {title} has an inactive customer of that name (id {first.id}); the sync links the "
            "client to it and makes it active again",
            "if it is another person, rename one of them before syncing",
        )
    return None  # an active customer of that name and e-mail: the sync links to it, as it should
