"""Recent first: sync_cursors.recent_complete_at, when a stream's recent window
(sync.recent_days, synced before the rest of its backfill) was complete (issue 18)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapportd.agent.store.models

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC = rapportd.agent.store.models.UTCDateTime


def upgrade() -> None:
    op.add_column("sync_cursors", sa.Column("recent_complete_at", UTC(), nullable=True))
    # A stream that finished a full pass has its recent window too.
    op.execute(
        "UPDATE sync_cursors SET recent_complete_at = last_verified_complete_at "
        "WHERE last_verified_complete_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("sync_cursors") as batch:
        batch.drop_column("recent_complete_at")
