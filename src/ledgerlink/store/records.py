"""What the store hands out: frozen records of its rows, and the errors it raises.

Records are plain values: they outlive the transaction that read them and share nothing with it.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from ledgerlink.errors import SystemicError
from ledgerlink.store.models import Base, IntentOp, IntentState, Provider, RunStatus

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

# ---------------------------------------------------------------------------------------------
# Errors


class StoreError(SystemicError):
    """The store refused a write that would break one of its invariants."""

    default_remedy = (
        "This is a bug in ledgerlink or a hand-edited store; report it with the message above. "
        "The pass stopped before writing anything inconsistent."
    )


class LinkConflictError(StoreError):
    """A second source record was about to be linked to a ledger record that is already linked."""

    default_remedy = (
        "Two source records claim the same ledger record. Check both in the source for a duplicate "
        "and merge or delete one; the pass stopped so nothing is written twice."
    )


class IntentStateError(StoreError):
    """An intent was asked to make a move its state does not allow, or does not exist."""


# ---------------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True, slots=True)
class Connection:
    """One connected company (QBO realm), tenant (Xero) or Clio account."""

    id: int
    provider: Provider
    external_id: str
    name: str
    region: str | None
    connected_at: datetime
    disconnected_at: datetime | None
    retired_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disconnected_at is None and self.retired_at is None


@dataclass(frozen=True, slots=True)
class Link:
    """A source record and the ledger record it was written to."""

    id: int
    connection_id: int
    kind: str
    source_id: str
    target_id: str
    content_hash: str
    version_token: str | None
    snapshot: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LinkWrite:
    """A link to save together with the completion of an intent."""

    connection_id: int
    kind: str
    source_id: str
    target_id: str
    content_hash: str
    version_token: str | None = None
    snapshot: dict[str, Any] | None = None
    remove: bool = False  # the ledger record was deleted: forget the link instead of saving it


@dataclass(frozen=True, slots=True)
class PlannedWrite:
    """A write about to leave for the ledger, for ``Store.send_intents``: what its intent records."""

    op: str
    kind: str
    source_id: str
    payload_hash: str


@dataclass(frozen=True, slots=True)
class Completion:
    """A write the ledger carried out, for ``Store.complete_intents``: its intent, remote id and link."""

    key: str
    remote_id: str
    link: LinkWrite | None = None


@dataclass(frozen=True, slots=True)
class Intent:
    """An outbound write; ``key`` is its idempotency key and remote marker."""

    key: str
    connection_id: int
    op: IntentOp
    kind: str
    source_id: str
    payload_hash: str
    state: IntentState
    remote_id: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class SyncError:
    """Why one source record did not sync, and what to do about it."""

    id: int
    connection_id: int
    kind: str
    source_id: str
    label: str
    cause: str
    message: str
    remedy: str
    retryable: bool
    blocked_by: str | None
    attempts: int
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None
    run_id: int | None
    parked_at: datetime | None = None  # parked by the bookkeeper: never sent or retried until retried
    parked_reason: str | None = None
    retry_requested_at: datetime | None = None  # the next pass re-reads it even if it waits on a parent

    @property
    def parked(self) -> bool:
        return self.parked_at is not None


@dataclass(frozen=True, slots=True)
class Run:
    """One pass, for the audit trail."""

    id: int
    started_at: datetime
    finished_at: datetime | None
    status: RunStatus
    exit_code: int | None
    dry_run: bool
    counts: dict[str, dict[str, int]]
    error: str | None


R = TypeVar("R", bound="DataclassInstance")


def to_record(record_type: type[R], row: Base) -> R:
    """Copy a row into a frozen record; JSON values are deep-copied so the record shares nothing.

    Only JSON values can be shared: every other column holds an immutable value (str, int, bool,
    datetime), which ``deepcopy`` would only copy slowly.
    """
    values = {f.name: _unshared(getattr(row, f.name)) for f in dataclasses.fields(record_type)}
    return record_type(**values)


def _unshared(value: Any) -> Any:
    return copy.deepcopy(value) if isinstance(value, dict | list) else value


def record_columns(record_type: type[DataclassInstance], model: type[Base]) -> tuple[Any, ...]:
    """The model's columns named like the record's fields, in field order.

    A select of them builds records as ``record_type(*row)``, with no ORM object in between: reading
    thousands of links this way costs a fraction of loading rows and copying them (a pass reads every
    link of a kind several times). Each row's JSON is decoded afresh, so such records share nothing.
    """
    return tuple(getattr(model, f.name) for f in dataclasses.fields(record_type))
