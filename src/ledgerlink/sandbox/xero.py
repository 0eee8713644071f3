"""Xero Accounting API emulator: per-organisation books behind ``/xero/api/api.xro/2.0``, strict.

The sandbox mounts it so that ``{sandbox}/xero/api/api.xro/2.0`` stands for
``https://api.xero.com/api.xro/2.0`` (reference §1). What a request meets, in order:

1. **Token**: ``Authorization: Bearer`` must be a live Xero access token of the shared registry
   (401 ``{"Title","Status","Detail","Instance"}``, ``TokenExpired: token expired at …`` or
   ``AuthenticationUnsuccessful``, as ``/connections`` answers).
2. **Tenant**: ``xero-tenant-id`` must name an organisation the token's app is connected to;
   otherwise 403 ``{"title":"Forbidden","status":403,"detail":"AuthenticationUnsuccessful",
   "instance":…}`` (reference §1, the shape of xeroizer's recorded answer).
3. **Limits** (§5), per (app, organisation): ``settings.xero_concurrent`` calls in flight,
   ``settings.xero_per_minute`` per minute and ``settings.xero_per_day`` per day on the sandbox
   clock (fixed windows from the first call), plus the app-wide minute window ``/connections``
   also counts. Every answer carries ``X-DayLimit-Remaining``, ``X-MinLimit-Remaining`` and
   ``X-AppMinLimit-Remaining``; over a limit → 429 with ``Retry-After`` (seconds to the window's
   end) and ``X-Rate-Limit-Problem`` ``minute`` / ``day`` / ``appminute`` / ``concurrent``.
4. **Idempotency-Key** on PUT/POST (§4): ≤ 128 characters; the first answer (errors included) is
   replayed for 6 minutes to the same app sending the same key with the same method, path, query,
   tenant and body; the same key with a different request is a 400. Limits are counted first, so
   replays use quota.
5. **The body** must be JSON that fits the operation's request schema in the spec (strictly:
   undeclared properties are refused, see :mod:`ledgerlink.sandbox.xero_spec`), else 400
   ValidationException with one element listing the problems.
6. **The operation** (:mod:`xero_records`, :mod:`xero_documents`): PUT creates only, POST creates
   or updates by id, ``POST /{Resource}/{id}`` updates one. ``summarizeErrors=false`` → 200 with
   every element flagged (``StatusAttributeString`` OK/ERROR, ``ValidationErrors``,
   ``HasErrors`` on invoices and credit notes, ``HasValidationErrors`` on the others); otherwise
   any invalid element → 400 ValidationException echoing the failing elements while the valid
   elements of that request ARE still created, unreported (reference §1 and pain point 3: the
   duplicate-on-retry trap ledgerlink avoids by always sending ``summarizeErrors=false``). Tests
   that want the all-or-nothing variant set :attr:`XeroEmulator.commit_valid_elements` to False.

Reads: ``GET`` lists accept ``where``, ``order``, ``page`` (+ ``pageSize``, default 100, at
most 1000: reference §1), ``If-Modified-Since`` and the resource's explicit filters (Contacts: ``IDs``,
``includeArchived``, ``searchTerm``; Invoices: ``IDs``, ``InvoiceNumbers``, ``ContactIDs``,
``Statuses``). A paged answer adds ``pagination``; an unpaged list of Invoices, CreditNotes or
BankTransactions leaves ``LineItems`` out (the spec's ``page`` descriptions: only paged lists
carry line items). ``unitdp=4`` keeps 4-dp unit amounts.

Assumptions not settled by the reference (besides those of the rules modules):

- Paths are matched case-insensitively. Unknown resources and unknown ids are 404 with
  ``{"Title":"Not Found","Status":404,"Detail":"The resource you're looking for cannot be
  found"}``; a malformed body or where clause is a 400 ValidationException.
- ``If-Modified-Since`` (RFC 1123 or ISO 8601; no zone = UTC) keeps records whose
  ``UpdatedDateUTC``, truncated to the second, is at or after it (inclusive: overlap, not loss).
- The idempotency answer for a reused key is a 400 ValidationException whose ``Message`` is
  "Idempotency Key: <key> is used with a different request." and whose ``Elements`` is empty.
- A ``pageSize`` that is not a whole number from 1 to 1000 is a 400 ValidationException (the
  reference gives the maximum, not Xero's answer past it: refusing is the strict reading).
- A query string longer than 2,048 characters (as sent, percent-encoded) is answered 404 with the
  not-found body before anything else is looked at (``XeroAPI/Xero-NetStandard#471``: a URL over
  2,091 characters; ``XeroAPI/Xero-OpenAPI#534``, ``XeroAPI/xero-node#404``: 52 ids pass, 53 fail).
- Scopes are not checked per endpoint; a 429's body is ``{"Title","Status","Detail"}``.
- Accounts and TaxRates are read-only through the API here (tests add them with the helpers);
  ``summaryOnly`` and ``createdByMyApp`` are accepted and ignored.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ledgerlink.sandbox import xero_documents as docs
from ledgerlink.sandbox import xero_spec
from ledgerlink.sandbox.demo_firm import XERO_USER_ID
from ledgerlink.sandbox.qbo_schema import to_json
from ledgerlink.sandbox.state import SandboxState
from ledgerlink.sandbox.xero_identity import token_claims
from ledgerlink.sandbox.xero_query import QueryError, order_fields, parse_where_fields, sort_records
from ledgerlink.sandbox.xero_records import (
    Books,
    Refusal,
    default_accounts,
    default_tax_rates,
    mstime,
    render_account,
    render_contact,
    render_organisation,
    render_tax_rate,
    store_account,
    store_tax_rate,
    write_contact,
)

IDEMPOTENCY_WINDOW = 6 * 60
IDEMPOTENCY_KEY_MAX = 128
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000
MAX_QUERY_STRING = 2048
NOT_FOUND_TEXT = "The resource you're looking for cannot be found"
DEFAULT_APP = "sandbox-xero-app"
# Canonical resource names: the URL segment (any case) -> collection key.
RESOURCES = {
    name.lower(): name
    for name in (
        "Contacts",
        "Invoices",
        "Payments",
        "CreditNotes",
        "BankTransactions",
        "Accounts",
        "TaxRates",
        "Organisation",
    )
}
# Collections whose unpaged lists leave LineItems out.
LINE_COLLECTIONS = ("Invoices", "CreditNotes", "BankTransactions")
# Which flag marks an element's errors (reference §1: Invoices/CreditNotes HasErrors, others not).
ERROR_FLAG = {
    "Invoices": "HasErrors",
    "CreditNotes": "HasErrors",
    "Contacts": "HasValidationErrors",
    "Payments": "HasValidationErrors",
}


@dataclass
class _Reply:
    status: int
    body: dict[str, Any]


@dataclass
class _Remembered:
    fingerprint: str
    at: float
    reply: _Reply


@dataclass
class _Window:
    """A fixed window of ``length`` seconds on the sandbox clock, opened by its first call."""

    length: int
    start: float = 0.0
    used: int = 0

    def _roll(self, now: float) -> None:
        if now >= self.start + self.length:
            self.start, self.used = now, 0

    def take(self, now: float, limit: int) -> bool:
        self._roll(now)
        if self.used >= limit:
            return False
        self.used += 1
        return True

    def remaining(self, now: float, limit: int) -> int:
        self._roll(now)
        return max(0, limit - self.used)

    def retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.start + self.length - now))


class XeroHttpError(Exception):
    """A whole-request answer other than 200 (404, 400 for a malformed request)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def validation_exception(
    elements: list[dict[str, Any]], message: str = "A validation exception occurred"
) -> dict[str, Any]:
    return {"ErrorNumber": 10, "Type": "ValidationException", "Message": message, "Elements": elements}


def _bad_request(*messages: str) -> XeroHttpError:
    return XeroHttpError(
        400, validation_exception([{"ValidationErrors": [{"Message": m} for m in messages]}])
    )


def _not_found() -> XeroHttpError:
    return XeroHttpError(404, {"Title": "Not Found", "Status": 404, "Detail": NOT_FOUND_TEXT})


class XeroEmulator:
    """Stateful Xero organisations behind an ASGI app (``.app``), plus a Python API for tests.

    Python API (bypasses HTTP, auth and limits, never validation; raises ``Refusal``)::

        emu.books(tenant_id) -> Books                                   # created on first use
        emu.access_token(tenant_ids=None, client_id="sandbox-xero-app") -> str   # consent + token
        emu.add_contact(tenant_id, Name="Ada", ContactNumber="7") -> dict       # rendered
        emu.add_account(tenant_id, Code="201", Name="Fees", Type="REVENUE", Status="ARCHIVED")
        emu.add_tax_rate(tenant_id, "TAX001", "City Sales Tax", "8.875")
        emu.add_invoice(tenant_id, {...}) / emu.add_payment(tenant_id, {...}) /
        emu.add_credit_note(tenant_id, {...}) / emu.add_bank_transaction(tenant_id, {...})
        emu.records(tenant_id, "Invoices") -> list[dict]               # every record, rendered
        emu.get(tenant_id, "Invoices", invoice_id) -> dict
        emu.archive_contact(tenant_id, contact_id)                     # a user archives in Xero
        emu.archive_account(tenant_id, code)
        emu.reconcile(bank_transaction_or_payment_id, tenant_id=None)  # a bank-rec in Xero
        emu.set_period_lock_date(tenant_id, date(2026, 6, 30))
        emu.enable_currency(tenant_id, "EUR")
    """

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._books: dict[str, Books] = {}
        self._lock = threading.RLock()
        self._remembered: dict[tuple[str, str], _Remembered] = {}
        self._in_flight: dict[str, int] = {}
        self._windows: dict[str, _Window] = {}
        # Emulate the observed real behaviour of summarised batches (reference §1) when True.
        self.commit_valid_elements = True
        self.app = Starlette(
            routes=[Route("/{rest:path}", self._handle, methods=["GET", "PUT", "POST", "DELETE"])]
        )

    # -- Python API ----------------------------------------------------------------------------

    def books(self, tenant_id: str) -> Books:
        """The books of an organisation known to ``state.xero_orgs``, opened with the default chart."""
        with self._lock:
            found = self._books.get(tenant_id)
            if found is not None:
                return found
            org = self.state.xero_orgs.organisation(tenant_id)
            if org is None:
                raise KeyError(f"no Xero organisation {tenant_id}")
            books = Books(tenant_id, org.name, self.state.clock.now, created_at=self.state.clock.now())
            for rate in default_tax_rates():
                store_tax_rate(books, rate)
            for account in default_accounts():
                store_account(books, account)
            self._books[tenant_id] = books
            return books

    def open_demo_books(self, tenant_id: str) -> Books:
        """Open the demo organisation's books with the demo firm's chart (:mod:`.xero_demo`)."""
        from ledgerlink.sandbox.xero_demo import demo_accounts

        books = self.books(tenant_id)
        with self._lock:
            for account in demo_accounts():
                if books.account_by_code(str(account["Code"])) is None:
                    store_account(books, account)
        return books

    def access_token(self, tenant_ids: list[str] | None = None, *, client_id: str = DEFAULT_APP) -> str:
        """Connect ``client_id`` to the organisations (all, by default) and mint an access token."""
        tenants = (
            tenant_ids
            if tenant_ids is not None
            else [o.tenant_id for o in self.state.xero_orgs.organisations()]
        )
        consent = self.state.xero_orgs.consent(
            client_id, XERO_USER_ID, "offline_access accounting.contacts", tenants
        )
        return self.state.tokens.issue(
            "xero", client_id, None, auth_event_id=consent.auth_event_id
        ).access_token

    def add_contact(
        self, tenant_id: str, body: Mapping[str, Any] | None = None, **fields: Any
    ) -> dict[str, Any]:
        with self._lock:
            books = self.books(tenant_id)
            given = {**(body or {}), **fields}
            wanted_id = given.pop("ContactID", None)
            contact = write_contact(books, given, create_only=True, path_id=None)
            if wanted_id:  # tests may pin an id (e.g. the spec examples' ids)
                books.contacts[str(wanted_id).lower()] = books.contacts.pop(contact["ContactID"])
                contact["ContactID"] = str(wanted_id).lower()
            return render_contact(books, contact)

    def add_account(self, tenant_id: str, **fields: Any) -> dict[str, Any]:
        """Add an account (``Code`` optional; ``Status`` may be ARCHIVED); rendered as GET shows it."""
        with self._lock:
            books = self.books(tenant_id)
            if fields.get("AccountID"):
                fields["AccountID"] = str(fields["AccountID"]).lower()
            return render_account(store_account(books, fields))

    def add_tax_rate(
        self, tenant_id: str, tax_type: str, name: str, rate: Decimal | str | int
    ) -> dict[str, Any]:
        with self._lock:
            books = self.books(tenant_id)
            return render_tax_rate(store_tax_rate(books, {"TaxType": tax_type, "Name": name, "Rate": rate}))

    def add_invoice(self, tenant_id: str, body: Mapping[str, Any], *, unitdp: int = 2) -> dict[str, Any]:
        return self._add(tenant_id, "Invoices", body, unitdp)

    def add_credit_note(self, tenant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._add(tenant_id, "CreditNotes", body, 2)

    def add_payment(self, tenant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._add(tenant_id, "Payments", body, 2)

    def add_bank_transaction(self, tenant_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return self._add(tenant_id, "BankTransactions", body, 2)

    def _add(self, tenant_id: str, collection: str, body: Mapping[str, Any], unitdp: int) -> dict[str, Any]:
        with self._lock:
            books = self.books(tenant_id)
            element = copy.deepcopy(dict(body))
            wanted_id = element.pop(_ID_FIELD[collection], None)
            record = _WRITERS[collection](books, element, True, None, unitdp)
            if wanted_id:
                table = _table(books, collection)
                table[str(wanted_id).lower()] = table.pop(record[_ID_FIELD[collection]])
                record[_ID_FIELD[collection]] = str(wanted_id).lower()
            return _render(books, collection, record, unitdp=unitdp, with_lines=True)

    def records(self, tenant_id: str, collection: str) -> list[dict[str, Any]]:
        """Every record of a collection (``"Invoices"``, ``"Contacts"``, …), archived/deleted too."""
        with self._lock:
            books = self.books(tenant_id)
            name = RESOURCES[collection.lower()]
            return [_render(books, name, r, unitdp=4, with_lines=True) for r in _rows(books, name)]

    def get(self, tenant_id: str, collection: str, record_id: str) -> dict[str, Any]:
        with self._lock:
            books = self.books(tenant_id)
            name = RESOURCES[collection.lower()]
            return _render(books, name, _table(books, name)[record_id.lower()], unitdp=4, with_lines=True)

    def archive_contact(self, tenant_id: str, contact_id: str) -> None:
        with self._lock:
            books = self.books(tenant_id)
            contact = books.contacts[contact_id.lower()]
            contact["ContactStatus"] = "ARCHIVED"
            contact["UpdatedDateUTC"] = books.now()

    def archive_account(self, tenant_id: str, code: str) -> None:
        with self._lock:
            books = self.books(tenant_id)
            account = books.account_by_code(code)
            if account is None:
                raise KeyError(code)
            account["Status"] = "ARCHIVED"
            account["UpdatedDateUTC"] = books.now()

    def reconcile(self, record_id: str, tenant_id: str | None = None) -> None:
        """Mark a bank transaction (or payment) reconciled, as a bank reconciliation in Xero does."""
        with self._lock:
            tenants = [tenant_id] if tenant_id else list(self._books)
            for tenant in tenants:
                books = self.books(tenant)
                for table in (books.bank_transactions, books.payments):
                    record = table.get(record_id.lower())
                    if record is not None:
                        record["IsReconciled"] = True
                        record["UpdatedDateUTC"] = books.now()
                        return
            raise KeyError(record_id)

    def set_period_lock_date(self, tenant_id: str, day: Any) -> None:
        with self._lock:
            self.books(tenant_id).period_lock_date = day

    def enable_currency(self, tenant_id: str, code: str) -> None:
        with self._lock:
            self.books(tenant_id).currencies.add(code)

    # -- HTTP ----------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        if len(request.scope.get("query_string", b"")) > MAX_QUERY_STRING:
            return _json(404, _not_found().body)
        authorization = request.headers.get("authorization")
        grant = self.state.tokens.check("xero", authorization)
        if grant is None:
            return _json(401, _problem(401, "Unauthorized", self._why_unauthorized(authorization)))
        tenant_id = (request.headers.get("xero-tenant-id") or "").strip().lower()
        if not tenant_id or not self.state.xero_orgs.connected(grant.client_id, tenant_id):
            forbidden = {
                "title": "Forbidden",
                "status": 403,
                "detail": "AuthenticationUnsuccessful",
                "instance": str(uuid.uuid4()),
            }
            return _json(403, forbidden)
        limited = self._count(grant.client_id, tenant_id)
        headers, problem, retry = limited
        if problem is not None:
            limit_headers = {**headers, "Retry-After": str(retry), "X-Rate-Limit-Problem": problem}
            return _json(
                429, _problem(429, "Too Many Requests", f"Rate limit exceeded: {problem}"), limit_headers
            )
        flight = f"{grant.client_id}:{tenant_id}"
        with self._lock:
            self._in_flight[flight] = self._in_flight.get(flight, 0) + 1
            crowded = self._in_flight[flight] > self.state.settings.xero_concurrent
        try:
            if crowded:
                limit_headers = {**headers, "Retry-After": "1", "X-Rate-Limit-Problem": "concurrent"}
                return _json(
                    429, _problem(429, "Too Many Requests", "Rate limit exceeded: concurrent"), limit_headers
                )
            body = await request.body()
            reply = self._answer(request, grant.client_id, tenant_id, body)
        finally:
            with self._lock:
                self._in_flight[flight] -= 1
        return _json(reply.status, reply.body, headers)

    def _why_unauthorized(self, authorization: str | None) -> str:
        text = authorization or ""
        claims = token_claims(text[7:].strip()) if text.lower().startswith("bearer ") else None
        expiry = claims.get("exp") if claims else None
        if isinstance(expiry, int) and expiry <= self.state.clock.now():
            when = datetime.fromtimestamp(expiry, UTC).strftime("%m/%d/%Y %H:%M:%S")
            return f"TokenExpired: token expired at {when}"
        return "AuthenticationUnsuccessful"

    def _count(self, client_id: str, tenant_id: str) -> tuple[dict[str, str], str | None, int]:
        """Count one call against the app-minute, tenant-minute and tenant-day windows.

        A call refused by the minute window does not use the day's budget.
        """
        settings, now = self.state.settings, self.state.clock.now()
        app_ok, app_left, app_reset = self.state.rates.hit(
            f"xero-app:{client_id}", settings.xero_app_per_minute, 60
        )
        key = f"{client_id}:{tenant_id}"
        with self._lock:
            minute = self._windows.setdefault(f"{key}:minute", _Window(60))
            day = self._windows.setdefault(f"{key}:day", _Window(86_400))
            problem: str | None = None
            retry = 0
            if not app_ok:
                problem, retry = "appminute", max(1, math.ceil(app_reset - now))
            elif not minute.take(now, settings.xero_per_minute):
                problem, retry = "minute", minute.retry_after(now)
            elif not day.take(now, settings.xero_per_day):
                problem, retry = "day", day.retry_after(now)
            headers = {
                "X-DayLimit-Remaining": str(day.remaining(now, settings.xero_per_day)),
                "X-MinLimit-Remaining": str(minute.remaining(now, settings.xero_per_minute)),
                "X-AppMinLimit-Remaining": str(app_left),
            }
        return headers, problem, retry

    def _answer(self, request: Request, client_id: str, tenant_id: str, body: bytes) -> _Reply:
        method = request.method
        key = request.headers.get("idempotency-key")
        if method in ("PUT", "POST") and key is not None:
            if not key or len(key) > IDEMPOTENCY_KEY_MAX:
                return _Reply(
                    400, _bad_request(f"Idempotency Key must be 1 to {IDEMPOTENCY_KEY_MAX} characters.").body
                )
            query = "&".join(sorted(f"{k}={v}" for k, v in request.query_params.multi_items()))
            print_ = hashlib.sha256(
                "\n".join([method, request.url.path.lower(), query, tenant_id]).encode() + b"\n" + body
            ).hexdigest()
            now = self.state.clock.now()
            with self._lock:
                known = self._remembered.get((client_id, key))
                if known is not None and now < known.at + IDEMPOTENCY_WINDOW:
                    if known.fingerprint != print_:
                        text = f"Idempotency Key: {key} is used with a different request."
                        return _Reply(400, validation_exception([], text))
                    return copy.deepcopy(known.reply)
                reply = self._run(request, client_id, tenant_id, body)
                self._remembered[(client_id, key)] = _Remembered(print_, now, copy.deepcopy(reply))
                return reply
        with self._lock:
            return self._run(request, client_id, tenant_id, body)

    def _run(self, request: Request, client_id: str, tenant_id: str, body: bytes) -> _Reply:
        try:
            books = self.books(tenant_id)
            status, answer = self._route(books, request, body)
        except XeroHttpError as error:
            return _Reply(error.status, error.body)
        app = self.state.xero_apps.get(client_id)
        envelope = {
            "Id": str(uuid.uuid4()),
            "Status": "OK",
            "ProviderName": app.name if app else client_id,
            "DateTimeUTC": mstime(self.state.clock.now(), offset=False),
            **answer,
        }
        return _Reply(status, envelope)

    def _route(self, books: Books, request: Request, body: bytes) -> tuple[int, dict[str, Any]]:
        segments = [s for s in request.path_params["rest"].split("/") if s]
        if not segments or segments[0].lower() not in RESOURCES:
            raise _not_found()
        name = RESOURCES[segments[0].lower()]
        method, params = request.method, request.query_params
        unitdp = 4 if params.get("unitdp") == "4" else 2
        if method == "GET":
            if name == "Organisation" and len(segments) == 1:
                return 200, {"Organisations": [render_organisation(books)]}
            if len(segments) == 1:
                return 200, self._list(books, name, request, unitdp)
            if len(segments) == 2:
                record = _find(books, name, segments[1])
                if record is None:
                    raise _not_found()
                return 200, {name: [_render(books, name, record, unitdp=unitdp, with_lines=True)]}
            raise _not_found()
        if name in ("Accounts", "TaxRates", "Organisation"):
            raise _not_found()
        if method == "DELETE":
            if name == "CreditNotes" and len(segments) == 4 and segments[2].lower() == "allocations":
                try:
                    allocation = docs.delete_allocation(books, segments[1], segments[3])
                except Refusal as refusal:
                    raise _bad_request(*refusal.messages) from None
                return 200, {"Allocations": [docs.render_allocation(books, allocation)]}
            raise _not_found()
        parsed = _json_body(body)
        if (
            name == "CreditNotes"
            and len(segments) == 3
            and segments[2].lower() == "allocations"
            and method == "PUT"
        ):
            template = "/CreditNotes/{CreditNoteID}/Allocations"
            note_id = segments[1]
            if note_id.lower() not in books.credit_notes:
                raise _not_found()
            return self._write(
                books,
                request,
                parsed,
                template,
                "Allocations",
                lambda el: docs.write_allocation(books, note_id, el),
                lambda record: docs.render_allocation(books, record),
            )
        if len(segments) > 2:
            raise _not_found()
        path_id: str | None = None
        if len(segments) == 2:
            target = _find(books, name, segments[1])
            if target is None:
                raise _not_found()
            path_id = str(target[_ID_FIELD[name]])
        template = f"/{name}" + (f"/{{{_ID_FIELD[name]}}}" if path_id else "")
        if (method, template) not in xero_spec.operations():
            raise _not_found()
        if name == "Payments":
            if path_id is not None:
                return self._write(
                    books,
                    request,
                    parsed,
                    template,
                    name,
                    lambda el: docs.delete_payment(books, path_id, el),
                    lambda record: docs.render_payment(books, record),
                    single=True,
                )
            return self._write(
                books,
                request,
                parsed,
                template,
                name,
                lambda el: docs.write_payment(books, el),
                lambda record: docs.render_payment(books, record),
                single=method == "POST",
            )
        create_only = method == "PUT"
        writer = _WRITERS[name]
        return self._write(
            books,
            request,
            parsed,
            template,
            name,
            lambda el: writer(books, el, create_only, path_id, unitdp),
            lambda record: _render(books, name, record, unitdp=unitdp, with_lines=True),
            single=path_id is not None,
        )

    def _write(
        self,
        books: Books,
        request: Request,
        body: Any,
        template: str,
        key: str,
        write: Callable[[dict[str, Any]], dict[str, Any]],
        render: Callable[[dict[str, Any]], dict[str, Any]],
        *,
        single: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """Run a write of one or many elements with Xero's summarised / per-element error rules."""
        problems = xero_spec.body_problems(request.method, template, body)
        if (
            template == "/Payments/{PaymentID}"
            and problems
            and all("unknown property" in p for p in problems)
        ):
            problems = []  # the delete rule answers this with its own text ("Only Status ...")
        if problems:
            raise _bad_request(*problems)
        elements = body[key] if isinstance(body, Mapping) and key in body else [body]
        if not isinstance(elements, list) or not all(isinstance(e, Mapping) for e in elements):
            raise _bad_request(f"{key} must be a list of objects.")
        if single and len(elements) != 1:
            raise _bad_request(f"This endpoint takes exactly one element in {key}.")
        summarize = request.query_params.get("summarizeErrors", "true").lower() != "false"
        saved = books.snapshot() if summarize and not self.commit_valid_elements else None
        outcomes: list[tuple[dict[str, Any], dict[str, Any] | None, list[str]]] = []
        for element in elements:
            given = copy.deepcopy(dict(element))
            try:
                outcomes.append((given, write(given), []))
            except Refusal as refusal:
                outcomes.append((given, None, refusal.messages))
        flag = ERROR_FLAG.get(key)
        failed = [(given, messages) for given, record, messages in outcomes if record is None]
        if failed and summarize:
            if saved is not None:
                books.restore(saved)
            echoes = [_echo(given, messages, flag) for given, messages in failed]
            raise XeroHttpError(400, validation_exception(echoes))
        answer: list[dict[str, Any]] = []
        for given, record, messages in outcomes:
            if record is None:
                echo = _echo(given, messages, flag)
                echo["StatusAttributeString"] = "ERROR"
                answer.append(echo)
            else:
                rendered = render(record)
                if flag:
                    rendered[flag] = False
                rendered["StatusAttributeString"] = "OK"
                answer.append(rendered)
        return 200, {key: answer}

    def _list(self, books: Books, name: str, request: Request, unitdp: int) -> dict[str, Any]:
        params = request.query_params
        rows = list(_rows(books, name))
        if name == "Contacts" and params.get("includeArchived", "false").lower() != "true":
            rows = [r for r in rows if r["ContactStatus"] != "ARCHIVED"]
        ids = _csv(params.get("IDs"))
        if ids:
            rows = [r for r in rows if r[_ID_FIELD[name]] in {i.lower() for i in ids}]
        if name == "Invoices":
            numbers, statuses, contacts = (
                _csv(params.get("InvoiceNumbers")),
                _csv(params.get("Statuses")),
                _csv(params.get("ContactIDs")),
            )
            rows = [r for r in rows if not numbers or r.get("InvoiceNumber") in numbers]
            rows = [r for r in rows if not statuses or r["Status"] in statuses]
            rows = [r for r in rows if not contacts or r["ContactID"] in {c.lower() for c in contacts}]
        if name == "Contacts" and params.get("searchTerm"):
            term = params["searchTerm"].casefold()
            fields = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress")
            rows = [r for r in rows if any(term in str(r.get(f) or "").casefold() for f in fields)]
        since = _modified_since(request.headers.get("if-modified-since"))
        if since is not None:
            rows = [r for r in rows if math.floor(r["UpdatedDateUTC"]) >= since]
        where, order = params.get("where"), params.get("order")
        try:
            test, tested = parse_where_fields(where) if where else (None, frozenset[str]())
            view = self._viewer(books, name, unitdp, tested | (order_fields(order) if order else frozenset()))
            views = [(view(r), r) for r in rows]
            if test is not None:
                views = [(v, r) for v, r in views if test(v[0])]
            if order:
                by_view = {id(v[0]): (v, r) for v, r in views}
                views = [by_view[id(v)] for v in sort_records([v[0] for v, _ in views], order)]
        except QueryError as error:
            raise _bad_request(str(error)) from None
        answer: dict[str, Any] = {}
        page_text = params.get("page")
        if page_text is not None and name not in ("Accounts", "TaxRates"):
            try:
                page = max(1, int(page_text))
                size = int(params.get("pageSize", DEFAULT_PAGE_SIZE))
            except ValueError:
                raise _bad_request("page and pageSize must be whole numbers.") from None
            if not 1 <= size <= MAX_PAGE_SIZE:
                raise _bad_request(f"pageSize must be from 1 to {MAX_PAGE_SIZE}.")
            count = len(views)
            views = views[(page - 1) * size : page * size]
            answer["pagination"] = {
                "page": page,
                "pageSize": size,
                "pageCount": max(1, math.ceil(count / size)),
                "itemCount": count,
            }
        # Only what is answered is rendered (one page of a paged list), unless the filter rendered it.
        result = [
            out if out is not None else _render(books, name, r, unitdp=unitdp, with_lines=True)
            for (_, out), r in views
        ]
        if "pagination" not in answer and name in LINE_COLLECTIONS:
            for out in result:
                out.pop("LineItems", None)
        answer[name] = result
        return answer

    @staticmethod
    def _viewer(
        books: Books, name: str, unitdp: int, fields: frozenset[str]
    ) -> Callable[[dict[str, Any]], tuple[dict[str, Any], dict[str, Any] | None]]:
        """How ``where``/``order`` see each record: (the view, the rendered record if rendering it took).

        No fields: an empty view (nothing looks). Fields a record's head holds (:data:`_HEADS`): a
        view of the head alone, the same values a full rendering shows for them. Otherwise: the full
        rendering's view.
        """
        if not fields:
            return lambda record: ({}, None)
        head = _HEADS.get(name)
        if head is not None and fields <= head[1]:
            make = head[0]
            return lambda record: (_query_view(record, make(books, record)), None)

        def full(record: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
            out = _render(books, name, record, unitdp=unitdp, with_lines=True)
            return _query_view(record, out), out

        return full


# ---------------------------------------------------------------------------------------------
# Tables, writers and renderers by collection


_ID_FIELD = {
    "Contacts": "ContactID",
    "Invoices": "InvoiceID",
    "CreditNotes": "CreditNoteID",
    "Payments": "PaymentID",
    "BankTransactions": "BankTransactionID",
    "Accounts": "AccountID",
    "TaxRates": "TaxType",
}


def _table(books: Books, name: str) -> dict[str, dict[str, Any]]:
    tables = {
        "Contacts": books.contacts,
        "Invoices": books.invoices,
        "CreditNotes": books.credit_notes,
        "Payments": books.payments,
        "BankTransactions": books.bank_transactions,
        "Accounts": books.accounts,
        "TaxRates": books.tax_rates,
    }
    return tables[name]


def _rows(books: Books, name: str) -> list[dict[str, Any]]:
    return list(_table(books, name).values())


def _find(books: Books, name: str, key: str) -> dict[str, Any] | None:
    """A record by id — or by ContactNumber / InvoiceNumber / CreditNoteNumber, as Xero's GETs allow."""
    table = _table(books, name)
    found = table.get(key.lower())
    if found is not None:
        return found
    number = {
        "Contacts": "ContactNumber",
        "Invoices": "InvoiceNumber",
        "CreditNotes": "CreditNoteNumber",
    }.get(name)
    if number:
        for record in table.values():
            if record.get(number) == key:
                return record
    return None


def _write_invoice(
    books: Books, el: dict[str, Any], create_only: bool, path_id: str | None, unitdp: int
) -> dict[str, Any]:
    return docs.write_document(
        books, el, kind="Invoice", create_only=create_only, path_id=path_id, unitdp=unitdp
    )


def _write_credit_note(
    books: Books, el: dict[str, Any], create_only: bool, path_id: str | None, unitdp: int
) -> dict[str, Any]:
    return docs.write_document(
        books, el, kind="CreditNote", create_only=create_only, path_id=path_id, unitdp=unitdp
    )


def _write_contact(
    books: Books, el: dict[str, Any], create_only: bool, path_id: str | None, unitdp: int
) -> dict[str, Any]:
    return write_contact(books, el, create_only=create_only, path_id=path_id)


def _write_bank(
    books: Books, el: dict[str, Any], create_only: bool, path_id: str | None, unitdp: int
) -> dict[str, Any]:
    return docs.write_bank_transaction(books, el, create_only=create_only, path_id=path_id, unitdp=unitdp)


def _write_payment(
    books: Books, el: dict[str, Any], create_only: bool, path_id: str | None, unitdp: int
) -> dict[str, Any]:
    return docs.write_payment(books, el)


_WRITERS: dict[str, Callable[[Books, dict[str, Any], bool, str | None, int], dict[str, Any]]] = {
    "Contacts": _write_contact,
    "Invoices": _write_invoice,
    "CreditNotes": _write_credit_note,
    "BankTransactions": _write_bank,
    "Payments": _write_payment,
}


def _render(
    books: Books, name: str, record: dict[str, Any], *, unitdp: int, with_lines: bool
) -> dict[str, Any]:
    if name == "Contacts":
        return render_contact(books, record)
    if name == "Invoices":
        return docs.render_document(books, record, kind="Invoice", unitdp=unitdp, with_lines=with_lines)
    if name == "CreditNotes":
        return docs.render_document(books, record, kind="CreditNote", unitdp=unitdp, with_lines=with_lines)
    if name == "Payments":
        return docs.render_payment(books, record)
    if name == "BankTransactions":
        return docs.render_bank_transaction(books, record, unitdp=unitdp, with_lines=with_lines)
    if name == "Accounts":
        return render_account(record)
    return render_tax_rate(record)


# Per collection: the first fields of a rendering, read from the record alone, and which fields
# (lower case) a view of them holds as the full rendering's view would: the head's, and those
# _query_view takes from the record.
_QUERY_VIEW_FIELDS = frozenset({"date", "duedate", "fullypaidondate", "updateddateutc"})
_HEADS: dict[str, tuple[Callable[[Books, dict[str, Any]], dict[str, Any]], frozenset[str]]] = {
    "Invoices": (
        lambda books, record: docs.document_head(books, record, kind="Invoice"),
        docs.DOCUMENT_HEAD | _QUERY_VIEW_FIELDS,
    ),
    "CreditNotes": (
        lambda books, record: docs.document_head(books, record, kind="CreditNote"),
        docs.DOCUMENT_HEAD | _QUERY_VIEW_FIELDS,
    ),
    "Payments": (lambda books, record: docs.payment_head(record), docs.PAYMENT_HEAD | _QUERY_VIEW_FIELDS),
}


def _query_view(record: Mapping[str, Any], rendered: Mapping[str, Any]) -> dict[str, Any]:
    """What ``where`` sees: the rendered record with dates and times as real dates."""
    view = dict(rendered)
    for key in ("Date", "DueDate", "FullyPaidOnDate"):
        if record.get(key) is not None:
            view[key] = record[key]
    if "UpdatedDateUTC" in record:
        view["UpdatedDateUTC"] = datetime.fromtimestamp(record["UpdatedDateUTC"], UTC).replace(tzinfo=None)
    return view


def _echo(given: Mapping[str, Any], messages: list[str], flag: str | None) -> dict[str, Any]:
    echo = dict(given)
    if flag:
        echo[flag] = True
    echo["ValidationErrors"] = [{"Message": m} for m in messages]
    return echo


def _csv(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


def _modified_since(text: str | None) -> int | None:
    if not text:
        return None
    try:
        moment = (
            parsedate_to_datetime(text)
            if "," in text
            else datetime.fromisoformat(text.replace("Z", "+00:00"))
        )
    except (TypeError, ValueError):
        raise _bad_request(f"If-Modified-Since {text!r} is not a valid date-time.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return math.floor(moment.timestamp())


def _json_body(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal) if body else None
    except (UnicodeDecodeError, ValueError):
        raise _bad_request("The request body is not valid JSON.") from None


def _problem(status: int, title: str, detail: str) -> dict[str, Any]:
    return {"Title": title, "Status": status, "Detail": detail, "Instance": str(uuid.uuid4())}


def _json(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        to_json(body),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=dict(headers or {}),
    )


__all__ = ["IDEMPOTENCY_WINDOW", "XeroEmulator", "XeroHttpError", "validation_exception"]
