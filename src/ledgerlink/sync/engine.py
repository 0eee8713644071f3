"""One sync pass: read what changed, plan, then apply the plan record by record.

The order of a pass::

    lock → run row → leftover intents (their records are re-read and resolved by lookup)
         → read changed bills and the contacts they need → plan + apply contacts
         → plan + apply invoices → advance cursors → finish the run row → unlock

Each write goes through an intent row (key = QBO ``requestid`` and a marker on the record), so
a crash anywhere leaves at most an *uncertain* intent that the next pass resolves without a
duplicate. One record failing is recorded in ``sync_errors`` and the pass goes on; systemic
faults (auth, rate budget, missing mapping) stop it with exit code 3.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ledgerlink import failpoints
from ledgerlink.config import Config
from ledgerlink.domain import Contact, Invoice
from ledgerlink.errors import (
    ApiError,
    LedgerlinkError,
    LockHeldError,
    MappingMissingError,
    RateLimitedError,
    RecordError,
    SystemicError,
    TransportError,
)
from ledgerlink.store import LinkWrite, Store
from ledgerlink.sync.flows import contacts as contact_flow
from ledgerlink.sync.flows import invoices as invoice_flow
from ledgerlink.sync.mapping import configured_items
from ledgerlink.sync.plan import Action, Op, Tally, content_hash
from ledgerlink.sync.ports import InvoiceDraft, Ledger, LinkView, Source, Written

log = logging.getLogger("ledgerlink.sync")

OVERLAP = timedelta(minutes=2)
LOCK_NAME = "sync"
LOCK_TTL_SECONDS = 15 * 60
STREAM_BILLS = "clio:bills"
STREAM_CONTACTS = "clio:contacts"

OUTCOME = {
    Op.CREATE: "created",
    Op.UPDATE: "updated",
    Op.LINK: "linked",
    Op.SKIP: "skipped",
    Op.FAIL: "failed",
    Op.BLOCKED: "blocked",
}

ProgressFn = Callable[[Action, str], None]


@dataclass(frozen=True)
class _PlannedLink:
    """A stand-in link for a contact that a dry run would create (so its bills plan normally)."""

    target_id: str
    content_hash: str = ""
    version_token: str | None = None


@dataclass
class PassResult:
    run_id: int
    dry_run: bool
    tally: Tally = field(default_factory=Tally)
    actions: list[Action] = field(default_factory=list)
    problems: list[tuple[Action, RecordError]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0 clean; 1 when records failed — or, for a dry run, when anything would change (pip-tools)."""
        if self.dry_run:
            return 1 if self.problems or self.tally.writes else 0
        return 1 if self.problems else 0

    @property
    def status(self) -> str:
        if self.interrupted:
            return "interrupted"
        return "errors" if self.problems else "ok"


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
    ) -> None:
        self.source = source
        self.ledger = ledger
        self.store = store
        self.conn = connection_id
        self.config = config
        self.clock = clock
        self.should_stop = should_stop
        self.on_progress = on_progress or (lambda action, outcome: None)
        self.owner = f"{socket.gethostname()}:{os.getpid()}"

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

    def _run(self, result: PassResult) -> None:
        started = self.clock()
        leftovers = [] if result.dry_run else self.store.open_intents(self.conn)
        pending = {(i.kind, i.source_id): i.key for i in leftovers}
        scope = invoice_flow.InvoiceScope(
            states=frozenset(self.config.sync.bill_states), start_date=self.config.sync.start_date
        )

        invoices = self._changed_invoices(extra_ids=[s for k, s in pending if k == invoice_flow.KIND])
        postable = [i for i in invoices if scope.includes(i) and (i.lines or i.total)]
        known_links = self.store.links(self.conn, contact_flow.KIND)
        needed = {i.contact_id for i in postable} - set(known_links)
        contacts = self._contacts(needed, known_links, extra_ids=[s for k, s in pending if k == "contact"])

        contact_actions = self._plan_contacts(contacts, known_links)
        self._apply(contact_actions, result)
        self._close_leftovers(leftovers, "contact")
        if result.interrupted:
            return

        stored = self.store.links(self.conn, contact_flow.KIND)
        names = {s: str(link.snapshot["name"]) for s, link in stored.items() if link.snapshot}
        names.update({c.source_id: c.name for c in contacts})
        contact_links: dict[str, LinkView] = dict(stored)
        if result.dry_run:
            for action in contact_actions:
                if action.op in (Op.CREATE, Op.LINK):
                    contact_links[action.source_id] = _PlannedLink(action.target_id or "(new)")
        # Contacts refused by the plan or by the ledger: their bills wait for them.
        failed = {a.source_id: a.label for a, _error in result.problems if a.kind == contact_flow.KIND}
        invoice_actions = self._plan_invoices(invoices, scope, contact_links, failed, names, pending)
        self._apply(invoice_actions, result)
        self._close_leftovers(leftovers, invoice_flow.KIND)
        if result.interrupted or result.dry_run:
            return
        # High-water marks are the pass start, never later: a change made while this pass was
        # reading is re-read next time (with OVERLAP for clock skew), never skipped.
        self.store.set_cursor(self.conn, STREAM_BILLS, started)
        self.store.set_cursor(self.conn, STREAM_CONTACTS, started)

    # -- reading -------------------------------------------------------------------------------

    def _since(self, stream: str) -> datetime | None:
        mark = self.store.cursor(self.conn, stream)
        return mark - OVERLAP if mark else None

    def _changed_invoices(self, extra_ids: Collection[str]) -> list[Invoice]:
        start = self.config.sync.start_date
        invoices = self.source.changed_invoices(
            self._since(STREAM_BILLS), issued_after=start - timedelta(days=1) if start else None
        )
        have = {i.source_id for i in invoices}
        retry = (self.store.open_error_ids(self.conn, invoice_flow.KIND) | set(extra_ids)) - have
        if retry:
            invoices = invoices + self.source.invoices(sorted(retry))
        return invoices

    def _contacts(
        self, needed: set[str], links: Mapping[str, LinkView], extra_ids: Collection[str]
    ) -> list[Contact]:
        changed = self.source.changed_contacts(self._since(STREAM_CONTACTS))
        retry = self.store.open_error_ids(self.conn, contact_flow.KIND) | set(extra_ids)
        wanted = needed | retry
        relevant = [c for c in changed if c.source_id in links or c.source_id in wanted]
        missing = wanted - {c.source_id for c in relevant}
        if missing:
            relevant += self.source.contacts(sorted(missing))
        return relevant

    # -- planning ------------------------------------------------------------------------------

    def _plan_contacts(self, contacts: Sequence[Contact], links: Mapping[str, LinkView]) -> list[Action]:
        unlinked = any(c.source_id not in links for c in contacts)
        return contact_flow.plan_contacts(
            contacts,
            links,
            self.ledger.customers() if unlinked else [],
            self.ledger.name_holders() if unlinked else {},
            display_name=self.ledger.display_name,
            ledger_title=self.ledger.title,
        )

    def _plan_invoices(
        self,
        invoices: Sequence[Invoice],
        scope: invoice_flow.InvoiceScope,
        contact_links: Mapping[str, LinkView],
        failed: Mapping[str, str],
        names: Mapping[str, str],
        pending: Mapping[tuple[str, str], str],
    ) -> list[Action]:
        if any(scope.includes(i) for i in invoices):
            self._check_mapping()
        links = self.store.links(self.conn, invoice_flow.KIND)
        unlinked = invoice_flow.unlinked_numbers([i for i in invoices if scope.includes(i)], links)
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
        )
        return invoice_flow.plan_invoices(invoices, world)

    def _check_mapping(self) -> None:
        wanted = configured_items(self.config.mapping)
        missing = self.ledger.missing_items(wanted)
        if missing:
            where = "; ".join(f"“{name}” (from {wanted[name]})" for name in sorted(missing))
            source = self.config.source or "the config"
            raise MappingMissingError(
                f"These Products/Services named in {source} do not exist or are inactive in "
                f"{self.ledger.title}: {where}.",
                remedy="Create them in the ledger (Sales → Products and services) or fix the names in the "
                "[mapping] section, then run again.",
            )

    # -- applying ------------------------------------------------------------------------------

    def _apply(self, actions: Sequence[Action], result: PassResult) -> None:
        for count, action in enumerate(actions, start=1):
            if self.should_stop():
                result.interrupted = True
                log.info(
                    "stop requested: pass ends after %d of %d %s actions",
                    count - 1,
                    len(actions),
                    action.kind,
                )
                return
            if result.dry_run:
                outcome, error = OUTCOME[action.op], action.error
            else:
                outcome, error = self._apply_one(action, result.run_id)
            result.actions.append(action)
            result.tally.add(action.kind, outcome)
            if error is not None:
                result.problems.append((action, error))
            self.on_progress(action, outcome)
            if not result.dry_run and count % 50 == 0:
                self.store.renew_lock(LOCK_NAME, self.owner, LOCK_TTL_SECONDS)

    def _apply_one(self, action: Action, run_id: int) -> tuple[str, RecordError | None]:
        """Carry out one action; the outcome word and, if it failed, why."""
        if action.op is Op.SKIP:
            self.store.resolve_error(self.conn, action.kind, action.source_id)
            return "skipped", None
        if action.op in (Op.FAIL, Op.BLOCKED):
            assert action.error is not None
            self._record(action, action.error, run_id)
            return OUTCOME[action.op], action.error
        return self._write(action, run_id)

    def _record(self, action: Action, error: RecordError, run_id: int) -> None:
        self.store.record_error(
            self.conn,
            action.kind,
            action.source_id,
            label=action.label,
            cause=error.cause,
            message=error.message,
            remedy=error.remedy,
            retryable=error.retryable,
            blocked_by=error.blocked_by,
            run_id=run_id,
        )

    def _write(self, action: Action, run_id: int) -> tuple[str, RecordError | None]:
        intent = self.store.begin_intent(
            self.conn, action.op.value, action.kind, action.source_id, action.content_hash or ""
        )
        self.store.mark_intent_sent(intent.key)
        try:
            written = self._send(action, intent.key)
        except RateLimitedError as exc:
            self.store.fail_intent(intent.key, str(exc))
            raise SystemicError(
                f"{self.ledger.title} kept answering 'too many requests': {exc}",
                remedy="The API's request budget is spent for now; run again later (cron will).",
            ) from None
        except ApiError as exc:
            self.store.fail_intent(intent.key, str(exc))
            error = self.ledger.explain(exc, label=action.label)
            self._record(action, error, run_id)
            return "failed", error
        except TransportError as exc:
            self.store.mark_intent_uncertain(intent.key, str(exc))
            error = RecordError(
                cause="network",
                message=f"No answer from {self.ledger.title}: {exc}",
                remedy="Nothing to do: the next pass checks whether it arrived and finishes it without "
                "a duplicate.",
            )
            self._record(action, error, run_id)
            return "failed", error
        failpoints.hit("after_ledger_write")
        self.store.complete_intent(
            intent.key,
            written.id,
            link=LinkWrite(
                connection_id=self.conn,
                kind=action.kind,
                source_id=action.source_id,
                target_id=written.id,
                content_hash=action.content_hash or "",
                version_token=written.version,
                snapshot=_snapshot(action.payload),
            ),
        )
        self.store.resolve_error(self.conn, action.kind, action.source_id)
        return OUTCOME[action.op], None

    def _send(self, action: Action, key: str) -> Written:
        ledger, payload = self.ledger, action.payload
        if action.kind == contact_flow.KIND:
            assert isinstance(payload, Contact)
            if action.op is Op.CREATE:
                return ledger.create_customer(payload, key=key)
            assert action.target_id is not None
            if action.op is Op.LINK:
                return ledger.reactivate_customer(action.target_id, key=key)
            link = self.store.link(self.conn, action.kind, action.source_id)
            return ledger.update_customer(
                action.target_id, link.version_token if link else None, payload, key=key
            )
        assert isinstance(payload, InvoiceDraft)
        if action.op is Op.CREATE:
            return ledger.create_invoice(payload, key=key)
        assert action.target_id is not None
        link = self.store.link(self.conn, action.kind, action.source_id)
        return ledger.update_invoice(action.target_id, link.version_token if link else None, payload, key=key)

    def _close_leftovers(self, leftovers: Sequence[Any], kind: str) -> None:
        """Intents a crashed pass left open: this pass has re-read and re-planned their records."""
        for intent in leftovers:
            if intent.kind == kind:
                self.store.fail_intent(intent.key, "superseded: resolved by lookup in a later pass")


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


def _snapshot(payload: object) -> dict[str, Any] | None:
    if isinstance(payload, Contact):
        return {"hash": content_hash(payload), "name": payload.name, "email": payload.email}
    return None
