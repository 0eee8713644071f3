"""QuickBooks Online Accounting API v3 emulator: multi-company, strict, over real HTTP.

Mounted by the sandbox at ``/qbo/v3``, so its paths are ``/company/{realmId}/...`` exactly as on
``https://quickbooks.api.intuit.com/v3`` (reference §1.1). What it does, in the order a request
meets it:

1. **Gateway**: ``Authorization: Bearer`` checked against the shared token registry; a missing,
   expired or revoked token is a 401 with the gateway's lower-case ``fault`` body (code 3200); a
   token for another company, or an unknown company, is a 403 (code 3100).
2. **Throttle**: per realm, ``settings.qbo_per_second`` per second and ``settings.qbo_per_minute``
   per minute on the sandbox clock; over either → HTTP 429 with fault 3001 ThrottleExceeded.
3. **Idempotency**: on writes and batches, ``?requestid=`` (≤ 50 chars; ≤ 36 on batch, whose bIds
   then must be ≤ 10) replays the stored original status and body without re-executing (§4).
4. **The operation**: create/update (``POST /{entity}``), ``?operation=delete``, void in the
   entity's documented form (``?operation=void`` for Invoice, ``?operation=update&include=void``
   for Payment, §1.5), read (``GET /{entity}/{id}``), query (``GET /query?query=`` or
   ``POST /query`` with ``Content-Type: application/text``), ``POST /batch`` (≤ 30 items, per-item
   faults, HTTP 200), change data capture (``GET /cdc?entities=..&changedSince=..``, §3.2),
   ``GET /companyinfo/{realmId}``, ``GET /preferences``. ``minorversion`` is accepted and ignored:
   every version is served as 75 (§1.2).

Bodies are JSON when the request's ``Accept`` names ``application/json`` and XML otherwise (the
service's default). Every response carries a fresh ``intuit_tid`` (also as ``Intuit-Tid``).
Validation lives in :mod:`ledgerlink.sandbox.qbo_entities` (lists, receivables),
:mod:`ledgerlink.sandbox.qbo_sales` (invoices, credit memos, payments, tax; the registry of entity
types), :mod:`ledgerlink.sandbox.qbo_banking` (accounts and their balances, journal entries,
purchases and the cheque print queue) and :mod:`ledgerlink.sandbox.qbo_schema` (known
properties, fault texts), the query language in :mod:`ledgerlink.sandbox.qbo_query`.

Assumptions (beyond those of the entity, schema and query modules):

- Company time is a fixed UTC-07:00 (the offset of the recorded fixtures); ``TxnDate`` defaults to
  the company's today on the sandbox clock.
- Id sequences: Customer/Vendor/Employee share one, transactions share one, every other entity has
  its own; a deleted id is never reused.
- A requestid replays whatever the first execution answered, faults included; 429s and gateway
  errors are not stored (they never reached the service).
- Items of a batch cannot see records created earlier in the same batch (reads, references,
  queries, updates); uniqueness rules (6240, 6140) still see them.
- Entity path segments must be lower case (``/invoice``, as every documented example writes them).
- Request bodies must be JSON (``Content-Type: application/json``); XML request bodies, POSTed
  queries without ``application/text``, and writes to CompanyInfo/Preferences are refused.
- The gateway's 403 body mirrors the 401 shape with ``ApplicationAuthorizationFailed`` and type
  ``AUTHORIZATION``; gateway faults are JSON whatever the Accept header says.
- Over-size batches, duplicate bIds and over-long requestids/bIds are 400 faults with codes in the
  validation range (2050 for lengths, 2010 otherwise) since the reference gives no code.
- ``include=void`` is honoured only with ``operation=update`` on entities voided that way
  (Payment); ``operation=void`` only on those voided that way (Invoice); other forms are 500.
  Other ``include`` values are ignored.
- Every company is created with an "Undeposited Funds" account (Other Current Asset,
  UndepositedFunds), where payments land when they name no account (§2.8).
- CDC: ``entities`` and ``changedSince`` are required (2020). Refusals carry code 4001 ("Invalid
  query", the reference gives no code): an unknown entity, one CDC does not cover (TaxCode,
  TaxRate, TimeActivity, JournalCode, TaxAgency, CompanyInfo, Preferences), a ``changedSince``
  that is neither an ISO date (company midnight) nor a date-time *with* offset, or one more than
  30 days before the sandbox clock. Objects count when ``MetaData.LastUpdatedTime`` is strictly
  after ``changedSince``; each entity's list is oldest first. Over 1000 changed objects in all,
  the first 1000 are returned (the documented cap) in the order the entities were asked for,
  with no fault or marker. Deleted objects come back as ``{"domain", "status": "Deleted", "Id",
  "MetaData": {"LastUpdatedTime"}}`` (the time of deletion), kept for the company's lifetime.
"""

from __future__ import annotations

import copy
import json
import secrets
import threading
import time as _time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ledgerlink.sandbox import qbo_query
from ledgerlink.sandbox.qbo_banking import print_cheque, waiting_to_print
from ledgerlink.sandbox.qbo_entities import EntityType, copied, default_company_info, default_preferences
from ledgerlink.sandbox.qbo_indexes import CompanyIndexes
from ledgerlink.sandbox.qbo_sales import ENTITY_TYPES, SALES_FORMS, UNDEPOSITED_FUNDS, entity_type
from ledgerlink.sandbox.qbo_schema import (
    QboFault,
    object_not_found,
    required_parameter,
    stale_object,
    string_too_long,
    to_json,
    to_xml,
    unsupported_operation,
    unsupported_property,
)
from ledgerlink.sandbox.qbo_time import TIME_ACTIVITY
from ledgerlink.sandbox.state import SandboxState

T = TypeVar("T")
COMPANY_TZ = timezone(timedelta(hours=-7))
MAX_BATCH_ITEMS = 30
MAX_REQUEST_ID = 50
MAX_BATCH_REQUEST_ID = 36
MAX_BATCH_ID_WITH_REQUEST_ID = 10
CDC_LOOKBACK = timedelta(days=30)
CDC_MAX_OBJECTS = 1000
# Entities the reference lists as outside change data capture (§3.2), for a precise refusal.
NOT_IN_CDC = ("JournalCode", "TaxAgency", "TimeActivity", "TaxCode", "TaxRate")
# TimeActivity (qbo_time.py) joins the registry here until it is listed in qbo_sales.ENTITY_TYPES.
ENTITY_TYPES.setdefault(TIME_ACTIVITY.name, TIME_ACTIVITY)


# ---------------------------------------------------------------------------------------------
# One company's books


@dataclass
class StoredReply:
    """The first answer to a requestid, replayed as is.

    Kept without a copy: an envelope is built afresh for each answer, around rendered records
    (copies of the stored ones), and nothing changes it once built.
    """

    status: int
    envelope: dict[str, Any]


@dataclass
class Company:
    """The books of one QBO company (realm). Implements the ``Books`` protocol of the entity rules."""

    realm_id: str
    name: str
    country: str
    clock_now: Callable[[], float]  # the sandbox clock
    tables: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    tombstones: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    sequences: dict[str, int] = field(default_factory=dict)
    replies: dict[str, StoredReply] = field(default_factory=dict)
    hidden: set[tuple[str, str]] | None = None  # created earlier in the running batch
    memos: dict[str, Any] = field(default_factory=dict)  # derived totals, dropped on every write
    indexes: CompanyIndexes = field(default_factory=lambda: CompanyIndexes(SALES_FORMS))

    # -- Books protocol --
    def visible(self, entity: str, record_id: str) -> dict[str, Any] | None:
        if self.hidden is not None and (entity, record_id) in self.hidden:
            return None
        return self.tables.get(entity, {}).get(record_id)

    def rows(self, entity: str) -> Iterable[dict[str, Any]]:
        return list(self.tables.get(entity, {}).values())

    def preference(self, section: str, name: str) -> Any:
        prefs = self.tables.get("Preferences", {}).get("1", {})
        value = prefs.get(section, {})
        return value.get(name) if isinstance(value, Mapping) else None

    def today(self) -> date:
        return self.moment().date()

    def memo(self, key: str, compute: Callable[[], T]) -> T:
        if key not in self.memos:
            self.memos[key] = compute()
        value: T = self.memos[key]
        return value

    def put(self, entity: str, record: dict[str, Any]) -> None:
        """Store a new or changed record (also one changed in place), keeping the indexes in step."""
        self.tables.setdefault(entity, {})[record["Id"]] = record
        self.memos.clear()
        self.indexes.stored(entity, record)

    def drop(self, entity: str, record_id: str) -> None:
        """Delete a record; its tombstone is kept for change data capture, which reports deletions."""
        del self.tables[entity][record_id]
        self.memos.clear()
        tombstone = {
            "domain": "QBO",
            "status": "Deleted",
            "Id": record_id,
            "MetaData": {"LastUpdatedTime": self.stamp()},
        }
        self.tombstones.setdefault(entity, {})[record_id] = tombstone
        self.indexes.removed(entity, tombstone)

    # -- time and ids --
    def moment(self) -> datetime:
        return datetime.fromtimestamp(self.clock_now(), COMPANY_TZ)

    def stamp(self) -> str:
        return self.moment().isoformat(timespec="seconds")

    def response_time(self) -> str:
        return self.moment().isoformat(timespec="milliseconds")

    def next_id(self, family: str) -> str:
        self.sequences[family] = self.sequences.get(family, 0) + 1
        return str(self.sequences[family])

    def visible_rows(self, entity: str) -> list[dict[str, Any]]:
        return [r for r in self.rows(entity) if self.visible(entity, r["Id"]) is not None]


def _new_tid() -> str:
    return f"1-{int(_time.time()):08x}-{secrets.token_hex(12)}"


def _gateway_fault(message: str, detail: str, code: str, kind: str) -> dict[str, Any]:
    return {
        "warnings": None,
        "intuitObject": None,
        "fault": {
            "error": [{"message": message, "detail": detail, "code": code, "element": None}],
            "type": kind,
        },
        "report": None,
        "queryResponse": None,
        "batchItemResponse": [],
        "attachableResponse": [],
        "syncErrorResponse": None,
        "requestId": None,
        "time": int(_time.time() * 1000),
        "status": None,
        "cdcresponse": [],
    }


def throttled() -> QboFault:
    return QboFault(
        "3001",
        "message=ThrottleExceeded; errorCode=003001; statusCode=429",
        "The request limit was reached.  Try again later",
        status=429,
        kind="SERVICE",
    )


# ---------------------------------------------------------------------------------------------
# The emulator


class QboEmulator:
    """Stateful QBO companies behind an ASGI app (``.app``), plus a Python API for seeds and tests.

    Python API (bypasses HTTP, auth and throttling, never validation)::

        emu.add_company(realm_id, name, *, country="US") -> Company
        emu.add(realm_id, "Customer", {"DisplayName": "Ada"}) -> dict   # as POST would return it
        emu.records(realm_id, "Invoice") -> list[dict]                  # every row, inactive too
        emu.get(realm_id, "Invoice", "12") -> dict                      # KeyError if absent
        emu.edit(realm_id, "Customer", "7", Notes="x") -> dict          # a user's edit in QBO
        emu.void(realm_id, "Invoice", "12") -> dict                     # a user voids it in QBO
        emu.delete(realm_id, "Invoice", "12") -> None                   # a user deletes it in QBO
        emu.set_preference(realm_id, "SalesFormsPrefs", "CustomTxnNumbers", True)
        emu.add_tax_rate(realm_id, "GST", 5) -> "1"                     # non-US tax lists (read-only
        emu.add_tax_code(realm_id, "GST/PST", ["1", "2"]) -> "1"        # through the API)
        emu.add_account(realm_id, "Client Trust Account", "Bank", "TrustAccounts") -> dict
        emu.add_vendor(realm_id, "Superior Court Clerk") -> dict
        emu.print_cheques(realm_id, ["31", "32"]) -> list[dict]         # QBO's print queue
        emu.company(realm_id) -> Company                                # .today(), .tables, ...

    Edits, voids and deletes bump ``SyncToken`` and ``MetaData.LastUpdatedTime`` as in QBO, so
    change data capture sees them; balances derived from payments follow at once.

    Entity names are case-insensitive (``"invoice"`` works). Records come back rendered (Decimal
    amounts, ``" (deleted)"`` on inactive customers, computed customer balances).
    """

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self.companies: dict[str, Company] = {}
        self._lock = threading.RLock()
        self.app = Starlette(
            routes=[Route("/company/{realm}/{rest:path}", self._handle, methods=["GET", "POST"])]
        )

    # -- Python API ----------------------------------------------------------------------------

    def add_company(self, realm_id: str, name: str, *, country: str = "US") -> Company:
        """Create a company with its CompanyInfo, default Preferences and Undeposited Funds account.

        Every QBO company has Undeposited Funds: payments land there unless they name an account.
        """
        with self._lock:
            company = Company(realm_id, name, country, self.state.clock.now)
            self.companies[realm_id] = company
            self.state.qbo_companies[realm_id] = name
            self._store_document(company, "CompanyInfo", default_company_info(name, country))
            self._store_document(company, "Preferences", default_preferences(country))
            self._create(
                company,
                ENTITY_TYPES["Account"],
                {
                    "Name": "Undeposited Funds",
                    "AccountType": "Other Current Asset",
                    "AccountSubType": UNDEPOSITED_FUNDS,
                },
            )
            return company

    def company(self, realm_id: str) -> Company:
        return self.companies[realm_id]

    def add(self, realm_id: str, entity: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Create a record through the same rules as ``POST /{entity}``; raise QboFault if invalid."""
        with self._lock:
            company = self.company(realm_id)
            etype = _known(entity)
            return _wire_record(
                etype.render(company, self._create(company, etype, copy.deepcopy(dict(body))))
            )

    def records(self, realm_id: str, entity: str) -> list[dict[str, Any]]:
        with self._lock:
            company = self.company(realm_id)
            etype = _known(entity)
            return [_wire_record(etype.render(company, r)) for r in company.rows(etype.name)]

    def get(self, realm_id: str, entity: str, record_id: str) -> dict[str, Any]:
        with self._lock:
            company = self.company(realm_id)
            etype = _known(entity)
            return _wire_record(etype.render(company, company.tables[etype.name][str(record_id)]))

    def edit(self, realm_id: str, entity: str, record_id: str, **changes: Any) -> dict[str, Any]:
        """Apply a user's edit made in QBO itself: a sparse update with the current SyncToken."""
        with self._lock:
            company = self.company(realm_id)
            etype = _known(entity)
            current = company.tables[etype.name][str(record_id)]
            body = {"Id": current["Id"], "SyncToken": current["SyncToken"], "sparse": True, **changes}
            return _wire_record(etype.render(company, self._update(company, etype, body)))

    def void(self, realm_id: str, entity: str, record_id: str) -> dict[str, Any]:
        with self._lock:
            company = self.company(realm_id)
            etype = _known(entity)
            current = company.tables[etype.name][str(record_id)]
            voided = self._void(company, etype, {"Id": current["Id"], "SyncToken": current["SyncToken"]})
            return _wire_record(etype.render(company, voided))

    def delete(self, realm_id: str, entity: str, record_id: str) -> None:
        with self._lock:
            company = self.company(realm_id)
            etype = _known(entity)
            current = company.tables[etype.name][str(record_id)]
            self._delete(company, etype, {"Id": current["Id"], "SyncToken": current["SyncToken"]})

    def add_tax_rate(self, realm_id: str, name: str, rate: Decimal | int | str) -> str:
        """Seed a TaxRate (``rate`` in percent, e.g. ``5``); return its Id. Tax rates are read-only by API."""
        body = {"Name": name, "RateValue": Decimal(str(rate))}
        return str(self.add(realm_id, "TaxRate", body)["Id"])

    def add_tax_code(self, realm_id: str, name: str, rate_ids: Iterable[str]) -> str:
        """Seed a TaxCode charging the given TaxRates on sales; return its Id."""
        details = [{"TaxRateRef": {"value": str(rate_id)}} for rate_id in rate_ids]
        body = {"Name": name, "SalesTaxRateList": {"TaxRateDetail": details}}
        return str(self.add(realm_id, "TaxCode", body)["Id"])

    def add_account(
        self, realm_id: str, name: str, account_type: str, sub_type: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Add an account to the chart (``sub_type`` is the detail type, e.g. ``"TrustAccounts"``)."""
        body = {"Name": name, "AccountType": account_type, **fields}
        if sub_type is not None:
            body["AccountSubType"] = sub_type
        return self.add(realm_id, "Account", body)

    def add_vendor(self, realm_id: str, name: str, **fields: Any) -> dict[str, Any]:
        """Add a vendor whose DisplayName (and CompanyName, unless given) is ``name``."""
        return self.add(realm_id, "Vendor", {"DisplayName": name, "CompanyName": name, **fields})

    def print_cheques(
        self, realm_id: str, ids: Iterable[str], *, first_number: int | None = None
    ) -> list[dict[str, Any]]:
        """Print cheques from QBO's print queue, in the order given: a user's action in QBO.

        Each must be a Check waiting to be printed (``PrintStatus`` NeedToPrint, else ValueError);
        it becomes PrintComplete and takes the next cheque number of its bank account
        (``first_number`` for the first one when given), with a new SyncToken.
        """
        with self._lock:
            company = self.company(realm_id)
            etype = _known("Purchase")
            cheques = [company.tables.get("Purchase", {})[str(cheque_id)] for cheque_id in ids]
            for cheque in cheques:
                if not waiting_to_print(cheque):
                    raise ValueError(f"Purchase {cheque['Id']} is not a check waiting to be printed")
            printed = []
            for number, cheque in enumerate(cheques):
                start = first_number + number if first_number is not None else None
                print_cheque(company, cheque, first_number=start)
                self._touch(company, "Purchase", cheque)
                printed.append(_wire_record(etype.render(company, cheque)))
            return printed

    def set_preference(self, realm_id: str, section: str, name: str, value: Any) -> None:
        with self._lock:
            company = self.company(realm_id)
            prefs = company.tables["Preferences"]["1"]
            prefs.setdefault(section, {})[name] = value
            self._touch(company, "Preferences", prefs)

    # -- operations shared by HTTP, batch and the Python API ------------------------------------

    def _store_document(self, company: Company, entity: str, body: dict[str, Any]) -> None:
        now = company.stamp()
        company.put(
            entity,
            {"Id": "1", "SyncToken": "0", "MetaData": {"CreateTime": now, "LastUpdatedTime": now}, **body},
        )

    def _touch(self, company: Company, entity: str, record: dict[str, Any]) -> None:
        """A new version of ``record``: next SyncToken, updated now; stored (again)."""
        record["SyncToken"] = str(int(record["SyncToken"]) + 1)
        record["MetaData"] = {**record["MetaData"], "LastUpdatedTime": company.stamp()}
        company.put(entity, record)

    def _write(self, company: Company, etype: EntityType, operation: str, body: Any) -> dict[str, Any]:
        """Run one write; return the envelope entry ``{Entity: rendered}`` (without ``time``)."""
        if not etype.writable_by_api:
            raise unsupported_operation(f"{operation.capitalize()} {etype.name}")
        etype.shape.check(body)
        if operation == "delete":
            return {etype.name: self._delete(company, etype, body)}
        if operation == "void":
            stored = self._void(company, etype, body)
        elif body.get("Id") not in (None, ""):
            stored = self._update(company, etype, body)
        elif operation == "update":
            raise required_parameter("Id")
        else:
            stored = self._create(company, etype, body)
        return {etype.name: _wire_record(etype.render(company, stored))}

    def _create(self, company: Company, etype: EntityType, body: dict[str, Any]) -> dict[str, Any]:
        etype.shape.check(body)
        record = {k: copied(v) for k, v in body.items() if not etype.server_managed(k) and v is not None}
        etype.complete(company, record, record_id=None, previous=None)
        now = company.stamp()
        stored = {
            "Id": company.next_id(etype.family),
            "SyncToken": "0",
            "MetaData": {"CreateTime": now, "LastUpdatedTime": now},
            **record,
        }
        company.put(etype.name, stored)
        if company.hidden is not None:
            company.hidden.add((etype.name, stored["Id"]))
        return stored

    def _current(self, company: Company, etype: EntityType, body: Mapping[str, Any]) -> dict[str, Any]:
        """The stored record an update/delete/void names, after the Id and SyncToken checks."""
        record_id = body.get("Id")
        if record_id in (None, ""):
            raise required_parameter("Id")
        if body.get("SyncToken") in (None, ""):
            raise required_parameter("SyncToken")
        current = company.visible(etype.name, str(record_id))
        if current is None:
            raise object_not_found()
        if str(body["SyncToken"]) != current["SyncToken"]:
            raise stale_object()
        return current

    def _update(self, company: Company, etype: EntityType, body: dict[str, Any]) -> dict[str, Any]:
        current = self._current(company, etype, body)
        internal = {k: v for k, v in current.items() if k not in etype.shape.properties}
        if body.get("sparse") is True:
            candidate = {k: v for k, v in current.items() if not etype.server_managed(k)}
        else:
            candidate = dict(internal)
        candidate.update({k: v for k, v in body.items() if not etype.server_managed(k)})
        candidate = {k: copied(v) for k, v in candidate.items() if v is not None}
        etype.complete(company, candidate, record_id=current["Id"], previous=current)
        stored = {
            "Id": current["Id"],
            "SyncToken": current["SyncToken"],
            "MetaData": dict(current["MetaData"]),
            **candidate,
        }
        self._touch(company, etype.name, stored)
        return stored

    def _void(self, company: Company, etype: EntityType, body: dict[str, Any]) -> dict[str, Any]:
        if not etype.voidable:
            raise unsupported_operation(f"Void {etype.name}")
        current = self._current(company, etype, body)
        etype.check_removable(company, current)
        etype.void(current)
        self._touch(company, etype.name, current)
        return current

    def _delete(self, company: Company, etype: EntityType, body: dict[str, Any]) -> dict[str, Any]:
        if not etype.deletable:
            raise unsupported_operation(f"Delete {etype.name}")
        current = self._current(company, etype, body)
        etype.check_removable(company, current)
        company.drop(etype.name, current["Id"])  # its tombstone is kept for change data capture (§3.2)
        return {"domain": "QBO", "status": "Deleted", "Id": current["Id"]}

    def _query(self, company: Company, statement: str) -> dict[str, Any]:
        """Run one SELECT; return the ``QueryResponse`` object."""
        try:
            query = qbo_query.parse(statement)
            etype = entity_type(query.entity)
            if etype is None:
                raise qbo_query.QueryError(
                    qbo_query.INVALID_QUERY,
                    f"QueryValidationError: invalid context declaration: {query.entity}",
                )
            stored = _candidates(company, etype, query)
            if _asks_computed(query, etype):
                result = qbo_query.run(
                    query,
                    [etype.render(company, r) for r in stored],
                    active_only_by_default=etype.name_list,
                    queryable=etype.queryable,
                )
                rows = result.rows
            else:  # the stored records answer it: render only the page
                result = qbo_query.run(
                    query, stored, active_only_by_default=etype.name_list, queryable=etype.queryable
                )
                rows = [] if query.count else [etype.render(company, r) for r in result.rows]
        except qbo_query.QueryError as exc:
            raise QboFault(exc.code, exc.message, exc.detail) from None
        if query.count:
            return {"totalCount": result.total}
        if not rows:
            return {}
        return {
            etype.name: [_wire_record(r) for r in rows],
            "startPosition": result.start_position,
            "maxResults": len(result.rows),
        }

    def _batch(self, company: Company, body: Any, *, with_request_id: bool) -> dict[str, Any]:
        if not isinstance(body, Mapping) or set(body) - {"BatchItemRequest"}:
            extra = sorted(set(body) - {"BatchItemRequest"}) if isinstance(body, Mapping) else ["<body>"]
            raise unsupported_property(f'Unrecognized field "{extra[0]}" (class IntuitBatchRequest)')
        items = body.get("BatchItemRequest")
        if not isinstance(items, list) or not items:
            raise required_parameter("BatchItemRequest")
        if len(items) > MAX_BATCH_ITEMS:
            raise QboFault(
                "2050",
                "Batch size exceeds the limit",
                f"A batch may hold at most {MAX_BATCH_ITEMS} BatchItemRequests. Supplied:{len(items)}",
                element="BatchItemRequest",
            )
        seen: set[str] = set()
        for item in items:
            bid = item.get("bId") if isinstance(item, Mapping) else None
            if bid in (None, ""):
                raise required_parameter("bId")
            if str(bid) in seen:
                raise unsupported_property(f"bId {bid} is used by more than one BatchItemRequest")
            if with_request_id and len(str(bid)) > MAX_BATCH_ID_WITH_REQUEST_ID:
                raise string_too_long("bId", MAX_BATCH_ID_WITH_REQUEST_ID, len(str(bid)))
            seen.add(str(bid))
        responses = []
        company.hidden = set()
        try:
            for item in items:
                responses.append({**self._batch_item(company, item), "bId": item["bId"]})
        finally:
            company.hidden = None
        return {"BatchItemResponse": responses}

    def _batch_item(self, company: Company, item: Mapping[str, Any]) -> dict[str, Any]:
        try:
            if "Query" in item:
                return {"QueryResponse": self._query(company, str(item["Query"]))}
            names = [k for k in item if k not in ("bId", "operation", "optionsData")]
            if len(names) != 1 or names[0] not in ENTITY_TYPES:
                raise unsupported_property(f"BatchItemRequest must name one entity, got {names}")
            operation = item.get("operation")
            if operation not in ("create", "update", "delete"):
                raise unsupported_operation(f"{operation}")
            etype = ENTITY_TYPES[names[0]]
            return self._write(company, etype, str(operation), item[names[0]])  # written as copies
        except QboFault as fault:
            return {"Fault": {"Error": [fault.error()], "type": fault.kind}}

    # -- HTTP ----------------------------------------------------------------------------------

    async def _handle(self, request: Request) -> Response:
        wants_json = "application/json" in request.headers.get("accept", "").lower()
        realm = request.path_params["realm"]
        grant = self.state.tokens.check("qbo", request.headers.get("authorization"))
        if grant is None:
            return self._gateway(
                401,
                _gateway_fault(
                    "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                    "Token expired or invalid",
                    "3200",
                    "AUTHENTICATION",
                ),
                {"WWW-Authenticate": 'Bearer realm="Intuit", error="invalid_token"'},
            )
        company = self.companies.get(realm)
        if company is None or grant.realm_id != realm:
            return self._gateway(
                403,
                _gateway_fault(
                    "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                    f"The access token is not authorized for company {realm}",
                    "3100",
                    "AUTHORIZATION",
                ),
            )
        settings = self.state.settings
        per_second, _, _ = self.state.rates.hit(f"{realm}:s", settings.qbo_per_second, 1)
        per_minute = per_second and self.state.rates.hit(f"{realm}:m", settings.qbo_per_minute, 60)[0]
        if not (per_second and per_minute):
            fault = throttled()
            return self._answer(429, {**fault.envelope(), "time": company.response_time()}, wants_json)
        body = await request.body()
        with self._lock:
            status, envelope = self._dispatch(company, request, body)
        return self._answer(status, envelope, wants_json)

    def _dispatch(self, company: Company, request: Request, body: bytes) -> tuple[int, dict[str, Any]]:
        """Route one authorised, unthrottled request; return (HTTP status, envelope with ``time``)."""
        segments = [s for s in request.path_params["rest"].split("/") if s]
        params = request.query_params
        is_write = request.method == "POST" and segments and segments[0].lower() not in ("query",)
        request_id = params.get("requestid") if is_write else None
        try:
            if request_id is not None:
                limit = MAX_BATCH_REQUEST_ID if segments[0].lower() == "batch" else MAX_REQUEST_ID
                if len(request_id) > limit:
                    raise string_too_long("requestid", limit, len(request_id))
                if request_id in company.replies:
                    reply = company.replies[request_id]
                    return reply.status, reply.envelope
        except QboFault as fault:
            return fault.status, {**fault.envelope(), "time": company.response_time()}
        try:
            status, envelope = 200, self._route(company, request, segments, body, request_id is not None)
        except QboFault as fault:
            status, envelope = fault.status, fault.envelope()
        envelope = {**envelope, "time": company.response_time()}
        if request_id is not None:
            company.replies[request_id] = StoredReply(status, envelope)
        return status, envelope

    def _route(
        self, company: Company, request: Request, segments: list[str], body: bytes, with_request_id: bool
    ) -> dict[str, Any]:
        method = request.method
        head = segments[0].lower() if segments else ""
        if head == "query" and len(segments) == 1:
            if method == "GET":
                statement = request.query_params.get("query", "")
            else:
                if not request.headers.get("content-type", "").lower().startswith("application/text"):
                    raise unsupported_property(
                        "a POSTed query must be sent as Content-Type: application/text"
                    )
                statement = body.decode("utf-8")
            return {"QueryResponse": self._query(company, statement)}
        if head == "batch" and len(segments) == 1 and method == "POST":
            return self._batch(company, _json_body(request, body), with_request_id=with_request_id)
        if head == "companyinfo" and len(segments) == 2 and method == "GET":
            if segments[1] != company.realm_id:
                raise object_not_found()
            return {"CompanyInfo": _wire_record(company.tables["CompanyInfo"]["1"])}
        if head == "preferences" and len(segments) == 1 and method == "GET":
            return {"Preferences": _wire_record(company.tables["Preferences"]["1"])}
        if head == "cdc" and len(segments) == 1 and method == "GET":
            return {"CDCResponse": [{"QueryResponse": self._cdc(company, request.query_params)}]}
        etype = entity_type(head)
        if etype is not None and head == head.lower():
            if len(segments) == 1 and method == "POST":
                operation = _write_operation(etype, request.query_params)
                return self._write(company, etype, operation, _json_body(request, body))
            if len(segments) == 2 and method == "GET" and etype.readable_by_id:
                return {etype.name: _wire_record(self._read(company, etype, segments[1]))}
        raise unsupported_operation(
            f"Could not find resource for relative : /v3/company/{company.realm_id}/{'/'.join(segments)}"
        )

    def _cdc(self, company: Company, params: Mapping[str, str]) -> list[dict[str, Any]]:
        """Change data capture: per entity asked for, what changed after ``changedSince`` (§3.2).

        Inactive list records count like any other; deleted ones come back as tombstones. At most
        ``CDC_MAX_OBJECTS`` objects in all, taken in the order the entities were asked for.
        """
        entities = _cdc_entities(params.get("entities"))
        since = _changed_since(params.get("changedSince"), company.moment())
        left = CDC_MAX_OBJECTS
        answers: list[dict[str, Any]] = []
        for etype in entities:
            changed = self._changes(company, etype, since, left)
            left -= len(changed)
            answers.append(
                {etype.name: changed, "startPosition": 1, "maxResults": len(changed)} if changed else {}
            )
        return answers

    def _changes(
        self, company: Company, etype: EntityType, since: datetime, most: int
    ) -> list[dict[str, Any]]:
        """At most ``most`` live records and tombstones of ``etype`` updated after ``since``, oldest first."""
        live, gone = company.tables.get(etype.name, {}), company.tombstones.get(etype.name, {})
        return [
            _wire_record(etype.render(company, live[i])) if i in live else copy.deepcopy(gone[i])
            for i in company.indexes.changes.changed_after(etype.name, since)[:most]
        ]

    def _read(self, company: Company, etype: EntityType, record_id: str) -> dict[str, Any]:
        if not (record_id.isascii() and record_id.isdigit()):
            raise QboFault(
                "2030", "Invalid ID", f"Id should be a valid number. Supplied value:{record_id}", element="Id"
            )
        record = company.visible(etype.name, record_id)
        if record is None:
            raise object_not_found()
        return etype.render(company, record)

    def _gateway(
        self, status: int, body: dict[str, Any], headers: Mapping[str, str] | None = None
    ) -> Response:
        tid = _new_tid()
        return Response(
            to_json(body),
            status_code=status,
            media_type="application/json",
            headers={"intuit_tid": tid, "Intuit-Tid": tid, **(headers or {})},
        )

    def _answer(self, status: int, envelope: dict[str, Any], wants_json: bool) -> Response:
        tid = _new_tid()
        headers = {"intuit_tid": tid, "Intuit-Tid": tid}
        if wants_json:
            return Response(
                to_json(envelope),
                status_code=status,
                media_type="application/json;charset=utf-8",
                headers=headers,
            )
        return Response(
            to_xml(envelope), status_code=status, media_type="application/xml;charset=utf-8", headers=headers
        )


def _known(entity: str) -> EntityType:
    etype = entity_type(entity)
    if etype is None:
        raise KeyError(f"the QBO emulator has no entity {entity!r}")
    return etype


def _write_operation(etype: EntityType, params: Mapping[str, str]) -> str:
    """What a ``POST /{entity}`` asks for: create, update, delete or void (in the entity's form, §1.5)."""
    operation = params.get("operation", "create").lower()
    if operation not in ("create", "update", "delete", "void"):
        raise unsupported_operation(f"{operation}")
    includes = {part.strip().lower() for part in params.get("include", "").split(",")}
    if "void" in includes:
        if operation != "update" or etype.void_form != "include":
            raise unsupported_operation(f"operation={operation}&include=void on {etype.name}")
        return "void"
    if operation == "void" and etype.void_form != "operation":
        raise unsupported_operation(
            f"operation=void on {etype.name} (void it with operation=update&include=void)"
        )
    return operation


def _cdc_refusal(detail: str) -> QboFault:
    return QboFault("4001", "Invalid query", f"ChangeDataCapture: {detail}")


def _cdc_entities(text: str | None) -> list[EntityType]:
    """The entity types a CDC request names (comma-separated, any letter case), each once."""
    if not text:
        raise required_parameter("entities")
    wanted: list[EntityType] = []
    for name in (part.strip() for part in text.split(",")):
        etype = entity_type(name) if name else None
        if name.lower() in (n.lower() for n in NOT_IN_CDC) or (etype and not etype.change_data_capture):
            raise _cdc_refusal(f"change data capture is not available for {name}")
        if etype is None:
            raise _cdc_refusal(f"{name or '(empty)'} is not an entity change data capture knows")
        if etype not in wanted:
            wanted.append(etype)
    return wanted


def _changed_since(text: str | None, now: datetime) -> datetime:
    """``changedSince`` as an instant: an ISO date (company midnight) or a date-time with offset."""
    if not text:
        raise required_parameter("changedSince")
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time(), COMPANY_TZ)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise _cdc_refusal(
            f"changedSince {text!r} is not an ISO date or date-time with offset "
            "(a '+' in the offset must be URL-encoded as %2B)"
        ) from None
    if moment.tzinfo is None:
        raise _cdc_refusal(f"changedSince {text!r} needs a UTC offset, e.g. 2024-05-01T09:00:00-07:00")
    if moment < now - CDC_LOOKBACK:
        raise _cdc_refusal(f"changedSince {text} is more than 30 days ago")
    return moment


def _asks_computed(query: qbo_query.Query, etype: EntityType) -> bool:
    """Whether the query filters or orders by a property rendering computes (a Balance, a suffixed name)."""
    props = [c.prop for c in query.where] + [o.prop for o in query.order_by]
    return any(_computed(etype, prop) for prop in props)


def _computed(etype: EntityType, prop: str) -> bool:
    return prop.split(".")[0].lower() in {name.lower() for name in etype.COMPUTED}


def _candidates(company: Company, etype: EntityType, query: qbo_query.Query) -> list[dict[str, Any]]:
    """The visible stored records the query can match: those its most selective ``=``/``IN``
    condition on a stored property picks out, else all of them (the query still tests every one)."""
    best: set[str] | None = None
    for condition in query.where:
        if (
            condition.op in ("=", "IN")
            and etype.queryable(condition.prop)
            and not _computed(etype, condition.prop)
        ):
            found = company.indexes.properties.matching(
                etype.name, condition.prop, condition.values, lambda: company.rows(etype.name)
            )
            best = found if best is None or len(found) < len(best) else best
    if best is None:
        return company.visible_rows(etype.name)
    table = company.tables.get(etype.name, {})
    return [table[i] for i in sorted(best) if company.visible(etype.name, i) is not None]


def _wire_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record in the service's key order: domain, sparse, Id, SyncToken, MetaData, then the fields."""
    head = {"domain": "QBO", "sparse": False}
    head.update({k: record[k] for k in ("Id", "SyncToken", "MetaData") if k in record})
    head.update({k: v for k, v in record.items() if k not in head})
    return head


def _json_body(request: Request, body: bytes) -> Any:
    if not request.headers.get("content-type", "").lower().startswith("application/json"):
        raise unsupported_property("the request body must be JSON (Content-Type: application/json)")
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError):
        raise unsupported_property("the request body is not valid JSON") from None
