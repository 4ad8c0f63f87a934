"""The sandbox's in-memory world: accounts, their mailboxes, OAuth grants, a clock, a log.

Words (used the same way in every sandbox module):

sandbox
    :class:`Sandbox`, the whole world one server serves. Everything in it is guarded by
    ``sandbox.lock`` (an RLock): uvicorn serves requests on several threads, so every
    view (Gmail, Calendar, Graph, control) takes ``with sandbox.lock:`` around reads and
    writes. Methods of :class:`Mailbox` take the lock themselves too (it is re-entrant).
account
    :class:`Account`, one address at one provider (``"google"`` or ``"microsoft"``),
    owned by a person (``owner``, a free label grouping the accounts of one person).
mailbox
    :class:`Mailbox`, an account's data, provider-neutral: messages (raw RFC 822 bytes +
    pre-parsed headers + Gmail labels + a Graph folder), drafts, calendar events and a
    change log. Gmail and Graph are *views* over it.
change log (history)
    every change to a mailbox's mail appends a :class:`HistoryRecord` with the next
    ``history_id`` (Gmail's historyId; Graph delta links can use the same numbers).
    Records older than ``sandbox.history_horizon`` (in sandbox time) are forgotten:
    asking for changes since before the oldest remembered one raises :class:`HistoryGone`.
event sequence
    every change to an event stamps it with the mailbox's next ``event_seq``; a sync token
    is a sequence number; tokens older than the horizon, or expired on purpose
    (``expire_sync_tokens``), raise :class:`HistoryGone` too.
clock
    :class:`Clock` (:class:`rapportd.agent.core.clock.HeldClock`), the sandbox's "now" (used
    for ``newer_than:``, horizons, token expiry, delivered mail). It ticks with real time
    from a start instant and can be advanced by the control API. ``Sandbox(clock=...)``
    shares one clock with the product when both run in one process.
listeners
    ``sandbox.mail_listeners`` are called (under the lock) with every history record as
    it is appended, ``sandbox.event_listeners`` with every event change. Both are empty
    unless a push channel (Gmail watch, Graph subscription: :mod:`push`) is in use; a
    listener only queues work, it never does I/O.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from rapportd.agent.core import clock as process_clock
from rapportd.agent.core.clock import HeldClock
from rapportd.connectors.sandbox.mime import (
    header_date_ms,
    parse_headers,
    parse_message,
    payload_of,
    snippet_of,
)
from rapportd.connectors.sandbox.requestlog import Counters, LogEntry
from rapportd.connectors.sandbox.tokens import AuthCode, Grant, OAuthClient, TokenStore

if TYPE_CHECKING:
    from rapportd.connectors.sandbox.push import PushState

Provider = Literal["google", "microsoft"]
__all__ = [
    "SYSTEM_LABELS",
    "Account",
    "AuthCode",
    "Clock",
    "ConflictError",
    "Counters",
    "Draft",
    "Grant",
    "HistoryGone",
    "HistoryRecord",
    "LogEntry",
    "Mailbox",
    "NotFoundError",
    "OAuthClient",
    "Sandbox",
    "SandboxError",
    "StoredEvent",
    "StoredMessage",
    "TokenStore",
    "normalize_scope",
]

SYSTEM_LABELS = (
    "INBOX",
    "SENT",
    "DRAFT",
    "SPAM",
    "TRASH",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "CHAT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
)
# Graph folder <-> Gmail label, so mail delivered to either provider lands somewhere sensible.
FOLDER_LABEL = {
    "inbox": "INBOX",
    "sentitems": "SENT",
    "drafts": "DRAFT",
    "deleteditems": "TRASH",
    "junkemail": "SPAM",
}
LABEL_FOLDER = {v: k for k, v in FOLDER_LABEL.items()}
DEFAULT_CLIENTS = {
    "google": ("rapportd-sandbox", "sandbox-secret"),
    "microsoft": ("rapportd-sandbox", "sandbox-secret"),
}


GOOGLE_SCOPE_PREFIX = "https://www.googleapis.com/auth/"


def normalize_scope(provider: str, scope: str) -> str:
    """Google scopes in full URL form (``gmail.readonly`` -> ``https://...auth/gmail.readonly``)."""
    if (
        provider != "google"
        or scope.startswith("https://")
        or scope in ("openid", "email", "profile")
    ):
        return scope
    return GOOGLE_SCOPE_PREFIX + scope


# --------------------------------------------------------------------------- errors
class SandboxError(Exception):
    """Base of errors the state raises; views turn them into the provider's error body."""


class NotFoundError(SandboxError, KeyError):
    """No such account / message / draft / event."""

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0]) if self.args else "not found"


class ConflictError(SandboxError):
    """The item exists already (an event id inserted twice)."""


class HistoryGone(SandboxError):
    """A history id / sync token older than what the sandbox remembers (404 / 410)."""


# --------------------------------------------------------------------------- clock
# The sandbox's clock is the product's :class:`~rapportd.agent.core.clock.HeldClock`: a sandbox
# of its own gets a new one (starting at the process clock's now), and a sandbox that runs
# in the product's process (demo, replay, tests) can be handed the process's clock, so that
# the control API's "a day passes" moves the product's time too.
Clock = HeldClock


# --------------------------------------------------------------------------- mail
@dataclass
class StoredMessage:
    """One message: the raw bytes are the truth; headers parsed once; body parsed lazily."""

    id: str
    thread_id: str
    raw: bytes
    headers: list[tuple[str, str]]
    labels: set[str]
    internal_date_ms: int
    folder: str = ""  # Graph folder (inbox, sentitems, drafts, ...); "" for Google accounts
    history_id: int = 0  # the last change that touched it
    extra: dict[str, Any] = field(default_factory=dict)  # provider-specific (Graph props...)
    _snippet: str | None = None
    _payload: dict[str, Any] | None = None

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), decoded, or None."""
        low = name.lower()
        for key, value in self.headers:
            if key.lower() == low:
                return value
        return None

    @property
    def size(self) -> int:
        return len(self.raw)

    @property
    def snippet(self) -> str:
        if self._snippet is None:
            self._snippet = snippet_of(parse_message(self.raw))
        return self._snippet

    @property
    def payload(self) -> dict[str, Any]:
        """The Gmail ``format=full`` payload (computed once)."""
        if self._payload is None:
            self._payload = payload_of(parse_message(self.raw))
        return self._payload


@dataclass
class Draft:
    """A draft: a stable draft id pointing at its current message (a new one per update)."""

    id: str
    message_id: str


@dataclass
class HistoryRecord:
    """One change: kind is messageAdded | messageDeleted | labelAdded | labelRemoved."""

    id: int
    kind: str
    message_id: str
    thread_id: str
    label_ids: list[str]  # the labels added/removed (label kinds), else the message's labels
    at: datetime
    folder: str = ""


# --------------------------------------------------------------------------- calendar
@dataclass
class StoredEvent:
    """A calendar event, provider-neutral. ``status`` confirmed|tentative|cancelled;
    a deleted event stays as a tombstone (``deleted=True``, status cancelled) so deltas
    can report it. ``show_as`` busy|tentative|free (Graph); Calendar's transparency is
    derived from it."""

    id: str
    summary: str
    start: datetime
    end: datetime
    timezone: str = "UTC"
    all_day: bool = False
    organizer: str = ""
    attendees: list[dict[str, str]] = field(default_factory=list)  # email, name, response
    status: str = "confirmed"
    show_as: str = "busy"
    description: str = ""
    series_id: str = ""
    private_props: dict[str, str] = field(default_factory=dict)
    transaction_id: str = ""
    created: datetime | None = None
    updated: datetime | None = None
    seq: int = 0  # the event_seq of its last change
    sequence: int = 0  # iCalendar SEQUENCE, bumped on every update
    deleted: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def etag(self) -> str:
        return f'"{3000000000000000 + self.seq * 1000 + self.sequence}"'


# --------------------------------------------------------------------------- mailbox
class Mailbox:
    """An account's data. Every method takes ``sandbox.lock`` (re-entrant)."""

    def __init__(self, account: Account, sandbox: Sandbox) -> None:
        self.account = account
        self.sandbox = sandbox
        self.lock = sandbox.lock
        self.messages: dict[str, StoredMessage] = {}
        self.threads: dict[str, list[str]] = {}  # thread id -> message ids, oldest first
        self.rfc_ids: dict[str, str] = {}  # Message-ID header -> message id (threading)
        self.drafts: dict[str, Draft] = {}
        self.labels: dict[str, str] = {}  # user label id -> name
        self.history: list[HistoryRecord] = []
        self.history_id = 1000  # Gmail history ids are large; start somewhere plausible
        self.history_floor = self.history_id  # start ids below this are gone
        self.events: dict[str, StoredEvent] = {}
        self.event_seq = 0
        self.sync_epoch = 1  # bumped by expire_sync_tokens(): older tokens answer 410
        self.counters = Counters()
        self.version = 0  # bumps on every mail change (list caches key on it)
        self._sorted: tuple[int, list[StoredMessage]] | None = None
        self._ids: set[str] = set()

    # ---- ids
    def _new_message_id(self, internal_date_ms: int) -> str:
        while True:
            value = f"{internal_date_ms & 0xFFFFFFFFFFF:011x}{self.sandbox.rng.getrandbits(20):05x}"
            if value not in self._ids:
                return value

    def _new_draft_id(self) -> str:
        while True:
            value = f"r{self.sandbox.rng.getrandbits(62)}"
            if value not in self.drafts:
                return value

    def label_id(self, name_or_id: str) -> str | None:
        """Resolve a label given by id or by (case-insensitive) name; None if unknown."""
        if name_or_id.upper() in SYSTEM_LABELS:
            return name_or_id.upper()
        if name_or_id in self.labels:
            return name_or_id
        for lid, name in self.labels.items():
            if name.lower() == name_or_id.lower():
                return lid
        return None

    def ensure_label(self, name: str) -> str:
        """The id of a system label or of a user label called ``name`` (made if missing)."""
        found = self.label_id(name)
        if found:
            return found
        lid = f"Label_{len(self.labels) + 1}"
        self.labels[lid] = name
        return lid

    # ---- history
    def _record(
        self, kind: str, msg: StoredMessage, label_ids: Iterable[str] | None = None
    ) -> None:
        self.history_id += 1
        msg.history_id = self.history_id
        labels = sorted(label_ids) if label_ids is not None else sorted(msg.labels)
        record = HistoryRecord(
            self.history_id, kind, msg.id, msg.thread_id, labels, self.sandbox.now(), msg.folder
        )
        self.history.append(record)
        self.version += 1
        for listener in self.sandbox.mail_listeners:
            listener(self, record, msg)

    def prune_history(self) -> None:
        """Forget records older than the horizon (in sandbox time)."""
        cutoff = self.sandbox.now() - self.sandbox.history_horizon
        drop = 0
        while drop < len(self.history) and self.history[drop].at < cutoff:
            drop += 1
        if drop:
            self.history_floor = max(self.history_floor, self.history[drop - 1].id)
            del self.history[:drop]

    def changes_since(self, start_id: int) -> list[HistoryRecord]:
        """Records with id > ``start_id``; raises HistoryGone if ``start_id`` is too old."""
        with self.lock:
            self.prune_history()
            if start_id < self.history_floor:
                raise HistoryGone(f"history id {start_id} is older than {self.history_floor}")
            # records are in id order: binary search would do, a scan from the end is enough
            i = len(self.history)
            while i > 0 and self.history[i - 1].id > start_id:
                i -= 1
            return self.history[i:]

    def forget_history(self) -> None:
        """Make every history id handed out so far stale (the next history.list gets 404)."""
        with self.lock:
            self.history_id += 1
            self.history_floor = self.history_id
            self.history.clear()

    # ---- messages
    def add_message(
        self,
        raw: bytes,
        *,
        labels: Iterable[str] | None = None,
        folder: str | None = None,
        internal_date_ms: int | None = None,
        id: str | None = None,
        thread_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> StoredMessage:
        """Store a message (labels by name or id; Graph ``folder``); records messageAdded.

        Defaults: Google accounts get ``INBOX`` (``SENT`` if the sender is the account or
        an alias), Microsoft accounts the ``inbox`` folder. ``internalDate`` defaults to the
        ``Date:`` header, else the sandbox's now. The thread is found by
        ``In-Reply-To``/``References`` unless ``thread_id`` is given.
        """
        with self.lock:
            headers = parse_headers(raw)
            msg = StoredMessage("", "", raw, headers, set(), 0)
            if internal_date_ms is None:
                internal_date_ms = header_date_ms(msg.header("Date")) or self.sandbox.clock.now_ms()
            msg.internal_date_ms = internal_date_ms
            if id is not None and id in self._ids:
                raise ConflictError(f"message id {id} exists")
            msg.id = id or self._new_message_id(internal_date_ms)
            msg.extra = extra or {}
            self._place(msg, labels, folder)
            msg.thread_id = self._thread_for(msg, thread_id)
            self.messages[msg.id] = msg
            self._ids.add(msg.id)
            self.threads.setdefault(msg.thread_id, []).append(msg.id)
            rfc = msg.header("Message-ID")
            if rfc:
                self.rfc_ids.setdefault(rfc.strip(), msg.id)
            self._record("messageAdded", msg)
            return msg

    def _place(self, msg: StoredMessage, labels: Iterable[str] | None, folder: str | None) -> None:
        if labels is not None:
            msg.labels = {self.ensure_label(x) for x in labels}
        elif folder is not None:
            msg.labels = {FOLDER_LABEL.get(folder, "INBOX")}
        else:
            sender = (msg.header("From") or "").lower()
            mine = [self.account.address, *self.account.aliases]
            msg.labels = {"SENT"} if any(a and a.lower() in sender for a in mine) else {"INBOX"}
        if folder is None:
            folder = next(
                (
                    LABEL_FOLDER[x]
                    for x in ("DRAFT", "SENT", "TRASH", "SPAM", "INBOX")
                    if x in msg.labels
                ),
                "archive",
            )
        msg.folder = folder

    def _thread_for(self, msg: StoredMessage, thread_id: str | None) -> str:
        if thread_id:
            return thread_id
        refs = (msg.header("In-Reply-To") or "").split() + (msg.header("References") or "").split()
        for ref in reversed(refs):
            parent = self.rfc_ids.get(ref.strip())
            if parent and parent in self.messages:
                return self.messages[parent].thread_id
        return msg.id

    def get_message(self, message_id: str) -> StoredMessage:
        with self.lock:
            msg = self.messages.get(message_id)
            if msg is None:
                raise NotFoundError(f"message {message_id} not found")
            return msg

    def delete_message(self, message_id: str) -> None:
        """Delete for good (messageDeleted)."""
        with self.lock:
            msg = self.get_message(message_id)
            del self.messages[message_id]
            ids = self.threads.get(msg.thread_id, [])
            if message_id in ids:
                ids.remove(message_id)
            if not ids:
                self.threads.pop(msg.thread_id, None)
            self._record("messageDeleted", msg)

    def modify_labels(
        self, message_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> StoredMessage:
        """Add/remove labels (by name or id); records labelAdded / labelRemoved."""
        with self.lock:
            msg = self.get_message(message_id)
            added = {self.ensure_label(x) for x in add} - msg.labels
            removed = {lid for x in remove if (lid := self.label_id(x))} & msg.labels
            msg.labels |= added
            msg.labels -= removed
            if removed:
                self._record("labelRemoved", msg, removed)
            if added:
                self._record("labelAdded", msg, added)
            return msg

    def move_message(self, message_id: str, folder: str) -> StoredMessage:
        """Move to a Graph folder; the matching Gmail label follows."""
        with self.lock:
            msg = self.get_message(message_id)
            old = FOLDER_LABEL.get(msg.folder)
            new = FOLDER_LABEL.get(folder)
            msg.folder = folder
            self.modify_labels(
                message_id, [new] if new else [], [old] if old and old != new else []
            )
            self.version += 1
            return msg

    def sorted_messages(self) -> list[StoredMessage]:
        """All messages, newest first (by internalDate, then id); cached until a change."""
        with self.lock:
            if self._sorted is None or self._sorted[0] != self.version:
                ordered = sorted(
                    self.messages.values(), key=lambda m: (m.internal_date_ms, m.id), reverse=True
                )
                self._sorted = (self.version, ordered)
            return self._sorted[1]

    def thread_messages(self, thread_id: str) -> list[StoredMessage]:
        with self.lock:
            ids = self.threads.get(thread_id)
            if not ids:
                raise NotFoundError(f"thread {thread_id} not found")
            return sorted((self.messages[i] for i in ids), key=lambda m: m.internal_date_ms)

    # ---- drafts (the person's side and the API's side)
    def create_draft(
        self, raw: bytes, *, thread_id: str | None = None, extra: dict[str, Any] | None = None
    ) -> Draft:
        with self.lock:
            msg = self.add_message(
                raw,
                labels=["DRAFT"],
                folder="drafts",
                thread_id=thread_id,
                internal_date_ms=self.sandbox.clock.now_ms(),
                extra=extra,
            )
            draft = Draft(self._new_draft_id(), msg.id)
            self.drafts[draft.id] = draft
            return draft

    def get_draft(self, draft_id: str) -> Draft:
        with self.lock:
            draft = self.drafts.get(draft_id)
            if draft is None:
                raise NotFoundError(f"draft {draft_id} not found")
            return draft

    def update_draft(
        self,
        draft_id: str,
        raw: bytes,
        *,
        thread_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Draft:
        """Replace the draft's message: same draft id, a new message id (as Gmail does)."""
        with self.lock:
            draft = self.get_draft(draft_id)
            old = self.messages[draft.message_id]
            self.delete_message(old.id)
            msg = self.add_message(
                raw,
                labels=["DRAFT"],
                folder="drafts",
                thread_id=thread_id or old.thread_id,
                internal_date_ms=self.sandbox.clock.now_ms(),
                extra={**old.extra, **(extra or {})},
            )
            draft.message_id = msg.id
            return draft

    def delete_draft(self, draft_id: str) -> None:
        with self.lock:
            draft = self.get_draft(draft_id)
            del self.drafts[draft_id]
            if draft.message_id in self.messages:
                self.delete_message(draft.message_id)

    def send_draft(self, draft_id: str) -> StoredMessage:
        """The person presses Send: the draft leaves ``drafts``, its message (same id) gets
        ``SENT`` instead of ``DRAFT`` and moves to ``sentitems``, dated now."""
        with self.lock:
            draft = self.get_draft(draft_id)
            del self.drafts[draft_id]
            msg = self.messages[draft.message_id]
            now = self.sandbox.now()
            msg.raw = _with_date(msg.raw, now)
            msg.headers = parse_headers(msg.raw)
            msg.internal_date_ms = int(now.timestamp() * 1000)
            msg._payload = None
            msg.folder = "sentitems"
            self.modify_labels(msg.id, ["SENT"], ["DRAFT"])
            return msg

    # ---- events
    def _stamp(self, event: StoredEvent, change: str = "updated") -> None:
        """Give ``event`` the next sequence number; ``change`` (created / updated /
        deleted) is what the event listeners are told."""
        self.event_seq += 1
        event.seq = self.event_seq
        event.updated = self.sandbox.now()
        for listener in self.sandbox.event_listeners:
            listener(self, change, event)

    def insert_event(self, event: StoredEvent) -> StoredEvent:
        """Add an event; ConflictError if its id was ever used in this calendar."""
        with self.lock:
            if event.id in self.events:
                raise ConflictError(f"event id {event.id} already exists")
            event.created = event.created or self.sandbox.now()
            self._stamp(event, "created")
            self.events[event.id] = event
            return event

    def get_event(self, event_id: str, *, include_deleted: bool = False) -> StoredEvent:
        with self.lock:
            event = self.events.get(event_id)
            if event is None or (event.deleted and not include_deleted):
                raise NotFoundError(f"event {event_id} not found")
            return event

    def update_event(self, event_id: str, **changes: Any) -> StoredEvent:
        """Change fields of an event (StoredEvent attribute names); bumps seq and sequence."""
        with self.lock:
            event = self.get_event(event_id)
            for key, value in changes.items():
                if not hasattr(event, key):
                    raise AttributeError(f"StoredEvent has no field {key}")
                setattr(event, key, value)
            event.sequence += 1
            self._stamp(event)
            return event

    def delete_event(self, event_id: str) -> StoredEvent:
        """Delete: the event stays as a cancelled tombstone for deltas."""
        with self.lock:
            event = self.get_event(event_id)
            event.deleted = True
            event.status = "cancelled"
            self._stamp(event, "deleted")
            return event

    def events_changed_since(self, seq: int, epoch: int) -> list[StoredEvent]:
        """Events (tombstones included) changed after ``seq``; HistoryGone if the token's
        ``epoch`` is not the current one (tokens were expired)."""
        with self.lock:
            if epoch != self.sync_epoch:
                raise HistoryGone("sync token expired")
            return sorted((e for e in self.events.values() if e.seq > seq), key=lambda e: e.seq)

    def expire_sync_tokens(self) -> None:
        with self.lock:
            self.sync_epoch += 1


def _with_date(raw: bytes, when: datetime) -> bytes:
    """``raw`` with its Date header set to ``when`` (added if missing)."""
    from email.utils import format_datetime

    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    nl = b"\r\n" if sep == b"\r\n\r\n" else b"\n"
    lines = [ln for ln in head.split(nl) if not ln.lower().startswith(b"date:")]
    lines.append(b"Date: " + format_datetime(when).encode())
    return nl.join(lines) + (sep or nl + nl) + body


MailListener = Callable[["Mailbox", HistoryRecord, StoredMessage], None]
EventListener = Callable[["Mailbox", str, StoredEvent], None]


# --------------------------------------------------------------------------- accounts
@dataclass
class Account:
    provider: Provider
    address: str
    display_name: str = ""
    timezone: str = "UTC"
    owner: str = ""
    aliases: list[str] = field(default_factory=list)
    # Send-as addresses added but not verified yet (Gmail ``verificationStatus: pending``):
    # listed by sendAs.list, not the owner's mail yet, absent from Graph's proxyAddresses.
    pending_aliases: list[str] = field(default_factory=list)
    mailbox: Mailbox = field(init=False, repr=False)


class Sandbox:
    """The whole world one sandbox server serves. See the module docstring for the words.

    ``loose_tag_filters``: answer the tag filters rapportd finds its own items with
    (Gmail ``drafts.list q=``, Graph ``singleValueExtendedProperties/Any(...)``, Calendar
    ``privateExtendedProperty``) as if they matched everything, as a provider that ignores
    or half-supports a filter would; rapportd must then check the tag on each item itself.

    ``missing_endpoints``: method ids (``gmail.users.getProfile``) or ``batch`` that answer
    404 Not Found, as a server without them would; ``calendar.nextSyncToken``: event lists
    end without a sync token.

    ``faults`` (:class:`rapportd.connectors.sandbox.faults.FaultPlan`) and ``quota``
    (:class:`rapportd.connectors.sandbox.quota.QuotaMeter`) live here too. ``clock``: a
    :class:`~rapportd.agent.core.clock.HeldClock` to share (the product's, in one process);
    without it the sandbox gets a clock of its own at ``now`` (default: the process clock's
    now), ticking or not.
    """

    def __init__(
        self,
        *,
        now: datetime | None = None,
        ticking: bool = True,
        seed: int = 0,
        history_horizon_hours: float = 168,
        clock: HeldClock | None = None,
        loose_tag_filters: bool = False,
    ) -> None:
        from rapportd.connectors.sandbox.faults import FaultPlan
        from rapportd.connectors.sandbox.quota import QuotaMeter

        self.lock = threading.RLock()
        # a shared clock keeps its own instant and ticking (``now``/``ticking`` are for a
        # clock of the sandbox's own)
        self.clock = (
            clock if clock is not None else HeldClock(now or process_clock.now(), ticking=ticking)
        )
        self.rng = random.Random(seed)
        self.loose_tag_filters = loose_tag_filters
        # endpoints this server does not offer (404), as some Google-compatible servers and
        # proxies lack ``gmail.users.getProfile`` or the ``batch`` endpoint
        self.missing_endpoints: set[str] = set()
        self.accounts: dict[str, Account] = {}
        self.clients: dict[tuple[str, str], OAuthClient] = {}
        self.tokens = TokenStore()
        self.faults = FaultPlan(seed=seed)
        self.quota = QuotaMeter()
        self.log: list[LogEntry] = []
        self.history_horizon = timedelta(hours=history_horizon_hours)
        self.mail_listeners: list[MailListener] = []
        self.event_listeners: list[EventListener] = []
        self.push_state: PushState | None = None  # made by push.push_state() on first use
        for provider, (cid, secret) in DEFAULT_CLIENTS.items():
            self.add_client(provider, cid, secret)  # type: ignore[arg-type]

    def now(self) -> datetime:
        return self.clock.now()

    def add_account(
        self,
        provider: Provider,
        address: str,
        *,
        display_name: str = "",
        timezone: str = "UTC",
        owner: str = "",
        aliases: Iterable[str] = (),
        pending_aliases: Iterable[str] = (),
    ) -> Account:
        with self.lock:
            key = address.strip().lower()
            if key in self.accounts:
                raise ConflictError(f"account {address} exists")
            account = Account(
                provider,
                key,
                display_name,
                timezone,
                owner or key.split("@")[0],
                [a.lower() for a in aliases],
                [a.lower() for a in pending_aliases],
            )
            account.mailbox = Mailbox(account, self)
            self.accounts[key] = account
            return account

    def account(self, address: str) -> Account:
        account = self.accounts.get(address.strip().lower())
        if account is None:
            raise NotFoundError(f"no sandbox account {address}")
        return account

    def mailbox(self, address: str) -> Mailbox:
        return self.account(address).mailbox

    def add_client(self, provider: Provider, client_id: str, client_secret: str) -> OAuthClient:
        client = OAuthClient(provider, client_id, client_secret)
        self.clients[(provider, client_id)] = client
        return client

    def client(self, provider: str, client_id: str) -> OAuthClient | None:
        return self.clients.get((provider, client_id))

    def issue_tokens(
        self,
        address: str,
        scopes: Iterable[str],
        *,
        client_id: str = "rapportd-sandbox",
        lifetime: int = 3600,
    ) -> tuple[str, str]:
        """Mint an (access, refresh) token pair for ``address`` without the OAuth dance."""
        with self.lock:
            account = self.account(address)
            grant = Grant(
                account.address,
                account.provider,
                client_id,
                tuple(normalize_scope(account.provider, s) for s in scopes),
            )
            return self.tokens.issue(grant, now=self.now(), lifetime=lifetime)

    def flush_deliveries(self, timeout: float = 10) -> None:
        """Wait until every queued push (Pub/Sub push, Graph notification) was attempted;
        TimeoutError after ``timeout`` seconds. Returns at once when nothing was queued."""
        if self.push_state is not None:
            self.push_state.deliverer.flush(timeout)

    def record(self, entry: LogEntry) -> None:
        """Append to the request log and count it on the account's mailbox."""
        with self.lock:
            self.log.append(entry)
            account = self.accounts.get(entry.account)
            if account is not None:
                account.mailbox.counters.count(entry.endpoint, entry.status, entry.units)
