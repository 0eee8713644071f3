"""The typed Clio Manage v4 client: reads the firm's users, contacts, bills, line items, activities,
allocations (payments and credit memos applied to bills) and trust bank accounts and their
transactions, and writes contact edits back.

Every request pins ``X-API-VERSION`` and names its ``fields`` explicitly (without them Clio
returns only ``id`` and ``etag``). Lists are read with cursor paging — ``order=id(asc)``,
``limit=200``, then ``meta.paging.next`` until it is absent — which has no 10,000-record cap
(reference §1.4). Auth refresh on 401, pacing from ``X-RateLimit-*`` and Retry-After on 429 are
the shared :class:`~ledgerlink.http.Transport`'s.

Assumptions (the reference is silent on them):

- ``issued_after`` is strictly after the date (as its name says); the client also drops bills
  issued on that day itself, so a server that includes them changes nothing.
- The ``state`` filter takes a single state; several states are read one after another.
- A response's request id, when Clio sends one, is in ``X-Request-Id``.
- ``ids[]`` takes as many ids as a page holds (``PAGE_SIZE``): the reference and the spec give no
  limit on their number or on a URL's length, and 200 ids make a URL of about 4 KB, under the
  8 KB request line common servers and proxies accept.
- Allocations default to ``order=date(asc)`` (offset paging); the client sends ``order=id(asc)``
  like everywhere else, so they page by cursor.
- The ``parent_type`` filter of allocations is typed as an integer with no documented values,
  so the client never sends it: callers tell payments from credit memos by ``parent{type}``.
- Bills are read with ``type=revenue``: trust requests are bills too (reference §3.4) and are
  never invoices. Open bank accounts are those the ``status=opened`` filter returns.
- A PATCH carrying ``If-Match`` is safe to repeat: a repeat after a lost answer is a 412 (or
  changes nothing), never a second change.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any, Literal, TypeVar

import httpx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from ledgerlink.errors import ApiError, ConflictError, NotFoundError, ValidationError
from ledgerlink.http import RateLimiter, TokenSource, Transport, redact
from ledgerlink.providers.clio.wire import (
    ClioActivity,
    ClioActivityCategory,
    ClioActivityDescription,
    ClioAllocation,
    ClioBankAccount,
    ClioBankTransaction,
    ClioBill,
    ClioBillingSettings,
    ClioContact,
    ClioExpenseCategory,
    ClioLineItem,
    ClioMatter,
    ClioTimeEntry,
    ClioUser,
)

API_VERSION = "4.0.13"
PAGE_SIZE = 200
IDS_PER_REQUEST = PAGE_SIZE  # no more than a page, so each chunk is a single page


def _fields(names: str) -> str:
    """A ``fields`` value from whitespace-separated names (nested selections contain no spaces)."""
    return ",".join(names.split())


USER_FIELDS = _fields("id name email enabled account_owner subscription_type roles account{id,name}")
CONTACT_FIELDS = _fields(
    """id etag type name first_name last_name is_client primary_email_address primary_phone_number
    email_addresses{id,address,name,primary} phone_numbers{id,number,name,primary}
    addresses{id,name,street,city,province,postal_code,country,primary} company{id,name} sales_tax_number
    created_at updated_at"""
)
BILL_FIELDS = _fields(
    """id etag number state kind type issued_at due_at subject memo total sub_total tax_rate
    secondary_tax_rate tax_sum secondary_tax_sum total_tax interest{total} balance paid paid_at due
    credits_issued client{id,name} matters{id,display_number} currency{code} created_at updated_at"""
)
LINE_ITEM_FIELDS = _fields(
    """id kind description note date quantity price total tax secondary_tax taxable secondary_taxable
    activity{id,type} bill{id}"""
)
ACTIVITY_FIELDS = _fields(
    """id etag type date quantity quantity_in_hours price total note reference non_billable no_charge billed
    tax_setting activity_description{id,name} expense_category{id,name,entry_type} user{id,name}
    matter{id,display_number} bill{id,number} vendor{id,name} updated_at"""
)
ACTIVITY_CATEGORY_FIELDS = _fields(
    "id type activity_description{id,name} expense_category{id,name,entry_type}"
)
TIME_ENTRY_FIELDS = _fields(
    """id type date quantity quantity_redacted price note billed on_bill user{id,name}
    matter{id,display_number,client} bill{id,number,state} updated_at"""
)
MATTER_FIELDS = _fields("id display_number description status client{id}")
ACTIVITY_DESCRIPTION_FIELDS = _fields("id etag name type category_type updated_at")
EXPENSE_CATEGORY_FIELDS = _fields("id etag name entry_type rate updated_at")
BILLING_SETTINGS_FIELDS = _fields(
    "tax_name tax_rate use_secondary_tax secondary_tax_name secondary_tax_rate secondary_tax_rule currency"
)

ALLOCATION_FIELDS = _fields(
    """id date amount description voided_at updated_at bill{id,number,kind} contact{id} parent{id,type}
    source_bank_account{id,type}"""
)
BANK_ACCOUNT_FIELDS = _fields("id etag name type balance currency updated_at")
BANK_TRANSACTION_FIELDS = _fields(
    """id etag transaction_type date amount funds_in funds_out description confirmation bank_account_id
    client{id,name} matter{id,display_number} bill{id,number,kind} allocation{id} updated_at"""
)

Model = TypeVar("Model", bound=BaseModel)
Params = list[tuple[str, str | int]]


def clio_error(response: httpx.Response) -> ApiError:
    """The ApiError for a Clio error response, from either of its two body shapes.

    Resources answer ``{"error": {"type", "message"}}``; the OAuth layer (401) answers
    ``{"error": "invalid_token", "error_description": ...}`` (reference §5).
    """
    status = response.status_code
    code: str | None = None
    message = response.reason_phrase or f"HTTP {status}"
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            code, message = error.get("type"), str(error.get("message") or message)
        elif isinstance(error, str):
            code, message = error, str(body.get("error_description") or error)
        elif isinstance(body.get("message"), str):
            message = body["message"]
    elif response.text:
        message = response.text[:300]
    message = redact(message)
    request_id = response.headers.get("X-Request-Id")
    summary = f"Clio answered {status} to {response.request.method} {response.request.url.path}"
    kind: type[ApiError] = ApiError
    remedy: str | None = None
    if status == 404:
        kind = NotFoundError
    elif status == 412:
        kind = ConflictError
    elif status in (400, 422):
        kind = ValidationError
    elif status in (401, 403):
        remedy = (
            "Reconnect with `ledgerlink connect clio` as a Clio administrator (ideally the account owner)."
        )
    elif status == 410:
        remedy = f"Clio no longer serves API version {API_VERSION}; upgrade ledgerlink."
    return kind(summary, status=status, code=code, detail=message, request_id=request_id, remedy=remedy)


class ClioClient:
    """Reads one Clio account through a :class:`Transport`. Lists are generators that page lazily."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    @classmethod
    def connect(
        cls,
        api_url: str,
        auth: TokenSource,
        *,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        http_transport: httpx.BaseTransport | None = None,
    ) -> ClioClient:
        """A client for the Clio API at ``api_url`` (e.g. ``https://app.clio.com/api/v4``)."""
        transport = Transport(
            api_url,
            name="Clio",
            auth=auth,
            limiter=limiter or RateLimiter(sleep=sleep),
            headers={"X-API-VERSION": API_VERSION, "Accept": "application/json"},
            error_mapper=clio_error,
            sleep=sleep,
            http_transport=http_transport,
        )
        return cls(transport)

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> ClioClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads --------------------------------------------------------------------------------

    def who_am_i(self) -> ClioUser:
        """The connected user, with ``account{id,name}`` (the firm)."""
        return self._one(ClioUser, "users/who_am_i.json", USER_FIELDS)

    def users(self) -> Iterator[ClioUser]:
        """Every user of the account (the account owner has ``account_owner``)."""
        return self._list(ClioUser, "users.json", USER_FIELDS)

    def contacts(
        self, *, updated_since: dt.datetime | None = None, ids: Iterable[int] | None = None
    ) -> Iterator[ClioContact]:
        """Contacts, all of them or those updated after ``updated_since`` / with the given ids."""
        return self._list(ClioContact, "contacts.json", CONTACT_FIELDS, _since(updated_since), ids=ids)

    def contact(self, contact_id: int) -> ClioContact:
        return self._one(ClioContact, f"contacts/{contact_id}.json", CONTACT_FIELDS)

    def bills(
        self,
        *,
        updated_since: dt.datetime | None = None,
        ids: Iterable[int] | None = None,
        states: Iterable[str] | None = None,
        issued_after: dt.date | None = None,
    ) -> Iterator[ClioBill]:
        """Bills, filtered as Clio filters them: ``issued_after`` is strictly after that date.

        Clio's ``state`` filter takes one state, so several states are read one after another.
        Bills issued on ``issued_after`` itself are dropped here too, whatever the server does.
        """
        params = [("type", "revenue"), *_since(updated_since)]
        if issued_after is not None:
            params.append(("issued_after", issued_after.isoformat()))
        passes: list[Params] = [[]]
        if states is not None:
            passes = [[("state", state)] for state in dict.fromkeys(states)]
        for state_params in passes:
            for bill in self._list(ClioBill, "bills.json", BILL_FIELDS, params + state_params, ids=ids):
                if issued_after is None or (bill.issued_at is not None and bill.issued_at > issued_after):
                    yield bill

    def line_items(self, bill_id: int) -> list[ClioLineItem]:
        """Every line of one bill, in id order."""
        return list(self._list(ClioLineItem, "line_items.json", LINE_ITEM_FIELDS, [("bill_id", bill_id)]))

    def line_items_created_since(self, created_since: dt.datetime) -> Iterator[ClioLineItem]:
        """Every line item created after ``created_since``, of any bill (each names its ``bill``).

        One paged scan instead of a request per bill: the cheap way to read the lines of many
        recent bills.
        """
        if created_since.tzinfo is None:
            raise ValueError("created_since must be timezone-aware")
        params: Params = [("created_since", created_since.isoformat())]
        return self._list(ClioLineItem, "line_items.json", LINE_ITEM_FIELDS, params)

    def activities(self, ids: Iterable[int]) -> Iterator[ClioActivity]:
        """The activities (time and expense entries) with these ids, e.g. those behind a bill's lines."""
        wanted = sorted(set(ids))
        if wanted:
            yield from self._list(ClioActivity, "activities.json", ACTIVITY_FIELDS, ids=wanted)

    def activity_categories(self, ids: Iterable[int]) -> Iterator[ClioActivityCategory]:
        """The activities with these ids as a bill's lines need them: their categories alone.

        A fifth of the bytes of :meth:`activities`, for a read a first sync makes for every line.
        """
        wanted = sorted(set(ids))
        if wanted:
            yield from self._list(
                ClioActivityCategory, "activities.json", ACTIVITY_CATEGORY_FIELDS, ids=wanted
            )

    def activity_descriptions(self) -> list[ClioActivityDescription]:
        """The firm's activity categories."""
        return list(
            self._list(ClioActivityDescription, "activity_descriptions.json", ACTIVITY_DESCRIPTION_FIELDS)
        )

    def expense_categories(self) -> list[ClioExpenseCategory]:
        return list(self._list(ClioExpenseCategory, "expense_categories.json", EXPENSE_CATEGORY_FIELDS))

    def billing_settings(self) -> ClioBillingSettings:
        """The firm's tax names and rates."""
        return self._one(ClioBillingSettings, "settings/billing.json", BILLING_SETTINGS_FIELDS)

    def allocations(
        self,
        *,
        updated_since: dt.datetime | None = None,
        status: Literal["valid", "invalid"] | None = "valid",
        parent_ids: Iterable[int] | None = None,
        ids: Iterable[int] | None = None,
    ) -> Iterator[ClioAllocation]:
        """Allocations (payments and credits applied to bills): the valid ones, the voided ones, or
        both in one read (``status=None``).

        Clio's ``parent_id`` filter takes one parent, so ``parent_ids`` are read one after
        another. A parent id names a Payment or a CreditMemo, whose ids may coincide: callers
        keep the allocations whose ``parent.type`` they want.

        Assumption: without ``status`` Clio lists valid and voided allocations alike. The spec
        (reference/clio_openapi.json, ``GET /allocations.json``) documents ``status`` as a filter
        ("Filter Allocation records to only those that are voided or not voided") with no default,
        where it names the defaults it has (``order``: "Default: `date(asc)`"); reference clio.md §8
        reads the allocations delta without it, asking for ``voided_at``.
        """
        params = [*_since(updated_since), *([("status", status)] if status else [])]
        if parent_ids is None:
            yield from self._list(ClioAllocation, "allocations.json", ALLOCATION_FIELDS, params, ids=ids)
            return
        for parent_id in dict.fromkeys(int(i) for i in parent_ids):
            parent_params = [*params, ("parent_id", parent_id)]
            yield from self._list(
                ClioAllocation, "allocations.json", ALLOCATION_FIELDS, parent_params, ids=ids
            )

    def bank_accounts(
        self, type: Literal["TrustAccount", "OperatingAccount"] = "TrustAccount"
    ) -> Iterator[ClioBankAccount]:
        """The firm's open bank accounts of one type (the filter says ``TrustAccount``; the field "Trust")."""
        params: Params = [("type", type), ("status", "opened")]
        return self._list(ClioBankAccount, "bank_accounts.json", BANK_ACCOUNT_FIELDS, params)

    def bank_transactions(
        self, account_id: int, *, updated_since: dt.datetime | None = None
    ) -> Iterator[ClioBankTransaction]:
        """Every transaction of one bank account (or those updated after ``updated_since``), by id."""
        params: Params = [("bank_account_id", account_id), *_since(updated_since)]
        return self._list(ClioBankTransaction, "bank_transactions.json", BANK_TRANSACTION_FIELDS, params)

    # -- writes -------------------------------------------------------------------------------

    def update_contact(self, contact_id: int, body: dict[str, Any], *, etag: str) -> ClioContact:
        """PATCH a contact with ``If-Match``: a contact changed since ``etag`` is a ConflictError (412).

        ``body`` is the ``data`` object (see :func:`~ledgerlink.providers.clio.translate.contact_edit_body`);
        the answer is the contact as it now is.
        """
        path = f"contacts/{contact_id}.json"
        response = self._transport.request(
            "PATCH",
            path,
            params=[("fields", CONTACT_FIELDS)],
            json={"data": body},
            headers={"If-Match": etag},
            idempotent=True,
        )
        return _parse(ClioContact, _json_object(response, path).get("data"), path)

    def create_contact(self, body: dict[str, Any]) -> ClioContact:
        """POST a new contact (``body`` is the ``data`` object, see
        :func:`~ledgerlink.providers.clio.translate.contact_create_body`); the contact as Clio made it.

        Not idempotent: Clio takes no idempotency key, so a caller that may repeat it must first
        look for the contact a lost answer may have created.
        """
        path = "contacts.json"
        response = self._transport.request(
            "POST", path, params=[("fields", CONTACT_FIELDS)], json={"data": body}
        )
        return _parse(ClioContact, _json_object(response, path).get("data"), path)

    # -- hard-cost import: matters, vendors, activities ------------------------------------------

    def matters_of(self, client_ids: Iterable[int]) -> list[ClioMatter]:
        """Every matter (any status) of each client: one ``client_id`` request per client."""
        found: list[ClioMatter] = []
        for client_id in dict.fromkeys(client_ids):
            found.extend(self._list(ClioMatter, "matters.json", MATTER_FIELDS, [("client_id", client_id)]))
        return found

    def contacts_matching(self, text: str) -> list[ClioContact]:
        """Contacts whose name, e-mail or other text contains ``text`` (Clio's wildcard ``query``)."""
        return list(self._list(ClioContact, "contacts.json", CONTACT_FIELDS, [("query", text)]))

    def activities_noted(self, text: str, *, matter_id: int | None = None) -> list[ClioActivity]:
        """Activities whose note contains ``text`` (``query`` searches notes), optionally on one matter."""
        params: Params = [("query", text)]
        if matter_id is not None:
            params.append(("matter_id", matter_id))
        return list(self._list(ClioActivity, "activities.json", ACTIVITY_FIELDS, params))

    def create_activity(self, body: dict[str, Any]) -> ClioActivity:
        """POST an activity (``body`` is the ``data`` object); the activity as Clio made it.

        Not idempotent (Clio takes no idempotency key): a caller that may repeat it looks first for
        the activity a lost answer may have created (by the marker it put in the note).
        """
        path = "activities.json"
        response = self._transport.request(
            "POST", path, params=[("fields", ACTIVITY_FIELDS)], json={"data": body}
        )
        return _parse(ClioActivity, _json_object(response, path).get("data"), path)

    def update_activity(self, activity_id: int, body: dict[str, Any], *, etag: str | None) -> ClioActivity:
        """PATCH an activity, with ``If-Match`` when ``etag`` is given (safe to repeat then)."""
        path = f"activities/{activity_id}.json"
        response = self._transport.request(
            "PATCH",
            path,
            params=[("fields", ACTIVITY_FIELDS)],
            json={"data": body},
            headers={"If-Match": etag} if etag else None,
            idempotent=etag is not None,
        )
        return _parse(ClioActivity, _json_object(response, path).get("data"), path)

    def delete_activity(self, activity_id: int) -> None:
        """DELETE an activity (204). Repeating it after a lost answer is a 404, never a second effect."""
        self._transport.request("DELETE", f"activities/{activity_id}.json", idempotent=True)

    # -- payroll: time entries ------------------------------------------------------------------

    def time_entries(
        self, *, updated_since: dt.datetime | None = None, ids: Iterable[int] | None = None
    ) -> Iterator[ClioTimeEntry]:
        """Time entries (``type=TimeEntry``), all, changed after ``updated_since``, or with these ids.

        Each comes with its bill's state (approved or not) and its matter's client, so payroll
        needs no other read to place it.
        """
        params: Params = [("type", "TimeEntry"), *_since(updated_since)]
        return self._list(ClioTimeEntry, "activities.json", TIME_ENTRY_FIELDS, params, ids=ids)

    # -- plumbing -----------------------------------------------------------------------------

    def _one(self, model: type[Model], path: str, fields: str) -> Model:
        body = self._get(path, [("fields", fields)])
        return _parse(model, body.get("data"), path)

    def _list(
        self,
        model: type[Model],
        path: str,
        fields: str,
        params: Params | None = None,
        *,
        ids: Iterable[int] | None = None,
    ) -> Iterator[Model]:
        base: Params = [("fields", fields), ("order", "id(asc)"), ("limit", PAGE_SIZE), *(params or [])]
        if ids is None:
            yield from self._pages(model, path, base)
            return
        chosen = list(dict.fromkeys(int(i) for i in ids))
        for start in range(0, len(chosen), IDS_PER_REQUEST):
            chunk = chosen[start : start + IDS_PER_REQUEST]
            yield from self._pages(model, path, base + [("ids[]", i) for i in chunk])

    def _pages(self, model: type[Model], path: str, params: Params) -> Iterator[Model]:
        body = self._get(path, params)
        while True:
            data = body.get("data")
            if not isinstance(data, list):
                raise _malformed(path, "data is not a list")
            for item in data:
                yield _parse(model, item, path)
            paging = (body.get("meta") or {}).get("paging") or {}
            next_url = paging.get("next")
            if not next_url:
                return
            # The next URL already carries fields, filters, limit and the page token.
            body = self._get(str(next_url), None)

    def _get(self, url: str, params: Params | None) -> dict[str, Any]:
        return _json_object(self._transport.request("GET", url, params=params), url)

    # -- what `ledgerlink doctor` reads ---------------------------------------------------------

    def clients(self) -> Iterator[ClioContact]:
        """The contacts marked as clients (``client_only=true``): those a sync can push as customers."""
        return self._list(ClioContact, "contacts.json", CONTACT_FIELDS, [("client_only", "true")])

    def bill_numbers(self, order: str, *, limit: int = PAGE_SIZE) -> list[str]:
        """The numbers of the first ``limit`` revenue bills (any state) in ``order``, e.g. ``number(desc)``.

        One request: any order but ``id(asc)`` pages by offset (reference §1.4), so ``offset=0`` is
        sent explicitly and only the first page is read. Trust requests are left out like everywhere
        (``type=revenue``): they never become invoices.
        """
        params: Params = [
            ("fields", "id,number"),
            ("type", "revenue"),
            ("order", order),
            ("limit", limit),
            ("offset", 0),
        ]
        body = self._get("bills.json", params)
        data = body.get("data")
        if not isinstance(data, list):
            raise _malformed("bills.json", "data is not a list")
        return [str(item["number"]) for item in data if isinstance(item, dict) and item.get("number")]


def _json_object(response: httpx.Response, url: str) -> dict[str, Any]:
    try:
        body = json.loads(response.content, parse_float=Decimal)
    except ValueError:
        raise _malformed(url, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _malformed(url, "the body is not a JSON object")
    return body


def _since(updated_since: dt.datetime | None) -> Params:
    if updated_since is None:
        return []
    if updated_since.tzinfo is None:
        raise ValueError("updated_since must be timezone-aware")
    return [("updated_since", updated_since.isoformat())]


def _parse(model: type[Model], data: Any, where: str) -> Model:
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise _malformed(where, f"unexpected {model.__name__}: {exc.errors()[0]['msg']}") from None


def _malformed(where: str, why: str) -> ApiError:
    return ApiError(
        f"Clio sent a response ledgerlink cannot read ({where}: {why})",
        status=200,
        remedy="Report this to the ledgerlink maintainers with the log (run with --verbose).",
    )
