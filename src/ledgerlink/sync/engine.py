"""One sync pass: read what changed on both sides, plan, then apply the plan phase by phase.

The order of a pass::

    lock → run row → leftover intents (their records are re-read and resolved by lookup)
         → what changed in the ledger since the last pass (one change-data-capture read)
         → trust accounts checked, their ledgers read → the changed bills (headers, no lines yet)
         → changed payments and credit notes
         → contacts they all need (to the ledger; ledger-side edits back to Clio)
         → for each window of bills (lines and activities read a window ahead, in another thread):
               invoices (create / update), then the credit notes, their applications and the
               payments whose every bill is now in the ledger
         → the rest of the credit notes and payments (waiting on a failed bill, or tried again)
         → trust postings and cheques → credit-note deletions → invoice voids and deletions
         → side phases → advance cursors → finish the run row → unlock

The order is the order of dependence: a payment needs its invoice, a credit application its
credit note, and a voided bill's payments are removed (Clio refuses to void a bill with payments,
so their deletion arrives in the same pass) before the invoice is voided. Trust sync, when
configured, is checked (accounts exist and are trust accounts) before the first write of the pass,
and each trust account's Clio ledger is read whole: its clients join the contacts to push.

Windows are what make a big first sync as fast as the rate limits allow and its memory flat: Clio
reads (50 a minute) and ledger writes (QBO: 40 batches a minute) overlap instead of following each
other, payments go out as soon as their bills are in, and a pass holds one window of lines, not
the firm's.

Each write goes through an intent row (key = QBO ``requestid`` and a marker on the record), so a
crash anywhere leaves at most an *uncertain* intent that the next pass resolves without a
duplicate. One record failing is recorded in ``sync_errors`` and the pass goes on; systemic faults
(auth, rate budget, missing mapping) stop it with exit code 3.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, Generic, TypeVar

from ledgerlink.config import Config
from ledgerlink.domain import Contact, CreditNote, Invoice, Payment, TrustAccount, TrustTransaction
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
from ledgerlink.sync.read_ahead import read_ahead
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
        self._mapping_checked = False  # once a pass, before its first invoice (not once a window)

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

        bill_stream = self.read.invoice_stream(extra.get(invoice_flow.KIND, ()))
        # Lines and activities are read in another thread from here on, a window ahead of the writes.
        with closing(read_ahead(bill_stream.windows(), name="clio-bills")) as windows:
            payments = self.read.changed(self.read.payments, extra)
            credits = self.read.changed(self.read.credit_notes, extra)

            # -- contacts: the clients of the pass's bills, payments, credits and trust postings ------
            known_links = self.store.links(self.conn, contact_flow.KIND)
            wanted = {h.contact_id for h in bill_stream.headers if _postable(h, scope)}
            wanted |= {p.contact_id for p in payments if not p.voided}
            wanted |= {c.contact_id for c in credits if not c.voided}
            for setup, transactions in trust:
                wanted |= trust_flow.wanted_clients(setup, transactions)
            edited = _edited_customers(changes, known_links)
            contacts = self.read.contacts(
                (wanted - set(known_links)) | set(edited),
                known_links,
                extra_ids=extra.get(contact_flow.KIND, ()),
            )
            people = _People(read={c.source_id: c.name for c in contacts}, asked=wanted | set(edited))
            self._push(self._plan_contacts(contacts, known_links, edited), people, result, apply)
            self._close_leftovers(leftovers, (contact_flow.KIND, WRITEBACK))
            if result.interrupted:
                return

            # -- invoices a window at a time; each payment and credit as soon as its bills are in --
            referenced = {b for p in payments for b in p.bill_ids} | {b for c in credits for b in c.bill_ids}
            seen: dict[str, Invoice] = {}  # bills payments and credits name, without their lines
            paying = self._links(invoice_flow.KIND, referenced)  # the bills they name that are in the ledger
            endings: list[Action] = []
            credit_deletions: list[Action] = []
            planned: list[Action] = []  # a dry run's creates, standing in for links
            settled: set[str] = set()
            batch = self.ledger.batch_size
            held: list[
                Action
            ] = []  # a window's last, partial batch of new invoices: sent with the next one's
            # Rewrites of what is already in the ledger wait until every window is planned, so the
            # circuit breaker weighs them all at once before one is sent (and their payments wait too).
            rewrites: list[Action] = []
            for window in windows:
                billed = (i.contact_id for i in window if _postable(i, scope))
                self._late_contacts(billed, people, result, apply)
                if held and {a.source_id for a in held} & {i.source_id for i in window}:
                    apply(held)  # a bill read again (a late line) is planned against its link
                    held = []
                if result.interrupted:
                    return
                invoice_actions = self._plan_invoices(
                    window, scope, people.links, people.failed, people.names, pending, changes
                )
                endings += [a for a in invoice_actions if a.op in (Op.VOID, Op.DELETE)]
                rewrites += [a for a in invoice_actions if a.op is Op.UPDATE]
                sending, held = _full_batches(
                    held + [a for a in invoice_actions if a.op not in (Op.VOID, Op.DELETE, Op.UPDATE)], batch
                )
                apply(sending)
                if result.interrupted:
                    return
                seen.update({i.source_id: replace(i, lines=()) for i in window if i.source_id in referenced})
                paying.update(
                    self._links(
                        invoice_flow.KIND, (a.source_id for a in sending if a.source_id in referenced)
                    )
                )
                if result.dry_run:
                    planned += sending
                    _stand_in(paying, [a for a in sending if a.source_id in referenced])
                unsynced = self.store.open_error_ids(self.conn, invoice_flow.KIND)
                unsynced |= {a.source_id for a in sending if a.error} | {a.source_id for a in rewrites}
                # New payments and credit notes only (a rewrite waits, as for invoices), and only whole
                # batches between windows; the rest waits for the next window.
                ready_payments = self._new(
                    payment_flow.KIND, _ready(payments, settled, paying, unsynced, people)
                )
                ready_credits = self._new(
                    credit_flow.KIND, _ready(credits, settled, paying, unsynced, people)
                )
                ready_payments, ready_credits = _whole(ready_payments, batch), _whole(ready_credits, batch)
                if ready_payments or ready_credits:
                    parents = self._parents(scope, people, paying, {}, seen, changes)
                    credit_deletions += self._settle(ready_payments, ready_credits, parents, result, apply)
                    settled |= {p.source_id for p in ready_payments} | {c.source_id for c in ready_credits}
                    if result.interrupted:
                        return
            apply(held)
            apply(rewrites)
            if result.dry_run:
                planned += held
            if result.interrupted:
                return
        self._close_leftovers(leftovers, (invoice_flow.KIND,))
        invoice_links: dict[str, LinkView] = dict(self.store.links(self.conn, invoice_flow.KIND))
        if result.dry_run:
            _stand_in(invoice_links, planned)
        unsynced_labels = {e.source_id: e.label for e in self.store.open_errors(self.conn, invoice_flow.KIND)}
        unsynced_labels.update(
            {a.source_id: a.label for a in result.actions if a.kind == invoice_flow.KIND and a.error}
        )
        # Payments and credits to try again, read only now: one still waiting for a bill or contact
        # that failed again in this pass would only be blocked again (Clio's budget is small).
        waiting = self.read.still_waiting()
        retried_payments = self.read.retries(self.read.payments, payments, changes, waiting)
        retried_credits = self.read.retries(self.read.credit_notes, credits, changes, waiting)
        kinds = (*self.read.payments.kinds, *self.read.credit_notes.kinds)
        read = {p.source_id for p in payments + retried_payments} | {
            c.source_id for c in credits + retried_credits
        }
        payments = [p for p in payments if p.source_id not in settled] + retried_payments
        credits = [c for c in credits if c.source_id not in settled] + retried_credits
        bills = self.read.bills_paid(payments, credits, list(seen.values()), invoice_links)
        apply(self.read.still_blocked(waiting, kinds, read))

        # -- the credit notes and payments left: waiting for a bill that failed, or tried again --------
        parents = self._parents(scope, people, invoice_links, unsynced_labels, bills, changes)
        credit_deletions += self._settle(payments, credits, parents, result, apply)
        vendors = _Once(self.ledger.vendors)
        for setup, transactions in trust:
            world = self._trust_world(
                setup, transactions, people.links, people.failed, changes, pending, vendors
            )
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

    # -- contacts ------------------------------------------------------------------------------

    def _push(
        self,
        actions: Sequence[Action],
        people: _People,
        result: PassResult,
        apply: Callable[[Sequence[Action]], None],
    ) -> None:
        """Push contacts, then see them as the later phases will: linked (or planned), named, failed."""
        apply(actions)
        stored = self.store.links(self.conn, contact_flow.KIND)
        people.links = dict(stored)
        if result.dry_run:
            people.planned += [a for a in actions if a.kind == contact_flow.KIND]
            _stand_in(people.links, people.planned)
        snapshots = {s: str(link.snapshot.get("name", "")) for s, link in stored.items() if link.snapshot}
        people.names = snapshots | people.read
        people.failed = {a.source_id: a.label for a, _error in result.problems if a.kind == contact_flow.KIND}
        people.failed.update({a.source_id: a.label for a in result.parked if a.kind == contact_flow.KIND})

    def _late_contacts(
        self,
        contact_ids: Iterable[str],
        people: _People,
        result: PassResult,
        apply: Callable[[Sequence[Action]], None],
    ) -> None:
        """Clients the first contact push did not know were needed: those of a bill whose header did
        not show it would be written (a zero bill with lines)."""
        late = set(contact_ids) - set(people.links) - people.asked
        if not late:
            return
        contacts = self.source.contacts(sorted(late))
        people.asked |= late
        people.read.update({c.source_id: c.name for c in contacts})
        self._push(self._plan_contacts(contacts, people.links, {}), people, result, apply)

    # -- payments and credit notes ---------------------------------------------------------------

    def _parents(
        self,
        scope: invoice_flow.InvoiceScope,
        people: _People,
        invoice_links: Mapping[str, LinkView],
        unsynced: Mapping[str, str],
        bills: Mapping[str, Invoice],
        changes: LedgerChanges | None,
    ) -> payment_flow.SettlingWorld:
        """What every payment and credit needs about its parents, built (and type-checked) once."""
        return payment_flow.SettlingWorld(
            contact_links=people.links,
            invoice_links=invoice_links,
            unsynced_bills=unsynced,
            out_of_scope_bills={
                s: reason
                for s, bill in bills.items()
                if (reason := invoice_flow.out_of_scope_reason(bill, scope))
            },
            bill_labels={
                s: invoice_flow.invoice_label(b, people.names.get(b.contact_id)) for s, b in bills.items()
            },
            failed_contacts=people.failed,
            contact_names=people.names,
            versions=changes.versions if changes else {},
            ledger_title=self.ledger.title,
        )

    def _settle(
        self,
        payments: Sequence[Payment],
        credits: Sequence[CreditNote],
        parents: payment_flow.SettlingWorld,
        result: PassResult,
        apply: Callable[[Sequence[Action]], None],
    ) -> list[Action]:
        """Credit notes, then their applications, then payments; returns the credit-note deletions,
        which wait for the end of the pass (before the invoices they were applied to are voided)."""
        shared: dict[str, Any] = {f.name: getattr(parents, f.name) for f in fields(parents)}
        credit_actions = credit_flow.plan_credit_notes(
            credits,
            credit_flow.CreditWorld(
                links=self._links(credit_flow.KIND, _ids(credits)),
                item=self.config.mapping.credit_notes,
                mapping_noun=self.ledger.mapping_noun,
                **shared,
            ),
        )
        apply([a for a in credit_actions if a.op is not Op.DELETE])
        credit_links = self._links(credit_flow.KIND, _ids(credits))
        if result.dry_run:
            _stand_in(credit_links, credit_actions)
        apply(
            credit_flow.plan_credit_applications(
                credits,
                credit_flow.ApplicationWorld(
                    links=self._links(credit_flow.APPLICATION_KIND, _ids(credits)),
                    credit_links=credit_links,
                    **shared,
                ),
            )
        )
        apply(
            payment_flow.plan_payments(
                payments,
                payment_flow.PaymentWorld(
                    links=self._links(payment_flow.KIND, _ids(payments)),
                    deposit_account=self.config.mapping.payment_account or None,
                    **shared,
                ),
            )
        )
        return [a for a in credit_actions if a.op is Op.DELETE]

    def _new(self, kind: str, records: list[R]) -> list[R]:
        """The records of ``kind`` not linked to the ledger yet."""
        linked = self._links(kind, _ids(records))
        return [r for r in records if r.source_id not in linked]

    def _links(self, kind: str, source_ids: Iterable[str]) -> dict[str, LinkView]:
        """The links of kind ``kind`` of these source records, by source id (unlinked ones absent)."""
        found = self.store.links_of(self.conn, [(kind, source_id) for source_id in source_ids])
        return {source_id: link for (_kind, source_id), link in found.items()}

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
        if in_scope and not self._mapping_checked:
            self._check_mapping(settings)
            self._mapping_checked = True
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
R = TypeVar("R", Payment, CreditNote)


class _Once(Generic[T]):
    """A read made at most once per pass, and only if needed."""

    def __init__(self, read: Callable[[], T]) -> None:
        self._read = read
        self._value: T | None = None

    def __call__(self) -> T:
        if self._value is None:
            self._value = self._read()
        return self._value


@dataclass
class _People:
    """The pass's contacts as the later phases see them: links (in a dry run, the planned ones too),
    names, the ones that failed; the names read from Clio this pass, and every id asked for."""

    read: dict[str, str]
    asked: set[str]
    links: dict[str, LinkView] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    planned: list[Action] = field(default_factory=list)


def _ready(
    records: Sequence[R],
    settled: Collection[str],
    invoice_links: Mapping[str, LinkView],
    unsynced: Collection[str],
    people: _People,
) -> list[R]:
    """Payments (credit notes) whose client and every bill are in the ledger, with nothing pending."""
    return [
        r
        for r in records
        if r.source_id not in settled
        and r.contact_id in people.links
        and r.bill_ids
        and all(b in invoice_links and b not in unsynced for b in r.bill_ids)
    ]


def _full_batches(actions: Sequence[Action], size: int) -> tuple[list[Action], list[Action]]:
    """The actions that fill whole write batches, and the writes of the last, partial batch."""
    writes = [a for a in actions if a.op in (Op.CREATE, Op.UPDATE)]
    partial = len(writes) % size
    if not partial:
        return list(actions), []
    later = {id(a) for a in writes[-partial:]}
    return [a for a in actions if id(a) not in later], writes[-partial:]


def _whole(records: Sequence[R], size: int) -> list[R]:
    """As many of ``records`` as fill whole batches of ``size``."""
    return list(records[: len(records) // size * size])


def _ids(records: Iterable[Payment | CreditNote]) -> list[str]:
    return [r.source_id for r in records]


def _postable(invoice: Invoice, scope: invoice_flow.InvoiceScope) -> bool:
    """A bill the pass would write (its client must be in the ledger first)."""
    return scope.includes(invoice) and bool(invoice.lines or invoice.total)


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
