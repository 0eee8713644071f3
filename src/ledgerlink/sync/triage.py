"""Error triage: what each open error holds up, and what a retry came to.

`ledgerlink errors`, `retry` and `skip` show the bookkeeper more than a failure list with a
"retryable" flag (all Clio's own sync offers): which records wait on which, and after a retry
whether each record is fixed. These are pure functions over stored errors; the CLI renders them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal

from ledgerlink.store import SyncError
from ledgerlink.sync.apply import WRITEBACK
from ledgerlink.sync.flows import contacts as contact_flow
from ledgerlink.sync.flows import credit_notes as credit_flow
from ledgerlink.sync.flows import invoices as invoice_flow
from ledgerlink.sync.flows import payments as payment_flow
from ledgerlink.sync.flows import payroll as payroll_flow
from ledgerlink.sync.flows import trust as trust_flow
from ledgerlink.sync.flows.hard_costs import KIND as HARD_COST_KIND
from ledgerlink.sync.flows.spend_money import KIND as SPEND_MONEY_KIND
from ledgerlink.sync.reading import blocker_of

# Every kind of record an error can be about, in the order a pass syncs them.
KINDS: tuple[str, ...] = (
    contact_flow.KIND,
    WRITEBACK,
    invoice_flow.KIND,
    credit_flow.KIND,
    credit_flow.APPLICATION_KIND,
    payment_flow.KIND,
    *trust_flow.KINDS,
    *payroll_flow.KINDS,
    HARD_COST_KIND,
    SPEND_MONEY_KIND,
)
# Trust postings are not parked: the trust guard lets a later disbursement through counting on the
# earlier deposits being in the books, so a deposit left out could overdraw a client there.
UNPARKABLE: frozenset[str] = frozenset(trust_flow.KINDS)

Verdict = Literal["fixed", "still failing", "not tried"]


def record_key(error: SyncError) -> tuple[int, str, str]:
    """The record an error is about: (connection, kind, source id)."""
    return error.connection_id, error.kind, error.source_id


def blocked_by_each(errors: Iterable[SyncError]) -> dict[int, list[SyncError]]:
    """For each error's id, the open errors that wait on its record (its dependants), oldest first."""
    errors = list(errors)
    by_record = {record_key(e): e.id for e in errors}
    blocks: dict[int, list[SyncError]] = {e.id: [] for e in errors}
    for error in errors:
        parent = blocker_of(error)
        if parent is None:
            continue
        parent_id = by_record.get((error.connection_id, *parent))
        if parent_id is not None and parent_id != error.id:
            blocks[parent_id].append(error)
    return blocks


def dependants(error: SyncError, open_errors: Iterable[SyncError]) -> list[SyncError]:
    """The open errors that stay blocked while ``error``'s record is not in the ledger."""
    return blocked_by_each([error, *(e for e in open_errors if e.id != error.id)])[error.id]


def retry_verdict(
    retried: SyncError, now_open: Sequence[SyncError], run_id: int
) -> tuple[Verdict, SyncError | None]:
    """What the pass ``run_id`` made of a retried error: fixed, still failing (with the error), or
    not tried (the pass did not reach its record: another connection, or it stopped early).

    ``now_open`` is every error open after the pass; the record's error there, if any, is its
    current one (the same row, its attempt counted, in all but the rarest cases).
    """
    current = next((e for e in now_open if record_key(e) == record_key(retried)), None)
    if current is None:
        return "fixed", None
    if current.run_id != run_id:
        return "not tried", current
    return "still failing", current
