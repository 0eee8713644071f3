"""Clio's side of the hard-cost import: who the entries belong to, where they go, and writing them.

Reads the user an entry is assigned to (the configured one, else the primary subscriber:
``account_owner``, reference §3.1), the Clio contact and open matters of a QBO customer, the
current state of linked entries (``billed``), and finds an entry a lost answer may have created by
the ``[QBO Purchase <id>]`` marker in its note (Clio's ``query`` searches notes, §3.6). Writes
entries with POST/PATCH/DELETE ``/activities.json`` and finds or creates the vendor's contact.

Assumptions:

- A hard cost's vendor must be a Clio contact (``vendor{id}``, §3.6). The vendor is the Clio
  contact whose name equals the QBO vendor's (case- and space-insensitive); if none, a Company
  contact of that name is created (POST /contacts.json, §3.2). Looking by name first makes a
  repeat after a lost answer find the contact instead of doubling it.
- An ExpenseEntry takes neither ``vendor`` nor ``reference`` (the spec gives both to
  HardCostEntry only), so for one the vendor and cheque number go into the note.
- Closed matters take no new costs; only Open and Pending matters are offered.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable
from typing import Any

from ledgerlink.errors import ConfigError, NotFoundError
from ledgerlink.providers.clio.client import ClioClient
from ledgerlink.providers.clio.wire import ClioActivity, ClioMatter
from ledgerlink.sync.flows.hard_costs import ClioEntry, ClioMatterChoice, CustomerInClio, HardCost
from ledgerlink.sync.ports import fold


class ClioHardCosts:
    """The Clio reads and writes of one hard-cost import run (vendor contacts cached per run)."""

    def __init__(self, client: ClioClient) -> None:
        self._client = client
        self._vendors: dict[str, int] = {}

    def user_id(self, wanted: str) -> str:
        """The Clio user named or e-mailed ``wanted``; empty: the primary subscriber (account owner)."""
        users = [u for u in self._client.users() if u.enabled]
        if wanted:
            key = fold(wanted)
            found = [u for u in users if key in (fold(u.name or ""), fold(u.email or ""))]
            if not found:
                raise ConfigError(
                    f"No enabled Clio user is named or e-mailed '{wanted}' ([import.hard_costs] clio_user).",
                    remedy="Set clio_user to a Clio user's full name or e-mail, or leave it empty for the "
                    "primary subscriber.",
                )
            return str(found[0].id)
        owner = next((u for u in users if u.account_owner), None)
        if owner is None:
            raise ConfigError(
                "Clio names no primary subscriber (account owner) to assign hard costs to.",
                remedy="Set [import.hard_costs] clio_user to the Clio user who should own imported costs.",
            )
        return str(owner.id)

    def customers(
        self, names: dict[str, str], linked: dict[str, str], chosen: dict[str, str]
    ) -> dict[str, CustomerInClio]:
        """QBO customer id → its Clio contact and open matters.

        ``names``: customer id → display name; ``linked``: customer id → Clio contact id (contact
        links); ``chosen``: customer id → Clio matter id (matter_choice links).
        """
        contacts: dict[str, str | None] = {}
        problems: dict[str, str] = {}
        for customer_id, name in names.items():
            if customer_id in linked:
                contacts[customer_id] = linked[customer_id]
                continue
            same = [c for c in self._client.contacts_matching(name) if fold(c.name or "") == fold(name)]
            contacts[customer_id] = str(same[0].id) if len(same) == 1 else None
            if len(same) > 1:
                problems[customer_id] = (
                    f"{len(same)} Clio contacts are named {name} ({', '.join(str(c.id) for c in same)})"
                )
        found = [int(c) for c in contacts.values() if c is not None]
        matters: dict[str, list[ClioMatter]] = {}
        for matter in self._client.matters_of(found):
            if matter.client is not None and matter.status != "Closed":
                matters.setdefault(str(matter.client.id), []).append(matter)
        return {
            customer_id: CustomerInClio(
                customer_id=customer_id,
                name=name,
                contact_id=contacts[customer_id],
                matters=tuple(
                    ClioMatterChoice(str(m.id), _matter_label(m))
                    for m in matters.get(contacts[customer_id] or "", [])
                ),
                chosen=chosen.get(customer_id),
                problem=problems.get(customer_id),
            )
            for customer_id, name in names.items()
        }

    def entries(self, activity_ids: Collection[str]) -> dict[str, ClioEntry]:
        """Linked entries as Clio has them now; one deleted in Clio is absent."""
        return {
            str(a.id): ClioEntry(str(a.id), a.billed, a.etag)
            for a in self._client.activities(int(i) for i in activity_ids)
        }

    def find_marked(self, cost_marker: str, matter_id: str) -> ClioActivity | None:
        """The entry on ``matter_id`` whose note ends with ``cost_marker`` (a write whose answer was lost)."""
        for activity in self._client.activities_noted(cost_marker, matter_id=int(matter_id)):
            if (activity.note or "").rstrip().endswith(cost_marker):
                return activity
        return None

    def create(self, cost: HardCost) -> ClioActivity:
        return self._client.create_activity({"type": cost.entry_type, **self._body(cost)})

    def update(self, activity_id: str, cost: HardCost, *, etag: str | None) -> ClioActivity:
        return self._client.update_activity(int(activity_id), self._body(cost), etag=etag)

    def delete(self, activity_id: str) -> None:
        """Delete an entry; one already gone (deleted in Clio, or a repeat) is fine."""
        with contextlib.suppress(NotFoundError):
            self._client.delete_activity(int(activity_id))

    def _body(self, cost: HardCost) -> dict[str, Any]:
        note = cost.description
        body: dict[str, Any] = {
            "date": cost.date.isoformat(),
            "matter": {"id": int(cost.matter_id)},
            "user": {"id": int(cost.user_id)},
            "price": str(cost.amount),
        }
        if cost.entry_type == "HardCostEntry":
            body["vendor"] = {"id": self._vendor(cost.vendor) if cost.vendor else None}
            body["reference"] = cost.reference
        else:
            extra = [
                f"Vendor: {cost.vendor}" if cost.vendor else "",
                f"Check {cost.reference}" if cost.reference else "",
            ]
            note = " · ".join(part for part in (note, *extra) if part)
        body["note"] = f"{note}\n{cost.marker}"
        return body

    def _vendor(self, name: str) -> int:
        key = fold(name)
        if key not in self._vendors:
            same = [c for c in self._client.contacts_matching(name) if fold(c.name or "") == key]
            if same:
                self._vendors[key] = min(c.id for c in same)
            else:
                self._vendors[key] = self._client.create_contact({"type": "Company", "name": name}).id
        return self._vendors[key]


def _matter_label(matter: ClioMatter) -> str:
    parts: Iterable[str] = (p for p in (matter.display_number, matter.description) if p)
    return " ".join(parts) or f"matter {matter.id}"
