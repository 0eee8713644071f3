"""Where the store lives: the engine for a URL, and the migrations that bring its schema up to date.

SQLite files (the default) get their folder created, write-ahead logging so readers never block the
pass, foreign keys (off by default in SQLite), a busy timeout so a second process waits instead of
failing, and ``BEGIN IMMEDIATE`` transactions so read-modify-write calls are serialised between
processes. Any other SQLAlchemy URL is used as given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.pool import StaticPool

MIGRATIONS = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 30_000


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get their folder, WAL, foreign keys and a busy timeout."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in url
    if in_memory:
        # One shared connection, or every pooled connection would see its own empty database.
        engine = create_engine(url, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        if not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url)

    @event.listens_for(engine, "connect")
    def configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
        # pysqlite's own BEGIN is deferred and it commits before DDL; we issue BEGIN ourselves.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def begin_immediate(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def alembic_config() -> AlembicConfig:
    """The Alembic configuration of the packaged migrations; no alembic.ini involved."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision, in one transaction; a no-op when it is there already."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
