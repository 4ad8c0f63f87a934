"""Graph calendar: calendarView delta over a window into EventRecords, holds, busy times.

A hold is ``POST /me/events`` with ``showAs: tentative``, private, no attendees, a
``transactionId`` derived from the tag (Graph drops a retried duplicate POST) and the tag in
rapportd's extended property (a create looks for it first).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from rapportd.agent.core import clock
from rapportd.agent.core.errors import CursorExpired, NotFound
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
from rapportd.connectors.microsoft.client import PREFER, GraphApi
from rapportd.connectors.microsoft.mail import RAPPORTD_GUID, TAG_PROPERTY, _tag_filter, parse_time

STREAM = "graph_calendar"
RECENT = "recent|"  # backfill position inside the recent window's round (then its nextLink)
FULL = "full|"  # the recent window is in; the full round starts from its beginning
RESPONSE = {
    "accepted": "accepted",
    "organizer": "accepted",
    "declined": "declined",
    "tentativelyaccepted": "tentative",
    "none": "needsAction",
    "notresponded": "needsAction",
}
EVENT_SELECT = "id,subject,start,end,showAs,isCancelled,type,seriesMasterId,webLink"
TAG_EXPAND = f"singleValueExtendedProperties($filter=id eq '{TAG_PROPERTY}')"


def transaction_id(tag: str) -> str:
    return str(uuid.uuid5(uuid.UUID(RAPPORTD_GUID.strip("{}")), tag))


def _when(value: dict[str, Any] | None) -> datetime | None:
    if not value or not value.get("dateTime"):
        return None
    return parse_time(value["dateTime"])  # Prefer outlook.timezone="UTC": times are UTC


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _tag_of(e: dict[str, Any]) -> str:
    for p in e.get("singleValueExtendedProperties") or []:
        if str(p.get("id", "")).lower() == TAG_PROPERTY.lower():
            return str(p.get("value", ""))
    return ""


class GraphCalendar:
    def __init__(self, api: GraphApi, settings: Settings, address: str, aliases: Sequence[str]):
        self.api, self.settings = api, settings
        self.owner_addresses = {address.lower(), *(a.lower() for a in aliases)}

    def to_event(self, e: dict[str, Any]) -> EventRecord:
        organizer = ((e.get("organizer") or {}).get("emailAddress") or {}).get("address", "")
        attendees = []
        for a in e.get("attendees") or []:
            email = ((a.get("emailAddress") or {}).get("address") or "").lower()
            if "@" not in email:
                continue
            response = RESPONSE.get(((a.get("status") or {}).get("response") or "none").lower())
            attendees.append(
                Attendee(
                    email=email,
                    name=(a.get("emailAddress") or {}).get("name") or "",
                    response=response or "needsAction",
                    is_self=email in self.owner_addresses,
                    optional=a.get("type") == "optional",
                    is_organizer=email == organizer.lower(),
                )
            )
        show_as = (e.get("showAs") or "busy").lower()
        own = RESPONSE.get(((e.get("responseStatus") or {}).get("response") or "").lower(), "")
        start, end = _when(e.get("start")), _when(e.get("end"))
        rec = EventRecord(
            provider_id=e["id"],
            ical_uid=e.get("iCalUId") or "",
            series_id=e.get("seriesMasterId") or "",
            original_start_at=parse_time(e.get("originalStart")),
            start_at=start,
            end_at=end,
            all_day=bool(e.get("isAllDay")),
            timezone=(
                e.get("originalStartTimeZone") or (e.get("start") or {}).get("timeZone") or ""
            ),
            status="tentative" if show_as == "tentative" else "confirmed",
            summary=e.get("subject") or "",
            organizer=organizer.lower(),
            organizer_is_self=bool(e.get("isOrganizer"))
            or organizer.lower() in self.owner_addresses,
            attendees=attendees,
            self_response=own,
            transparency="transparent" if show_as == "free" else "opaque",
            is_recurring=bool(e.get("seriesMasterId"))
            or e.get("type") in ("occurrence", "exception"),
            rapportd_tag=_tag_of(e),
            web_link=e.get("webLink") or "",
        )
        if start is None:
            rec.problems.append("no start time")
        return rec

    def _page_batch(self, page: dict[str, Any]) -> SyncBatch:
        batch = SyncBatch(STREAM)
        for e in page.get("value") or []:
            if "@removed" in e or e.get("isCancelled"):
                batch.deleted.append(e["id"])
                continue
            try:
                batch.events.append(self.to_event(e))
            except (KeyError, ValueError, TypeError) as exc:
                batch.skipped.append(Skipped(str(e.get("id", "?")), f"unreadable event: {exc}"))
        return batch

    # ------------------------------------------------------------------ sync
    def window(self) -> tuple[datetime, datetime]:
        now = clock.now().replace(microsecond=0)
        return now - timedelta(days=self.settings.sync.backfill_days), now + timedelta(days=365)

    def sync(self, state: CursorState | None) -> Iterator[SyncBatch]:
        resync = False
        while True:
            try:
                yield from self._sync(state, resync)
                return
            except CursorExpired:
                state, resync = None, True

    def _view_url(self, start: datetime, end: datetime) -> str:
        query = urlencode({"startDateTime": _iso(start) + "Z", "endDateTime": _iso(end) + "Z"})
        return self.api.url(f"me/calendarView/delta?{query}")

    def _recent(self, state: CursorState | None, resync: bool) -> Iterator[SyncBatch]:
        """The recent window first: a calendarView delta round over [now - recent_days,
        the window's end], resumable at ``"recent|<nextLink>"``; its deltaLink is not kept
        (the full round that follows stores those events again, once each, and reconciles)."""
        _, end = self.window()
        start = clock.now().replace(microsecond=0) - timedelta(
            days=self.settings.sync.recent_window_days
        )
        url = (state.page_token or "").removeprefix(RECENT) if state is not None else ""
        url = url or self._view_url(start, end)
        first = True
        while True:
            requests0 = self.api.requests
            page = self.api.request(
                "GET",
                url,
                headers={"Prefer": f"{PREFER}, odata.maxpagesize=100"},
                what="calendar recent",
            )
            batch = self._page_batch(page)
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

    def _sync(self, state: CursorState | None, resync: bool) -> Iterator[SyncBatch]:
        if self.settings.sync.recent_window_days and (
            state is None
            or (state.phase == "backfill" and (state.page_token or "").startswith(RECENT))
        ):
            for batch in self._recent(state, resync):
                state = batch.cursor
                yield batch
            resync = False
        start, end = self.window()
        if state is None or (state.phase == "backfill" and state.page_token == FULL):
            url, phase = self._view_url(start, end), "backfill"
            state = None
        elif state.phase == "backfill":
            url, phase = str(state.page_token), "backfill"
        else:
            url, phase = state.page_token or str(state.cursor), "delta"
        seen: list[str] = []
        complete_pass = state is None
        first = True
        while True:
            requests0 = self.api.requests
            page = self.api.request(
                "GET",
                url,
                headers={"Prefer": f"{PREFER}, odata.maxpagesize=100"},
                what="calendar delta",
            )
            batch = self._page_batch(page)
            batch.resync, first = resync and first, False
            seen.extend(e.provider_id for e in batch.events)
            next_link = page.get("@odata.nextLink")
            if next_link:
                cursor = state.cursor if state is not None and phase == "delta" else None
                batch.cursor = CursorState(phase, cursor, next_link)
            else:
                link = page.get("@odata.deltaLink") or (state.cursor if state else None)
                # no delta link: no empty cursor; the next sync is a full pass again
                batch.cursor = CursorState("delta", link) if link else CursorState("backfill", None)
                batch.complete = True
                if phase == "backfill":
                    if not complete_pass:
                        seen = self._all_ids(start, end)
                    batch.present_ids, batch.present_window = seen, (start, end)
                    batch.provider_total = len(seen)
            batch.requests = self.api.requests - requests0
            yield batch
            if not next_link:
                return
            url = next_link

    def _all_ids(self, start: datetime, end: datetime) -> list[str]:
        ids: list[str] = []
        for page in self.api.pages(
            "me/calendarView",
            params={
                "startDateTime": _iso(start) + "Z",
                "endDateTime": _iso(end) + "Z",
                "$select": "id,isCancelled",
                "$top": "1000",
            },
            what="calendar ids",
        ):
            ids.extend(e["id"] for e in page.get("value") or [] if not e.get("isCancelled"))
        return ids

    # ------------------------------------------------------------------ holds
    def _state(self, e: dict[str, Any]) -> ItemState:
        start, end = _when(e.get("start")), _when(e.get("end"))
        show_as = (e.get("showAs") or "busy").lower()
        cancelled = bool(e.get("isCancelled"))
        status = (
            "cancelled" if cancelled else ("tentative" if show_as == "tentative" else "confirmed")
        )
        h = hold_hash(HoldSpec("", e.get("subject") or "", start, end)) if start and end else ""
        return ItemState(
            provider_id=e["id"],
            exists=not cancelled,
            content_hash=h,
            status=status,
            start=start,
            end=end,
            web_link=e.get("webLink") or "",
            tag=_tag_of(e),
        )

    def _get(self, event_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self.api.request(
            "GET",
            f"me/events/{event_id}",
            params={"$select": EVENT_SELECT, "$expand": TAG_EXPAND},
            what="get event",
        )
        return result

    def find_hold(self, tag: str) -> ItemState | None:
        page = self.api.request(
            "GET",
            "me/events",
            params={
                "$filter": _tag_filter(tag),
                "$select": EVENT_SELECT,
                "$expand": TAG_EXPAND,
                "$top": "10",
            },
            what="find hold",
        )
        for e in page.get("value") or []:
            if not e.get("isCancelled") and carries(self._state(e), tag):
                return self._state(e)
        return None

    def create_hold(self, spec: HoldSpec) -> ItemState:
        existing = self.find_hold(spec.tag)
        if existing is not None:
            return existing
        body = {
            "subject": spec.summary,
            "body": {"contentType": "Text", "content": spec.description},
            "start": {"dateTime": _iso(spec.start), "timeZone": "UTC"},
            "end": {"dateTime": _iso(spec.end), "timeZone": "UTC"},
            "showAs": "tentative",
            "sensitivity": "private",
            "isReminderOn": False,
            "responseRequested": False,
            "attendees": [],
            "transactionId": transaction_id(spec.tag),
            "singleValueExtendedProperties": [{"id": TAG_PROPERTY, "value": spec.tag}],
        }
        created = self.api.request(
            "POST", "me/events", json=body, idempotent=True, what="create hold"
        )
        state = self._state(created)
        state.tag = state.tag or spec.tag  # the POST answer may leave the property out
        return state

    def confirm_hold(self, provider_id: str, *, tag: str) -> ItemState:
        refuse_if_not_ours("hold", provider_id, self._state(self._get(provider_id)), tag)
        updated = self.api.request(
            "PATCH",
            f"me/events/{provider_id}",
            json={"showAs": "busy"},
            idempotent=True,
            what="confirm hold",
        )
        state = self._state(updated or self._get(provider_id))
        state.tag = state.tag or tag
        return state

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
            self.api.request(
                "DELETE", f"me/events/{provider_id}", idempotent=True, what="delete hold"
            )
        except NotFound:
            return

    def hold_state(self, provider_id: str, tag: str) -> ItemState:
        try:
            return self._state(self._get(provider_id))
        except NotFound:
            found = self.find_hold(tag)
            return found or ItemState(provider_id=provider_id, exists=False, status="cancelled")

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        out = []
        for page in self.api.pages(
            "me/calendarView",
            params={
                "startDateTime": _iso(start) + "Z",
                "endDateTime": _iso(end) + "Z",
                "$select": "start,end,showAs,isCancelled",
                "$top": "500",
            },
            what="busy",
        ):
            for e in page.get("value") or []:
                if e.get("isCancelled") or (e.get("showAs") or "busy").lower() == "free":
                    continue
                s, t = _when(e.get("start")), _when(e.get("end"))
                if s and t:
                    out.append((s, t))
        return sorted(out)
