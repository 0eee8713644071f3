"""Customer import: which QuickBooks customers link to a Clio contact, become one, or need a person.

Firm360's "Import Clients" pulls every QBO customer into the practice system and duplicates the
clients the firm already has there. This plan proposes, per QBO customer, one of:

- ``link``: an existing Clio contact is the same client — same normalised name (punctuation,
  "&"/"and", "Last, First" order and company suffixes like "Inc." ignored) and an e-mail that
  agrees (equal, or missing on one side); or, for a married couple ("John & Jane Smith",
  "Smith, John and Jane"), one Clio Person named after one of them with the customer's e-mail;
- ``create``: no Clio contact looks like it: a new Person (given/family name) or Company
  (a CompanyName and no given or family name) is made from the customer;
- ``ask``: ambiguous — several candidates, a name that matches with a different e-mail, a Company
  in one system and a Person in the other, a couple member without the customer's e-mail, only
  the e-mail in common, or a Clio contact named exactly like a QBO *vendor* (it is that vendor's
  contact, never linked as a customer); the candidates are listed for the bookkeeper to choose;
- ``skip``: inactive in QuickBooks (unless asked for), or a sub-customer (a job: a matter, not a
  client);
- ``linked``: linked already (by an earlier import or sync): nothing to do.

A Clio contact already linked to another customer is never a candidate, and one contact proposed
for two customers turns both into ``ask``: an import never links two customers to one contact.

:func:`resolve` turns a reviewed proposal back into steps against a fresh plan, so re-applying a
file, or applying it after a crash, writes nothing twice: a customer linked meanwhile is done, and
a "create" whose contact now exists (made by a run that died before saving its link) links to it.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from ledgerlink.domain import Contact
from ledgerlink.sync.flows.contacts import customer_name, emails_agree, same_email
from ledgerlink.sync.ports import LedgerCustomer, fold

KIND = "contact"  # the contacts flow's link kind: imported contacts sync two-way like any other
INTENT_KIND = "contact_import"  # intent rows of contacts created in Clio by an import
MATTER_CHOICE_KIND = "matter_choice"  # source = QBO customer id, target = Clio matter id
INACTIVE_REASON = "inactive in QuickBooks: not imported"
SKIPPED_KIND = "customer_import_skip"  # source = target = QBO customer id the bookkeeper chose to skip

_LEGAL_SUFFIXES = frozenset(
    {
        "inc",
        "incorporated",
        "llc",
        "ltd",
        "limited",
        "corp",
        "corporation",
        "co",
        "company",
        "plc",
        "llp",
        "lp",
        "pc",
        "pllc",
        "pa",
        "gmbh",
    }
)


class Proposal(StrEnum):
    LINK = "link"
    CREATE = "create"
    ASK = "ask"
    SKIP = "skip"
    LINKED = "linked"


@dataclass(frozen=True)
class BookCustomer:
    """A QBO customer as the import sees it: the sync's view plus what tells a company from a person."""

    customer: LedgerCustomer
    company_name: str | None = None
    is_job: bool = False

    @property
    def id(self) -> str:
        return self.customer.id

    @property
    def name(self) -> str:
        """The display name as the firm typed it (QBO's " (deleted)" on inactive customers dropped)."""
        return customer_name(self.customer)

    @property
    def is_person(self) -> bool:
        return bool(self.customer.given_name or self.customer.family_name)

    @property
    def is_company(self) -> bool:
        return bool(self.company_name) and not self.is_person


@dataclass(frozen=True)
class Candidate:
    contact_id: str
    name: str
    email: str | None = None


@dataclass(frozen=True)
class ImportRow:
    """One line of the proposal: what to do with one QBO customer, and why."""

    action: Proposal
    qbo_id: str
    qbo_name: str
    reason: str
    clio_id: str | None = None
    clio_name: str | None = None
    candidates: tuple[Candidate, ...] = ()


# -- names ----------------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode() or text
    plain = plain.casefold().replace("&", " and ").replace("+", " and ")
    return re.sub(r"[^\w@]+", " ", plain).split()


def _without_suffix(words: list[str]) -> list[str]:
    trimmed = list(words)
    while len(trimmed) > 1 and trimmed[-1] in _LEGAL_SUFFIXES:
        trimmed.pop()
    if len(trimmed) > 1 and trimmed[0] == "the":
        trimmed.pop(0)
    return trimmed


def name_keys(name: str) -> frozenset[str]:
    """The keys under which two names are the same client.

    "ACME Inc" ≡ "Acme, Inc."; "Smith, John" ≡ "John Smith"; "Smith & Jones" ≡ "Smith and Jones".
    """
    keys: set[str] = set()
    words = _words(name)
    if not words:
        return frozenset()
    keys.add(" ".join(words))
    keys.add(" ".join(_without_suffix(words)))
    last, comma, rest = name.partition(",")
    rest_words = _words(rest)
    if comma and rest_words and not all(w in _LEGAL_SUFFIXES for w in rest_words):
        keys.add(" ".join(rest_words + _words(last)))
    return frozenset(keys)


def couple_members(name: str) -> frozenset[str]:
    """The two people a couple's name names.

    "John & Jane Smith" and "Smith, John and Jane" → {"john smith", "jane smith"}; empty otherwise.
    """
    members: set[str] = set()
    forms = [_words(name)]
    last, comma, rest = name.partition(",")
    if comma:
        forms.append(_words(rest) + _words(last))
    for words in forms:
        if words.count("and") != 1 or any(w in _LEGAL_SUFFIXES for w in words):
            continue
        at = words.index("and")
        left, right = words[:at], words[at + 1 :]
        if not left or len(right) < 2:
            continue
        surname = right[-1]
        members.add(" ".join(left + ([surname] if len(left) == 1 else [])))
        members.add(" ".join(right))
    return frozenset(members)


def _kind_clash(customer: BookCustomer, contact: Contact) -> bool:
    """A Company in one system and a Person in the other (a customer with neither says nothing)."""
    return (customer.is_company and not contact.is_company) or (customer.is_person and contact.is_company)


# -- planning -------------------------------------------------------------------------------------


def propose(
    customers: Sequence[BookCustomer],
    contacts: Sequence[Contact],
    linked: Mapping[str, str],
    name_holders: Mapping[str, str],
    *,
    include_inactive: bool = False,
    skipped: Collection[str] = (),
) -> list[ImportRow]:
    """The proposal for every QBO customer, in the ledger's order.

    ``linked``: QBO customer id → Clio contact id of the contact links already stored.
    ``name_holders``: folded names of QBO vendors and employees → "vendor" / "employee".
    ``skipped``: QBO customer ids the bookkeeper skipped in an applied proposal (not asked again).
    """
    by_id = {c.source_id: c for c in contacts}
    taken = set(linked.values())
    free = [c for c in contacts if c.source_id not in taken]
    indexed = [(c, name_keys(c.name)) for c in free]
    rows: list[ImportRow] = []
    for customer in customers:
        contact_id = linked.get(customer.id)
        if contact_id is not None:
            contact = by_id.get(contact_id)
            rows.append(
                ImportRow(
                    Proposal.LINKED,
                    customer.id,
                    customer.name,
                    "linked already: nothing to do",
                    contact_id,
                    contact.name if contact else None,
                )
            )
        elif customer.id in skipped:
            rows.append(
                ImportRow(Proposal.SKIP, customer.id, customer.name, "skipped by you in an earlier import")
            )
        elif customer.is_job:
            rows.append(
                ImportRow(
                    Proposal.SKIP,
                    customer.id,
                    customer.name,
                    "a sub-customer (job) in QuickBooks: a matter, not a client; not imported",
                )
            )
        elif not customer.customer.active and not include_inactive:
            rows.append(ImportRow(Proposal.SKIP, customer.id, customer.name, INACTIVE_REASON))
        else:
            rows.append(_propose_one(customer, indexed, name_holders))
    return _no_shared_contacts(rows)


def _propose_one(
    customer: BookCustomer,
    indexed: Sequence[tuple[Contact, frozenset[str]]],
    name_holders: Mapping[str, str],
) -> ImportRow:
    keys = set(name_keys(customer.name))
    given = " ".join(p for p in (customer.customer.given_name, customer.customer.family_name) if p)
    for other in (given, customer.company_name or ""):
        if other:
            keys |= name_keys(other)
    members = set() if customer.is_company else set(couple_members(customer.name))
    email = customer.customer.email

    vendors: list[tuple[Contact, str]] = []
    whole: list[Contact] = []
    member: list[Contact] = []
    by_email: list[Contact] = []
    for contact, contact_keys in indexed:
        holder = name_holders.get(fold(contact.name))
        if contact_keys & keys or contact_keys & members:
            if holder is not None:
                vendors.append((contact, holder))
            elif contact_keys & keys:
                whole.append(contact)
            else:
                member.append(contact)
        elif same_email(contact.email, email) and holder is None:
            by_email.append(contact)

    def row(
        action: Proposal, reason: str, chosen: Contact | None = None, *, pool: Iterable[Contact] = ()
    ) -> ImportRow:
        return ImportRow(
            action,
            customer.id,
            customer.name,
            reason,
            chosen.source_id if chosen else None,
            chosen.name if chosen else None,
            tuple(Candidate(c.source_id, c.name, c.email) for c in pool),
        )

    if whole:
        if len(whole) > 1:
            same = [c for c in whole if same_email(c.email, email)]
            if len(same) == 1 and not _kind_clash(customer, same[0]):
                return row(Proposal.LINK, "same name and e-mail (other contacts share the name)", same[0])
            return row(Proposal.ASK, f"{len(whole)} Clio contacts have this name", pool=whole)
        contact = whole[0]
        if not emails_agree(contact.email, email):
            return row(
                Proposal.ASK,
                f"same name, but the e-mail differs ({email} in QuickBooks, {contact.email} in Clio)",
                pool=whole,
            )
        if _kind_clash(customer, contact):
            if same_email(contact.email, email):
                return row(
                    Proposal.LINK,
                    "same name and e-mail (a Company on one side, a Person on the other)",
                    contact,
                )
            what = (
                "a Company in QuickBooks, a Person in Clio"
                if customer.is_company
                else "a Person in QuickBooks, a Company in Clio"
            )
            return row(Proposal.ASK, f"same name, but {what}", pool=whole)
        how = (
            "same name and e-mail" if same_email(contact.email, email) else "same name (no e-mail to compare)"
        )
        return row(Proposal.LINK, how, contact)
    if member:
        same = [c for c in member if same_email(c.email, email)]
        if len(same) == 1:
            return row(Proposal.LINK, f"a couple: Clio's {same[0].name} has the customer's e-mail", same[0])
        return row(
            Proposal.ASK,
            "a couple: Clio has a contact for one of them; link it or create the couple",
            pool=member,
        )
    if by_email:
        return row(Proposal.ASK, "a Clio contact with another name has the same e-mail", pool=by_email)
    if vendors:
        contact, holder = vendors[0]
        return row(
            Proposal.ASK,
            f"the Clio contact {contact.name} (id {contact.source_id}) has the name of a QuickBooks "
            f"{holder}: not linked as a customer; choose create or skip",
        )
    kind = "Company" if customer.is_company else "Person"
    return row(Proposal.CREATE, f"no Clio contact like it: a new {kind}")


def _no_shared_contacts(rows: list[ImportRow]) -> list[ImportRow]:
    """One Clio contact proposed for two customers: neither is linked, both are asked."""
    claims = Counter(r.clio_id for r in rows if r.action is Proposal.LINK)
    return [
        replace(
            r,
            action=Proposal.ASK,
            reason=f"{r.reason}; but the Clio contact also matches another QuickBooks customer",
            candidates=(Candidate(r.clio_id, r.clio_name or ""),),
            clio_id=None,
            clio_name=None,
        )
        if r.action is Proposal.LINK and r.clio_id is not None and claims[r.clio_id] > 1
        else r
        for r in rows
    ]


def contact_for(customer: BookCustomer) -> Contact:
    """The Clio contact an import creates for a customer: a Company, or a Person by given/family name."""
    c = customer.customer
    if customer.is_company:
        return Contact(
            source_id="", name=customer.name, is_company=True, email=c.email, phone=c.phone, address=c.address
        )
    first, last = c.given_name, c.family_name
    if not first and not last:
        first, _, last = customer.name.strip().rpartition(" ")
        first, last = (first, last) if first else (last, None)
    name = " ".join(p for p in (first, last) if p)
    return Contact(
        source_id="",
        name=name,
        first_name=first or None,
        last_name=last or None,
        email=c.email,
        phone=c.phone,
        address=c.address,
    )


# -- applying a reviewed proposal -----------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """What applying one reviewed row does now: ``op`` link / create / none / error."""

    op: str
    row: ImportRow
    message: str
    contact_id: str | None = None


def resolve(
    reviewed: Sequence[ImportRow],
    fresh: Sequence[ImportRow],
    contact_ids: Iterable[str],
) -> list[Step]:
    """The steps for a reviewed proposal, checked against a plan made now (see the module docstring).

    ``contact_ids``: the Clio contacts that exist now.
    """
    now = {r.qbo_id: r for r in fresh}
    existing = set(contact_ids)
    linked_contacts = {r.clio_id for r in fresh if r.action is Proposal.LINKED}
    steps: list[Step] = []
    chosen: set[str] = set()
    for row in reviewed:
        current = now.get(row.qbo_id)
        if current is None:
            steps.append(Step("error", row, f"QuickBooks has no customer {row.qbo_id} any more"))
        elif current.action is Proposal.LINKED:
            steps.append(Step("none", row, "linked already", current.clio_id))
        elif row.action is Proposal.LINK:
            steps.append(_link_step(row, existing, linked_contacts, chosen))
        elif row.action is Proposal.CREATE:
            if (
                current.action is Proposal.LINK
                and current.clio_id is not None
                and current.clio_id not in chosen
            ):
                chosen.add(current.clio_id)
                steps.append(
                    Step("link", row, f"Clio has it now ({current.reason}): linked", current.clio_id)
                )
            else:
                steps.append(Step("create", row, "new Clio contact"))
        elif row.action is Proposal.ASK:
            steps.append(
                Step("error", row, "still to decide: set the action to link (with a Clio id), create or skip")
            )
        else:
            steps.append(Step("none", row, row.reason))
    return steps


def _link_step(
    row: ImportRow, existing: set[str], linked_contacts: set[str | None], chosen: set[str]
) -> Step:
    if not row.clio_id:
        return Step("error", row, "link needs the Clio contact id in clio_id")
    if row.clio_id not in existing:
        return Step("error", row, f"Clio has no contact {row.clio_id}")
    if row.clio_id in linked_contacts or row.clio_id in chosen:
        return Step(
            "error", row, f"Clio contact {row.clio_id} is already linked to another QuickBooks customer"
        )
    chosen.add(row.clio_id)
    return Step("link", row, "linked", row.clio_id)
