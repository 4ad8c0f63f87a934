"""Microsoft Graph change notifications: ``/v1.0/subscriptions``.

What Graph does:

- ``POST /subscriptions`` with ``{"changeType": "created,updated,deleted" (any of them),
  "notificationUrl", "resource", "expirationDateTime", "clientState"?,
  "lifecycleNotificationUrl"?}``. Before creating it, Graph *validates* each URL: a POST to
  ``url?validationToken=<opaque text>`` (``Content-Type: text/plain``, empty body) that must
  answer 200 with the (URL-decoded) token as a plain-text body within 10 seconds, else 400
  ``InvalidRequest`` "Subscription validation request failed...". Mail and events
  subscriptions live at most 10,080 minutes; an expiration in the past or beyond that is
  400. The answer is 201 with the subscription (``id`` a GUID).
- ``PATCH /subscriptions/{id}`` ``{"expirationDateTime"}`` renews (same range check);
  an unknown or expired id is 404 ``ResourceNotFound``. ``DELETE`` answers 204. ``GET
  /subscriptions`` lists the caller's.
- On a change of a subscribed resource Graph POSTs ``{"value": [notification]}`` to the
  ``notificationUrl``: ``subscriptionId``, ``subscriptionExpirationDateTime``,
  ``changeType``, ``resource`` (``Users/<object id>/Messages/<id>``), ``resourceData``
  (``@odata.type``, ``@odata.id``, ``id``), ``clientState``, ``tenantId``. Ids are REST ids
  unless the subscription was created with ``Prefer: IdType="ImmutableId"``.
- Lifecycle notifications (``reauthorizationRequired``, ``missed``,
  ``subscriptionRemoved``) go to ``lifecycleNotificationUrl`` (the sandbox falls back to
  ``notificationUrl``); the control API fires them on demand.

The validation request is made outside ``sandbox.lock``: the create handler checks the
request under the lock and returns a coroutine, which the pipeline awaits after releasing
the lock (see :func:`calls.api_call`); the subscription is stored under the lock again.
Notifications leave from the delivery worker (:mod:`push`).

Resources understood: ``me/messages``, ``me/mailFolders('<well-known name or folder
id>')/messages`` (also ``mailFolders/<name>/messages``), ``me/events``; each also with a
leading ``/`` and as ``users/<object id or address>/...`` of the caller.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rapportd.connectors.sandbox import graph_ids as gid
from rapportd.connectors.sandbox.calls import ApiError, CallContext
from rapportd.connectors.sandbox.control import PREFIX, Body, _view
from rapportd.connectors.sandbox.microsoft_oauth import object_id, tenant_id
from rapportd.connectors.sandbox.push import (
    GraphSubscription,
    Job,
    PushState,
    is_2xx,
    listen_events,
    listen_mail,
    push_state,
)
from rapportd.connectors.sandbox.state import (
    FOLDER_LABEL,
    HistoryRecord,
    Mailbox,
    Sandbox,
    StoredEvent,
    StoredMessage,
)

MAX_MINUTES = 10080  # mail and events subscriptions
VALIDATION_TIMEOUT = 10.0
CHANGE_TYPES = ("created", "updated", "deleted")
LIFECYCLE_EVENTS = ("reauthorizationRequired", "missed", "subscriptionRemoved")
# The tenant the sandbox reports: the ``tid`` of tokens got through the ``common``
# authority (rapportd's default), see microsoft_oauth.tenant_id.
TENANT_ID = tenant_id("common")
SCOPES = {
    "messages": ("Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic"),
    "events": ("Calendars.Read", "Calendars.ReadWrite"),
}
VALIDATION_FAILED = (
    "Subscription validation request failed. "
    "Notification endpoint must respond with 200 OK to validation request."
)
_RESOURCE = re.compile(
    r"^/?(?:me|users(?:/|\(')(?P<user>[^/']+)'?\)?)/"
    r"(?:(?P<messages>messages)|(?P<events>events)"
    r"|mailfolders(?:\('(?P<qfolder>[^']+)'\)|/(?P<folder>[^/]+))/messages)/?$",
    re.I,
)
_FRACTION = re.compile(r"(\.\d{6})\d+")


@dataclass(frozen=True)
class Target:
    kind: str  # messages | events
    folder: str | None  # a mail folder, or None (all mail / events)


# --------------------------------------------------------------------------- parsing
def parse_resource(resource: str, address: str) -> Target:
    """What ``resource`` subscribes to; 400 if unsupported, 403 for another user's."""
    m = _RESOURCE.match(resource.strip())
    if not m:
        raise ApiError(
            400, "InvalidRequest", f"Resource '{resource}' is not supported for subscriptions."
        )
    user = m.group("user")
    if user and user.lower() not in (address, object_id(address)):
        raise ApiError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )
    if m.group("messages"):
        return Target("messages", None)
    if m.group("events"):
        return Target("events", None)
    folder = gid.folder_name(m.group("qfolder") or m.group("folder") or "")
    if folder is None:
        raise ApiError(400, "InvalidRequest", f"Resource '{resource}' names an unknown folder.")
    return Target("messages", folder)


def parse_change_types(value: Any) -> frozenset[str]:
    parts = [p.strip() for p in str(value or "").split(",") if p.strip()]
    if not parts or any(p not in CHANGE_TYPES for p in parts):
        raise ApiError(
            400,
            "InvalidRequest",
            f"Invalid changeType '{value}': use a comma-separated list of created, updated, deleted.",
        )
    return frozenset(parts)


def parse_instant(value: Any) -> datetime:
    """An ISO 8601 instant (``Z`` or an offset, up to 7 fraction digits; naive = UTC)."""
    try:
        when = datetime.fromisoformat(_FRACTION.sub(r"\1", str(value)).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, "InvalidRequest", f"Invalid expirationDateTime '{value}'.") from exc
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def checked_expiration(sandbox: Sandbox, value: Any) -> datetime:
    """``expirationDateTime`` within (now, now + 10,080 minutes] of sandbox time."""
    if not value:
        raise ApiError(
            400,
            "InvalidRequest",
            "expirationDateTime is a required property for subscription creation.",
        )
    when = parse_instant(value)
    now = sandbox.now()
    if when <= now:
        raise ApiError(
            400,
            "ExpirationDateTimeOutOfRange",
            "Subscription expiration date time must be in the future.",
        )
    if when > now + timedelta(minutes=MAX_MINUTES):
        raise ApiError(
            400,
            "ExpirationDateTimeOutOfRange",
            f"Subscription expiration can only be {MAX_MINUTES} minutes in the future.",
        )
    return when


def graph_time(when: datetime) -> str:
    """Graph's instant format: 7 fraction digits and ``Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


# --------------------------------------------------------------------------- shapes
def subscription_json(sub: GraphSubscription, base: str) -> dict[str, Any]:
    return {
        "@odata.context": f"{base}/$metadata#subscriptions/$entity",
        "id": sub.id,
        "resource": sub.resource,
        "applicationId": sub.application_id,
        "changeType": ",".join(c for c in CHANGE_TYPES if c in sub.change_types),
        "clientState": sub.client_state,
        "notificationUrl": sub.notification_url,
        "notificationQueryOptions": None,
        "lifecycleNotificationUrl": sub.lifecycle_url,
        "expirationDateTime": graph_time(sub.expiration),
        "creatorId": object_id(sub.address),
        "includeResourceData": False,
        "latestSupportedTlsVersion": "v1_2",
        "encryptionCertificate": None,
        "encryptionCertificateId": None,
        "notificationUrlAppId": None,
    }


def _base(ctx: CallContext) -> str:
    url = ctx.request.url
    return f"{url.scheme}://{url.netloc}/v1.0"


# --------------------------------------------------------------------------- validation
async def validate_url(url: str) -> bool:
    """Graph's handshake: does ``url`` echo the validation token (200, within 10 s)?"""
    token = (
        "Validation: Testing client application reachability for subscription "
        f"Request-Id: {uuid.uuid4()}"
    )
    target = httpx.URL(url).copy_merge_params({"validationToken": token})
    try:
        async with httpx.AsyncClient(timeout=VALIDATION_TIMEOUT, trust_env=False) as client:
            resp = await client.post(
                target, content=b"", headers={"Content-Type": "text/plain; charset=utf-8"}
            )
    except Exception:  # refused, timed out, not a URL
        return False
    return resp.status_code == 200 and resp.text == token


# --------------------------------------------------------------------------- handlers
def _require_scope(ctx: CallContext, kind: str) -> None:
    granted = {s.lower() for s in ctx.grant.scopes}
    if not granted & {s.lower() for s in SCOPES[kind]}:
        raise ApiError(
            403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
        )


def _url(body: dict[str, Any], name: str, required: bool) -> str | None:
    value = body.get(name)
    if not value:
        if required:
            raise ApiError(400, "InvalidRequest", f"{name} is a required property.")
        return None
    if not str(value).startswith(("http://", "https://")):
        raise ApiError(400, "InvalidRequest", f"{name} must be an absolute http(s) URL.")
    return str(value)


def create(ctx: CallContext) -> Awaitable[Response]:
    """``graph.subscriptions.create``: checks under the lock, then validation and storing
    in the returned coroutine (awaited by the pipeline after it released the lock)."""
    body = ctx.body if isinstance(ctx.body, dict) else {}
    resource = str(body.get("resource") or "")
    target = parse_resource(resource, ctx.account.address)
    _require_scope(ctx, target.kind)
    client_state = body.get("clientState")
    if client_state is not None and len(str(client_state)) > 128:
        raise ApiError(400, "InvalidRequest", "clientState must be at most 128 characters.")
    sub = GraphSubscription(
        id=str(uuid.uuid4()),
        address=ctx.account.address,
        resource=resource,
        target=target.kind,
        folder=target.folder,
        change_types=parse_change_types(body.get("changeType")),
        notification_url=str(_url(body, "notificationUrl", True)),
        lifecycle_url=_url(body, "lifecycleNotificationUrl", False),
        client_state=None if client_state is None else str(client_state),
        expiration=checked_expiration(ctx.sandbox, body.get("expirationDateTime")),
        immutable_ids=gid.parse_prefer(ctx.request).immutable_ids,
        application_id=ctx.grant.client_id,
        created_at=ctx.sandbox.now(),
    )
    return _validate_and_store(ctx, sub)


async def _validate_and_store(ctx: CallContext, sub: GraphSubscription) -> Response:
    urls = [sub.notification_url]
    if sub.lifecycle_url and sub.lifecycle_url != sub.notification_url:
        urls.append(sub.lifecycle_url)
    for url in urls:
        if not await validate_url(url):
            raise ApiError(400, "InvalidRequest", VALIDATION_FAILED)
    sandbox = ctx.sandbox
    with sandbox.lock:
        push_state(sandbox).graph[sub.id] = sub
        listen_mail(sandbox, on_mail_change)
        listen_events(sandbox, on_event_change)
        return JSONResponse(subscription_json(sub, _base(ctx)), status_code=201)


def _live(ctx: CallContext) -> dict[str, GraphSubscription]:
    """The caller's subscriptions that have not expired (Graph drops expired ones)."""
    state = ctx.sandbox.push_state
    if state is None:
        return {}
    now = ctx.sandbox.now()
    return {
        k: s
        for k, s in state.graph.items()
        if s.address == ctx.account.address and s.expiration > now
    }


def _find(ctx: CallContext, sub_id: str) -> GraphSubscription:
    sub = _live(ctx).get(sub_id)
    if sub is None:
        raise ApiError(404, "ResourceNotFound", "The object was not found.")
    return sub


def list_subscriptions(ctx: CallContext) -> dict[str, Any]:
    base = _base(ctx)
    return {
        "@odata.context": f"{base}/$metadata#subscriptions",
        "value": [subscription_json(s, base) for s in _live(ctx).values()],
    }


def get_subscription(ctx: CallContext, sub_id: str) -> dict[str, Any]:
    return subscription_json(_find(ctx, sub_id), _base(ctx))


def update(ctx: CallContext, sub_id: str) -> dict[str, Any]:
    """``graph.subscriptions.update``: renew (a new ``expirationDateTime``)."""
    sub = _find(ctx, sub_id)
    body = ctx.body if isinstance(ctx.body, dict) else {}
    sub.expiration = checked_expiration(ctx.sandbox, body.get("expirationDateTime"))
    return subscription_json(sub, _base(ctx))


def delete(ctx: CallContext, sub_id: str) -> Response:
    sub = _find(ctx, sub_id)
    state = ctx.sandbox.push_state
    if state is not None:
        state.graph.pop(sub.id, None)
    return Response(status_code=204)


# --------------------------------------------------------------------------- notifications
def mail_change_type(folder: str | None, record: HistoryRecord) -> str | None:
    """The change type a mail change is for a subscription to ``folder`` (None: all mail),
    or None when that subscription does not see it. Moving in is ``created``, moving out
    ``deleted``; other changes of a message in the folder are ``updated``."""
    if record.kind in ("messageAdded", "messageDeleted"):
        if folder is not None and record.folder != folder:
            return None
        return "created" if record.kind == "messageAdded" else "deleted"
    if folder is None:
        return "updated"
    label = FOLDER_LABEL.get(folder)
    if label and label in record.label_ids:
        return "created" if record.kind == "labelAdded" else "deleted"
    if record.folder != folder:
        return None
    if record.kind == "labelRemoved" and set(record.label_ids) & set(FOLDER_LABEL.values()):
        return None  # the first half of a move into the folder; "created" follows
    return "updated"


def _notify(state: PushState, sub: GraphSubscription, change: str, item: dict[str, Any]) -> None:
    odata_id = item["@odata.id"]
    note = {
        "subscriptionId": sub.id,
        "subscriptionExpirationDateTime": graph_time(sub.expiration),
        "changeType": change,
        "resource": odata_id,
        "resourceData": item,
        "clientState": sub.client_state,
        "tenantId": TENANT_ID,
    }
    state.deliverer.submit(
        Job(sub.notification_url, "graph", {"value": [note]}, _json_headers, is_2xx)
    )


def _json_headers() -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8"}


def _live_for(mailbox: Mailbox, kind: str) -> tuple[PushState | None, list[GraphSubscription]]:
    state = mailbox.sandbox.push_state
    if state is None or not state.graph:
        return state, []
    now = mailbox.sandbox.now()
    address = mailbox.account.address
    subs = [
        s
        for s in state.graph.values()
        if s.address == address and s.target == kind and s.expiration > now
    ]
    return state, subs


def on_mail_change(mailbox: Mailbox, record: HistoryRecord, msg: StoredMessage) -> None:
    """Mail listener (under the lock): queue a notification per matching subscription."""
    state, subs = _live_for(mailbox, "messages")
    if state is None:
        return
    oid = object_id(mailbox.account.address)
    for sub in subs:
        change = mail_change_type(sub.folder, record)
        if change is None or change not in sub.change_types:
            continue
        mid = gid.message_id(msg.id, sub.folder or record.folder, sub.immutable_ids)
        item = {
            "@odata.type": "#Microsoft.Graph.Message",
            "@odata.id": f"Users/{oid}/Messages/{mid}",
            "@odata.etag": f'W/"{record.id}"',
            "id": mid,
        }
        _notify(state, sub, change, item)


def on_event_change(mailbox: Mailbox, change: str, event: StoredEvent) -> None:
    """Event listener (under the lock): notifications for ``me/events`` subscriptions."""
    state, subs = _live_for(mailbox, "events")
    if state is None:
        return
    oid = object_id(mailbox.account.address)
    for sub in subs:
        if change not in sub.change_types:
            continue
        item = {
            "@odata.type": "#Microsoft.Graph.Event",
            "@odata.id": f"Users/{oid}/Events/{event.id}",
            "@odata.etag": f'W/"{event.seq}"',
            "id": event.id,
        }
        _notify(state, sub, change, item)


# --------------------------------------------------------------------------- control API
async def lifecycle(request: Request) -> Response:
    """``POST /_sandbox/graph/subscriptions/{id}/lifecycle {"event"}``: send a lifecycle
    notification now and answer ``{"delivered": status}`` (``subscriptionRemoved`` also
    removes the subscription, as Graph has done by then)."""
    sandbox: Sandbox = request.app.state.sandbox
    try:
        body = await request.json()
    except ValueError:
        body = {}
    event = str((body or {}).get("event") or "")
    if event not in LIFECYCLE_EVENTS:
        return JSONResponse({"error": f"event must be one of {LIFECYCLE_EVENTS}"}, 400)
    with sandbox.lock:
        state = sandbox.push_state
        sub = state.graph.get(request.path_params["id"]) if state else None
        if state is None or sub is None:
            return JSONResponse({"error": "no such subscription"}, status_code=404)
        note = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": graph_time(sub.expiration),
            "lifecycleEvent": event,
            "clientState": sub.client_state,
            "tenantId": TENANT_ID,
        }
        url = sub.lifecycle_url or sub.notification_url
        if event == "subscriptionRemoved":
            state.graph.pop(sub.id, None)
        future = state.deliverer.submit(
            Job(url, "graph-lifecycle", {"value": [note]}, _json_headers, is_2xx)
        )
    status = await asyncio.wrap_future(future)
    return JSONResponse({"delivered": status})


def all_subscriptions(sandbox: Sandbox, request: Request, body: Body) -> Any:
    """Every Graph subscription the sandbox holds (expired ones included)."""
    state = sandbox.push_state
    subs = list(state.graph.values()) if state else []
    return {
        "subscriptions": [
            {
                "id": s.id,
                "account": s.address,
                "resource": s.resource,
                "changeType": ",".join(c for c in CHANGE_TYPES if c in s.change_types),
                "notificationUrl": s.notification_url,
                "lifecycleNotificationUrl": s.lifecycle_url,
                "clientState": s.client_state,
                "expirationDateTime": graph_time(s.expiration),
                "expired": s.expiration <= sandbox.now(),
            }
            for s in subs
        ]
    }


def control_routes() -> list[BaseRoute]:
    return [
        Route(PREFIX + "/graph/subscriptions", _view(all_subscriptions), methods=["GET"]),
        Route(PREFIX + "/graph/subscriptions/{id}/lifecycle", lifecycle, methods=["POST"]),
    ]
