"""Provider-neutral records: the one boundary between connectors and the rest of rapportd.

Connectors turn Gmail / Calendar / Graph payloads into these records and take write
operations expressed in them; nothing above the connectors sees a provider payload, and
nothing in ``connectors/`` decides what to suggest.

Words:

tag
    rapportd's own id for an item it writes (derived from the suggestion's dedupe key). It is
    carried by the item itself (``X-Rapportd-Id`` MIME header, a Graph extended property,
    a Calendar private extended property / client-chosen event id / Graph transactionId), so
    a retry can look for it before creating anything.
content hash
    :func:`content_hash` of what rapportd wrote. If the hash of what is there now differs,
    the person edited the item and rapportd must not touch it.
cursor
    :class:`CursorState`: where a stream stands (backfill page or delta cursor). It is
    committed in the same transaction as the records of the batch that carried it.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, Protocol

Direction = Literal["in", "out", "self"]
Response = Literal["accepted", "declined", "tentative", "needsAction", "none"]


# The streams each provider's account is synced as. An account (and its owner) counts as
# synced only when every one of them finished its backfill.
PROVIDER_STREAMS: dict[str, tuple[str, ...]] = {
    "google": ("gmail", "gcal"),
    "microsoft": ("graph_inbox", "graph_sentitems", "graph_calendar"),
}
STREAM_NAMES: dict[str, str] = {
    "gmail": "Gmail",
    "gcal": "Google Calendar",
    "graph_inbox": "the Outlook inbox",
    "graph_sentitems": "Outlook's sent items",
    "graph_calendar": "the Outlook calendar",
}


@dataclass(frozen=True)
class Address:
    email: str
    name: str = ""

    @staticmethod
    def of(email: str, name: str = "") -> Address:
        return Address(email.strip().lower(), name.strip())


@dataclass
class MessageRecord:
    """A message's metadata and its new text (quotes and signature removed, size-capped)."""

    provider_id: str
    thread_id: str = ""
    rfc822_id: str = ""
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    sender: Address | None = None
    to: list[Address] = field(default_factory=list)
    cc: list[Address] = field(default_factory=list)
    reply_to: str = ""
    sent_at: datetime | None = None
    tz_offset_minutes: int | None = None
    subject: str = ""
    direction: Direction = "in"
    labels: list[str] = field(default_factory=list)
    folder: str = ""
    list_id: str = ""
    list_unsubscribe: bool = False
    precedence: str = ""
    auto_submitted: str = ""
    has_attachments: bool = False
    new_text: str = ""
    has_text: bool = False
    text_truncated: bool = False
    size_bytes: int = 0
    problems: list[str] = field(default_factory=list)
    rapportd_tag: str = ""


@dataclass(frozen=True)
class Attendee:
    email: str
    name: str = ""
    response: Response = "needsAction"
    is_self: bool = False
    optional: bool = False
    is_organizer: bool = False


@dataclass
class EventRecord:
    """A calendar event (one instance of a recurring series) with its attendees."""

    provider_id: str
    ical_uid: str = ""
    series_id: str = ""
    original_start_at: datetime | None = None
    start_at: datetime | None = None
    end_at: datetime | None = None
    all_day: bool = False
    timezone: str = ""
    status: Literal["confirmed", "tentative", "cancelled"] = "confirmed"
    summary: str = ""
    organizer: str = ""
    organizer_is_self: bool = False
    attendees: list[Attendee] = field(default_factory=list)
    self_response: str = ""
    transparency: str = "opaque"
    is_recurring: bool = False
    rapportd_tag: str = ""
    web_link: str = ""
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class CursorState:
    """Where a stream stands. ``phase`` is ``backfill`` (resumable by ``page_token``) or
    ``delta`` (``cursor`` is a Gmail historyId, a Calendar syncToken or a Graph deltaLink)."""

    phase: Literal["backfill", "delta"] = "backfill"
    cursor: str | None = None
    page_token: str | None = None


@dataclass
class Skipped:
    provider_id: str
    reason: str


@dataclass
class SyncBatch:
    """One unit of progress of a stream: store all of it and its cursor in one transaction."""

    stream: str
    messages: list[MessageRecord] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # provider ids gone from the stream
    skipped: list[Skipped] = field(default_factory=list)
    cursor: CursorState = field(default_factory=CursorState)
    resync: bool = False  # the cursor expired: this batch starts a full re-sync
    complete: bool = False  # the stream is caught up after this batch
    # this batch ends the stream's recent window (``sync.recent_days``, synced first)
    recent_complete: bool = False
    provider_total: int | None = None  # the provider's own count, to verify completeness
    # Reconciliation: every id the provider has in this stream right now. Stored items of the
    # stream missing from it are marked deleted, and the account is "verified complete".
    present_ids: list[str] | None = None
    # Only stored items starting inside this window are reconciled (calendar windows).
    present_window: tuple[datetime, datetime] | None = None
    requests: int = 0
    quota_units: int = 0


@dataclass
class DraftSpec:
    """A draft to write. A reply names the message it answers (threading is the connector's job)."""

    tag: str
    to: list[Address]
    subject: str
    body: str
    cc: list[Address] = field(default_factory=list)
    reply_to_provider_id: str = ""  # provider id of the message answered, if a reply
    thread_id: str = ""
    in_reply_to: str = ""  # RFC 822 Message-ID of the message answered
    references: list[str] = field(default_factory=list)


@dataclass
class HoldSpec:
    """A tentative, private event with no attendees."""

    tag: str
    summary: str
    start: datetime
    end: datetime
    description: str = ""
    timezone: str = "UTC"


@dataclass(frozen=True)
class PushChannel:
    """A push channel a provider opened for an account: a Gmail watch (one per mailbox) or a
    Graph subscription (one per resource). ``client_state`` is the secret Graph echoes in
    each notification; it is shown once, and the store keeps only its hash."""

    subscription_id: str
    expires_at: datetime
    resource: str = ""
    client_state: str = ""


@dataclass(frozen=True)
class OwnAddress:
    """An address the provider says is the owner's own, and where it said so.

    ``source`` names the provider field: ``gmail.sendAs`` (an accepted send-as entry or the
    primary), ``graph.proxyAddresses`` (an ``SMTP:``/``smtp:`` entry), ``graph.mail`` or
    ``graph.userPrincipalName`` (when Graph gives no proxyAddresses). ``name`` is the
    display name the provider keeps for it ("" when none); ``primary`` marks the mailbox's
    main address."""

    address: str
    source: str
    name: str = ""
    primary: bool = False


@dataclass
class ItemState:
    """What is in the mailbox / calendar now for an item rapportd wrote."""

    provider_id: str
    exists: bool = True
    content_hash: str = ""
    thread_id: str = ""
    # drafts: draft | sent | deleted ; holds: tentative | confirmed | cancelled
    status: str = ""
    sent_message_id: str = ""
    start: datetime | None = None
    end: datetime | None = None
    # The item in the provider's web app (Gmail draft, Calendar htmlLink, Graph webLink).
    web_link: str = ""
    # rapportd's tag as read on the item itself (header / extended property); "" if none
    tag: str = ""


def content_hash(*parts: object) -> str:
    """A stable hash of what was written, to tell later whether the person changed it."""
    data = json.dumps(
        [p.isoformat() if isinstance(p, datetime) else p for p in parts],
        sort_keys=True,
        default=str,
        ensure_ascii=False,
    )
    return hashlib.sha256(data.encode()).hexdigest()


_RE_PREFIX = re.compile(r"^\s*(re|aw|sv)\s*:\s*", re.I)


_CONTROL = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029]")


def _norm_subject(subject: str) -> str:
    """A subject on one line without its reply prefixes (a reply draft is written as
    "Re: <subject>"; a header cannot hold line breaks or control characters)."""
    subject = " ".join(_CONTROL.sub(" ", subject).split())
    while _RE_PREFIX.match(subject):
        subject = _RE_PREFIX.sub("", subject, count=1)
    return subject


def same_subject(a: str, b: str) -> bool:
    """Whether two subjects are the same for a reader ("RE: Deck" and "Re: Deck" are)."""
    return _norm_subject(a) == _norm_subject(b)


def answers_subject(reply: str, original: str) -> bool:
    """Whether ``reply`` is the subject of an answer to mail titled ``original`` ("RE: Deck"
    to "Deck" or to "Re: Deck"); never for an empty subject."""
    topic = _norm_subject(original)
    return bool(topic and _RE_PREFIX.match(reply)) and _norm_subject(reply) == topic


def _norm_body(body: str) -> str:
    """Line endings and trailing spaces as a mail system may rewrite them."""
    body = _BODY_CONTROL.sub(" ", body.replace("\r\n", "\n").replace("\r", "\n"))
    return "\n".join(line.rstrip() for line in body.split("\n")).strip()


def draft_hash(spec: DraftSpec) -> str:
    """Hash of a draft's recipients, subject (reply prefix ignored) and body (line endings
    normalised), so the same draft read back from Gmail or Graph hashes the same."""
    return content_hash(
        sorted(a.email.lower() for a in spec.to), _norm_subject(spec.subject), _norm_body(spec.body)
    )


def hold_hash(spec: HoldSpec) -> str:
    """Hash of a hold's summary and its instants (in UTC, whatever zone they were given in)."""
    return content_hash(
        spec.summary.strip(),
        spec.start.astimezone(UTC).replace(microsecond=0),
        spec.end.astimezone(UTC).replace(microsecond=0),
    )


class Connector(Protocol):
    """What every provider connector offers. Google and Microsoft implement it."""

    provider: str
    streams: tuple[str, ...]

    def sync(self, stream: str, state: CursorState | None) -> Iterator[SyncBatch]:
        """Yield batches from ``state`` on; start a backfill when ``state`` is None or expired."""
        ...

    def own_addresses(self) -> list[OwnAddress]:
        """The owner's addresses as the provider lists them (Gmail send-as, Graph
        proxyAddresses), primary first, one entry per address (lower case). Empty when the
        provider will not say (scope not granted, 403/404): that is not an error. From then
        on the connector also counts them as the owner's when it reads mail."""
        ...

    def find_draft(self, tag: str) -> ItemState | None: ...

    def create_draft(self, spec: DraftSpec) -> ItemState: ...

    def update_draft(
        self, provider_id: str, spec: DraftSpec, *, expected_hash: str | None = None
    ) -> ItemState:
        """Replace the draft's content; raise Conflict when ``expected_hash`` (the hash of
        what rapportd wrote) is given and the draft now hashes otherwise (the person edited
        it), NotFound when it is gone."""
        ...

    def delete_draft(self, provider_id: str, *, tag: str, expected_hash: str | None = None) -> None:
        """Remove the draft (gone already: fine); Conflict as for update_draft; NotOurs when
        the item does not carry ``tag`` (update_draft checks ``spec.tag`` the same way)."""
        ...

    def draft_state(self, provider_id: str, tag: str) -> ItemState: ...

    def find_hold(self, tag: str) -> ItemState | None: ...

    def create_hold(self, spec: HoldSpec) -> ItemState: ...

    def confirm_hold(self, provider_id: str, *, tag: str) -> ItemState:
        """Mark the hold busy; NotOurs when the event does not carry ``tag``."""
        ...

    def delete_hold(self, provider_id: str, *, tag: str, expected_hash: str | None = None) -> None:
        """Remove the hold (gone already: fine); Conflict when the person moved or renamed
        it; NotOurs when the event does not carry ``tag``."""
        ...

    def hold_state(self, provider_id: str, tag: str) -> ItemState: ...

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]: ...
