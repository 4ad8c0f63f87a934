"""The store: every table rapportd keeps, as SQLAlchemy 2.x typed models.

Words used throughout:

owner
    a person who uses rapportd. Every row belongs to exactly one owner (``owner_id``).
account
    one connected mailbox + calendar of an owner at one provider (``google`` or ``microsoft``).
stream
    one thing an account syncs with its own cursor: ``gmail``, ``gcal``, ``graph_inbox``,
    ``graph_sentitems``, ``graph_calendar`` (a connector may add more).
message / event
    provider-neutral copies of what a stream brought; unique per (account, provider id), so
    a repeated sync is idempotent.
contact / identity
    a person in the owner's life, and the addresses that person writes from.
commitment
    a promise or a request found in a message, with its due date and state.
suggestion
    something rapportd proposes (a draft or a hold), unique per (owner, dedupe key).
outbox operation
    one write into a mailbox or calendar for a suggestion, with its state machine.
feedback
    what the person did with a suggestion (sent, edited, deleted, accepted ...).

Times are stored as UTC and always come back timezone-aware (:class:`UTCDateTime`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from rapportd.agent.core.clock import now as clock_now

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored as naive UTC and read back as an aware UTC ``datetime``."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType, list[Any]: JSONType}


class Owner(Base):
    """A person who uses rapportd."""

    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    org_domains: Mapped[list[Any]] = mapped_column(default=list)
    preferences: Mapped[dict[str, Any]] = mapped_column(default=dict)
    analysis_due_at: Mapped[datetime | None]
    analysed_at: Mapped[datetime | None]
    # when the last plan began; the owner lock orders it after the analysis it read
    planned_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock_now)
    # Who the owner is, as the analysis learned it (inference.owner_identity.OwnerIdentity):
    # every address with its reason, the owner's name and the name they sign with.
    identity: Mapped[dict[str, Any]] = mapped_column(default=dict)

    accounts: Mapped[list[Account]] = relationship(back_populates="owner")


class OwnedMixin:
    """Every row belongs to exactly one owner."""

    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)


class Account(OwnedMixin, Base):
    """One connected mailbox + calendar at one provider."""

    __tablename__ = "accounts"
    __table_args__ = (UniqueConstraint("owner_id", "provider", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))  # google | microsoft
    address: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(200), default="")
    status: Mapped[str] = mapped_column(
        String(30), default="ok"
    )  # ok | needs_reconsent | error | disabled
    status_reason: Mapped[str] = mapped_column(Text, default="")
    token_blob: Mapped[bytes | None] = mapped_column(LargeBinary)  # encrypted, never plain
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    aliases: Mapped[list[Any]] = mapped_column(default=list)  # the provider's, not the account's
    aliases_checked_at: Mapped[datetime | None]  # when the provider's list was last read
    created_at: Mapped[datetime] = mapped_column(default=clock_now)
    last_sync_at: Mapped[datetime | None]
    last_verified_complete_at: Mapped[datetime | None]
    next_sync_at: Mapped[datetime | None]
    consecutive_errors: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    sync_lease_owner: Mapped[str | None] = mapped_column(String(100))
    sync_lease_until: Mapped[datetime | None]

    owner: Mapped[Owner] = relationship(back_populates="accounts")


class SyncCursor(OwnedMixin, Base):
    """Where a stream of an account stands. Committed with the records it covers."""

    __tablename__ = "sync_cursors"
    __table_args__ = (UniqueConstraint("account_id", "stream"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(40))
    phase: Mapped[str] = mapped_column(String(20), default="backfill")  # backfill | delta
    cursor: Mapped[str | None] = mapped_column(Text)  # historyId / syncToken / deltaLink
    page_token: Mapped[str | None] = mapped_column(Text)  # resumable backfill position
    backfill_started_at: Mapped[datetime | None]
    generation: Mapped[int] = mapped_column(default=0)  # bumped by every full re-sync
    updated_at: Mapped[datetime] = mapped_column(default=clock_now, onupdate=clock_now)
    # When this stream last finished a full pass (backfill or re-sync, reconciled with the
    # provider's list): None until its first backfill is done. The owner is analysed only
    # when every stream of every account has one (half a mailbox is no evidence).
    last_verified_complete_at: Mapped[datetime | None]
    # When this stream's recent window (``sync.recent_days``, synced first) was complete:
    # the owner may be analysed for the window's kinds once every stream has one.
    recent_complete_at: Mapped[datetime | None]
    last_error: Mapped[str] = mapped_column(Text, default="")  # why its last pass failed
    consecutive_errors: Mapped[int] = mapped_column(default=0)


class SyncRun(OwnedMixin, Base):
    """One sync pass of one stream: what it fetched, changed and whether it completed."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    stream: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20))  # backfill | delta | resync
    started_at: Mapped[datetime] = mapped_column(default=clock_now)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")  # running | ok | error
    fetched: Mapped[int] = mapped_column(default=0)
    upserted: Mapped[int] = mapped_column(default=0)
    deleted: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    requests: Mapped[int] = mapped_column(default=0)
    quota_units: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")


class Message(OwnedMixin, Base):
    """A message's metadata and new text (quotes and signature removed, size-capped)."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("account_id", "provider_id"),
        Index("ix_messages_owner_sent", "owner_id", "sent_at"),
        Index("ix_messages_owner_thread", "owner_id", "thread_id"),
        Index("ix_messages_owner_rfc822", "owner_id", "rfc822_id"),
        # what changed since the last analysis (agent/analysis/state.py: load_delta)
        Index("ix_messages_owner_updated", "owner_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    provider_id: Mapped[str] = mapped_column(String(300))
    thread_id: Mapped[str] = mapped_column(String(300), default="")
    rfc822_id: Mapped[str] = mapped_column(String(998), default="")
    in_reply_to: Mapped[str] = mapped_column(String(998), default="")
    references: Mapped[list[Any]] = mapped_column(default=list)
    from_addr: Mapped[str] = mapped_column(String(320), default="")
    from_name: Mapped[str] = mapped_column(String(300), default="")
    to_addrs: Mapped[list[Any]] = mapped_column(default=list)
    cc_addrs: Mapped[list[Any]] = mapped_column(default=list)
    reply_to: Mapped[str] = mapped_column(String(320), default="")
    sent_at: Mapped[datetime | None]
    tz_offset_minutes: Mapped[int | None]
    subject: Mapped[str] = mapped_column(Text, default="")
    direction: Mapped[str] = mapped_column(String(10), default="in")  # in | out | self
    labels: Mapped[list[Any]] = mapped_column(default=list)
    folder: Mapped[str] = mapped_column(String(60), default="")
    list_id: Mapped[str] = mapped_column(String(300), default="")
    list_unsubscribe: Mapped[bool] = mapped_column(default=False)
    precedence: Mapped[str] = mapped_column(String(30), default="")
    auto_submitted: Mapped[str] = mapped_column(String(60), default="")
    is_bulk: Mapped[bool] = mapped_column(default=False)
    is_automated: Mapped[bool] = mapped_column(default=False)
    has_attachments: Mapped[bool] = mapped_column(default=False)
    new_text: Mapped[str] = mapped_column(Text, default="")
    text_truncated: Mapped[bool] = mapped_column(default=False)
    has_text: Mapped[bool] = mapped_column(default=False)
    word_count: Mapped[int] = mapped_column(default=0)
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    problems: Mapped[list[Any]] = mapped_column(default=list)  # why it was only partly stored
    rapportd_tag: Mapped[str] = mapped_column(String(200), default="")
    deleted: Mapped[bool] = mapped_column(default=False)
    # Another stored copy of the same message (inference.duplicates); counted once, as that one.
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock_now)
    updated_at: Mapped[datetime] = mapped_column(default=clock_now, onupdate=clock_now)


class CalendarEvent(OwnedMixin, Base):
    """A calendar event with its attendees and their responses."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("account_id", "provider_id"),
        Index("ix_events_owner_start", "owner_id", "start_at"),
        Index("ix_events_owner_updated", "owner_id", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    provider_id: Mapped[str] = mapped_column(String(1024))
    ical_uid: Mapped[str] = mapped_column(String(1024), default="")
    series_id: Mapped[str] = mapped_column(String(1024), default="")  # recurring event id
    original_start_at: Mapped[datetime | None]  # recurrence id
    start_at: Mapped[datetime | None]
    end_at: Mapped[datetime | None]
    all_day: Mapped[bool] = mapped_column(default=False)
    timezone: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(
        String(20), default="confirmed"
    )  # confirmed | tentative | cancelled
    summary: Mapped[str] = mapped_column(Text, default="")
    organizer: Mapped[str] = mapped_column(String(320), default="")
    organizer_is_self: Mapped[bool] = mapped_column(default=False)
    attendees: Mapped[list[Any]] = mapped_column(
        default=list
    )  # [{email, name, response, self, optional}]
    self_response: Mapped[str] = mapped_column(String(20), default="")
    transparency: Mapped[str] = mapped_column(String(20), default="opaque")
    is_recurring: Mapped[bool] = mapped_column(default=False)
    rapportd_tag: Mapped[str] = mapped_column(String(200), default="")
    web_link: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[list[Any]] = mapped_column(default=list)
    deleted: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=clock_now, onupdate=clock_now)


class SkippedItem(OwnedMixin, Base):
    """Something a sync could not store, and why. Nothing is dropped silently."""

    __tablename__ = "skipped_items"
    __table_args__ = (UniqueConstraint("account_id", "stream", "provider_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    stream: Mapped[str] = mapped_column(String(40))
    provider_id: Mapped[str] = mapped_column(String(1024))
    reason: Mapped[str] = mapped_column(Text)
    seen_at: Mapped[datetime] = mapped_column(default=clock_now)


class Contact(OwnedMixin, Base):
    """A person in the owner's life, with the latest analysis of the relationship."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(300), default="")
    primary_address: Mapped[str] = mapped_column(String(320), default="")
    is_automated: Mapped[bool] = mapped_column(default=False)
    automated_reasons: Mapped[list[Any]] = mapped_column(default=list)
    is_internal: Mapped[bool] = mapped_column(default=False)
    strength: Mapped[float | None] = mapped_column(Float)
    stage: Mapped[str] = mapped_column(String(20), default="")
    typical_gap_days: Mapped[float | None] = mapped_column(Float)
    overdue_score: Mapped[float | None] = mapped_column(Float)
    next_expected_at: Mapped[datetime | None]
    last_interaction_at: Mapped[datetime | None]
    first_interaction_at: Mapped[datetime | None]
    interaction_count: Mapped[int] = mapped_column(default=0)
    analysis: Mapped[dict[str, Any]] = mapped_column(default=dict)  # reasons, shown on the page
    dirty: Mapped[bool] = mapped_column(default=True)  # new data since the last analysis
    analysed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock_now)

    identities: Mapped[list[ContactIdentity]] = relationship(back_populates="contact")


class ContactIdentity(OwnedMixin, Base):
    """An address a contact writes from. One address maps to one contact per owner."""

    __tablename__ = "contact_identities"
    __table_args__ = (UniqueConstraint("owner_id", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contacts.id", ondelete="CASCADE"), index=True
    )
    address: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(300), default="")
    source: Mapped[str] = mapped_column(String(20), default="auto")  # auto | manual

    contact: Mapped[Contact] = relationship(back_populates="identities")


class AnalysisState(OwnedMixin, Base):
    """What an incremental analysis needs of the owner's whole history without reading it
    (agent/analysis/state.py): each person's addresses and the ids of the messages of their
    threads, the pooled rhythm prior's sufficient statistics, display names and reply-as
    pairs. Written by every analysis; a missing or older-version state means a full run."""

    __tablename__ = "analysis_states"
    __table_args__ = (UniqueConstraint("owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(default=1)
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=clock_now, onupdate=clock_now)


class ContactDecision(OwnedMixin, Base):
    """An explicit merge or split of two addresses by the owner; always wins over inference."""

    __tablename__ = "contact_decisions"
    __table_args__ = (UniqueConstraint("owner_id", "address_a", "address_b"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address_a: Mapped[str] = mapped_column(String(320))
    address_b: Mapped[str] = mapped_column(String(320))
    # merge | split (two addresses), or me | not_me (address_a is / is not the owner's, address_b "")
    decision: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(default=clock_now)


# Commitment.dedupe_key prefix of a promise the owner made from a reply owed on the review
# page ("I'll come back to you by Thursday"): agent.suggest.actions.promise_to_answer makes
# it, agent.analysis.store.settle_acknowledged judges it.
ACKNOWLEDGED_PREFIX = "acknowledged:"


class Commitment(OwnedMixin, Base):
    """A promise or a request found in a message, with its due date and state."""

    __tablename__ = "commitments"
    __table_args__ = (UniqueConstraint("owner_id", "dedupe_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # commitment | request
    direction: Mapped[str] = mapped_column(String(20))  # by_owner | to_owner
    by_addr: Mapped[str] = mapped_column(String(320), default="")
    to_addr: Mapped[str] = mapped_column(String(320), default="")
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    due_text: Mapped[str] = mapped_column(String(200), default="")
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    state: Mapped[str] = mapped_column(
        String(20), default="open"
    )  # open | kept | late | answered | void
    resolved_by_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    thread_id: Mapped[str] = mapped_column(String(300), default="")
    reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=clock_now)
    updated_at: Mapped[datetime] = mapped_column(default=clock_now, onupdate=clock_now)


class Suggestion(OwnedMixin, Base):
    """A draft or a hold rapportd proposes; never made twice (owner + dedupe key)."""

    __tablename__ = "suggestions"
    __table_args__ = (
        UniqueConstraint("owner_id", "dedupe_key"),
        Index("ix_suggestions_owner_status", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    dedupe_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(30))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    commitment_id: Mapped[int | None] = mapped_column(
        ForeignKey("commitments.id", ondelete="SET NULL")
    )
    event_id: Mapped[int | None] = mapped_column(ForeignKey("events.id", ondelete="SET NULL"))
    reply_to_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL")
    )
    # proposed | pending | written | accepted | sent | sent_edited | dismissed | snoozed | expired | moot
    status: Mapped[str] = mapped_column(String(20), default="proposed")
    title: Mapped[str] = mapped_column(Text, default="")
    reasons: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evidence: Mapped[str] = mapped_column(
        String(64), default=""
    )  # hash of the evidence it rests on
    to_addrs: Mapped[list[Any]] = mapped_column(default=list)
    subject: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    hold_start: Mapped[datetime | None]
    hold_end: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    score: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(default=clock_now)
    updated_at: Mapped[datetime] = mapped_column(default=clock_now, onupdate=clock_now)


class OutboxOperation(OwnedMixin, Base):
    """One write into a mailbox or calendar, idempotent through its tag.

    States: pending -> writing -> written -> sent | sent_edited | dismissed | expired,
    and failed (with ``attempts`` and ``last_error``).
    """

    __tablename__ = "outbox"
    __table_args__ = (
        UniqueConstraint("owner_id", "tag", "op"),
        Index("ix_outbox_state_ready", "state", "ready_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(
        ForeignKey("suggestions.id", ondelete="CASCADE"), index=True
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    op: Mapped[str] = mapped_column(
        String(30)
    )  # create_draft | update_draft | delete_draft | create_hold | confirm_hold | delete_hold
    tag: Mapped[str] = mapped_column(String(200))  # rapportd's own id, carried by the written item
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provider_item_id: Mapped[str] = mapped_column(String(1024), default="")
    provider_thread_id: Mapped[str] = mapped_column(String(300), default="")
    written_hash: Mapped[str] = mapped_column(String(64), default="")  # hash of what rapportd wrote
    written_at: Mapped[datetime | None]
    # The written item in the provider's web app (Gmail draft, Calendar event, Outlook
    # webLink), so the review page links to the item itself ("" when unknown).
    web_link: Mapped[str] = mapped_column(Text, default="")
    ready_at: Mapped[datetime] = mapped_column(default=clock_now)
    # When the planner meant it to be written. Retries move ready_at, never this: the daily
    # draft cap counts by it, so a back-off across midnight frees no slot (None: before 0002).
    scheduled_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock_now)
    updated_at: Mapped[datetime] = mapped_column(default=clock_now, onupdate=clock_now)


class Feedback(OwnedMixin, Base):
    """What the person did with a suggestion, as seen by a later sync or an action."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("suggestion_id", "outcome"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    suggestion_id: Mapped[int] = mapped_column(
        ForeignKey("suggestions.id", ondelete="CASCADE"), index=True
    )
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))
    # sent | sent_edited | deleted | dismissed | accepted | confirmed | moved | snoozed | ignored | expired
    outcome: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20), default="sync")  # sync | web | cli
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=clock_now)


class ReviewAction(OwnedMixin, Base):
    """One action the owner took on a suggestion (review page or CLI) and what it changed,
    so that it can be undone while its writes still wait in the outbox (``undo_until``).
    An action on several suggestions at once shares one ``batch``."""

    __tablename__ = "review_actions"
    __table_args__ = (Index("ix_review_actions_owner_at", "owner_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(String(32), index=True)
    suggestion_id: Mapped[int] = mapped_column(
        ForeignKey("suggestions.id", ondelete="CASCADE"), index=True
    )
    verb: Mapped[str] = mapped_column(String(20))  # accept | dismiss | snooze | edit
    source: Mapped[str] = mapped_column(String(20), default="web")  # web | cli
    # {"suggestion": {field: value before}, "ops": {op id: {field: value before}},
    #  "new_ops": [ids of ops the action created], "feedback": [outcomes it recorded]}
    before: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime] = mapped_column(default=clock_now)
    undo_until: Mapped[datetime]
    undone_at: Mapped[datetime | None]


class Mute(OwnedMixin, Base):
    """ "Never for this person": rapportd proposes no more suggestions of ``kind`` to this
    address (the contact's primary address when the owner dismissed it)."""

    __tablename__ = "suggestion_mutes"
    __table_args__ = (UniqueConstraint("owner_id", "kind", "address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    address: Mapped[str] = mapped_column(String(320))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=clock_now)


class ProcessHeartbeat(Base):
    """A live rapportd process (``host:pid``, the name on the leases it takes) and when it
    last said so. A lease whose holder has no fresh heartbeat, or whose pid is gone on this
    host, belongs to a dead process: recovery at start-up takes its work back at once."""

    __tablename__ = "process_heartbeats"

    holder: Mapped[str] = mapped_column(String(100), primary_key=True)
    host: Mapped[str] = mapped_column(String(100))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(default=clock_now)
    beat_at: Mapped[datetime] = mapped_column(default=clock_now)


class QuotaWindow(Base):
    """Quota spent per key (account + provider bucket) per window; shared by all workers."""

    __tablename__ = "quota_windows"
    __table_args__ = (UniqueConstraint("bucket", "window_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("owners.id", ondelete="CASCADE"), index=True
    )
    bucket: Mapped[str] = mapped_column(String(200))
    window_start: Mapped[datetime]
    spent: Mapped[int] = mapped_column(Integer, default=0)


class PushSubscription(OwnedMixin, Base):
    """A provider push channel (Gmail watch / Graph subscription) for an account."""

    __tablename__ = "push_subscriptions"
    __table_args__ = (UniqueConstraint("provider", "subscription_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    subscription_id: Mapped[str] = mapped_column(String(300))
    resource: Mapped[str] = mapped_column(Text, default="")
    client_state_hash: Mapped[str] = mapped_column(String(128), default="")
    expires_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=clock_now)


class WebSession(OwnedMixin, Base):
    """A signed-in browser. The cookie carries only the (signed) id; logout revokes it."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=clock_now)
    expires_at: Mapped[datetime]
    revoked: Mapped[bool] = mapped_column(default=False)


OWNED_TABLES = [
    t.name for t in Base.metadata.sorted_tables if "owner_id" in t.c and t.name != "quota_windows"
]
