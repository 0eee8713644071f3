"""Contacts flow: which Clio contacts become, match or update ledger customers.

A contact is pushed once it has an approved bill. Before creating, an existing customer (active
or not) with the same name and a compatible e-mail is linked instead, so the books never get a
duplicate. A name already held by a vendor or employee is an error with a remedy, not a retry loop.

Once linked, contacts are two-way: :func:`ledgerlink.sync.flows.contact_merge.merge_actions`
turns this plan's actions for contacts whose customer was edited in the ledger into a field-by-field
merge. Customers that exist only in the ledger are never pushed to Clio.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from ledgerlink.domain import Contact
from ledgerlink.errors import RecordError
from ledgerlink.sync.plan import Action, Op, content_hash
from ledgerlink.sync.ports import LedgerCustomer, LinkView, fold

KIND = "contact"
DELETED_SUFFIX = " (deleted)"


def contact_label(contact: Contact) -> str:
    return f"Contact {contact.name}"


def contact_hash(contact: Contact) -> str:
    """Hash of what the ledger shows of a contact (not of Clio's bookkeeping fields)."""
    return content_hash({**vars(contact), "updated_at": None})


def customer_name(customer: LedgerCustomer) -> str:
    """The customer's name as the firm typed it: QBO's " (deleted)" on an inactive customer dropped."""
    name = customer.display_name
    if not customer.active and name.endswith(DELETED_SUFFIX):
        name = name[: -len(DELETED_SUFFIX)]
    return name


def customer_key(customer: LedgerCustomer) -> str:
    """What a customer's name is matched on (case and spacing ignored)."""
    return fold(customer_name(customer))


def _email(value: str | None) -> str | None:
    return value.strip().casefold() if value and value.strip() else None


def emails_agree(a: str | None, b: str | None) -> bool:
    """Equal, or missing on one side (then the name decides): how a contact matches a customer."""
    return _email(a) is None or _email(b) is None or _email(a) == _email(b)


def same_email(a: str | None, b: str | None) -> bool:
    """Present on both sides and equal."""
    return _email(a) is not None and _email(a) == _email(b)


def plan_contacts(
    contacts: Sequence[Contact],
    links: Mapping[str, LinkView],
    customers: Sequence[LedgerCustomer],
    name_holders: Mapping[str, str],
    *,
    display_name: Callable[[Contact], str],
    ledger_title: str,
    name_clash_help: str = "",
) -> list[Action]:
    """Decide, for each contact that needs to be in the ledger, create / update / link / skip / fail.

    ``name_clash_help``: the ledger's own way out of a name held by another customer, if it has one.
    """
    by_name: dict[str, list[LedgerCustomer]] = {}
    for customer in customers:
        by_name.setdefault(customer_key(customer), []).append(customer)
    linked_targets: dict[str, str] = {link.target_id: source for source, link in links.items()}
    claimed: set[str] = set()  # targets matched earlier in this same plan

    actions: list[Action] = []
    for contact in contacts:
        label = contact_label(contact)
        digest = contact_hash(contact)
        link = links.get(contact.source_id)
        if link is not None:
            if link.content_hash == digest:
                actions.append(
                    Action(
                        Op.SKIP,
                        KIND,
                        contact.source_id,
                        label,
                        "unchanged",
                        target_id=link.target_id,
                        content_hash=digest,
                    )
                )
            else:
                actions.append(
                    Action(
                        Op.UPDATE,
                        KIND,
                        contact.source_id,
                        label,
                        "changed in Clio",
                        payload=contact,
                        target_id=link.target_id,
                        content_hash=digest,
                    )
                )
            continue
        actions.append(
            _plan_unlinked(
                contact,
                label,
                digest,
                by_name,
                linked_targets,
                claimed,
                name_holders,
                display_name(contact),
                ledger_title,
                name_clash_help,
            )
        )
    return actions


def _plan_unlinked(
    contact: Contact,
    label: str,
    digest: str,
    by_name: Mapping[str, Sequence[LedgerCustomer]],
    linked_targets: Mapping[str, str],
    claimed: set[str],
    name_holders: Mapping[str, str],
    name: str,
    ledger_title: str,
    name_clash_help: str = "",
) -> Action:
    key = fold(name)
    holder = name_holders.get(key)
    if holder is not None:
        return Action(
            Op.FAIL,
            KIND,
            contact.source_id,
            label,
            error=RecordError(
                cause="duplicate_name",
                message=f"The name “{name}” is already used by a {ledger_title} {holder}; "
                f"{ledger_title} requires customer, vendor and employee names to be unique.",
                remedy=f"Rename the {holder} in {ledger_title} (e.g. add “(vendor)”) or the contact in Clio; "
                "ledgerlink retries on the next pass.",
            ),
        )
    for candidate in by_name.get(key, ()):
        other = linked_targets.get(candidate.id)
        if other is not None or candidate.id in claimed:
            return Action(
                Op.FAIL,
                KIND,
                contact.source_id,
                label,
                error=RecordError(
                    cause="duplicate_name",
                    message=f"Two Clio contacts are named “{name}”; the {ledger_title} customer "
                    f"{candidate.id} is already linked to the other one"
                    + (f" (Clio contact {other})." if other else "."),
                    remedy="Make the names distinct in Clio (e.g. add a middle initial or the company).",
                ),
            )
        if not emails_agree(candidate.email, contact.email):
            return Action(
                Op.FAIL,
                KIND,
                contact.source_id,
                label,
                error=RecordError(
                    cause="ambiguous_match",
                    message=f"A {ledger_title} customer named “{name}” exists with e-mail {candidate.email}, "
                    f"but the Clio contact's e-mail is {contact.email}.",
                    remedy="If they are the same client, make the e-mails match in Clio or the ledger; "
                    "if not, rename one of them" + (f", {name_clash_help}" if name_clash_help else "") + ".",
                ),
            )
        claimed.add(candidate.id)
        how = "matched an existing customer by name and e-mail"
        if not candidate.active:
            how += " (inactive: it will be made active again)"
        return Action(
            Op.LINK,
            KIND,
            contact.source_id,
            label,
            how,
            payload=contact,
            target_id=candidate.id,
            content_hash=digest,
        )
    return Action(
        Op.CREATE,
        KIND,
        contact.source_id,
        label,
        "has an approved bill",
        payload=contact,
        content_hash=digest,
    )
