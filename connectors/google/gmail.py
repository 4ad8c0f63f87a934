"""Gmail: backfill + history deltas into MessageRecords, and tagged drafts.

Backfill position (``CursorState.page_token``) is ``"<part>|<list page token>|<offset>"``:
``part`` is ``recent`` (the newest ``recent_days``, synced first: the owner's first
suggestions need only them), ``rtext`` (the rest of the newest ``text_days``, fetched raw
for their text) or ``rmeta`` (the rest of the ``backfill_days`` window, headers only) —
``text``/``meta`` without a recent window; ``offset`` is how far into that
list page the stored batches got, so a crash re-fetches at most one batch. The historyId
read from getProfile BEFORE the backfill (or, without getProfile, from the newest message)
rides in ``CursorState.cursor``; deltas start there.

A message labelled TRASH, SPAM or DRAFT is not part of the store (it is reported deleted),
which is also what a full re-sync (messages.list without spam/trash) converges to.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from rapportd.agent.core import clock
from rapportd.agent.core.errors import (
    BadData,
    CursorExpired,
    NotFound,
    PermanentError,
    ProviderError,
    RetryLater,
)
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.records import (
    CursorState,
    DraftSpec,
    ItemState,
    MessageRecord,
    Skipped,
    SyncBatch,
    draft_hash,
)
from rapportd.agent.core.settings import Settings
from rapportd.connectors import mime
from rapportd.connectors.composite import refuse_if_changed, refuse_if_not_ours
from rapportd.connectors.google.client import GMAIL_UNITS, GoogleApi

log = get_logger(__name__)

STREAM = "gmail"
HIDDEN_LABELS = {"TRASH", "SPAM", "DRAFT"}
HISTORY_TYPES = ["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"]
LIST_PAGE = 500
GMAIL_WEB = "https://mail.google.com/mail/u/?authuser="


def draft_message_id(tag: str, address: str) -> str:
    """The Message-ID rapportd gives a draft: derived from its tag, so it can be found."""
    digest = hashlib.sha256(tag.encode()).hexdigest()[:32]
    return f"<rapportd.{digest}@{address.rpartition('@')[2] or 'rapportd.invalid'}>"


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Gmail:
    def __init__(self, api: GoogleApi, settings: Settings, address: str, aliases: Sequence[str]):
        self.api, self.settings = api, settings
        self.address = address.lower()
        self.owner_addresses = {self.address, *(a.lower() for a in aliases)}
        self._local = threading.local()

    @property
    def _users(self) -> Any:
        return self._resource("")

    def _resource(self, name: str) -> Any:
        """``users()`` or ``users().<name>()`` of this thread's Gmail service, built once:
        googleapiclient builds every method of a resource each time it is asked for one,
        which cost seconds per write when a draft search touched hundreds of drafts."""
        service = self.api.gmail
        cache = getattr(self._local, "resources", None)
        if cache is None or cache[0] is not service:
            cache = (service, {})
            self._local.resources = cache
        found: dict[str, Any] = cache[1]
        if name not in found:
            users = found.get("") or service.users()
            found[""] = users
            found[name] = getattr(users, name)() if name else users
        return found[name]

    # ------------------------------------------------------------------ converting
    def to_record(self, m: dict[str, Any], *, want_text: bool) -> MessageRecord:
        labels = list(m.get("labelIds") or [])
        internal = str(m.get("internalDate") or "")
        fallback = datetime.fromtimestamp(int(internal) / 1000, UTC) if internal.isdigit() else None
        sent = "SENT" in labels
        arrived = "INBOX" in labels and not sent
        folder = "sent" if sent else ("inbox" if "INBOX" in labels else "")
        if m.get("raw"):
            raw = _b64decode(m["raw"])
            cutoff = clock.now() - timedelta(days=self.settings.sync.text_days)
            rec = mime.record_from_raw(
                m["id"],
                raw,
                thread_id=m.get("threadId", ""),
                labels=labels,
                folder=folder,
                owner_addresses=self.owner_addresses,
                want_text=want_text,
                max_chars=self.settings.sync.max_text_chars,
                fallback_date=fallback,
                sent_marker=sent,
                filed_received=arrived,
            )
            if rec.has_text and rec.sent_at is not None and rec.sent_at < cutoff:
                rec.new_text, rec.has_text, rec.text_truncated = "", False, False
            return rec
        payload = m.get("payload") or {}
        rec = MessageRecord(provider_id=m["id"], thread_id=m.get("threadId", ""))
        rec.labels, rec.folder = labels, folder
        rec.size_bytes = int(m.get("sizeEstimate") or 0)
        rec.has_attachments = payload.get("mimeType", "") == "multipart/mixed"
        headers = [(h.get("name", ""), h.get("value", "")) for h in payload.get("headers") or []]
        mime.apply_headers(rec, headers)
        return mime.finish_record(
            rec,
            self.owner_addresses,
            fallback_date=fallback,
            sent_marker=sent,
            filed_received=arrived,
        )

    def _get(self, mid: str, fmt: str) -> Any:
        kwargs: dict[str, Any] = {"userId": "me", "id": mid, "format": fmt}
        if fmt == "metadata":
            kwargs["metadataHeaders"] = list(mime.WANTED_HEADERS)
        return lambda: self._resource("messages").get(**kwargs)

    def fetch(self, ids: Sequence[str], fmt: str, batch: SyncBatch) -> None:
        """Fetch ``ids`` into ``batch`` (messages, deleted, skipped)."""
        if not ids:
            return
        answers = self.api.batch(
            [(mid, self._get(mid, fmt)) for mid in ids],
            units_each=GMAIL_UNITS["messages.get"],
            what="messages.get",
        )
        for mid in ids:
            value = answers.get(mid)
            if isinstance(value, NotFound):
                batch.deleted.append(mid)
            elif isinstance(value, RetryLater):
                # still failing after the client's retries: stop before the cursor moves on
                # (skipping would lose the message for good; tests/reliability found it)
                raise value
            elif isinstance(value, Exception):
                batch.skipped.append(Skipped(mid, f"{type(value).__name__}: {value}"[:300]))
            elif isinstance(value, dict):
                if HIDDEN_LABELS & set(value.get("labelIds") or []):
                    batch.deleted.append(mid)
                    continue
                try:
                    batch.messages.append(self.to_record(value, want_text=fmt == "raw"))
                except (BadData, ValueError, KeyError, TypeError) as exc:
                    batch.skipped.append(Skipped(mid, f"unreadable: {exc}"[:300]))

    # ------------------------------------------------------------------ sync
    def sync(self, state: CursorState | None) -> Iterator[SyncBatch]:
        resync = False
        while True:
            try:
                if state is None or state.phase == "backfill":
                    for batch in self._backfill(state, resync=resync):
                        state = batch.cursor
                        yield batch
                assert state is not None and state.cursor is not None
                yield from self._delta(state)
                return
            except CursorExpired:
                state, resync = None, True

    def _parts(self, *, legacy: bool = False) -> list[tuple[str, str]]:
        """The backfill's parts, newest first: ``(name, query)``; ``text``/``recent``/``rtext``
        are fetched raw (their text is kept), ``meta``/``rmeta`` as headers only.

        With a recent window (``sync.recent_days``) its part comes first and the later parts
        leave it out (``older_than:``; Gmail counts both from now, so the parts overlap by
        the time between them and never leave a gap). ``legacy``: the parts of a backfill
        begun by a version without the window (``text``/``meta`` positions), kept so that
        its page token goes on with the query it belongs to."""
        sync = self.settings.sync
        recent = 0 if legacy else sync.recent_window_days
        if not recent:
            if sync.text_days <= 0:
                return [("meta", f"newer_than:{sync.backfill_days}d")]
            if sync.text_days >= sync.backfill_days:
                return [("text", f"newer_than:{sync.backfill_days}d")]
            return [
                ("text", f"newer_than:{sync.text_days}d"),
                ("meta", f"older_than:{sync.text_days}d newer_than:{sync.backfill_days}d"),
            ]
        parts = [("recent", f"newer_than:{recent}d")]
        upper = min(sync.text_days, sync.backfill_days)
        if upper > recent:
            parts.append(("rtext", f"older_than:{recent}d newer_than:{upper}d"))
        if upper < sync.backfill_days:
            parts.append(
                ("rmeta", f"older_than:{max(upper, recent)}d newer_than:{sync.backfill_days}d")
            )
        return parts

    def _backfill(self, state: CursorState | None, *, resync: bool) -> Iterator[SyncBatch]:
        parts = self._parts()
        requests0, units0 = self.api.requests, self.api.units
        if state is None or state.cursor is None:
            history_id = self._start_history_id()
            part, token, offset = parts[0][0], "", 0
        else:
            history_id = state.cursor
            part, token, offset_s = (state.page_token or f"{parts[0][0]}||0").split("|")
            offset = int(offset_s or 0)
            if part in ("text", "meta"):
                parts = self._parts(legacy=True)
        first = True
        names = [p for p, _ in parts]
        if part in names:
            index = names.index(part)
        elif part == "done":
            index = len(parts)
        else:  # a part of other settings: its page token means nothing here
            index, token, offset = 0, "", 0
        while index < len(parts):
            part, query = parts[index]
            page = self.api.call(
                lambda q=query, t=token: self._resource("messages").list(
                    userId="me", q=q, maxResults=LIST_PAGE, pageToken=t or None
                ),
                units=GMAIL_UNITS["messages.list"],
                what="messages.list",
            )
            ids = [m["id"] for m in page.get("messages") or []]
            next_token = page.get("nextPageToken") or ""
            size = self.settings.sync.gmail_batch_size
            starts = list(range(offset, len(ids), size)) or [len(ids)]
            for start in starts:
                chunk = ids[start : start + size]
                batch = SyncBatch(STREAM, resync=resync and first)
                first = False
                self.fetch(chunk, "metadata" if part in ("meta", "rmeta") else "raw", batch)
                end = start + len(chunk)
                if end < len(ids):
                    position = f"{part}|{token}|{end}"
                elif next_token:
                    position = f"{part}|{next_token}|0"
                elif index + 1 < len(parts):
                    position = f"{parts[index + 1][0]}||0"
                else:
                    position = "done||0"
                batch.recent_complete = part == "recent" and not position.startswith("recent|")
                batch.cursor = CursorState("backfill", history_id, position)
                batch.requests += self.api.requests - requests0
                batch.quota_units += self.api.units - units0
                requests0, units0 = self.api.requests, self.api.units
                yield batch
            offset = 0
            if next_token:
                token = next_token
            else:
                index, token = index + 1, ""
        yield self._reconcile(history_id)

    def _start_history_id(self) -> str:
        """Where deltas will start, read BEFORE the backfill: the mailbox's historyId from
        users.getProfile, or, on a server without that method, the historyId of the
        newest message (Google's sync guide: a full sync stores the newest message's)."""
        try:
            profile = self.api.call(
                lambda: self._users.getProfile(userId="me"),
                units=GMAIL_UNITS["getProfile"],
                what="getProfile",
            )
            return str(profile["historyId"])
        except (NotFound, PermanentError) as exc:
            log.info("gmail.no_profile", error=str(exc))
        page = self.api.call(
            lambda: self._resource("messages").list(userId="me", maxResults=1),
            units=GMAIL_UNITS["messages.list"],
            what="messages.list",
        )
        newest = [m["id"] for m in page.get("messages") or []]
        if not newest:
            raise RetryLater("gmail: no getProfile and no message to take a history id from")
        message = self.api.call(
            lambda: self._resource("messages").get(userId="me", id=newest[0], format="minimal"),
            units=GMAIL_UNITS["messages.get"],
            what="messages.get",
        )
        return str(message["historyId"])

    def _reconcile(self, history_id: str) -> SyncBatch:
        """List every message id (cheap: 5 units per 500) to find what the store still has
        but Gmail does not; the batch moves the stream to the delta phase.

        The messages older than the sync window are listed too and recorded as skipped with
        that reason: none is left out without a record (found on real mail: messages dated
        1979 fell outside the window and vanished)."""
        requests0, units0 = self.api.requests, self.api.units
        present = self._list_ids(None)
        days = self.settings.sync.backfill_days
        reason = f"older than the sync window (backfill_days={days}): not synced"
        old = [Skipped(mid, reason) for mid in self._list_ids(f"older_than:{days}d")]
        return SyncBatch(
            STREAM,
            cursor=CursorState("delta", history_id),
            present_ids=present,
            provider_total=len(present),
            skipped=old,
            requests=self.api.requests - requests0,
            quota_units=self.api.units - units0,
        )

    def _list_ids(self, query: str | None) -> list[str]:
        """Every message id matching ``query`` (all when None), page by page."""
        ids: list[str] = []
        token = ""
        while True:
            page = self.api.call(
                lambda t=token: self._resource("messages").list(
                    userId="me", q=query, maxResults=LIST_PAGE, pageToken=t or None
                ),
                units=GMAIL_UNITS["messages.list"],
                what="messages.list",
            )
            ids.extend(m["id"] for m in page.get("messages") or [])
            token = page.get("nextPageToken") or ""
            if not token:
                return ids

    def _delta(self, state: CursorState) -> Iterator[SyncBatch]:
        start = str(state.cursor)
        while True:
            requests0, units0 = self.api.requests, self.api.units
            try:
                page = self.api.call(
                    lambda s=start: self._resource("history").list(
                        userId="me", startHistoryId=s, historyTypes=HISTORY_TYPES, maxResults=500
                    ),
                    units=GMAIL_UNITS["history.list"],
                    what="history.list",
                )
            except NotFound as exc:
                raise CursorExpired(f"gmail history {start} is gone", status=404) from exc
            records = page.get("history") or []
            touched: dict[str, str] = {}  # id -> added | labels | deleted
            for h in records:
                for item in h.get("messagesAdded") or []:
                    mid = item["message"]["id"]
                    if touched.get(mid) != "deleted":
                        touched[mid] = "added"
                for item in h.get("messagesDeleted") or []:
                    touched[item["message"]["id"]] = "deleted"
                for key in ("labelsAdded", "labelsRemoved"):
                    for item in h.get(key) or []:
                        touched.setdefault(item["message"]["id"], "labels")
            batch = SyncBatch(STREAM)
            batch.deleted.extend(m for m, kind in touched.items() if kind == "deleted")
            self.fetch([m for m, k in touched.items() if k == "added"], "raw", batch)
            self.fetch([m for m, k in touched.items() if k == "labels"], "metadata", batch)
            more = bool(page.get("nextPageToken")) and bool(records)
            if more:
                start = str(records[-1]["id"])
                batch.cursor = CursorState("delta", start)
            else:
                batch.cursor = CursorState("delta", str(page.get("historyId") or start))
                batch.complete = True
            batch.requests += self.api.requests - requests0
            batch.quota_units += self.api.units - units0
            yield batch
            if not more:
                return

    # ------------------------------------------------------------------ drafts
    def draft_link(self, draft: dict[str, Any]) -> str:
        """The draft open in Gmail's composer (Gmail has no webLink: its message id)."""
        message_id = (draft.get("message") or {}).get("id", "")
        if not message_id:
            return ""
        return f"{GMAIL_WEB}{quote(self.address)}#drafts?compose={quote(message_id, safe='')}"

    def _draft_state(self, draft: dict[str, Any]) -> ItemState:
        message = draft.get("message") or {}
        to, subject, body, tag = mime.draft_text(_b64decode(message.get("raw", "")))
        return ItemState(
            provider_id=draft["id"],
            content_hash=draft_hash(DraftSpec("", to, subject, body)),
            thread_id=message.get("threadId", ""),
            status="draft",
            web_link=self.draft_link(draft),
            tag=tag,
        )

    def _get_draft(self, draft_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.api.call(
            lambda: self._resource("drafts").get(userId="me", id=draft_id, format="raw"),
            units=GMAIL_UNITS["drafts.get"],
            what="drafts.get",
        )
        return result

    def find_draft(self, tag: str) -> ItemState | None:
        """Look for a draft carrying rapportd's header (drafts carry no idempotency key).

        The search is narrowed to the Message-ID rapportd gives the tag's drafts
        (:func:`draft_message_id`; drafts.list takes Gmail's search syntax): going through
        every draft made each write cost one drafts.get per draft in the mailbox. The tag
        is still checked on each draft found."""
        draft_ids: list[str] = []
        token = ""
        query = f"rfc822msgid:{draft_message_id(tag, self.address)}"
        while True:
            page = self.api.call(
                lambda t=token: self._resource("drafts").list(
                    userId="me", q=query, maxResults=500, pageToken=t or None
                ),
                units=GMAIL_UNITS["drafts.list"],
                what="drafts.list",
            )
            draft_ids.extend(d["id"] for d in page.get("drafts") or [])
            token = page.get("nextPageToken") or ""
            if not token:
                break
        answers = self.api.batch(
            [
                (
                    d,
                    lambda d=d: self._resource("drafts").get(userId="me", id=d, format="metadata"),
                )
                for d in draft_ids
            ],
            units_each=GMAIL_UNITS["drafts.get"],
            what="drafts.get",
        )
        for draft_id in draft_ids:
            value = answers.get(draft_id)
            if isinstance(value, NotFound):
                continue
            if isinstance(value, Exception):
                raise value
            headers = (value.get("message") or {}).get("payload", {}).get("headers") or []
            for h in headers:
                if h.get("name", "").lower() == mime.TAG_HEADER.lower() and h.get("value") == tag:
                    state = self._draft_state(self._get_draft(draft_id))
                    if state.tag == tag:  # the raw message itself, not only its metadata
                        return state
        return None

    def _reply_context(self, spec: DraftSpec) -> DraftSpec:
        if not spec.reply_to_provider_id or (spec.thread_id and spec.in_reply_to):
            return spec
        original = self.api.call(
            lambda: self._resource("messages").get(
                userId="me",
                id=spec.reply_to_provider_id,
                format="metadata",
                metadataHeaders=["Message-ID", "References", "Subject"],
            ),
            units=GMAIL_UNITS["messages.get"],
            what="messages.get",
        )
        rec = mime.apply_headers(
            MessageRecord(provider_id=original["id"]),
            [(h["name"], h["value"]) for h in original.get("payload", {}).get("headers", [])],
        )
        spec.thread_id = spec.thread_id or original.get("threadId", "")
        spec.in_reply_to = spec.in_reply_to or rec.rfc822_id
        spec.references = spec.references or [*rec.references]
        return spec

    def _message_body(self, spec: DraftSpec) -> dict[str, Any]:
        raw = mime.draft_mime(
            spec, self.address, message_id=draft_message_id(spec.tag, self.address)
        )
        message: dict[str, Any] = {"raw": base64.urlsafe_b64encode(raw).decode()}
        if spec.thread_id:
            message["threadId"] = spec.thread_id
        return {"message": message}

    def create_draft(self, spec: DraftSpec) -> ItemState:
        existing = self.find_draft(spec.tag)
        if existing is not None:
            return existing
        spec = self._reply_context(spec)
        body = self._message_body(spec)
        draft = self.api.call(
            lambda: self._resource("drafts").create(userId="me", body=body),
            units=GMAIL_UNITS["drafts.create"],
            write=True,
            what="drafts.create",
        )
        return ItemState(
            provider_id=draft["id"],
            content_hash=draft_hash(spec),
            thread_id=(draft.get("message") or {}).get("threadId", spec.thread_id),
            status="draft",
            web_link=self.draft_link(draft),
            tag=spec.tag,
        )

    def update_draft(
        self, provider_id: str, spec: DraftSpec, *, expected_hash: str | None = None
    ) -> ItemState:
        current = self._draft_state(self._get_draft(provider_id))
        refuse_if_not_ours("draft", provider_id, current, spec.tag)
        refuse_if_changed("draft", provider_id, current, expected_hash)
        spec = self._reply_context(spec)
        body = self._message_body(spec)
        body["id"] = provider_id
        draft = self.api.call(
            lambda: self._resource("drafts").update(userId="me", id=provider_id, body=body),
            units=GMAIL_UNITS["drafts.update"],
            write=True,
            what="drafts.update",
        )
        return ItemState(
            provider_id=draft["id"],
            content_hash=draft_hash(spec),
            thread_id=(draft.get("message") or {}).get("threadId", spec.thread_id),
            status="draft",
            web_link=self.draft_link(draft),
            tag=spec.tag,
        )

    def delete_draft(self, provider_id: str, *, tag: str, expected_hash: str | None = None) -> None:
        try:
            current = self._draft_state(self._get_draft(provider_id))
        except NotFound:
            return
        refuse_if_not_ours("draft", provider_id, current, tag)
        refuse_if_changed("draft", provider_id, current, expected_hash)
        try:
            self.api.call(
                lambda: self._resource("drafts").delete(userId="me", id=provider_id),
                units=GMAIL_UNITS["drafts.delete"],
                write=True,
                what="drafts.delete",
            )
        except NotFound:
            return

    def draft_state(self, provider_id: str, tag: str) -> ItemState:
        """draft (still there) | sent (a SENT message carries the tag) | deleted."""
        try:
            return self._draft_state(self._get_draft(provider_id))
        except NotFound:
            pass
        sent = self._find_sent(tag)
        if sent is not None:
            return sent
        return ItemState(provider_id=provider_id, exists=False, status="deleted")

    def _find_sent(self, tag: str) -> ItemState | None:
        for query in (
            f"rfc822msgid:{draft_message_id(tag, self.address)}",
            "in:sent newer_than:30d",
        ):
            page = self.api.call(
                lambda q=query: self._resource("messages").list(userId="me", q=q, maxResults=100),
                units=GMAIL_UNITS["messages.list"],
                what="messages.list",
            )
            ids = [m["id"] for m in page.get("messages") or []]
            answers = self.api.batch(
                [(mid, self._get(mid, "raw")) for mid in ids],
                units_each=GMAIL_UNITS["messages.get"],
                what="messages.get",
            )
            for mid in ids:
                value = answers.get(mid)
                if not isinstance(value, dict) or "SENT" not in (value.get("labelIds") or []):
                    continue
                to, subject, body, found_tag = mime.draft_text(_b64decode(value.get("raw", "")))
                if found_tag == tag:
                    return ItemState(
                        provider_id=mid,
                        content_hash=draft_hash(DraftSpec("", to, subject, body)),
                        thread_id=value.get("threadId", ""),
                        status="sent",
                        sent_message_id=mid,
                        tag=found_tag,
                    )
        return None


__all__ = ["Gmail", "ProviderError", "draft_message_id"]
