"""Google Calendar: window + sync-token deltas into EventRecords, holds, free/busy.

A hold is a private, tentative event without attendees, inserted with ``sendUpdates=none``,
a client-chosen id derived from its tag (base32hex) and ``extendedProperties.private
.rapportd = tag``. A second insert with the same id answers 409, but the 409 is "not
guaranteed", so a create always looks first (by id, then by the private property).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from rapportd.agent.core import clock
from rapportd.agent.core.errors import Conflict, CursorExpired, NotFound
from rapportd.agent.core.records import (
    Attendee,
    CursorState,
    EventRecord,
    HoldSpec,
    ItemState,
    Skipped,
    SyncBatch,
    hold_hash,
)
from rapportd.agent.core.settings import Settings
from rapportd.connectors.composite import carries, refuse_if_changed, refuse_if_not_ours
from rapportd.connectors.google.client import GoogleApi

STREAM = "gcal"
CAL = "primary"
RECENT = "recent:"  # backfill position inside the recent window's listing
FULL = "full:"  # the recent window is in; the full listing starts from its beginning
RESPONSES = {"accepted", "declined", "tentative", "needsAction"}


def hold_event_id(tag: str) -> str:
    """A Calendar event id (base32hex, lower case) derived from the tag."""
    digest = hashlib.sha256(tag.encode()).digest()[:20]
    return "rd" + base64.b32hexencode(digest).decode().lower().rstrip("=")


def _when(value: dict[str, Any] | None) -> tuple[datetime | None, bool, str]:
    if not value:
        return None, False, ""
    if value.get("dateTime"):
        return (
            datetime.fromisoformat(value["dateTime"].replace("Z", "+00:00")).astimezone(UTC),
            False,
            value.get("timeZone", ""),
        )
    if value.get("date"):
        day = date.fromisoformat(value["date"])
        return datetime.combine(day, time(), UTC), True, value.get("timeZone", "")
    return None, False, ""


def to_event(e: dict[str, Any]) -> EventRecord:
    start, all_day, tz = _when(e.get("start"))
    end, _, _ = _when(e.get("end"))
    original, _, _ = _when(e.get("originalStartTime"))
    organizer = e.get("organizer") or {}
    attendees = []
    self_response = ""
    for a in e.get("attendees") or []:
        if not a.get("email"):
            continue
        response = a.get("responseStatus", "needsAction")
        att = Attendee(
            email=a["email"].lower(),
            name=a.get("displayName", ""),
            response=response if response in RESPONSES else "needsAction",
            is_self=bool(a.get("self")),
            optional=bool(a.get("optional")),
            is_organizer=bool(a.get("organizer")),
        )
        if att.is_self:
            self_response = att.response
        attendees.append(att)
    status = e.get("status", "confirmed")
    rec = EventRecord(
        provider_id=e["id"],
        ical_uid=e.get("iCalUID", ""),
        series_id=e.get("recurringEventId", ""),
        original_start_at=original,
        start_at=start,
        end_at=end,
        all_day=all_day,
        timezone=tz,
        status=status if status in ("confirmed", "tentative", "cancelled") else "confirmed",
        summary=e.get("summary", ""),
        organizer=(organizer.get("email") or "").lower(),
        organizer_is_self=bool(organizer.get("self")),
        attendees=attendees,
        self_response=self_response,
        transparency=e.get("transparency", "opaque"),
        is_recurring=bool(e.get("recurringEventId") or e.get("recurrence")),
        rapportd_tag=((e.get("extendedProperties") or {}).get("private") or {}).get("rapportd", ""),
        web_link=e.get("htmlLink", ""),
    )
    if start is None:
        rec.problems.append("no start time")
    return rec


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Calendar:
    def __init__(self, api: GoogleApi, settings: Settings) -> None:
        self.api, self.settings = api, settings

    @property
    def _events(self) -> Any:
        return self.api.calendar.events()

    def _call(self, make: Any, *, write: bool = False, what: str = "") -> Any:
        return self.api.call(make, api="calendar", write=write, what=what)

    # ------------------------------------------------------------------ sync
    def window(self) -> tuple[datetime, datetime]:
        now = clock.now().replace(microsecond=0)
        return now - timedelta(days=self.settings.sync.backfill_days), now + timedelta(days=365)

    def sync(self, state: CursorState | None) -> Iterator[SyncBatch]:
        resync = False
        while True:
            try:
                if state is None or state.phase == "backfill":
                    for batch in self._backfill(state, resync=resync):
                        state = batch.cursor
                        yield batch
                assert state is not None
                if state.phase == "delta":  # no sync token: nothing to take a delta from
                    yield from self._delta(state)
                return
            except CursorExpired:
                state, resync = None, True

    def _list(self, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            lambda: self._events.list(calendarId=CAL, **kwargs), what="events.list"
        )
        return result

    def _page_batch(self, page: dict[str, Any]) -> SyncBatch:
        batch = SyncBatch(STREAM)
        for e in page.get("items") or []:
            if e.get("status") == "cancelled":
                batch.deleted.append(e["id"])
                continue
            try:
                batch.events.append(to_event(e))
            except (KeyError, ValueError, TypeError) as exc:
                batch.skipped.append(Skipped(str(e.get("id", "?")), f"unreadable event: {exc}"))
        return batch

    def _recent(self, state: CursorState | None, *, resync: bool) -> Iterator[SyncBatch]:
        """The recent window first (``sync.recent_days`` back, the whole future of the
        window): a listing of its own, resumable at ``"recent:<page token>"``; the full
        listing that follows stores its events again (upserts: once each) and reconciles."""
        now = clock.now().replace(microsecond=0)
        start = now - timedelta(days=self.settings.sync.recent_window_days)
        end = now + timedelta(days=365)  # as far ahead as the full window
        token = (state.page_token or "").removeprefix(RECENT) if state is not None else ""
        first = True
        while True:
            requests0 = self.api.requests
            page = self._list(
                singleEvents=True,
                timeMin=_iso(start),
                timeMax=_iso(end),
                maxResults=250,
                pageToken=token or None,
            )
            batch = self._page_batch(page)
            batch.resync, first = resync and first, False
            token = page.get("nextPageToken") or ""
            if token:
                batch.cursor = CursorState("backfill", None, RECENT + token)
            else:
                batch.cursor = CursorState("backfill", None, FULL)
                batch.recent_complete = True
            batch.requests = self.api.requests - requests0
            yield batch
            if not token:
                return

    def _backfill(self, state: CursorState | None, *, resync: bool) -> Iterator[SyncBatch]:
        position = (state.page_token or "") if state is not None else ""
        if self.settings.sync.recent_window_days and (state is None or position.startswith(RECENT)):
            for batch in self._recent(state, resync=resync):
                state = batch.cursor
                yield batch
            resync, position = False, FULL
        start, end = self.window()
        token = None if position in ("", FULL) else position
        complete_pass = token is None  # a resumed pass has not seen every id itself
        seen: list[str] = []
        first = True
        while True:
            requests0 = self.api.requests
            page = self._list(
                singleEvents=True,
                timeMin=_iso(start),
                timeMax=_iso(end),
                maxResults=250,
                pageToken=token or None,
            )
            batch = self._page_batch(page)
            batch.resync = resync and first
            first = False
            seen.extend(e.provider_id for e in batch.events)
            token = page.get("nextPageToken")
            if token:
                batch.cursor = CursorState("backfill", None, token)
                batch.requests = self.api.requests - requests0
                yield batch
                continue
            sync_token = page.get("nextSyncToken") or ""
            if not complete_pass:
                seen = self._all_ids(start, end)
            # no token (a server that gives none): no empty cursor, the next sync is a full
            # pass again rather than a "delta" from nothing
            batch.cursor = (
                CursorState("delta", sync_token) if sync_token else CursorState("backfill", None)
            )
            batch.present_ids = seen
            batch.present_window = (start, end)
            batch.provider_total = len(seen)
            batch.complete = True
            batch.requests = self.api.requests - requests0
            yield batch
            return

    def _all_ids(self, start: datetime, end: datetime) -> list[str]:
        ids: list[str] = []
        token = None
        while True:
            page = self._list(
                singleEvents=True,
                timeMin=_iso(start),
                timeMax=_iso(end),
                maxResults=2500,
                pageToken=token,
                fields="items(id,status),nextPageToken,nextSyncToken",
            )
            ids.extend(e["id"] for e in page.get("items") or [] if e.get("status") != "cancelled")
            token = page.get("nextPageToken")
            if not token:
                return ids

    def _delta(self, state: CursorState) -> Iterator[SyncBatch]:
        token = state.page_token
        while True:
            requests0 = self.api.requests
            try:
                page = self._list(syncToken=state.cursor, pageToken=token or None, maxResults=250)
            except (NotFound, CursorExpired) as exc:
                raise CursorExpired("calendar sync token expired", status=410) from exc
            batch = self._page_batch(page)
            token = page.get("nextPageToken")
            if token:
                batch.cursor = CursorState("delta", state.cursor, token)
            else:
                batch.cursor = CursorState("delta", page.get("nextSyncToken") or state.cursor)
                batch.complete = True
            batch.requests = self.api.requests - requests0
            yield batch
            if not token:
                return

    # ------------------------------------------------------------------ holds
    def _state(self, e: dict[str, Any]) -> ItemState:
        rec = to_event(e)
        status = rec.status if e.get("status") != "cancelled" else "cancelled"
        h = ""
        if rec.start_at and rec.end_at:
            h = hold_hash(HoldSpec("", rec.summary, rec.start_at, rec.end_at))
        return ItemState(
            provider_id=e["id"],
            exists=status != "cancelled",
            content_hash=h,
            status=status,
            start=rec.start_at,
            end=rec.end_at,
            web_link=rec.web_link,
            tag=str(((e.get("extendedProperties") or {}).get("private") or {}).get("rapportd", "")),
        )

    def _get(self, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call(
            lambda: self._events.get(calendarId=CAL, eventId=event_id), what="events.get"
        )
        return result

    def find_hold(self, tag: str) -> ItemState | None:
        """The live hold carrying ``tag`` in its own private property (an event the filter
        let through without it is the person's, never adopted)."""
        try:
            found = self._get(hold_event_id(tag))
            if found.get("status") != "cancelled" and carries(self._state(found), tag):
                return self._state(found)
        except NotFound:
            pass
        page = self._list(privateExtendedProperty=f"rapportd={tag}", maxResults=10)
        for e in page.get("items") or []:
            if e.get("status") != "cancelled" and carries(self._state(e), tag):
                return self._state(e)
        return None

    def create_hold(self, spec: HoldSpec) -> ItemState:
        existing = self.find_hold(spec.tag)
        if existing is not None:
            return existing
        body: dict[str, Any] = {
            "id": hold_event_id(spec.tag),
            "summary": spec.summary,
            "description": spec.description,
            "start": {"dateTime": _iso(spec.start), "timeZone": spec.timezone or "UTC"},
            "end": {"dateTime": _iso(spec.end), "timeZone": spec.timezone or "UTC"},
            "status": "tentative",
            "transparency": "opaque",
            "visibility": "private",
            "attendees": [],
            "guestsCanInviteOthers": False,
            "extendedProperties": {"private": {"rapportd": spec.tag}},
        }
        try:
            created = self._call(
                lambda: self._events.insert(calendarId=CAL, body=body, sendUpdates="none"),
                write=True,
                what="events.insert",
            )
        except Conflict:
            again = self.find_hold(spec.tag)
            if again is not None:
                return again
            # The id belongs to a hold the person deleted: place it again without a client id.
            body.pop("id")
            created = self._call(
                lambda: self._events.insert(calendarId=CAL, body=body, sendUpdates="none"),
                write=True,
                what="events.insert",
            )
        return self._state(created)

    def confirm_hold(self, provider_id: str, *, tag: str) -> ItemState:
        refuse_if_not_ours("hold", provider_id, self._state(self._get(provider_id)), tag)
        patched = self._call(
            lambda: self._events.patch(
                calendarId=CAL,
                eventId=provider_id,
                body={"status": "confirmed"},
                sendUpdates="none",
            ),
            write=True,
            what="events.patch",
        )
        return self._state(patched)

    def delete_hold(self, provider_id: str, *, tag: str, expected_hash: str | None = None) -> None:
        try:
            current = self._state(self._get(provider_id))
        except NotFound:
            return
        if not current.exists:
            return
        refuse_if_not_ours("hold", provider_id, current, tag)
        refuse_if_changed("hold", provider_id, current, expected_hash)
        try:
            self._call(
                lambda: self._events.delete(
                    calendarId=CAL, eventId=provider_id, sendUpdates="none"
                ),
                write=True,
                what="events.delete",
            )
        except (NotFound, CursorExpired):  # 410 Gone: deleted already
            return

    def hold_state(self, provider_id: str, tag: str) -> ItemState:
        try:
            return self._state(self._get(provider_id))
        except NotFound:
            found = self.find_hold(tag)
            return found or ItemState(provider_id=provider_id, exists=False, status="cancelled")

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Busy intervals, asked in slices of at most 60 days (freebusy refuses longer)."""
        out: set[tuple[datetime, datetime]] = set()
        lo = start
        while lo < end:
            hi = min(end, lo + timedelta(days=60))
            body = {"timeMin": _iso(lo), "timeMax": _iso(hi), "items": [{"id": CAL}]}
            result = self._call(
                lambda b=body: self.api.calendar.freebusy().query(body=b), what="freebusy"
            )
            for cal in (result.get("calendars") or {}).values():
                for b in cal.get("busy") or []:
                    s, _, _ = _when({"dateTime": b["start"]})
                    e, _, _ = _when({"dateTime": b["end"]})
                    if s and e:
                        out.add((s, e))
            lo = hi
        return sorted(out)
