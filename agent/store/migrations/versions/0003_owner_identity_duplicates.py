"""owners.identity (the owner's addresses with reasons, name, sign-off) and
messages.duplicate_of (a stored copy of another message counts once)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 06:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("owners") as batch:
        batch.add_column(sa.Column("identity", JSON, nullable=False, server_default="{}"))
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("duplicate_of", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_messages_duplicate_of_messages",
            "messages",
            ["duplicate_of"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_constraint("fk_messages_duplicate_of_messages", type_="foreignkey")
        batch.drop_column("duplicate_of")
    with op.batch_alter_table("owners") as batch:
        batch.drop_column("identity")
