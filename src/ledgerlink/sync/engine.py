"""One sync pass: read what changed on both sides, plan, then apply the plan phase by phase.

The order of a pass::

    lock → run row → leftover intents (their records are re-read and resolved by lookup)
         → what changed in the ledger since the last pass (one change-data-capture read)
         → read changed bills, payments, credit notes and the contacts they need
         → contacts (to the ledger; ledger-side edits back to Clio)
         → invoices (create / update)  → credit notes → their applications → payments
         → credit-note deletions → invoice voids and deletions
         → advance cursors → finish the run row → unlock

The order is the order of dependence: a payment needs its invoice, a credit application its
credit note, and a voided bill's payments are removed (Clio refuses to void a bill with payments,
so their deletion arrives in the same pass) before the invoice is voided.

Each write goes through an intent row (key = QBO ``requestid`` and a marker on the record), so a
crash anywhere leaves at most an *uncertain* intent that the next pass resolves without a
duplicate. One record failing is recorded in ``sync_errors`` and the pass goes on; systemic faults
(auth, rate budget, missing mapping) stop it with exit code 3.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledgerlink.config import Config
from ledgerlink.domain import Contact, CreditNote, Invoice, Payment
from ledgerlink.errors import LedgerlinkError, LockHeldError, MappingMissingError, RecordError
from ledgerlink.store import Store
from ledgerlink.sync import tax
from ledgerlink.sync.apply import WRITEBACK, Applier, PassResult, ProgressFn
from ledgerlink.sync.flows import contact_merge
from ledgerlink.sync.flows import contacts as contact_flow
from ledgerlink.sync.flows import credit_notes as credit_flow
from ledgerlink.sync.flows import invoices as invoice_flow
from ledgerlink.sync.flows import payments as payment_flow
from ledgerlink.sync.mapping import configured_items
from ledgerlink.sync.plan import Action, Op
from ledgerlink.sync.ports import (
    InvoiceDraft,
    Ledger,
    LedgerChanges,
    LedgerCustomer,
    LedgerSettings,
    LinkView,
    Source,
    Written,
)

__all__ = ["PassResult", "ProgressFn", "SyncPass"]

log = logging.getLogger("ledgerlink.sync")

OVERLAP = timedelta(minutes=2)
LOCK_NAME = "sync"
LOCK_TTL_SECONDS = 15 * 60
STREAM_BILLS = "clio:bills"
STREAM_CONTACTS = "clio:contacts"
STREAM_ALLOCATIONS = "clio:allocations"
STREAM_LEDGER = "ledger:changes"
# The words a blocked record's ``blocked_by`` uses for its parent, and the parent's link kind.
BLOCKER_KINDS = {"bill": invoice_flow.KIND}
# Link kinds whose ledger-side edits are overwritten with Clio's version (Clio owns them).
CLIO_OWNED = (
    invoice_flow.KIND,
    payment_flow.KIND,
    credit_flow.KIND,
    credit_flow.APPLICATION_KIND,
)


@dataclass(frozen=True)
class _PlannedLink:
    """A stand-in link for a record that a dry run would create (so its dependants plan normally)."""

    target_id: str
    content_hash: str = ""
    version_token: str | None = None


class SyncPass:
    """Everything one pass needs, passed in: source, ledger, store, config, clock and a stop flag."""

    def __init__(
        self,
        *,
        source: Source,
        ledger: Ledger,
        store: Store,
        connection_id: int,
        config: Config,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        should_stop: Callable[[], bool] = lambda: False,
        on_progress: ProgressFn | None = None,
        since: date | None = None,
    ) -> None:
        self.source = source
        self.ledger = ledger
        self.store = store
        self.conn = connection_id
        self.config = config
        self.clock = clock
        self.should_stop = should_stop
        self.on_progress = on_progress or (lambda action, outcome: None)
        self.since = since  # a one-off backfill: bills issued on or after this date, whatever the cursor
        self.owner = f"{socket.gethostname()}:{os.getpid()}"
        self._settings: LedgerSettings | None = None

    # -- the pass ------------------------------------------------------------------------------

    def run(self, *, dry_run: bool = False) -> PassResult:
        """Run one pass; return what it did. Systemic faults raise after the run row is closed."""
        if not dry_run:
            self._lock()
        result = PassResult(run_id=self.store.start_run(dry_run=dry_run), dry_run=dry_run)
        try:
            self._run(result)
        except LedgerlinkError as exc:
            self.store.finish_run(
                result.run_id,
                status="failed",
                exit_code=exc.exit_code,
                counts=result.tally.as_dict(),
                error=f"{exc}",
            )
            raise
        except BaseException:
            self.store.finish_run(
                result.run_id,
                status="interrupted",
                exit_code=3,
                counts=result.tally.as_dict(),
                error="interrupted",
            )
            raise
        else:
            self.store.finish_run(
                result.run_id, status=result.status, exit_code=result.exit_code, counts=result.tally.as_dict()
            )
        finally:
            if not dry_run:
                self.store.release_lock(LOCK_NAME, self.owner)
        return result

    def _lock(self) -> None:
        """Take the pass lock; a lock left by a crashed pass on this machine is taken over at once."""
        try:
            self.store.acquire_lock(LOCK_NAME, self.owner, LOCK_TTL_SECONDS)
        except LockHeldError:
            holder = self.store.lock_owner(LOCK_NAME)
            if holder is None or not _dead_here(holder):
                raise
            log.warning("taking over the pass lock of %s: that process no longer runs", holder)
            self.store.release_lock(LOCK_NAME, holder)
            self.store.acquire_lock(LOCK_NAME, self.owner, LOCK_TTL_SECONDS)

    def _applier(self, result: PassResult) -> Applier:
        return Applier(
            source=self.source,
            ledger=self.ledger,
            store=self.store,
            connection_id=self.conn,
            result=result,
            should_stop=self.should_stop,
            on_progress=self.on_progress,
            snapshot=_snapshot,
            after_batch=lambda: self.store.renew_lock(LOCK_NAME, self.owner, LOCK_TTL_SECONDS),
        )

    def _run(self, result: PassResult) -> None:
        started = self.clock()
        apply = self._applier(result).apply
        leftovers = [] if result.dry_run else self.store.open_intents(self.conn)
        pending = {(i.kind, i.source_id): i.key for i in leftovers}
        extra = _by_kind(pending)
        scope = invoice_flow.InvoiceScope(
            states=frozenset(self.config.sync.bill_states),
            start_date=self.since or self.config.sync.start_date,
        )
        changes = self._ledger_changes()

        invoices = self._changed_invoices(extra.get(invoice_flow.KIND, ()))
        payment_kinds = (payment_flow.KIND,)
        credit_kinds = (credit_flow.KIND, credit_flow.APPLICATION_KIND)
        payments = self._changed_payments(_ids(extra, payment_kinds))
        credits = self._changed_credit_notes(_ids(extra, credit_kinds))

        # -- contacts --------------------------------------------------------------------------
        known_links = self.store.links(self.conn, contact_flow.KIND)
        postable = [i for i in invoices if scope.includes(i) and (i.lines or i.total)]
        wanted = {i.contact_id for i in postable} | {p.contact_id for p in payments if not p.voided}
        wanted |= {c.contact_id for c in credits if not c.voided}
        edited = _edited_customers(changes, known_links)
        contacts = self._contacts(
            (wanted - set(known_links)) | set(edited), known_links, extra_ids=extra.get(contact_flow.KIND, ())
        )
        contact_actions = self._plan_contacts(contacts, known_links, edited)
        apply(contact_actions)
        self._close_leftovers(leftovers, (contact_flow.KIND, WRITEBACK))
        if result.interrupted:
            return

        stored = self.store.links(self.conn, contact_flow.KIND)
        names = {s: str(link.snapshot.get("name", "")) for s, link in stored.items() if link.snapshot}
        names.update({c.source_id: c.name for c in contacts})
        contact_links: dict[str, LinkView] = dict(stored)
        if result.dry_run:
            _stand_in(contact_links, contact_actions)
        failed = {a.source_id: a.label for a, _error in result.problems if a.kind == contact_flow.KIND}

        # -- invoices --------------------------------------------------------------------------
        invoice_actions = self._plan_invoices(invoices, scope, contact_links, failed, names, pending, changes)
        endings = [a for a in invoice_actions if a.op in (Op.VOID, Op.DELETE)]
        apply([a for a in invoice_actions if a.op not in (Op.VOID, Op.DELETE)])
        self._close_leftovers(leftovers, (invoice_flow.KIND,))
        if result.interrupted:
            return
        invoice_links: dict[str, LinkView] = dict(self.store.links(self.conn, invoice_flow.KIND))
        if result.dry_run:
            _stand_in(invoice_links, invoice_actions)
        unsynced = {e.source_id: e.label for e in self.store.open_errors(self.conn, invoice_flow.KIND)}
        unsynced.update(
            {a.source_id: a.label for a in result.actions if a.kind == invoice_flow.KIND and a.error}
        )
        # Payments and credits to try again, read only now: one still waiting for a bill or contact
        # that failed again in this pass would only be blocked again (Clio's budget is small).
        waiting = self._still_waiting()
        payments += self._retry_payments(payment_kinds, payments, changes, waiting)
        credits += self._retry_credit_notes(credit_kinds, credits, changes, waiting)
        bills = self._bills_paid(payments, credits, invoices, invoice_links)
        apply(self._still_blocked(waiting, (*payment_kinds, *credit_kinds), {*payments, *credits}))

        # -- credit notes, their applications, payments -----------------------------------------
        money_world = dict(
            contact_links=contact_links,
            invoice_links=invoice_links,
            unsynced_bills=unsynced,
            out_of_scope_bills={
                s: reason
                for s, bill in bills.items()
                if (reason := invoice_flow.out_of_scope_reason(bill, scope))
            },
            bill_labels={s: invoice_flow.invoice_label(b, names.get(b.contact_id)) for s, b in bills.items()},
            failed_contacts=failed,
            contact_names=names,
            versions=changes.versions if changes else {},
            ledger_title=self.ledger.title,
        )
        credit_actions = credit_flow.plan_credit_notes(
            credits,
            credit_flow.CreditWorld(
                links=self.store.links(self.conn, credit_flow.KIND),
                item=self.config.mapping.credit_notes,
                **money_world,  # type: ignore[arg-type]
            ),
        )
        credit_deletions = [a for a in credit_actions if a.op is Op.DELETE]
        apply([a for a in credit_actions if a.op is not Op.DELETE])
        credit_links: dict[str, LinkView] = dict(self.store.links(self.conn, credit_flow.KIND))
        if result.dry_run:
            _stand_in(credit_links, credit_actions)
        apply(
            credit_flow.plan_credit_applications(
                credits,
                credit_flow.ApplicationWorld(
                    links=self.store.links(self.conn, credit_flow.APPLICATION_KIND),
                    credit_links=credit_links,
                    **money_world,  # type: ignore[arg-type]
                ),
            )
        )
        apply(
            payment_flow.plan_payments(
                payments,
                payment_flow.PaymentWorld(
                    links=self.store.links(self.conn, payment_flow.KIND),
                    deposit_account=self.config.mapping.payment_account or None,
                    **money_world,  # type: ignore[arg-type]
                ),
            )
        )
        apply(credit_deletions)
        apply(endings)
        for kind in (credit_flow.KIND, credit_flow.APPLICATION_KIND, payment_flow.KIND):
            self._close_leftovers(leftovers, (kind,))
        if result.interrupted or result.dry_run:
            return
        # High-water marks are the pass start, never later: a change made while this pass was
        # reading is re-read next time (with OVERLAP for clock skew), never skipped. A --since
        # backfill reads by issue date, so it leaves the bills cursor where it was.
        for stream in (STREAM_CONTACTS, STREAM_ALLOCATIONS, STREAM_LEDGER):
            self.store.set_cursor(self.conn, stream, started)
        if self.since is None:
            self.store.set_cursor(self.conn, STREAM_BILLS, started)

    # -- reading -------------------------------------------------------------------------------

    def _mark(self, stream: str) -> datetime | None:
        mark = self.store.cursor(self.conn, stream)
        return mark - OVERLAP if mark else None

    def _ledger_changes(self) -> LedgerChanges | None:
        """What was edited or deleted in the ledger since the last pass (None on a first pass)."""
        mark = self._mark(STREAM_LEDGER)
        if mark is None:
            return None
        changes = self.ledger.changes(mark, CLIO_OWNED)
        if changes is None:
            log.warning(
                "%s could not list its changes since the last pass (over 30 days ago, or too many): "
                "edits made there are not detected this time",
                self.ledger.title,
            )
        return changes

    def _changed_invoices(self, extra_ids: Collection[str]) -> list[Invoice]:
        start = self.since or self.config.sync.start_date
        invoices = self.source.changed_invoices(
            None if self.since else self._mark(STREAM_BILLS),
            issued_after=start - timedelta(days=1) if start else None,
        )
        have = {i.source_id for i in invoices}
        retry = (self.store.open_error_ids(self.conn, invoice_flow.KIND) | set(extra_ids)) - have
        if retry:
            invoices = invoices + self.source.invoices(sorted(retry))
        return invoices

    def _retry_ids(
        self,
        kinds: Sequence[str],
        have: Collection[str],
        changes: LedgerChanges | None,
        waiting: Collection[tuple[str, str]],
    ) -> list[str]:
        """Source ids to read again: open errors not still waiting on a failed parent, and records
        edited or deleted in the ledger since the last pass."""
        ids: set[str] = set()
        for kind in kinds:
            ids |= {
                e.source_id
                for e in self.store.open_errors(self.conn, kind)
                if (kind, e.source_id) not in waiting
            }
            if changes is not None:
                touched = changes.versions.get(kind, {})
                for source_id, link in self.store.links(self.conn, kind).items():
                    if link.target_id in touched and touched[link.target_id] != link.version_token:
                        ids.add(source_id)
        return sorted(ids - set(have))

    def _still_waiting(self) -> set[tuple[str, str]]:
        """(kind, id) of blocked records whose blocker (a bill or contact) still has an open error."""
        errors = self.store.open_errors(self.conn)
        open_records = {(e.kind, e.source_id) for e in errors}
        waiting = set()
        for error in errors:
            if error.cause != "blocked" or not error.blocked_by:
                continue
            noun, _, parent = error.blocked_by.partition(" ")
            if (BLOCKER_KINDS.get(noun, noun), parent) in open_records:
                waiting.add((error.kind, error.source_id))
        return waiting

    def _still_blocked(
        self,
        waiting: Collection[tuple[str, str]],
        kinds: Sequence[str],
        read: Collection[Payment | CreditNote],
    ) -> list[Action]:
        """Records not read again because their parent failed again: still blocked, and counted so."""
        seen = {r.source_id for r in read}
        return [
            Action(
                Op.BLOCKED,
                e.kind,
                e.source_id,
                e.label,
                error=RecordError(
                    cause=e.cause,
                    message=e.message,
                    remedy=e.remedy,
                    retryable=e.retryable,
                    blocked_by=e.blocked_by,
                ),
            )
            for e in self.store.open_errors(self.conn)
            if e.kind in kinds and (e.kind, e.source_id) in waiting and e.source_id not in seen
        ]

    def _changed_payments(self, extra: Collection[str]) -> list[Payment]:
        if not self.config.sync.payments:
            return []
        payments = self.source.changed_payments(self._mark(STREAM_ALLOCATIONS))
        unread = sorted(set(extra) - {p.source_id for p in payments})
        return payments + (self.source.payments(unread) if unread else [])

    def _retry_payments(
        self,
        kinds: Sequence[str],
        have: Sequence[Payment],
        changes: LedgerChanges | None,
        waiting: Collection[tuple[str, str]],
    ) -> list[Payment]:
        if not self.config.sync.payments:
            return []
        retry = self._retry_ids(kinds, {p.source_id for p in have}, changes, waiting)
        return self.source.payments(retry) if retry else []

    def _changed_credit_notes(self, extra: Collection[str]) -> list[CreditNote]:
        if not self.config.sync.credit_notes:
            return []
        credits = self.source.changed_credit_notes(self._mark(STREAM_ALLOCATIONS))
        unread = sorted(set(extra) - {c.source_id for c in credits})
        return credits + (self.source.credit_notes(unread) if unread else [])

    def _retry_credit_notes(
        self,
        kinds: Sequence[str],
        have: Sequence[CreditNote],
        changes: LedgerChanges | None,
        waiting: Collection[tuple[str, str]],
    ) -> list[CreditNote]:
        if not self.config.sync.credit_notes:
            return []
        retry = self._retry_ids(kinds, {c.source_id for c in have}, changes, waiting)
        return self.source.credit_notes(retry) if retry else []

    def _bills_paid(
        self,
        payments: Sequence[Payment],
        credits: Sequence[CreditNote],
        invoices: Sequence[Invoice],
        invoice_links: Mapping[str, LinkView],
    ) -> dict[str, Invoice]:
        """The bills payments and credits apply to, for labels and scope (unlinked ones read from Clio)."""
        referenced = {b for p in payments for b in p.bill_ids} | {b for c in credits for b in c.bill_ids}
        known = {i.source_id: i for i in invoices if i.source_id in referenced}
        unread = referenced - set(known) - set(invoice_links)
        if unread:
            known.update({i.source_id: i for i in self.source.invoices(sorted(unread))})
        return known

    def _contacts(
        self, needed: set[str], links: Mapping[str, LinkView], extra_ids: Collection[str]
    ) -> list[Contact]:
        changed = self.source.changed_contacts(self._mark(STREAM_CONTACTS))
        retry = self.store.open_error_ids(self.conn, contact_flow.KIND) | set(extra_ids)
        retry |= self.store.open_error_ids(self.conn, WRITEBACK)
        wanted = needed | retry
        relevant = [c for c in changed if c.source_id in links or c.source_id in wanted]
        missing = wanted - {c.source_id for c in relevant}
        if missing:
            relevant += self.source.contacts(sorted(missing))
        return relevant

    # -- planning ------------------------------------------------------------------------------

    def _settings_once(self) -> LedgerSettings:
        if self._settings is None:
            self._settings = self.ledger.settings()
        return self._settings

    def _plan_contacts(
        self,
        contacts: Sequence[Contact],
        links: Mapping[str, LinkView],
        edited: Mapping[str, LedgerCustomer],
    ) -> list[Action]:
        unlinked = any(c.source_id not in links for c in contacts)
        actions = contact_flow.plan_contacts(
            contacts,
            links,
            self.ledger.customers() if unlinked else [],
            self.ledger.name_holders() if unlinked else {},
            display_name=self.ledger.display_name,
            ledger_title=self.ledger.title,
        )
        return contact_merge.merge_actions(actions, contacts, links, edited, ledger_title=self.ledger.title)

    def _plan_invoices(
        self,
        invoices: Sequence[Invoice],
        scope: invoice_flow.InvoiceScope,
        contact_links: Mapping[str, LinkView],
        failed: Mapping[str, str],
        names: Mapping[str, str],
        pending: Mapping[tuple[str, str], str],
        changes: LedgerChanges | None,
    ) -> list[Action]:
        in_scope = [i for i in invoices if scope.includes(i)]
        settings = (
            self._settings_once() if in_scope else LedgerSettings(custom_numbers=True, computes_tax=False)
        )
        if in_scope:
            self._check_mapping(settings)
        links = self.store.links(self.conn, invoice_flow.KIND)
        unlinked = invoice_flow.unlinked_numbers(in_scope, links)
        existing = self.ledger.invoices_by_number(unlinked) if unlinked else {}
        world = invoice_flow.InvoiceWorld(
            scope=scope,
            links=links,
            contact_links=contact_links,
            failed_contacts=failed,
            existing=existing,
            mapping=self.config.mapping,
            contact_names=names,
            max_number=self.ledger.max_doc_number,
            ours={s: key for (k, s), key in pending.items() if k == invoice_flow.KIND},
            custom_numbers=settings.custom_numbers,
            settings=settings,
            aggregate_taxes=self.config.sync.aggregate_line_item_taxes,
            versions=(changes.versions.get(invoice_flow.KIND, {}) if changes else {}),
        )
        return invoice_flow.plan_invoices(invoices, world)

    def _check_mapping(self, settings: LedgerSettings) -> None:
        """Stop before writing anything when the mapping names what the ledger does not have."""
        wanted = configured_items(self.config.mapping)
        missing = self.ledger.missing_items(wanted)
        source = self.config.source or "the config"
        if missing:
            where = "; ".join(f"“{name}” (from {wanted[name]})" for name in sorted(missing))
            raise MappingMissingError(
                f"These Products/Services named in {source} do not exist or are inactive in "
                f"{self.ledger.title}: {where}.",
                remedy="Create them in the ledger (Sales → Products and services) or fix the names in the "
                "[mapping] section, then run again.",
            )
        account = self.config.mapping.payment_account
        if account and self.config.sync.payments and self.ledger.missing_accounts([account]):
            raise MappingMissingError(
                f"The account “{account}” (mapping.payment_account in {source}) does not exist or is "
                f"inactive in {self.ledger.title}.",
                remedy="Create it in the chart of accounts or fix mapping.payment_account (leave it empty "
                "for Undeposited Funds), then run again.",
            )
        if settings.computes_tax:
            problems = tax.check_tax_rates(
                self.source.tax_settings(), self.config.mapping.tax_codes, settings.tax_codes
            )
            if problems:
                raise MappingMissingError(
                    " ".join(problems),
                    remedy="Clio's billing settings cannot be changed through its API, so ledgerlink never "
                    "overrides them: make the rates equal on both sides (or map other tax codes in "
                    "[mapping.tax_codes]), then run again. Nothing was posted.",
                )

    def _close_leftovers(self, leftovers: Sequence[Any], kinds: Collection[str]) -> None:
        """Intents a crashed pass left open: this pass has re-read and re-planned their records."""
        for intent in leftovers:
            if intent.kind in kinds:
                self.store.fail_intent(intent.key, "superseded: resolved by lookup in a later pass")


def _ids(extra: Mapping[str, Sequence[str]], kinds: Sequence[str]) -> list[str]:
    return [source_id for kind in kinds for source_id in extra.get(kind, ())]


def _by_kind(pending: Mapping[tuple[str, str], str]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    for kind, source_id in pending:
        grouped.setdefault(kind, []).append(source_id)
    return grouped


def _stand_in(links: dict[str, LinkView], actions: Sequence[Action]) -> None:
    """In a dry run, what the plan would create counts as linked, so its dependants plan normally."""
    for action in actions:
        if action.op in (Op.CREATE, Op.LINK) and action.source_id not in links:
            links[action.source_id] = _PlannedLink(action.target_id or "(new)")


def _edited_customers(
    changes: LedgerChanges | None, links: Mapping[str, LinkView]
) -> dict[str, LedgerCustomer]:
    """Linked contacts whose ledger customer was edited since the last pass, by Clio contact id."""
    if changes is None:
        return {}
    by_target = {link.target_id: source for source, link in links.items()}
    return {
        by_target[c.id]: c
        for c in changes.customers
        if c.id in by_target and c.version != links[by_target[c.id]].version_token
    }


def _dead_here(owner: str) -> bool:
    """Whether a lock owner "host:pid" names this machine and a process that no longer exists."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _snapshot(action: Action, written: Written) -> dict[str, Any] | None:
    """What a link remembers of the record beyond its hash (contacts: the base of the two-way merge)."""
    if isinstance(action.payload, Contact):
        return contact_merge.snapshot(action.payload, written.customer)
    if isinstance(action.payload, InvoiceDraft):
        return None
    return None
