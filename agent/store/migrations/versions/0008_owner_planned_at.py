"""owners.planned_at: when the owner's last plan began (after the analysis it planned on),
so that "planned since the last analysis" can be read from the store

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapportd.agent.store.models

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

UTC = rapportd.agent.store.models.UTCDateTime


def upgrade() -> None:
    op.add_column("owners", sa.Column("planned_at", UTC(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("owners") as batch:
        batch.drop_column("planned_at")
