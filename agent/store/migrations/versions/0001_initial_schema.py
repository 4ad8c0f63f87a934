"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 19:21:28.654317
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import rapportd.agent.store.models

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "owners",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "org_domains",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "preferences",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("analysis_due_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("analysed_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_owners")),
        sa.UniqueConstraint("email", name=op.f("uq_owners_email")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("token_blob", sa.LargeBinary(), nullable=True),
        sa.Column(
            "scopes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column(
            "aliases",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("last_sync_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column(
            "last_verified_complete_at", rapportd.agent.store.models.UTCDateTime(), nullable=True
        ),
        sa.Column("next_sync_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("consecutive_errors", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("sync_lease_owner", sa.String(length=100), nullable=True),
        sa.Column("sync_lease_until", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_accounts_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint(
            "owner_id", "provider", "address", name=op.f("uq_accounts_owner_id_provider_address")
        ),
    )
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_accounts_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "contact_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("address_a", sa.String(length=320), nullable=False),
        sa.Column("address_b", sa.String(length=320), nullable=False),
        sa.Column("decision", sa.String(length=10), nullable=False),
        sa.Column("created_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_contact_decisions_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_decisions")),
        sa.UniqueConstraint(
            "owner_id",
            "address_a",
            "address_b",
            name=op.f("uq_contact_decisions_owner_id_address_a_address_b"),
        ),
    )
    with op.batch_alter_table("contact_decisions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_decisions_owner_id"), ["owner_id"], unique=False
        )

    op.create_table(
        "contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("primary_address", sa.String(length=320), nullable=False),
        sa.Column("is_automated", sa.Boolean(), nullable=False),
        sa.Column(
            "automated_reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("is_internal", sa.Boolean(), nullable=False),
        sa.Column("strength", sa.Float(), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("typical_gap_days", sa.Float(), nullable=True),
        sa.Column("overdue_score", sa.Float(), nullable=True),
        sa.Column("next_expected_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("last_interaction_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("first_interaction_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("interaction_count", sa.Integer(), nullable=False),
        sa.Column(
            "analysis",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("dirty", sa.Boolean(), nullable=False),
        sa.Column("analysed_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_contacts_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contacts")),
    )
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contacts_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "quota_windows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("bucket", sa.String(length=200), nullable=False),
        sa.Column("window_start", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("spent", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_quota_windows_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quota_windows")),
        sa.UniqueConstraint(
            "bucket", "window_start", name=op.f("uq_quota_windows_bucket_window_start")
        ),
    )
    with op.batch_alter_table("quota_windows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quota_windows_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "web_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("expires_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_web_sessions_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "contact_identities",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_contact_identities_contact_id_contacts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_contact_identities_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_identities")),
        sa.UniqueConstraint(
            "owner_id", "address", name=op.f("uq_contact_identities_owner_id_address")
        ),
    )
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_contact_identities_contact_id"), ["contact_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_contact_identities_owner_id"), ["owner_id"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=1024), nullable=False),
        sa.Column("ical_uid", sa.String(length=1024), nullable=False),
        sa.Column("series_id", sa.String(length=1024), nullable=False),
        sa.Column("original_start_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("start_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("end_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("organizer", sa.String(length=320), nullable=False),
        sa.Column("organizer_is_self", sa.Boolean(), nullable=False),
        sa.Column(
            "attendees",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("self_response", sa.String(length=20), nullable=False),
        sa.Column("transparency", sa.String(length=20), nullable=False),
        sa.Column("is_recurring", sa.Boolean(), nullable=False),
        sa.Column("rapportd_tag", sa.String(length=200), nullable=False),
        sa.Column("web_link", sa.Text(), nullable=False),
        sa.Column(
            "problems",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("updated_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_events_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["owners.id"], name=op.f("fk_events_owner_id_owners"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_events")),
        sa.UniqueConstraint(
            "account_id", "provider_id", name=op.f("uq_events_account_id_provider_id")
        ),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_events_owner_start", ["owner_id", "start_at"], unique=False)

    op.create_table(
        "messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("provider_id", sa.String(length=300), nullable=False),
        sa.Column("thread_id", sa.String(length=300), nullable=False),
        sa.Column("rfc822_id", sa.String(length=998), nullable=False),
        sa.Column("in_reply_to", sa.String(length=998), nullable=False),
        sa.Column(
            "references",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("from_addr", sa.String(length=320), nullable=False),
        sa.Column("from_name", sa.String(length=300), nullable=False),
        sa.Column(
            "to_addrs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "cc_addrs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("reply_to", sa.String(length=320), nullable=False),
        sa.Column("sent_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("tz_offset_minutes", sa.Integer(), nullable=True),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column(
            "labels",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("folder", sa.String(length=60), nullable=False),
        sa.Column("list_id", sa.String(length=300), nullable=False),
        sa.Column("list_unsubscribe", sa.Boolean(), nullable=False),
        sa.Column("precedence", sa.String(length=30), nullable=False),
        sa.Column("auto_submitted", sa.String(length=60), nullable=False),
        sa.Column("is_bulk", sa.Boolean(), nullable=False),
        sa.Column("is_automated", sa.Boolean(), nullable=False),
        sa.Column("has_attachments", sa.Boolean(), nullable=False),
        sa.Column("new_text", sa.Text(), nullable=False),
        sa.Column("text_truncated", sa.Boolean(), nullable=False),
        sa.Column("has_text", sa.Boolean(), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("size_bytes", sa.BigInteger(), nullable=False),
        sa.Column(
            "problems",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("rapportd_tag", sa.String(length=200), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("created_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_messages_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_messages_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
        sa.UniqueConstraint(
            "account_id", "provider_id", name=op.f("uq_messages_account_id_provider_id")
        ),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_messages_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_messages_owner_rfc822", ["owner_id", "rfc822_id"], unique=False)
        batch_op.create_index("ix_messages_owner_sent", ["owner_id", "sent_at"], unique=False)
        batch_op.create_index("ix_messages_owner_thread", ["owner_id", "thread_id"], unique=False)

    op.create_table(
        "push_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("subscription_id", sa.String(length=300), nullable=False),
        sa.Column("resource", sa.Text(), nullable=False),
        sa.Column("client_state_hash", sa.String(length=128), nullable=False),
        sa.Column("expires_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_push_subscriptions_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_push_subscriptions_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_push_subscriptions")),
        sa.UniqueConstraint(
            "provider",
            "subscription_id",
            name=op.f("uq_push_subscriptions_provider_subscription_id"),
        ),
    )
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_push_subscriptions_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_push_subscriptions_owner_id"), ["owner_id"], unique=False
        )

    op.create_table(
        "skipped_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("provider_id", sa.String(length=1024), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("seen_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_skipped_items_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_skipped_items_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skipped_items")),
        sa.UniqueConstraint(
            "account_id",
            "stream",
            "provider_id",
            name=op.f("uq_skipped_items_account_id_stream_provider_id"),
        ),
    )
    with op.batch_alter_table("skipped_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_skipped_items_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "sync_cursors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("phase", sa.String(length=20), nullable=False),
        sa.Column("cursor", sa.Text(), nullable=True),
        sa.Column("page_token", sa.Text(), nullable=True),
        sa.Column("backfill_started_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("updated_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sync_cursors_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_sync_cursors_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_cursors")),
        sa.UniqueConstraint("account_id", "stream", name=op.f("uq_sync_cursors_account_id_stream")),
    )
    with op.batch_alter_table("sync_cursors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_cursors_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(length=40), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("started_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("finished_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("fetched", sa.Integer(), nullable=False),
        sa.Column("upserted", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Integer(), nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("quota_units", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_sync_runs_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_sync_runs_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_runs_account_id"), ["account_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sync_runs_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("direction", sa.String(length=20), nullable=False),
        sa.Column("by_addr", sa.String(length=320), nullable=False),
        sa.Column("to_addr", sa.String(length=320), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("due_text", sa.String(length=200), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("resolved_by_message_id", sa.Integer(), nullable=True),
        sa.Column("thread_id", sa.String(length=300), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("created_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_commitments_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_commitments_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_commitments_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_message_id"],
            ["messages.id"],
            name=op.f("fk_commitments_resolved_by_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
        sa.UniqueConstraint(
            "owner_id", "dedupe_key", name=op.f("uq_commitments_owner_id_dedupe_key")
        ),
    )
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_commitments_contact_id"), ["contact_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_commitments_message_id"), ["message_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_commitments_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("commitment_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("reply_to_message_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column(
            "reasons",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("evidence", sa.String(length=64), nullable=False),
        sa.Column(
            "to_addrs",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hold_start", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("hold_end", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("snoozed_until", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("created_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_suggestions_account_id_accounts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["commitment_id"],
            ["commitments.id"],
            name=op.f("fk_suggestions_commitment_id_commitments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_suggestions_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name=op.f("fk_suggestions_event_id_events"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_suggestions_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["reply_to_message_id"],
            ["messages.id"],
            name=op.f("fk_suggestions_reply_to_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suggestions")),
        sa.UniqueConstraint(
            "owner_id", "dedupe_key", name=op.f("uq_suggestions_owner_id_dedupe_key")
        ),
    )
    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_suggestions_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_suggestions_owner_status", ["owner_id", "status"], unique=False)

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column(
            "details",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contacts.id"],
            name=op.f("fk_feedback_contact_id_contacts"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["owners.id"],
            name=op.f("fk_feedback_owner_id_owners"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["suggestion_id"],
            ["suggestions.id"],
            name=op.f("fk_feedback_suggestion_id_suggestions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(
            "suggestion_id", "outcome", name=op.f("uq_feedback_suggestion_id_outcome")
        ),
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_feedback_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_feedback_suggestion_id"), ["suggestion_id"], unique=False
        )

    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("suggestion_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("op", sa.String(length=30), nullable=False),
        sa.Column("tag", sa.String(length=200), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("provider_item_id", sa.String(length=1024), nullable=False),
        sa.Column("provider_thread_id", sa.String(length=300), nullable=False),
        sa.Column("written_hash", sa.String(length=64), nullable=False),
        sa.Column("written_at", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("ready_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_until", rapportd.agent.store.models.UTCDateTime(), nullable=True),
        sa.Column("created_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("updated_at", rapportd.agent.store.models.UTCDateTime(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_outbox_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["owners.id"], name=op.f("fk_outbox_owner_id_owners"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["suggestion_id"],
            ["suggestions.id"],
            name=op.f("fk_outbox_suggestion_id_suggestions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("owner_id", "tag", "op", name=op.f("uq_outbox_owner_id_tag_op")),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index("ix_outbox_state_ready", ["state", "ready_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outbox_suggestion_id"), ["suggestion_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outbox_suggestion_id"))
        batch_op.drop_index("ix_outbox_state_ready")
        batch_op.drop_index(batch_op.f("ix_outbox_owner_id"))

    op.drop_table("outbox")
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_feedback_suggestion_id"))
        batch_op.drop_index(batch_op.f("ix_feedback_owner_id"))

    op.drop_table("feedback")
    with op.batch_alter_table("suggestions", schema=None) as batch_op:
        batch_op.drop_index("ix_suggestions_owner_status")
        batch_op.drop_index(batch_op.f("ix_suggestions_owner_id"))

    op.drop_table("suggestions")
    with op.batch_alter_table("commitments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commitments_owner_id"))
        batch_op.drop_index(batch_op.f("ix_commitments_message_id"))
        batch_op.drop_index(batch_op.f("ix_commitments_contact_id"))

    op.drop_table("commitments")
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_runs_owner_id"))
        batch_op.drop_index(batch_op.f("ix_sync_runs_account_id"))

    op.drop_table("sync_runs")
    with op.batch_alter_table("sync_cursors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_cursors_owner_id"))

    op.drop_table("sync_cursors")
    with op.batch_alter_table("skipped_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skipped_items_owner_id"))

    op.drop_table("skipped_items")
    with op.batch_alter_table("push_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_owner_id"))
        batch_op.drop_index(batch_op.f("ix_push_subscriptions_account_id"))

    op.drop_table("push_subscriptions")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index("ix_messages_owner_thread")
        batch_op.drop_index("ix_messages_owner_sent")
        batch_op.drop_index("ix_messages_owner_rfc822")
        batch_op.drop_index(batch_op.f("ix_messages_owner_id"))

    op.drop_table("messages")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_owner_start")
        batch_op.drop_index(batch_op.f("ix_events_owner_id"))

    op.drop_table("events")
    with op.batch_alter_table("contact_identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_identities_owner_id"))
        batch_op.drop_index(batch_op.f("ix_contact_identities_contact_id"))

    op.drop_table("contact_identities")
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_owner_id"))

    op.drop_table("web_sessions")
    with op.batch_alter_table("quota_windows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quota_windows_owner_id"))

    op.drop_table("quota_windows")
    with op.batch_alter_table("contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contacts_owner_id"))

    op.drop_table("contacts")
    with op.batch_alter_table("contact_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_decisions_owner_id"))

    op.drop_table("contact_decisions")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_accounts_owner_id"))

    op.drop_table("accounts")
    op.drop_table("owners")
