"""Graph mail: per-folder delta (inbox, sentitems) into MessageRecords, and tagged drafts.

A backfill is the first delta round (``$filter=receivedDateTime ge <window>``), resumable
at its ``@odata.nextLink`` (``CursorState.page_token``); its ``@odata.deltaLink`` becomes the
cursor. After a backfill, the folder's ids are listed once (``$select=id``) to mark what
the store has but the folder no longer has as deleted. A message leaving the folder comes
as ``@removed`` and is marked deleted too.

Drafts carry a named string extended property in rapportd's own GUID namespace
(:data:`TAG_PROPERTY`), so a retry finds the draft it may already have made with a
``$filter`` on that property. Replies are created with ``createReply`` (Graph threads them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from rapportd.agent.core import clock
from rapportd.agent.core.errors import Conflict, CursorExpired, NotFound
from rapportd.agent.core.records import (
    Address,
    CursorState,
    DraftSpec,
    ItemState,
    MessageRecord,
    Skipped,
    SyncBatch,
    draft_hash,
    same_subject,
)
from rapportd.agent.core.settings import Settings
from rapportd.connectors import mime
from rapportd.connectors.composite import carries, refuse_if_changed, refuse_if_not_ours
from rapportd.connectors.microsoft.client import PREFER, GraphApi

RAPPORTD_GUID = "{8d3c5a2e-6b1f-4f7a-9c2d-5e4b7a1c9f30}"
TAG_PROPERTY = f"String {RAPPORTD_GUID} Name RapportdId"
FOLDERS = {"graph_inbox": "inbox", "graph_sentitems": "sentitems"}
SELECT = (
    "id,conversationId,internetMessageId,subject,from,sender,toRecipients,ccRecipients,"
    "replyTo,sentDateTime,receivedDateTime,hasAttachments,isDraft,body,internetMessageHeaders"
)
PAGE_SIZE = 100
RECENT = "recent|"  # backfill position inside the recent window's round (then its nextLink)
FULL = "full|"  # the recent window is in; the full round starts from its beginning
TAG_EXPAND = f"singleValueExtendedProperties($filter=id eq '{TAG_PROPERTY}')"
DRAFT_SELECT = "id,subject,body,toRecipients,isDraft,conversationId,webLink"


def tag_of(item: dict[str, Any]) -> str:
    """rapportd's tag as the item itself carries it (its expanded extended property)."""
    for p in item.get("singleValueExtendedProperties") or []:
        if str(p.get("id", "")).lower() == TAG_PROPERTY.lower():
            return str(p.get("value", ""))
    return ""


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    value = value.replace("Z", "+00:00")
    if "." in value:  # Graph sends 7 fractional digits
        head, _, tail = value.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        rest = tail[len(digits) :]
        value = f"{head}.{digits[:6]}{rest}"
    when = datetime.fromisoformat(value)
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _addr(value: dict[str, Any] | None) -> Address | None:
    email = ((value or {}).get("emailAddress") or {}).get("address") or ""
    if "@" not in email:
        return None
    return Address.of(email, ((value or {}).get("emailAddress") or {}).get("name") or "")


def _addrs(values: list[dict[str, Any]] | None) -> list[Address]:
    return [a for a in (_addr(v) for v in values or []) if a is not None]


def _recipients(addresses: Sequence[Address]) -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": a.email, "name": a.name or a.email}} for a in addresses]


def _tag_filter(tag: str) -> str:
    safe = tag.replace("'", "''")
    return (
        f"singleValueExtendedProperties/Any(ep: ep/id eq '{TAG_PROPERTY}' and ep/value eq '{safe}')"
    )


class GraphMail:
    def __init__(self, api: GraphApi, settings: Settings, address: str, aliases: Sequence[str]):
        self.api, self.settings = api, settings
        self.address = address.lower()
        self.owner_addresses = {self.address, *(a.lower() for a in aliases)}

    # ------------------------------------------------------------------ converting
    def to_record(self, m: dict[str, Any], folder: str) -> MessageRecord:
        rec = MessageRecord(provider_id=m["id"], thread_id=m.get("conversationId") or "")
        rec.folder = folder
        headers = [
            (h.get("name", ""), h.get("value", "")) for h in m.get("internetMessageHeaders") or []
        ]
        if headers:
            mime.apply_headers(rec, headers)
            rec.problems = [p for p in rec.problems if "Date" not in p and "From" not in p]
        rec.sender = _addr(m.get("from")) or _addr(m.get("sender")) or rec.sender
        if rec.sender is None:
            rec.problems.append("no sender")
        rec.to = _addrs(m.get("toRecipients")) or rec.to
        rec.cc = _addrs(m.get("ccRecipients")) or rec.cc
        reply_to = _addrs(m.get("replyTo"))
        rec.reply_to = reply_to[0].email if reply_to else rec.reply_to
        rec.subject = m.get("subject") or rec.subject
        rec.rfc822_id = m.get("internetMessageId") or rec.rfc822_id
        rec.has_attachments = bool(m.get("hasAttachments"))
        sent = parse_time(m.get("sentDateTime")) or parse_time(m.get("receivedDateTime"))
        if sent is not None and (rec.sent_at is None or not headers):
            rec.sent_at = sent
        body = m.get("body") or {}
        content = body.get("content") or ""
        rec.size_bytes = len(content.encode("utf-8", errors="replace"))
        cutoff = clock.now() - timedelta(days=self.settings.sync.text_days)
        if content and rec.sent_at is not None and rec.sent_at >= cutoff:
            mime.finish_text(
                rec,
                content,
                is_html=(body.get("contentType") or "").lower() == "html",
                max_chars=self.settings.sync.max_text_chars,
            )
        return mime.finish_record(
            rec,
            self.owner_addresses,
            fallback_date=parse_time(m.get("receivedDateTime")),
            sent_marker=folder == "sentitems",
            filed_received=folder == "inbox",
        )

    def _page_batch(self, stream: str, page: dict[str, Any]) -> SyncBatch:
        batch = SyncBatch(stream)
        for m in page.get("value") or []:
            if "@removed" in m or m.get("isDraft"):
                batch.deleted.append(m["id"])
                continue
            try:
                batch.messages.append(self.to_record(m, FOLDERS[stream]))
            except (KeyError, ValueError, TypeError) as exc:
                batch.skipped.append(Skipped(str(m.get("id", "?")), f"unreadable: {exc}"[:300]))
        return batch

    # ------------------------------------------------------------------ sync
    def sync(self, stream: str, state: CursorState | None) -> Iterator[SyncBatch]:
        resync = False
        while True:
            try:
                if state is None or state.phase == "backfill":
                    if self.settings.sync.recent_window_days and (
                        state is None or (state.page_token or "").startswith(RECENT)
                    ):
                        for batch in self._recent(stream, state, resync=resync):
                            state = batch.cursor
                            yield batch
                        resync = False
                    if state is None or not state.cursor or state.page_token:
                        for batch in self._round(stream, state, resync=resync):
                            state = batch.cursor
                            yield batch
                    assert state is not None
                    closing = self._reconcile(stream, state)
                    state = closing.cursor
                    yield closing
                assert state is not None
                yield from self._round(stream, state, resync=False)
                return
            except CursorExpired:
                state, resync = None, True

    def _recent(
        self, stream: str, state: CursorState | None, *, resync: bool
    ) -> Iterator[SyncBatch]:
        """The recent window first: a delta round of its own with ``$filter=receivedDateTime
        ge <now - recent_days>``, resumable at ``"recent|<nextLink>"``; its deltaLink is
        not kept (the full round that follows stores those messages again, once each, and
        its deltaLink is the stream's)."""
        url = (state.page_token or "").removeprefix(RECENT) if state is not None else ""
        url = url or self._first_url(stream, days=self.settings.sync.recent_window_days)
        first = True
        while True:
            requests0 = self.api.requests
            page = self.api.request(
                "GET",
                url,
                headers={"Prefer": f"{PREFER}, odata.maxpagesize={PAGE_SIZE}"},
                what=f"{stream} recent",
            )
            batch = self._page_batch(stream, page)
            batch.resync, first = resync and first, False
            next_link = page.get("@odata.nextLink") or ""
            if next_link:
                batch.cursor = CursorState("backfill", None, RECENT + next_link)
            else:
                batch.cursor = CursorState("backfill", None, FULL)
                batch.recent_complete = True
            batch.requests = self.api.requests - requests0
            yield batch
            if not next_link:
                return
            url = next_link

    def _first_url(self, stream: str, *, days: int = 0) -> str:
        since = clock.now() - timedelta(days=days or self.settings.sync.backfill_days)
        stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
        folder = FOLDERS[stream]
        return self.api.url(
            f"me/mailFolders/{folder}/messages/delta?$select={SELECT}"
            f"&$filter={quote(f'receivedDateTime ge {stamp}')}"
        )

    def _round(
        self, stream: str, state: CursorState | None, *, resync: bool
    ) -> Iterator[SyncBatch]:
        """One delta round: from the start (backfill), a saved nextLink, or a deltaLink."""
        if state is None:
            url, phase = self._first_url(stream), "backfill"
        elif state.phase == "backfill":
            url, phase = state.page_token or self._first_url(stream), "backfill"
            if url == FULL:
                url = self._first_url(stream)
        else:
            url, phase = state.page_token or str(state.cursor), "delta"
        first = True
        while True:
            requests0 = self.api.requests
            page = self.api.request(
                "GET",
                url,
                headers={"Prefer": f"{PREFER}, odata.maxpagesize={PAGE_SIZE}"},
                what=f"{stream} delta",
            )
            batch = self._page_batch(stream, page)
            batch.resync = resync and first
            first = False
            next_link = page.get("@odata.nextLink")
            if next_link:
                cursor = state.cursor if state is not None and phase == "delta" else None
                batch.cursor = CursorState(phase, cursor, next_link)
            else:
                batch.cursor = CursorState(
                    "delta" if phase == "delta" else "backfill",
                    page.get("@odata.deltaLink") or (state.cursor if state else None),
                    None,
                )
                batch.complete = phase == "delta"
            batch.requests = self.api.requests - requests0
            yield batch
            if not next_link:
                return
            url = next_link

    def _reconcile(self, stream: str, state: CursorState) -> SyncBatch:
        """Every id of the folder, to find what the store still has but Graph does not; the
        messages received before the sync window are recorded as skipped with that reason
        (none is left out without a record)."""
        requests0 = self.api.requests
        present = self._ids(stream, None)
        days = self.settings.sync.backfill_days
        since = (clock.now() - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
        reason = f"older than the sync window (backfill_days={days}): not synced"
        old = self._ids(stream, f"receivedDateTime lt {since}")
        return SyncBatch(
            stream,
            cursor=CursorState("delta", state.cursor, None),
            present_ids=present,
            provider_total=len(present),
            skipped=[Skipped(mid, reason) for mid in old],
            complete=True,
            requests=self.api.requests - requests0,
        )

    def _ids(self, stream: str, flt: str | None) -> list[str]:
        params = {"$select": "id", "$top": "1000"}
        if flt:
            params["$filter"] = flt
        ids: list[str] = []
        for page in self.api.pages(
            f"me/mailFolders/{FOLDERS[stream]}/messages", params=params, what=f"{stream} ids"
        ):
            ids.extend(m["id"] for m in page.get("value") or [])
        return ids

    # ------------------------------------------------------------------ drafts
    def _state(self, m: dict[str, Any]) -> ItemState:
        body = (m.get("body") or {}).get("content") or ""
        if (m.get("body") or {}).get("contentType", "").lower() == "html":
            body = mime._html_to_text(body)
        spec = DraftSpec("", _addrs(m.get("toRecipients")), m.get("subject") or "", body)
        draft = m.get("isDraft", True)
        return ItemState(
            provider_id=m["id"],
            content_hash=draft_hash(spec),
            thread_id=m.get("conversationId") or "",
            status="draft" if draft else "sent",
            sent_message_id="" if draft else m["id"],
            web_link=m.get("webLink") or "",
            tag=tag_of(m),
        )

    def _get(self, message_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.api.request(
            "GET",
            f"me/messages/{message_id}",
            params={"$select": DRAFT_SELECT + ",parentFolderId", "$expand": TAG_EXPAND},
            what="get message",
        )
        return result

    def find_draft(self, tag: str) -> ItemState | None:
        page = self.api.request(
            "GET",
            "me/messages",
            params={
                "$filter": _tag_filter(tag),
                "$select": DRAFT_SELECT,
                "$expand": TAG_EXPAND,
                "$top": "10",
            },
            what="find draft",
        )
        # only what carries the tag itself: a filter answered loosely is not proof
        found = [s for s in (carries(self._state(m), tag) for m in page.get("value") or []) if s]
        found.sort(key=lambda s: s.status != "draft")
        return found[0] if found else None

    def _draft_body(
        self, spec: DraftSpec, *, reply: bool, current_subject: str | None = None
    ) -> dict[str, Any]:
        """The PATCH/POST body. A reply keeps Outlook's own "RE: …" subject unless rapportd's
        says something else (the owner edited it): then that one is written."""
        body: dict[str, Any] = {
            "toRecipients": _recipients(spec.to),
            "body": {"contentType": "Text", "content": spec.body},
            "singleValueExtendedProperties": [{"id": TAG_PROPERTY, "value": spec.tag}],
        }
        if spec.cc:
            body["ccRecipients"] = _recipients(spec.cc)
        if not reply or (
            spec.subject.strip()
            and current_subject is not None
            and not same_subject(spec.subject, current_subject)
        ):
            body["subject"] = spec.subject
        return body

    def create_draft(self, spec: DraftSpec) -> ItemState:
        existing = self.find_draft(spec.tag)
        if existing is not None:
            return existing
        if spec.reply_to_provider_id:
            created = self.api.request(
                "POST",
                f"me/messages/{spec.reply_to_provider_id}/createReply",
                json={"message": self._draft_body(spec, reply=True)},
                idempotent=False,
                what="createReply",
            )
            # createReply quotes the original and may ignore the message given: set ours.
            if self._state(created).content_hash != draft_hash(spec):
                created = self.api.request(
                    "PATCH",
                    f"me/messages/{created['id']}",
                    json=self._draft_body(
                        spec, reply=True, current_subject=created.get("subject") or ""
                    ),
                    idempotent=True,
                    what="patch draft",
                )
        else:
            created = self.api.request(
                "POST",
                "me/messages",
                json=self._draft_body(spec, reply=False),
                idempotent=False,
                what="create draft",
            )
        state = self._state(created)
        state.content_hash = draft_hash(spec)
        state.tag = spec.tag
        return state

    def update_draft(
        self, provider_id: str, spec: DraftSpec, *, expected_hash: str | None = None
    ) -> ItemState:
        message = self._get(provider_id)
        current = self._state(message)
        if current.status != "draft":
            raise Conflict(f"draft {provider_id} was sent", status=409)
        refuse_if_not_ours("draft", provider_id, current, spec.tag)
        refuse_if_changed("draft", provider_id, current, expected_hash)
        body = self._draft_body(
            spec,
            reply=bool(spec.reply_to_provider_id),
            current_subject=message.get("subject") or "",
        )
        updated = self.api.request(
            "PATCH", f"me/messages/{provider_id}", json=body, idempotent=True, what="patch draft"
        )
        state = self._state(updated or self._get(provider_id))
        state.content_hash = draft_hash(spec)
        state.tag = spec.tag
        return state

    def delete_draft(self, provider_id: str, *, tag: str, expected_hash: str | None = None) -> None:
        try:
            current = self._state(self._get(provider_id))
        except NotFound:
            return
        if current.status != "draft":
            return  # sent: nothing of rapportd's to remove
        refuse_if_not_ours("draft", provider_id, current, tag)
        refuse_if_changed("draft", provider_id, current, expected_hash)
        try:
            self.api.request(
                "DELETE", f"me/messages/{provider_id}", idempotent=True, what="delete draft"
            )
        except NotFound:
            return

    def draft_state(self, provider_id: str, tag: str) -> ItemState:
        try:
            m = self._get(provider_id)
            if not self._in_deleted_items(m):
                return self._state(m)
        except NotFound:
            pass
        found = self.find_draft(tag)
        if found is not None and found.status == "sent":
            return found
        return ItemState(provider_id=provider_id, exists=False, status="deleted")

    def _in_deleted_items(self, m: dict[str, Any]) -> bool:
        folder = m.get("parentFolderId")
        if not folder:
            return False
        if not hasattr(self, "_deleted_folder"):
            try:
                info = self.api.request("GET", "me/mailFolders/deleteditems", what="folder")
                self._deleted_folder = str(info.get("id", "deleteditems"))
            except NotFound:
                self._deleted_folder = "deleteditems"
        return folder in (self._deleted_folder, "deleteditems")
