"""QuickBooks Online as a :class:`ledgerlink.sync.ports.Ledger`.

Reads for matching (customers incl. inactive, vendor/employee names, items, accounts, invoices by
number), the company's settings, change data capture; writes through ``/batch`` with the intent
keys as ``requestid``; and QBO faults turned into causes and remedies a bookkeeper can act on.

How :meth:`QboLedger.write` carries out a list of writes:

1. Every write becomes a QBO step (entity, operation, body) before anything is sent: a mapped
   Product/Service or deposit account missing from the company stops the pass (MappingMissingError).
2. Steps that need the record's current state (a version the engine does not know, a customer to
   reactivate) read it first, with one ``Id IN (...)`` query per entity.
3. Creates, updates and deletes go out in ``/batch`` calls of at most 30, in input order, under a
   ``requestid`` derived from the items' keys (a resent batch replays instead of writing twice,
   §3.1, §4). Invoice voids go one by one with the item's key as ``requestid``.
4. An item refused with 5010 (stale SyncToken) is re-read and sent again alone, once: Clio owns
   these records, so its version wins. Any other refusal is that item's ApiError; a transport
   failure or a 429 of the whole call raises.

Assumptions:

- A "link" of an invoice, payment, credit note or credit application makes the adopted record
  equal to Clio's, like an update; a "link" of a contact reactivates the customer (QBO keeps
  inactive customers, §1.5) and changes nothing else.
- A credit note in a company that computes tax needs a tax code on its line; the first active
  code that charges 0 is used. Without one the credit note is refused before sending, as an
  ApiError with code ``NO_ZERO_TAX_CODE`` and status 0.
- A change-data-capture answer holding MAX_CDC_OBJECTS records may have been cut short; it is
  treated like a too-old ``since`` (None) so the engine never trusts an incomplete answer.
- Naive datetimes given to :meth:`QboLedger.changes` are UTC.
- A US company's settings list no tax codes: its lines use the TAX/NON pseudo codes (§2.7), so
  TaxCode and TaxRate are read only for companies elsewhere.
- An item or account named in a draft that the company lacks entirely is systemic (the mapping is
  wrong for every record); one that exists but is inactive is sent, and QBO's 610 is per record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, Literal, TypeVar

from ledgerlink.domain import Contact, money
from ledgerlink.errors import (
    ApiError,
    ConflictError,
    MappingMissingError,
    RateLimitedError,
    RecordError,
    ValidationError,
)
from ledgerlink.providers.qbo import translate
from ledgerlink.providers.qbo.client import MAX_BATCH_ITEMS, MAX_CDC_OBJECTS, BatchItem, QboClient
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    LedgerChanges,
    LedgerCustomer,
    LedgerInvoice,
    LedgerSettings,
    LedgerWrite,
    PaymentDraft,
    TaxCode,
    Written,
    fold,
)

log = logging.getLogger("ledgerlink.qbo")

DELETED_SUFFIX = " (deleted)"
IN_CHUNK = 30  # values per `IN (...)` query: keeps statements short
CDC_LOOKBACK = timedelta(days=30)  # §3.2
CDC_MARGIN = timedelta(hours=1)  # clocks differ; never ask for the very edge of the window
NO_ZERO_TAX_CODE = "NO_ZERO_TAX_CODE"
ENTITY = {
    "contact": "Customer",
    "invoice": "Invoice",
    "payment": "Payment",
    "credit_note": "CreditMemo",
    "credit_application": "Payment",
}

T = TypeVar("T")
Operation = Literal["create", "update", "reactivate", "delete", "void"]
Answer = Written | ApiError


def _written(record: Mapping[str, Any], entity: str) -> Written:
    """The id and version QBO answered; for a customer also the customer as QBO now holds it."""
    customer = translate.ledger_customer(record, bare_name=True) if entity == "Customer" else None
    return Written(id=str(record["Id"]), version=_version(record), customer=customer)


def _version(record: Mapping[str, Any]) -> str | None:
    return str(record.get("SyncToken", "")) or None


def _base_name(name: str) -> str:
    return name[: -len(DELETED_SUFFIX)] if name.endswith(DELETED_SUFFIX) else name


@dataclass(frozen=True)
class Step:
    """One write as one QBO operation: ``fields`` is the body without ``Id``/``SyncToken``."""

    index: int
    key: str
    entity: str
    operation: Operation
    fields: Mapping[str, Any]
    target_id: str | None = None
    version: str | None = None

    @property
    def needs_current(self) -> bool:
        """Whether the record must be read first: its version is unknown, or its state decides the write."""
        return self.operation == "reactivate" or (self.operation != "create" and self.version is None)


class QboLedger:
    provider = "qbo"
    title = "QuickBooks Online"
    max_doc_number = translate.MAX_DOC_NUMBER

    def __init__(self, client: QboClient, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._client = client
        self._now = now
        self._names: dict[str, dict[str, tuple[str, bool]]] = {}
        self._settings: LedgerSettings | None = None

    # -- reads ---------------------------------------------------------------------------------

    def display_name(self, contact: Contact) -> str:
        return translate.display_name(contact)

    def customers(self) -> list[LedgerCustomer]:
        rows = self._client.query_all("Customer", "Active IN (true, false)")
        return [translate.ledger_customer(row) for row in rows]

    def name_holders(self) -> dict[str, str]:
        holders: dict[str, str] = {}
        for entity, noun in (("Vendor", "vendor"), ("Employee", "employee")):
            for row in self._client.query_all(entity, "Active IN (true, false)"):
                holders.setdefault(fold(_base_name(str(row.get("DisplayName", "")))), noun)
        return holders

    def _name_index(self, entity: str) -> dict[str, tuple[str, bool]]:
        """Name and FullyQualifiedName → (Id, active) for a list named by ``Name`` (items, accounts)."""
        if entity not in self._names:
            index: dict[str, tuple[str, bool]] = {}
            for row in self._client.query_all(entity, "Active IN (true, false)"):
                entry = (str(row["Id"]), bool(row.get("Active", True)))
                for name in (row.get("FullyQualifiedName"), row.get("Name")):
                    if name:
                        current = index.get(_base_name(str(name)))
                        if current is None or (entry[1] and not current[1]):
                            index[_base_name(str(name))] = entry
            self._names[entity] = index
        return self._names[entity]

    def _missing(self, entity: str, names: Collection[str]) -> set[str]:
        index = self._name_index(entity)
        return {name for name in names if name not in index or not index[name][1]}

    def missing_items(self, names: Collection[str]) -> set[str]:
        return self._missing("Item", names)

    def missing_accounts(self, names: Collection[str]) -> set[str]:
        return self._missing("Account", names)

    def _item_ids(self) -> dict[str, str]:
        return {name: item_id for name, (item_id, _active) in self._name_index("Item").items()}

    def invoices_by_number(self, numbers: Iterable[str]) -> dict[str, LedgerInvoice]:
        wanted = sorted(set(numbers))
        found: dict[str, LedgerInvoice] = {}
        for start in range(0, len(wanted), IN_CHUNK):
            chunk = wanted[start : start + IN_CHUNK]
            literals = ", ".join(QboClient.quote(n) for n in chunk)
            for row in self._client.query_all("Invoice", f"DocNumber IN ({literals})"):
                number = str(row.get("DocNumber", ""))
                found.setdefault(
                    number,
                    LedgerInvoice(
                        id=str(row["Id"]),
                        number=number,
                        customer_id=str((row.get("CustomerRef") or {}).get("value", "")),
                        total=money(row.get("TotalAmt", Decimal(0))),
                        version=_version(row),
                        note=str(row.get("PrivateNote", "")),
                    ),
                )
        return found

    def find_customer(self, display_name: str) -> LedgerCustomer | None:
        for row in self._client.find_by_display_name("Customer", display_name):
            return translate.ledger_customer(row)
        return None

    def settings(self) -> LedgerSettings:
        """Numbering and tax settings, read once per pass (per ledger instance)."""
        if self._settings is None:
            preferences = self._client.preferences()
            company = self._client.company_info()
            codes: tuple[TaxCode, ...] = ()
            if not translate.is_us(company.get("Country")):
                # US lines use the TAX/NON pseudo codes (§2.7); only other companies name real codes.
                codes = translate.tax_codes(
                    self._client.query_all("TaxCode", "Active IN (true, false)"),
                    self._client.query_all("TaxRate", "Active IN (true, false)"),
                )
            self._settings = translate.ledger_settings(preferences, company, codes)
        return self._settings

    def changes(self, since: datetime, kinds: Collection[str]) -> LedgerChanges | None:
        """One change-data-capture read: customers, plus the records of ``kinds``; None if too far back."""
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        if since < self._now() - (CDC_LOOKBACK - CDC_MARGIN):
            return None
        rows = self._client.cdc(translate.cdc_entities(kinds), since)
        if sum(len(found) for found in rows.values()) >= MAX_CDC_OBJECTS:
            log.warning(
                "QuickBooks reported %d or more changes at once; the answer may be cut short", MAX_CDC_OBJECTS
            )
            return None
        return translate.ledger_changes(rows, kinds)

    # -- single writes -------------------------------------------------------------------------

    def create_customer(self, contact: Contact, *, key: str) -> Written:
        return _written(
            self._client.create("Customer", translate.customer_fields(contact), request_id=key), "Customer"
        )

    def update_customer(self, target_id: str, version: str | None, contact: Contact, *, key: str) -> Written:
        fields = translate.customer_fields(contact)
        return self._update_latest("Customer", target_id, version, lambda: fields, key)

    def reactivate_customer(self, target_id: str, *, key: str) -> Written:
        current = self._client.read("Customer", target_id)
        if current.get("Active", True):
            return _written(current, "Customer")
        body = {"Active": True, "DisplayName": _base_name(str(current.get("DisplayName", "")))}
        return self._update_latest("Customer", target_id, str(current.get("SyncToken")), lambda: body, key)

    def create_invoice(self, draft: InvoiceDraft, *, key: str) -> Written:
        body = translate.invoice_create_body(draft, self._item_ids(), key=key)
        return _written(self._client.create("Invoice", body, request_id=key), "Invoice")

    def update_invoice(
        self, target_id: str, version: str | None, draft: InvoiceDraft, *, key: str
    ) -> Written:
        fields = translate.invoice_fields(draft, self._item_ids())
        return self._update_latest("Invoice", target_id, version, lambda: fields, key)

    def _update_latest(
        self, entity: str, target_id: str, version: str | None, fields: Callable[[], dict[str, Any]], key: str
    ) -> Written:
        """Sparse update; on a stale SyncToken re-read once and apply again (Clio's side wins)."""
        if version is None:
            version = str(self._client.read(entity, target_id).get("SyncToken"))
        try:
            body = {"Id": target_id, "SyncToken": version, **fields()}
            return _written(self._client.update(entity, body, request_id=key), entity)
        except ConflictError:
            fresh = str(self._client.read(entity, target_id).get("SyncToken"))
            body = {"Id": target_id, "SyncToken": fresh, **fields()}
            return _written(self._client.update(entity, body, request_id=f"{key[:48]}-r"), entity)

    # -- batched writes ------------------------------------------------------------------------

    def write(self, writes: Sequence[LedgerWrite]) -> list[Written | ApiError]:
        """Carry out writes in input order, batched where QBO allows; one answer per write, in order."""
        planned = [self._step(index, w) for index, w in enumerate(writes)]
        current = self._current([s for s in planned if isinstance(s, Step) and s.needs_current])
        answers: dict[int, Answer] = {}
        for segment in segments(writes):
            ready: dict[int, Step] = {}
            for index in segment:
                step = self._ready(planned[index], current)
                if isinstance(step, Step):
                    ready[index] = step
                else:
                    answers[index] = step
            if writes[segment[0]].op == "void":
                answers.update({index: self._void(step) for index, step in ready.items()})
            else:
                answers.update(self._send([writes[index].key for index in segment], segment, ready))
        return [answers[index] for index in range(len(writes))]

    def _step(self, index: int, w: LedgerWrite) -> Step | ApiError:
        """The QBO operation for one write; refuses an op/kind pair ledgerlink never plans."""
        entity = ENTITY.get(w.kind)
        if entity is None:
            raise ValueError(f"QuickBooks cannot write a {w.kind!r}")
        step = Step(index, w.key, entity, "create", {}, w.target_id, w.version)
        if w.op != "create" and not w.target_id:
            raise ValueError(f"a {w.op} of a {w.kind} needs the ledger record's id")
        if w.op == "delete" and w.kind != "contact":
            return replace(step, operation="delete")
        if w.op == "void" and w.kind == "invoice":
            return replace(step, operation="void")
        if w.op == "link" and w.kind == "contact":
            return replace(step, operation="reactivate")
        if w.op not in ("create", "update", "link"):
            raise ValueError(f"QuickBooks cannot {w.op} a {w.kind}")
        operation: Operation = "create" if w.op == "create" else "update"
        fields = self._fields(w, create=operation == "create")
        return fields if isinstance(fields, ApiError) else replace(step, operation=operation, fields=fields)

    def _fields(self, w: LedgerWrite, *, create: bool) -> dict[str, Any] | ApiError:
        """The body of a create (with the intent marker where QBO keeps one) or of a sparse update."""
        payload = w.payload
        if isinstance(payload, Contact) and w.kind == "contact":
            return translate.customer_fields(payload)
        if isinstance(payload, InvoiceDraft) and w.kind == "invoice":
            self.settings()  # known before writing: the answers carry the tax QBO computed
            items = self._resolve("Item", {m.item for m in payload.lines})
            if create:
                return translate.invoice_create_body(payload, items, key=w.key)
            return translate.invoice_fields(payload, items)
        if isinstance(payload, PaymentDraft) and w.kind == "payment":
            account = None
            if payload.deposit_account is not None:
                account = self._resolve("Account", {payload.deposit_account})[payload.deposit_account]
            if create:
                return translate.payment_create_body(payload, account, key=w.key)
            return translate.payment_fields(payload, account)
        if isinstance(payload, CreditNoteDraft) and w.kind == "credit_note":
            item = self._resolve("Item", {payload.item})[payload.item]
            tax_code = self._credit_tax_code()
            if isinstance(tax_code, ApiError):
                return tax_code
            if create:
                return translate.credit_memo_create_body(payload, item, tax_code, key=w.key)
            return translate.credit_memo_fields(payload, item, tax_code)
        if isinstance(payload, CreditApplicationDraft) and w.kind == "credit_application":
            if create:
                return translate.credit_application_create_body(payload, key=w.key)
            return translate.credit_application_fields(payload)
        raise ValueError(f"a {w.kind} write cannot carry a {type(payload).__name__}")

    def _resolve(self, entity: str, names: Collection[str]) -> dict[str, str]:
        """Ids of the named items or accounts; a name the company lacks stops the pass."""
        index = self._name_index(entity)
        unknown = sorted(name for name in names if name not in index)
        if unknown:
            noun = "Product/Service" if entity == "Item" else "account"
            raise MappingMissingError(
                f"QuickBooks has no {noun} named {', '.join(repr(n) for n in unknown)}",
                remedy=f"Create the {noun} in QuickBooks or change the mapping in the config.",
            )
        return {name: index[name][0] for name in names}

    def _credit_tax_code(self) -> str | ApiError | None:
        settings = self.settings()
        if not settings.computes_tax:
            return None
        zero = translate.zero_rate_code(settings.tax_codes)
        if zero is not None:
            return zero.id
        return ValidationError(
            "This QuickBooks company computes sales tax and has no tax code that charges 0%, "
            "which a credit note's line needs",
            status=0,
            code=NO_ZERO_TAX_CODE,
        )

    def _current(self, steps: Sequence[Step]) -> dict[tuple[str, str], dict[str, Any] | ApiError]:
        """The current record behind each step that needs it: one query per entity, reads for the rest."""
        wanted: dict[str, list[str]] = {}
        for step in steps:
            if step.target_id is not None and step.target_id not in wanted.setdefault(step.entity, []):
                wanted[step.entity].append(step.target_id)
        found: dict[tuple[str, str], dict[str, Any] | ApiError] = {}
        for entity, ids in wanted.items():
            for start in range(0, len(ids), IN_CHUNK):
                literals = ", ".join(QboClient.quote(i) for i in ids[start : start + IN_CHUNK])
                active = " AND Active IN (true, false)" if entity == "Customer" else ""
                for row in self._client.query_all(entity, f"Id IN ({literals}){active}"):
                    found[(entity, str(row["Id"]))] = row
            for record_id in ids:
                if (entity, record_id) not in found:  # gone: let QBO say so (610) in its own words
                    found[(entity, record_id)] = self._guarded(partial(self._client.read, entity, record_id))
        return found

    def _ready(
        self, step: Step | ApiError, current: Mapping[tuple[str, str], dict[str, Any] | ApiError]
    ) -> Step | Answer:
        """The step with the version it must carry, or its answer when nothing is left to send."""
        if isinstance(step, ApiError) or not step.needs_current or step.target_id is None:
            return step
        record = current[(step.entity, step.target_id)]
        if isinstance(record, ApiError):
            return record
        if step.operation == "reactivate":
            if record.get("Active", True) is True:
                return _written(record, step.entity)
            fields = {"Active": True, "DisplayName": _base_name(str(record.get("DisplayName", "")))}
            return replace(step, version=_version(record), fields=fields)
        return replace(step, version=_version(record))

    def _send(
        self, keys: Sequence[str], segment: Sequence[int], ready: Mapping[int, Step]
    ) -> dict[int, Answer]:
        """One ``/batch`` call for a segment's steps still to send; stale items are retried alone, once.

        The requestid and the bIds come from the whole segment, whatever is left to send in it: a
        repeated call then names the same batch and gets its first answers back (§3.1, §4).
        """
        steps = {f"b{position}": ready[index] for position, index in enumerate(segment) if index in ready}
        if not steps:
            return {}
        items = [self._batch_item(bid, step) for bid, step in steps.items()]
        results = self._client.batch(items, request_id=translate.batch_request_id(keys))
        answers: dict[int, Answer] = {}
        for result in results:
            step = steps[result.bid]
            if isinstance(result.error, ConflictError) and step.operation != "create":
                answers[step.index] = self._retry_stale(step)
            elif result.error is not None:
                answers[step.index] = result.error
            elif result.record is None:
                answers[step.index] = ApiError(
                    f"QuickBooks answered batch item {result.bid} without a record", status=200
                )
            else:
                answers[step.index] = self._answer(step, result.record)
        return answers

    @staticmethod
    def _batch_item(bid: str, step: Step) -> BatchItem:
        if step.operation == "create":
            return BatchItem.create(bid, step.entity, step.fields)
        if step.target_id is None or step.version is None:
            raise ValueError(f"a {step.operation} needs the record's id and version")
        if step.operation == "delete":
            return BatchItem.delete(bid, step.entity, step.target_id, step.version)
        return BatchItem.update(
            bid, step.entity, {"Id": step.target_id, "SyncToken": step.version, **step.fields}
        )

    def _void(self, step: Step) -> Answer:
        assert step.target_id is not None and step.version is not None
        target, version = step.target_id, step.version
        try:
            return self._answer(step, self._client.void_invoice(target, version, request_id=step.key))
        except ConflictError:
            return self._retry_stale(step)
        except RateLimitedError:
            raise
        except ApiError as error:
            return error

    def _retry_stale(self, step: Step) -> Answer:
        """Re-read a record that changed under us and send the same change again, alone (Clio wins)."""
        assert step.target_id is not None
        target, request_id = step.target_id, f"{step.key[:48]}-r"

        def again() -> Written:
            fresh = self._client.read(step.entity, target)
            version = str(fresh.get("SyncToken"))
            if step.operation == "delete":
                self._client.delete(step.entity, target, version, request_id=request_id)
                return Written(id=target, version=None)
            if step.operation == "void":
                return self._answer(step, self._client.void_invoice(target, version, request_id=request_id))
            fields = dict(step.fields)
            if step.operation == "reactivate":
                if fresh.get("Active", True) is True:
                    return _written(fresh, step.entity)
                fields["DisplayName"] = _base_name(str(fresh.get("DisplayName", "")))
            body = {"Id": target, "SyncToken": version, **fields}
            return self._answer(step, self._client.update(step.entity, body, request_id=request_id))

        return self._guarded(again)

    @staticmethod
    def _guarded(call: Callable[[], T]) -> T | ApiError:
        """``call()``, or the ApiError QBO answered; a rate limit still stops the whole write."""
        try:
            return call()
        except RateLimitedError:
            raise
        except ApiError as error:
            return error

    def _answer(self, step: Step, record: Mapping[str, Any]) -> Written:
        if step.operation == "delete":
            return Written(id=str(record.get("Id") or step.target_id), version=None)
        written = _written(record, step.entity)
        if (
            step.entity == "Invoice"
            and step.operation in ("create", "update")
            and self.settings().computes_tax
        ):
            return replace(written, tax=translate.computed_tax(record))
        return written

    # -- errors --------------------------------------------------------------------------------

    def explain(self, error: ApiError, *, label: str) -> RecordError:
        code = error.code or ""
        qbo = f"QuickBooks said: {error}"
        text = f"{error.message} {error.detail or ''}".casefold()
        known: dict[str, tuple[str, str, bool]] = {
            "6240": (
                "duplicate_name",
                "Rename the contact in Clio, or the other customer/vendor/employee in QBO.",
                False,
            ),
            "6140": (
                "duplicate_number",
                "Renumber the bill in Clio, or the other transaction in QBO "
                "(turn on Custom transaction numbers in QBO's sales settings).",
                False,
            ),
            "610": (
                "inactive_reference",
                "Make the customer or Product/Service active again in QBO, or change the mapping.",
                True,
            ),
            "2050": ("too_long", "Shorten the field named above in Clio.", False),
            "6070": (
                "amount_mismatch",
                "Report this bill: a line's amount and rate × quantity disagree.",
                False,
            ),
            "6210": (
                "period_closed",
                "The QBO books are closed for this date: move the closing date or change the bill's date.",
                False,
            ),
            "6190": ("company_inactive", "The QBO subscription is not active: renew it.", True),
            "620": (
                "other_customers_invoice",
                "QBO will not link this to the invoice: it belongs to another customer there. Give the "
                "payment and its bills the same client in Clio, or move the invoice back to that customer "
                "in QBO; ledgerlink retries it next pass.",
                True,
            ),
            "6540": (
                "deposited",
                "The payment is part of a bank deposit in QBO, which cannot change: un-deposit it in QBO "
                "or leave it (to un-deposit, edit the deposit in QBO and remove the payment from it).",
                False,
            ),
            "2500": (
                "invalid_reference",
                "A record or account it refers to does not exist in QBO: check the mapping in the config.",
                False,
            ),
            NO_ZERO_TAX_CODE: (
                "no_zero_tax_code",
                "Add a 0% tax code in QBO (e.g. Exempt or Zero-rated) for credit notes; ledgerlink "
                "retries them next pass.",
                True,
            ),
        }
        if code == "610" and "deleted" in text:
            known["610"] = (
                "linked_record_deleted",
                "A transaction it applies to was deleted in QBO. ledgerlink re-creates Clio's records "
                "there on a later pass; if this stays, check the invoice or credit note in QBO.",
                True,
            )
        if code == "2500" and "tax" in text:
            known["2500"] = (
                "invalid_tax_code",
                "A tax code in [mapping.tax_codes] does not exist in QBO (or is inactive): map Clio's "
                "taxes to codes listed in QBO's sales tax settings.",
                False,
            )
        if code == "6000":
            known["6000"] = _business_rule(text)
        cause, remedy, retryable = known.get(
            code,
            ("api_rejected", "Fix the record as the message says; ledgerlink retries it next pass.", True),
        )
        return RecordError(cause=cause, message=qbo, remedy=remedy, retryable=retryable)


def segments(writes: Sequence[LedgerWrite]) -> list[list[int]]:
    """Input positions grouped as sent: batches of at most 30 in order, each invoice void alone.

    Derived from the writes only (never from what a read found), so the same writes always form
    the same batches under the same requestids.
    """
    groups: list[list[int]] = []
    batch: list[int] = []
    for index, w in enumerate(writes):
        if w.op == "void":
            groups.extend([batch, [index]] if batch else [[index]])
            batch = []
            continue
        batch.append(index)
        if len(batch) == MAX_BATCH_ITEMS:
            groups.append(batch)
            batch = []
    return [*groups, batch] if batch else groups


_APPLICATION_WORDS = ("appl", "link", "exceed", "more than", "balance", "credit")


def _business_rule(text: str) -> tuple[str, str, bool]:
    """QBO's generic 6000: say more when it is about applying a payment or credit (the usual case)."""
    if any(word in text for word in _APPLICATION_WORDS):
        return (
            "over_applied",
            "QBO refuses because of what is applied in QBO: the amount is more than is open on the "
            "invoice (or left on the credit), or payments or credits are still applied to the record. "
            "Look in QBO for payments or credits entered on that invoice by hand and remove them; "
            "ledgerlink retries it next pass.",
            True,
        )
    return (
        "business_rule",
        "QBO refused it for the reason given above: fix the record in Clio (or the QBO setting it "
        "names); ledgerlink retries it next pass.",
        True,
    )
