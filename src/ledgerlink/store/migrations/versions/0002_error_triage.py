"""Error triage: a sync error can be parked (`ledgerlink skip`) and asked to be retried (`ledgerlink retry`).

Revision ID: 0002
Revises: 0001
Create Date: 2026-01-01

Three nullable columns on ``sync_errors``; existing rows are neither parked nor waiting for a
retry. Batch mode keeps SQLite safe: adding nullable columns needs no table rebuild there, and a
rebuild (dialects that need one) keeps the table's constraints and its partial index.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sync_errors") as batch:
        batch.add_column(sa.Column("parked_at", utc(), nullable=True))
        batch.add_column(sa.Column("parked_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("retry_requested_at", utc(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_errors") as batch:
        batch.drop_column("retry_requested_at")
        batch.drop_column("parked_reason")
        batch.drop_column("parked_at")
