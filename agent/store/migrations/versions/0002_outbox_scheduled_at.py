"""outbox.scheduled_at: the daily draft cap counts by when a write was planned, not retried

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 23:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapportd.agent.store.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "outbox",
        sa.Column("scheduled_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("scheduled_at")
