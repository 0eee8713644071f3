"""Where the store lives: the engine for a URL, and the migrations that bring its schema up to date.

SQLite files (the default) get their folder created, foreign keys (off by default in SQLite), a busy
timeout so a second process waits instead of failing, ``BEGIN IMMEDIATE`` transactions so
read-modify-write calls are serialised between processes, and, once ``migrate`` has found the file
to be a ledgerlink store, write-ahead logging so readers never block the pass. Any other SQLAlchemy
URL is used as given.

The store file holds the firm's clients, matters and amounts, so it is private to its owner: created
0600 whatever the umask (SQLite gives its ``-wal`` and ``-shm`` files the database file's mode), a
folder ledgerlink creates for it is 0700, and an existing store readable by group or others (one made
before this rule, or copied in) is tightened to 0600 when opened: its bytes are not touched.

A store ledgerlink cannot use is refused, never repaired or overwritten: a file that is not a SQLite
database, is damaged or is another program's database (``StoreUnreadableError``), a schema revision
made by a newer ledgerlink (``StoreTooNewError``), a store another process kept locked past the busy
timeout (``StoreBusyError``). All three are systemic (exit 3): the command line and the config are
right, but no pass can run.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.pool import StaticPool

from ledgerlink import failpoints
from ledgerlink.store.records import StoreError

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_HEADER = b"SQLite format 3\x00"
PRIVATE_FILE = 0o600
PRIVATE_FOLDER = 0o700
SIDE_FILES = ("-wal", "-shm", "-journal")
# SQLite's primary result codes (``sqlite3.Error.sqlite_errorcode & 0xFF``) that say what went wrong.
BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})
UNREADABLE_CODES = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})


class StoreUnreadableError(StoreError):
    """The store file is not a SQLite database, or is damaged: ledgerlink leaves it exactly as it is."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(
            f"The store {where} cannot be read: {why}. ledgerlink has not changed it.",
            remedy=(
                f"Restore {where} from your latest backup (with its -wal file, if the backup has one). "
                "Without a backup, move the file aside (ledgerlink never overwrites it) and connect again "
                "with `ledgerlink connect`; keep the damaged file for support."
            ),
        )
        self.where = where


class StoreTooNewError(StoreError):
    """The store's schema was written by a newer ledgerlink: an older one must not read or migrate it."""

    def __init__(self, where: str, revision: str, head: str) -> None:
        super().__init__(
            f"The store {where} has schema revision {revision}, made by a newer ledgerlink; this one knows "
            f"revisions up to {head}. ledgerlink has not changed it.",
            remedy="Upgrade ledgerlink to the version that last used this store (pip install -U ledgerlink), "
            "then run the command again.",
        )
        self.where = where
        self.revision = revision


class StoreBusyError(StoreError):
    """Another process held the store's write lock for longer than the busy timeout."""

    def __init__(self, where: str, waited_ms: int) -> None:
        super().__init__(
            f"The store {where} stayed locked by another process for {waited_ms / 1000:g} s "
            "(database is locked); nothing was written.",
            remedy="Another ledgerlink command, or a program holding the file open (a backup, a database "
            "browser), is writing to the store. Let it finish, then run the command again.",
        )
        self.where = where


def store_file(url: str) -> Path | None:
    """The SQLite file behind ``url``; None for an in-memory database, a ``file:`` URI or another engine."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database or ""
    if database in ("", ":memory:") or "mode=memory" in url or database.startswith("file:"):
        return None
    return Path(database)


def shown_where(url: str) -> str:
    """The store as a person recognises it: its file, or the URL without a password."""
    path = store_file(url)
    return str(path) if path is not None else make_url(url).render_as_string(hide_password=True)


def make_private_folder(folder: Path) -> None:
    """Create ``folder`` and any missing parents 0700; folders that exist are left as they are."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    for path in reversed(missing):
        try:
            path.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:
            continue  # another process made it first: it is theirs to have made
        os.chmod(path, PRIVATE_FOLDER)  # mkdir's mode is cut by the umask


def make_private_file(path: Path) -> None:
    """Create an empty store file 0600 before SQLite does, or tighten an existing one that is wider.

    SQLite creates a missing file 0644 under the usual umask and copies the database file's mode to
    its ``-wal``/``-shm`` files, so creating the file ourselves makes all three private. An empty file
    is what SQLite takes for a new database. Only files this user owns are tightened.
    """
    try:
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
    except FileExistsError:
        pass
    else:
        try:
            os.fchmod(descriptor, PRIVATE_FILE)  # exactly 0600, whatever the umask took away
        finally:
            os.close(descriptor)
    tighten(path, *(path.with_name(path.name + side) for side in SIDE_FILES))


def tighten(*paths: Path) -> None:
    """Take group and other permissions off each existing file this user owns; others are left alone."""
    for path in paths:
        try:
            info = path.stat()
        except FileNotFoundError:
            continue
        if info.st_uid == os.geteuid() and stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(path, stat.S_IMODE(info.st_mode) & 0o700)


def refuse_non_database(path: Path) -> None:
    """Refuse a non-empty file that does not start with SQLite's header, before SQLite touches it."""
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    if header and header != SQLITE_HEADER:
        raise StoreUnreadableError(str(path), "the file is not a SQLite database")


def create_store_engine(url: str, *, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS) -> Engine:
    """An engine for ``url``; SQLite files get a private file and folder, foreign keys, a busy timeout.

    ``busy_timeout_ms`` is how long a write waits for another process's write lock before the store
    gives up with ``StoreBusyError``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url)
    database = parsed.database or ""
    path = store_file(url)
    if path is None and (database in ("", ":memory:") or "mode=memory" in url):
        # One shared connection, or every pooled connection would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        if path is not None:
            make_private_folder(path.parent)
            refuse_non_database(path)
            make_private_file(path)
        engine = create_engine(url)
    where = shown_where(url)

    @event.listens_for(engine, "connect")
    def configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN is deferred and it commits before DDL; we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "handle_error")
    def name_store_faults(context: ExceptionContext) -> None:
        # Raised here, the store's own error replaces SQLAlchemy's for every statement of every caller.
        fault = store_fault(context.original_exception, where, busy_timeout_ms)
        if fault is not None:
            raise fault from context.original_exception

    return engine


def store_fault(error: BaseException, where: str, busy_timeout_ms: int) -> StoreError | None:
    """The store error a SQLite failure means for the person running ledgerlink; None if none fits."""
    if not isinstance(error, sqlite3.Error):
        return None
    code = (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF
    if code in BUSY_CODES:
        return StoreBusyError(where, busy_timeout_ms)
    if code in UNREADABLE_CODES:
        return StoreUnreadableError(where, str(error))
    return None


def alembic_config() -> AlembicConfig:
    """The Alembic configuration of the packaged migrations; no alembic.ini involved."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def pending_revisions(script: ScriptDirectory, current: str | None) -> list[str]:
    """The revisions from ``current`` (None: an empty store) to head, oldest first."""
    newest_first = script.iterate_revisions("heads", current or "base")
    return [r.revision for r in reversed(list(newest_first)) if r.revision != current]


def refuse_unknown_revision(current: str | None, known: Iterable[str], head: str, where: str) -> None:
    """A revision this code does not know was written by a newer ledgerlink: migrating it would guess."""
    if current is not None and current not in set(known):
        raise StoreTooNewError(where, current, head)


def refuse_foreign_database(current: str | None, tables: Iterable[str], where: str) -> None:
    """A database with tables but no ledgerlink revision belongs to another program: never write into it."""
    theirs = sorted(t for t in tables if not t.startswith("sqlite_"))
    if current is None and theirs:
        shown = ", ".join(theirs[:5]) + (", …" if len(theirs) > 5 else "")
        raise StoreUnreadableError(
            where, f"it is a database of another program (tables {shown}), not a ledgerlink store"
        )


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision, in one transaction; a no-op when it is there already.

    A store of a newer revision, or another program's database, is refused before anything is
    written. The steps run one by one inside the one transaction, so a process killed between two
    steps (failpoint ``during_migration``) leaves the store as it was: the next open runs them again.
    """
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    where = shown_where(str(engine.url))
    with engine.begin() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
        known = (r.revision for r in script.walk_revisions())
        refuse_unknown_revision(current, known, str(script.get_current_head()), where)
        refuse_foreign_database(current, inspect(connection).get_table_names(), where)
        for revision in pending_revisions(script, current):
            upgrade_to(config, connection, revision)
            failpoints.hit("during_migration")
    use_write_ahead_log(engine, where)


def use_write_ahead_log(engine: Engine, where: str) -> None:
    """Switch a SQLite store to write-ahead logging (it stays so in the file): readers never block a pass.

    Done once the store is known to be ledgerlink's, never on connecting: the switch rewrites the
    file's header, and a refused file must stay byte for byte as it was.
    """
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        sqlite: Any = raw.driver_connection
        try:
            sqlite.execute("PRAGMA journal_mode = WAL")
        except sqlite3.Error as error:
            waited = int(sqlite.execute("PRAGMA busy_timeout").fetchone()[0])
            raise (store_fault(error, where, waited) or error) from error
    finally:
        raw.close()


def upgrade_to(config: AlembicConfig, connection: Connection, revision: str) -> None:
    """Run the migrations up to ``revision`` on ``connection``, inside its open transaction."""
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
