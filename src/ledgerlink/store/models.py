"""The store's tables as SQLAlchemy 2 models.

These classes are private to the store: the repository turns rows into frozen records before
anything outside ``ledgerlink.store`` sees them. The schema itself is created and changed only by
the Alembic migrations in ``migrations/versions``; this module must describe the same schema (a
test compares the two), so a change here always comes with a new migration.

There is deliberately no column for a token, password or client secret: secrets live in the OS
keyring, never in the store.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar, Literal, get_args

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# The closed vocabularies of the store. The database checks them too (CHECK constraints), so a
# hand-edited or half-migrated store cannot smuggle in a state the engine does not know.
Provider = Literal["clio", "qbo", "xero"]
IntentOp = Literal["create", "update", "delete", "void", "link"]
IntentState = Literal["planned", "sent", "done", "failed", "uncertain"]
RunStatus = Literal["running", "ok", "errors", "failed", "interrupted"]

PROVIDERS: tuple[str, ...] = get_args(Provider)
INTENT_OPS: tuple[str, ...] = get_args(IntentOp)
INTENT_STATES: tuple[str, ...] = get_args(IntentState)
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)

# Stable constraint names, so later migrations (and SQLite batch rebuilds) can address them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

OPEN_ERROR = "resolved_at IS NULL"
LIVE_CONNECTION = "retired_at IS NULL"


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a CHECK that ``column`` holds one of ``values``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that goes in and comes out as an aware UTC datetime.

    SQLite keeps no zone, PostgreSQL keeps ``timestamptz``; either way the store only ever writes
    UTC and hands back aware values. A naive datetime is refused rather than guessed at.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes timezone-aware times")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime(), dict[str, Any]: JSON()}


class ConnectionRow(Base):
    """One connected company, tenant or Clio account."""

    __tablename__ = "connections"
    __table_args__ = (
        # One live row per company; a retired row stays beside a newer one (its links are history).
        Index(
            "uq_connections_live",
            "provider",
            "external_id",
            unique=True,
            sqlite_where=text(LIVE_CONNECTION),
            postgresql_where=text(LIVE_CONNECTION),
        ),
        CheckConstraint(one_of("provider", PROVIDERS), name="provider"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(255))
    region: Mapped[str | None] = mapped_column(String(16))
    connected_at: Mapped[datetime]
    disconnected_at: Mapped[datetime | None]
    retired_at: Mapped[datetime | None]


class LinkRow(Base):
    """A source record and the ledger record it was written to, unique on both sides."""

    __tablename__ = "links"
    __table_args__ = (
        UniqueConstraint("connection_id", "kind", "source_id"),
        UniqueConstraint("connection_id", "kind", "target_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str] = mapped_column(String(64))
    content_hash: Mapped[str] = mapped_column(String(128))
    version_token: Mapped[str | None] = mapped_column(String(255))
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class IntentRow(Base):
    """An outbound write, recorded before it is sent."""

    __tablename__ = "intents"
    __table_args__ = (
        Index(None, "connection_id", "state"),
        CheckConstraint(one_of("op", INTENT_OPS), name="op"),
        CheckConstraint(one_of("state", INTENT_STATES), name="state"),
    )

    key: Mapped[str] = mapped_column(String(36), primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    op: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    payload_hash: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16))
    remote_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CursorRow(Base):
    """How far one stream of one connection has been read."""

    __tablename__ = "cursors"

    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"), primary_key=True)
    stream: Mapped[str] = mapped_column(String(64), primary_key=True)
    high_water: Mapped[datetime]
    updated_at: Mapped[datetime]


class RunRow(Base):
    """One pass: when, how it ended, what it did."""

    __tablename__ = "runs"
    __table_args__ = (CheckConstraint(one_of("status", RUN_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    exit_code: Mapped[int | None]
    dry_run: Mapped[bool] = mapped_column(Boolean)
    counts: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)


class SyncErrorRow(Base):
    """Why one source record did not sync; open until ``resolved_at`` is set (parked ones too)."""

    __tablename__ = "sync_errors"
    __table_args__ = (
        # At most one open row per record. The repository enforces it everywhere; dialects with
        # partial indexes (SQLite, PostgreSQL) enforce it in the database as well.
        Index(
            "uq_sync_errors_open",
            "connection_id",
            "kind",
            "source_id",
            unique=True,
            sqlite_where=text(OPEN_ERROR),
            postgresql_where=text(OPEN_ERROR),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    connection_id: Mapped[int] = mapped_column(ForeignKey("connections.id"))
    kind: Mapped[str] = mapped_column(String(32))
    source_id: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(255))
    cause: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    remedy: Mapped[str] = mapped_column(Text)
    retryable: Mapped[bool] = mapped_column(Boolean)
    blocked_by: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer)
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    # Parked by the bookkeeper (`ledgerlink skip`): still open, but never sent or retried until
    # `ledgerlink retry` takes it back. The reason is theirs, shown beside the error.
    parked_at: Mapped[datetime | None]
    parked_reason: Mapped[str | None] = mapped_column(Text)
    # `ledgerlink retry` asked for this record to be read again even if it waits on a parent;
    # cleared by the next attempt (a recorded failure) or by the error's resolution.
    retry_requested_at: Mapped[datetime | None]


class LockRow(Base):
    """A named lock with an owner and an expiry, so a crashed holder does not block forever."""

    __tablename__ = "locks"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime]
    expires_at: Mapped[datetime]
