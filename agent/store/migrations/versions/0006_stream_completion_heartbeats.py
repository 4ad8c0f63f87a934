"""Per-stream completion (sync_cursors.last_verified_complete_at, last_error,
consecutive_errors) and process heartbeats (process_heartbeats), for issue 16

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapportd.agent.store.models

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

UTC = rapportd.agent.store.models.UTCDateTime


def upgrade() -> None:
    op.add_column("sync_cursors", sa.Column("last_verified_complete_at", UTC(), nullable=True))
    op.add_column(
        "sync_cursors", sa.Column("last_error", sa.Text(), nullable=False, server_default="")
    )
    op.add_column(
        "sync_cursors",
        sa.Column("consecutive_errors", sa.Integer(), nullable=False, server_default="0"),
    )
    # A stream already in its delta phase finished its backfill before this revision.
    op.execute(
        "UPDATE sync_cursors SET last_verified_complete_at = updated_at WHERE phase = 'delta'"
    )
    op.create_table(
        "process_heartbeats",
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("host", sa.String(length=100), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", UTC(), nullable=False),
        sa.Column("beat_at", UTC(), nullable=False),
        sa.PrimaryKeyConstraint("holder", name=op.f("pk_process_heartbeats")),
    )


def downgrade() -> None:
    op.drop_table("process_heartbeats")
    with op.batch_alter_table("sync_cursors") as batch:
        batch.drop_column("consecutive_errors")
        batch.drop_column("last_error")
        batch.drop_column("last_verified_complete_at")
