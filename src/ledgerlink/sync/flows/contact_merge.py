"""Two-way contacts: a linked contact's Clio and ledger sides merged field by field.

The seed: "Once synced, if you update a Clio Contact in either application it will be updated in
the other." The fields that flow both ways are the name, e-mail, phone and address. Each is
compared with the snapshot of the last sync, a *three-way* merge:

- changed only in the ledger → it goes to Clio;
- changed only in Clio → it goes to the ledger;
- changed on both sides to different values → Clio's value is kept (and goes to the ledger), and
  the field is named as a conflict;
- equal on both sides, or changed nowhere → nothing.

:func:`merge_actions` turns the contacts flow's plan for contacts whose customer was edited in the
ledger into a merge: a ``contact_writeback`` action with the :class:`ContactEdit` for Clio (the
engine calls ``Source.update_contact``) and/or the usual contact update with Clio's values, the
conflicts in its reason and notice. Customers that exist only in the ledger are never pushed to
Clio: only linked contacts are merged.

The snapshot keeps each side as that side stored it (the ledger's view as QBO returned it after
its own normalising: its display name, the " (deleted)" suffix dropped), so a normalisation on one
side is never mistaken for an edit. A Person's name edited in the ledger becomes first and last
name in Clio; a Company's becomes its name.

Assumptions:

- Without a snapshot (a link made before two-way contacts) there is no base: nothing goes to
  Clio, and every field that differs takes Clio's value.
- A Person's name in the ledger is its given and family name when those changed, or when they
  make up the display name; otherwise (only the display name was edited) the display name is split
  on its last space: "Mary Ann Smith" → "Mary Ann" / "Smith".
- A field removed in the ledger is removed in Clio: an empty e-mail or phone, an empty address.
- E-mails compare without case; names compare without case or extra spaces.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from ledgerlink.domain import Address, Contact, ContactEdit
from ledgerlink.sync.flows.contacts import KIND, contact_hash, contact_label, customer_name
from ledgerlink.sync.plan import Action, Op
from ledgerlink.sync.ports import LedgerCustomer, LinkView, fold

WRITEBACK_KIND = "contact_writeback"  # an edit made in the ledger, written to the Clio contact
SNAPSHOT_VERSION = 2  # version 1 was {"hash", "name", "email"}: no base for a merge
FIELDS = ("name", "email", "phone", "address")
_ADDRESS_PARTS = tuple(f.name for f in fields(Address))


@dataclass(frozen=True)
class ContactSide:
    """What one side holds of the fields that flow both ways."""

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    address: Address | None = None

    @classmethod
    def of_contact(cls, contact: Contact) -> ContactSide:
        return cls(
            contact.name, contact.first_name, contact.last_name, contact.email, contact.phone, contact.address
        )

    @classmethod
    def of_customer(cls, customer: LedgerCustomer) -> ContactSide:
        return cls(
            customer_name(customer),
            customer.given_name,
            customer.family_name,
            customer.email,
            customer.phone,
            customer.address,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["address"] = asdict(self.address) if self.address is not None else None
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ContactSide:
        address = data.get("address")
        return cls(
            name=data.get("name"),
            first_name=data.get("first_name"),
            last_name=data.get("last_name"),
            email=data.get("email"),
            phone=data.get("phone"),
            address=Address(**{k: address.get(k) for k in _ADDRESS_PARTS}) if address else None,
        )


@dataclass(frozen=True)
class ContactSnapshot:
    """Both sides of a linked contact as they were when last synced: the base of the next merge."""

    clio: ContactSide
    ledger: ContactSide

    @classmethod
    def taken(cls, contact: Contact, customer: LedgerCustomer) -> ContactSnapshot:
        """The snapshot after a sync: Clio's contact and the customer as the ledger stored it."""
        return cls(ContactSide.of_contact(contact), ContactSide.of_customer(customer))

    def to_dict(self) -> dict[str, Any]:
        """The JSON of the store's snapshot column; ``name`` and ``email`` (Clio's) stay on top."""
        return {
            "version": SNAPSHOT_VERSION,
            "name": self.clio.name,
            "email": self.clio.email,
            "clio": self.clio.to_dict(),
            "ledger": self.ledger.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> ContactSnapshot | None:
        """The snapshot in a stored link, or None when the link has none a merge can use."""
        if not data or data.get("version") != SNAPSHOT_VERSION:
            return None
        return cls(ContactSide.from_dict(data["clio"]), ContactSide.from_dict(data["ledger"]))


@dataclass(frozen=True)
class Merge:
    """What a merge decided: the edit for Clio, whether the ledger needs Clio's contact, the conflicts."""

    to_clio: ContactEdit
    to_ledger: bool
    conflicts: tuple[str, ...] = ()
    from_ledger: tuple[str, ...] = ()  # fields taken from the ledger (in ``to_clio``)
    from_clio: tuple[str, ...] = ()  # fields that go to the ledger

    def conflict_notes(self) -> list[str]:
        return [f"{name} changed on both sides; Clio's value kept" for name in self.conflicts]


# -- comparing ------------------------------------------------------------------------------------


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    return " ".join(value.split()) or None


def _name_key(value: str | None) -> str | None:
    text = _text(value)
    return fold(text) if text else None


def _email_key(value: str | None) -> str | None:
    text = _text(value)
    return text.casefold() if text else None


def _address_key(address: Address | None) -> tuple[str | None, ...] | None:
    if address is None:
        return None
    parts = tuple(_text(getattr(address, part)) for part in _ADDRESS_PARTS)
    return parts if any(parts) else None


def _parts(side: ContactSide) -> tuple[str | None, str | None]:
    return _name_key(side.first_name), _name_key(side.last_name)


def _field_key(field_name: str, side: ContactSide) -> object:
    """What a field compares as, on one side, against the same side's snapshot."""
    if field_name == "name":
        return _name_key(side.name), _parts(side)
    if field_name == "email":
        return _email_key(side.email)
    if field_name == "phone":
        return _text(side.phone)
    return _address_key(side.address)


def ledger_person_name(now: ContactSide, base: ContactSide | None) -> tuple[str, str]:
    """A Person's first and last name from the ledger's customer (see the module's assumptions)."""
    given, family = _text(now.first_name), _text(now.last_name)
    if given or family:
        edited = base is not None and _parts(now) != _parts(base)
        whole = " ".join(part for part in (given, family) if part)
        if edited or fold(whole) == fold(now.name or ""):
            return given or "", family or ""
    first, _, last = (_text(now.name) or "").rpartition(" ")
    return (first, last) if first else (last, "")


def _edit_for(field_name: str, clio: Contact, now: ContactSide, base: ContactSide | None) -> ContactEdit:
    """The edit that gives Clio the ledger's value of one field."""
    if field_name == "name":
        if clio.is_company:
            return ContactEdit(name=_text(now.name) or "")
        first, last = ledger_person_name(now, base)
        return ContactEdit(first_name=first, last_name=last)
    if field_name == "email":
        return ContactEdit(email=_text(now.email) or "")
    if field_name == "phone":
        return ContactEdit(phone=_text(now.phone) or "")
    return ContactEdit(address=now.address if _address_key(now.address) else Address())


def _same_in_clio(field_name: str, clio: Contact, edit: ContactEdit) -> bool:
    """Whether Clio already holds what ``edit`` would write."""
    after = ContactSide.of_contact(apply_edit(clio, edit))
    return _field_key(field_name, after) == _field_key(field_name, ContactSide.of_contact(clio))


def _combine(edits: list[ContactEdit]) -> ContactEdit:
    values: dict[str, Any] = {}
    for edit in edits:
        values.update({k: v for k, v in vars(edit).items() if v is not None})
    return ContactEdit(**values)


def merge(base: ContactSnapshot | None, clio: Contact, ledger: LedgerCustomer) -> Merge:
    """Merge a linked contact's two sides against the last sync's snapshot, field by field."""
    clio_now, ledger_now = ContactSide.of_contact(clio), ContactSide.of_customer(ledger)
    edits: list[ContactEdit] = []
    from_ledger: list[str] = []
    from_clio: list[str] = []
    conflicts: list[str] = []
    for name in FIELDS:
        edit = _edit_for(name, clio, ledger_now, base.ledger if base else None)
        if _same_in_clio(name, clio, edit):
            continue  # the two sides agree
        clio_changed = base is None or _field_key(name, clio_now) != _field_key(name, base.clio)
        ledger_changed = base is not None and _field_key(name, ledger_now) != _field_key(name, base.ledger)
        if ledger_changed and not clio_changed:
            edits.append(edit)
            from_ledger.append(name)
        elif clio_changed:
            from_clio.append(name)
            if ledger_changed:
                conflicts.append(name)
    return Merge(
        to_clio=_combine(edits),
        to_ledger=bool(from_clio),
        conflicts=tuple(conflicts),
        from_ledger=tuple(from_ledger),
        from_clio=tuple(from_clio),
    )


def apply_edit(contact: Contact, edit: ContactEdit) -> Contact:
    """The Clio contact as it is once ``edit`` is written to it (what the ledger should then show)."""
    changes: dict[str, Any] = {}
    if edit.name is not None:
        changes["name"] = edit.name
    if edit.first_name is not None or edit.last_name is not None:
        first = edit.first_name if edit.first_name is not None else contact.first_name
        last = edit.last_name if edit.last_name is not None else contact.last_name
        changes["first_name"], changes["last_name"] = first or None, last or None
        changes["name"] = " ".join(part for part in (first, last) if part)
    if edit.email is not None:
        changes["email"] = edit.email or None
    if edit.phone is not None:
        changes["phone"] = edit.phone or None
    if edit.address is not None:
        changes["address"] = edit.address if _address_key(edit.address) else None
    return replace(contact, **changes)


# -- snapshots in the store -----------------------------------------------------------------------


def snapshot(contact: Contact, customer: LedgerCustomer | None) -> dict[str, Any]:
    """The snapshot to store after writing ``contact`` to the ledger, which answered ``customer``.

    Without the ledger's answer there is no ledger side to compare with later: only the name and
    e-mail are kept, and the next merge treats the link as having no base (Clio's values win).
    """
    if customer is None:
        return {"name": contact.name, "email": contact.email}
    return ContactSnapshot.taken(contact, customer).to_dict()


def with_clio(stored: Mapping[str, Any] | None, contact: Contact) -> dict[str, Any]:
    """A stored snapshot whose Clio side is the contact as Clio holds it now (after a write-back)."""
    base = ContactSnapshot.from_dict(stored)
    if base is None:
        return {**(stored or {}), "name": contact.name, "email": contact.email}
    return replace(base, clio=ContactSide.of_contact(contact)).to_dict()


# -- planning -------------------------------------------------------------------------------------


def stored_snapshot(link: LinkView) -> Mapping[str, Any] | None:
    """The snapshot a stored link carries (the store's Link has one; a bare LinkView has none)."""
    value = getattr(link, "snapshot", None)
    return value if isinstance(value, Mapping) else None


def merge_actions(
    actions: Sequence[Action],
    contacts: Sequence[Contact],
    links: Mapping[str, LinkView],
    edited: Mapping[str, LedgerCustomer],
    *,
    ledger_title: str,
) -> list[Action]:
    """The contacts plan with a two-way merge for every linked contact whose customer the ledger edited.

    ``edited``: Clio contact id → the ledger customer as it is now (from the ledger's change
    feed). A contact whose two sides already agree keeps its one-way action (e.g. when the
    ledger's change was ledgerlink's own write). Customers not linked are ignored: nothing only in
    the ledger is ever pushed to Clio.
    """
    by_id = {contact.source_id: contact for contact in contacts}
    planned: list[Action] = []
    for action in actions:
        contact = by_id.get(action.source_id)
        link = links.get(action.source_id)
        customer = edited.get(action.source_id)
        if action.kind != KIND or contact is None or link is None or customer is None:
            planned.append(action)
            continue
        base = ContactSnapshot.from_dict(stored_snapshot(link))
        planned.extend(plan_merge(contact, link, customer, base, ledger_title=ledger_title) or [action])
    return planned


def plan_merge(
    contact: Contact,
    link: LinkView,
    customer: LedgerCustomer,
    base: ContactSnapshot | None,
    *,
    ledger_title: str,
) -> list[Action]:
    """The actions of one merge: Clio's values (and conflicts) to the ledger, the ledger's to Clio.

    Empty when the two sides agree on every field that flows.
    """
    result = merge(base, contact, customer)
    label = contact_label(contact)
    actions: list[Action] = []
    if result.to_ledger:
        merged = apply_edit(contact, result.to_clio)
        notes = result.conflict_notes()
        actions.append(
            Action(
                Op.UPDATE,
                KIND,
                contact.source_id,
                label,
                "; ".join(["changed in Clio: " + ", ".join(result.from_clio), *notes]),
                payload=merged,
                target_id=link.target_id,
                content_hash=contact_hash(merged),
                notice="; ".join(notes) or None,
            )
        )
    if not result.to_clio.empty:
        actions.append(
            Action(
                Op.UPDATE,
                WRITEBACK_KIND,
                contact.source_id,
                label,
                f"changed in {ledger_title}: " + ", ".join(result.from_ledger) + "; written to Clio",
                payload=result.to_clio,
                target_id=link.target_id,
            )
        )
    return actions
