"""What a QBO company keeps in step with its tables, so that no rule or read scans a whole table.

A first sync writes tens of thousands of records a few dozen at a time, and each write used to
look at every stored record at least once: for a duplicate name, the next DocNumber, what is
still open on an invoice (every payment in the books), a customer's balance; change data capture
rendered every record to keep those changed since. At 10,000 bills that made the emulator, not
ledgerlink, set a sync's pace. The indexes here answer the same questions from what each write
changed. Every index sees every write through :meth:`CompanyIndexes.stored` (a record was
created or changed, in place or replaced) and :meth:`CompanyIndexes.removed` (deleted), and
derives only from the record itself, so an index is right whatever it missed before.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Collection, Hashable, Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from ledgerlink.sandbox.qbo_entities import NAME_LIST_ENTITIES, payment_lines, reference_id
from ledgerlink.sandbox.qbo_query import Value, equality_keys, literal_keys
from ledgerlink.sandbox.qbo_query import lookup as query_lookup

Record = Mapping[str, Any]
Holder = tuple[str, str]  # (entity, Id)
#: the list entities whose ``Name`` is unique within each of them (6240)
NAMED_LISTS = ("Item", "Account", "TaxRate", "TaxCode")
#: the transactions that make up a customer's balance
RECEIVABLES = ("Invoice", "CreditMemo", "Payment")


def folded(value: object) -> str:
    """A name as uniqueness compares it: trimmed and case-insensitive."""
    return str(value).strip().casefold()


class Holders:
    """Which records of ``entities`` hold each value of one key (a folded name, a DocNumber).

    :meth:`holding` lists them in the order a scan of the tables meets them: entity by entity as
    given, then in the order the records were created.
    """

    def __init__(self, entities: Collection[str], key: Callable[[Record], Hashable | None]) -> None:
        self._rank = {entity: rank for rank, entity in enumerate(entities)}
        self._key = key
        self._holders: dict[Hashable, dict[Holder, tuple[int, int]]] = {}
        self._held: dict[Holder, Hashable] = {}
        self._arrival: dict[Holder, int] = {}
        self._arrivals = itertools.count()

    def stored(self, entity: str, record: Record) -> None:
        if entity not in self._rank:
            return
        holder = (entity, str(record["Id"]))
        self._release(holder)
        arrival = self._arrival.setdefault(holder, next(self._arrivals))
        value = self._key(record)
        if value is not None:
            self._holders.setdefault(value, {})[holder] = (self._rank[entity], arrival)
            self._held[holder] = value

    def removed(self, entity: str, record_id: str) -> None:
        self._release((entity, record_id))
        self._arrival.pop((entity, record_id), None)

    def holding(self, value: Hashable) -> list[Holder]:
        found = self._holders.get(value, {})
        return sorted(found, key=found.__getitem__)

    def _release(self, holder: Holder) -> None:
        value = self._held.pop(holder, None)
        if value is not None:
            del self._holders[value][holder]
            if not self._holders[value]:
                del self._holders[value]


def _display_name(record: Record) -> str:
    return folded(record.get("DisplayName", ""))


def _name(record: Record) -> str:
    return folded(record.get("Name", ""))


def _doc_number(record: Record) -> Hashable | None:
    value = record.get("DocNumber")
    return value if isinstance(value, Hashable) else None


class HighestNumber:
    """The highest all-digit DocNumber among the sales forms (the service continues from it)."""

    def __init__(self, entities: Collection[str]) -> None:
        self._entities = frozenset(entities)
        self._numbers: list[int] = []  # sorted, with repeats
        self._of: dict[Holder, int] = {}

    def stored(self, entity: str, record: Record) -> None:
        if entity not in self._entities:
            return
        holder = (entity, str(record["Id"]))
        self.removed(*holder)
        text = str(record.get("DocNumber", ""))
        if text.isascii() and text.isdigit():
            bisect.insort(self._numbers, int(text))
            self._of[holder] = int(text)

    def removed(self, entity: str, record_id: str) -> None:
        number = self._of.pop((entity, record_id), None)
        if number is not None:
            del self._numbers[bisect.bisect_left(self._numbers, number)]

    def highest(self) -> int | None:
        return self._numbers[-1] if self._numbers else None


class Receivables:
    """Every payment line per linked form, and per customer the invoices, credit memos and payments
    naming it: what open balances and customer balances are derived from when read."""

    def __init__(self) -> None:
        # (TxnType, TxnId) -> payment Id -> the amounts of that payment's lines linking it
        self._lines: dict[tuple[str, str], dict[str, list[Decimal]]] = {}
        self._links_of: dict[str, set[tuple[str, str]]] = {}
        self._forms: dict[str, dict[Holder, Record]] = {}
        self._customer_of: dict[Holder, str] = {}

    def stored(self, entity: str, record: Record) -> None:
        if entity not in RECEIVABLES:
            return
        holder = (entity, str(record["Id"]))
        self.removed(*holder)
        customer = reference_id(record, "CustomerRef")
        if customer is not None:
            self._forms.setdefault(customer, {})[holder] = record
            self._customer_of[holder] = customer
        if entity == "Payment":
            for link, amount in payment_lines(record):
                self._lines.setdefault(link, {}).setdefault(holder[1], []).append(amount)
                self._links_of.setdefault(holder[1], set()).add(link)

    def removed(self, entity: str, record_id: str) -> None:
        customer = self._customer_of.pop((entity, record_id), None)
        if customer is not None:
            del self._forms[customer][(entity, record_id)]
        if entity == "Payment":
            for link in self._links_of.pop(record_id, set()):
                del self._lines[link][record_id]
                if not self._lines[link]:
                    del self._lines[link]

    def applied(self, txn_type: str, txn_id: str) -> Decimal:
        """What every payment applies to one invoice or credit memo (payments in Id order)."""
        by_payment = self._lines.get((txn_type, txn_id), {})
        return sum((a for pid in sorted(by_payment, key=int) for a in by_payment[pid]), Decimal(0))

    def linking(self, txn_type: str, txn_id: str) -> tuple[str, ...]:
        """The ids of the payments applying a non-zero amount to the form, in Id order."""
        by_payment = self._lines.get((txn_type, txn_id), {})
        return tuple(pid for pid in sorted(by_payment, key=int) if any(by_payment[pid]))

    def of_customer(self, customer_id: str) -> list[tuple[str, Record]]:
        """``(entity, record)`` for each invoice, credit memo and payment of the customer."""
        return [(entity, record) for (entity, _), record in self._forms.get(customer_id, {}).items()]


class ChangeLog:
    """Per entity, the ids of live and deleted records ordered by ``MetaData.LastUpdatedTime``.

    A deleted record stays, under the time of its deletion (its tombstone's).
    """

    def __init__(self) -> None:
        self._entries: dict[str, list[tuple[datetime, int, str]]] = {}
        self._entry: dict[Holder, tuple[datetime, int, str]] = {}

    def stored(self, entity: str, record: Record) -> None:
        holder = (entity, str(record["Id"]))
        self._forget(holder)
        entry = (last_updated(record), int(holder[1]), holder[1])
        bisect.insort(self._entries.setdefault(entity, []), entry)
        self._entry[holder] = entry

    def changed_after(self, entity: str, since: datetime) -> list[str]:
        """Ids of the records last updated strictly after ``since``, oldest first (then by Id)."""
        entries = self._entries.get(entity, [])
        start = bisect.bisect_right(entries, since, key=lambda entry: entry[0])
        return [record_id for _, _, record_id in entries[start:]]

    def _forget(self, holder: Holder) -> None:
        entry = self._entry.pop(holder, None)
        if entry is not None:
            entries = self._entries[holder[0]]
            del entries[bisect.bisect_left(entries, entry)]


class PropertyLookups:
    """Per entity and queried property, the Ids of the records filed under each equality key
    (:func:`~ledgerlink.sandbox.qbo_query.equality_keys`): what ``=`` and ``IN`` conditions
    (``DocNumber IN (...)``, ``Id IN (...)``, ``TxnDate = ...``, ``CustomerRef = ...``) are answered from.

    A property gets its lookup the first time a query asks for it (one pass over the entity's
    records), and keeps it in step from then on.
    """

    def __init__(self) -> None:
        # (entity, lower-case property path) -> key -> Ids; None: filed under every key
        self._lookups: dict[tuple[str, str], dict[Hashable | None, set[str]]] = {}
        self._keys: dict[tuple[str, str, str], tuple[Hashable | None, ...]] = {}

    def stored(self, entity: str, record: Record) -> None:
        for held_entity, prop in list(self._lookups):
            if held_entity == entity:
                self._file(entity, prop, record)

    def removed(self, entity: str, record_id: str) -> None:
        for held_entity, prop in list(self._lookups):
            if held_entity == entity:
                self._unfile(entity, prop, record_id)

    def matching(
        self, entity: str, prop: str, literals: Iterable[Value], rows: Callable[[], Iterable[Record]]
    ) -> set[str]:
        """Ids of the records whose ``prop`` may equal one of ``literals`` (a superset of those that do)."""
        key = (entity, prop.lower())
        if key not in self._lookups:
            self._lookups[key] = {}
            for record in rows():
                self._file(entity, key[1], record)
        lookup = self._lookups[key]
        found = set(lookup.get(None, ()))
        for literal in literals:
            for literal_key in literal_keys(literal):
                found |= lookup.get(literal_key, set())
        return found

    def _file(self, entity: str, prop: str, record: Record) -> None:
        record_id = str(record["Id"])
        self._unfile(entity, prop, record_id)
        keys = equality_keys(query_lookup(record, prop))
        filed: tuple[Hashable | None, ...] = (None,) if keys is None else keys
        for key in filed:
            self._lookups[(entity, prop)].setdefault(key, set()).add(record_id)
        self._keys[(entity, prop, record_id)] = filed

    def _unfile(self, entity: str, prop: str, record_id: str) -> None:
        lookup = self._lookups[(entity, prop)]
        for key in self._keys.pop((entity, prop, record_id), ()):
            lookup[key].discard(record_id)
            if not lookup[key]:
                del lookup[key]


def last_updated(record: Record) -> datetime:
    return datetime.fromisoformat(str(record["MetaData"]["LastUpdatedTime"]))


class CompanyIndexes:
    """Every index of one company; ``sales_forms`` are the entities sharing the DocNumber space."""

    def __init__(self, sales_forms: Collection[str]) -> None:
        self.display_names = Holders(NAME_LIST_ENTITIES, _display_name)
        self.names = Holders(NAMED_LISTS, _name)
        self.doc_numbers = Holders(sales_forms, _doc_number)
        self.highest_doc_number = HighestNumber(sales_forms)
        self.receivables = Receivables()
        self.properties = PropertyLookups()
        self.changes = ChangeLog()
        self._lookups = (
            self.display_names,
            self.names,
            self.doc_numbers,
            self.highest_doc_number,
            self.receivables,
            self.properties,
        )

    def stored(self, entity: str, record: Record) -> None:
        """A record was created or changed (in place, or replaced by ``record``)."""
        for index in self._lookups:
            index.stored(entity, record)
        self.changes.stored(entity, record)

    def removed(self, entity: str, tombstone: Record) -> None:
        """A record was deleted; ``tombstone`` is what change data capture reports of it."""
        for index in self._lookups:
            index.removed(entity, str(tombstone["Id"]))
        self.changes.stored(entity, tombstone)
