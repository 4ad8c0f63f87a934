"""accounts.aliases_checked_at: when the provider's list of the owner's addresses was read

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapportd.agent.store.models

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "accounts",
        sa.Column("aliases_checked_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("accounts") as batch:
        batch.drop_column("aliases_checked_at")
