"""Typed client for the QuickBooks Online Accounting API v3, over the shared :class:`Transport`.

One client talks to one company (realm). It always asks for JSON and sends ``minorversion``
(reference §1.1–1.2); it parses money as ``Decimal``; it sends queries as ``POST /query`` with
``Content-Type: application/text`` so no statement needs URL-encoding (§1.6). Every write carries
the caller's ``requestid`` and is marked idempotent, so the transport may retry it and the service
replays the original answer instead of writing twice (§4).

Errors: both fault shapes (``Fault.Error[]`` and the gateway's lower-case ``fault.error[]``, JSON or
XML) become :class:`~ledgerlink.errors.ApiError` subclasses carrying the fault ``code``, the
``Detail`` and the response's ``intuit_tid`` — also when the service answers HTTP 200 with a Fault::

    5010                → ConflictError      re-read, re-apply, retry
    610                 → NotFoundError      the referenced record is missing or inactive
    3001 / HTTP 429     → RateLimitedError   wait (QBO sends no Retry-After: default 60 s)
    2000–2999, 4000–6999 → ValidationError    the service refused the record or the query
    anything else       → ApiError
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any, Literal
from xml.etree import ElementTree

import httpx

from ledgerlink.errors import (
    ApiError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from ledgerlink.http import RateLimiter, TokenSource, Transport, redact
from ledgerlink.providers.qbo.wire import INACTIVE_SUFFIX, dumps

DEFAULT_MINOR_VERSION = 75
# Intuit allows 10 requests/s and 500/min per realm (reference §5.1). Pacing at 8/s keeps clear of
# both, whatever the phase of the server's counting window (a 429 costs a 60 s wait).
PACE_PER_SECOND = 8
MAX_BATCH_ITEMS = 30
MAX_PAGE_SIZE = 1000
MAX_REQUEST_ID = 50
MAX_BATCH_REQUEST_ID = 36
MAX_BATCH_ID_WITH_REQUEST_ID = 10
MAX_CDC_OBJECTS = 1000  # one change-data-capture answer holds at most this many records (§3.2)
IN_CHUNK = 30  # values per `IN (...)` query: keeps statements short
TYPOGRAPHIC_APOSTROPHE = "\u2019"
# Lists whose records are named by ``Name`` rather than ``DisplayName``.
NAMED_BY_NAME = frozenset({"Item", "Account"})

BatchOperation = Literal["create", "update", "delete", "query"]


# ---------------------------------------------------------------------------------------------
# Faults → errors


@dataclass(frozen=True)
class FaultEntry:
    """One entry of a fault's error list, whichever shape it came in."""

    code: str | None
    message: str
    detail: str | None


def parse_fault(body: Any) -> list[FaultEntry]:
    """The errors of a decoded JSON body's ``Fault``/``fault`` (both shapes of §5.2), else []."""
    if not isinstance(body, Mapping):
        return []
    fault = body.get("Fault") or body.get("fault")
    if not isinstance(fault, Mapping):
        return []
    errors = fault.get("Error") or fault.get("error") or []
    entries = []
    for error in errors if isinstance(errors, list) else []:
        if isinstance(error, Mapping):
            code = error.get("code")
            entries.append(
                FaultEntry(
                    code=str(code) if code is not None else None,
                    message=str(error.get("Message") or error.get("message") or "QuickBooks error"),
                    detail=error.get("Detail") or error.get("detail"),
                )
            )
    return entries


def _parse_xml_fault(text: str) -> list[FaultEntry]:
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return []
    entries = []
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "Error":
            continue
        children = {child.tag.rsplit("}", 1)[-1]: (child.text or "") for child in element}
        entries.append(
            FaultEntry(
                element.get("code"), children.get("Message", "QuickBooks error"), children.get("Detail")
            )
        )
    return entries


def error_from_fault(
    status: int,
    entries: Sequence[FaultEntry],
    *,
    request_id: str | None,
    default_retry_after: float = 60.0,
) -> ApiError:
    """The ApiError subclass for a fault (see the module docstring for the mapping)."""
    first = entries[0] if entries else FaultEntry(None, f"HTTP {status} from QuickBooks", None)
    details = [e.detail for e in entries if e.detail]
    detail = redact("; ".join(details)) if details else None
    code = first.code
    kw: dict[str, Any] = {"status": status, "code": code, "detail": detail, "request_id": request_id}
    number = int(code) if code and code.isascii() and code.isdigit() else None
    if code == "5010":
        return ConflictError(first.message, **kw)
    if code == "610":
        return NotFoundError(first.message, **kw)
    if code == "3001" or status == 429:
        return RateLimitedError(first.message, retry_after=default_retry_after, **kw)
    if number is not None and (2000 <= number < 3000 or 4000 <= number < 7000):
        return ValidationError(first.message, **kw)
    if code in ("3100", "3200", "3201"):
        return ApiError(first.message, remedy="Reconnect QuickBooks with `ledgerlink connect qbo`.", **kw)
    return ApiError(first.message, **kw)


def request_id_of(response: httpx.Response) -> str | None:
    tid: str | None = response.headers.get("intuit_tid") or response.headers.get("Intuit-Tid")
    return tid


def map_error(response: httpx.Response, *, default_retry_after: float = 60.0) -> ApiError:
    """The transport's ``error_mapper``: any error response (JSON, XML or text) as an ApiError."""
    entries: list[FaultEntry] = []
    try:
        entries = parse_fault(json.loads(response.content, parse_float=Decimal))
    except ValueError:
        entries = _parse_xml_fault(response.text)
    if not entries and response.text.strip():
        entries = [FaultEntry(None, f"HTTP {response.status_code} from QuickBooks", response.text[:500])]
    return error_from_fault(
        response.status_code,
        entries,
        request_id=request_id_of(response),
        default_retry_after=default_retry_after,
    )


# ---------------------------------------------------------------------------------------------
# Batch


@dataclass(frozen=True)
class BatchItem:
    """One operation of a ``/batch`` call; build it with the create/update/delete/query constructors."""

    bid: str
    operation: BatchOperation
    entity: str | None = None
    body: Mapping[str, Any] | None = None
    statement: str | None = None

    @classmethod
    def create(cls, bid: str, entity: str, body: Mapping[str, Any]) -> BatchItem:
        return cls(bid, "create", entity, body)

    @classmethod
    def update(cls, bid: str, entity: str, body: Mapping[str, Any], *, sparse: bool = True) -> BatchItem:
        _require_version(body)
        return cls(bid, "update", entity, {**body, "sparse": sparse})

    @classmethod
    def delete(cls, bid: str, entity: str, record_id: str, sync_token: str) -> BatchItem:
        return cls(bid, "delete", entity, {"Id": record_id, "SyncToken": sync_token})

    @classmethod
    def query(cls, bid: str, statement: str) -> BatchItem:
        return cls(bid, "query", statement=statement)

    def wire(self) -> dict[str, Any]:
        if self.operation == "query":
            return {"bId": self.bid, "Query": self.statement}
        if not self.entity or self.body is None:
            raise ValueError(f"batch item {self.bid}: {self.operation} needs an entity and a body")
        return {"bId": self.bid, "operation": self.operation, self.entity: dict(self.body)}


@dataclass(frozen=True)
class BatchResult:
    """The answer to one batch item: the record (or delete status), the query rows, or the error."""

    bid: str
    record: dict[str, Any] | None = None
    rows: list[dict[str, Any]] | None = None
    error: ApiError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _require_version(body: Mapping[str, Any]) -> None:
    if not body.get("Id") or body.get("SyncToken") in (None, ""):
        raise ValueError("an update needs the record's Id and its current SyncToken")


# ---------------------------------------------------------------------------------------------
# The client


class QboClient:
    """The QuickBooks Online API of one company (realm), typed and paced."""

    def __init__(
        self, transport: Transport, realm_id: str, *, minor_version: int = DEFAULT_MINOR_VERSION
    ) -> None:
        self.transport = transport
        self.realm_id = realm_id
        self.minor_version = minor_version
        self._default_retry_after = 60.0

    @classmethod
    def connect(
        cls,
        api_url: str,
        realm_id: str,
        auth: TokenSource,
        *,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        default_retry_after: float = 60.0,
        http_transport: httpx.BaseTransport | None = None,
        minor_version: int = DEFAULT_MINOR_VERSION,
    ) -> QboClient:
        """A client for ``api_url``: ``https://quickbooks.api.intuit.com/v3`` or the sandbox's ``.../qbo/v3``.

        Paces to PACE_PER_SECOND requests per second unless ``limiter`` says otherwise; a 429 waits
        ``default_retry_after`` seconds (Intuit says 60) through ``sleep`` before the retry.
        """
        transport = Transport(
            api_url,
            name="QuickBooks",
            auth=auth,
            limiter=limiter or RateLimiter(per_second=PACE_PER_SECOND, sleep=sleep),
            headers={"Accept": "application/json"},
            error_mapper=partial(map_error, default_retry_after=default_retry_after),
            default_retry_after=default_retry_after,
            sleep=sleep,
            http_transport=http_transport,
        )
        client = cls(transport, realm_id, minor_version=minor_version)
        client._default_retry_after = default_retry_after
        return client

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> QboClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ------------------------------------------------------------------------------

    def query(self, statement: str) -> list[dict[str, Any]]:
        """The rows of one page of ``statement`` (a SELECT in QBO's query language)."""
        return _rows(self._query_response(statement))

    def count(self, entity: str, where: str | None = None) -> int:
        """How many rows ``SELECT COUNT(*) FROM entity [WHERE ...]`` matches."""
        response = self._query_response(f"SELECT COUNT(*) FROM {entity}{_where(where)}")
        return int(response.get("totalCount", 0))

    def query_all(
        self,
        entity: str,
        where: str | None = None,
        *,
        order_by: str | None = "Id",
        page_size: int = MAX_PAGE_SIZE,
    ) -> list[dict[str, Any]]:
        """Every row of ``entity`` matching ``where``, page by page with STARTPOSITION.

        Name lists return only active rows unless ``where`` mentions ``Active`` (§1.6): pass
        ``"Active IN (true, false)"`` to see inactive ones too.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        order = f" ORDERBY {order_by}" if order_by else ""
        rows: list[dict[str, Any]] = []
        start = 1
        while True:
            page = self.query(
                f"SELECT * FROM {entity}{_where(where)}{order} STARTPOSITION {start} MAXRESULTS {page_size}"
            )
            rows.extend(page)
            if len(page) < page_size:
                return rows
            start += page_size

    def query_in(
        self, entity: str, prop: str, values: Sequence[str], *, where: str | None = None
    ) -> list[dict[str, Any]]:
        """Every row whose ``prop`` is one of ``values`` (and matches ``where``), IN_CHUNK values a query."""
        rows: list[dict[str, Any]] = []
        wanted = list(dict.fromkeys(values))
        for start in range(0, len(wanted), IN_CHUNK):
            literals = ", ".join(self.quote(v) for v in wanted[start : start + IN_CHUNK])
            also = f" AND {where}" if where else ""
            rows.extend(self.query_all(entity, f"{prop} IN ({literals}){also}"))
        return rows

    def read(self, entity: str, record_id: str) -> dict[str, Any]:
        """One record by Id; NotFoundError (610) if it does not exist."""
        body = self._call("GET", self._path(entity.lower(), str(record_id)))
        return _entity(body, entity)

    def find_by_display_name(self, entity: str, name: str) -> list[dict[str, Any]]:
        """Active and inactive records named ``name`` (also as " (deleted)"), compared case-insensitively.

        Items and accounts are matched on ``Name``, the other lists on ``DisplayName``. A name with
        a typographic apostrophe, which the query parser rejects, is found with LIKE and compared here.
        """
        prop = "Name" if entity in NAMED_BY_NAME else "DisplayName"
        if TYPOGRAPHIC_APOSTROPHE in name:
            condition = f"{prop} LIKE {self.quote(name.replace(TYPOGRAPHIC_APOSTROPHE, '%') + '%')}"
        else:
            condition = f"{prop} IN ({self.quote(name)}, {self.quote(name + INACTIVE_SUFFIX)})"
        wanted = {name.casefold(), (name + INACTIVE_SUFFIX).casefold()}
        rows = self.query_all(entity, f"{condition} AND Active IN (true, false)")
        return [row for row in rows if str(row.get(prop, "")).casefold() in wanted]

    def company_info(self) -> dict[str, Any]:
        return _entity(self._call("GET", self._path("companyinfo", self.realm_id)), "CompanyInfo")

    def preferences(self) -> dict[str, Any]:
        return _entity(self._call("GET", self._path("preferences")), "Preferences")

    def cdc(self, entities: Sequence[str], since: datetime) -> dict[str, list[dict[str, Any]]]:
        """Records of ``entities`` changed after ``since`` (change data capture, §3.2), by entity.

        Deleted records come back as ``{"Id": ..., "status": "Deleted"}``. The service looks back
        at most 30 days and answers at most MAX_CDC_OBJECTS records in all; ``since`` must carry
        its offset, since the service would otherwise read it in the company's time zone.
        """
        if not entities:
            raise ValueError("change data capture needs at least one entity")
        if since.tzinfo is None or since.utcoffset() is None:
            raise ValueError("changedSince needs a time zone offset")
        params = self._params(entities=",".join(entities), changedSince=since.isoformat(timespec="seconds"))
        body = self._call("GET", self._path("cdc"), params=params, idempotent=True)
        changed: dict[str, list[dict[str, Any]]] = {entity: [] for entity in entities}
        for answer in _list(body.get("CDCResponse")):
            for response in _list(answer.get("QueryResponse") if isinstance(answer, Mapping) else None):
                if not isinstance(response, Mapping):
                    continue
                for entity, rows in response.items():
                    if isinstance(rows, list):
                        changed.setdefault(str(entity), []).extend(r for r in rows if isinstance(r, dict))
        return changed

    # -- writes -----------------------------------------------------------------------------

    def create(self, entity: str, body: Mapping[str, Any], *, request_id: str) -> dict[str, Any]:
        """Create one record; ``request_id`` makes a retried create replay instead of duplicating."""
        return _entity(self._write(entity, body, request_id=request_id), entity)

    def update(
        self, entity: str, body: Mapping[str, Any], *, request_id: str, sparse: bool = True
    ) -> dict[str, Any]:
        """Update a record: ``body`` holds ``Id`` and the current ``SyncToken`` (stale → ConflictError).

        Sparse updates change only the properties sent; line collections are replaced whole (§1.4).
        """
        _require_version(body)
        return _entity(self._write(entity, {**body, "sparse": sparse}, request_id=request_id), entity)

    def delete(self, entity: str, record_id: str, sync_token: str, *, request_id: str) -> None:
        """Delete a transaction (name lists cannot be deleted: update them with ``Active: false``)."""
        body = {"Id": str(record_id), "SyncToken": str(sync_token)}
        self._write(entity, body, request_id=request_id, operation="delete")

    def void_invoice(self, record_id: str, sync_token: str, *, request_id: str) -> dict[str, Any]:
        """Void an invoice: it stays, with zero amounts and "Voided" as its private note."""
        body = {"Id": str(record_id), "SyncToken": str(sync_token)}
        return _entity(self._write("Invoice", body, request_id=request_id, operation="void"), "Invoice")

    def batch(self, items: Sequence[BatchItem], *, request_id: str | None = None) -> list[BatchResult]:
        """Run up to 30 operations in one call; one result per item, in the order given.

        A failed item does not fail the call: its result carries the error. With a
        ``request_id`` the service allows at most 36 characters for it and 10 for each bId (§3.1).
        """
        if len(items) > MAX_BATCH_ITEMS:
            raise ValueError(f"a QBO batch holds at most {MAX_BATCH_ITEMS} items, not {len(items)}")
        if not items:
            return []
        bids = [item.bid for item in items]
        if len(set(bids)) != len(bids):
            raise ValueError("every batch item needs its own bId")
        if request_id is not None:
            _check_request_id(request_id, MAX_BATCH_REQUEST_ID)
            long_bids = [bid for bid in bids if len(bid) > MAX_BATCH_ID_WITH_REQUEST_ID]
            if long_bids:
                raise ValueError(f"with a requestid, bIds may have at most 10 characters: {long_bids}")
        payload = {"BatchItemRequest": [item.wire() for item in items]}
        params = self._params(requestid=request_id) if request_id is not None else self._params()
        body = self._call(
            "POST",
            self._path("batch"),
            params=params,
            content=dumps(payload),
            headers={"Content-Type": "application/json"},
            idempotent=request_id is not None,
        )
        answers = {str(answer.get("bId")): answer for answer in body.get("BatchItemResponse", [])}
        return [self._batch_result(bid, answers.get(bid)) for bid in bids]

    # -- helpers -----------------------------------------------------------------------------

    @staticmethod
    def quote(value: str) -> str:
        """``value`` as a query string literal: backslashes escaped first, then apostrophes (§1.6).

        Refuses the typographic apostrophe U+2019, which the service's query lexer rejects.
        """
        if TYPOGRAPHIC_APOSTROPHE in value:
            raise ValueError(
                "QuickBooks cannot query a string containing \u2019 (U+2019); match it with LIKE"
            )
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def _path(self, *parts: str) -> str:
        return "/company/" + "/".join((self.realm_id, *parts))

    def _params(self, **extra: str) -> dict[str, str]:
        return {"minorversion": str(self.minor_version), **extra}

    def _query_response(self, statement: str) -> dict[str, Any]:
        body = self._call(
            "POST",
            self._path("query"),
            params=self._params(),
            content=statement.encode("utf-8"),
            headers={"Content-Type": "application/text"},
            idempotent=True,  # a query changes nothing: safe to repeat
        )
        response = body.get("QueryResponse", {})
        return response if isinstance(response, dict) else {}

    def _write(
        self, entity: str, body: Mapping[str, Any], *, request_id: str, operation: str | None = None
    ) -> dict[str, Any]:
        _check_request_id(request_id, MAX_REQUEST_ID)
        params = self._params(requestid=request_id)
        if operation:
            params["operation"] = operation
        return self._call(
            "POST",
            self._path(entity.lower()),
            params=params,
            content=dumps(body),
            headers={"Content-Type": "application/json"},
            idempotent=True,  # the requestid makes a repeat replay the first answer
        )

    def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> dict[str, Any]:
        response = self.transport.request(
            method,
            path,
            params=dict(params) if params is not None else self._params(),
            content=content,
            headers=headers,
            idempotent=idempotent,
        )
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise ApiError(
                f"QuickBooks answered HTTP {response.status_code} with a body that is not JSON",
                status=response.status_code,
                detail=redact(response.text[:200]),
                request_id=request_id_of(response),
            ) from None
        entries = parse_fault(body)
        if entries:  # HTTP 200 can still carry a Fault (§5.2)
            raise error_from_fault(
                response.status_code,
                entries,
                request_id=request_id_of(response),
                default_retry_after=self._default_retry_after,
            )
        if not isinstance(body, dict):
            raise ApiError("QuickBooks answered with an unexpected body", status=response.status_code)
        return body

    def _batch_result(self, bid: str, answer: Mapping[str, Any] | None) -> BatchResult:
        if answer is None:
            return BatchResult(bid, error=ApiError(f"QuickBooks did not answer batch item {bid}", status=200))
        entries = parse_fault(answer)
        if entries:
            return BatchResult(bid, error=error_from_fault(400, entries, request_id=None))
        if "QueryResponse" in answer:
            return BatchResult(bid, rows=_rows(answer["QueryResponse"]))
        record = next((v for k, v in answer.items() if k != "bId" and isinstance(v, dict)), None)
        return BatchResult(bid, record=record)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _where(where: str | None) -> str:
    return f" WHERE {where}" if where else ""


def _rows(query_response: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The entity rows of a ``QueryResponse`` (which has no entity key at all when empty)."""
    for value in query_response.values():
        if isinstance(value, list):
            return value
    return []


def _entity(body: Mapping[str, Any], entity: str) -> dict[str, Any]:
    wanted = entity.lower()
    for key, value in body.items():
        if key.lower() == wanted and isinstance(value, dict):
            return value
    raise ApiError(f"QuickBooks answered without a {entity}", status=200)


def _check_request_id(request_id: str, limit: int) -> None:
    if not request_id or len(request_id) > limit:
        raise ValueError(f"a QBO requestid must have 1 to {limit} characters, not {len(request_id)}")
