"""QuickBooks Online as a :class:`ledgerlink.sync.ports.Ledger`.

Reads for matching (customers incl. inactive, vendor/employee names, items, accounts, invoices by
number), the company's settings, change data capture, the trust books; writes through ``/batch``
with the intent keys as ``requestid``; and QBO faults turned into causes and remedies a
bookkeeper can act on.

:meth:`QboLedger.write` turns every write into a QBO step (entity, operation, body) before anything
is sent: a mapped Product/Service or account missing from the company stops the pass
(MappingMissingError). :mod:`ledgerlink.providers.qbo.writes` carries the steps out.

Assumptions:

- A "link" of an invoice, payment, credit note, credit application, trust posting or cheque makes
  the adopted record equal to Clio's, like an update; a "link" of a contact reactivates the
  customer (QBO keeps inactive customers, §1.5) and changes nothing else.
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
- An update of a trust posting or cheque leaves its PrivateNote alone: the marker of the write
  that created it stays, and the memo's current text travels in the lines' Description.
- The trust books are read from JournalEntry, Purchase and Payment (deposits) dated on or before
  the day asked; Deposit and Transfer records are not read (ledgerlink writes neither), so trust
  money moved by hand with those in QBO is not counted. A customer whose trust postings net to
  zero has no entry in ``by_customer``.
- An inactive account may be read back with QBO's " (deleted)" after its name, like the name
  lists (§1.5): :meth:`QboLedger.accounts` asks for both spellings.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from ledgerlink.domain import Contact, money
from ledgerlink.errors import (
    ApiError,
    ConflictError,
    MappingMissingError,
    RecordError,
    ValidationError,
)
from ledgerlink.providers.qbo import timesheet, translate
from ledgerlink.providers.qbo.client import MAX_CDC_OBJECTS, TYPOGRAPHIC_APOSTROPHE, QboClient
from ledgerlink.providers.qbo.wire import INACTIVE_SUFFIX, bare_name
from ledgerlink.providers.qbo.writes import CHEQUE_PRINTED, Operation, Step, StepRunner, version_of, written
from ledgerlink.sync.payroll_ports import LedgerEmployee, TimeActivityDraft
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    LedgerAccount,
    LedgerChanges,
    LedgerCustomer,
    LedgerInvoice,
    LedgerSettings,
    LedgerWrite,
    PaymentDraft,
    TaxCode,
    TrustBooks,
    TrustChequeDraft,
    TrustPostingDraft,
    Written,
    fold,
)

log = logging.getLogger("ledgerlink.qbo")

CDC_LOOKBACK = timedelta(days=30)  # §3.2
CDC_MARGIN = timedelta(hours=1)  # clocks differ; never ask for the very edge of the window
NO_ZERO_TAX_CODE = "NO_ZERO_TAX_CODE"
TRUST_BOOK_ENTITIES = ("JournalEntry", "Purchase", "Payment")


class QboLedger:
    provider = "qbo"
    title = "QuickBooks Online"
    max_doc_number = translate.MAX_DOC_NUMBER
    mapping_noun = "Product/Service"
    batch_size = 30  # a /batch request's limit (reference/qbo.md §3.1; QboClient's MAX_BATCH_ITEMS)
    name_clash_help = ""

    def __init__(self, client: QboClient, *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._client = client
        self._now = now
        self._names: dict[str, dict[str, tuple[str, bool]]] = {}
        self._settings: LedgerSettings | None = None
        self._runner = StepRunner(client, computes_tax=lambda: self.settings().computes_tax)

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
                holders.setdefault(fold(bare_name(str(row.get("DisplayName", "")))), noun)
        return holders

    def customers_with_company(self) -> list[tuple[LedgerCustomer, str | None, bool]]:
        """Every customer (active and inactive) with its CompanyName and whether it is a sub-customer
        (a job): what a customer import needs to tell a company from a person."""
        rows = self._client.query_all("Customer", "Active IN (true, false)")
        return [
            (
                translate.ledger_customer(row),
                str(row.get("CompanyName") or "").strip() or None,
                bool(row.get("Job")),
            )
            for row in rows
        ]

    def customer_invoice_ids(self, customer_id: str) -> list[str]:
        """Ids of the invoices made out to one customer (for `links show`)."""
        rows = self._client.query_all("Invoice", f"CustomerRef = '{int(customer_id)}'")
        return [str(row["Id"]) for row in rows]

    def employees(self) -> list[LedgerEmployee]:
        """Every employee, active and inactive (matched to Clio users by name and e-mail)."""
        rows = self._client.query_all("Employee", "Active IN (true, false)")
        return [timesheet.ledger_employee(row) for row in rows]

    def find_marked_time(self, wanted: Mapping[str, date]) -> dict[str, Written]:
        """TimeActivities an unfinished write may have created: intent key → record, one query per day.

        TimeActivity has no PrivateNote, so the marker is looked for in its Description.
        """
        days: dict[date, list[str]] = {}
        for key, day in wanted.items():
            days.setdefault(day, []).append(key)
        found: dict[str, Written] = {}
        for day, keys in sorted(days.items()):
            rows = self._client.query_all(timesheet.ENTITY, f"TxnDate = {QboClient.quote(day.isoformat())}")
            found.update(timesheet.marked_time_activities(rows, keys))
        return found

    def _name_index(self, entity: str) -> dict[str, tuple[str, bool]]:
        """Name and FullyQualifiedName → (Id, active) for a list named by ``Name`` (items, accounts)."""
        if entity not in self._names:
            index: dict[str, tuple[str, bool]] = {}
            for row in self._client.query_all(entity, "Active IN (true, false)"):
                entry = (str(row["Id"]), bool(row.get("Active", True)))
                for name in (row.get("FullyQualifiedName"), row.get("Name")):
                    if name:
                        current = index.get(bare_name(str(name)))
                        if current is None or (entry[1] and not current[1]):
                            index[bare_name(str(name))] = entry
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
        found: dict[str, LedgerInvoice] = {}
        for row in self._client.query_in("Invoice", "DocNumber", sorted(set(numbers))):
            number = str(row.get("DocNumber", ""))
            found.setdefault(
                number,
                LedgerInvoice(
                    id=str(row["Id"]),
                    number=number,
                    customer_id=str((row.get("CustomerRef") or {}).get("value", "")),
                    total=money(row.get("TotalAmt", Decimal(0))),
                    version=version_of(row),
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

    # -- trust -----------------------------------------------------------------------------------

    def accounts(self, names: Collection[str]) -> dict[str, LedgerAccount]:
        """The accounts with these names, active or not, by the name asked for (one query)."""
        wanted = {fold(name): name for name in names}
        plain = [n for n in wanted.values() if TYPOGRAPHIC_APOSTROPHE not in n]
        spellings = [spelling for name in plain for spelling in (name, name + INACTIVE_SUFFIX)]
        rows = self._client.query_in("Account", "Name", spellings, where="Active IN (true, false)")
        for name in wanted.values():
            if name not in plain:  # U+2019 cannot be queried with IN: QBO's lexer refuses it (§1.6)
                rows.extend(self._client.find_by_display_name("Account", name))
        found: dict[str, LedgerAccount] = {}
        for account in map(translate.ledger_account, rows):
            asked = wanted.get(fold(account.name))
            if asked is not None and (asked not in found or (account.active and not found[asked].active)):
                found[asked] = account
        return found

    def vendors(self) -> dict[str, str]:
        """Active vendors: folded display name → id (the first by Id when two fold alike)."""
        found: dict[str, str] = {}
        for row in self._client.query_all("Vendor"):
            found.setdefault(fold(bare_name(str(row.get("DisplayName", "")))), str(row["Id"]))
        return found

    def trust_books(self, bank_account: str, liability_account: str, as_of: date) -> TrustBooks:
        """Balances of a trust bank/liability pair from QBO's transactions dated on or before ``as_of``."""
        ids = self._resolve("Account", {bank_account, liability_account})
        dated = f"TxnDate <= {QboClient.quote(as_of.isoformat())}"
        rows = {entity: self._client.query_all(entity, dated) for entity in TRUST_BOOK_ENTITIES}
        return translate.trust_books(
            ids[bank_account], ids[liability_account], rows["JournalEntry"], rows["Purchase"], rows["Payment"]
        )

    def find_marked(self, kind: str, wanted: Mapping[str, date]) -> dict[str, Written]:
        """Records of ``kind`` carrying a wanted key's marker, dated that key's day: one query per day."""
        entity = translate.ENTITY.get(kind)
        if entity is None or entity == "Customer":
            raise ValueError(f"QuickBooks cannot look up {kind!r} records by date and marker")
        days: dict[date, list[str]] = {}
        for key, day in wanted.items():
            days.setdefault(day, []).append(key)
        found: dict[str, Written] = {}
        for day, keys in sorted(days.items()):
            rows = self._client.query_all(entity, f"TxnDate = {QboClient.quote(day.isoformat())}")
            found.update(translate.marked_records(rows, keys))
        return found

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

    # -- hard-cost import: purchases read incrementally, deletions from change data capture --------

    def purchases_updated_since(self, since: datetime) -> list[dict[str, Any]]:
        """Purchases changed at or after ``since`` (QBO cannot filter them by account or customer)."""
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        stamp = QboClient.quote(since.isoformat(timespec="seconds"))
        return self._client.query_all("Purchase", f"MetaData.LastUpdatedTime >= {stamp}")

    def purchases_dated_from(self, day: date) -> list[dict[str, Any]]:
        """Every purchase dated on or after ``day`` (a first read, or one too far back for CDC)."""
        return self._client.query_all("Purchase", f"TxnDate >= {QboClient.quote(day.isoformat())}")

    def purchases_by_id(self, ids: Collection[str]) -> list[dict[str, Any]]:
        """The purchases with these ids that still exist."""
        return self._client.query_in("Purchase", "Id", sorted(ids)) if ids else []

    def deleted_purchases(self, since: datetime) -> set[str] | None:
        """Ids of purchases deleted after ``since`` (CDC, §3.2); None when CDC cannot answer for sure."""
        since = since if since.tzinfo is not None else since.replace(tzinfo=UTC)
        if since < self._now() - (CDC_LOOKBACK - CDC_MARGIN):
            return None
        rows = self._client.cdc(["Purchase"], since).get("Purchase", [])
        if len(rows) >= MAX_CDC_OBJECTS:
            return None
        return {str(row["Id"]) for row in rows if row.get("status") == "Deleted"}

    def purchase_preferences(self) -> dict[str, Any]:
        """``VendorAndPurchasesPrefs`` (TrackingByCustomer, BillableExpenseTracking), for `doctor`."""
        prefs = self._client.preferences().get("VendorAndPurchasesPrefs")
        return dict(prefs) if isinstance(prefs, dict) else {}

    # -- single writes -------------------------------------------------------------------------

    def create_customer(self, contact: Contact, *, key: str) -> Written:
        return written(
            self._client.create("Customer", translate.customer_fields(contact), request_id=key), "Customer"
        )

    def update_customer(self, target_id: str, version: str | None, contact: Contact, *, key: str) -> Written:
        fields = translate.customer_fields(contact)
        return self._update_latest("Customer", target_id, version, lambda: fields, key)

    def reactivate_customer(self, target_id: str, *, key: str) -> Written:
        current = self._client.read("Customer", target_id)
        if current.get("Active", True):
            return written(current, "Customer")
        body = {"Active": True, "DisplayName": bare_name(str(current.get("DisplayName", "")))}
        return self._update_latest("Customer", target_id, str(current.get("SyncToken")), lambda: body, key)

    def create_invoice(self, draft: InvoiceDraft, *, key: str) -> Written:
        body = translate.invoice_create_body(draft, self._item_ids(), key=key)
        return written(self._client.create("Invoice", body, request_id=key), "Invoice")

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
            return written(self._client.update(entity, body, request_id=key), entity)
        except ConflictError:
            fresh = str(self._client.read(entity, target_id).get("SyncToken"))
            body = {"Id": target_id, "SyncToken": fresh, **fields()}
            return written(self._client.update(entity, body, request_id=f"{key[:48]}-r"), entity)

    # -- batched writes ------------------------------------------------------------------------

    def write(self, writes: Sequence[LedgerWrite]) -> list[Written | ApiError]:
        """Carry out writes in input order, batched where QBO allows; one answer per write, in order."""
        return self._runner.run(writes, [self._step(index, w) for index, w in enumerate(writes)])

    def _step(self, index: int, w: LedgerWrite) -> Step | ApiError:
        """The QBO operation for one write; refuses an op/kind pair ledgerlink never plans."""
        entity = translate.ENTITY.get(w.kind)
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
        if isinstance(payload, TrustPostingDraft) and w.kind == "trust_posting":
            bank, liability = self._trust_accounts(payload.bank_account, payload.liability_account)
            if create:
                return translate.journal_entry_create_body(payload, bank, liability, key=w.key)
            return translate.journal_entry_fields(payload, bank, liability)
        if isinstance(payload, TrustChequeDraft) and w.kind == "trust_cheque":
            bank, liability = self._trust_accounts(payload.bank_account, payload.liability_account)
            if create:
                return translate.cheque_create_body(payload, bank, liability, key=w.key)
            return translate.cheque_fields(payload, bank, liability)
        if isinstance(payload, TimeActivityDraft) and w.kind == "time_activity":
            item = self._resolve("Item", {payload.item})[payload.item]
            if create:
                return timesheet.time_activity_create_body(payload, item, key=w.key)
            return timesheet.time_activity_fields(payload, item)
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

    def _trust_accounts(self, bank: str, liability: str) -> tuple[str, str]:
        ids = self._resolve("Account", {bank, liability})
        return ids[bank], ids[liability]

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
            CHEQUE_PRINTED: (
                "cheque_printed",
                "void the cheque in QuickBooks Online and record the correction in Clio as a new transaction",
                False,
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
        trust = _trust_rule(text) if code == "6000" or code not in known else None
        if trust is not None:
            known[code] = trust
        elif code == "6000":
            known["6000"] = _business_rule(text)
        cause, remedy, retryable = known.get(
            code,
            ("api_rejected", "Fix the record as the message says; ledgerlink retries it next pass.", True),
        )
        return RecordError(cause=cause, message=qbo, remedy=remedy, retryable=retryable)

    # -- what `ledgerlink doctor` reads ----------------------------------------------------------

    def products_and_services(self) -> list[ListEntry]:
        """Every Product/Service, active or not, with its type (one paged read)."""
        return [_list_entry(row, "Type") for row in self._client.query_all("Item", "Active IN (true, false)")]

    def chart_of_accounts(self) -> list[ListEntry]:
        """Every account, active or not, with its type and detail type (one paged read)."""
        rows = self._client.query_all("Account", "Active IN (true, false)")
        return [_list_entry(row, "AccountType", "AccountSubType") for row in rows]

    def invoice_numbers(self) -> dict[str, str]:
        """Every invoice's number by its Id (invoices without a number are left out).

        The query language has no projections (§1.6), so this reads whole invoices, 1000 a page.
        """
        rows = self._client.query_all("Invoice")
        return {str(row["Id"]): str(row["DocNumber"]) for row in rows if row.get("DocNumber")}


_UNBALANCED_WORDS = ("not balanced", "unbalanced", "out of balance", "debits and credits", "must balance")
_ACCOUNT_TYPE_WORDS = ("account type", "type of account", "bank account", "credit card account")
_ENTITY_WORDS = ("must choose a", "must select a", "requires a customer", "requires a vendor", "entity")


def _trust_rule(text: str) -> tuple[str, str, bool] | None:
    """QBO refusals a trust posting or cheque meets: unbalanced, wrong account type, missing name."""
    if any(words in text for words in _UNBALANCED_WORDS):
        return (
            "unbalanced_entry",
            "QBO refused a journal entry whose debits and credits differ. ledgerlink always sends both "
            "sides of a trust posting: report this with the message above.",
            False,
        )
    if any(words in text for words in _ACCOUNT_TYPE_WORDS):
        return (
            "wrong_account_type",
            "An account of the wrong type was used (a cheque must be paid from a Bank account). Check "
            "[[trust.accounts]] in the config names the trust bank (Bank, detail type Trust Account) and "
            "the trust liability (Other Current Liabilities, Trust Accounts - Liabilities) in QBO; "
            "ledgerlink retries it next pass.",
            True,
        )
    if any(words in text for words in _ENTITY_WORDS):
        return (
            "missing_entity",
            "QBO needs a customer or vendor on a line posting to Accounts Receivable or Accounts Payable, "
            "or the named customer or vendor does not exist there. Check [[trust.accounts]] in the config "
            "names the trust accounts (never A/R or A/P) and that the client reached QBO; ledgerlink "
            "retries it next pass.",
            True,
        )
    return None


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


@dataclass(frozen=True)
class ListEntry:
    """A Product/Service or an account as the company lists it, for checking a mapping against."""

    id: str
    name: str  # ``Name`` without QBO's " (deleted)"
    full_name: str  # ``FullyQualifiedName`` ("Parent:Child" for a sub-item or sub-account)
    type: str  # an item's ``Type`` (Service, Category…) or an account's ``AccountType``
    detail_type: str | None
    active: bool


def _list_entry(row: Mapping[str, Any], type_field: str, detail_field: str | None = None) -> ListEntry:
    name = bare_name(str(row.get("Name", "")))
    detail = row.get(detail_field) if detail_field else None
    return ListEntry(
        id=str(row["Id"]),
        name=name,
        full_name=bare_name(str(row.get("FullyQualifiedName") or name)),
        type=str(row.get(type_field) or ""),
        detail_type=str(detail) if detail else None,
        active=bool(row.get("Active", True)),
    )
