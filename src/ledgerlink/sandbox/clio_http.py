"""The HTTP surface of the Clio emulator that needs no store: parameters, filters, paging, bodies.

Pure functions. :mod:`ledgerlink.sandbox.clio` wires them to the store and to Starlette.
Paging follows the reference (clio.md §1.4): cursor paging (``order=id(asc)``, no ``offset``)
with an opaque ``page_token``; offset paging capped at 10,000 records (422 ``ArgumentError``).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from starlette.responses import Response

from ledgerlink.sandbox.clio_fields import SCHEMAS, FieldsError, Selection, parse_fields
from ledgerlink.sandbox.clio_records import BILL_STATES, PARENT_TYPES, is_valid

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
FilterParser = Callable[[str, str], Predicate]

SUPPORTED_VERSIONS = frozenset(f"4.0.{minor}" for minor in range(14))
DEFAULT_VERSION = "4.0.13"
FIRM_TZ = ZoneInfo("America/New_York")
OFFSET_CAP = 10_000
INVALID_TOKEN_BODY = {
    "error": "invalid_token",
    "error_description": (
        "The access token provided is expired, revoked, malformed or invalid for other reasons."
    ),
}


class ClioHttpError(Exception):
    """Ends a request with Clio's error body ``{"error": {"type": ..., "message": ...}}``."""

    def __init__(self, status: int, type_: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message

    def body(self) -> dict[str, Any]:
        return {"error": {"type": self.type, "message": self.message}}


def bad_request(message: str) -> ClioHttpError:
    return ClioHttpError(400, "ArgumentError", message)


def invalid_record(message: str) -> ClioHttpError:
    return ClioHttpError(422, "RecordInvalid", message)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value) + 0.0  # Clio sends doubles; + 0.0 turns -0.0 into 0.0
    if isinstance(value, datetime):
        return value.astimezone(FIRM_TZ).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"not JSON serializable: {value!r}")


def json_response(payload: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, default=_json_default, ensure_ascii=False).encode()
    return Response(body, status, dict(headers or {}), media_type="application/json; charset=utf-8")


# ---------------------------------------------------------------------------------------------
# Parameter values


def parse_int(name: str, text: str) -> int:
    if not re.fullmatch(r"-?\d{1,18}", text):
        raise bad_request(f"Invalid value for {name}: {text!r} is not an integer")
    return int(text)


def _parse_bool(name: str, text: str) -> bool:
    if text not in ("true", "false"):
        raise bad_request(f"Invalid value for {name}: {text!r} is not true or false")
    return text == "true"


def _parse_date(name: str, text: str) -> date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise bad_request(
            f"Invalid value for {name}: {text!r} is not an ISO-8601 date (YYYY-MM-DD)"
        ) from None


def _parse_timestamp(name: str, text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"Invalid value for {name}: {text!r} is not an ISO-8601 timestamp") from None
    if moment.tzinfo is None:
        raise bad_request(f"Invalid value for {name}: {text!r} has no UTC offset")
    return moment


def _parse_enum(name: str, text: str, allowed: Iterable[str]) -> str:
    options = tuple(allowed)
    if text not in options:
        raise bad_request(f"Invalid value for {name}: {text!r} is not one of {', '.join(options)}")
    return text


# ---------------------------------------------------------------------------------------------
# Filters: each parses its parameter (a 400 when invalid) into a predicate over records


@dataclass(frozen=True)
class Equals:
    """The filter ``record[field] == value`` (``bill_id=5``): one the store may answer from an index."""

    field: str
    value: object

    def __call__(self, record: Record) -> bool:
        return bool(record.get(self.field) == self.value)


def _ref_is(field_name: str, *, nullable: bool) -> FilterParser:
    """``matter_id=5``; the keyword ``null`` matches records without one, where Clio allows it."""

    def parse(name: str, text: str) -> Predicate:
        if text == "null":
            if not nullable:
                raise bad_request(f"Invalid value for {name}: the keyword null is not valid for this field")
            return lambda record: record.get(field_name) is None
        return Equals(field_name, parse_int(name, text))

    return parse


def _enum_is(field_name: str, allowed: Iterable[str]) -> FilterParser:
    options = tuple(allowed)

    def parse(name: str, text: str) -> Predicate:
        wanted = _parse_enum(name, text, options)
        return lambda record: record.get(field_name) == wanted

    return parse


def _bool_is(field_name: str) -> FilterParser:
    def parse(name: str, text: str) -> Predicate:
        wanted = _parse_bool(name, text)
        return lambda record: bool(record.get(field_name)) == wanted

    return parse


def _date_beyond(field_name: str, *, after: bool) -> FilterParser:
    """``issued_after``/``issued_before``: strictly after / before the date."""

    def parse(name: str, text: str) -> Predicate:
        bound = _parse_date(name, text)

        def check(record: Record) -> bool:
            value = record.get(field_name)
            return value is not None and (value > bound if after else value < bound)

        return check

    return parse


def _text_contains(*field_names: str) -> FilterParser:
    """``query=``: a case-insensitive substring of any named field (or of any text in a list of dicts)."""

    def texts(record: Record) -> Iterable[str]:
        for name in field_names:
            value = record.get(name)
            if isinstance(value, list):
                for item in value:
                    yield from (v for v in item.values() if isinstance(v, str))
            elif isinstance(value, str):
                yield value

    def parse(name: str, text: str) -> Predicate:
        needle = text.casefold()
        return lambda record: any(needle in value.casefold() for value in texts(record))

    return parse


def _exact(field_name: str) -> FilterParser:
    return lambda name, text: lambda record: record.get(field_name) == text


def _matters_include(name: str, text: str) -> Predicate:
    if text == "null":
        return lambda record: not record.get("matters")
    wanted = parse_int(name, text)
    return lambda record: wanted in (record.get("matters") or ())


def _clients_only(name: str, text: str) -> Predicate:
    only = _parse_bool(name, text)
    return lambda record: bool(record.get("is_client")) or not only


def _matter_status(name: str, text: str) -> Predicate:
    # The filter is lower-case and comma-separated; the field is capitalized (reference §6.8).
    wanted = {_parse_enum(name, part, ("open", "closed", "pending")).capitalize() for part in text.split(",")}
    return lambda record: record.get("status") in wanted


def _bill_type(name: str, text: str) -> Predicate:
    trust = _parse_enum(name, text, ("revenue", "trust")) == "trust"
    return lambda record: (record.get("kind") == "trust_kind") == trust


def _parent_is(name: str, text: str) -> Predicate:
    wanted = parse_int(name, text)
    return lambda record: record["parent"]["id"] == wanted


def _parent_type(name: str, text: str) -> Predicate:
    wanted = _parse_enum(name, text, PARENT_TYPES)
    return lambda record: record["parent"]["type"] == wanted


def _bank_account_type(name: str, text: str) -> Predicate:
    # The filter names the account class, the field holds the short type (reference §3.10, §6.8).
    wanted = _parse_enum(name, text, ("OperatingAccount", "TrustAccount")).removesuffix("Account")
    return lambda record: record.get("type") == wanted


def _allocation_status(name: str, text: str) -> Predicate:
    valid = _parse_enum(name, text, ("valid", "invalid")) == "valid"
    return lambda record: is_valid(record) == valid


@dataclass(frozen=True)
class Listing:
    """One index endpoint: the kind it lists, its filters, orders and page-size cap.

    ``default_order`` is the order without an ``order`` parameter (``date`` for allocations and
    credit memos, which therefore page by offset unless ``order=id(asc)`` is sent). A filter left
    out filters nothing.
    """

    kind: str
    filters: Mapping[str, FilterParser] = field(default_factory=dict)
    orders: tuple[str, ...] = ("id",)
    max_limit: int = 200
    default_order: str = "id"


LISTINGS: dict[str, Listing] = {
    "users": Listing("user", {"enabled": _bool_is("enabled")}, ("id", "name"), max_limit=2000),
    "contacts": Listing(
        "contact",
        {
            "type": _enum_is("type", ("Company", "Person")),
            "client_only": _clients_only,
            "query": _text_contains(
                "name", "first_name", "last_name", "title", "email_addresses", "phone_numbers", "addresses"
            ),
        },
        ("id", "name"),
    ),
    "matters": Listing(
        "matter",
        {
            "client_id": _ref_is("client", nullable=False),
            "status": _matter_status,
            "query": _text_contains("display_number", "description"),
        },
        ("id", "display_number", "open_date", "updated_at"),
    ),
    "bills": Listing(
        "bill",
        {
            "state": _enum_is("state", BILL_STATES),
            "client_id": _ref_is("client", nullable=False),
            "matter_id": _matters_include,
            "issued_after": _date_beyond("issued_at", after=True),
            "issued_before": _date_beyond("issued_at", after=False),
            "due_after": _date_beyond("due_at", after=True),
            "due_before": _date_beyond("due_at", after=False),
            "bill_number": _exact("number"),
            "type": _bill_type,
        },
        ("id", "issued_at", "due_at", "number", "balance"),
    ),
    "line_items": Listing(
        "line_item",
        {
            "bill_id": _ref_is("bill", nullable=False),
            "matter_id": _ref_is("matter", nullable=True),
            "activity_id": _ref_is("activity", nullable=True),
            "kind": _enum_is("kind", ("Service", "Expense", "Product")),
        },
    ),
    "activities": Listing(
        "activity",
        {
            "matter_id": _ref_is("matter", nullable=True),
            "user_id": _ref_is("user", nullable=True),
            "activity_description_id": _ref_is("activity_description", nullable=True),
            "expense_category_id": _ref_is("expense_category", nullable=True),
            "type": _enum_is("type", ("TimeEntry", "ExpenseEntry", "HardCostEntry", "SoftCostEntry")),
            "query": _text_contains("note"),
        },
        ("id", "date", "total", "type", "updated_at"),
    ),
    "activity_descriptions": Listing("activity_description"),
    "allocations": Listing(
        "allocation",
        {
            "bill_id": _ref_is("bill", nullable=False),
            "contact_id": _ref_is("contact", nullable=False),
            "matter_id": _ref_is("matter", nullable=False),
            "parent_id": _parent_is,
            "parent_type": _parent_type,
            "status": _allocation_status,
        },
        ("id", "date"),
        default_order="date",
    ),
    "credit_memos": Listing(
        "credit_memo",
        {"contact_id": _ref_is("contact", nullable=False)},
        ("id", "date"),
        default_order="date",
    ),
    "bank_accounts": Listing(
        "bank_account",
        {"type": _bank_account_type, "status": _enum_is("status", ("opened", "closed"))},
        ("id", "name", "type", "updated_at"),
    ),
    "bank_transactions": Listing(
        "bank_transaction",
        {
            "bank_account_id": _ref_is("bank_account", nullable=False),
            "client_id": _ref_is("client", nullable=False),
            "matter_id": _ref_is("matter", nullable=False),
        },
        ("id", "date"),
    ),
    "expense_categories": Listing(
        "expense_category",
        {
            "entry_type": _enum_is("entry_type", ("hard_cost", "soft_cost", "unassociated")),
            "query": _text_contains("name"),
        },
        ("id", "name"),
    ),
}
# Resources with a GET-by-id (line items have none in v4).
SHOWABLE = {
    "users": "user",
    "contacts": "contact",
    "matters": "matter",
    "bills": "bill",
    "activities": "activity",
    "activity_descriptions": "activity_description",
    "expense_categories": "expense_category",
    "allocations": "allocation",
    "credit_memos": "credit_memo",
    "bank_accounts": "bank_account",
    "bank_transactions": "bank_transaction",
}
COMMON_LIST_PARAMS = frozenset(
    {"fields", "limit", "order", "offset", "page_token", "ids[]", "updated_since", "created_since"}
)
_ORDER = re.compile(r"(?P<field>[a-z_.]+)\((?P<dir>asc|desc)\)")


# ---------------------------------------------------------------------------------------------
# A list request, parsed


def group_params(
    items: Iterable[tuple[str, str]], allowed: Iterable[str], repeatable: Iterable[str] = ()
) -> dict[str, list[str]]:
    """Query parameters grouped by name; unknown names and repeated single values are a 400."""
    known, many = set(allowed), set(repeatable)
    grouped: dict[str, list[str]] = {}
    for key, value in items:
        if key not in known:
            raise bad_request(f"{key} is not a supported parameter of this endpoint")
        grouped.setdefault(key, []).append(value)
    for key, values in grouped.items():
        if len(values) > 1 and key not in many:
            raise bad_request(f"{key} was given more than once")
    return grouped


def selection_of(kind: str, params: Mapping[str, list[str]]) -> Selection:
    try:
        return parse_fields(params.get("fields", [None])[0], SCHEMAS[kind])
    except FieldsError as exc:
        raise bad_request(str(exc)) from None


def _since(field_name: str, bound: datetime) -> Predicate:
    return lambda record: bool(record[field_name] > bound)


@dataclass(frozen=True)
class ListQuery:
    selection: Selection
    limit: int
    predicates: tuple[Predicate, ...]
    order: str
    descending: bool
    offset: int | None  # None: cursor paging
    page_token: str | None
    # The ``ids[]`` asked for and the ``updated_since`` / ``created_since`` bounds (each also a
    # predicate): they let a store look records up in its indexes instead of scanning.
    ids: frozenset[int] | None = None
    updated_since: datetime | None = None
    created_since: datetime | None = None


def list_query(params: Mapping[str, list[str]], listing: Listing) -> ListQuery:
    """Parse and validate every parameter of a list request (400/422 on the first bad one)."""
    first = {key: values[0] for key, values in params.items()}
    limit = listing.max_limit
    if "limit" in first:
        limit = parse_int("limit", first["limit"])
        if not 1 <= limit <= listing.max_limit:
            raise bad_request(f"Invalid value for limit: must be between 1 and {listing.max_limit}")
    order, descending = listing.default_order, False
    if "order" in first:
        match = _ORDER.fullmatch(first["order"])
        if not match or match["field"] not in listing.orders:
            options = ", ".join(f"{name}(asc|desc)" for name in listing.orders)
            raise bad_request(f"Invalid value for order: {first['order']!r}; the sandbox supports {options}")
        order, descending = match["field"], match["dir"] == "desc"
    bounds = {
        name: _parse_timestamp(name, first[name])
        for name in ("updated_since", "created_since")
        if name in first
    }
    predicates: list[Predicate] = [
        _since(field_name, bounds[name])
        for name, field_name in (("updated_since", "updated_at"), ("created_since", "created_at"))
        if name in bounds
    ]
    wanted: frozenset[int] | None = None
    if "ids[]" in params:
        wanted = frozenset(parse_int("ids[]", text) for text in params["ids[]"])
        predicates.append(lambda record: record["id"] in wanted)
    predicates += [parse(name, first[name]) for name, parse in listing.filters.items() if name in first]
    offset: int | None = None
    if "offset" in first or order != "id" or descending:
        offset = parse_int("offset", first.get("offset", "0"))
        if offset < 0:
            raise bad_request("Invalid value for offset: must not be negative")
        if offset >= OFFSET_CAP:
            message = f"Offset pagination is limited to {OFFSET_CAP} records; use cursor pagination"
            raise ClioHttpError(422, "ArgumentError", message)
        if "page_token" in first:
            raise bad_request("page_token can only be used with order=id(asc) and no offset")
    selection = selection_of(listing.kind, params)
    return ListQuery(
        selection,
        limit,
        tuple(predicates),
        order,
        descending,
        offset,
        first.get("page_token"),
        wanted,
        bounds.get("updated_since"),
        bounds.get("created_since"),
    )


@dataclass(frozen=True)
class Page:
    """One page of records, and the paging parameters of its neighbours (None: no such page)."""

    rows: list[Record]
    previous: dict[str, str] | None
    next: dict[str, str] | None


def encode_token(direction: str, boundary: int) -> str:
    raw = json.dumps({"d": direction, "id": boundary}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(text: str) -> tuple[str, int]:
    try:
        decoded = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        direction, boundary = decoded["d"], decoded["id"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise bad_request("Invalid page_token") from None
    if direction not in ("after", "before") or not isinstance(boundary, int):
        raise bad_request("Invalid page_token")
    return direction, boundary


def paginate(rows: list[Record], query: ListQuery) -> Page:
    """The page ``query`` asks for out of the matching ``rows``."""
    if query.offset is None:
        rows = sorted(rows, key=lambda record: record["id"])
        if query.page_token is None:
            page = rows[: query.limit]
        else:
            direction, boundary = decode_token(query.page_token)
            if direction == "after":
                page = [r for r in rows if r["id"] > boundary][: query.limit]
            else:
                page = [r for r in rows if r["id"] < boundary][-query.limit :]
        has_before = bool(page) and rows[0]["id"] < page[0]["id"]
        has_after = bool(page) and rows[-1]["id"] > page[-1]["id"]
        return Page(
            page,
            {"page_token": encode_token("before", page[0]["id"])} if has_before else None,
            {"page_token": encode_token("after", page[-1]["id"])} if has_after else None,
        )
    present = sorted(
        (r for r in rows if r.get(query.order) is not None),
        key=lambda record: (record[query.order], record["id"]),
        reverse=query.descending,
    )
    ordered = present + [r for r in rows if r.get(query.order) is None]
    start, end = query.offset, query.offset + query.limit
    return Page(
        ordered[start:end],
        {"offset": str(max(0, start - query.limit))} if start > 0 else None,
        {"offset": str(end)} if end < len(ordered) else None,
    )


# ---------------------------------------------------------------------------------------------
# PATCH /contacts/{id}: the body, as record changes

_CONTACT_TEXT = frozenset(
    {"first_name", "middle_name", "last_name", "name", "prefix", "title", "type", "date_of_birth",
     "sales_tax_number", "ledes_client_id", "clio_connect_email"}
)  # fmt: skip
_CONTACT_UNMODELLED = frozenset(
    {"avatar", "co_counsel_rate", "currency", "custom_field_set_associations", "custom_field_values",
     "instant_messengers", "kyc_field_values", "web_sites"}
)  # fmt: skip
# Nested collections of a contact: the write flag that makes an item the primary one, and its fields.
_CONTACT_COLLECTIONS = {
    "email_addresses": ("default_email", frozenset({"name", "address"})),
    "phone_numbers": ("default_number", frozenset({"name", "number"})),
    "addresses": (None, frozenset({"name", "street", "city", "province", "postal_code", "country"})),
}
_NAME_REQUIRED = "At least one of first name or last name must be provided"


def contact_changes(record: Mapping[str, Any], data: Mapping[str, Any], new_id: Callable[[], int]) -> Record:
    """The record changes a PATCH body asks for; raises ClioHttpError (400/404/422) when it cannot apply.

    Nested collections merge as Clio documents: an item with ``id`` is updated, one without is
    created, ``{"id": ..., "_destroy": true}`` deletes.
    """
    changes: Record = {}
    for key, value in data.items():
        if key in _CONTACT_TEXT:
            if value is not None and not isinstance(value, str):
                raise invalid_record(f"{key} must be a string")
            changes[key] = value
        elif key == "company":
            if not isinstance(value, dict) or not isinstance(value.get("id"), int):
                raise invalid_record("company must be an object with an integer id")
            changes["company"] = value["id"]
        elif key in _CONTACT_COLLECTIONS:
            changes[key] = _merge_collection(key, record.get(key) or [], value, new_id)
        elif key in _CONTACT_UNMODELLED:
            raise bad_request(f"Writing {key} is not emulated by the ledgerlink sandbox")
        else:
            raise bad_request(f"{key} is not a valid attribute of Contact")
    merged = {**record, **changes}
    if merged.get("type") not in ("Person", "Company"):
        raise invalid_record("Type must be Person or Company")
    if merged["type"] == "Company":
        if not str(merged.get("name") or "").strip():
            raise invalid_record("Name can't be blank")
        return changes
    if "name" in changes and not {"first_name", "last_name"} & changes.keys():
        # Clio splits a lone name into first and last, and refuses one it cannot split.
        first, _, last = str(changes["name"] or "").strip().rpartition(" ")
        if not first or not last:
            raise invalid_record(_NAME_REQUIRED)
        changes.update(first_name=first, middle_name=None, last_name=last)
        merged.update(changes)
    if not (merged.get("first_name") or merged.get("last_name")):
        raise invalid_record(_NAME_REQUIRED)
    return changes


def _merge_collection(key: str, current: list[Record], given: Any, new_id: Callable[[], int]) -> list[Record]:
    flag, writable = _CONTACT_COLLECTIONS[key]
    if not isinstance(given, list) or not all(isinstance(item, dict) for item in given):
        raise invalid_record(f"{key} must be a list of objects")
    items = [dict(item) for item in current]
    for change in given:
        unknown = change.keys() - writable - {"id", "_destroy", flag}
        if unknown:
            raise bad_request(f"{sorted(unknown)[0]} is not a valid attribute of {key}")
        if "id" in change:
            target = next((item for item in items if item["id"] == change["id"]), None)
            if target is None:
                raise ClioHttpError(404, "RecordNotFound", f"{key} item {change['id']} was not found")
            if change.get("_destroy"):
                items.remove(target)
                continue
        else:
            target = {"id": new_id(), "primary": False}
            items.append(target)
        target.update({k: v for k, v in change.items() if k in writable})
        if flag and change.get(flag):
            for item in items:
                item["primary"] = item is target
    return items
