"""The first store: connections, links, intents, cursors, sync errors, runs and locks.

Revision ID: 0001
Revises:
Create Date: 2025-01-01

A revision is a frozen picture of one schema change: the tables are spelled out with ``sa`` types
here and ``ledgerlink.store.models`` is never imported (the models move on; this file must not).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PROVIDERS = ("clio", "qbo", "xero")
INTENT_OPS = ("create", "update", "delete", "void", "link")
INTENT_STATES = ("planned", "sent", "done", "failed", "uncertain")
RUN_STATUSES = ("running", "ok", "errors", "failed", "interrupted")


def one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    # Every name goes through op.f(): it is final, whatever naming convention the models declare.
    op.create_table(
        "connections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(16), nullable=False),
        sa.Column("external_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("region", sa.String(16), nullable=True),
        sa.Column("connected_at", utc(), nullable=False),
        sa.Column("disconnected_at", utc(), nullable=True),
        sa.Column("retired_at", utc(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connections")),
        sa.CheckConstraint(one_of("provider", PROVIDERS), name=op.f("ck_connections_provider")),
    )
    # One live row per company; a retired row stays beside a newer one, its links kept as history.
    op.create_index(
        op.f("uq_connections_live"),
        "connections",
        ["provider", "external_id"],
        unique=True,
        sqlite_where=sa.text("retired_at IS NULL"),
        postgresql_where=sa.text("retired_at IS NULL"),
    )
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", utc(), nullable=False),
        sa.Column("finished_at", utc(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runs")),
        sa.CheckConstraint(one_of("status", RUN_STATUSES), name=op.f("ck_runs_status")),
    )
    op.create_table(
        "links",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("target_id", sa.String(64), nullable=False),
        sa.Column("content_hash", sa.String(128), nullable=False),
        sa.Column("version_token", sa.String(255), nullable=True),
        sa.Column("snapshot", sa.JSON(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["connections.id"], name=op.f("fk_links_connection_id_connections")
        ),
        sa.UniqueConstraint(
            "connection_id", "kind", "source_id", name=op.f("uq_links_connection_id_kind_source_id")
        ),
        sa.UniqueConstraint(
            "connection_id", "kind", "target_id", name=op.f("uq_links_connection_id_kind_target_id")
        ),
    )
    op.create_table(
        "intents",
        sa.Column("key", sa.String(36), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("payload_hash", sa.String(128), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("remote_id", sa.String(64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_intents")),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["connections.id"], name=op.f("fk_intents_connection_id_connections")
        ),
        sa.CheckConstraint(one_of("op", INTENT_OPS), name=op.f("ck_intents_op")),
        sa.CheckConstraint(one_of("state", INTENT_STATES), name=op.f("ck_intents_state")),
    )
    op.create_index(op.f("ix_intents_connection_id_state"), "intents", ["connection_id", "state"])
    op.create_table(
        "cursors",
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(64), nullable=False),
        sa.Column("high_water", utc(), nullable=False),
        sa.Column("updated_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("connection_id", "stream", name=op.f("pk_cursors")),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["connections.id"], name=op.f("fk_cursors_connection_id_connections")
        ),
    )
    op.create_table(
        "sync_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source_id", sa.String(64), nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("cause", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("remedy", sa.Text(), nullable=False),
        sa.Column("retryable", sa.Boolean(), nullable=False),
        sa.Column("blocked_by", sa.String(255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("first_seen", utc(), nullable=False),
        sa.Column("last_seen", utc(), nullable=False),
        sa.Column("resolved_at", utc(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_errors")),
        sa.ForeignKeyConstraint(
            ["connection_id"], ["connections.id"], name=op.f("fk_sync_errors_connection_id_connections")
        ),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], name=op.f("fk_sync_errors_run_id_runs")),
    )
    # At most one open error per record, where the dialect has partial indexes.
    op.create_index(
        op.f("uq_sync_errors_open"),
        "sync_errors",
        ["connection_id", "kind", "source_id"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_table(
        "locks",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(255), nullable=False),
        sa.Column("acquired_at", utc(), nullable=False),
        sa.Column("expires_at", utc(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_locks")),
    )


def downgrade() -> None:
    op.drop_table("locks")
    op.drop_index(op.f("uq_sync_errors_open"), table_name="sync_errors")
    op.drop_table("sync_errors")
    op.drop_table("cursors")
    op.drop_index(op.f("ix_intents_connection_id_state"), table_name="intents")
    op.drop_table("intents")
    op.drop_table("links")
    op.drop_table("runs")
    op.drop_table("connections")
