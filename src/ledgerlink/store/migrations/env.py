"""Alembic environment for the store.

ledgerlink runs migrations itself (``Store.open`` → :func:`ledgerlink.store.database.migrate`),
handing Alembic an open connection in ``config.attributes["connection"]``; no ``alembic.ini`` is
needed at runtime. A developer writing a new revision can still point Alembic at a scratch
database: ``sqlalchemy.url`` in the Alembic config is used when no connection is handed in.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from ledgerlink.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_on(connection: Connection) -> None:
    """Run the pending migrations on ``connection``, inside the caller's transaction if it has one."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite can alter little in place; batch mode rebuilds tables for later revisions.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    """Print the migration SQL for ``sqlalchemy.url``'s dialect instead of running it (``--sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    handed_in = config.attributes.get("connection")
    if isinstance(handed_in, Connection):
        run_on(handed_in)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection handed in and no sqlalchemy.url configured")
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
