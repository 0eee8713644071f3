"""Writes to Clio activities in the emulator: the body rules of POST/PATCH ``/activities.json`` and DELETE.

Pure: the emulator (:mod:`.clio`) passes the request's ``data`` object, the record being changed
(for a PATCH) and a lookup of stored records; these functions answer the stored values to write
or raise :class:`~ledgerlink.sandbox.clio_http.ClioHttpError`.

From the official spec (reference/clio_openapi.json, POST and PATCH ``/activities.json``) and
reference/clio.md §3.6:

- the body is ``{"data": {...}}``; a create needs ``type`` (TimeEntry, ExpenseEntry,
  HardCostEntry, SoftCostEntry) and ``date`` (an ISO-8601 date);
- relations are ``{"id": n}`` objects: ``matter``, ``user`` (a create without one is the current
  user: sandbox tokens name the account owner), ``activity_description``, ``expense_category``
  and ``vendor`` (a Contact; HardCostEntry only); ``vendor``/``expense_category``/``user`` take
  ``{"id": null}`` to clear, the others do not;
- ``price`` is the expense amount (the hourly rate for time); ``quantity`` is seconds for time
  and is "applicable to TimeEntry, ExpenseEntry, and SoftCostEntry", so a HardCostEntry (only a
  total amount, §3.6) refuses it; ``reference`` is "a check reference for a HardCostEntry";
- attributes the spec lists that the sandbox keeps no data for (calendar entries, notes, tasks,
  timers, UTBMS, …) are a 400 saying so; any other key is a 400 "not a valid attribute".

Assumptions (the reference is silent; the strict reading is taken, messages invented):

- A relation to a record that does not exist (or a vendor/user/matter of the wrong kind) is a
  422 ``RecordInvalid`` naming it; a wrong JSON type is a 422 too.
- ``vendor``/``reference`` on an entry other than a HardCostEntry, and ``quantity`` on a
  HardCostEntry, are 422. ``type`` cannot be changed by a PATCH (422).
- A billed activity (``billed``: on a bill awaiting payment or paid, §3.6) cannot be changed or
  deleted: 422 ``RecordInvalid`` "…has been billed…". Clio's UI refuses such edits; the API's
  answer is not documented.
- ``price`` may not be negative (422). Money is kept as Decimal; a total is quantity × price
  rounded half-up to the cent (an expense's quantity is 1 unless given).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from ledgerlink.sandbox.clio_http import ClioHttpError, bad_request, invalid_record
from ledgerlink.sandbox.clio_records import ZERO, round_half_up

Record = dict[str, Any]
Lookup = Callable[[str, int], Record | None]

ACTIVITY_TYPES = ("TimeEntry", "ExpenseEntry", "HardCostEntry", "SoftCostEntry")
# (body key, stored kind, whether {"id": null} clears it)
_RELATIONS = {
    "matter": ("matter", False),
    "user": ("user", True),
    "activity_description": ("activity_description", False),
    "expense_category": ("expense_category", True),
    "vendor": ("contact", True),
}
_TEXT = frozenset({"note", "reference"})
_FLAGS = frozenset({"non_billable", "no_charge"})
_TAX_SETTINGS = ("no_tax", "tax_1_only", "tax_2_only", "tax_1_and_tax_2")
_UNMODELLED = frozenset(
    {
        "calendar_entry",
        "client_portal",
        "communication",
        "contact_note",
        "matter_note",
        "start_timer",
        "task",
        "text_message_conversation",
        "utbms_expense",
    }
)


def activity_changes(
    data: Any, *, current: Mapping[str, Any] | None, lookup: Lookup, owner: int | None
) -> Record:
    """The stored values a POST (``current`` None) or PATCH body asks for, derived amounts included."""
    if not isinstance(data, Mapping):
        raise bad_request("The request body must be an object with a data object")
    if current is not None and current.get("billed"):
        raise billed_refusal(current)
    changes: Record = {}
    for key, value in data.items():
        if key == "type":
            changes["type"] = _activity_type(value, current)
        elif key == "date":
            changes["date"] = _date(value)
        elif key in _RELATIONS:
            changes[key] = _relation(key, value, lookup)
        elif key in ("price", "quantity"):
            changes[key] = _amount(key, value)
        elif key in _TEXT:
            if value is not None and not isinstance(value, str):
                raise invalid_record(f"{key} must be a string")
            changes[key] = value
        elif key in _FLAGS:
            if not isinstance(value, bool):
                raise invalid_record(f"{key} must be true or false")
            changes[key] = value
        elif key == "tax_setting":
            if value not in _TAX_SETTINGS:
                raise invalid_record(f"tax_setting must be one of {', '.join(_TAX_SETTINGS)}")
            changes[key] = value
        elif key in _UNMODELLED:
            raise bad_request(f"Writing {key} is not emulated by the ledgerlink sandbox")
        else:
            raise bad_request(f"{key} is not a valid attribute of Activity")
    if current is None:
        for required in ("type", "date"):
            if required not in changes:
                raise invalid_record(f"{required.capitalize()} can't be blank")
        if changes.get("user") is None and "user" not in data:
            changes["user"] = owner
    merged = {**(current or {}), **changes}
    _check_kind_rules(merged, changes)
    return {**changes, **_amounts(merged)}


def billed_refusal(record: Mapping[str, Any]) -> ClioHttpError:
    return invalid_record(
        f"Activity {record['id']} has been billed and cannot be changed or deleted; "
        "void or delete the bill first"
    )


def _activity_type(value: Any, current: Mapping[str, Any] | None) -> str:
    if value not in ACTIVITY_TYPES:
        raise invalid_record(f"Type must be one of {', '.join(ACTIVITY_TYPES)}")
    if current is not None and value != current.get("type"):
        raise invalid_record("The type of an activity cannot be changed")
    return str(value)


def _date(value: Any) -> dt.date:
    if not isinstance(value, str):
        raise invalid_record("Date must be an ISO-8601 date")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise invalid_record(f"Date {value!r} is not an ISO-8601 date") from None


def _relation(key: str, value: Any, lookup: Lookup) -> int | None:
    kind, nullable = _RELATIONS[key]
    if not isinstance(value, Mapping) or set(value) != {"id"}:
        raise invalid_record(f"{key} must be an object with an id")
    ref = value["id"]
    if ref is None:
        if not nullable:
            raise invalid_record(f"{key} cannot be null")
        return None
    if not isinstance(ref, int) or isinstance(ref, bool) or lookup(kind, ref) is None:
        raise invalid_record(f"{key} {ref!r} does not exist")
    return ref


def _amount(key: str, value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal | str):
        raise invalid_record(f"{key} must be a number")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise invalid_record(f"{key} must be a number") from None
    if not amount.is_finite() or amount < 0:
        raise invalid_record(f"{key} must be a number of 0 or more")
    return amount


def _check_kind_rules(merged: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
    kind = merged.get("type")
    if kind != "HardCostEntry":
        for key in ("vendor", "reference"):
            if changes.get(key) is not None:
                raise invalid_record(f"{key} is only for a HardCostEntry, not a {kind}")
    elif "quantity" in changes:
        raise invalid_record("A HardCostEntry has only a total amount (price); quantity does not apply")


def _amounts(merged: Mapping[str, Any]) -> Record:
    """Quantity, hours and totals as Clio derives them (time quantity in seconds since 4.0.4)."""
    price = Decimal(merged.get("price") or ZERO)
    if merged.get("type") == "TimeEntry":
        seconds = Decimal(merged.get("quantity") or ZERO)
        hours = seconds / 3600
        values: Record = {
            "quantity": seconds,
            "rounded_quantity": seconds,
            "quantity_in_hours": hours,
            "rounded_quantity_in_hours": hours,
            "price": price,
            "total": round_half_up(hours * price),
        }
    else:
        units = Decimal(1) if merged.get("type") == "HardCostEntry" else Decimal(merged.get("quantity") or 1)
        values = {"quantity": units, "price": price, "total": round_half_up(units * price)}
    values["non_billable_total"] = values["total"] if merged.get("non_billable") else ZERO
    return values
