"""Google Calendar API v3 over a mailbox's events (the account's ``primary`` calendar).

Incremental sync as Google does it: the last page of a full list carries
``nextSyncToken``; a list with ``syncToken`` returns what changed since (deleted events
as ``status: cancelled``); an expired token answers 410 ``fullSyncRequired``.
"""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rapportd.connectors.sandbox.calls import ApiError, CallContext, Handler, api_call
from rapportd.connectors.sandbox.state import HistoryGone, Mailbox, StoredEvent

BASE32HEX_ID = re.compile(r"^[a-v0-9]{5,1024}$")
GONE = ApiError(
    410,
    "fullSyncRequired",
    "Sync token is no longer valid, a full sync is required.",
    domain="calendar",
)
SYNC_CONFLICTS = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)


# ----------------------------------------------------------------------------- time
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def rfc3339(when: datetime, tz: str = "UTC") -> str:
    local = when.astimezone(_zone(tz))
    text = local.isoformat(timespec="seconds")
    return text.replace("+00:00", "Z") if tz in ("UTC", "") else text


def parse_rfc3339(value: str, name: str = "time") -> datetime:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, "invalid", f"Bad Request: invalid {name} {value!r}") from exc
    if when.tzinfo is None:
        raise ApiError(400, "invalid", f"Bad Request: {name} needs a time zone offset")
    return when


def _when(data: Any, field: str, tz: str) -> tuple[datetime, bool, str]:
    """(instant, all_day, timezone) of an event's ``start``/``end`` JSON."""
    if not isinstance(data, dict):
        raise ApiError(400, "required", f"Missing {field} time.")
    zone = data.get("timeZone") or tz
    if data.get("dateTime"):
        value = str(data["dateTime"])
        if not value.endswith("Z") and not re.search(r"[+-]\d\d:\d\d$", value):
            naive = datetime.fromisoformat(value)
            return naive.replace(tzinfo=_zone(zone)), False, zone
        return parse_rfc3339(value, field), False, zone
    if data.get("date"):
        day = datetime.fromisoformat(str(data["date"])).date()
        return datetime.combine(day, time(0), _zone(zone)), True, zone
    raise ApiError(400, "required", f"Missing {field} time.")


# ----------------------------------------------------------------------------- rendering
def event_json(event: StoredEvent, mailbox: Mailbox) -> dict[str, Any]:
    """A Calendar ``Event`` resource."""
    me = mailbox.account.address
    out: dict[str, Any] = {
        "kind": "calendar#event",
        "etag": event.etag,
        "id": event.id,
        "status": event.status,
    }
    if event.deleted:
        return out  # deltas carry tombstones with id and status only, as Google does
    tz = event.timezone or mailbox.account.timezone
    if event.all_day:
        start = {"date": event.start.astimezone(_zone(tz)).date().isoformat()}
        end = {"date": event.end.astimezone(_zone(tz)).date().isoformat()}
    else:
        start = {"dateTime": rfc3339(event.start, tz), "timeZone": tz}
        end = {"dateTime": rfc3339(event.end, tz), "timeZone": tz}
    organizer = event.organizer or me
    out.update(
        {
            "htmlLink": f"https://www.google.com/calendar/event?eid={event.id}",
            "created": rfc3339(event.created or event.start).replace("Z", ".000Z"),
            "updated": rfc3339(event.updated or event.start).replace("Z", ".000Z"),
            "summary": event.summary,
            "creator": {"email": organizer, **({"self": True} if organizer == me else {})},
            "organizer": {"email": organizer, **({"self": True} if organizer == me else {})},
            "start": start,
            "end": end,
            "iCalUID": f"{event.id}@google.com",
            "sequence": event.sequence,
            "eventType": "default",
            "reminders": {"useDefault": True},
        }
    )
    if event.description:
        out["description"] = event.description
    if event.show_as == "free":
        out["transparency"] = "transparent"
    if event.series_id:
        out["recurringEventId"] = event.series_id
    if event.attendees:
        out["attendees"] = [
            {
                "email": a.get("email", ""),
                **({"displayName": a["name"]} if a.get("name") else {}),
                "responseStatus": a.get("response", "needsAction"),
                **({"self": True} if a.get("email", "").lower() == me else {}),
                **({"organizer": True} if a.get("email", "").lower() == organizer else {}),
            }
            for a in event.attendees
        ]
    if event.private_props:
        out["extendedProperties"] = {"private": dict(event.private_props)}
    return out


def _token(seq: int, epoch: int, extra: dict[str, Any] | None = None) -> str:
    data = json.dumps({"s": seq, "e": epoch, **(extra or {})}, separators=(",", ":"))
    return "CP" + base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _untoken(value: str) -> dict[str, Any]:
    try:
        body = value[2:] if value.startswith("CP") else value
        data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        assert isinstance(data, dict)
        return data
    except (ValueError, AssertionError) as exc:
        raise ApiError(400, "invalid", "Invalid token value.") from exc


def _calendar_mailbox(ctx: CallContext) -> Mailbox:
    cal = ctx.request.path_params.get("calendarId", "primary")
    if cal not in ("primary", ctx.account.address):
        raise ApiError(404, "notFound", "Not Found")
    return ctx.mailbox


# ----------------------------------------------------------------------------- handlers
def calendar_list(ctx: CallContext) -> dict[str, Any]:
    acct = ctx.account
    entry = {
        "kind": "calendar#calendarListEntry",
        "etag": '"1"',
        "id": acct.address,
        "summary": acct.address,
        "timeZone": acct.timezone,
        "colorId": "14",
        "backgroundColor": "#9fe1e7",
        "foregroundColor": "#000000",
        "selected": True,
        "accessRole": "owner",
        "defaultReminders": [],
        "primary": True,
    }
    return {
        "kind": "calendar#calendarList",
        "etag": '"1"',
        "nextSyncToken": _token(0, 0),
        "items": [entry],
    }


def get_setting(ctx: CallContext) -> dict[str, Any]:
    name = ctx.request.path_params["setting"]
    values = {
        "timezone": ctx.account.timezone,
        "format24HourTime": "true",
        "weekStart": "1",
        "locale": "en",
    }
    if name not in values:
        raise ApiError(404, "notFound", "Not Found")
    return {"kind": "calendar#setting", "etag": '"1"', "id": name, "value": values[name]}


def list_settings(ctx: CallContext) -> dict[str, Any]:
    return {
        "kind": "calendar#settings",
        "etag": '"1"',
        "items": [
            {
                "kind": "calendar#setting",
                "etag": '"1"',
                "id": "timezone",
                "value": ctx.account.timezone,
            }
        ],
    }


def list_events(ctx: CallContext) -> dict[str, Any]:
    mb = _calendar_mailbox(ctx)
    page_token = ctx.query("pageToken")
    sync_token = ctx.query("syncToken")
    state = _untoken(page_token) if page_token else None
    if sync_token:
        bad = [p for p in SYNC_CONFLICTS if ctx.query(p) is not None]
        if bad:
            raise ApiError(400, "invalid", f"Bad Request: syncToken cannot be used with {bad[0]}")
        since = _untoken(sync_token)
        try:
            items = mb.events_changed_since(int(since["s"]), int(since["e"]))
        except HistoryGone:
            raise GONE from None
    else:
        items = _full_list(ctx, mb)
    snapshot = int(state["s"]) if state else mb.event_seq
    offset = int(state["o"]) if state else 0
    size = max(1, min(2500, int(ctx.query("maxResults") or 250)))
    page = items[offset : offset + size]
    out: dict[str, Any] = {
        "kind": "calendar#events",
        "etag": f'"{snapshot}"',
        "summary": ctx.account.address,
        "updated": rfc3339(ctx.sandbox.now()).replace("Z", ".000Z"),
        "timeZone": ctx.account.timezone,
        "accessRole": "owner",
        "defaultReminders": [],
    }
    if offset + size < len(items):
        out["nextPageToken"] = _token(snapshot, mb.sync_epoch, {"o": offset + size})
    elif "calendar.nextSyncToken" not in ctx.sandbox.missing_endpoints:
        out["nextSyncToken"] = _token(snapshot, mb.sync_epoch)
    out["items"] = [event_json(e, mb) for e in page]
    return out


def _full_list(ctx: CallContext, mb: Mailbox) -> list[StoredEvent]:
    show_deleted = (ctx.query("showDeleted") or "false").lower() == "true"
    lo = parse_rfc3339(ctx.query("timeMin") or "", "timeMin") if ctx.query("timeMin") else None
    hi = parse_rfc3339(ctx.query("timeMax") or "", "timeMax") if ctx.query("timeMax") else None
    props = []
    for item in ctx.query_list("privateExtendedProperty"):
        key, sep, value = item.partition("=")
        if not sep:
            raise ApiError(400, "invalid", "Bad Request: privateExtendedProperty needs k=v")
        props.append((key, value))
    text = (ctx.query("q") or "").lower()
    mb_loose = ctx.sandbox.loose_tag_filters
    out = [
        e
        for e in mb.events.values()
        if (show_deleted or not e.deleted)
        and (lo is None or e.end > lo)
        and (hi is None or e.start < hi)
        and (mb_loose or all(e.private_props.get(k) == v for k, v in props))
        and (not text or text in e.summary.lower() or text in e.description.lower())
    ]
    order = ctx.query("orderBy")
    if order == "startTime" and (ctx.query("singleEvents") or "").lower() != "true":
        raise ApiError(
            400, "invalid", "The requested ordering is not available for the particular query."
        )
    if order == "updated":
        out.sort(key=lambda e: (e.updated or e.start, e.id))
    else:
        out.sort(key=lambda e: (e.start, e.id))
    return out


def _apply(event: StoredEvent, body: dict[str, Any], tz: str, *, full: bool) -> None:
    """Copy the writable fields of an Event JSON onto ``event`` (patch or full update)."""
    if "summary" in body or full:
        event.summary = str(body.get("summary") or "")
    if "description" in body or full:
        event.description = str(body.get("description") or "")
    if "start" in body or full:
        event.start, event.all_day, event.timezone = _when(body.get("start"), "start", tz)
    if "end" in body or full:
        event.end, _, _ = _when(body.get("end"), "end", tz)
    if "status" in body:
        if body["status"] not in ("confirmed", "tentative", "cancelled"):
            raise ApiError(400, "invalid", f"Invalid status {body['status']!r}")
        event.status = body["status"]
    if "transparency" in body:
        event.show_as = (
            "free"
            if body["transparency"] == "transparent"
            else ("tentative" if event.status == "tentative" else "busy")
        )
    if "attendees" in body or full:
        event.attendees = [
            {
                "email": str(a.get("email", "")).lower(),
                "name": str(a.get("displayName", "")),
                "response": str(a.get("responseStatus", "needsAction")),
            }
            for a in body.get("attendees") or []
        ]
    if "extendedProperties" in body:
        private = (body["extendedProperties"] or {}).get("private") or {}
        if full:
            event.private_props = {}
        for key, value in private.items():
            if value is None:
                event.private_props.pop(key, None)
            else:
                event.private_props[str(key)] = str(value)
    if event.end < event.start:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")


def insert_event(ctx: CallContext) -> dict[str, Any]:
    mb = _calendar_mailbox(ctx)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    event_id = body.get("id")
    if event_id is not None and not BASE32HEX_ID.match(str(event_id)):
        raise ApiError(400, "invalid", "Invalid resource id value.")
    if event_id is None:
        event_id = "".join(
            ctx.sandbox.rng.choice("abcdefghijklmnopqrstuv0123456789") for _ in range(26)
        )
    now = ctx.sandbox.now()
    event = StoredEvent(
        id=str(event_id),
        summary="",
        start=now,
        end=now,
        timezone=ctx.account.timezone,
        organizer=ctx.account.address,
    )
    _apply(event, body, ctx.account.timezone, full=True)
    if "status" not in body:
        event.status = "confirmed"
    if event.status == "tentative" and "transparency" not in body:
        event.show_as = "tentative"
    mb.insert_event(event)
    return event_json(event, mb)


def get_event(ctx: CallContext) -> dict[str, Any]:
    mb = _calendar_mailbox(ctx)
    event = mb.get_event(ctx.request.path_params["eventId"], include_deleted=True)
    if event.deleted:  # Google still returns a deleted event, marked cancelled
        return {**event_json(event, mb), "summary": event.summary}
    return event_json(event, mb)


def _update(ctx: CallContext, *, full: bool) -> dict[str, Any]:
    mb = _calendar_mailbox(ctx)
    event = mb.get_event(ctx.request.path_params["eventId"], include_deleted=True)
    if event.deleted:
        raise ApiError(410, "deleted", "Resource has been deleted")
    body = ctx.body if isinstance(ctx.body, dict) else {}
    probe = StoredEvent(**{f: getattr(event, f) for f in event.__dataclass_fields__})
    probe.private_props = dict(event.private_props)
    _apply(probe, body, ctx.account.timezone, full=full)
    changes = {
        f: getattr(probe, f)
        for f in (
            "summary",
            "description",
            "start",
            "end",
            "all_day",
            "timezone",
            "status",
            "show_as",
            "attendees",
            "private_props",
        )
    }
    if changes["status"] == "cancelled":
        mb.delete_event(event.id)
        return event_json(event, mb)
    return event_json(mb.update_event(event.id, **changes), mb)


def patch_event(ctx: CallContext) -> dict[str, Any]:
    return _update(ctx, full=False)


def update_event(ctx: CallContext) -> dict[str, Any]:
    return _update(ctx, full=True)


def delete_event(ctx: CallContext) -> Response:
    mb = _calendar_mailbox(ctx)
    event = mb.get_event(ctx.request.path_params["eventId"], include_deleted=True)
    if event.deleted:
        raise ApiError(410, "deleted", "Resource has been deleted")
    mb.delete_event(event.id)
    return Response(status_code=204)


def freebusy(ctx: CallContext) -> dict[str, Any]:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    lo = parse_rfc3339(str(body.get("timeMin", "")), "timeMin")
    hi = parse_rfc3339(str(body.get("timeMax", "")), "timeMax")
    if hi <= lo:
        raise ApiError(400, "timeRangeEmpty", "The specified time range is empty.")
    if hi - lo > timedelta(days=62):
        raise ApiError(400, "timeRangeTooLong", "The requested time range is too long.")
    calendars: dict[str, Any] = {}
    for item in body.get("items") or []:
        cal = str(item.get("id", ""))
        if cal not in ("primary", ctx.account.address):
            calendars[cal] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
            continue
        busy = sorted(
            (max(e.start, lo), min(e.end, hi))
            for e in ctx.mailbox.events.values()
            if not e.deleted
            and e.status != "cancelled"
            and e.show_as != "free"
            and e.end > lo
            and e.start < hi
        )
        merged: list[list[datetime]] = []
        for start, end in busy:
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        calendars[cal] = {
            "busy": [
                {"start": rfc3339(s.astimezone(UTC)), "end": rfc3339(e.astimezone(UTC))}
                for s, e in merged
            ]
        }
    return {
        "kind": "calendar#freeBusy",
        "timeMin": rfc3339(lo.astimezone(UTC)),
        "timeMax": rfc3339(hi.astimezone(UTC)),
        "calendars": calendars,
    }


# ----------------------------------------------------------------------------- routes
def _endpoint(method_id: str, handler: Handler):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        return await api_call(request, method_id, handler, gone=GONE)

    endpoint.__name__ = method_id.replace(".", "_")
    return endpoint


def routes() -> list[BaseRoute]:
    base = "/calendar/v3"
    events = base + "/calendars/{calendarId}/events"
    table: list[tuple[str, str, str, Handler]] = [
        (base + "/users/me/calendarList", "GET", "calendar.calendarList.list", calendar_list),
        (base + "/users/me/settings", "GET", "calendar.settings.list", list_settings),
        (base + "/users/me/settings/{setting}", "GET", "calendar.settings.get", get_setting),
        (events, "GET", "calendar.events.list", list_events),
        (events, "POST", "calendar.events.insert", insert_event),
        (events + "/{eventId}", "GET", "calendar.events.get", get_event),
        (events + "/{eventId}", "PATCH", "calendar.events.patch", patch_event),
        (events + "/{eventId}", "PUT", "calendar.events.update", update_event),
        (events + "/{eventId}", "DELETE", "calendar.events.delete", delete_event),
        (base + "/freeBusy", "POST", "calendar.freebusy.query", freebusy),
    ]
    return [Route(path, _endpoint(mid, h), methods=[m]) for path, m, mid, h in table]
