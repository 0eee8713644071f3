"""The payroll phase of a pass: Clio time entries → QBO TimeActivity (``[payroll] enabled``).

:func:`run_payroll` is what the sync pass calls after its own phases. Its order::

    service item checked (a missing one stops the pass before any write, like the invoice mapping)
      → time entries changed since the last payroll pass; the time on bills changed since then
        (approved, voided, back to draft); linked entries those bills held (gone = deleted)
      → Clio users, ledger employees → leftover intents resolved by the marker they wrote
      → plan (pure, :mod:`ledgerlink.sync.flows.payroll`) → apply (intents, batches, links)
      → cursor

Reads are incremental on Clio's ``updated_since`` (TimeActivity is outside QBO's change data
capture, so nothing is read back from QBO but the employees and, after a crash, the records a
lost create may have made). A dry run reads and plans, and writes nothing anywhere: no intent,
link, error row or cursor, nothing remote.

The first payroll pass with no ``[payroll] start_date`` posts time dated from its own day on,
and remembers that day (like a trust account's start).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from ledgerlink.config import Config
from ledgerlink.errors import MappingMissingError
from ledgerlink.store import Store
from ledgerlink.sync.apply import Applier, PassResult
from ledgerlink.sync.flows import contacts as contact_flow
from ledgerlink.sync.flows import payroll as payroll_flow
from ledgerlink.sync.payroll_ports import TimeActivityDraft, TimeEntry
from ledgerlink.sync.plan import Action
from ledgerlink.sync.ports import Written
from ledgerlink.sync.reading import OVERLAP, remembered_start

if TYPE_CHECKING:  # the engine knows providers only by type; the workspace hands them in
    from ledgerlink.providers.clio.source import ClioSource
    from ledgerlink.providers.qbo.ledger import QboLedger

STREAM = "clio:time_entries"
START = "payroll:start"


def run_payroll(
    source: ClioSource,
    ledger: QboLedger,
    store: Store,
    connection_id: int,
    config: Config,
    result: PassResult,
    *,
    today: date,
    now: datetime | None = None,
) -> None:
    """Post approved time entries as TimeActivities; record every outcome in ``result`` and the store."""
    started = now or datetime.now(UTC)
    item = service_item(config)
    if ledger.missing_items({item}):
        raise MappingMissingError(
            f"QuickBooks has no Product/Service named {item!r} for payroll time",
            remedy="Create the service item in QuickBooks or set [payroll] service_item in the config.",
        )
    start_date = config.payroll.start_date or remembered_start(
        store, connection_id, START, today, dry_run=result.dry_run
    )
    leftovers = [] if result.dry_run else [i for i in store.open_intents(connection_id) if i.kind == KIND]
    pending = {i.source_id: i.key for i in leftovers}
    links = store.links(connection_id, KIND)

    entries, deleted = _read(source, store, connection_id, links, set(pending))
    landed = _landed(ledger, entries, pending)
    wanted = [e for e in entries if payroll_flow.in_scope(e, start_date)]
    world = payroll_flow.PayrollWorld(
        users={u.source_id: u for u in source.users()} if wanted else {},
        employees=ledger.employees() if wanted else (),
        contact_links=store.links(connection_id, contact_flow.KIND),
        links=links,
        item=item,
        start_date=start_date,
        landed=landed,
        ledger_title=ledger.title,
    )
    actions = payroll_flow.plan_payroll(entries, world, deleted=deleted)
    Applier(
        source=source,
        ledger=ledger,
        store=store,
        connection_id=connection_id,
        result=result,
        should_stop=lambda: False,
        on_progress=lambda action, outcome: None,
        snapshot=_snapshot,
    ).apply(actions)
    if result.dry_run:
        return
    for intent in leftovers:
        store.fail_intent(intent.key, "superseded: resolved by lookup in a later pass")
    if not result.interrupted:
        store.set_cursor(connection_id, STREAM, started)


KIND = payroll_flow.KIND


def service_item(config: Config) -> str:
    """The Product/Service every TimeActivity is posted to: ``[payroll] service_item`` or the time mapping."""
    item = config.payroll.service_item or config.mapping.time_entries
    if not item:
        raise MappingMissingError(
            "No Product/Service is set for payroll time",
            remedy='Set [payroll] service_item = "<service item>" (or [mapping] time_entries) in the config.',
        )
    return item


def _read(
    source: ClioSource,
    store: Store,
    connection_id: int,
    links: Mapping[str, Any],
    extra: set[str],
) -> tuple[list[TimeEntry], set[str]]:
    """Entries to plan, and linked entries Clio no longer has (deleted)."""
    mark = store.cursor(connection_id, STREAM)
    since = mark - OVERLAP if mark else None
    entries = {e.source_id: e for e in source.time_entries(since=since)}
    asked: set[str] = set(extra)
    if since is not None:
        on_bills = source.time_entries_on_changed_bills(since)
        for bill_id, entry_ids in on_bills.items():
            asked |= entry_ids
            asked |= {s for s, link in links.items() if (link.snapshot or {}).get("bill") == bill_id}
    asked -= set(entries)
    if asked:
        entries.update({e.source_id: e for e in source.time_entries(ids=asked)})
    deleted = {s for s in asked if s in links and s not in entries}
    return sorted(entries.values(), key=lambda e: int(e.source_id)), deleted


def _landed(
    ledger: QboLedger, entries: Sequence[TimeEntry], pending: Mapping[str, str]
) -> dict[str, Written]:
    """TimeActivities an interrupted pass may have created, found by their marker: entry id → record."""
    dates = {e.source_id: e.date for e in entries if e.source_id in pending and e.date is not None}
    wanted = {pending[s]: day for s, day in dates.items()}
    if not wanted:
        return {}
    by_key = ledger.find_marked_time(wanted)
    return {s: by_key[key] for s, key in pending.items() if key in by_key}


def _snapshot(action: Action, written: Written) -> dict[str, Any] | None:
    """A link remembers the entry's bill: a later change to that bill re-reads the entry."""
    if isinstance(action.payload, TimeActivityDraft):
        return {"bill": action.payload.entry.bill_id}
    return None
