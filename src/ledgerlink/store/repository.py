"""The store's one door: every read and write the sync engine makes.

Each method is its own transaction and has committed before it returns, so a crash loses at most
the call in flight — unless the caller groups calls with ``Store.transaction()``: every call inside
the block then shares one transaction, committed when the block ends (one commit, one fsync) or
rolled back whole if it raises. The sync's batches use it, with the bulk methods ``send_intents``,
``links_of``, ``complete_intents`` and ``resolve_errors``: one transaction records a batch's
intents as sent before the ledger call, one records the answers after it. Methods hand back
frozen records (``Connection``, ``Link``, ``Intent``, ``SyncError``, ``Run``), never ORM rows, so
nothing depends on a session staying open.

Assumptions
-----------
Where the brief and DESIGN.md leave a choice open, this module decides as follows:

- Reconnecting a *disconnected* company (``upsert_connection``) revives the same row *with its
  links*: those ledger records still exist, and forgetting them would duplicate them (invariant 1).
  A *retired* company (switched away from, or purged) gets a new row: its old links stay as history
  and are never matched again (issue "Connections"); the sync's matching by name, e-mail and
  invoice number then adopts what the ledger has instead of duplicating it. ``connected_at`` moves
  to now only on a (re)connect; an upsert of a live connection just refreshes its name and region.
- ``retire_connection`` (not in the brief's list; the ``retired_at`` column needs a writer) is what
  the CLI calls after the bookkeeper confirms connecting a *different* company of the same provider.
- An intent moves planned → sent → done | failed | uncertain; uncertain → sent (re-sent with the same
  key) | done | failed. ``planned`` may go straight to done/failed/uncertain (an adopted record, a
  refusal before sending, a timeout before the sent mark). done and failed are final: moving them is
  an ``IntentStateError``. Re-marking sent or uncertain is allowed (it refreshes ``updated_at``/error).
- The link written by ``complete_intent`` is not required to name the intent's own (kind, source id).
- ``save_link`` replaces every field of an existing link, ``snapshot=None`` included.
- ``set_cursor`` with a time before the stored one is ignored, silently: the cursor is a maximum.
- ``open_intents`` breaks ties of ``created_at`` by key; ``open_errors`` lists oldest first.
- Errors: a *parked* error (``park_error``, `ledgerlink skip`) stays open; ``record_error`` on it
  counts the attempt and keeps it parked (the bookkeeper's decision stands until they take it
  back); ``resolve_error`` closes it like any other (the record synced, or needs nothing, after
  all). ``request_retry`` unparks it and flags it so the next pass re-reads the record even where
  it would wait on a failed parent; the flag is spent by the next attempt or the resolution.
  Parking, unparking or retrying a resolved or unknown error is a ``StoreError``.
- ``finish_run`` only finishes a run that is still ``running`` (``interrupted`` is how a later pass
  closes one a crash left behind).
- Locks: the owner that holds a lock may acquire it again (that renews it); ``renew_lock`` by anyone
  but the holder raises ``LockHeldError`` (the pass has lost its lock and must stop);
  ``release_lock`` by anyone but the holder does nothing.
- Vocabulary arguments (provider, op, status) are typed ``str`` so callers can pass their own
  enums' values; they are checked at runtime against ``Provider``/``IntentOp``/``RunStatus``
  (``ValueError``) and again by CHECK constraints. The records returned carry the ``Literal`` types.
- Grouped calls (``transaction()``): a store error raised inside rolls back everything the block
  wrote, not just the failing call (a batch's answers are then lost as if the process had died
  after the ledger call: its intents stay ``sent`` and the next pass resolves them by lookup).
  ``record_error`` inside a block does not retry a concurrent insert (PostgreSQL): it raises.
  The block belongs to its thread; other threads' calls keep their own transactions.
- SQLite: every transaction starts with ``BEGIN IMMEDIATE`` so read-modify-write methods (upserts,
  the lock, the never-backwards cursor) are serialised between processes; ``busy_timeout`` makes the
  second writer wait instead of failing. ``sqlite://`` (in memory) shares one connection and is for
  single-threaded tests only.
"""

from __future__ import annotations

import copy
import socket
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import uuid4

from sqlalchemy import ColumnElement, Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.util import identity_key

from ledgerlink.errors import LockHeldError
from ledgerlink.store.database import SQLITE_BUSY_TIMEOUT_MS, create_store_engine, migrate
from ledgerlink.store.models import (
    INTENT_OPS,
    PROVIDERS,
    RUN_STATUSES,
    ConnectionRow,
    CursorRow,
    IntentOp,
    IntentRow,
    IntentState,
    LinkRow,
    LockRow,
    RunRow,
    SyncErrorRow,
)
from ledgerlink.store.records import (
    Completion,
    Connection,
    Intent,
    IntentStateError,
    Link,
    LinkConflictError,
    LinkWrite,
    PlannedWrite,
    Run,
    StoreError,
    SyncError,
    record_columns,
    to_record,
)

Clock = Callable[[], datetime]
Counts = Mapping[str, Mapping[str, int]]

# What the bulk reads select: the columns of a record, straight into records (no ORM rows).
LINK_COLUMNS = record_columns(Link, LinkRow)
INTENT_COLUMNS = record_columns(Intent, IntentRow)
SYNC_ERROR_COLUMNS = record_columns(SyncError, SyncErrorRow)

OPEN_INTENT_STATES = ("planned", "sent", "uncertain")
IN_LIST_CHUNK = 500  # ids per ``IN (...)``: well under every SQLite build's variable limit
# Where an intent may go from each state (see Assumptions).
INTENT_MOVES: dict[str, frozenset[str]] = {
    "planned": frozenset({"sent", "done", "failed", "uncertain"}),
    "sent": frozenset({"sent", "done", "failed", "uncertain"}),
    "uncertain": frozenset({"sent", "done", "failed", "uncertain"}),
    "done": frozenset(),
    "failed": frozenset(),
}


def utc_now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def require_one_of(value: str, allowed: tuple[str, ...], what: str) -> None:
    """Refuse a value outside a closed vocabulary before the database does, with a readable message."""
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(allowed)}; got {value!r}")


def require_aware(moment: datetime, what: str) -> datetime:
    """``moment`` in UTC; a naive datetime is refused rather than guessed at."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware; got {moment!r}")
    return moment.astimezone(UTC)


def show_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def _parked_is(parked: bool) -> ColumnElement[bool]:
    """The SQL condition "this error is (not) parked"."""
    column = SyncErrorRow.parked_at
    return column.is_not(None) if parked else column.is_(None)


class Store:
    """Links, intents, cursors, errors, runs and the pass lock, each call its own transaction."""

    def __init__(self, engine: Engine, *, clock: Clock = utc_now) -> None:
        self._engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._clock = clock
        self._grouped = threading.local()  # .session: the open ``transaction()`` of this thread

    @classmethod
    def open(
        cls, url: str, *, clock: Clock = utc_now, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
    ) -> Store:
        """Open the store at ``url``, creating it or migrating it to the newest schema first.

        A store this ledgerlink cannot use (not a database, damaged, of a newer schema) is refused
        with a ``StoreError`` subclass and left exactly as it was. ``busy_timeout_ms``: how long each
        write waits for another process's write lock before ``StoreBusyError``.
        """
        engine = create_store_engine(url, busy_timeout_ms=busy_timeout_ms)
        try:
            migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, clock=clock)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group the store calls made inside the block into one transaction, committed at its end.

        Nothing the block writes is durable before the block ends; an exception rolls all of it
        back. A block inside another joins the outer one. Keep network calls out of the block:
        on SQLite it holds the store's write lock.
        """
        if self._shared_session() is not None:
            yield
            return
        with self._sessions.begin() as session:
            self._grouped.session = session
            try:
                yield
            finally:
                self._grouped.session = None

    def _shared_session(self) -> Session | None:
        return cast(Session | None, getattr(self._grouped, "session", None))

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        shared = self._shared_session()
        if shared is not None:
            yield shared
            return
        with self._sessions.begin() as session:
            yield session

    def _now(self) -> datetime:
        return require_aware(self._clock(), "the store's clock")

    # -- connections -------------------------------------------------------------------------

    def upsert_connection(
        self, provider: str, external_id: str, name: str, region: str | None = None
    ) -> Connection:
        """Record a (re)connected company; it is live afterwards.

        A company that was only disconnected comes back with its links. A retired one (switched away
        from, or purged) gets a fresh connection: the retired links stay as history, never matched.
        """
        require_one_of(provider, PROVIDERS, "provider")
        now = self._now()
        with self._transaction() as session:
            row = session.scalars(
                select(ConnectionRow).filter_by(provider=provider, external_id=external_id, retired_at=None)
            ).one_or_none()
            if row is None:
                row = ConnectionRow(provider=provider, external_id=external_id, connected_at=now)
                session.add(row)
            elif row.disconnected_at is not None:
                row.connected_at = now
            row.name = name
            row.region = region
            row.disconnected_at = None
            session.flush()
            return to_record(Connection, row)

    def active_connection(self, provider: str) -> Connection | None:
        """The newest connection of ``provider`` that is neither disconnected nor retired."""
        require_one_of(provider, PROVIDERS, "provider")
        with self._transaction() as session:
            row = session.scalars(
                select(ConnectionRow)
                .filter_by(provider=provider, disconnected_at=None, retired_at=None)
                .order_by(ConnectionRow.connected_at.desc(), ConnectionRow.id.desc())
                .limit(1)
            ).one_or_none()
            return None if row is None else to_record(Connection, row)

    def connections(self) -> list[Connection]:
        """Every connection ever made, oldest first."""
        with self._transaction() as session:
            rows = session.scalars(select(ConnectionRow).order_by(ConnectionRow.id))
            return [to_record(Connection, row) for row in rows]

    def mark_disconnected(self, connection_id: int) -> None:
        """Mark a connection disconnected; its links are kept for a later reconnect."""
        now = self._now()
        with self._transaction() as session:
            row = self._connection_row(session, connection_id)
            if row.disconnected_at is None:
                row.disconnected_at = now

    def retire_connection(self, connection_id: int) -> None:
        """Retire a connection (another company of its provider replaces it); its links stop counting."""
        now = self._now()
        with self._transaction() as session:
            row = self._connection_row(session, connection_id)
            if row.retired_at is None:
                row.retired_at = now

    @staticmethod
    def _connection_row(session: Session, connection_id: int) -> ConnectionRow:
        row = session.get(ConnectionRow, connection_id)
        if row is None:
            raise StoreError(f"there is no connection {connection_id} in the store")
        return row

    # -- links -------------------------------------------------------------------------------

    def link(self, connection_id: int, kind: str, source_id: str) -> Link | None:
        """The link of one source record, if it has been synced."""
        with self._transaction() as session:
            row = self._link_row(session, connection_id, kind, source_id=source_id)
            return None if row is None else to_record(Link, row)

    def link_count(self, connection_id: int) -> int:
        """How many records of every kind are linked through this connection."""
        with self._transaction() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(LinkRow).filter_by(connection_id=connection_id)
                )
                or 0
            )

    def link_by_target(self, connection_id: int, kind: str, target_id: str) -> Link | None:
        """The link that points at one ledger record, if any."""
        with self._transaction() as session:
            row = self._link_row(session, connection_id, kind, target_id=target_id)
            return None if row is None else to_record(Link, row)

    def links(self, connection_id: int, kind: str) -> dict[str, Link]:
        """Every link of one kind in a connection, by source id."""
        query = select(*LINK_COLUMNS).filter_by(connection_id=connection_id, kind=kind)
        with self._transaction() as session:
            links = (Link(*row) for row in session.execute(query))
            return {link.source_id: link for link in links}

    def links_of(self, connection_id: int, records: Iterable[tuple[str, str]]) -> dict[tuple[str, str], Link]:
        """The links of several source records, by (kind, source id); records never synced are absent."""
        wanted = _ids_by_kind(records)
        found: dict[tuple[str, str], Link] = {}
        if not wanted:
            return found
        with self._transaction() as session:
            for kind, ids in wanted.items():
                for chunk in _chunks(ids):
                    rows = session.execute(
                        select(*LINK_COLUMNS)
                        .filter_by(connection_id=connection_id, kind=kind)
                        .where(LinkRow.source_id.in_(chunk))
                    )
                    links = (Link(*row) for row in rows)
                    found.update({(kind, link.source_id): link for link in links})
        return found

    def save_link(
        self,
        connection_id: int,
        kind: str,
        source_id: str,
        target_id: str,
        *,
        content_hash: str,
        version_token: str | None = None,
        snapshot: dict[str, Any] | None = None,
    ) -> Link:
        """Create or replace the link of a source record; refuse a target another source holds."""
        write = LinkWrite(connection_id, kind, source_id, target_id, content_hash, version_token, snapshot)
        now = self._now()
        with self._transaction() as session:
            return to_record(Link, self._write_link(session, write, now))

    @staticmethod
    def _link_row(
        session: Session,
        connection_id: int,
        kind: str,
        *,
        source_id: str | None = None,
        target_id: str | None = None,
    ) -> LinkRow | None:
        query = select(LinkRow).filter_by(connection_id=connection_id, kind=kind)
        if source_id is not None:
            query = query.filter_by(source_id=source_id)
        if target_id is not None:
            query = query.filter_by(target_id=target_id)
        return session.scalars(query).one_or_none()

    def _write_link(self, session: Session, write: LinkWrite, now: datetime) -> LinkRow:
        holder = self._link_row(session, write.connection_id, write.kind, target_id=write.target_id)
        if holder is not None and holder.source_id != write.source_id:
            raise link_conflict(write, holder.source_id)
        row = self._link_row(session, write.connection_id, write.kind, source_id=write.source_id)
        if row is None:
            row = LinkRow(
                connection_id=write.connection_id, kind=write.kind, source_id=write.source_id, created_at=now
            )
            session.add(row)
        row.target_id = write.target_id
        row.content_hash = write.content_hash
        row.version_token = write.version_token
        row.snapshot = copy.deepcopy(write.snapshot)
        row.updated_at = now
        session.flush()
        return row

    def _write_links(self, session: Session, writes: Sequence[LinkWrite], now: datetime) -> None:
        """``_write_link`` (or the removal) of each link in order, the rows concerned read at once."""
        if not writes:
            return
        by_source: dict[tuple[int, str, str], LinkRow] = {}
        by_target: dict[tuple[int, str, str], str] = {}  # -> the source id that holds the target
        fresh: dict[tuple[int, str, str], dict[str, Any]] = {}  # new links, inserted at once at the end
        groups: dict[tuple[int, str], tuple[set[str], set[str]]] = {}
        for write in writes:
            sources, targets = groups.setdefault((write.connection_id, write.kind), (set(), set()))
            sources.add(write.source_id)
            targets.add(write.target_id)
        for (connection_id, kind), (sources, targets) in groups.items():
            for column, ids in ((LinkRow.source_id, sources), (LinkRow.target_id, targets)):
                for chunk in _chunks(sorted(ids)):
                    query = select(LinkRow).filter_by(connection_id=connection_id, kind=kind)
                    for found in session.scalars(query.where(column.in_(chunk))):
                        by_source[(connection_id, kind, found.source_id)] = found
                        by_target[(connection_id, kind, found.target_id)] = found.source_id
        for write in writes:
            source = (write.connection_id, write.kind, write.source_id)
            row = by_source.get(source)
            new = fresh.get(source)
            if write.remove:
                if new is not None:
                    del fresh[source]
                    by_target.pop((write.connection_id, write.kind, new["target_id"]), None)
                elif row is not None:
                    session.delete(row)
                    session.flush()  # a later write may take its target: the delete goes first
                    del by_source[source]
                    by_target.pop((write.connection_id, write.kind, row.target_id), None)
                continue
            target = (write.connection_id, write.kind, write.target_id)
            holder = by_target.get(target)
            if holder is not None and holder != write.source_id:
                raise link_conflict(write, holder)
            if row is None:
                if new is not None:
                    by_target.pop((write.connection_id, write.kind, new["target_id"]), None)
                fresh[source] = {
                    "connection_id": write.connection_id,
                    "kind": write.kind,
                    "source_id": write.source_id,
                    "target_id": write.target_id,
                    "content_hash": write.content_hash,
                    "version_token": write.version_token,
                    "snapshot": copy.deepcopy(write.snapshot),
                    "created_at": new["created_at"] if new is not None else now,
                    "updated_at": now,
                }
                by_target[target] = write.source_id
                continue
            moved = False
            if row.target_id != write.target_id:
                by_target.pop((write.connection_id, write.kind, row.target_id), None)
                moved = True
            row.target_id = write.target_id
            row.content_hash = write.content_hash
            row.version_token = write.version_token
            row.snapshot = copy.deepcopy(write.snapshot)
            row.updated_at = now
            by_target[target] = write.source_id
            if moved:
                session.flush()  # frees its old target before a later write of the batch takes it
        session.flush()
        if fresh:
            session.execute(insert(LinkRow), list(fresh.values()))

    # -- intents -----------------------------------------------------------------------------

    def begin_intent(
        self, connection_id: int, op: str, kind: str, source_id: str, payload_hash: str
    ) -> Intent:
        """Record a write about to be made, under a fresh key to send as its idempotency key."""
        require_one_of(op, INTENT_OPS, "op")
        now = self._now()
        with self._transaction() as session:
            row = IntentRow(
                key=uuid4().hex,
                connection_id=connection_id,
                op=op,
                kind=kind,
                source_id=source_id,
                payload_hash=payload_hash,
                state="planned",
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            return to_record(Intent, row)

    def send_intents(self, connection_id: int, writes: Sequence[PlannedWrite]) -> list[Intent]:
        """Record a batch of writes about to leave, all ``sent`` at once, under fresh keys.

        One transaction for the batch (or part of the caller's ``transaction()``): when it has
        committed, every write of the batch is known to be possibly landed, so a crash during the
        ledger call leaves intents the next pass resolves by lookup. Same as ``begin_intent`` then
        ``mark_intent_sent`` for each, without the planned state in between.
        """
        for write in writes:
            require_one_of(write.op, INTENT_OPS, "op")
        now = self._now()
        intents = [
            Intent(
                key=uuid4().hex,
                connection_id=connection_id,
                op=cast(IntentOp, write.op),
                kind=write.kind,
                source_id=write.source_id,
                payload_hash=write.payload_hash,
                state="sent",
                remote_id=None,
                error=None,
                created_at=now,
                updated_at=now,
            )
            for write in writes
        ]
        if intents:
            with self._transaction() as session:
                session.execute(insert(IntentRow), [_intent_values(intent) for intent in intents])
        return intents

    def intent(self, key: str) -> Intent | None:
        """One intent by key, whatever its state."""
        with self._transaction() as session:
            row = session.get(IntentRow, key)
            return None if row is None else to_record(Intent, row)

    def mark_intent_sent(self, key: str) -> None:
        """Note that the write is about to leave: from now on only a lookup can tell if it landed."""
        with self._transaction() as session:
            self._move_intent(session, key, "sent")

    def mark_intent_uncertain(self, key: str, error: str) -> None:
        """Note that the write may or may not have landed (timeout, dropped response)."""
        with self._transaction() as session:
            self._move_intent(session, key, "uncertain").error = error

    def fail_intent(self, key: str, error: str) -> None:
        """Note that the write was refused and nothing exists remotely."""
        with self._transaction() as session:
            self._move_intent(session, key, "failed").error = error

    def complete_intent(self, key: str, remote_id: str, *, link: LinkWrite | None) -> None:
        """Mark the write done with its remote id and save its link, both or neither."""
        now = self._now()
        with self._transaction() as session:
            self._move_intent(session, key, "done").remote_id = remote_id
            # Flushed before the link is written so a failing link undoes a change really made.
            session.flush()
            if link is not None and link.remove:
                row = self._link_row(session, link.connection_id, link.kind, source_id=link.source_id)
                if row is not None:
                    session.delete(row)
            elif link is not None:
                self._write_link(session, link, now)

    def complete_intents(self, completions: Sequence[Completion]) -> None:
        """``complete_intent`` for each, in order, in one transaction: all of them or none.

        The same checks as one by one (an intent that cannot become done, a ledger record another
        source holds) raise the same errors, and then nothing of the batch is saved.
        """
        if not completions:
            return
        now = self._now()
        with self._transaction() as session:
            keys = list(dict.fromkeys(c.key for c in completions))
            states: dict[str, tuple[str, str]] = {}  # key -> (what it writes, its state)
            columns = (IntentRow.key, IntentRow.op, IntentRow.kind, IntentRow.source_id, IntentRow.state)
            for chunk in _chunks(keys):
                for key, op, kind, source_id, state in session.execute(
                    select(*columns).where(IntentRow.key.in_(chunk))
                ):
                    states[key] = (f"{op} {kind} {source_id}", state)
            changes = []
            for completion in completions:
                if completion.key not in states:
                    raise IntentStateError(f"there is no intent {completion.key} in the store")
                what, state = states[completion.key]
                _check_move(completion.key, what, state, "done")
                states[completion.key] = (what, "done")
                changes.append(
                    {
                        "key": completion.key,
                        "state": "done",
                        "remote_id": completion.remote_id,
                        "updated_at": now,
                    }
                )
            session.execute(update(IntentRow), changes)  # by primary key, one executemany
            for key in keys:  # a row this session holds no longer says what the table does
                held = session.identity_map.get(identity_key(IntentRow, key))
                if held is not None:
                    session.expire(held)
            self._write_links(session, [c.link for c in completions if c.link is not None], now)

    def open_intents(self, connection_id: int) -> list[Intent]:
        """Intents a crash or timeout may have left unresolved (planned, sent, uncertain), oldest first."""
        with self._transaction() as session:
            rows = session.execute(
                select(*INTENT_COLUMNS)
                .where(IntentRow.connection_id == connection_id, IntentRow.state.in_(OPEN_INTENT_STATES))
                .order_by(IntentRow.created_at, IntentRow.key)
            )
            return [Intent(*row) for row in rows]

    def _move_intent(self, session: Session, key: str, state: IntentState) -> IntentRow:
        row = session.get(IntentRow, key)
        if row is None:
            raise IntentStateError(f"there is no intent {key} in the store")
        _check_move(key, f"{row.op} {row.kind} {row.source_id}", row.state, state)
        row.state = state
        row.updated_at = self._now()
        return row

    # -- cursors -----------------------------------------------------------------------------

    def cursor(self, connection_id: int, stream: str) -> datetime | None:
        """How far ``stream`` has been read, or None before its first pass."""
        with self._transaction() as session:
            row = session.get(CursorRow, (connection_id, stream))
            return None if row is None else row.high_water

    def set_cursor(self, connection_id: int, stream: str, high_water: datetime) -> None:
        """Move the cursor forward to ``high_water``; an earlier time leaves it where it is."""
        high_water = require_aware(high_water, "high_water")
        now = self._now()
        with self._transaction() as session:
            row = session.get(CursorRow, (connection_id, stream))
            if row is None:
                session.add(
                    CursorRow(
                        connection_id=connection_id, stream=stream, high_water=high_water, updated_at=now
                    )
                )
            elif high_water > row.high_water:
                row.high_water = high_water
                row.updated_at = now

    # -- errors ------------------------------------------------------------------------------

    def record_error(
        self,
        connection_id: int,
        kind: str,
        source_id: str,
        *,
        label: str,
        cause: str,
        message: str,
        remedy: str,
        retryable: bool = True,
        blocked_by: str | None = None,
        run_id: int | None = None,
    ) -> SyncError:
        """Record a failure of one record: one open row per record, attempts counted, latest reason kept."""
        now = self._now()
        # A concurrent writer on PostgreSQL can insert the open row between our read and write; the
        # partial unique index refuses ours, and the second try updates theirs.
        for attempt in (1, 2):
            try:
                with self._transaction() as session:
                    row = self._open_error_row(session, connection_id, kind, source_id)
                    if row is None:
                        row = SyncErrorRow(
                            connection_id=connection_id,
                            kind=kind,
                            source_id=source_id,
                            attempts=0,
                            first_seen=now,
                        )
                        session.add(row)
                    row.label = label
                    row.cause = cause
                    row.message = message
                    row.remedy = remedy
                    row.retryable = retryable
                    row.blocked_by = blocked_by
                    row.run_id = run_id
                    row.attempts += 1
                    row.last_seen = now
                    row.retry_requested_at = None  # the retry asked for has happened
                    session.flush()
                    return to_record(SyncError, row)
            except IntegrityError:
                if attempt == 2 or self._shared_session() is not None:
                    raise  # inside a ``transaction()`` the failed insert spoilt the whole block
        raise AssertionError("unreachable")

    def resolve_error(self, connection_id: int, kind: str, source_id: str) -> None:
        """Close the record's open error, if it has one."""
        now = self._now()
        with self._transaction() as session:
            row = self._open_error_row(session, connection_id, kind, source_id)
            if row is not None:
                row.resolved_at = now
                row.retry_requested_at = None

    def resolve_errors(self, connection_id: int, records: Iterable[tuple[str, str]]) -> None:
        """``resolve_error`` for each (kind, source id), in one transaction."""
        wanted = _ids_by_kind(records)
        if not wanted:
            return
        now = self._now()
        with self._transaction() as session:
            for kind, ids in wanted.items():
                for chunk in _chunks(ids):
                    session.execute(
                        update(SyncErrorRow)
                        .where(
                            SyncErrorRow.connection_id == connection_id,
                            SyncErrorRow.kind == kind,
                            SyncErrorRow.source_id.in_(chunk),
                            SyncErrorRow.resolved_at.is_(None),
                        )
                        .values(resolved_at=now, retry_requested_at=None)
                    )

    def open_errors(
        self, connection_id: int | None = None, kind: str | None = None, *, parked: bool | None = None
    ) -> list[SyncError]:
        """Unresolved errors, oldest first, optionally of one connection and/or kind.

        ``parked``: True only the parked ones, False only the others, None (default) both.
        """
        query = select(*SYNC_ERROR_COLUMNS).filter_by(resolved_at=None)
        if connection_id is not None:
            query = query.filter_by(connection_id=connection_id)
        if kind is not None:
            query = query.filter_by(kind=kind)
        if parked is not None:
            query = query.where(_parked_is(parked))
        with self._transaction() as session:
            rows = session.execute(query.order_by(SyncErrorRow.first_seen, SyncErrorRow.id))
            return [SyncError(*row) for row in rows]

    def open_error_ids(self, connection_id: int, kind: str, *, parked: bool | None = None) -> set[str]:
        """Source ids of one kind that have an unresolved error (``parked`` filters as in open_errors)."""
        query = select(SyncErrorRow.source_id).filter_by(
            connection_id=connection_id, kind=kind, resolved_at=None
        )
        if parked is not None:
            query = query.where(_parked_is(parked))
        with self._transaction() as session:
            return set(session.scalars(query))

    def error(self, error_id: int) -> SyncError | None:
        """One error by the id `ledgerlink errors` shows, open or resolved."""
        with self._transaction() as session:
            row = session.get(SyncErrorRow, error_id)
            return None if row is None else to_record(SyncError, row)

    def park_error(self, error_id: int, reason: str) -> SyncError:
        """Set an open error aside: its record is neither sent nor retried until it is unparked.

        Parking a parked error again replaces the reason.
        """
        now = self._now()
        with self._transaction() as session:
            row = self._open_error_by_id(session, error_id)
            row.parked_at = now
            row.parked_reason = reason
            row.retry_requested_at = None
            session.flush()
            return to_record(SyncError, row)

    def unpark_error(self, error_id: int) -> SyncError:
        """Take a parked error back: the next pass tries its record again like any failed one."""
        with self._transaction() as session:
            row = self._open_error_by_id(session, error_id)
            row.parked_at = None
            row.parked_reason = None
            session.flush()
            return to_record(SyncError, row)

    def request_retry(self, error_id: int) -> SyncError:
        """Unpark an open error and have the next pass re-read its record, even if it waits on a parent."""
        now = self._now()
        with self._transaction() as session:
            row = self._open_error_by_id(session, error_id)
            row.parked_at = None
            row.parked_reason = None
            row.retry_requested_at = now
            session.flush()
            return to_record(SyncError, row)

    def parked_keys(self, connection_id: int) -> set[tuple[str, str]]:
        """(kind, source id) of every record of a connection whose open error is parked."""
        return self._error_keys(connection_id, SyncErrorRow.parked_at.is_not(None))

    def retry_requested(self, connection_id: int) -> set[tuple[str, str]]:
        """(kind, source id) of every record of a connection a retry was asked for and not yet made."""
        return self._error_keys(connection_id, SyncErrorRow.retry_requested_at.is_not(None))

    def _error_keys(self, connection_id: int, condition: ColumnElement[bool]) -> set[tuple[str, str]]:
        with self._transaction() as session:
            rows = session.execute(
                select(SyncErrorRow.kind, SyncErrorRow.source_id)
                .filter_by(connection_id=connection_id, resolved_at=None)
                .where(condition)
            )
            return {(kind, source_id) for kind, source_id in rows}

    @staticmethod
    def _open_error_by_id(session: Session, error_id: int) -> SyncErrorRow:
        row = session.get(SyncErrorRow, error_id)
        if row is None:
            raise StoreError(f"there is no error {error_id} in the store")
        if row.resolved_at is not None:
            raise StoreError(f"error {error_id} ({row.label}) is resolved since {show_time(row.resolved_at)}")
        return row

    @staticmethod
    def _open_error_row(
        session: Session, connection_id: int, kind: str, source_id: str
    ) -> SyncErrorRow | None:
        return session.scalars(
            select(SyncErrorRow).filter_by(
                connection_id=connection_id, kind=kind, source_id=source_id, resolved_at=None
            )
        ).one_or_none()

    # -- runs --------------------------------------------------------------------------------

    def start_run(self, *, dry_run: bool) -> int:
        """Open the audit row of a pass; returns its id."""
        now = self._now()
        with self._transaction() as session:
            row = RunRow(started_at=now, status="running", dry_run=dry_run, counts={})
            session.add(row)
            session.flush()
            return row.id

    def finish_run(
        self,
        run_id: int,
        *,
        status: str,
        exit_code: int | None,
        counts: Counts,
        error: str | None = None,
    ) -> None:
        """Close the audit row of a pass with how it ended and what it did."""
        require_one_of(status, tuple(s for s in RUN_STATUSES if s != "running"), "a finished run's status")
        now = self._now()
        with self._transaction() as session:
            row = session.get(RunRow, run_id)
            if row is None:
                raise StoreError(f"there is no run {run_id} in the store")
            if row.status != "running":
                raise StoreError(f"run {run_id} already finished as {row.status}")
            row.finished_at = now
            row.status = status
            row.exit_code = exit_code
            row.counts = {kind: dict(outcomes) for kind, outcomes in counts.items()}
            row.error = error

    def last_run(self) -> Run | None:
        """The most recently started pass."""
        runs = self.runs(limit=1)
        return runs[0] if runs else None

    def runs(self, limit: int = 20) -> list[Run]:
        """The latest passes, newest first."""
        with self._transaction() as session:
            rows = session.scalars(select(RunRow).order_by(RunRow.id.desc()).limit(limit))
            return [to_record(Run, row) for row in rows]

    # -- the pass lock (invariant 7) ---------------------------------------------------------

    def acquire_lock(self, name: str, owner: str, ttl_seconds: float) -> None:
        """Take the lock for ``ttl_seconds``; raise LockHeldError if someone else holds it unexpired."""
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive; got {ttl_seconds}")
        now = self._now()
        expires_at = now + timedelta(seconds=ttl_seconds)
        try:
            with self._transaction() as session:
                row = session.get(LockRow, name, with_for_update=True)
                if row is None:
                    session.add(LockRow(name=name, owner=owner, acquired_at=now, expires_at=expires_at))
                elif row.owner == owner or row.expires_at <= now:
                    row.owner = owner
                    row.acquired_at = now
                    row.expires_at = expires_at
                else:
                    raise lock_held(row)
        except IntegrityError:
            # Another process inserted the lock between our read and our insert (PostgreSQL).
            holder = self._lock_row(name)
            if holder is None:
                raise LockHeldError(
                    f"the store lock {name!r} was taken and released while we tried"
                ) from None
            raise lock_held(holder) from None

    def renew_lock(self, name: str, owner: str, ttl_seconds: float) -> None:
        """Push the lock's expiry out; raise LockHeldError if ``owner`` no longer holds it."""
        if ttl_seconds <= 0:
            raise ValueError(f"ttl_seconds must be positive; got {ttl_seconds}")
        now = self._now()
        with self._transaction() as session:
            row = session.get(LockRow, name, with_for_update=True)
            if row is None:
                raise LockHeldError(
                    f"this pass ({owner}) no longer holds the store lock {name!r}: nobody holds it",
                    remedy="The lock expired and was released; stop and start a new pass.",
                )
            if row.owner != owner:
                raise lock_held(row)
            row.expires_at = now + timedelta(seconds=ttl_seconds)

    def release_lock(self, name: str, owner: str) -> None:
        """Let go of the lock if ``owner`` holds it; otherwise do nothing."""
        with self._transaction() as session:
            session.execute(delete(LockRow).filter_by(name=name, owner=owner))

    def lock_owner(self, name: str) -> str | None:
        """Who holds the lock ``name`` now (expired or not), or None."""
        row = self._lock_row(name)
        return row.owner if row is not None else None

    def _lock_row(self, name: str) -> LockRow | None:
        with self._transaction() as session:
            return session.get(LockRow, name)


def link_conflict(write: LinkWrite, holder: str) -> LinkConflictError:
    """The error for a link to a ledger record another source record (``holder``) holds."""
    return LinkConflictError(
        f"{write.kind} {write.target_id} in the ledger is already linked to source {write.kind} "
        f"{holder}; refusing to link source {write.kind} {write.source_id} to it as well"
    )


def _check_move(key: str, what: str, current: str, state: IntentState) -> None:
    """Refuse a move of an intent its state does not allow (see INTENT_MOVES)."""
    if state not in INTENT_MOVES[current]:
        raise IntentStateError(f"intent {key} ({what}) is {current}; it cannot become {state}")


def _ids_by_kind(records: Iterable[tuple[str, str]]) -> dict[str, list[str]]:
    """(kind, source id) pairs grouped as kind → source ids, each once, in first-seen order."""
    grouped: dict[str, dict[str, None]] = {}
    for kind, source_id in records:
        grouped.setdefault(kind, {})[source_id] = None
    return {kind: list(ids) for kind, ids in grouped.items()}


def _chunks(ids: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(ids), IN_LIST_CHUNK):
        yield ids[start : start + IN_LIST_CHUNK]


def _intent_values(intent: Intent) -> dict[str, Any]:
    """An intent record as the column values of its row."""
    return {name: getattr(intent, name) for name in Intent.__slots__}


# What a held lock means, in the words of the command that meets it.
LOCK_HOLDERS = {"sync": "another pass is running", "sync-loop": "another `ledgerlink sync` loop is running"}


def lock_held(row: LockRow) -> LockHeldError:
    """ "another pass is running (pid, since)": the error that names who holds a lock and until when.

    Owners are "host:pid" (the sync engine's); the host is named only when it is not this machine.
    """
    host, _, pid = row.owner.rpartition(":")
    who = f"pid {pid}" if pid.isdigit() else row.owner
    if host and host != socket.gethostname():
        who += f" on {host}"
    what = LOCK_HOLDERS.get(row.name, f"the store lock {row.name!r} is held")
    return LockHeldError(
        f"{what} ({who}, since {show_time(row.acquired_at)}); this one did nothing",
        remedy=(
            f"Wait for it to finish. If it crashed, its lock ({row.name!r}) expires at "
            f"{show_time(row.expires_at)} and the next pass takes over (at once on the same machine)."
        ),
    )
