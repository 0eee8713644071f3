"""Typed client for Xero's Accounting API (``{api_base}/api.xro/2.0``) of one organisation.

Every call names the organisation in ``xero-tenant-id`` and asks for JSON (``reference/xero.md``
§1); money is parsed as Decimal and ``/Date(…)/`` values become dates (:mod:`.wire`). Calls go
through the shared :class:`~ledgerlink.http.Transport` (401 refresh, retries, redaction) paced by
the organisation's :class:`~.limiter.XeroLimiter` (5 in flight, 60 a minute, the daily budget).

Writes (§1 "Bulk + errors", §4, §5):

- at most 50 elements a request — longer lists are sent in chunks, after checking the day's budget
  covers every chunk, so a write never stops half-way for want of calls;
- always ``summarizeErrors=false``: Xero answers 200 with every element's own outcome, so one bad
  element neither hides the others' new IDs nor fails them. Each element comes back as an
  :class:`ElementOutcome`: the record Xero kept (with its ID), or its ValidationErrors as a
  :class:`~ledgerlink.errors.ValidationError`;
- an ``Idempotency-Key`` on every request, derived from the caller's intent key, the chunk's
  index and (hashed) the organisation and operation (:func:`idempotency_key`). Xero replays the first
  answer to a repeat for 6 minutes, so the transport may retry a write whose answer was lost;
  dedupe beyond that window is the caller's (its intent rows and look-ups by number);
- ``unitdp=4`` whenever a unit price has more than 2 decimals, which Xero otherwise rounds (§8.5).

Reads page with ``page=N`` and ``pageSize=1000`` until ``pagination.pageCount`` is reached or a page
comes back short; invoice, credit-note and bank-transaction reads ask for ``unitdp=4``.

Assumptions (API behaviour beyond ``reference/xero.md``, with sources):

- **1,000 records a page** is the most ``pageSize`` takes, on every endpoint that pages (§1; Xero's
  developer announcement of 2024 "up to a maximum pagesize of 1000 for all endpoints that currently
  support paging", quoted in ``calcinai/xero-php#915``).
- **A query string of at most 2,048 characters** (as sent, percent-encoded): Xero answers a longer
  one 404 "The resource you're looking for cannot be found" (``XeroAPI/Xero-NetStandard#471``: a
  URL over 2,091 characters; ``XeroAPI/Xero-OpenAPI#534`` and ``XeroAPI/xero-node#404``: 52 ids
  pass, 53 fail; ``XeroAPI/Xero-Net#389``, Xero staff: a limit on the query's length). So list
  filters (``IDs``, ``InvoiceNumbers``) carry as many values a GET as fit, never a fixed count.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from ledgerlink.errors import ApiError, ValidationError
from ledgerlink.http import TokenSource, Transport, redact
from ledgerlink.providers.xero.errors import DEFAULT_RETRY_AFTER, map_error
from ledgerlink.providers.xero.limiter import XeroLimiter
from ledgerlink.providers.xero.wire import (
    XeroAccount,
    XeroAllocation,
    XeroBankTransaction,
    XeroContact,
    XeroCreditNote,
    XeroInvoice,
    XeroLineItem,
    XeroModel,
    XeroOrganisation,
    XeroPayment,
    XeroTaxRate,
    dumps,
    loads,
)

ACCOUNTING_PATH = "/api.xro/2.0"
MAX_ELEMENTS_PER_WRITE = 50
PAGE_SIZE = 1000  # the most Xero pages allow (module docstring)
MAX_QUERY_STRING = 2048  # characters, percent-encoded; Xero answers a longer one 404 (module docstring)
MAX_IDEMPOTENCY_KEY = 128
SALES_INVOICES = 'Type=="ACCREC"'
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9._:-]+")

Record = TypeVar("Record", bound=XeroModel)


def accounting_url(api_base: str) -> str:
    """The Accounting API root under ``api_base`` (``https://api.xero.com`` or the sandbox's)."""
    return api_base.rstrip("/") + ACCOUNTING_PATH


def idempotency_key(intent_key: str, chunk: int, *, tenant_id: str, operation: str) -> str:
    """The ``Idempotency-Key`` for chunk ``chunk`` of the write the caller calls ``intent_key``.

    Deterministic, so a repeat of the same write carries the same key. Xero scopes keys per *app*,
    so the organisation and the operation go into a hash: the same intent key in two organisations
    (or for two endpoints) never replays the other's answer. The readable head keeps logs legible;
    the whole fits Xero's 128 characters.
    """
    if not intent_key:
        raise ValueError("a Xero write needs an intent key to derive its Idempotency-Key from")
    digest = hashlib.sha256(f"{tenant_id}\n{operation}\n{intent_key}".encode()).hexdigest()[:20]
    tail = f".{chunk}.{digest}"
    head = _KEY_UNSAFE.sub("_", intent_key)[: MAX_IDEMPOTENCY_KEY - len(tail)]
    return head + tail


def issued_between(start: date, end: date, *, doc_type: str = "ACCREC") -> str:
    """A ``where`` for documents of ``doc_type`` dated ``start``..``end`` inclusive (§1 "Filtering")."""

    def literal(day: date) -> str:
        return f"DateTime({day.year}, {day.month:02d}, {day.day:02d})"

    return f'Type=="{doc_type}" AND Date>={literal(start)} AND Date<={literal(end)}'


@dataclass(frozen=True)
class ElementOutcome(Generic[Record]):
    """What became of one element of a write: the record Xero kept, or why it refused it.

    ``index`` is the element's position in the list the caller passed. A refused element has no
    record (Xero echoes it with an all-zero ID, which must never be stored as a link).
    """

    index: int
    record: Record | None
    error: ValidationError | None = None
    warnings: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.error is None


def _needs_four_decimals(lines: Sequence[XeroLineItem] | None) -> bool:
    for line in lines or []:
        amount = line.unit_amount
        if amount is not None and amount.is_finite():
            exponent = amount.normalize().as_tuple().exponent
            if isinstance(exponent, int) and exponent < -2:
                return True
    return False


class XeroClient:
    """The Accounting API of one Xero organisation, typed, paced and batched (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        tenant_id: str,
        token_source: TokenSource,
        limiter: XeroLimiter | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        http_transport: httpx.BaseTransport | None = None,
        max_attempts: int = 4,
    ) -> None:
        if not tenant_id:
            raise ValueError("a Xero client needs the organisation's tenant id")
        self.tenant_id = tenant_id
        self.limiter = limiter or XeroLimiter(tenant_id=tenant_id)
        self.transport = Transport(
            base_url,
            name="Xero",
            auth=token_source,
            limiter=self.limiter,
            headers={"Accept": "application/json", "xero-tenant-id": tenant_id},
            error_mapper=map_error,
            default_retry_after=DEFAULT_RETRY_AFTER,
            sleep=sleep or self.limiter.sleep,
            http_transport=http_transport,
            max_attempts=max_attempts,
        )

    @classmethod
    def connect(
        cls,
        api_base: str,
        tenant_id: str,
        token_source: TokenSource,
        *,
        limiter: XeroLimiter | None = None,
        sleep: Callable[[float], None] | None = None,
        http_transport: httpx.BaseTransport | None = None,
    ) -> XeroClient:
        """A client under ``api_base`` (``XeroConfig.api_base``); one ``limiter`` per tenant, shared."""
        return cls(
            accounting_url(api_base),
            tenant_id,
            token_source,
            limiter or XeroLimiter(tenant_id=tenant_id, sleep=sleep or time.sleep),
            sleep=sleep,  # None: the limiter's, so retries wait on the same clock as pacing
            http_transport=http_transport,
        )

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> XeroClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads ------------------------------------------------------------------------------

    def contacts(
        self,
        *,
        where: str | None = None,
        ids: Sequence[str] = (),
        page: int | None = None,
        modified_since: datetime | None = None,
        include_archived: bool = False,
        search_term: str | None = None,
    ) -> list[XeroContact]:
        """Contacts matching the filters (every page unless ``page`` names one); archived ones on request."""
        params = _params(where=where, searchTerm=search_term)
        if include_archived:
            params["includeArchived"] = "true"
        return self._listed("Contacts", XeroContact, params, ids, page=page, modified_since=modified_since)

    def invoices(
        self,
        *,
        where: str | None = None,
        ids: Sequence[str] = (),
        numbers: Sequence[str] = (),
        contact_ids: Sequence[str] = (),
        statuses: Sequence[str] = (),
        page: int | None = None,
        modified_since: datetime | None = None,
        include_archived: bool = False,
    ) -> list[XeroInvoice]:
        """Invoices matching the filters; the explicit lists are faster than ``where`` ORs (§1)."""
        params = _params(
            where=where,
            InvoiceNumbers=_joined(numbers),
            ContactIDs=_joined(contact_ids),
            Statuses=_joined(statuses),
            unitdp="4",
        )
        if include_archived:
            params["includeArchived"] = "true"
        return self._listed("Invoices", XeroInvoice, params, ids, page=page, modified_since=modified_since)

    def invoices_by_number(self, numbers: Sequence[str]) -> list[XeroInvoice]:
        """The invoices numbered ``numbers`` (ACCREC numbers are unique), in as few GETs as Xero allows.

        Look-ups by ``InvoiceNumbers`` carry as many numbers as fit a query string. When that takes
        more than one GET, the organisation's sales invoices are read whole instead if they fill no
        more pages than the look-ups would (a new organisation: one page); the first page says how
        many there are, so a large book costs one GET more than the look-ups alone.
        """
        wanted = list(dict.fromkeys(numbers))
        _joined(wanted)  # refuses a number Xero's comma-separated list cannot carry
        lookups = _fitting("InvoiceNumbers", wanted, _params(unitdp="4"))
        if len(lookups) > 1:
            found = self._sales_invoices_numbered(set(wanted), pages_at_most=len(lookups))
            if found is not None:
                return found
        return [record for chunk in lookups for record in self.invoices(numbers=chunk)]

    def _sales_invoices_numbered(self, wanted: set[str], *, pages_at_most: int) -> list[XeroInvoice] | None:
        """The sales invoices numbered ``wanted``, from every page of the book — or None, after its
        first page, when the book fills more than ``pages_at_most`` pages. Only matches are kept."""
        found: list[XeroInvoice] = []
        params = _params(where=SALES_INVOICES, unitdp="4")
        for number, (body, records) in enumerate(self._pages("Invoices", XeroInvoice, params), start=1):
            pages = _page_count(body)
            if number == 1 and (pages is None or pages > pages_at_most):
                return None
            found.extend(r for r in records if r.invoice_number in wanted)
        return found

    def payments(
        self, *, where: str | None = None, page: int | None = None, modified_since: datetime | None = None
    ) -> list[XeroPayment]:
        return self._paged(
            "Payments", XeroPayment, _params(where=where), page=page, modified_since=modified_since
        )

    def credit_notes(
        self, *, where: str | None = None, page: int | None = None, modified_since: datetime | None = None
    ) -> list[XeroCreditNote]:
        params = _params(where=where, unitdp="4")
        return self._paged("CreditNotes", XeroCreditNote, params, page=page, modified_since=modified_since)

    def modified_invoices(self, since: datetime) -> Iterator[XeroInvoice]:
        """Invoices modified after ``since``, a page at a time: a long change feed is never held whole."""
        return self._streamed("Invoices", XeroInvoice, _params(unitdp="4"), since)

    def modified_payments(self, since: datetime) -> Iterator[XeroPayment]:
        return self._streamed("Payments", XeroPayment, {}, since)

    def modified_credit_notes(self, since: datetime) -> Iterator[XeroCreditNote]:
        return self._streamed("CreditNotes", XeroCreditNote, _params(unitdp="4"), since)

    def bank_transactions(
        self, *, where: str | None = None, page: int | None = None, modified_since: datetime | None = None
    ) -> list[XeroBankTransaction]:
        params = _params(where=where, unitdp="4")
        return self._paged(
            "BankTransactions", XeroBankTransaction, params, page=page, modified_since=modified_since
        )

    def accounts(self, *, where: str | None = None) -> list[XeroAccount]:
        """The chart of accounts (not paged), e.g. ``where='Status=="ACTIVE" AND Type=="BANK"'``."""
        body = self._get("/Accounts", _params(where=where))
        return _records(body, "Accounts", XeroAccount)

    def tax_rates(self, *, where: str | None = None) -> list[XeroTaxRate]:
        body = self._get("/TaxRates", _params(where=where))
        return _records(body, "TaxRates", XeroTaxRate)

    def organisation(self) -> XeroOrganisation:
        """The organisation itself: base currency, lock dates, plan, sales-tax default."""
        found = _records(self._get("/Organisation", {}), "Organisations", XeroOrganisation)
        if not found:
            raise ApiError("Xero answered GET /Organisation without an organisation", status=200)
        return found[0]

    # -- writes -----------------------------------------------------------------------------

    def put_contacts(self, contacts: Sequence[XeroContact], *, key: str) -> list[ElementOutcome[XeroContact]]:
        """Create contacts (a taken Name or ContactNumber is that element's error)."""
        return self._write("PUT", "Contacts", contacts, XeroContact, key=key)

    def post_contacts(
        self, contacts: Sequence[XeroContact], *, key: str
    ) -> list[ElementOutcome[XeroContact]]:
        """Update contacts that carry a ContactID, create the others."""
        return self._write("POST", "Contacts", contacts, XeroContact, key=key)

    def put_invoices(self, invoices: Sequence[XeroInvoice], *, key: str) -> list[ElementOutcome[XeroInvoice]]:
        """Create invoices (an ACCREC number already used is that element's error: "must be unique")."""
        return self._write("PUT", "Invoices", invoices, XeroInvoice, key=key, lines=_invoice_lines)

    def post_invoices(
        self, invoices: Sequence[XeroInvoice], *, key: str
    ) -> list[ElementOutcome[XeroInvoice]]:
        """Update invoices that carry an InvoiceID (or a known number), create the others."""
        return self._write("POST", "Invoices", invoices, XeroInvoice, key=key, lines=_invoice_lines)

    def put_payments(self, payments: Sequence[XeroPayment], *, key: str) -> list[ElementOutcome[XeroPayment]]:
        """Create payments (payments cannot be edited: delete and create again, §2.4)."""
        return self._write("PUT", "Payments", payments, XeroPayment, key=key)

    def delete_payment(self, payment_id: str, *, key: str) -> XeroPayment:
        """Delete a payment: ``POST /Payments/{id}`` with ``{"Status": "DELETED"}``, the only change allowed.

        The body is the spec's bare ``PaymentDelete`` object, as the official SDKs send it (§2.4).
        """
        path = f"/Payments/{quote(payment_id, safe='')}"
        body = self._send_write("POST", path, {"Status": "DELETED"}, intent_key=key, chunk=0, params={})
        found = _records(body, "Payments", XeroPayment)
        if len(found) != 1:
            raise ApiError(
                f"Xero answered the deletion of payment {payment_id} without the payment", status=200
            )
        outcome = _outcome(0, found[0], "payment")
        if outcome.error is not None:
            raise outcome.error
        return found[0]

    def put_credit_notes(
        self, credit_notes: Sequence[XeroCreditNote], *, key: str
    ) -> list[ElementOutcome[XeroCreditNote]]:
        """Create credit notes; allocating one is a second call (:meth:`allocate_credit_note`)."""
        return self._write("PUT", "CreditNotes", credit_notes, XeroCreditNote, key=key, lines=_credit_lines)

    def allocate_credit_note(
        self, credit_note_id: str, invoice_id: str, amount: Decimal, on: date, *, key: str
    ) -> ElementOutcome[XeroAllocation]:
        """Apply ``amount`` of an AUTHORISED credit note to an invoice, dated ``on`` (one call a note)."""
        allocation = XeroAllocation(invoice=XeroInvoice(invoice_id=invoice_id), amount=amount, date=on)
        path = f"/CreditNotes/{quote(credit_note_id, safe='')}/Allocations"
        (outcome,) = self._write("PUT", "Allocations", [allocation], XeroAllocation, key=key, path=path)
        return outcome

    def post_credit_notes(
        self, credit_notes: Sequence[XeroCreditNote], *, key: str
    ) -> list[ElementOutcome[XeroCreditNote]]:
        """Update credit notes that carry a CreditNoteID (e.g. ``Status: VOIDED``), create the others."""
        return self._write("POST", "CreditNotes", credit_notes, XeroCreditNote, key=key, lines=_credit_lines)

    def credit_note(self, credit_note_id: str) -> XeroCreditNote | None:
        """One credit note with its lines and allocations (``GET /CreditNotes/{id}``); None if unknown."""
        path = f"/CreditNotes/{quote(credit_note_id, safe='')}"
        found = _records(self._get(path, {"unitdp": "4"}), "CreditNotes", XeroCreditNote)
        return found[0] if found else None

    def delete_allocation(self, credit_note_id: str, allocation_id: str) -> XeroAllocation:
        """Take an allocation off a credit note (``DELETE /CreditNotes/{id}/Allocations/{id}``, §2.5)."""
        path = f"/CreditNotes/{quote(credit_note_id, safe='')}/Allocations/{quote(allocation_id, safe='')}"
        with self.limiter.in_flight():
            # A DELETE of one id is idempotent by nature: a repeat meets "could not be found".
            response = self.transport.request("DELETE", path, idempotent=True)
        found = _records(_json(response), "Allocations", XeroAllocation)
        if len(found) != 1:
            raise ApiError(f"Xero answered the deletion of allocation {allocation_id} without it", status=200)
        return found[0]

    def put_bank_transactions(
        self, transactions: Sequence[XeroBankTransaction], *, key: str
    ) -> list[ElementOutcome[XeroBankTransaction]]:
        """Create bank transactions (hard costs are SPEND transactions with the vendor as contact)."""
        return self._write(
            "PUT", "BankTransactions", transactions, XeroBankTransaction, key=key, lines=_bank_lines
        )

    def post_bank_transactions(
        self, transactions: Sequence[XeroBankTransaction], *, key: str
    ) -> list[ElementOutcome[XeroBankTransaction]]:
        """Update bank transactions that carry an ID (reconciled ones are refused), create the others."""
        return self._write(
            "POST", "BankTransactions", transactions, XeroBankTransaction, key=key, lines=_bank_lines
        )

    # -- plumbing ---------------------------------------------------------------------------

    def _write(
        self,
        method: str,
        collection: str,
        records: Sequence[Record],
        model: type[Record],
        *,
        key: str,
        path: str | None = None,
        lines: Callable[[Record], Sequence[XeroLineItem] | None] | None = None,
    ) -> list[ElementOutcome[Record]]:
        path = path or f"/{collection}"
        chunks = [
            records[i : i + MAX_ELEMENTS_PER_WRITE] for i in range(0, len(records), MAX_ELEMENTS_PER_WRITE)
        ]
        if not chunks:
            return []
        self.limiter.ensure_budget(len(chunks))
        noun = _noun(collection)
        outcomes: list[ElementOutcome[Record]] = []
        for number, chunk in enumerate(chunks):
            first = number * MAX_ELEMENTS_PER_WRITE
            params = {"summarizeErrors": "false"}
            if lines is not None and any(_needs_four_decimals(lines(record)) for record in chunk):
                params["unitdp"] = "4"
            payload = {collection: [record.wire() for record in chunk]}
            try:
                body = self._send_write(method, path, payload, intent_key=key, chunk=number, params=params)
            except ValidationError as refused:
                # A 400 despite summarizeErrors=false refuses the request as a whole: every element shares it.
                outcomes.extend(ElementOutcome(first + i, None, refused) for i in range(len(chunk)))
                continue
            answered = body.get(collection)
            if not isinstance(answered, list) or len(answered) != len(chunk):
                count = len(answered) if isinstance(answered, list) else 0
                raise ApiError(
                    f"Xero answered {count} {collection} for the {len(chunk)} sent to {method} {path}; "
                    "their outcomes cannot be told apart",
                    status=200,
                )
            for offset, element in enumerate(answered):
                record = model.model_validate(element)
                outcomes.append(_outcome(first + offset, record, noun))
        return outcomes

    def _send_write(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any],
        *,
        intent_key: str,
        chunk: int,
        params: Mapping[str, str],
    ) -> dict[str, Any]:
        header = idempotency_key(intent_key, chunk, tenant_id=self.tenant_id, operation=f"{method} {path}")
        with self.limiter.in_flight():
            response = self.transport.request(
                method,
                path,
                params=dict(params),
                content=dumps(payload),
                headers={"Content-Type": "application/json", "Idempotency-Key": header},
                idempotent=True,  # the key makes Xero replay the first answer to a repeat
            )
        return _json(response)

    def _get(
        self, path: str, params: Mapping[str, str], headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        with self.limiter.in_flight():
            response = self.transport.request("GET", path, params=dict(params), headers=headers)
        return _json(response)

    def _listed(
        self,
        collection: str,
        model: type[Record],
        params: dict[str, str],
        ids: Sequence[str],
        *,
        page: int | None,
        modified_since: datetime | None,
    ) -> list[Record]:
        """Records matching ``params`` (and ``ids``, as many a GET as fit a query string)."""
        if not ids:
            return self._paged(collection, model, params, page=page, modified_since=modified_since)
        _joined(ids)  # refuses an id Xero's comma-separated list cannot carry
        return [
            record
            for chunk in _fitting("IDs", ids, params)
            for record in self._paged(
                collection,
                model,
                {**params, "IDs": ",".join(chunk)},
                page=page,
                modified_since=modified_since,
            )
        ]

    def _paged(
        self,
        collection: str,
        model: type[Record],
        params: dict[str, str],
        *,
        page: int | None,
        modified_since: datetime | None,
    ) -> list[Record]:
        found: list[Record] = []
        for _body, records in self._pages(
            collection, model, params, first=page or 1, modified_since=modified_since
        ):
            found.extend(records)
            if page is not None:
                break
        return found

    def _streamed(
        self, collection: str, model: type[Record], params: dict[str, str], since: datetime
    ) -> Iterator[Record]:
        for _body, records in self._pages(collection, model, params, modified_since=since):
            yield from records

    def _pages(
        self,
        collection: str,
        model: type[Record],
        params: dict[str, str],
        *,
        first: int = 1,
        modified_since: datetime | None = None,
    ) -> Iterator[tuple[dict[str, Any], list[Record]]]:
        """Each page's answer and records from ``first`` on, read as the caller asks for the next."""
        headers = {"If-Modified-Since": _http_timestamp(modified_since)} if modified_since else None
        number = first
        while True:
            body = self._get(f"/{collection}", {**params, **_page_params(number)}, headers)
            records = _records(body, collection, model)
            yield body, records
            if _last_page(body, number, len(records)):
                return
            number += 1


# ---------------------------------------------------------------------------------------------
# Pure helpers


def _outcome(index: int, record: Record, noun: str) -> ElementOutcome[Record]:
    warnings = tuple(record.warning_messages())
    if not record.refused:
        return ElementOutcome(index, record, None, warnings)
    messages = record.problems() or ["Xero flagged the element as an error without a message"]
    error = ValidationError(
        redact(f"Xero refused {noun} #{index + 1}: {messages[0]}"),
        status=400,  # what Xero would have answered for this element alone
        code="ValidationException",
        detail=redact("; ".join(messages)),
    )
    return ElementOutcome(index, None, error, warnings)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = loads(response.content)
    except ValueError:
        raise ApiError(
            f"Xero answered HTTP {response.status_code} with a body that is not JSON",
            status=response.status_code,
            detail=redact(response.text[:200]),
        ) from None
    if not isinstance(body, dict):
        raise ApiError("Xero answered with a body that is not a JSON object", status=response.status_code)
    return body


def _records(body: Mapping[str, Any], collection: str, model: type[Record]) -> list[Record]:
    items = body.get(collection)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ApiError(f"Xero answered {collection} that is not a list", status=200)
    return [model.model_validate(item) for item in items]


def _page_params(number: int) -> dict[str, str]:
    return {"page": str(number), "pageSize": str(PAGE_SIZE)}


def _page_count(body: Mapping[str, Any]) -> int | None:
    pagination = body.get("pagination")
    if isinstance(pagination, Mapping) and isinstance(pagination.get("pageCount"), int):
        return int(pagination["pageCount"])
    return None


def _last_page(body: Mapping[str, Any], number: int, count: int) -> bool:
    pages = _page_count(body)
    return number >= pages if pages is not None else count < PAGE_SIZE


def _query_length(params: Mapping[str, str]) -> int:
    """The length of ``params`` as a query string, percent-encoded as httpx sends it."""
    return len(str(httpx.QueryParams(dict(params))))


def _fitting(name: str, values: Sequence[str], params: Mapping[str, str]) -> list[list[str]]:
    """``values`` in order, split so that each list sent as ``name`` beside ``params`` (and any page)
    keeps the query string within MAX_QUERY_STRING."""
    # The page number is sized for the longest a read can reach, so a later page fits too.
    room = MAX_QUERY_STRING - _query_length({**params, "page": "99999", "pageSize": str(PAGE_SIZE), name: ""})
    comma = _query_length({"": ","}) - 1
    chunks: list[list[str]] = []
    used = 0
    for value in values:
        cost = _query_length({"": value}) - 1
        if cost > room:
            raise ValueError(f"the {name} value {value!r} alone is longer than a Xero query string allows")
        if chunks and used + comma + cost <= room:
            chunks[-1].append(value)
            used += comma + cost
        else:
            chunks.append([value])
            used = cost
    return chunks


def _params(**values: str | None) -> dict[str, str]:
    return {name: value for name, value in values.items() if value}


def _joined(values: Sequence[str]) -> str | None:
    for value in values:
        if "," in value:
            raise ValueError(f"Xero's list filters are comma-separated and cannot hold {value!r}")
    return ",".join(values) or None


def _http_timestamp(moment: datetime) -> str:
    """``If-Modified-Since`` as Xero takes it: UTC, to the second (§1)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("modified_since needs a time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _noun(collection: str) -> str:
    return {
        "Contacts": "contact",
        "Invoices": "invoice",
        "Payments": "payment",
        "CreditNotes": "credit note",
        "Allocations": "allocation",
        "BankTransactions": "bank transaction",
    }.get(collection, collection)


def _invoice_lines(invoice: XeroInvoice) -> Sequence[XeroLineItem] | None:
    return invoice.line_items


def _credit_lines(credit_note: XeroCreditNote) -> Sequence[XeroLineItem] | None:
    return credit_note.line_items


def _bank_lines(transaction: XeroBankTransaction) -> Sequence[XeroLineItem] | None:
    return transaction.line_items


__all__ = [
    "ACCOUNTING_PATH",
    "MAX_ELEMENTS_PER_WRITE",
    "MAX_QUERY_STRING",
    "PAGE_SIZE",
    "ElementOutcome",
    "XeroClient",
    "accounting_url",
    "idempotency_key",
    "issued_between",
]
