"""Review page: undo log (review_actions), "never for this person" (suggestion_mutes), and
the written item's web link on outbox rows (outbox.web_link)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import rapportd.agent.store.models

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
UTC = rapportd.agent.store.models.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "suggestion_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_suggestion_mutes_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_suggestion_mutes_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestion_mutes")),
        sa.UniqueConstraint(
            "owner_id", "kind", "address", name=op.f("uq_suggestion_mutes_owner_id_kind_address")
        ),
    )
    op.create_index(
        op.f("ix_suggestion_mutes_owner_id"), "suggestion_mutes", ["owner_id"], unique=False
    )
    op.create_table(
        "review_actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch", sa.String(length=32), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("verb", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("before", JSON, nullable=False),
        sa.Column("at", UTC(), nullable=False),
        sa.Column("undo_until", UTC(), nullable=False),
        sa.Column("undone_at", UTC(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_review_actions_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["suggestion_id"],
            ["suggestions.id"],
            name=op.f("fk_review_actions_suggestion_id_suggestions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_actions")),
    )
    op.create_index(op.f("ix_review_actions_batch"), "review_actions", ["batch"], unique=False)
    op.create_index("ix_review_actions_owner_at", "review_actions", ["owner_id", "at"])
    op.create_index(op.f("ix_review_actions_owner_id"), "review_actions", ["owner_id"])
    op.create_index(op.f("ix_review_actions_suggestion_id"), "review_actions", ["suggestion_id"])
    op.add_column("outbox", sa.Column("web_link", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("web_link")
    op.drop_index(op.f("ix_review_actions_suggestion_id"), table_name="review_actions")
    op.drop_index(op.f("ix_review_actions_owner_id"), table_name="review_actions")
    op.drop_index("ix_review_actions_owner_at", table_name="review_actions")
    op.drop_index(op.f("ix_review_actions_batch"), table_name="review_actions")
    op.drop_table("review_actions")
    op.drop_index(op.f("ix_suggestion_mutes_owner_id"), table_name="suggestion_mutes")
    op.drop_table("suggestion_mutes")
