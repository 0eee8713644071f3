"""Clio hard costs → Xero "Spend Money": the side phase's I/O edge (seed 004, ``[xero.hard_costs]``).

Called by the sync pass for a Xero target when ``[xero.hard_costs] enabled`` (see
:func:`run_spend_money`). Per run:

1. the mapped bank account (a BANK account) and expense account must be active in Xero: otherwise a
   systemic :class:`~ledgerlink.errors.MappingMissingError`, before any write;
2. intents a crash left open are settled: a create whose transaction is found in Xero by the marker
   at the end of its Reference is adopted (linked), never sent twice; any other is re-planned;
3. reads: the hard costs Clio changed since the last run (``updated_since``, with a small overlap;
   the first run reads them all), plus every linked one and every one with an open, retryable error
   again by id — a linked id Clio no longer returns was deleted there (Clio shows no deletions);
4. the linked transactions the plan would change or delete are read from Xero, so a reconciled one
   is reported instead of rewritten (reference §2.6: "Always GET first");
5. the pure plan (:mod:`ledgerlink.sync.flows.spend_money`) is applied: vendors are resolved to Xero
   contacts, then SPEND transactions are written in batches of at most 50, each under its own intent,
   with ``summarizeErrors=false`` so every element has its own outcome; links of kind
   ``spend_money``; per-record failures in ``sync_errors`` with cause and remedy; cursor
   ``spend_money``.

A dry run reads and plans only: no Xero write, no store write; the planned outcomes are in ``result``.

Assumptions (the reference does not settle them):

- ``where`` on GET /BankTransactions accepts ``Reference.EndsWith("…")`` and
  ``BankTransactionID==Guid("…")`` (the general where grammar, reference §1 "Filtering").
- A vendor is the Xero contact with the same name (case- and space-insensitive, archived ones
  included, active ones preferred); absent, a contact of that name is created. Xero keeps contact
  names unique, so looking first makes a repeat after a lost answer find the contact, not double it.
  An archived contact is used as it is; should Xero refuse it, that is the record's error.
- Deleting a transaction is a POST of its BankTransactionID with ``Status: DELETED``, its Type,
  BankAccount and (unchanged) lines, since the spec requires those on every bank-transaction body.
- A Xero refusal is retryable (the next pass tries again) except a reconciled transaction's.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ledgerlink import failpoints
from ledgerlink.config import Config
from ledgerlink.errors import (
    ApiError,
    ConfigError,
    LedgerlinkError,
    MappingMissingError,
    RateLimitedError,
    RecordError,
    SystemicError,
    TransportError,
)
from ledgerlink.providers.clio.client import ClioClient
from ledgerlink.providers.clio.disbursements import ClioDisbursements
from ledgerlink.providers.xero.client import MAX_ELEMENTS_PER_WRITE, ElementOutcome, XeroClient
from ledgerlink.providers.xero.translate import accounts_by_code
from ledgerlink.providers.xero.wire import XeroAccount, XeroBankTransaction, XeroContact, XeroLineItem
from ledgerlink.store import Intent, LinkWrite, Store
from ledgerlink.sync.apply import OUTCOME, PARKED, PassResult, add_outcome, save_error
from ledgerlink.sync.flows import spend_money as flow
from ledgerlink.sync.plan import WRITES, Action, Op
from ledgerlink.sync.ports import fold

log = logging.getLogger("ledgerlink.sync")

STREAM = "spend_money"  # cursor: when the last run started
OVERLAP = timedelta(minutes=5)  # clocks differ: re-read a little; unchanged costs are skipped
IDS_PER_LOOKUP = 25  # BankTransactionIDs per where clause: keeps the query string short
RECONCILED_TEXT = "has been reconciled"  # Xero's refusal of a reconciled transaction (reference §3)


def run_spend_money(
    clio: ClioClient,
    xero: XeroClient,
    store: Store,
    connection_id: int,
    config: Config,
    result: PassResult,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    chart: Mapping[str, XeroAccount] | None = None,
) -> None:
    """Send Clio hard costs to Xero as Spend Money transactions; every outcome in ``result``.

    ``connection_id`` is the Xero organisation's connection; ``chart`` the chart of accounts by
    code when the pass has read it already (else it is read here).
    """
    settings = config.xero.hard_costs
    if not settings.enabled:
        return
    if settings.start_date is None or not settings.bank_account or not settings.expense_account:
        raise ConfigError(
            "[xero.hard_costs] needs start_date, bank_account and expense_account to sync hard costs.",
            remedy="Set start_date (hard costs dated on or after it are sent), bank_account (the code of the "
            "Xero bank account the money is spent from) and expense_account (the code of the account the "
            "cost is posted to), as in seed 004's setup.",
        )
    started = clock()
    if chart is None:
        chart = accounts_by_code(xero.accounts())
    check_accounts(chart, settings.bank_account, settings.expense_account)
    recovered = set() if result.dry_run else _settle_open_intents(store, connection_id, xero)
    links = store.links(connection_id, flow.KIND)
    cursor = store.cursor(connection_id, STREAM)
    reads = ClioDisbursements(clio)
    costs = reads.changed_since(cursor - OVERLAP if cursor else None, dated_from=settings.start_date)
    open_errors = store.open_errors(connection_id, flow.KIND, parked=False)
    again = set(links) | {e.source_id for e in open_errors if e.retryable} | recovered
    more, missing = reads.by_ids(again - {c.activity_id for c in costs})
    costs += more
    deleted = missing & set(links)
    world = flow.SpendMoneyWorld(
        start_date=settings.start_date,
        bank_account=settings.bank_account,
        expense_account=settings.expense_account,
        links=links,
        remote={},
    )
    remote = linked_transactions(xero, flow.to_check(costs, deleted, world))
    world = replace(
        world,
        remote={
            tid: flow.RemoteSpend(tid, t.status or "", bool(t.is_reconciled)) for tid, t in remote.items()
        },
    )
    actions = flow.plan_spend_money(costs, deleted, world)
    # A refusal that cannot change by retrying (a reconciled transaction) is reported once: while its
    # error is open, the same refusal on the next pass is not news.
    reported = {(e.source_id, e.message) for e in open_errors if not e.retryable}
    applied = _Apply(xero, store, connection_id, result, remote)
    applied.apply(actions, reported)
    if result.dry_run:
        return
    raised = {a.source_id for a in actions if a.op is Op.FAIL} | applied.failed
    touched = {c.activity_id for c in costs} | missing
    for source_id in store.open_error_ids(connection_id, flow.KIND, parked=False):
        if source_id in touched and source_id not in raised:
            store.resolve_error(connection_id, flow.KIND, source_id)
    store.set_cursor(connection_id, STREAM, started)


def check_accounts(accounts: Mapping[str, XeroAccount], bank_code: str, expense_code: str) -> None:
    """Both mapped accounts exist and are active, the bank one of type BANK; else a systemic error."""
    bank = accounts.get(bank_code)
    if bank is None or bank.status != "ACTIVE" or bank.type != "BANK":
        why = "no account" if bank is None else f"no active BANK account (it is {bank.status} {bank.type})"
        raise MappingMissingError(
            f"Xero has {why} with code '{bank_code}' to spend hard costs from "
            "([xero.hard_costs] bank_account).",
            remedy="Give the bank account a code in Xero's chart of accounts (or restore it), or fix "
            "[xero.hard_costs] bank_account.",
        )
    expense = accounts.get(expense_code)
    if expense is None or expense.status != "ACTIVE" or expense.type == "BANK":
        why = "no account" if expense is None else f"no active non-bank account (it is {expense.status})"
        raise MappingMissingError(
            f"Xero has {why} with code '{expense_code}' to post hard costs to "
            "([xero.hard_costs] expense_account).",
            remedy="Create (or restore) the expense account in Xero with that code, or fix "
            "[xero.hard_costs] expense_account.",
        )


def linked_transactions(xero: XeroClient, ids: set[str]) -> dict[str, XeroBankTransaction]:
    """The transactions with these BankTransactionIDs that Xero still has, by (lower-case) id."""
    wanted = sorted({i.lower() for i in ids})
    found: dict[str, XeroBankTransaction] = {}
    for start in range(0, len(wanted), IDS_PER_LOOKUP):
        chunk = wanted[start : start + IDS_PER_LOOKUP]
        where = " OR ".join(f'BankTransactionID==Guid("{i}")' for i in chunk)
        for transaction in xero.bank_transactions(where=where):
            if transaction.bank_transaction_id:
                found[transaction.bank_transaction_id.lower()] = transaction
    return {i: found[i.lower()] for i in ids if i.lower() in found}


def find_marked(xero: XeroClient, activity_id: str) -> XeroBankTransaction | None:
    """The live SPEND transaction whose Reference ends with the hard cost's marker (a lost answer's)."""
    mark = flow.marker(activity_id)
    found = [
        t
        for t in xero.bank_transactions(where=f'Type=="SPEND" AND Reference.EndsWith("{mark}")')
        if t.status == flow.LIVE and (t.reference or "").endswith(mark) and t.bank_transaction_id
    ]
    if len(found) > 1:
        log.warning(
            "hard cost %s: %d Xero transactions carry its marker; adopting one", activity_id, len(found)
        )
    return found[0] if found else None


def _settle_open_intents(store: Store, connection_id: int, xero: XeroClient) -> set[str]:
    """Close the intents a crash left open; adopt transactions that landed. Hard costs to re-read."""
    reread: set[str] = set()
    for intent in store.open_intents(connection_id):
        if intent.kind != flow.KIND:
            continue
        reread.add(intent.source_id)
        found = find_marked(xero, intent.source_id) if intent.op == Op.CREATE.value else None
        if found is None or found.bank_transaction_id is None:
            store.fail_intent(intent.key, "superseded: re-planned by a later run")
            continue
        log.info(
            "hard cost %s: adopting Xero transaction %s a lost answer created",
            intent.source_id,
            found.bank_transaction_id,
        )
        store.complete_intent(
            intent.key,
            found.bank_transaction_id,
            # The hash of what was sent: if Clio moved on since, the next plan updates the transaction.
            link=LinkWrite(
                connection_id, flow.KIND, intent.source_id, found.bank_transaction_id, intent.payload_hash
            ),
        )
    return reread


class VendorRefused(Exception):
    """The vendor's Xero contact could not be found or made: the record's error."""

    def __init__(self, error: RecordError) -> None:
        super().__init__(error.message)
        self.error = error


class XeroVendors:
    """Clio vendors as Xero contacts, found by name or created; cached for one run."""

    def __init__(self, xero: XeroClient) -> None:
        self._xero = xero
        self._found: dict[str, str | RecordError] = {}

    def contact_id(self, name: str) -> str:
        key = fold(name)
        if key not in self._found:
            self._found[key] = self._resolve(name)
        found = self._found[key]
        if isinstance(found, RecordError):
            raise VendorRefused(found)
        return found

    def _resolve(self, name: str) -> str | RecordError:
        same = [
            c
            for c in self._xero.contacts(search_term=name, include_archived=True)
            if c.contact_id and fold(c.name or "") == fold(name)
        ]
        same.sort(key=lambda c: (c.contact_status != "ACTIVE", c.name != name))
        if same and same[0].contact_id:
            return same[0].contact_id
        digest = hashlib.sha256(fold(name).encode()).hexdigest()[:24]
        [outcome] = self._xero.put_contacts([XeroContact(name=name)], key=f"spend_money.vendor.{digest}")
        if outcome.record is not None and outcome.record.contact_id:
            log.info("created Xero contact %s for the hard-cost vendor %s", outcome.record.contact_id, name)
            return outcome.record.contact_id
        return RecordError(
            cause="vendor_refused",
            message=f"Xero refused to create the contact for the vendor {name}: {outcome.error}",
            remedy="Create the vendor as a contact in Xero with the same name as in Clio; the next pass "
            "uses it.",
        )


class _Apply:
    """Carries out the spend-money plan of one run, recording every outcome (dry run: records only)."""

    def __init__(
        self,
        xero: XeroClient,
        store: Store,
        connection_id: int,
        result: PassResult,
        remote: dict[str, XeroBankTransaction],
    ) -> None:
        self.xero = xero
        self.store = store
        self.conn = connection_id
        self.result = result
        self.remote = remote
        self.vendors = XeroVendors(xero)
        self.parked = frozenset(store.parked_keys(connection_id))
        self.failed: set[str] = set()  # source ids whose write failed in this run

    def apply(self, actions: Sequence[Action], reported: set[tuple[str, str]]) -> None:
        writes: list[Action] = []
        for action in actions:
            if action.op is not Op.SKIP and (action.kind, action.source_id) in self.parked:
                self.result.parked.append(action)
                self._done(action, PARKED, None)
            elif action.error is not None and (action.source_id, action.error.message) in reported:
                self._done(action, "skipped", None)
            elif self.result.dry_run:
                self._done(action, OUTCOME[action.op], action.error)
            elif action.op in WRITES:
                writes.append(action)
            elif action.op is Op.SKIP:
                self.store.resolve_error(self.conn, action.kind, action.source_id)
                self._done(action, OUTCOME[action.op], None)
            else:
                assert action.error is not None
                self._fail(action, action.error)
        gone = [a for a in writes if isinstance(a.payload, flow.SpendDeletion) and a.payload.gone]
        for action in gone:
            self._forget(action)
        changes = [a for a in writes if a.op in (Op.UPDATE, Op.DELETE) and a not in gone]
        creates = [a for a in writes if a.op is Op.CREATE]
        for group, method in (
            (changes, self.xero.post_bank_transactions),
            (creates, self.xero.put_bank_transactions),
        ):
            for start in range(0, len(group), MAX_ELEMENTS_PER_WRITE):
                self._batch(group[start : start + MAX_ELEMENTS_PER_WRITE], method)

    # -- outcomes ------------------------------------------------------------------------------

    def _done(self, action: Action, outcome: str, error: RecordError | None) -> None:
        add_outcome(self.result, action, outcome, error)

    def _fail(self, action: Action, error: RecordError) -> None:
        save_error(self.store, self.conn, action, error, run_id=self.result.run_id)
        self.failed.add(action.source_id)
        self._done(action, OUTCOME[Op.FAIL], error)

    def _forget(self, action: Action) -> None:
        """A cost deleted in Clio whose transaction Xero no longer holds live: only the link goes."""
        assert action.target_id is not None
        intent = self.store.begin_intent(self.conn, action.op.value, action.kind, action.source_id, "")
        self.store.complete_intent(
            intent.key,
            action.target_id,
            link=LinkWrite(self.conn, action.kind, action.source_id, action.target_id, "", remove=True),
        )
        self.store.resolve_error(self.conn, action.kind, action.source_id)
        self._done(action, OUTCOME[action.op], None)

    # -- Xero writes ---------------------------------------------------------------------------

    def _batch(
        self,
        batch: Sequence[Action],
        method: Callable[..., list[ElementOutcome[XeroBankTransaction]]],
    ) -> None:
        bodies: list[XeroBankTransaction] = []
        ready: list[Action] = []
        for action in batch:
            try:
                bodies.append(self._body(action))
            except VendorRefused as refused:
                self._fail(action, refused.error)
                continue
            ready.append(action)
        if not ready:
            return
        intents = [
            self.store.begin_intent(self.conn, a.op.value, a.kind, a.source_id, a.content_hash or "")
            for a in ready
        ]
        for intent in intents:
            self.store.mark_intent_sent(intent.key)
        try:
            outcomes = method(bodies, key=f"{flow.KIND}.{intents[0].key}")
        except RateLimitedError as exc:
            for intent in intents:
                self.store.fail_intent(intent.key, str(exc))
            raise SystemicError(
                f"Xero kept answering 'too many requests': {exc}",
                remedy="The organisation's request budget is spent for now; run again later (cron will).",
            ) from None
        except ApiError as exc:
            if exc.status in (401, 403):
                raise
            if exc.status is not None and exc.status < 500:
                for action, intent in zip(ready, intents, strict=True):
                    self._refused(action, intent, exc)
                return
            self._uncertain(ready, intents, exc)
            return
        except TransportError as exc:
            self._uncertain(ready, intents, exc)
            return
        failpoints.hit("after_ledger_write")
        for action, intent, outcome in zip(ready, intents, outcomes, strict=True):
            if outcome.record is None or not outcome.record.bank_transaction_id:
                self._refused(action, intent, outcome.error)
                continue
            written = outcome.record
            assert written.bank_transaction_id is not None
            self.store.complete_intent(
                intent.key,
                written.bank_transaction_id,
                link=LinkWrite(
                    connection_id=self.conn,
                    kind=action.kind,
                    source_id=action.source_id,
                    target_id=written.bank_transaction_id,
                    content_hash=action.content_hash or "",
                    version_token=str(written.updated_date_utc) if written.updated_date_utc else None,
                    remove=action.op is Op.DELETE,
                ),
            )
            self.store.resolve_error(self.conn, action.kind, action.source_id)
            self._done(action, OUTCOME[action.op], None)

    def _body(self, action: Action) -> XeroBankTransaction:
        if isinstance(action.payload, flow.SpendDeletion):
            return self._deletion(action.payload.transaction_id)
        spend = action.payload
        assert isinstance(spend, flow.SpendMoney)
        return XeroBankTransaction(
            bank_transaction_id=action.target_id if action.op is Op.UPDATE else None,
            type="SPEND",
            contact=XeroContact(contact_id=self.vendors.contact_id(spend.vendor)),
            bank_account=XeroAccount(code=spend.bank_account),
            date=spend.date,
            reference=spend.reference,
            line_amount_types="NoTax",
            line_items=[
                XeroLineItem(
                    description=spend.description,
                    quantity=Decimal(1),
                    unit_amount=spend.amount,
                    account_code=spend.expense_account,
                )
            ],
        )

    def _deletion(self, transaction_id: str) -> XeroBankTransaction:
        current = self.remote[transaction_id]
        bank = current.bank_account
        return XeroBankTransaction(
            bank_transaction_id=transaction_id,
            type=current.type,
            status="DELETED",
            bank_account=XeroAccount(account_id=bank.account_id, code=None if bank.account_id else bank.code)
            if bank is not None
            else None,
            line_items=[
                XeroLineItem(
                    line_item_id=line.line_item_id,
                    description=line.description,
                    quantity=line.quantity,
                    unit_amount=line.unit_amount,
                    account_code=line.account_code,
                    tax_type=line.tax_type,
                )
                for line in current.line_items or []
            ],
        )

    def _refused(self, action: Action, intent: Intent, error: LedgerlinkError | None) -> None:
        text = str(error) if error is not None else "Xero returned no record and no reason"
        self.store.fail_intent(intent.key, text)
        if RECONCILED_TEXT in text:
            what = "deleted" if action.op is Op.DELETE else "edited"
            explained = flow.reconciled_error(what, action.label, action.target_id or "")
        else:
            explained = RecordError(
                cause="xero_refused",
                message=f"{action.label}: Xero refused the spend-money transaction: {text}",
                remedy="Fix what Xero names (in Clio, or the account mapping in [xero.hard_costs]); the next "
                "pass sends it again.",
            )
        self._fail(action, explained)

    def _uncertain(self, batch: Sequence[Action], intents: Sequence[Intent], exc: LedgerlinkError) -> None:
        """No usable answer: the writes may or may not have landed; the next pass finds out."""
        error = RecordError(
            cause="network",
            message=f"No answer from Xero: {exc}",
            remedy="Nothing to do: the next pass checks whether it arrived and finishes it without "
            "a duplicate.",
        )
        for action, intent in zip(batch, intents, strict=True):
            self.store.mark_intent_uncertain(intent.key, str(exc))
            self._fail(action, error)
