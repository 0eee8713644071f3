"""One sync pass: read what changed on both sides, plan, then apply the plan phase by phase.

The order of a pass::

    lock → run row → leftover intents (their records are re-read and resolved by lookup)
         → what changed in the ledger since the last pass (one change-data-capture read)
         → read changed bills, payments, credit notes and the contacts they need
         → contacts (to the ledger; ledger-side edits back to Clio)
         → invoices (create / update)  → credit notes → their applications → payments
         → trust postings and cheques → credit-note deletions → invoice voids and deletions
         → advance cursors → finish the run row → unlock

The order is the order of dependence: a payment needs its invoice, a credit application its
credit note, and a voided bill's payments are removed (Clio refuses to void a bill with payments,
so their deletion arrives in the same pass) before the invoice is voided. Trust sync, when
configured, is checked (accounts exist and are trust accounts) before the first write of the pass,
and each trust account's Clio ledger is read whole: its clients join the contacts to push.

Each write goes through an intent row (key = QBO ``requestid`` and a marker on the record), so a
crash anywhere leaves at most an *uncertain* intent that the next pass resolves without a
duplicate. One record failing is recorded in ``sync_errors`` and the pass goes on; systemic faults
(auth, rate budget, missing mapping) stop it with exit code 3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, Generic, TypeVar

from ledgerlink.config import Config
from ledgerlink.domain import Contact, Invoice, TrustAccount, TrustTransaction
from ledgerlink.errors import LedgerlinkError, MappingMissingError, UserError
from ledgerlink.store import Store
from ledgerlink.sync import locks, tax
from ledgerlink.sync.apply import WRITEBACK, Applier, PassResult, PlanFn, ProgressFn
from ledgerlink.sync.breaker import Limits, MassChangeBreaker, MassChangeCount
from ledgerlink.sync.flows import contact_merge
from ledgerlink.sync.flows import contacts as contact_flow
from ledgerlink.sync.flows import credit_notes as credit_flow
from ledgerlink.sync.flows import invoices as invoice_flow
from ledgerlink.sync.flows import payments as payment_flow
from ledgerlink.sync.flows import trust as trust_flow
from ledgerlink.sync.mapping import configured_items
from ledgerlink.sync.plan import WRITES, Action, Op
from ledgerlink.sync.ports import (
    Ledger,
    LedgerChanges,
    LedgerCustomer,
    LedgerSettings,
    LinkView,
    Source,
    TrustChequeDraft,
    TrustPostingDraft,
    Written,
)
from ledgerlink.sync.reading import (
    STREAM_ALLOCATIONS,
    STREAM_BILLS,
    STREAM_CONTACTS,
    STREAM_LEDGER,
    PassReader,
    remembered_start,
)
from ledgerlink.sync.trust_setup import resolve as resolve_trust
from ledgerlink.sync.trust_setup import start_key

__all__ = ["PassResult", "PlanFn", "ProgressFn", "SidePhase", "SyncPass"]

log = logging.getLogger("ledgerlink.sync")

LOCK_NAME = locks.PASS_LOCK

# A phase of a full pass that works on concrete providers (bound by the Workspace): hard-cost import,
# payroll. It records its outcomes in the PassResult and writes nothing in a dry run.
SidePhase = Callable[[PassResult], None]
LOCK_TTL_SECONDS = 15 * 60
MAPPING_REMEDY = {
    "qbo": "Create them in the ledger (Sales → Products and services) or fix the names in the [mapping] "
    "section, then run again.",
    "xero": "In Xero's chart of accounts give each account a code, keep it active and of a type that takes "
    "sales (revenue), or fix the codes in the [mapping] section, then run again.",
}


@dataclass(frozen=True)
class _PlannedLink:
    """A stand-in link for a record that a dry run would create (so its dependants plan normally)."""

    target_id: str
    content_hash: str = ""
    version_token: str | None = None
    snapshot: Mapping[str, Any] | None = None


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
        on_plan: PlanFn | None = None,
        since: date | None = None,
        allow_mass_change: bool = False,
        side_phases: Sequence[SidePhase] = (),
    ) -> None:
        self.source = source
        self.ledger = ledger
        self.store = store
        self.conn = connection_id
        self.config = config
        self.clock = clock
        self.should_stop = should_stop
        self.on_progress = on_progress or (lambda action, outcome: None)
        self.on_plan = on_plan
        self.allow_mass_change = allow_mass_change
        self.side_phases = side_phases
        self.since = since  # a one-off backfill: bills issued on or after this date, whatever the cursor
        self.owner = locks.this_process()
        self.read = PassReader(
            source=source, ledger=ledger, store=store, connection_id=connection_id, config=config, since=since
        )
        self._settings: LedgerSettings | None = None

    # -- the pass ------------------------------------------------------------------------------

    def run(self, *, dry_run: bool = False) -> PassResult:
        """Run one pass; return what it did. Systemic faults raise after the run row is closed.

        A dry run reads and plans but writes nothing anywhere: no lock, no run row, no cursor, no
        error row, nothing remote. Its result has run id 0.
        """
        return self._pass(self._run, dry_run=dry_run)

    def run_contacts(
        self, contact_ids: Collection[str] | None = None, *, dry_run: bool = False
    ) -> PassResult:
        """Push clients now, nothing else: every Clio client, or just ``contact_ids`` (Firm360's "Sync").

        Contacts are created, linked or updated exactly as in a full pass (edits made in the ledger
        are merged, not overwritten); bills and cursors are left to the next full pass.
        """
        return self._pass(partial(self._push_contacts, contact_ids), dry_run=dry_run)

    def _pass(self, body: Callable[[PassResult], None], *, dry_run: bool) -> PassResult:
        """Run ``body`` as one pass: lock and run row around it (neither for a dry run)."""
        if dry_run:
            result = PassResult(run_id=0, dry_run=True)
            body(result)
            return result
        self._lock()
        result = PassResult(run_id=self.store.start_run(dry_run=False), dry_run=False)
        try:
            body(result)
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
            self.store.release_lock(LOCK_NAME, self.owner)
        return result

    def _lock(self) -> None:
        """Take the pass lock; a lock left by a crashed pass on this machine is taken over at once."""
        locks.take(self.store, LOCK_NAME, self.owner, LOCK_TTL_SECONDS)

    def _push_contacts(self, contact_ids: Collection[str] | None, result: PassResult) -> None:
        apply = self._breaker(result).guard(self._applier(result).apply)
        contacts = self.source.contacts(contact_ids) if contact_ids else self.source.clients()
        missing = sorted(set(contact_ids or ()) - {c.source_id for c in contacts})
        if missing:
            raise UserError(
                f"Clio has no contact with id {', '.join(missing)}.",
                remedy="Use the number at the end of the contact's address in Clio (…/contacts/12345).",
            )
        known_links = self.store.links(self.conn, contact_flow.KIND)
        wanted = {c.source_id for c in contacts}
        edited = {
            s: c for s, c in _edited_customers(self.read.ledger_changes(), known_links).items() if s in wanted
        }
        apply(self._plan_contacts(contacts, known_links, edited))

    def _breaker(self, result: PassResult) -> MassChangeBreaker:
        """The circuit breaker of this pass (see :mod:`ledgerlink.sync.breaker`)."""

        def linked(kind: str) -> int:
            return len(self.store.links(self.conn, contact_flow.KIND if kind == WRITEBACK else kind))

        limits = Limits(self.config.sync.mass_change_share, self.config.sync.mass_change_minimum)
        count = MassChangeCount(limits=limits, linked=linked, ledger_title=self.ledger.title)
        return MassChangeBreaker(
            count, allowed=self.allow_mass_change, dry_run=result.dry_run, warnings=result.warnings
        )

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
            on_plan=self.on_plan,
        )

    def _run(self, result: PassResult) -> None:
        started = self.clock()
        apply = self._breaker(result).guard(self._applier(result).apply)
        leftovers = [] if result.dry_run else self.store.open_intents(self.conn)
        pending = {(i.kind, i.source_id): i.key for i in leftovers}
        extra = _by_kind(pending)
        scope = invoice_flow.InvoiceScope(
            states=frozenset(self.config.sync.bill_states),
            start_date=self.since or self.config.sync.start_date,
        )
        changes = self.read.ledger_changes()
        trust = self._trust_ledgers(result.dry_run)

        invoices = self.read.changed_invoices(extra.get(invoice_flow.KIND, ()))
        payments = self.read.changed(self.read.payments, extra)
        credits = self.read.changed(self.read.credit_notes, extra)

        # -- contacts --------------------------------------------------------------------------
        known_links = self.store.links(self.conn, contact_flow.KIND)
        postable = [i for i in invoices if scope.includes(i) and (i.lines or i.total)]
        wanted = {i.contact_id for i in postable} | {p.contact_id for p in payments if not p.voided}
        wanted |= {c.contact_id for c in credits if not c.voided}
        for setup, transactions in trust:
            wanted |= trust_flow.wanted_clients(setup, transactions)
        edited = _edited_customers(changes, known_links)
        contacts = self.read.contacts(
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
        failed.update({a.source_id: a.label for a in result.parked if a.kind == contact_flow.KIND})

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
        waiting = self.read.still_waiting()
        payments += self.read.retries(self.read.payments, payments, changes, waiting)
        credits += self.read.retries(self.read.credit_notes, credits, changes, waiting)
        bills = self.read.bills_paid(payments, credits, invoices, invoice_links)
        kinds = (*self.read.payments.kinds, *self.read.credit_notes.kinds)
        read = {p.source_id for p in payments} | {c.source_id for c in credits}
        apply(self.read.still_blocked(waiting, kinds, read))

        # -- credit notes, their applications, payments -----------------------------------------
        # What every payment and credit needs about its parents, built (and type-checked) once.
        parents = payment_flow.SettlingWorld(
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
        shared: dict[str, Any] = {f.name: getattr(parents, f.name) for f in fields(parents)}
        credit_actions = credit_flow.plan_credit_notes(
            credits,
            credit_flow.CreditWorld(
                links=self.store.links(self.conn, credit_flow.KIND),
                item=self.config.mapping.credit_notes,
                mapping_noun=self.ledger.mapping_noun,
                **shared,
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
                    **shared,
                ),
            )
        )
        apply(
            payment_flow.plan_payments(
                payments,
                payment_flow.PaymentWorld(
                    links=self.store.links(self.conn, payment_flow.KIND),
                    deposit_account=self.config.mapping.payment_account or None,
                    **shared,
                ),
            )
        )
        vendors = _Once(self.ledger.vendors)
        for setup, transactions in trust:
            world = self._trust_world(setup, transactions, contact_links, failed, changes, pending, vendors)
            self._apply_trust(setup, transactions, world, result, apply)
        if trust and not (result.dry_run or result.interrupted):
            self._close_moot_trust_errors(result)
        apply(credit_deletions)
        apply(endings)
        self._close_leftovers(
            leftovers, (*self.read.payments.kinds, *self.read.credit_notes.kinds, *trust_flow.KINDS)
        )
        # The other directions of the pass (hard costs into Clio, time to payroll): each settles its
        # own leftover intents and honours the dry run.
        for phase in self.side_phases:
            if result.interrupted or self.should_stop():
                result.interrupted = True
                break
            phase(result)
        if result.interrupted or result.dry_run:
            return
        # High-water marks are the pass start, never later: a change made while this pass was
        # reading is re-read next time (with OVERLAP for clock skew), never skipped. A --since
        # backfill reads by issue date, so it leaves the bills cursor where it was.
        for stream in (STREAM_CONTACTS, STREAM_ALLOCATIONS, STREAM_LEDGER):
            self.store.set_cursor(self.conn, stream, started)
        if self.since is None:
            self.store.set_cursor(self.conn, STREAM_BILLS, started)

    # -- trust ---------------------------------------------------------------------------------

    def _trust_ledgers(self, dry_run: bool) -> list[tuple[trust_flow.TrustSetup, list[TrustTransaction]]]:
        """Each configured trust account (checked: raises before any write) with its whole Clio ledger."""

        def start_date(account: TrustAccount) -> date:
            key = start_key(account.source_id)
            return remembered_start(self.store, self.conn, key, self.clock().date(), dry_run=dry_run)

        setups = resolve_trust(self.config, self.source, self.ledger, start_date=start_date)
        return [(s, self.source.trust_transactions(s.account.source_id)) for s in setups]

    def _trust_world(
        self,
        setup: trust_flow.TrustSetup,
        transactions: Sequence[TrustTransaction],
        contact_links: Mapping[str, LinkView],
        failed: Mapping[str, str],
        changes: LedgerChanges | None,
        pending: Mapping[tuple[str, str], str],
        vendors: _Once[dict[str, str]],
    ) -> trust_flow.TrustWorld:
        marker = setup.cheque_marker
        needs_vendors = any((c := trust_flow.cheque_of(t, marker)) and c.payee for t in transactions)
        return trust_flow.TrustWorld(
            links=self.store.links(self.conn, trust_flow.KIND),
            cheque_links=self.store.links(self.conn, trust_flow.CHEQUE_KIND),
            contact_links=contact_links,
            failed_contacts=failed,
            vendors=vendors() if needs_vendors else {},
            versions=changes.versions if changes else {},
            landed=self._landed(setup, transactions, pending),
            ledger_title=self.ledger.title,
        )

    def _apply_trust(
        self,
        setup: trust_flow.TrustSetup,
        transactions: Sequence[TrustTransaction],
        world: trust_flow.TrustWorld,
        result: PassResult,
        apply: Callable[[Sequence[Action]], None],
    ) -> None:
        """Money into client balances first; money out only once what funds it is in the books.

        When a write of the first wave failed (a deposit QuickBooks never got), the second wave is
        planned again knowing it, so the guard refuses what would now overdraw a client there.
        """
        first, later = trust_flow.plan_trust_waves(setup, transactions, world)
        seen = len(result.problems)
        apply(first)
        if result.interrupted or not later:
            return
        unwritten = {
            a.source_id: a.label
            for a, _error in result.problems[seen:]
            if a.kind in trust_flow.KINDS and a.op in WRITES
        }
        if unwritten and not result.dry_run:
            again = replace(
                world,
                links=self.store.links(self.conn, trust_flow.KIND),
                cheque_links=self.store.links(self.conn, trust_flow.CHEQUE_KIND),
                unwritten=unwritten,
            )
            wanted = {(a.kind, a.source_id) for a in later}
            later = [
                a
                for a in trust_flow.plan_trust(setup, transactions, again)
                if (a.kind, a.source_id) in wanted
            ]
        apply(later)

    def _close_moot_trust_errors(self, result: PassResult) -> None:
        """Errors of trust records this pass had nothing to say about: deleted in Clio or out of scope."""
        planned = {(a.kind, a.source_id) for a in result.actions if a.kind in trust_flow.KINDS}
        for kind in trust_flow.KINDS:
            for source_id in self.store.open_error_ids(self.conn, kind):
                if (kind, source_id) not in planned:
                    self.store.resolve_error(self.conn, kind, source_id)

    def _landed(
        self,
        setup: trust_flow.TrustSetup,
        transactions: Sequence[TrustTransaction],
        pending: Mapping[tuple[str, str], str],
    ) -> dict[str, Written]:
        """Postings an interrupted pass may have created: found by their marker, adopted, never doubled."""
        dates = {t.source_id: t.date for t in transactions}
        opening = setup.start_date - timedelta(days=1)
        found: dict[str, Written] = {}
        for kind in trust_flow.KINDS:
            keys = {
                key: dates.get(source_id, opening)
                for (k, source_id), key in pending.items()
                if k == kind and (source_id in dates or source_id.startswith(trust_flow.OPENING))
            }
            if not keys:
                continue
            by_key = self.ledger.find_marked(kind, keys)
            found.update({s: by_key[key] for (k, s), key in pending.items() if k == kind and key in by_key})
        return found

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
            name_clash_help=self.ledger.name_clash_help,
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
            ledger_title=self.ledger.title,
            mapping_noun=self.ledger.mapping_noun,
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
                f"These {self.ledger.mapping_noun}s named in {source} do not exist or cannot be used in "
                f"{self.ledger.title}: {where}.",
                remedy=MAPPING_REMEDY.get(self.ledger.provider, MAPPING_REMEDY["qbo"]),
            )
        account = self.config.mapping.payment_account
        if account and self.config.sync.payments and self.ledger.missing_accounts([account]):
            raise MappingMissingError(
                f"The account “{account}” (mapping.payment_account in {source}) does not exist or is "
                f"inactive in {self.ledger.title}.",
                remedy="Create it in the chart of accounts or fix mapping.payment_account (leave it empty "
                + ("not to sync payments" if self.ledger.provider == "xero" else "for Undeposited Funds")
                + "), then run again.",
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


T = TypeVar("T")


class _Once(Generic[T]):
    """A read made at most once per pass, and only if needed."""

    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read
        self._value: T | None = None

    def __call__(self) -> T:
        if self._value is None:
            self._value = self._read()
        return self._value


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


def _snapshot(action: Action, written: Written) -> dict[str, Any] | None:
    """What a link remembers of the record beyond its hash (contacts: the base of the two-way merge)."""
    if isinstance(action.payload, Contact):
        return contact_merge.snapshot(action.payload, written.customer)
    if isinstance(action.payload, TrustPostingDraft | TrustChequeDraft):
        return trust_flow.snapshot(action.payload)
    return None
