"""Applying a plan: actions become intents, intents become batched ledger writes, answers become links.

The engine plans; this module carries a plan out for one pass. Writes go to the ledger in batches
(``Ledger.batch_size`` at most: one request's worth there), each write under its own intent row whose key is
the write's idempotency key and the marker on the remote record. A batch's intents are recorded
``sent`` in one transaction that has committed before the ledger call, and its answers are recorded
in one transaction after it (a crash in between leaves ``sent`` intents the next pass resolves by
lookup). Per write:

- the ledger answered with the record → the intent is done and the link saved, together
  (a deleted record's link is forgotten instead);
- the ledger refused it → the intent failed, the refusal is explained and recorded in
  ``sync_errors``; its neighbours in the batch are unaffected;
- no answer (network) → every intent of the batch is *uncertain*: the next pass re-reads those
  records and finds what landed by its marker, so nothing is written twice.

A create that a killed pass may already have made (an intent of its record left ``sent`` or
``uncertain``) is first looked for by its marker (``Ledger.find_marked``) — payments, credit notes,
their applications, trust postings and cheques; invoices are found by number when planned: one
found is linked, never sent twice.

Edits to Clio contacts (two-way contacts) are not ledger writes: they go to the source one by one.

A record whose open error the bookkeeper parked (`ledgerlink skip`) is settled as ``parked``: never
sent, not recorded again, not a problem of the pass (it does not make the exit code 1). Its
dependants plan as usual and end blocked, since their parent is still not in the ledger. A plan
that has nothing to do with a parked record (a skip: voided before it synced, nothing to post)
closes its error like any other: there is nothing left to set aside.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

from ledgerlink import failpoints
from ledgerlink.domain import ContactEdit
from ledgerlink.errors import (
    ApiError,
    LedgerlinkError,
    RateLimitedError,
    RecordError,
    SystemicError,
    TransportError,
)
from ledgerlink.store import Completion, Intent, LinkWrite, PlannedWrite, Store
from ledgerlink.sync import tax
from ledgerlink.sync.flows import contact_merge
from ledgerlink.sync.flows import contacts as contact_flow
from ledgerlink.sync.plan import WRITES, Action, Op, Tally
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    Ledger,
    LedgerWrite,
    PaymentDraft,
    Source,
    TrustChequeDraft,
    TrustPostingDraft,
    Written,
)

log = logging.getLogger("ledgerlink.sync")

WRITEBACK = "contact_writeback"  # action kind: ledger-side contact edits written to Clio

OUTCOME = {
    Op.CREATE: "created",
    Op.UPDATE: "updated",
    Op.LINK: "linked",
    Op.VOID: "voided",
    Op.DELETE: "deleted",
    Op.SKIP: "skipped",
    Op.FAIL: "failed",
    Op.BLOCKED: "blocked",
}
PARKED = "parked"  # the outcome of a record whose error the bookkeeper parked

ProgressFn = Callable[[Action, str], None]  # one record settled: (action, outcome)
PlanFn = Callable[[Sequence[Action]], None]  # the writes one phase is about to send (progress totals)
SnapshotFn = Callable[[Action, Written], dict[str, Any] | None]


@dataclass
class PassResult:
    run_id: int
    dry_run: bool
    tally: Tally = field(default_factory=Tally)
    actions: list[Action] = field(default_factory=list)
    problems: list[tuple[Action, RecordError]] = field(default_factory=list)
    notices: list[tuple[Action, str]] = field(default_factory=list)  # done, but worth a bookkeeper's eye
    warnings: list[str] = field(default_factory=list)  # about the whole company, not one record
    parked: list[Action] = field(default_factory=list)  # set aside by the bookkeeper: not sent, not problems
    interrupted: bool = False

    @property
    def exit_code(self) -> int:
        """0 clean; 1 when records failed — or, for a dry run, when anything would change (pip-tools).

        A dry run's records that would fail again are not changes: they are in `ledgerlink errors`.
        """
        if self.dry_run:
            return 1 if self.tally.writes else 0
        return 1 if self.problems or self.warnings else 0

    @property
    def status(self) -> str:
        if self.interrupted:
            return "interrupted"
        return "errors" if self.problems or self.warnings else "ok"


def add_outcome(result: PassResult, action: Action, outcome: str, error: RecordError | None) -> bool:
    """Count one record's outcome in the pass result; True when its notice was kept (worth a log line).

    A real pass keeps what each record became, not what was written (a dry run shows amounts):
    the pass holds no more than a window of bills' lines however big the firm.
    """
    result.actions.append(action if result.dry_run else replace(action, payload=None))
    result.tally.add(action.kind, outcome)
    if error is not None:
        result.problems.append((action, error))
    elif action.notice and outcome == OUTCOME[action.op]:
        result.notices.append((action, action.notice))
        return True
    return False


def save_error(store: Store, connection_id: int, action: Action, error: RecordError, *, run_id: int) -> None:
    """Keep a record's failure in ``sync_errors`` (what `ledgerlink errors` lists)."""
    store.record_error(
        connection_id,
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


class Applier:
    """Carries out actions for one pass of one connection, recording every outcome."""

    def __init__(
        self,
        *,
        source: Source,
        ledger: Ledger,
        store: Store,
        connection_id: int,
        result: PassResult,
        should_stop: Callable[[], bool],
        on_progress: ProgressFn,
        snapshot: SnapshotFn,
        after_batch: Callable[[], None] = lambda: None,
        on_plan: PlanFn | None = None,
    ) -> None:
        self.source = source
        self.ledger = ledger
        self.store = store
        self.conn = connection_id
        self.result = result
        self.should_stop = should_stop
        self.on_progress = on_progress
        self.snapshot = snapshot
        self.after_batch = after_batch
        self.on_plan = on_plan or (lambda writes: None)
        # Read once per pass: a `ledgerlink skip` made while a pass runs counts from the next one.
        self.parked = frozenset(store.parked_keys(connection_id))

    def apply(self, actions: Sequence[Action]) -> None:
        """Settle every non-write at once, then send the writes in batches; stop between batches."""
        self._forget_deleted(actions)
        # One transaction for every skip, failure and blocked record the plan settles.
        with nullcontext() if self.result.dry_run else self.store.transaction():
            for action in actions:
                if self._is_parked(action):
                    self.result.parked.append(action)
                    self._done(action, PARKED, None)
                elif action.op not in WRITES:
                    self._settle(action)
        writes = [a for a in actions if a.op in WRITES and not self._is_parked(a)]
        if writes and not self.result.dry_run:
            writes = self._adopt_landed(writes)
        if writes:
            self.on_plan(writes)
        size = self.ledger.batch_size
        for start in range(0, len(writes), size):
            batch = writes[start : start + size]
            if self.result.interrupted or self.should_stop():
                self.result.interrupted = True
                log.info(
                    "stop requested: %d %s write(s) left for the next pass",
                    len(writes) - start,
                    batch[0].kind,
                )
                return
            if self.result.dry_run:
                for action in batch:
                    self._done(action, OUTCOME[action.op], None)
                continue
            ledger_writes = [a for a in batch if a.kind != WRITEBACK]
            outcomes = self._send(ledger_writes) if ledger_writes else []
            for action, (outcome, error) in zip(ledger_writes, outcomes, strict=True):
                self._done(action, outcome, error)
            for action in batch:
                if action.kind == WRITEBACK:
                    self._done(action, *self._write_back(action))
            self.after_batch()

    # -- outcomes ------------------------------------------------------------------------------

    def _forget_deleted(self, actions: Sequence[Action]) -> None:
        """Forget the links of deletes a killed pass sent and the ledger carried out.

        The killed pass never saw the answer, so the link stayed; this pass finds the ledger record
        already gone and plans a skip, which would leave the link pointing at a deleted record for
        ever. The leftover intent stays open for the engine to close as superseded; the link is
        forgotten under a new, completed delete intent (as the killed pass would have done).
        """
        skips = {(a.kind, a.source_id): a for a in actions if a.op is Op.SKIP and a.target_id is not None}
        if not skips or self.result.dry_run:
            return
        for intent in self.store.open_intents(self.conn):
            action = skips.get((intent.kind, intent.source_id))
            if action is None or intent.op != Op.DELETE.value or intent.state not in ("sent", "uncertain"):
                continue
            link = self.store.link(self.conn, action.kind, action.source_id)
            if link is None or link.target_id != action.target_id:
                continue
            log.info("%s: deleted in %s by a killed pass; link forgotten", action.label, self.ledger.title)
            fresh = self.store.begin_intent(self.conn, Op.DELETE.value, action.kind, action.source_id, "")
            self.store.complete_intent(
                fresh.key,
                link.target_id,
                link=LinkWrite(
                    connection_id=self.conn,
                    kind=action.kind,
                    source_id=action.source_id,
                    target_id=link.target_id,
                    content_hash="",
                    remove=True,
                ),
            )

    def _is_parked(self, action: Action) -> bool:
        return action.op is not Op.SKIP and (action.kind, action.source_id) in self.parked

    def _settle(self, action: Action) -> None:
        """A skip, failure or blocked record: nothing to send, only to record."""
        error = action.error
        if not self.result.dry_run:
            if action.op is Op.SKIP:
                self.store.resolve_error(self.conn, action.kind, action.source_id)
            elif error is not None:
                self.record(action, error)
        self._done(action, OUTCOME[action.op], error if action.op is not Op.SKIP else None)

    def _done(self, action: Action, outcome: str, error: RecordError | None) -> None:
        if add_outcome(self.result, action, outcome, error):
            log.info("%s: %s", action.label, action.notice)
        self.on_progress(action, outcome)

    def record(self, action: Action, error: RecordError) -> None:
        save_error(self.store, self.conn, action, error, run_id=self.result.run_id)

    # -- ledger writes -------------------------------------------------------------------------

    def _send(self, batch: Sequence[Action]) -> list[tuple[str, RecordError | None]]:
        # One transaction before the call: every intent of the batch durable as sent (a crash from here
        # on leaves them for the next pass to resolve by lookup), and the links read for versions.
        with self.store.transaction():
            intents = self.store.send_intents(
                self.conn,
                [PlannedWrite(a.op.value, a.kind, a.source_id, a.content_hash or "") for a in batch],
            )
            links = self.store.links_of(self.conn, [(a.kind, a.source_id) for a in batch])
        writes = []
        for action, intent in zip(batch, intents, strict=True):
            link = links.get((action.kind, action.source_id))
            writes.append(
                LedgerWrite(
                    op=action.op.value,
                    kind=action.kind,
                    key=intent.key,
                    payload=action.payload,
                    target_id=action.target_id,
                    version=link.version_token if link and link.target_id == action.target_id else None,
                )
            )
        try:
            answers = self.ledger.write(writes)
        except RateLimitedError as exc:
            with self.store.transaction():
                for intent in intents:
                    self.store.fail_intent(intent.key, str(exc))
            raise SystemicError(
                f"{self.ledger.title} kept answering 'too many requests': {exc}",
                remedy="The API's request budget is spent for now; run again later (cron will).",
            ) from None
        except ApiError as exc:
            if exc.status is not None and exc.status < 500:
                # The whole call was refused (nothing was written): each record fails with the reason.
                return self._answered_all(batch, intents, [exc] * len(batch))
            return self._uncertain(batch, intents, exc)
        except TransportError as exc:
            return self._uncertain(batch, intents, exc)
        failpoints.hit("after_ledger_write")
        return self._answered_all(batch, intents, answers)

    def _answered_all(
        self, batch: Sequence[Action], intents: Sequence[Intent], answers: Sequence[Written | ApiError]
    ) -> list[tuple[str, RecordError | None]]:
        """Record a batch's answers in one transaction: intents done or failed, links, errors."""
        completions: list[Completion] = []
        refused: list[tuple[str, str]] = []
        outcomes = [
            self._answered(action, intent.key, answer, completions, refused)
            for action, intent, answer in zip(batch, intents, answers, strict=True)
        ]
        with self.store.transaction():
            self.store.complete_intents(completions)
            for key, reason in refused:
                self.store.fail_intent(key, reason)
            resolved: list[tuple[str, str]] = []
            for action, (_, error) in zip(batch, outcomes, strict=True):
                if error is None:
                    resolved.append((action.kind, action.source_id))
                    continue
                self.store.resolve_errors(self.conn, resolved)  # in the records' order, as one by one
                resolved = []
                self.record(action, error)
            self.store.resolve_errors(self.conn, resolved)
        return outcomes

    def _uncertain(
        self, batch: Sequence[Action], intents: Sequence[Intent], exc: LedgerlinkError
    ) -> list[tuple[str, RecordError | None]]:
        """No usable answer (network, or the service failed): the writes may or may not have landed."""
        error = RecordError(
            cause="network",
            message=f"No answer from {self.ledger.title}: {exc}",
            remedy="Nothing to do: the next pass checks whether it arrived and finishes it without "
            "a duplicate.",
        )
        with self.store.transaction():
            for action, intent in zip(batch, intents, strict=True):
                self.store.mark_intent_uncertain(intent.key, str(exc))
                self.record(action, error)
        return [("failed", error)] * len(batch)

    def _answered(
        self,
        action: Action,
        key: str,
        answer: Written | ApiError,
        completions: list[Completion],
        refused: list[tuple[str, str]],
    ) -> tuple[str, RecordError | None]:
        """One answer's outcome; its intent's fate joins ``completions`` or ``refused`` (key, reason).

        The error to record comes back with a failed outcome; a settled record's error is resolved.
        """
        if isinstance(answer, ApiError):
            refused.append((key, str(answer)))
            return "failed", self.ledger.explain(answer, label=action.label)
        mismatch = _tax_mismatch(action, answer)
        completion = Completion(
            key,
            answer.id,
            link=LinkWrite(
                connection_id=self.conn,
                kind=action.kind,
                source_id=action.source_id,
                target_id=answer.id,
                # A tax mismatch leaves no hash: the bill is planned (and checked) again next pass.
                content_hash="" if mismatch else action.content_hash or "",
                version_token=answer.version,
                snapshot=self.snapshot(action, answer),
                remove=action.op is Op.DELETE,
            ),
        )
        completions.append(completion)
        if mismatch is not None:
            return "failed", mismatch
        return OUTCOME[action.op], None

    def _adopt_landed(self, writes: Sequence[Action]) -> list[Action]:
        """Link the creates a killed pass already made (found by marker); return the writes still to send.

        A create may have landed under any write a killed pass left ``sent`` or ``uncertain`` for its
        record (a create, or the link that was to adopt it): every such key is looked for, at one
        query per kind and day, and only after such a crash. Those intents stay open for the engine
        to close as superseded; the link is saved under a new, completed intent.
        """
        leftovers: dict[tuple[str, str], list[Intent]] = {}
        for intent in self.store.open_intents(self.conn):
            if intent.state in ("sent", "uncertain") and intent.op in (Op.CREATE.value, Op.LINK.value):
                leftovers.setdefault((intent.kind, intent.source_id), []).append(intent)
        wanted: dict[str, dict[str, date]] = {}
        for action in writes:
            day = _marked_day(action)
            if action.op is Op.CREATE and day is not None:
                for intent in leftovers.get((action.kind, action.source_id), ()):
                    wanted.setdefault(action.kind, {})[intent.key] = day
        found: dict[str, Written] = {}
        for kind, keys in wanted.items():
            try:
                found.update(self.ledger.find_marked(kind, keys))
            except ValueError:  # a ledger that cannot look this kind up by marker: as before, send
                log.debug("%s cannot look up %s records by marker", self.ledger.title, kind)
        if not found:
            return list(writes)
        rest: list[Action] = []
        for action in writes:
            mine = [i for i in leftovers.get((action.kind, action.source_id), ()) if i.key in found]
            if action.op is not Op.CREATE or not mine:
                rest.append(action)
                continue
            landed = found[mine[0].key]
            log.info("%s: found in %s where a killed pass left it; linked", action.label, self.ledger.title)
            fresh = self.store.begin_intent(self.conn, Op.LINK.value, action.kind, action.source_id, "")
            same = mine[0].payload_hash == (action.content_hash or "")
            self.store.complete_intent(
                fresh.key,
                landed.id,
                link=LinkWrite(
                    connection_id=self.conn,
                    kind=action.kind,
                    source_id=action.source_id,
                    target_id=landed.id,
                    # Changed in Clio since that pass: no hash, so the next pass updates the record.
                    content_hash=(action.content_hash or "") if same else "",
                    version_token=landed.version,
                    snapshot=self.snapshot(action, landed),
                ),
            )
            self.store.resolve_error(self.conn, action.kind, action.source_id)
            self._done(action, OUTCOME[Op.LINK], None)
        return rest

    # -- Clio write-backs ----------------------------------------------------------------------

    def _write_back(self, action: Action) -> tuple[str, RecordError | None]:
        assert isinstance(action.payload, ContactEdit)
        try:
            contact = self.source.update_contact(action.source_id, action.payload)
        except LedgerlinkError as exc:
            if exc.exit_code == 3 and not isinstance(exc, ApiError):
                raise
            error = RecordError(
                cause="clio_refused",
                message=f"Clio did not take the change made in {self.ledger.title}: {exc}",
                remedy="Make the change in Clio by hand; ledgerlink then keeps both sides equal.",
            )
            self.record(action, error)
            return "failed", error
        contact_link = self.store.link(self.conn, contact_flow.KIND, action.source_id)
        if contact_link is not None:
            # The Clio side of the merge base, and the hash, are now what Clio holds: the next pass
            # sees Clio's contact as unchanged instead of sending the ledger its own edit back.
            self.store.save_link(
                self.conn,
                contact_flow.KIND,
                action.source_id,
                contact_link.target_id,
                content_hash=contact_flow.contact_hash(contact),
                version_token=contact_link.version_token,
                snapshot=contact_merge.with_clio(contact_link.snapshot, contact),
            )
        self.store.resolve_error(self.conn, action.kind, action.source_id)
        return "updated", None


def _tax_mismatch(action: Action, written: Written) -> RecordError | None:
    """The ledger computed a different tax than Clio charged: the invoice is an error naming both."""
    draft = action.payload
    if not isinstance(draft, InvoiceDraft) or draft.expected_tax is None or written.tax is None:
        return None
    if written.tax == draft.expected_tax:
        return None
    return tax.tax_mismatch_error(action.label, draft.expected_tax, written.tax)


def _marked_day(action: Action) -> date | None:
    """The date a record that carries a marker is written with (what a lookup needs); None: no lookup.

    Invoices are found again by number, by their planner; every other ledger record by marker here.
    """
    draft = action.payload
    if isinstance(draft, PaymentDraft):
        return draft.payment.date
    if isinstance(draft, CreditNoteDraft | CreditApplicationDraft):
        return draft.credit.date
    if isinstance(draft, TrustPostingDraft | TrustChequeDraft):
        return draft.transaction.date
    return None
