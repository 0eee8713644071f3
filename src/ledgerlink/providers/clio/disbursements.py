"""Clio hard costs (``HardCostEntry`` activities) as the Xero spend-money sync reads them.

Reads ``/activities.json?type=HardCostEntry`` with the client's cursor paging, asking for the
vendor, the matter with its client, the check reference, the note and the total (reference/clio.md
§3.6, §1.2): all of them, those updated after a moment (``updated_since``), or those with given ids.

Assumptions:

- Deletions are not visible through ``updated_since`` (reference §1 note 3, unverified; there is no
  tombstone): the caller re-reads the ids it has linked with :meth:`ClioDisbursements.by_ids`, and an
  id Clio no longer returns was deleted.
- The start date is applied here (on or after it), not with Clio's ``start_date`` filter, whose
  bounds (inclusive or not) the reference does not state.
- ``matter{id,display_number,client}`` returns the client's default fields, which include its name
  (second-level relations come back with their defaults, §1.2).
- A hard cost has only a total (§3.6); ``price`` stands in when Clio sends no ``total``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal

from ledgerlink.providers.clio.client import ClioClient, Params
from ledgerlink.providers.clio.wire import ClioActivity, ClioMatterOfClient, ClioNamed
from ledgerlink.sync.flows.spend_money import Disbursement

HARD_COST = "HardCostEntry"
HARD_COST_FIELDS = (
    "id,etag,type,date,price,total,note,reference,vendor{id,name},matter{id,display_number,client},updated_at"
)


class ClioHardCostEntry(ClioActivity):
    """A HardCostEntry activity with its matter's client (one level further down)."""

    matter: ClioMatterOfClient | None = None


def disbursement_from_clio(entry: ClioHardCostEntry) -> Disbursement | None:
    """The entry as the flow reads it; None for one without a date (Clio requires one)."""
    if entry.date is None:
        return None
    matter = entry.matter
    client = matter.client if matter is not None else None
    amount = entry.total if entry.total is not None else entry.price
    return Disbursement(
        activity_id=str(entry.id),
        date=entry.date,
        amount=amount if amount is not None else Decimal(0),
        note=(entry.note or "").strip(),
        reference=(entry.reference or "").strip() or None,
        vendor_id=str(entry.vendor.id) if entry.vendor is not None else None,
        vendor_name=_name(entry.vendor),
        matter=matter.display_number if matter is not None else None,
        client=_name(client),
    )


def _name(named: ClioNamed | None) -> str | None:
    text = (named.name or "").strip() if named is not None else ""
    return text or None


class ClioDisbursements:
    """The hard-cost reads of one spend-money run."""

    def __init__(self, client: ClioClient) -> None:
        self._client = client

    def changed_since(self, since: dt.datetime | None, *, dated_from: dt.date) -> list[Disbursement]:
        """Hard costs dated on/after ``dated_from``: every one, or those updated after ``since``."""
        params: Params = [("type", HARD_COST)]
        if since is not None:
            if since.tzinfo is None:
                raise ValueError("since must be timezone-aware")
            params.append(("updated_since", since.isoformat()))
        return [d for d in self._read(params, None) if d.date >= dated_from]

    def by_ids(self, ids: Iterable[str]) -> tuple[list[Disbursement], set[str]]:
        """The hard costs with these ids, and the ids Clio no longer has (deleted, see the docstring)."""
        wanted = {str(i) for i in ids}
        if not wanted:
            return [], set()
        entries = list(self._entries([("type", HARD_COST)], sorted(int(i) for i in wanted)))
        found = [cost for entry in entries if (cost := disbursement_from_clio(entry)) is not None]
        return found, wanted - {str(entry.id) for entry in entries}

    def _read(self, params: Params, ids: Iterable[int] | None) -> Iterator[Disbursement]:
        for entry in self._entries(params, ids):
            if (cost := disbursement_from_clio(entry)) is not None:
                yield cost

    def _entries(self, params: Params, ids: Iterable[int] | None) -> Iterator[ClioHardCostEntry]:
        # The client's own cursor paging (order=id(asc), meta.paging.next; ids[] in chunks).
        entries = self._client._list(ClioHardCostEntry, "activities.json", HARD_COST_FIELDS, params, ids=ids)
        return (entry for entry in entries if entry.type == HARD_COST)
