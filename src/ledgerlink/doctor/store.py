"""The store's schema revision, read as it is: doctor neither creates nor upgrades a store.

Every other command opens the store through ``Store.open``, which creates a missing store and
upgrades an older one at once. Doctor reads the Alembic revision first, with a plain connection
(no folder created, no pragma set, nothing migrated), and then opens the store without migrating.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from ledgerlink.doctor.model import STORE, Check, fail, ok, warn
from ledgerlink.store.database import alembic_config


@dataclass(frozen=True)
class StoreState:
    """What is at the store URL: its revision (None: no store yet), or why it could not be read."""

    where: str
    revision: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Schema:
    """The revisions this ledgerlink knows, newest last in ``head``."""

    head: str
    known: frozenset[str]


def code_schema() -> Schema:
    """The newest revision among the packaged migrations, and every revision they hold."""
    script = ScriptDirectory.from_config(alembic_config())
    return Schema(
        head=str(script.get_current_head()), known=frozenset(s.revision for s in script.walk_revisions())
    )


def shown_url(url: str) -> str:
    """Where the store is, in words a person recognises: the file, or the URL without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or "memory"
    return parsed.render_as_string(hide_password=True)


def read_store(url: str) -> StoreState:
    """The store's revision, read without creating the file or changing anything in it."""
    where = shown_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or "mode=memory" in url:
            return StoreState(where)
        if not database.startswith("file:") and not Path(database).is_file():
            return StoreState(where)
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return StoreState(where, revision=MigrationContext.configure(connection).get_current_revision())
    except SQLAlchemyError as exc:
        return StoreState(where, error=str(exc).splitlines()[0])
    finally:
        engine.dispose()


def schema_check(state: StoreState, schema: Schema) -> Check:
    """✓ up to date; ! no store yet, or older (the next command upgrades it); ✗ newer or unreadable."""
    if state.error is not None:
        return fail(
            "store.schema",
            STORE,
            f"store at {state.where} cannot be read: {state.error}",
            "check [store] url in the config (or LEDGERLINK_STORE_URL) and that the database is reachable",
        )
    if state.revision is None:
        return warn(
            "store.schema",
            STORE,
            f"no store yet at {state.where}",
            "`ledgerlink connect` creates it; nothing else to do",
        )
    if state.revision == schema.head:
        return ok("store.schema", STORE, f"store schema up to date (rev {state.revision}, {state.where})")
    if state.revision not in schema.known:
        return fail(
            "store.schema",
            STORE,
            f"store at {state.where} has schema rev {state.revision}, made by a newer ledgerlink (this one "
            f"knows up to rev {schema.head})",
            "upgrade ledgerlink to the version that last used this store; an older one must not sync with it",
        )
    return warn(
        "store.schema",
        STORE,
        f"store schema is at rev {state.revision}, older than this ledgerlink's rev {schema.head}: the next "
        "command other than doctor upgrades it",
        f"back up {state.where} first if you keep backups; nothing else to do",
    )
