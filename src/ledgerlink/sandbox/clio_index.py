"""The Clio emulator's indexes, and list pages read through them instead of by scanning the store.

A sync reads a firm page by page, 200 records a request: scanning every record of a kind for each
page made its reads quadratic in the firm's size (at 10,000 bills the sandbox, not ledgerlink, set
the benchmark's wall time). Per kind, :class:`KindIndex` keeps the ids in id order, the ids by
``updated_at`` and by ``created_at``, and the ids per value of a few reference fields. A list
request then either

- walks the ids in order from its page token, testing records until the page is full
  (:func:`walk_page`: cost follows the page and how many records the filters skip), or
- takes the few records an index names — ``ids[]``, ``updated_since``, ``created_since``,
  ``bill_id`` ... — and pages them as before (:func:`~ledgerlink.sandbox.clio_http.paginate`).

Either way the answer is the one a scan of the whole store gives: every filter is still tested on
every record returned, and the indexes only choose which records are looked at. They hold ids,
never records, and :class:`~ledgerlink.sandbox.clio.ClioEmulator` tells them of every insert,
change of an indexed field and removal.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from ledgerlink.sandbox.clio_http import Equals, ListQuery, Page, decode_token, encode_token

Record = dict[str, Any]

# Reference fields with an index, per kind: those the filters of clio_http test with Equals and
# that change only through ClioEmulator.update (never in place).
INDEXED_FIELDS: Mapping[str, tuple[str, ...]] = {
    "line_item": ("bill",),
    "allocation": ("bill",),
    "matter": ("client",),
    "activity": ("matter",),
}


class MomentIndex:
    """Ids ordered by one timestamp field, for ``updated_since`` / ``created_since``.

    Only timezone-aware values can be ordered against a bound. A record holding anything else
    (a seed's naive datetime, None) is kept aside: while there is one, :meth:`after` gives up and
    the caller scans, so that comparing it fails or succeeds exactly as in a scan.
    """

    def __init__(self) -> None:
        self._entries: list[tuple[datetime, int]] = []
        self._value: dict[int, datetime] = {}
        self._unordered: set[int] = set()

    def put(self, record_id: int, value: object) -> None:
        self.drop(record_id)
        if isinstance(value, datetime) and value.tzinfo is not None:
            bisect.insort(self._entries, (value, record_id))
            self._value[record_id] = value
        else:
            self._unordered.add(record_id)

    def drop(self, record_id: int) -> None:
        self._unordered.discard(record_id)
        value = self._value.pop(record_id, None)
        if value is not None:
            del self._entries[bisect.bisect_left(self._entries, (value, record_id))]

    @property
    def orderable(self) -> bool:
        """Whether every record's value can be ordered against a bound."""
        return not self._unordered

    def count_after(self, bound: datetime) -> int:
        return len(self._entries) - self._start(bound)

    def after(self, bound: datetime) -> list[int]:
        """Ids of the records whose value is strictly after ``bound`` (when :attr:`orderable`)."""
        return [record_id for _, record_id in self._entries[self._start(bound) :]]

    def _start(self, bound: datetime) -> int:
        return bisect.bisect_right(self._entries, bound, key=lambda entry: entry[0])


class KindIndex:
    """One kind's ids in order, by ``updated_at`` and ``created_at``, and per indexed field value."""

    def __init__(self, fields: Iterable[str] = ()) -> None:
        self.ids: list[int] = []
        # Each id's place in the order records were stored, which a scan of the store follows.
        self.arrival: dict[int, int] = {}
        self._arrivals = itertools.count()
        self.updated = MomentIndex()
        self.created = MomentIndex()
        self._by_field: dict[str, dict[object, set[int]]] = {name: {} for name in fields}
        self._field_value: dict[tuple[str, int], object] = {}

    def add(self, record: Record) -> None:
        record_id = record["id"]
        position = bisect.bisect_left(self.ids, record_id)
        if position == len(self.ids) or self.ids[position] != record_id:
            self.ids.insert(position, record_id)
            self.arrival[record_id] = next(self._arrivals)
        self.touched(record)
        self.created.put(record_id, record.get("created_at"))
        self.changed(record, self._by_field)

    def touched(self, record: Record) -> None:
        """The record's ``updated_at`` moved."""
        self.updated.put(record["id"], record.get("updated_at"))

    def changed(self, record: Record, fields: Collection[str]) -> None:
        """These fields of the record may hold new values (``created_at`` or indexed references)."""
        record_id = record["id"]
        if "created_at" in fields:
            self.created.put(record_id, record.get("created_at"))
        for name in self._by_field.keys() & set(fields):
            self._unfile(name, record_id)
            value = record.get(name)
            self._by_field[name].setdefault(_hashable(value), set()).add(record_id)
            self._field_value[(name, record_id)] = _hashable(value)

    def remove(self, record_id: int) -> None:
        position = bisect.bisect_left(self.ids, record_id)
        if position < len(self.ids) and self.ids[position] == record_id:
            del self.ids[position]
            del self.arrival[record_id]
        self.updated.drop(record_id)
        self.created.drop(record_id)
        for name in self._by_field:
            self._unfile(name, record_id)

    def with_value(self, name: str, value: object) -> set[int] | None:
        """Ids of the records whose ``name`` equals ``value``; None when the field has no index."""
        filed = self._by_field.get(name)
        if filed is None:
            return None
        return filed.get(_hashable(value), set())

    def _unfile(self, name: str, record_id: int) -> None:
        if (name, record_id) in self._field_value:
            value = self._field_value.pop((name, record_id))
            holders = self._by_field[name][value]
            holders.discard(record_id)
            if not holders:
                del self._by_field[name][value]


def _hashable(value: object) -> object:
    """A key for a field value: unhashable values (a list) never equal an Equals filter's int."""
    try:
        hash(value)
    except TypeError:
        return ("unhashable", id(value))
    return value


def plan(index: KindIndex, query: ListQuery) -> Collection[int] | Literal["walk", "scan"]:
    """How to find ``query``'s page: the ids an index names (a superset of the matches), or a
    walk of the ids in order (cursor paging), or a scan of the whole store.

    A walk tests about ``limit × stored / candidates`` records a page, a candidate set all of its
    records every page: walking wins once the candidates outnumber √(limit × stored). A bound on a
    timestamp some record cannot be ordered by (see :class:`MomentIndex`) is left to a scan.
    """
    options: list[tuple[int, Callable[[], Collection[int]]]] = []  # (how many, the ids)
    if query.ids is not None:
        options.append((len(query.ids), lambda: query.ids or ()))
    for bound, moments in ((query.updated_since, index.updated), (query.created_since, index.created)):
        if bound is not None:
            if not moments.orderable:
                return "scan"
            options.append((moments.count_after(bound), functools.partial(moments.after, bound)))
    for predicate in query.predicates:
        held = index.with_value(predicate.field, predicate.value) if isinstance(predicate, Equals) else None
        if held is not None:
            options.append((len(held), functools.partial(set.copy, held)))
    fewest = min(options, key=lambda option: option[0], default=None)
    if query.offset is None and (
        fewest is None or (fewest[0] > query.limit and fewest[0] ** 2 > query.limit * len(index.ids))
    ):
        return "walk"
    return "scan" if fewest is None else fewest[1]()


def walk_page(ids: list[int], record_of: Callable[[int], Record], query: ListQuery) -> Page:
    """The cursor page ``query`` asks for, walking ``ids`` (ascending) from its page token.

    Gives what :func:`~ledgerlink.sandbox.clio_http.paginate` gives for the matching records,
    testing only the records between the token and the page's neighbours.
    """

    def matches(position: int) -> bool:
        record = record_of(ids[position])
        return all(predicate(record) for predicate in query.predicates)

    def found(start: int, step: int, wanted: int) -> list[int]:
        positions: list[int] = []
        position = start
        while 0 <= position < len(ids) and len(positions) < wanted:
            if matches(position):
                positions.append(position)
            position += step
        return positions

    if query.page_token is None:
        positions = found(0, 1, query.limit)
    else:
        direction, boundary = decode_token(query.page_token)
        if direction == "after":
            positions = found(bisect.bisect_right(ids, boundary), 1, query.limit)
        else:
            positions = found(bisect.bisect_left(ids, boundary) - 1, -1, query.limit)[::-1]
    if not positions:
        return Page([], None, None)
    first, last = positions[0], positions[-1]
    has_before = query.page_token is not None and bool(found(first - 1, -1, 1))
    has_after = bool(found(last + 1, 1, 1))
    return Page(
        [record_of(ids[position]) for position in positions],
        {"page_token": encode_token("before", ids[first])} if has_before else None,
        {"page_token": encode_token("after", ids[last])} if has_after else None,
    )
