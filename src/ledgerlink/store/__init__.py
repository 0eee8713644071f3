"""The store: links, intents, cursors, sync errors, runs and the pass lock (DESIGN.md §2).

Everything outside this package goes through :class:`Store` and the frozen records it returns;
the ORM models and the Alembic migrations are its private business.

    models.py      the tables (SQLAlchemy 2); migrations/ builds and changes them (Alembic)
    database.py    the engine for a URL (SQLite pragmas) and ``migrate``
    records.py     the frozen records handed out, and the store's errors
    repository.py  ``Store``: every read and write, each its own transaction unless grouped
"""

from __future__ import annotations

from ledgerlink.store.database import (
    StoreBusyError,
    StoreTooNewError,
    StoreUnreadableError,
    create_store_engine,
    migrate,
)
from ledgerlink.store.models import IntentOp, IntentState, Provider, RunStatus
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
)
from ledgerlink.store.repository import Clock, Counts, Store, utc_now

__all__ = [
    "Clock",
    "Completion",
    "Connection",
    "Counts",
    "Intent",
    "IntentOp",
    "IntentState",
    "IntentStateError",
    "Link",
    "LinkConflictError",
    "LinkWrite",
    "PlannedWrite",
    "Provider",
    "Run",
    "RunStatus",
    "Store",
    "StoreBusyError",
    "StoreError",
    "StoreTooNewError",
    "StoreUnreadableError",
    "SyncError",
    "create_store_engine",
    "migrate",
    "utc_now",
]
