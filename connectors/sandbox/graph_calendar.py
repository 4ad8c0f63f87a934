"""Graph calendar handlers: calendarView (delta), events get / list / create / patch /
delete, and ``getSchedule``.

calendarView delta needs a window (``startDateTime`` / ``endDateTime``); the first round
pages the events overlapping it, the deltaLink keeps the window, the mailbox's event
sequence and sync epoch. A later round returns events changed since, deleted ones as
``@removed``. An expired link (``expire_sync_tokens``) answers 410 ``syncStateNotFound``.

``POST /me/events`` with a ``transactionId`` already used by a live event returns that
event instead of making a duplicate (Graph's documented use of ``transactionId``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.responses import JSONResponse, Response

from rapportd.connectors.sandbox import graph_ids as gid
from rapportd.connectors.sandbox.calls import ApiError, CallContext
from rapportd.connectors.sandbox.graph_mail import base_url, not_found, page_size
from rapportd.connectors.sandbox.graph_shapes import (
    RESPONSE_FROM_GRAPH,
    event_json,
    graph_datetime,
    parse_graph_datetime,
    zone_of,
)
from rapportd.connectors.sandbox.state import HistoryGone, StoredEvent

AVAILABILITY = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}


def _window(ctx: CallContext) -> tuple[datetime, datetime]:
    start, end = (
        ctx.query("startDateTime") or ctx.query("StartDateTime"),
        (ctx.query("endDateTime") or ctx.query("EndDateTime")),
    )
    if not start or not end:
        raise ApiError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window "
            "specified by the query string parameters StartDateTime and EndDateTime.",
        )
    try:
        lo = datetime.fromisoformat(start.replace("Z", "+00:00"))
        hi = datetime.fromisoformat(end.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, "ErrorInvalidParameter", "Invalid StartDateTime/EndDateTime.") from exc
    zone = zone_of(gid.parse_prefer(ctx.request).timezone)
    return (lo if lo.tzinfo else lo.replace(tzinfo=zone)), (
        hi if hi.tzinfo else hi.replace(tzinfo=zone)
    )


def _overlaps(event: StoredEvent, lo: datetime, hi: datetime) -> bool:
    return event.start < hi and event.end > lo


def _render(
    ctx: CallContext, event: StoredEvent, prefer: gid.Prefer, select: list[str] | None = None
) -> dict[str, Any]:
    expand, only = gid.parse_expand_props(ctx.query("$expand") or "")
    return event_json(
        event, ctx.account, prefer, select=select, expand_props=expand, expand_only=only
    )


def _json(data: dict[str, Any], prefer: gid.Prefer, status: int = 200) -> JSONResponse:
    headers = {"Preference-Applied": ", ".join(prefer.applied)} if prefer.applied else {}
    return JSONResponse(data, status_code=status, headers=headers)


def calendar_delta(ctx: CallContext) -> JSONResponse:
    mb = ctx.mailbox
    prefer = gid.parse_prefer(ctx.request)
    skip, delta = ctx.query("$skiptoken"), ctx.query("$deltatoken")
    try:
        state = gid.decode_token(skip or delta) if (skip or delta) else None
    except ValueError as exc:
        raise ApiError(400, "BadRequest", "Invalid delta or skip token.") from exc
    if state is None:
        lo, hi = _window(ctx)
        state = {
            "p": "init",
            "lo": lo.isoformat(),
            "hi": hi.isoformat(),
            "s": mb.event_seq,
            "e": mb.sync_epoch,
            "n": page_size(ctx, prefer, 50),
            "o": 0,
            "sel": ctx.query("$select") or "",
        }
    elif delta:
        state = {**state, "p": "replay", "s1": mb.event_seq, "o": 0}
    if prefer.max_page_size:
        state["n"] = prefer.max_page_size
    lo, hi = datetime.fromisoformat(state["lo"]), datetime.fromisoformat(state["hi"])
    n, offset = int(state["n"]), int(state.get("o", 0))
    select = gid.parse_select(state.get("sel"))
    try:
        if state["p"] == "init":
            if state["e"] != mb.sync_epoch:
                raise HistoryGone("expired")
            events = sorted(
                (
                    e
                    for e in mb.events.values()
                    if not e.deleted and _overlaps(e, lo, hi) and e.seq <= state["s"]
                ),
                key=lambda e: (e.start, e.id),
            )
        else:
            events = [
                e
                for e in mb.events_changed_since(int(state["s"]), int(state["e"]))
                if e.seq <= int(state["s1"]) and _overlaps(e, lo, hi)
            ]
    except HistoryGone as exc:
        raise ApiError(
            410,
            "syncStateNotFound",
            "The sync state generation is invalid or has "
            "expired. Restart the sync without a delta token.",
        ) from exc
    page = events[offset : offset + n]
    value = [
        {"@odata.type": "#microsoft.graph.event", "id": e.id, "@removed": {"reason": "deleted"}}
        if e.deleted
        else _render(ctx, e, prefer, select)
        for e in page
    ]
    link = f"{base_url(ctx)}/me/calendarView/delta"
    body: dict[str, Any] = {
        "@odata.context": f"{base_url(ctx)}/$metadata#Collection(event)",
        "value": value,
    }
    if offset + n < len(events):
        body["@odata.nextLink"] = (
            f"{link}?$skiptoken={gid.encode_token({**state, 'o': offset + n})}"
        )
    else:
        end_seq = state.get("s1", state["s"])
        token = {
            "lo": state["lo"],
            "hi": state["hi"],
            "s": end_seq,
            "e": state["e"],
            "n": n,
            "sel": state.get("sel", ""),
        }
        body["@odata.deltaLink"] = f"{link}?$deltatoken={gid.encode_token(token)}"
    return _json(body, prefer)


def calendar_view(ctx: CallContext) -> JSONResponse:
    prefer = gid.parse_prefer(ctx.request)
    lo, hi = _window(ctx)
    events = sorted(
        (e for e in ctx.mailbox.events.values() if not e.deleted and _overlaps(e, lo, hi)),
        key=lambda e: (e.start, e.id),
    )
    return _paged(ctx, events, prefer)


def _paged(ctx: CallContext, events: list[StoredEvent], prefer: gid.Prefer) -> JSONResponse:
    n = page_size(ctx, prefer)
    skip = int(ctx.query("$skip") or 0)
    select = gid.parse_select(ctx.query("$select"))
    body: dict[str, Any] = {
        "@odata.context": f"{base_url(ctx)}/$metadata#Collection(event)",
        "value": [_render(ctx, e, prefer, select) for e in events[skip : skip + n]],
    }
    if skip + n < len(events):
        body["@odata.nextLink"] = str(
            ctx.request.url.include_query_params(**{"$skip": str(skip + n), "$top": str(n)})
        )
    return _json(body, prefer)


def list_events(ctx: CallContext) -> JSONResponse:
    prefer = gid.parse_prefer(ctx.request)
    flt = ctx.query("$filter") or ""
    ext = gid.parse_ext_filter(flt) if flt else None
    eq = gid.parse_eq_filter(flt) if flt and ext is None else None
    if flt and ext is None and eq is None:
        raise ApiError(
            400, "ErrorInvalidUrlQueryFilter", "The query filter is not supported by the sandbox."
        )
    out = []
    for event in sorted(ctx.mailbox.events.values(), key=lambda e: (e.start, e.id)):
        if event.deleted:
            continue
        if (
            ext is not None
            and not ctx.sandbox.loose_tag_filters
            and not any(
                gid.same_prop(k, ext.prop_id) and v == ext.value
                for k, v in event.extra.get("props", {}).items()
            )
        ):
            continue
        if eq is not None:
            name, value = eq
            if name.lower() == "transactionid":
                if event.transaction_id != value:
                    continue
            elif name.lower() == "icaluid":
                if _render(ctx, event, prefer)["iCalUId"] != value:
                    continue
            else:
                raise ApiError(400, "ErrorInvalidUrlQueryFilter", f"Cannot filter on {name}.")
        out.append(event)
    return _paged(ctx, out, prefer)


def get_event(ctx: CallContext, event_id: str) -> JSONResponse:
    prefer = gid.parse_prefer(ctx.request)
    event = _find(ctx, event_id)
    return _json(_render(ctx, event, prefer, gid.parse_select(ctx.query("$select"))), prefer)


def _find(ctx: CallContext, event_id: str) -> StoredEvent:
    event = ctx.mailbox.events.get(event_id)
    if event is None or event.deleted:
        raise not_found("event")
    return event


def _times(body: dict[str, Any], tz_default: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    try:
        for key in ("start", "end"):
            if key in body:
                out[key] = parse_graph_datetime(body[key], tz_default)
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(400, "ErrorInvalidRequest", "start/end need dateTime and timeZone.") from exc
    if "start" in body and isinstance(body["start"], dict):
        out["timezone"] = str(body["start"].get("timeZone") or tz_default)
    return out


def _props(event: StoredEvent, body: dict[str, Any]) -> None:
    for prop in body.get("singleValueExtendedProperties") or []:
        if not isinstance(prop, dict) or "id" not in prop:
            raise ApiError(400, "ErrorInvalidProperty", "Extended property needs an id.")
        props = event.extra.setdefault("props", {})
        existing = next((k for k in props if gid.same_prop(k, str(prop["id"]))), None)
        props[existing or str(prop["id"])] = str(prop.get("value", ""))


def _attendees(body: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for item in body.get("attendees") or []:
        email = (item or {}).get("emailAddress") or {}
        if email.get("address"):
            status = ((item.get("status") or {}).get("response")) or "notResponded"
            out.append(
                {
                    "email": str(email["address"]).lower(),
                    "name": str(email.get("name") or ""),
                    "response": RESPONSE_FROM_GRAPH.get(status, "needsAction"),
                }
            )
    return out


def create_event(ctx: CallContext) -> JSONResponse:
    prefer = gid.parse_prefer(ctx.request)
    body = ctx.body or {}
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "Body must be a JSON object.")
    mb = ctx.mailbox
    tid = str(body.get("transactionId") or "")
    if tid:
        same = next(
            (e for e in mb.events.values() if e.transaction_id == tid and not e.deleted), None
        )
        if same is not None:
            return _json(_render(ctx, same, prefer), prefer, 201)
    times = _times(body, prefer.timezone)
    if "start" not in times or "end" not in times:
        raise ApiError(400, "ErrorInvalidRequest", "An event needs start and end.")
    content = body.get("body") or {}
    event = StoredEvent(
        id=gid.REST_PREFIX + f"{ctx.sandbox.rng.getrandbits(120):030x}",
        summary=str(body.get("subject") or ""),
        start=times["start"],
        end=times["end"],
        timezone=times.get("timezone", "UTC"),
        all_day=bool(body.get("isAllDay", False)),
        organizer=ctx.account.address,
        attendees=_attendees(body),
        status="tentative" if body.get("showAs") == "tentative" else "confirmed",
        show_as=str(body.get("showAs") or "busy"),
        description=str(content.get("content") or ""),
        transaction_id=tid,
    )
    if body.get("categories"):
        event.extra["categories"] = [str(c) for c in body["categories"]]
    _props(event, body)
    mb.insert_event(event)
    return _json(_render(ctx, event, prefer), prefer, 201)


def patch_event(ctx: CallContext, event_id: str) -> JSONResponse:
    prefer = gid.parse_prefer(ctx.request)
    event = _find(ctx, event_id)
    body = ctx.body or {}
    changes: dict[str, Any] = _times(body, prefer.timezone)
    if "subject" in body:
        changes["summary"] = str(body["subject"] or "")
    if "showAs" in body:
        changes["show_as"] = str(body["showAs"])
        changes["status"] = "tentative" if body["showAs"] == "tentative" else "confirmed"
    if "body" in body:
        changes["description"] = str((body["body"] or {}).get("content") or "")
    if "isAllDay" in body:
        changes["all_day"] = bool(body["isAllDay"])
    if "attendees" in body:
        changes["attendees"] = _attendees(body)
    if "categories" in body:
        event.extra["categories"] = [str(c) for c in body["categories"] or []]
    _props(event, body)
    event = ctx.mailbox.update_event(event.id, **changes)
    return _json(_render(ctx, event, prefer), prefer)


def delete_event(ctx: CallContext, event_id: str) -> Response:
    _find(ctx, event_id)
    ctx.mailbox.delete_event(event_id)
    return Response(status_code=204)


def get_schedule(ctx: CallContext) -> JSONResponse:
    """Free/busy of sandbox Microsoft accounts (the caller's own and other sandbox ones)."""
    prefer = gid.parse_prefer(ctx.request)
    body = ctx.body or {}
    try:
        lo = parse_graph_datetime(body["startTime"])
        hi = parse_graph_datetime(body["endTime"])
        schedules = [str(s) for s in body["schedules"]]
    except (KeyError, TypeError, ValueError) as exc:
        raise ApiError(
            400, "ErrorInvalidRequest", "schedules, startTime and endTime are required."
        ) from exc
    interval = int(body.get("availabilityViewInterval") or 30)
    if not 5 <= interval <= 1440 or hi <= lo:
        raise ApiError(400, "ErrorInvalidParameter", "Invalid time window or interval.")
    value: list[dict[str, Any]] = []
    for address in schedules:
        account = ctx.sandbox.accounts.get(address.lower())
        if account is None or account.provider != "microsoft":
            value.append(
                {
                    "scheduleId": address,
                    "availabilityView": "",
                    "scheduleItems": [],
                    "error": {
                        "message": "The specified mailbox could not be found.",
                        "responseCode": "ErrorMailRecipientNotFound",
                    },
                }
            )
            continue
        busy = sorted(
            (
                e
                for e in account.mailbox.events.values()
                if not e.deleted
                and e.status != "cancelled"
                and e.show_as != "free"
                and _overlaps(e, lo, hi)
            ),
            key=lambda e: e.start,
        )
        slots = []
        t = lo
        while t < hi:
            u = t + timedelta(minutes=interval)
            level = "0"
            for e in busy:
                if e.start < u and e.end > t:
                    level = max(level, AVAILABILITY.get(e.show_as, "2"))
            slots.append(level)
            t = u
        value.append(
            {
                "scheduleId": address,
                "availabilityView": "".join(slots),
                "scheduleItems": [
                    {
                        "isPrivate": False,
                        "status": e.show_as or "busy",
                        "subject": e.summary,
                        "location": "",
                        "start": graph_datetime(e.start, prefer.timezone),
                        "end": graph_datetime(e.end, prefer.timezone),
                    }
                    for e in busy
                ],
                "workingHours": {
                    "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                    "startTime": "08:00:00.0000000",
                    "endTime": "17:00:00.0000000",
                    "timeZone": {"name": account.timezone},
                },
            }
        )
    return _json(
        {
            "@odata.context": f"{base_url(ctx)}/$metadata#Collection(microsoft.graph."
            "scheduleInformation)",
            "value": value,
        },
        prefer,
    )
