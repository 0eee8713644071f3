"""The hard-cost import's I/O edge (QBO → Clio, seed 002): read, plan, write to Clio, record.

Called by the sync pass after its own phases when ``[import.hard_costs] enabled`` (see
:func:`run_hard_cost_import`). Reads are incremental: the purchases QBO changed since the last run
(``MetaData.LastUpdatedTime``; QBO cannot filter purchases by account or customer, so the lines
are filtered here), the purchases it deleted (change data capture), and again the purchases that
still have an open, retryable error (a matter opened in Clio since then fixes them without any
change in QBO). The first run — or one more than CDC's 30 days after the last — reads every
purchase dated on or after the start date, and a linked purchase missing from that read was deleted.

Crash safety: each Clio write runs under an intent row; the entry's note ends with
``[QBO Purchase <id>]``. An intent a crash left open is settled at the start of the next run: a
create whose entry is found by that marker on its matter is adopted (linked), never made twice;
anything else is re-planned from QBO.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from ledgerlink import failpoints
from ledgerlink.config import Config
from ledgerlink.errors import ApiError, ConfigError, MappingMissingError, RecordError, TransportError
from ledgerlink.providers.clio.hard_costs import ClioHardCosts
from ledgerlink.providers.clio.source import ClioSource
from ledgerlink.providers.qbo.ledger import QboLedger
from ledgerlink.providers.qbo.purchases import purchase_from_qbo
from ledgerlink.store import LinkWrite, Store
from ledgerlink.sync.apply import OUTCOME, PassResult, save_error
from ledgerlink.sync.flows import hard_costs as flow
from ledgerlink.sync.plan import Action, Op

log = logging.getLogger("ledgerlink.sync")

STREAM = "hard_costs"  # cursor: when the last import run started
OVERLAP = timedelta(minutes=5)  # clocks differ: re-read a little; unchanged entries are skipped
EXPENSE_TYPES = frozenset({"Expense", "Other Expense", "Cost of Goods Sold"})


def run_hard_cost_import(
    source: ClioSource,
    ledger: QboLedger,
    store: Store,
    connection_id: int,
    config: Config,
    result: PassResult,
    *,
    today: date,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Import QBO expenses and cheques on the hard-cost account into Clio; every outcome in ``result``.

    A dry run reads and plans only: nothing is written to Clio or to the store.
    """
    settings = config.imports.hard_costs
    if not settings.enabled:
        return
    if settings.start_date is None or not settings.qbo_account:
        raise ConfigError(
            "[import.hard_costs] needs start_date and qbo_account to import hard costs.",
            remedy="Set start_date (QBO transactions on or after it are imported) and qbo_account (the QBO "
            "expense account, e.g. 'Reimbursable Expenses'), as in seed 002's setup.",
        )
    started = clock()
    clio = source.hard_costs()
    account = ledger.accounts([settings.qbo_account]).get(settings.qbo_account)
    if account is None or not account.active:
        raise MappingMissingError(
            f"QuickBooks has no active account named '{settings.qbo_account}' to import hard costs from.",
            remedy="Create the expense account in QuickBooks or fix [import.hard_costs] qbo_account.",
        )
    recovered = set() if result.dry_run else _settle_open_intents(store, connection_id, clio)
    links = store.links(connection_id, flow.KIND)
    cursor = store.cursor(connection_id, STREAM)
    deleted = ledger.deleted_purchases(cursor - OVERLAP) if cursor is not None else None
    if cursor is None or deleted is None:
        rows = ledger.purchases_dated_from(settings.start_date)
        present = {str(row["Id"]) for row in rows}
        deleted = {flow.purchase_of(s) for s in links} - present
    else:
        rows = ledger.purchases_updated_since(cursor - OVERLAP)
    retry = {
        flow.purchase_of(e.source_id)
        for e in store.open_errors(connection_id, flow.KIND, parked=False)
        if e.retryable
    } | recovered
    retry -= {str(row["Id"]) for row in rows} | deleted
    rows += ledger.purchases_by_id(retry)
    deleted |= retry - {str(row["Id"]) for row in rows}
    purchases = [p for row in rows if (p := purchase_from_qbo(row)) is not None]

    names = {
        line.customer_id: line.customer_name or line.customer_id
        for p in purchases
        if p.txn_date >= settings.start_date
        for line in p.lines
        if line.customer_id and line.item is None and line.account_id == account.id
    }
    contact_links = store.links(connection_id, flow.CONTACT_KIND)
    linked = {link.target_id: clio_id for clio_id, link in contact_links.items() if link.target_id in names}
    choices = store.links(connection_id, flow.MATTER_CHOICE)
    chosen = {c: choices[c].target_id for c in names if c in choices}
    touched = {p.purchase_id for p in purchases} | deleted
    world = flow.HardCostWorld(
        account_id=account.id,
        start_date=settings.start_date,
        entry_type=settings.entry_type,
        user_id=clio.user_id(settings.clio_user),
        customers=clio.customers(names, linked, chosen) if names else {},
        links=links,
        entries=clio.entries({link.target_id for s, link in links.items() if flow.purchase_of(s) in touched}),
    )
    actions = flow.plan_hard_costs(purchases, deleted, world)
    parked = store.parked_keys(connection_id)
    # A refusal that cannot change by retrying (a billed entry) is reported once: while its error
    # is open, the same refusal — e.g. from re-reading the purchase in the overlap — is not news.
    reported = {
        (e.source_id, e.message)
        for e in store.open_errors(connection_id, flow.KIND, parked=False)
        if not e.retryable
    }
    for action in actions:
        if (action.kind, action.source_id) in parked and action.op is not Op.SKIP:
            result.parked.append(action)
            result.actions.append(action)
            result.tally.add(action.kind, "parked")
            continue
        if action.error is not None and (action.source_id, action.error.message) in reported:
            result.actions.append(action)
            result.tally.add(action.kind, "skipped")
            continue
        _apply(action, clio, store, connection_id, result, world)
    if result.dry_run:
        return
    raised = {a.source_id for a in actions if a.op is Op.FAIL}
    for source_id in store.open_error_ids(connection_id, flow.KIND, parked=False):
        if flow.purchase_of(source_id) in touched and source_id not in raised:
            store.resolve_error(connection_id, flow.KIND, source_id)
    store.set_cursor(connection_id, STREAM, started)


def _settle_open_intents(store: Store, connection_id: int, clio: ClioHardCosts) -> set[str]:
    """Close the intents a crash left open; adopt entries that landed. Purchases to re-read."""
    reread: set[str] = set()
    for intent in store.open_intents(connection_id):
        if intent.kind != flow.KIND:
            continue
        purchase_id, _, matter_id = intent.source_id.partition("/")
        reread.add(purchase_id)
        found = clio.find_marked(flow.marker(purchase_id), matter_id) if intent.op == "create" else None
        if found is None:
            store.fail_intent(intent.key, "superseded: re-planned by a later run")
            continue
        log.info("hard cost %s: adopting Clio entry %s a lost answer created", intent.source_id, found.id)
        store.complete_intent(
            intent.key,
            str(found.id),
            # The hash of what was sent: if QBO moved on since, the next plan updates the entry.
            link=LinkWrite(connection_id, flow.KIND, intent.source_id, str(found.id), intent.payload_hash),
        )
    return reread


def _uncertain(
    store: Store, connection_id: int, result: PassResult, action: Action, key: str, exc: Exception
) -> tuple[str, RecordError | None]:
    """No usable answer from Clio: the write may or may not have landed; the next pass finds out."""
    store.mark_intent_uncertain(key, str(exc))
    error = RecordError(
        cause="network",
        message=f"{action.label}: no answer from Clio: {exc}",
        remedy="Nothing to do: the next pass checks whether the entry arrived and finishes it "
        "without a duplicate.",
    )
    return "failed", _record(store, connection_id, result, action, error)


def _apply(
    action: Action,
    clio: ClioHardCosts,
    store: Store,
    connection_id: int,
    result: PassResult,
    world: flow.HardCostWorld,
) -> None:
    outcome, error = OUTCOME[action.op], action.error
    if result.dry_run:
        pass
    elif action.op is Op.SKIP:
        store.resolve_error(connection_id, action.kind, action.source_id)
    elif action.op is Op.FAIL:
        assert error is not None
        _record(store, connection_id, result, action, error)
    else:
        outcome, error = _write(action, clio, store, connection_id, result, world)
    result.actions.append(action)
    result.tally.add(action.kind, outcome)
    if error is not None:
        result.problems.append((action, error))
    elif action.notice:
        result.notices.append((action, action.notice))


def _write(
    action: Action,
    clio: ClioHardCosts,
    store: Store,
    connection_id: int,
    result: PassResult,
    world: flow.HardCostWorld,
) -> tuple[str, RecordError | None]:
    intent = store.begin_intent(
        connection_id, action.op.value, action.kind, action.source_id, action.content_hash or ""
    )
    store.mark_intent_sent(intent.key)
    try:
        if action.op is Op.DELETE:
            assert action.target_id is not None
            clio.delete(action.target_id)
            written_id = action.target_id
        elif action.op is Op.UPDATE:
            assert action.target_id is not None and isinstance(action.payload, flow.HardCost)
            entry = world.entries.get(action.target_id)
            written_id = str(
                clio.update(action.target_id, action.payload, etag=entry.etag if entry else None).id
            )
        else:
            assert isinstance(action.payload, flow.HardCost)
            written_id = str(clio.create(action.payload).id)
    except TransportError as exc:
        return _uncertain(store, connection_id, result, action, intent.key, exc)
    except ApiError as exc:
        if exc.exit_code == 3 and exc.status in (401, 403):
            raise
        if action.op is Op.CREATE and exc.status is not None and exc.status >= 500:
            # A server or gateway failure answers nothing about the write: it may have landed (a
            # lost answer is a 502). Uncertain, so the next pass looks for it by its marker.
            return _uncertain(store, connection_id, result, action, intent.key, exc)
        store.fail_intent(intent.key, str(exc))
        error = RecordError(
            cause="clio_refused",
            message=f"{action.label}: Clio refused the entry: {exc}",
            remedy=exc.remedy,
            retryable=exc.status is None or exc.status >= 500 or exc.status in (409, 412, 429),
        )
        return "failed", _record(store, connection_id, result, action, error)
    failpoints.hit("after_clio_write")
    store.complete_intent(
        intent.key,
        written_id,
        link=LinkWrite(
            connection_id,
            action.kind,
            action.source_id,
            written_id,
            action.content_hash or "",
            remove=action.op is Op.DELETE,
        ),
    )
    store.resolve_error(connection_id, action.kind, action.source_id)
    return OUTCOME[action.op], None


def _record(
    store: Store, connection_id: int, result: PassResult, action: Action, error: RecordError
) -> RecordError:
    save_error(store, connection_id, action, error, run_id=result.run_id)
    return error
