"""Clio Manage API v4 emulator: the firm's contacts, matters, activities and bills over real HTTP.

Mounted by the sandbox server at ``/clio/api/v4``. As strict as ``reference/clio.md`` says Clio
is: ``fields=`` selection (:mod:`.clio_fields`), cursor and offset paging and filters
(:mod:`.clio_http`), ``X-API-VERSION``, per-token rate limits with ``X-RateLimit-*`` headers,
ETags, Clio's two error body shapes. Time is ``state.clock``; money is ``Decimal`` and every
amount follows :mod:`.clio_records`.

Assumptions (where the reference is silent; each is the strict reading):

- Unknown query parameters are a 400 (Clio's handling is undocumented; rejecting them catches a
  client that misspells a filter and would otherwise read everything). Documented parameters,
  fields and body attributes the sandbox does not emulate are a 400 that says so.
- ``updated_since``/``created_since`` must carry a UTC offset; naive timestamps are a 400.
- ``issued_after``/``issued_before`` are strict ("after" / "before" the given date).
- An absent ``order`` is ``id(asc)``, so cursor paging is the default; any other order, or an
  ``offset``, selects offset paging.
- Error ``type`` names other than ``ArgumentError`` are invented: ``InvalidVersion`` (410),
  ``RateLimited`` (429), ``RecordNotFound`` (404), ``PreconditionFailed`` (412),
  ``RecordInvalid`` (422), ``NotFound`` (unknown path), ``MethodNotAllowed`` (405).
- A 401 carries no rate-limit headers (no token to count against); 410 and errors after the
  rate check do. ``X-API-VERSION`` is echoed on successful responses only.
- Every 4.0.0–4.0.13 version is served with 4.0.13 semantics (activity ``quantity`` in seconds).
- ``who_am_i`` is the account owner: sandbox tokens do not name a user.
- ``POST /contacts.json`` requires ``type`` and ``name`` (the schema's required fields; a blank
  one is a 422 ``RecordInvalid``) and validates the rest like a PATCH of an empty contact (a
  Person needs a first or last name, reference §3.2); it answers 201 with the new contact.
- Timestamps are rendered in the firm's time zone (America/New_York) with their offset.
- Ids come from a separate range per resource, so an id used for the wrong kind is a 404.
- Allocations: without ``status`` the list holds valid and voided allocations alike;
  ``status=valid`` only the valid ones, ``status=invalid`` only the voided ones. The spec
  documents ``status`` as a filter with no default (it names the defaults it has, e.g. ``order``'s
  ``date(asc)``), and the reference's allocations delta (clio.md §8) sends none. The spec types
  ``parent_type`` as an integer without saying which number means what; the sandbox takes the
  parent type's name (``Payment`` or ``CreditMemo``) and anything else is a 400, so a client is
  better off filtering on ``parent{type}`` itself. ``parent`` renders ``{id, type}``; its
  ``identifier`` fields are not emulated (a 400).
- A payment's allocations carry the account it came out of and the one it went into: a payment
  from trust has ``source_bank_account`` = the firm's Trust account; any other payment has no
  source account. Both go into the Operating account. Credit memo allocations have neither.
  (The reference marks this reading of the two links UNVERIFIED.)
- Editing a payment changes its allocations in place (same ids; only the changed ones get a new
  ``updated_at``/``etag``); deleting it voids every allocation (``voided_at`` set, ``updated_at``
  bumped). Voiding a credit memo does the same to the memo and its allocations.
- A payment's reference is kept but not served: no v4 path returns a Payment, and an
  allocation does not carry its parent's reference.
- Deleting or voiding a bill (``delete_bill``/``void_bill``) is refused while any valid payment
  or credit is applied to it, credits included (the spec says "no payments recorded").

Assumptions about trust accounting (Clio documents none of this; reference §3.10 says the
``type``/``transaction_type`` values are undocumented). This is the emulator's own copy: the
client's reading lives in ``providers/clio/trust_kinds.py`` and is not imported here.

- How each movement is encoded (``amount`` is signed: positive in, negative out;
  ``funds_in``/``funds_out`` hold its size on their side, the other is 0):
  a deposit is ``transaction_type`` "Deposit" (funds in); a disbursement "Withdrawal" (funds
  out); a matter-to-matter transfer is TWO transactions in the same account, both "Transfer",
  one funds out of the paying client/matter and one funds in to the receiving one; a payment
  to a trust request is "Payment", funds in, with nested ``bill`` = the trust request (a bill of
  kind ``trust_kind``) and ``allocation`` = the allocation the payment made; a revenue bill paid
  from trust is "Payment", funds out, with nested ``bill`` (the revenue bill) and ``allocation``.
- A payment split over several bills makes one bank transaction per allocation (a transaction
  names one bill and one allocation). Only trust accounts get bank transactions: a payment into
  the Operating account makes none, so an operating account's ``balance`` stays 0.
- A payment to a trust request is a Payment whose allocation goes into the Trust account
  (``destination_bank_account`` = Trust, no source account).
- ``current_account_balance`` is the account's running balance after the transaction in ledger
  order (date, then id); it is recomputed on every change without bumping the other
  transactions' ``etag``/``updated_at``. A bank account's ``balance`` and
  ``bank_transactions_count`` follow its transactions, and each change bumps the account.
- Clio refuses a movement that would take a client's funds in a trust account below zero at
  any point of that order (a disbursement, transfer-out, bill payment from trust, or an edit or
  deletion that removes funds): :class:`TrustOverdraft`, Clio's 422 ``RecordInvalid`` (message
  text invented).
- A transaction made by a payment is changed through the payment (``edit_payment``,
  ``delete_payment``), not directly. Editing the amount or date of one leg of a transfer
  changes both legs; deleting one deletes both. A deleted transaction is gone: absent from
  lists, 404 by id (no tombstone, reference §6.10).
- ``type`` and ``source`` of a bank transaction are not emulated (a 400 when asked for), nor
  the ``type``/``unreconciled_only`` filters; a bank account's ``status`` (opened|closed) is
  kept but not served as a field (the schema has none). Trust requests are read through
  ``/bills.json?type=trust``; their amount is kept on the bill (no trust line items served).
- No write path for bank transactions or trust requests is served (the Python API creates
  them); the 422 is what the Python API raises.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import itertools
import json
import math
import re
import threading
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ledgerlink.sandbox.clio_activities import activity_changes, billed_refusal
from ledgerlink.sandbox.clio_fields import SCHEMAS, parse_fields, render
from ledgerlink.sandbox.clio_http import (
    COMMON_LIST_PARAMS,
    DEFAULT_VERSION,
    FIRM_TZ,
    INVALID_TOKEN_BODY,
    LISTINGS,
    SHOWABLE,
    SUPPORTED_VERSIONS,
    ClioHttpError,
    Listing,
    ListQuery,
    Page,
    bad_request,
    contact_changes,
    group_params,
    json_response,
    list_query,
    paginate,
    selection_of,
)
from ledgerlink.sandbox.clio_index import INDEXED_FIELDS, KindIndex, plan, walk_page
from ledgerlink.sandbox.clio_records import (
    APPROVED,
    BILL_DERIVED,
    CREDIT_MEMO,
    LINE_DERIVED,
    MONEY_FIELDS,
    PAYMENT,
    TRUST_KIND,
    ZERO,
    as_decimal,
    bill_totals,
    contact_summary,
    interest,
    is_valid,
    line_totals,
    round_half_up,
    running_balances,
    trust_shortfall,
)
from ledgerlink.sandbox.state import SandboxState

Record = dict[str, Any]

# Per-kind id ranges: an id of one kind is never a valid id of another.
_ID_BASE = {
    "account": 1_000,
    "billing_setting": 1,
    "user": 344_000,
    "contact": 12_000_000,
    "matter": 8_100_000,
    "activity_description": 5_500,
    "expense_category": 7_700,
    "activity": 96_000_000,
    "bill": 4_400_000,
    "line_item": 230_000_000,
    "bank_account": 31_000,
    "payment": 2_600_000,  # kept for the allocations' parent; no v4 path serves payments
    "credit_memo": 3_100_000,
    "allocation": 150_000_000,
    "bank_transaction": 47_000_000,
}
_CONTACT_ITEM_BASE = 70_000_000  # email addresses, phone numbers and addresses of contacts
USD = {"id": 1, "etag": '"usd"', "code": "USD", "sign": "$"}
# What a new record holds unless the seed or test says otherwise.
DEFAULTS: dict[str, dict[str, Any]] = {
    "user": dict(
        enabled=True, account_owner=False, roles=[], clio_connect=False, subscription_type="Attorney",
        time_zone="Eastern Time (US & Canada)",
    ),
    "billing_setting": dict(
        tax_name="Tax", tax_rate=ZERO, use_secondary_tax=False, secondary_tax_name="Secondary Tax",
        secondary_tax_rate=ZERO, secondary_tax_rule="Post", apply_tax_by_default=False,
        apply_secondary_tax_by_default=False, currency="USD", currency_sign="$", rounding=6,
        use_decimal_rounding=True, use_utbms_codes=False, multi_currency_billing=False, billing_currencies=[],
    ),
    "activity_description": dict(
        type="clio", category_type="hourly", default=False, visible_to_co_counsel=False,
        accessible_to_user=True, currency=USD,
    ),
    "expense_category": dict(
        entry_type="unassociated", rate=ZERO, accessible_to_user=True, tax_setting="no_tax", currency=USD,
    ),
    "contact": dict(
        type="Person", is_client=False, is_co_counsel=False, is_bill_recipient=False, custom_field_values=[],
        currency=USD,
    ),
    "matter": dict(status="Open", billable=True, billing_method="hourly", currency=USD),
    "activity": dict(
        non_billable=False, no_charge=False, flat_rate=False, billed=False, on_bill=False,
        contingency_fee=False, quantity_redacted=False, currency=USD,
    ),
    "bill": dict(
        type="MatterBill", kind="revenue_kind", state="draft", matters=[], tax_rate=ZERO,
        secondary_tax_rate=ZERO, paid=ZERO, paid_at=None, pending=ZERO, credits_issued=ZERO, shared=False,
        currency=USD,
        discount=dict(rate=ZERO, type="percentage", note=None, early_payment_rate=0, early_payment_period=0),
    ),
    "line_item": dict(
        taxable=False, secondary_taxable=False, note=None, group_ordering=1, quantity=Decimal(1), price=ZERO,
    ),
    "bank_account": dict(
        currency="USD", currency_symbol="$", currency_id=1, default_account=False, controlled_account=False,
        clio_payments_enabled=False, status="opened", balance=ZERO, bank_transactions_count=0,
    ),
    "bank_transaction": dict(
        currency="USD", currency_id=1, exchange_rate=Decimal(1), clio_payments_transaction=False,
        read_only_confirmation=False, matter=None, bill=None, allocation=None, description=None,
        confirmation=None,
    ),
    "allocation": dict(
        interest=False, description=None, payment_type=None, has_online_payment=False, destroyable=True,
        voided_at=None, source_bank_account=None, destination_bank_account=None,
    ),
    "credit_memo": dict(discount=False, description=None, voided_at=None),
}  # fmt: skip


class ClioEmulator:
    """The Clio side of the sandbox: a store of records, a Python API for seeds and tests, and ``.app``.

    Records are plain dicts keyed by wire field names. A relation to another record holds its id
    (``bill["client"] == contact_id``, ``bill["matters"] == [matter_id]``); embedded values hold
    dicts (``bill["interest"]``, ``contact["email_addresses"]``). Money is ``Decimal``.

    - ``set_account(id, name)``; ``add_user(**fields)``; ``set_billing_settings(**fields)``
    - ``add_contact(**fields)``: ``email_addresses``/``phone_numbers``/``addresses`` are lists of
      dicts (``primary: True`` marks the primary one); a Person's ``name`` follows its parts
    - ``add_matter(client=contact_id, display_number=..., **fields)``
    - ``add_activity_description(name=...)``; ``add_expense_category(name=..., entry_type=...)``
    - ``add_activity(type="TimeEntry", quantity_in_hours=..., price=..., activity_description=...)`` or
      ``add_activity(type="ExpenseEntry", price=..., expense_category=...)``, with ``date``,
      ``matter``, ``user``, ``note``
    - ``add_bill(client=..., matters=[...], number=..., state=..., issued_at=..., due_at=...,
      tax_rate=..., interest={"total": ...})``: amounts are derived, never given
    - ``add_line_item(bill=..., activity=..., kind="Service"|"Expense", description=..., date=...,
      quantity=..., price=..., taxable=...)``: recomputes and bumps the bill
    - ``record_payment(bill_id, amount=None, paid_at=None, reference=..., from_trust=...)``: a
      Payment with one allocation to the bill (the whole balance unless ``amount`` is given);
      returns the allocation
    - ``record_split_payment(contact_id, {bill_id: amount, ...})`` → payment id;
      ``edit_payment(payment_id, {bill_id: amount})``; ``delete_payment(payment_id)`` (voids it)
    - ``add_credit_memo(contact_id, {bill_id: amount, ...}, description=...)`` → credit memo id;
      ``void_credit_memo(credit_memo_id)``
    - ``delete_bill(id)`` (Clio's DELETE: a draft is deleted, an unpaid bill voided) and
      ``void_bill(id)``; ``add_bank_account(type="Operating"|"Trust", name=...)``
    - trust: ``trust_deposit``/``trust_disbursement(client_id, amount, date=, matter_id=,
      description=, reference=, account_id=)`` → the bank transaction; ``trust_transfer(from, to,
      amount, ...)`` → both legs; ``add_trust_request(client_id, amount)`` → the bill;
      ``pay_trust_request(bill_id, amount=None, date=)`` → the bank transaction;
      ``edit_bank_transaction(id, amount=, date=, description=, reference=)``;
      ``delete_bank_transaction(id)`` → what was deleted. Trust helpers use the firm's (default)
      Trust account unless ``account_id`` names one; ``record_payment(..., from_trust=True)``
      and ``record_split_payment`` also write the bank transaction out of trust. A movement that
      would overdraw a client raises :class:`TrustOverdraft`.
    - ``update(kind, id, **changes)``, and ``update_contact``/``update_bill``/``update_line_item``/
      ``update_activity``; ``delete_line_item(id)``
    - ``get(kind, id)`` (a deep copy; KeyError if absent), ``records(kind)`` (deep copies, by id),
      ``wire(kind, id, fields)`` (the JSON object the API would send, without HTTP)

    Every change sets ``updated_at`` from ``state.clock`` and a new ``etag``; a line item's or an
    allocation's change recomputes its bill and bumps it too. Keys a schema does not name are
    never served (an allocation's ``received_at``, the moment behind its bill's ``paid_at``).
    Payments and credits that a bill cannot take (more than its balance, a bill not approved, a
    bill of another client, a trust request paid as a bill or the reverse) are a ValueError: a
    seed or test bug.
    """

    def __init__(self, state: SandboxState) -> None:
        self.state = state
        self._lock = threading.RLock()
        self._store: dict[str, dict[int, Record]] = {kind: {} for kind in _ID_BASE}
        self._index = {kind: KindIndex(INDEXED_FIELDS.get(kind, ())) for kind in _ID_BASE}
        self._ids = {kind: itertools.count(base + 1) for kind, base in _ID_BASE.items()}
        self._item_ids = itertools.count(_CONTACT_ITEM_BASE + 1)
        self._versions = itertools.count(1)
        self._lines_by_bill: dict[int, list[int]] = {}
        self._allocations_by_bill: dict[int, list[int]] = {}
        self.app = Starlette(
            routes=[Route("/{path:path}", self._endpoint, methods=["GET", "PATCH", "POST", "DELETE"])]
        )

    # -- store --------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.state.clock.now(), UTC)

    def _touch(self, kind: str, record: Record) -> None:
        record["updated_at"] = self._now()
        digest = hashlib.md5(f"{kind}:{record['id']}:{next(self._versions)}".encode()).hexdigest()
        record["etag"] = f'"{digest}"'
        self._index[kind].touched(record)

    def _insert(self, kind: str, fields: Mapping[str, Any]) -> Record:
        record: Record = {key: _normalized(key, value) for key, value in fields.items()}
        record.setdefault("id", next(self._ids[kind]))
        record.setdefault("created_at", self._now())
        self._touch(kind, record)
        self._store[kind][record["id"]] = record
        self._index[kind].add(record)
        return record

    def _remove(self, kind: str, record_id: int) -> Record:
        """Take a record out of the store (and its indexes); KeyError when there is none."""
        record = self._store[kind].pop(record_id)
        self._index[kind].remove(record_id)
        return record

    def _new_item_id(self) -> int:
        return next(self._item_ids)

    def _lookup(self, kind: str, record_id: int) -> Record | None:
        return self._store[kind].get(record_id)

    def get(self, kind: str, record_id: int) -> Record:
        """A copy of one record; KeyError when there is none."""
        with self._lock:
            return copy.deepcopy(self._store[kind][record_id])

    def records(self, kind: str) -> list[Record]:
        """Copies of every record of ``kind``, by id."""
        with self._lock:
            return [copy.deepcopy(record) for _, record in sorted(self._store[kind].items())]

    def wire(self, kind: str, record_id: int, fields: str | None) -> dict[str, Any]:
        """The ``data`` object Clio would send for one record and this ``fields`` value (no HTTP)."""
        with self._lock:
            selection = parse_fields(fields, SCHEMAS[kind])
            return render(self._store[kind][record_id], SCHEMAS[kind], selection, self._lookup)

    # -- Python API: the account, users, settings, categories ---------------------------------

    def set_account(self, account_id: int, name: str) -> Record:
        """The Clio account (the firm) every user belongs to; also named in ``state.clio_accounts``."""
        with self._lock:
            self.state.clio_accounts[str(account_id)] = name
            return dict(self._insert("account", {"id": account_id, "name": name, "state": "active"}))

    def add_user(self, **fields: Any) -> Record:
        with self._lock:
            values = {
                **_defaults("user"),
                "name": f"{fields.get('first_name', '')} {fields.get('last_name', '')}".strip(),
                "account": next(iter(self._store["account"]), None),
                **fields,
            }
            record = self._insert("user", values)
            account = self._store["account"].get(record["account"])
            if account is not None and record["account_owner"]:
                account["owner"] = record["id"]
            return dict(record)

    def set_billing_settings(self, **fields: Any) -> Record:
        with self._lock:
            if self._store["billing_setting"]:
                return self.update("billing_setting", next(iter(self._store["billing_setting"])), **fields)
            return dict(self._insert("billing_setting", {**_defaults("billing_setting"), **fields}))

    def add_activity_description(self, **fields: Any) -> Record:
        with self._lock:
            return dict(self._insert("activity_description", {**_defaults("activity_description"), **fields}))

    def add_expense_category(self, **fields: Any) -> Record:
        with self._lock:
            return dict(self._insert("expense_category", {**_defaults("expense_category"), **fields}))

    # -- Python API: contacts and matters -----------------------------------------------------

    def add_contact(self, **fields: Any) -> Record:
        with self._lock:
            values = {**_defaults("contact"), **fields}
            for plural in ("email_addresses", "phone_numbers", "addresses"):
                given = values.get(plural) or []
                values[plural] = [{"id": self._new_item_id(), "primary": False, **item} for item in given]
            record = self._insert("contact", values)
            record.update(contact_summary(record))
            return dict(record)

    def update_contact(self, contact_id: int, **changes: Any) -> Record:
        return self.update("contact", contact_id, **changes)

    def add_matter(self, **fields: Any) -> Record:
        with self._lock:
            values = {**_defaults("matter"), **fields}
            values.setdefault("client_id", values.get("client"))
            return dict(self._insert("matter", values))

    # -- Python API: activities, bills, line items --------------------------------------------

    def add_activity(self, **fields: Any) -> Record:
        """A time entry (``quantity_in_hours`` × ``price``) or an expense entry (``price``, quantity 1)."""
        with self._lock:
            values = {**_defaults("activity"), **fields}
            units = Decimal(1)
            if values.get("type") == "TimeEntry":
                units = as_decimal(values.pop("quantity_in_hours"))
                values.update(quantity_in_hours=units, rounded_quantity_in_hours=units)
                values["quantity"] = values["rounded_quantity"] = units * 3600  # seconds since 4.0.4
            else:
                values.setdefault("quantity", units)
            values["total"] = round_half_up(units * as_decimal(values.get("price", 0)))
            values["non_billable_total"] = values["total"] if values["non_billable"] else ZERO
            return dict(self._insert("activity", values))

    def update_activity(self, activity_id: int, **changes: Any) -> Record:
        return self.update("activity", activity_id, **changes)

    def add_bill(self, **fields: Any) -> Record:
        with self._lock:
            _refuse_derived("bill", BILL_DERIVED, fields)
            values = {**_defaults("bill"), **fields, "interest": interest(fields.get("interest"))}
            record = self._insert("bill", values)
            self._lines_by_bill[record["id"]] = []
            record.update(bill_totals(record, []))
            return dict(record)

    def update_bill(self, bill_id: int, **changes: Any) -> Record:
        return self.update("bill", bill_id, **changes)

    def add_line_item(self, **fields: Any) -> Record:
        with self._lock:
            _refuse_derived("line item", LINE_DERIVED, fields)
            bill = self._store["bill"][fields["bill"]]
            activity = self._store["activity"].get(fields["activity"]) if fields.get("activity") else None
            values = {
                **_defaults("line_item"),
                "type": "ActivityLineItem" if activity else "LineItem",
                "matter": (bill["matters"] or [None])[0],
                "user": activity.get("user") if activity else None,
                **fields,
            }
            record = self._insert("line_item", values)
            self._lines_by_bill[bill["id"]].append(record["id"])
            if activity is not None:
                activity.update(bill=bill["id"], on_bill=True, billed=bill["state"] in APPROVED)
                self._touch("activity", activity)
            self._recompute_bill(bill["id"])
            return dict(record)

    def update_line_item(self, line_item_id: int, **changes: Any) -> Record:
        return self.update("line_item", line_item_id, **changes)

    def delete_line_item(self, line_item_id: int) -> None:
        """Remove a line from its bill; the bill is recomputed and bumped."""
        with self._lock:
            line = self._remove("line_item", line_item_id)
            self._lines_by_bill[line["bill"]].remove(line_item_id)
            self._recompute_bill(line["bill"])

    def _recompute_bill(self, bill_id: int) -> None:
        bill = self._store["bill"][bill_id]
        lines = [self._store["line_item"][line_id] for line_id in self._lines_by_bill[bill_id]]
        for line in lines:
            line.update(line_totals(line, bill["tax_rate"], bill["secondary_tax_rate"]))
        if bill["kind"] == TRUST_KIND:
            # A trust request has no time or expense lines: it charges the amount requested.
            lines = [{"kind": "Trust", "total": bill["trust_amount"]}]
        bill.update(bill_totals(bill, lines, self._bill_allocations(bill_id)))
        self._touch("bill", bill)

    def _bill_allocations(self, bill_id: int) -> list[Record]:
        return [self._store["allocation"][i] for i in self._allocations_by_bill.get(bill_id, [])]

    def delete_bill(self, bill_id: int) -> Record:
        """Clio's DELETE of a bill: a draft or one awaiting approval is deleted, an unpaid one voided.

        Refused (ValueError) once payments or credits are applied, and for any other state.
        The bill stays listable in its new state, so ``updated_since`` readers see it go.
        """
        with self._lock:
            bill = self._store["bill"][bill_id]
            if any(is_valid(a) for a in self._bill_allocations(bill_id)):
                raise ValueError(f"bill {bill['number']} has payments or credits applied; Clio keeps it")
            outcome = {"draft": "deleted", "awaiting_approval": "deleted", "awaiting_payment": "void"}
            if bill["state"] not in outcome:
                raise ValueError(f"bill {bill['number']} is {bill['state']}; Clio cannot delete or void it")
            return self.update("bill", bill_id, state=outcome[bill["state"]])

    def void_bill(self, bill_id: int) -> Record:
        """Void an unpaid (awaiting_payment) bill: Clio's DELETE of an approved bill with no payments."""
        with self._lock:
            bill = self._store["bill"][bill_id]
            if bill["state"] != "awaiting_payment":
                raise ValueError(f"bill {bill['number']} is {bill['state']}; only an unpaid bill is voided")
            return self.delete_bill(bill_id)

    # -- Python API: payments and credit memos (allocations) ----------------------------------

    def add_bank_account(self, **fields: Any) -> Record:
        """A bank account of the firm: ``type`` is "Operating" or "Trust"."""
        with self._lock:
            return dict(self._insert("bank_account", {**_defaults("bank_account"), **fields}))

    def _bank_account(self, type_: str) -> int:
        """The firm's (default) account of this type, opened on first use."""
        accounts = [a for a in self._store["bank_account"].values() if a["type"] == type_]
        chosen = next((a for a in accounts if a["default_account"]), accounts[0] if accounts else None)
        if chosen is None:
            values = {"type": type_, "name": f"{type_} Account", "default_account": True}
            chosen = self._insert("bank_account", {**_defaults("bank_account"), **values})
        return int(chosen["id"])

    def record_payment(
        self,
        bill_id: int,
        amount: Any = None,
        paid_at: datetime | None = None,
        *,
        reference: str | None = None,
        from_trust: bool = False,
    ) -> Record:
        """A payment of one bill (its whole balance unless ``amount`` is given); its allocation.

        ``from_trust``: paid out of the client's funds in the firm's Trust account, which also
        writes the bank transaction (TrustOverdraft when the client's funds are short).
        """
        with self._lock:
            bill = self._store["bill"][bill_id]
            value = bill["balance"] if amount is None else amount
            received = paid_at or self._now()
            trust = self._bank_account("Trust") if from_trust else None
            payment_id = self._pay(bill["client"], {bill_id: value}, received, reference, trust_out=trust)
            return copy.deepcopy(
                self._store["allocation"][self._store["payment"][payment_id]["allocations"][0]]
            )

    def record_split_payment(
        self,
        contact_id: int,
        parts: Mapping[int, Any],
        *,
        date: dt.date | None = None,
        reference: str | None = None,
        from_trust: bool = False,
    ) -> int:
        """One payment of a client over several bills (bill id → amount), one allocation each."""
        with self._lock:
            trust = self._bank_account("Trust") if from_trust else None
            return self._pay(contact_id, parts, self._moment(date), reference, trust_out=trust)

    def edit_payment(self, payment_id: int, parts: Mapping[int, Any]) -> None:
        """Change what a payment applies to bills (bill id → new amount); a new bill gets an allocation.

        Only the allocations whose amount changes are bumped; their bills are recomputed. A
        payment out of or into trust changes its bank transactions alike (checked for overdraft
        before anything changes).
        """
        with self._lock:
            payment = self._store["payment"][payment_id]
            current = {a["bill"]: a for a in self._children(payment) if is_valid(a)}
            if not current:
                raise ValueError(f"payment {payment_id} was deleted")
            trust, into = self._payment_trust(payment)
            amounts = self._applicable(
                payment["contact"],
                parts,
                {bill: a["amount"] for bill, a in current.items()},
                trust_request=into,
            )
            added: dict[int, Record] = {}
            changed: dict[int, Record] = {}
            if trust is not None:
                for bill_id, amount in amounts.items():
                    allocation = current.get(bill_id)
                    if allocation is None:
                        added[bill_id] = self._payment_row(trust, bill_id, amount, payment, into=into)
                    elif allocation["amount"] != amount:
                        row = self._allocation_transaction(allocation["id"])
                        changed[row["id"]] = _signed(amount if into else -amount)
                self._check_trust(trust, added=added.values(), changed=changed)
            for bill_id, amount in amounts.items():
                allocation = current.get(bill_id)
                if allocation is None:
                    allocation = self._allocate(bill_id, amount, payment)
                    payment["allocations"].append(allocation["id"])
                    if bill_id in added:
                        self._insert("bank_transaction", {**added[bill_id], "allocation": allocation["id"]})
                elif allocation["amount"] != amount:
                    allocation["amount"] = amount
                    self._touch("allocation", allocation)
                    self._recompute_bill(bill_id)
            for row_id, amounts_of_row in changed.items():
                row = self._store["bank_transaction"][row_id]
                row.update(amounts_of_row)
                self._touch("bank_transaction", row)
            if trust is not None:
                self._recompute_account(trust)
            payment["amount"] = sum((a["amount"] for a in self._children(payment) if is_valid(a)), ZERO)
            self._touch("payment", payment)

    def delete_payment(self, payment_id: int) -> None:
        """Delete a payment: every allocation of it is voided and its bills owe again.

        Its bank transactions (a payment out of or into trust) are deleted with it; deleting a
        payment into trust whose funds were spent since is a TrustOverdraft.
        """
        with self._lock:
            payment = self._store["payment"][payment_id]
            trust, _into = self._payment_trust(payment)
            rows: list[Record] = []
            if trust is not None:
                rows = [self._allocation_transaction(a["id"]) for a in self._children(payment) if is_valid(a)]
                self._check_trust(trust, removed={row["id"] for row in rows})
            self._void("payment", payment)
            for row in rows:
                self._remove("bank_transaction", row["id"])
            if trust is not None:
                self._recompute_account(trust)

    def add_credit_memo(
        self,
        contact_id: int,
        parts: Mapping[int, Any],
        *,
        date: dt.date | None = None,
        description: str | None = None,
    ) -> int:
        """A credit memo writing ``amount`` off each bill (bill id → amount); its id."""
        with self._lock:
            amounts = self._applicable(contact_id, parts)
            moment = self._moment(date)
            owner = next((u["id"] for u in self._store["user"].values() if u.get("account_owner")), None)
            memo = self._insert(
                "credit_memo",
                {
                    **_defaults("credit_memo"),
                    "date": moment.astimezone(FIRM_TZ).date(),
                    "amount": sum(amounts.values(), ZERO),
                    "description": description,
                    "user": owner,
                    "contact": contact_id,
                    "allocations": [],
                },
            )
            for bill_id, amount in amounts.items():
                allocation = self._allocate(bill_id, amount, memo, parent_type=CREDIT_MEMO)
                memo["allocations"].append(allocation["id"])
            return int(memo["id"])

    def void_credit_memo(self, credit_memo_id: int) -> None:
        """Void a credit memo: it and its allocations get ``voided_at``; its bills owe again."""
        with self._lock:
            self._void("credit_memo", self._store["credit_memo"][credit_memo_id])

    def _moment(self, day: dt.date | None) -> datetime:
        """When a payment dated ``day`` was received: now, or the start of that day in the firm."""
        if day is None:
            return self._now()
        if isinstance(day, datetime):
            return day
        return datetime.combine(day, dt.time(), FIRM_TZ)

    def _children(self, parent: Record) -> list[Record]:
        return [self._store["allocation"][i] for i in parent["allocations"]]

    def _pay(
        self,
        contact_id: int,
        parts: Mapping[int, Any],
        received: datetime,
        reference: str | None,
        *,
        trust_out: int | None = None,
        trust_in: int | None = None,
    ) -> int:
        """A payment and its allocations; ``trust_out``/``trust_in``: the trust account it comes
        out of (a bill paid from trust) or goes into (a trust request paid), with its bank
        transactions, checked for overdraft before anything is written."""
        amounts = self._applicable(contact_id, parts, trust_request=trust_in is not None)
        trust = trust_out if trust_out is not None else trust_in
        values: Record = {
            "date": received.astimezone(FIRM_TZ).date(),
            "received_at": received,
            "amount": sum(amounts.values(), ZERO),
            "reference": reference,
            "contact": contact_id,
            "source_bank_account": trust_out,
            "destination_bank_account": trust_in if trust_in is not None else self._bank_account("Operating"),
            "voided_at": None,
            "allocations": [],
        }
        rows: dict[int, Record] = {}
        if trust is not None:
            rows = {
                bill_id: self._payment_row(trust, bill_id, amount, values, into=trust_in is not None)
                for bill_id, amount in amounts.items()
            }
            self._check_trust(trust, added=rows.values())
        payment = self._insert("payment", values)
        for bill_id, amount in amounts.items():
            allocation = self._allocate(bill_id, amount, payment)
            payment["allocations"].append(allocation["id"])
            if bill_id in rows:
                self._insert("bank_transaction", {**rows[bill_id], "allocation": allocation["id"]})
        if trust is not None:
            self._recompute_account(trust)
        return int(payment["id"])

    def _applicable(
        self,
        contact_id: int,
        parts: Mapping[int, Any],
        applied: Mapping[int, Decimal] | None = None,
        *,
        trust_request: bool = False,
    ) -> dict[int, Decimal]:
        """The amounts of ``parts`` as Decimals, once every one of them is checked to fit its bill.

        ``applied``: what the same parent already applies to each bill (an edit replaces it).
        ``trust_request``: the bills are trust requests (paid into trust), else revenue bills.
        """
        if not parts:
            raise ValueError("a payment or credit applies to at least one bill")
        amounts: dict[int, Decimal] = {}
        for bill_id, given in parts.items():
            bill = self._store["bill"].get(bill_id)
            if bill is None:
                raise ValueError(f"there is no bill {bill_id}")
            amount = as_decimal(given)
            room = bill["balance"] + (applied or {}).get(bill_id, ZERO)
            if bill["client"] != contact_id:
                raise ValueError(f"bill {bill['number']} is not a bill of contact {contact_id}")
            if (bill["kind"] == TRUST_KIND) != trust_request:
                what = (
                    "a trust request (pay_trust_request)" if trust_request is False else "not a trust request"
                )
                raise ValueError(f"bill {bill['number']} is {what}")
            if bill["state"] not in APPROVED:
                raise ValueError(f"bill {bill['number']} is {bill['state']}; only approved bills are paid")
            if amount <= 0:
                raise ValueError(f"cannot apply {amount} to bill {bill['number']}")
            if amount > room:
                raise ValueError(f"cannot apply {amount} to bill {bill['number']}: it owes {room}")
            amounts[bill_id] = amount
        return amounts

    def _allocate(self, bill_id: int, amount: Decimal, parent: Record, parent_type: str = PAYMENT) -> Record:
        """A new allocation of ``parent`` to a bill; the bill is recomputed."""
        bill = self._store["bill"][bill_id]
        values: Record = {
            **_defaults("allocation"),
            "date": parent["date"],
            "amount": amount,
            "bill": bill_id,
            "contact": bill["client"],
            "matter": (bill["matters"] or [None])[0],
            "parent": {"id": parent["id"], "type": parent_type},
        }
        if parent_type == PAYMENT:
            values.update(
                received_at=parent["received_at"],
                source_bank_account=parent["source_bank_account"],
                destination_bank_account=parent["destination_bank_account"],
            )
        else:
            values["description"] = parent["description"]
        allocation = self._insert("allocation", values)
        self._allocations_by_bill.setdefault(bill_id, []).append(allocation["id"])
        self._recompute_bill(bill_id)
        return allocation

    def _void(self, kind: str, parent: Record) -> None:
        """Void a payment or credit memo and each of its valid allocations; recompute their bills."""
        if parent["voided_at"] is not None:
            raise ValueError(f"{kind} {parent['id']} is already voided")
        now = self._now()
        parent["voided_at"] = now
        self._touch(kind, parent)
        for allocation in self._children(parent):
            if is_valid(allocation):
                allocation["voided_at"] = now
                self._touch("allocation", allocation)
                self._recompute_bill(allocation["bill"])

    # -- Python API: trust accounting (bank transactions) -------------------------------------

    def trust_deposit(
        self,
        client_id: int,
        amount: Any,
        *,
        date: dt.date | None = None,
        matter_id: int | None = None,
        description: str | None = None,
        reference: str | None = None,
        account_id: int | None = None,
    ) -> Record:
        """Client money into trust ("Deposit"); the bank transaction."""
        with self._lock:
            row = self._trust_row(account_id, client_id, matter_id, _positive(amount), "Deposit", date)
            return self._post_trust([{**row, "description": description, "confirmation": reference}])[0]

    def trust_disbursement(
        self,
        client_id: int,
        amount: Any,
        *,
        date: dt.date | None = None,
        matter_id: int | None = None,
        description: str | None = None,
        reference: str | None = None,
        account_id: int | None = None,
    ) -> Record:
        """Client money out of trust ("Withdrawal"); the bank transaction. TrustOverdraft when short."""
        with self._lock:
            row = self._trust_row(account_id, client_id, matter_id, -_positive(amount), "Withdrawal", date)
            return self._post_trust([{**row, "description": description, "confirmation": reference}])[0]

    def trust_transfer(
        self,
        from_client_id: int,
        to_client_id: int,
        amount: Any,
        *,
        from_matter_id: int | None = None,
        to_matter_id: int | None = None,
        date: dt.date | None = None,
        description: str | None = None,
        account_id: int | None = None,
    ) -> tuple[Record, Record]:
        """A matter-to-matter transfer inside one trust account: (the paying leg, the receiving leg)."""
        with self._lock:
            value = _positive(amount)
            out = self._trust_row(account_id, from_client_id, from_matter_id, -value, "Transfer", date)
            into = self._trust_row(account_id, to_client_id, to_matter_id, value, "Transfer", date)
            legs = self._post_trust([{**leg, "description": description} for leg in (out, into)])
            paying, receiving = (self._store["bank_transaction"][leg["id"]] for leg in legs)
            paying["transfer"], receiving["transfer"] = receiving["id"], paying["id"]
            return copy.deepcopy(paying), copy.deepcopy(receiving)

    def add_trust_request(self, client_id: int, amount: Any, *, issued_at: dt.date | None = None) -> Record:
        """A trust request: a bill of kind ``trust_kind`` asking the client to pay ``amount`` into trust."""
        with self._lock:
            value = _positive(amount)
            if client_id not in self._store["contact"]:
                raise ValueError(f"there is no contact {client_id}")
            issued = issued_at or self._day(None)
            bill_id = next(self._ids["bill"])
            values = {
                **_defaults("bill"),
                "id": bill_id,
                "number": str(bill_id),
                "type": "ClientBill",
                "kind": TRUST_KIND,
                "state": "awaiting_payment",
                "client": client_id,
                "issued_at": issued,
                "due_at": issued + dt.timedelta(days=14),
                "subject": "Trust request",
                "trust_amount": value,
                "interest": interest(),
            }
            self._insert("bill", values)
            self._lines_by_bill[bill_id] = []
            self._recompute_bill(bill_id)
            return copy.deepcopy(self._store["bill"][bill_id])

    def pay_trust_request(self, bill_id: int, amount: Any = None, *, date: dt.date | None = None) -> Record:
        """A payment into trust against a trust request (by default its balance); the bank transaction."""
        with self._lock:
            bill = self._store["bill"][bill_id]
            value = bill["balance"] if amount is None else amount
            trust = self._bank_account("Trust")
            payment_id = self._pay(bill["client"], {bill_id: value}, self._moment(date), None, trust_in=trust)
            allocation_id = self._store["payment"][payment_id]["allocations"][0]
            return copy.deepcopy(self._allocation_transaction(allocation_id))

    def edit_bank_transaction(
        self,
        transaction_id: int,
        *,
        amount: Any = None,
        date: dt.date | None = None,
        description: str | None = None,
        reference: str | None = None,
    ) -> Record:
        """Change a deposit, disbursement or transfer (``amount`` is the size; its direction stays).

        A transfer's amount and date change on both legs. A payment's transaction is changed
        through the payment (ValueError here). TrustOverdraft when a client would be short.
        """
        with self._lock:
            row = self._store["bank_transaction"][transaction_id]
            if row["allocation"] is not None and (amount is not None or date is not None):
                raise ValueError(f"bank transaction {transaction_id} is a payment's: change the payment")
            changes: dict[int, Record] = {}
            for leg in self._legs(row):
                leg_changes: Record = {}
                if amount is not None:
                    leg_changes.update(
                        _signed(_positive(amount) if leg["amount"] > 0 else -_positive(amount))
                    )
                if date is not None:
                    leg_changes["date"] = self._day(date)
                changes[leg["id"]] = leg_changes
            for key, value in (("description", description), ("confirmation", reference)):
                if value is not None:
                    changes[transaction_id][key] = value
            self._check_trust(row["bank_account"], changed=changes)
            for leg_id, leg_changes in changes.items():
                if leg_changes:
                    leg = self._store["bank_transaction"][leg_id]
                    leg.update(leg_changes)
                    self._touch("bank_transaction", leg)
            self._recompute_account(row["bank_account"])
            return copy.deepcopy(row)

    def delete_bank_transaction(self, transaction_id: int) -> list[Record]:
        """Delete a deposit, disbursement or transfer (both legs); what was deleted.

        A payment's transaction goes with its payment (``delete_payment``; ValueError here).
        TrustOverdraft when the funds it brought in were spent since.
        """
        with self._lock:
            row = self._store["bank_transaction"][transaction_id]
            if row["allocation"] is not None:
                raise ValueError(f"bank transaction {transaction_id} is a payment's: delete the payment")
            legs = self._legs(row)
            self._check_trust(row["bank_account"], removed={leg["id"] for leg in legs})
            for leg in legs:
                self._remove("bank_transaction", leg["id"])
            self._recompute_account(row["bank_account"])
            return [copy.deepcopy(leg) for leg in legs]

    def _legs(self, row: Record) -> list[Record]:
        """A transaction, and the other leg when it is one side of a transfer."""
        other = row.get("transfer")
        return [row] if other is None else [row, self._store["bank_transaction"][other]]

    def _day(self, day: dt.date | None) -> dt.date:
        """A transaction's date: the given one, else today in the firm's time zone."""
        if isinstance(day, datetime):
            return day.astimezone(FIRM_TZ).date()
        return day if day is not None else self._now().astimezone(FIRM_TZ).date()

    def _trust_account(self, account_id: int | None) -> int:
        if account_id is None:
            return self._bank_account("Trust")
        account = self._store["bank_account"].get(account_id)
        if account is None or account["type"] != "Trust":
            raise ValueError(f"bank account {account_id} is not a Trust account of the firm")
        return account_id

    def _trust_row(
        self,
        account_id: int | None,
        client_id: int,
        matter_id: int | None,
        signed: Decimal,
        transaction_type: str,
        day: dt.date | None,
    ) -> Record:
        """A new bank transaction's fields (not yet stored), once its client and matter are checked."""
        account = self._trust_account(account_id)
        if client_id not in self._store["contact"]:
            raise ValueError(f"there is no contact {client_id}")
        if matter_id is not None:
            matter = self._store["matter"].get(matter_id)
            if matter is None or matter["client"] != client_id:
                raise ValueError(f"matter {matter_id} is not a matter of contact {client_id}")
        return {
            **_defaults("bank_transaction"),
            "bank_account_id": account,
            "bank_account": account,
            "client": client_id,
            "matter": matter_id,
            "transaction_type": transaction_type,
            "date": self._day(day),
            **_signed(signed),
        }

    def _post_trust(self, rows: list[Record]) -> list[Record]:
        """Store new transactions of one account once no client would be overdrawn; copies of them."""
        account = rows[0]["bank_account"]
        self._check_trust(account, added=rows)
        stored = [self._insert("bank_transaction", row) for row in rows]
        self._recompute_account(account)
        return [copy.deepcopy(row) for row in stored]

    def _payment_row(
        self, account: int, bill_id: int, amount: Decimal, payment: Record, *, into: bool
    ) -> Record:
        """The bank transaction a payment makes in trust for one bill (its allocation set on storing)."""
        bill = self._store["bill"][bill_id]
        return {
            **_defaults("bank_transaction"),
            "bank_account_id": account,
            "bank_account": account,
            "client": bill["client"],
            "matter": (bill["matters"] or [None])[0],
            "bill": bill_id,
            "transaction_type": "Payment",
            "date": payment["date"],
            "confirmation": payment["reference"],
            **_signed(amount if into else -amount),
        }

    def _payment_trust(self, payment: Record) -> tuple[int | None, bool]:
        """The trust account a payment moves money out of or into, and whether into (else out)."""
        if payment["source_bank_account"] is not None:
            return payment["source_bank_account"], False
        destination = self._store["bank_account"][payment["destination_bank_account"]]
        return (destination["id"], True) if destination["type"] == "Trust" else (None, False)

    def _allocation_transaction(self, allocation_id: int) -> Record:
        return next(r for r in self._store["bank_transaction"].values() if r["allocation"] == allocation_id)

    def _account_rows(self, account_id: int) -> list[Record]:
        return [r for r in self._store["bank_transaction"].values() if r["bank_account"] == account_id]

    def _check_trust(
        self,
        account_id: int,
        *,
        added: Iterable[Record] = (),
        changed: Mapping[int, Record] | None = None,
        removed: Collection[int] = frozenset(),
    ) -> None:
        """Raise TrustOverdraft when the account's transactions after this change would overdraw a client."""
        proposed = [
            {**row, **(changed or {}).get(row["id"], {})}
            for row in self._account_rows(account_id)
            if row["id"] not in removed
        ]
        shortfall = trust_shortfall([*proposed, *({**row, "id": None} for row in added)])
        if shortfall is None:
            return
        client_id, day, balance = shortfall
        name = self._store["contact"][client_id]["name"]
        account = self._store["bank_account"][account_id]["name"]
        raise TrustOverdraft(
            f"Insufficient trust funds: {name} would hold {balance:.2f} in {account} on {day.isoformat()}."
            " A client's trust balance cannot go below zero."
        )

    def _recompute_account(self, account_id: int) -> None:
        """Running balances of the account's transactions, its balance and count; bumps the account."""
        rows = self._account_rows(account_id)
        balance = ZERO
        for row, balance in running_balances(rows):
            self._store["bank_transaction"][row["id"]]["current_account_balance"] = balance
        account = self._store["bank_account"][account_id]
        account.update(balance=balance, bank_transactions_count=len(rows))
        self._touch("bank_account", account)

    def update(self, kind: str, record_id: int, **changes: Any) -> Record:
        """Apply ``changes`` to one record, keep derived amounts consistent, bump updated_at and etag."""
        with self._lock:
            record = self._store[kind][record_id]
            _refuse_derived(
                kind, {"bill": BILL_DERIVED, "line_item": LINE_DERIVED}.get(kind, frozenset()), changes
            )
            for key, value in changes.items():
                record[key] = (
                    interest({**record["interest"], **value})
                    if key == "interest"
                    else _normalized(key, value)
                )
            if kind == "contact":
                record.update(contact_summary(record))
            self._index[kind].changed(record, changes.keys())
            self._touch(kind, record)
            if kind in ("bill", "line_item"):
                self._recompute_bill(record_id if kind == "bill" else record["bill"])
            return dict(record)

    # -- HTTP ---------------------------------------------------------------------------------

    async def _endpoint(self, request: Request) -> Response:
        grant = self.state.tokens.check("clio", request.headers.get("authorization"))
        if grant is None:
            return json_response(INVALID_TOKEN_BODY, 401)
        settings = self.state.settings
        allowed, remaining, reset = self.state.rates.hit(
            grant.access_token, settings.clio_rate_limit, settings.clio_rate_window
        )
        rate_headers = {
            "X-RateLimit-Limit": str(settings.clio_rate_limit),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(math.ceil(reset)),
        }
        version = request.headers.get("x-api-version", DEFAULT_VERSION)
        body = await request.body()
        try:
            if not allowed:
                wait = max(1, math.ceil(reset - self.state.clock.now()))
                rate_headers["Retry-After"] = str(wait)
                raise ClioHttpError(429, "RateLimited", f"Rate limit exceeded. Retry in {wait} seconds.")
            if version not in SUPPORTED_VERSIONS:
                raise ClioHttpError(
                    410, "InvalidVersion", f"API version {version} is invalid or no longer supported"
                )
            with self._lock:
                response = self._route(request, body)
        except ClioHttpError as exc:
            response = json_response(exc.body(), exc.status)
        response.headers.update(rate_headers)
        if response.status_code < 400:
            response.headers["X-API-VERSION"] = version
        return response

    def _route(self, request: Request, body: bytes) -> Response:
        path = request.path_params["path"].removesuffix(".json")
        method = request.method
        if path in ("users/who_am_i", "settings/billing"):
            _only_get(method)
            kind = "user" if path == "users/who_am_i" else "billing_setting"
            wanted = (r for r in self._store[kind].values() if kind != "user" or r.get("account_owner"))
            record = next(wanted, None)
            if record is None:
                raise ClioHttpError(404, "RecordNotFound", f"The account has no {SCHEMAS[kind].name}")
            return self._show(request, kind, record["id"])
        if path == "contacts" and method == "POST":
            return self._create_contact(request, body)
        if path == "activities" and method == "POST":
            return self._create_activity(request, body)
        if path in LISTINGS:
            _only_get(method)
            return self._list(request, LISTINGS[path])
        match = re.fullmatch(r"(?P<resource>[a-z_]+)/(?P<id>\d+)", path)
        if match and match["resource"] in SHOWABLE:
            kind = SHOWABLE[match["resource"]]
            if method == "PATCH" and kind == "contact":
                return self._patch_contact(request, int(match["id"]), body)
            if method in ("PATCH", "DELETE") and kind == "activity":
                return self._change_activity(request, int(match["id"]), body)
            _only_get(method)
            return self._show(request, kind, int(match["id"]))
        raise ClioHttpError(404, "NotFound", f"No route matches {method} /{request.path_params['path']}")

    def _existing(self, kind: str, record_id: int) -> Record:
        record = self._store[kind].get(record_id)
        if record is None:
            raise ClioHttpError(404, "RecordNotFound", f"{SCHEMAS[kind].name} {record_id} was not found")
        return record

    def _show(self, request: Request, kind: str, record_id: int) -> Response:
        selection = selection_of(kind, group_params(request.query_params.multi_items(), {"fields"}))
        record = self._existing(kind, record_id)
        headers = {
            "ETag": record["etag"],
            "Last-Modified": format_datetime(record["updated_at"].replace(microsecond=0), usegmt=True),
        }
        if _not_modified(request, record):
            return Response(status_code=304, headers=headers)
        return json_response({"data": render(record, SCHEMAS[kind], selection, self._lookup)}, 200, headers)

    def _list(self, request: Request, listing: Listing) -> Response:
        items = request.query_params.multi_items()
        query = list_query(
            group_params(items, COMMON_LIST_PARAMS | listing.filters.keys(), {"ids[]"}), listing
        )
        page = self._page(listing.kind, query)
        paging: dict[str, str] = {}
        for name, replacement in (("previous", page.previous), ("next", page.next)):
            if replacement is not None:
                kept = [(k, v) for k, v in items if k not in ("page_token", "offset")]
                paging[name] = str(request.url.replace(query=urlencode(kept + list(replacement.items()))))
        schema = SCHEMAS[listing.kind]
        data = [render(record, schema, query.selection, self._lookup) for record in page.rows]
        return json_response({"data": data, "meta": {"paging": paging}})

    def _page(self, kind: str, query: ListQuery) -> Page:
        """The page ``query`` asks for, as a scan of the store would give it, without the scan.

        The records an index names (``ids[]``, ``updated_since``, ``bill_id`` ...) when they are
        few, else a walk of the ids in order from the page token (see :mod:`.clio_index`).
        """
        store, index = self._store[kind], self._index[kind]
        how = plan(index, query)
        if how == "walk":
            return walk_page(index.ids, store.__getitem__, query)
        candidates: Iterable[Record] = store.values()
        if how != "scan":
            # In the order a scan meets them, which offset paging keeps among records without the order field.
            present = (i for i in how if i in store)
            candidates = [store[i] for i in sorted(present, key=index.arrival.__getitem__)]
        return paginate([r for r in candidates if all(p(r) for p in query.predicates)], query)

    def _patch_contact(self, request: Request, contact_id: int, body: bytes) -> Response:
        selection = selection_of("contact", group_params(request.query_params.multi_items(), {"fields"}))
        record = self._existing("contact", contact_id)
        if_match = request.headers.get("if-match")
        if if_match is not None and if_match.strip() != record["etag"]:
            raise ClioHttpError(412, "PreconditionFailed", "The Contact has changed since the given ETag")
        try:
            payload = json.loads(body or b"null", parse_float=Decimal)
        except ValueError:
            raise bad_request("The request body is not valid JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            raise bad_request("The request body must be an object with a data object")
        self.update("contact", contact_id, **contact_changes(record, payload["data"], self._new_item_id))
        return json_response({"data": render(record, SCHEMAS["contact"], selection, self._lookup)})

    def _create_contact(self, request: Request, body: bytes) -> Response:
        """POST /contacts.json: a new Person or Company (201), validated like a PATCH of an empty contact."""
        selection = selection_of("contact", group_params(request.query_params.multi_items(), {"fields"}))
        try:
            payload = json.loads(body or b"null", parse_float=Decimal)
        except ValueError:
            raise bad_request("The request body is not valid JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            raise bad_request("The request body must be an object with a data object")
        data = payload["data"]
        for required in ("type", "name"):
            if not str(data.get(required) or "").strip():
                raise ClioHttpError(422, "RecordInvalid", f"{required.capitalize()} can't be blank")
        changes = contact_changes({}, data, self._new_item_id)
        with self._lock:
            record = self._insert("contact", {**_defaults("contact"), **changes})
            record.update(contact_summary(record))
        return json_response({"data": render(record, SCHEMAS["contact"], selection, self._lookup)}, 201)

    # -- activities written over HTTP (rules in :mod:`.clio_activities`) ------------------------

    def _activity_body(self, body: bytes) -> Any:
        try:
            payload = json.loads(body or b"null", parse_float=Decimal)
        except ValueError:
            raise bad_request("The request body is not valid JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("data"), dict):
            raise bad_request("The request body must be an object with a data object")
        return payload["data"]

    def _account_owner(self) -> int | None:
        return next((u["id"] for u in self._store["user"].values() if u.get("account_owner")), None)

    def _create_activity(self, request: Request, body: bytes) -> Response:
        selection = selection_of("activity", group_params(request.query_params.multi_items(), {"fields"}))
        values = activity_changes(
            self._activity_body(body), current=None, lookup=self._lookup, owner=self._account_owner()
        )
        record = self._insert("activity", {**_defaults("activity"), **values})
        return json_response({"data": render(record, SCHEMAS["activity"], selection, self._lookup)}, 201)

    def _change_activity(self, request: Request, activity_id: int, body: bytes) -> Response:
        """PATCH (with optional If-Match) or DELETE one activity; a billed one is refused (422)."""
        record = self._existing("activity", activity_id)
        if request.method == "DELETE":
            if record.get("billed"):
                raise billed_refusal(record)
            self._remove("activity", activity_id)
            return Response(status_code=204)
        selection = selection_of("activity", group_params(request.query_params.multi_items(), {"fields"}))
        if_match = request.headers.get("if-match")
        if if_match is not None and if_match.strip() != record["etag"]:
            raise ClioHttpError(412, "PreconditionFailed", "The Activity has changed since the given ETag")
        changes = activity_changes(
            self._activity_body(body), current=record, lookup=self._lookup, owner=self._account_owner()
        )
        self.update("activity", activity_id, **changes)
        return json_response({"data": render(record, SCHEMAS["activity"], selection, self._lookup)})


class TrustOverdraft(ClioHttpError, ValueError):
    """A movement that would take a client's trust funds below zero: Clio's 422 (see the assumptions)."""

    def __init__(self, message: str) -> None:
        super().__init__(422, "RecordInvalid", message)


def _positive(amount: Any) -> Decimal:
    value = as_decimal(amount)
    if value <= 0:
        raise ValueError(f"a trust amount is positive, not {value}")
    return value


def _signed(amount: Decimal) -> Record:
    """A bank transaction's amount fields for a signed amount (positive in, negative out)."""
    return {"amount": amount, "funds_in": max(amount, ZERO), "funds_out": max(-amount, ZERO)}


def _defaults(kind: str) -> dict[str, Any]:
    """A fresh copy of a kind's defaults: no two records share a list or dict."""
    return dict(DEFAULTS[kind])


def _normalized(key: str, value: Any) -> Any:
    if key in MONEY_FIELDS and value is not None and not isinstance(value, bool):
        return as_decimal(value)
    return value


def _refuse_derived(what: str, derived: frozenset[str], fields: Mapping[str, Any]) -> None:
    given = derived & fields.keys()
    if given:
        raise ValueError(f"{what} amounts are derived from its lines; cannot set {sorted(given)}")


def _only_get(method: str) -> None:
    if method != "GET":
        raise ClioHttpError(405, "MethodNotAllowed", f"{method} is not allowed here")


def _not_modified(request: Request, record: Record) -> bool:
    """Whether the request's If-None-Match (or, failing that, If-Modified-Since) makes this a 304."""
    if_none_match = request.headers.get("if-none-match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return record["etag"] in tags or "*" in tags
    if_modified_since = request.headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return bool(record["updated_at"].replace(microsecond=0) <= since)
