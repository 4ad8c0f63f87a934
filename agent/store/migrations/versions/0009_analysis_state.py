"""Incremental analysis: analysis_states, one row per owner with what a re-analysis needs of
the whole history without reading it, and indexes on the messages and events changed since
a moment (issue 18)

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import rapportd.agent.store.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

UTC = rapportd.agent.store.models.UTCDateTime
JSONType = rapportd.agent.store.models.JSONType


def upgrade() -> None:
    op.create_table(
        "analysis_states",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "owner_id",
            sa.Integer(),
            sa.ForeignKey("owners.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("state", JSONType, nullable=False),
        sa.Column("updated_at", UTC(), nullable=False),
        sa.UniqueConstraint("owner_id"),
    )
    op.create_index("ix_analysis_states_owner_id", "analysis_states", ["owner_id"])
    op.create_index("ix_messages_owner_updated", "messages", ["owner_id", "updated_at"])
    op.create_index("ix_events_owner_updated", "events", ["owner_id", "updated_at"])


def downgrade() -> None:
    op.drop_index("ix_events_owner_updated", table_name="events")
    op.drop_index("ix_messages_owner_updated", table_name="messages")
    op.drop_index("ix_analysis_states_owner_id", table_name="analysis_states")
    op.drop_table("analysis_states")
