"""Gmail API v1, served from a :class:`~rapportd.connectors.sandbox.state.Mailbox`.

Paths are those of the bundled discovery document (``gmail/v1/users/{userId}/...`` under
the root URL, ``/upload/...`` for media uploads of drafts). Responses follow the real wire
format: ids as strings, ``historyId``/``internalDate`` as decimal strings, base64url bodies,
``nextPageToken`` only when there is a next page, ``resultSizeEstimate`` on lists.
``users.watch`` / ``users.stop`` (push notifications through Pub/Sub) live in :mod:`pubsub`.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from collections import OrderedDict
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rapportd.connectors.sandbox import pubsub
from rapportd.connectors.sandbox.calls import ApiError, CallContext, Handler, api_call
from rapportd.connectors.sandbox.gmail_query import QueryError, parse_query
from rapportd.connectors.sandbox.mime import b64url, b64url_decode
from rapportd.connectors.sandbox.state import SYSTEM_LABELS, Draft, Mailbox, StoredMessage

_LIST_CACHE: OrderedDict[tuple[Any, ...], list[StoredMessage]] = OrderedDict()
HISTORY_TYPES = {
    "messageAdded": "messagesAdded",
    "messageDeleted": "messagesDeleted",
    "labelAdded": "labelsAdded",
    "labelRemoved": "labelsRemoved",
}


# ----------------------------------------------------------------------------- rendering
def _mime_type(msg: StoredMessage) -> str:
    ctype = msg.header("Content-Type")
    return ctype.split(";", 1)[0].strip().lower() if ctype else "text/plain"


def message_json(
    msg: StoredMessage, fmt: str = "full", metadata_headers: list[str] | None = None
) -> dict[str, Any]:
    """A Gmail ``Message`` resource in ``minimal|metadata|full|raw`` format."""
    out: dict[str, Any] = {
        "id": msg.id,
        "threadId": msg.thread_id,
        "labelIds": sorted(msg.labels),
        "snippet": msg.snippet,
        "sizeEstimate": msg.size,
        "historyId": str(msg.history_id),
        "internalDate": str(msg.internal_date_ms),
    }
    if fmt == "metadata":
        wanted = {h.lower() for h in metadata_headers or ()}
        headers = [
            {"name": k, "value": v} for k, v in msg.headers if not wanted or k.lower() in wanted
        ]
        out["payload"] = {
            "partId": "",
            "mimeType": _mime_type(msg),
            "filename": "",
            "headers": headers,
            "body": {"size": 0},
        }
    elif fmt == "full":
        out["payload"] = msg.payload
    elif fmt == "raw":
        out["raw"] = b64url(msg.raw)
    return out


def _ref(msg: StoredMessage) -> dict[str, Any]:
    return {"id": msg.id, "threadId": msg.thread_id}


def draft_json(mailbox: Mailbox, draft: Draft, fmt: str | None = None) -> dict[str, Any]:
    msg = mailbox.get_message(draft.message_id)
    if fmt is None:
        body = {"id": msg.id, "threadId": msg.thread_id, "labelIds": sorted(msg.labels)}
    else:
        body = message_json(msg, fmt)
    return {"id": draft.id, "message": body}


# ----------------------------------------------------------------------------- helpers
def _int(ctx: CallContext, name: str, default: int, lo: int, hi: int) -> int:
    value = ctx.query(name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError as exc:
        raise ApiError(400, "invalidArgument", f"Invalid value for {name}: {value}") from exc
    return max(lo, min(hi, number))


def _page(items: list[Any], ctx: CallContext, default: int, hi: int) -> tuple[list[Any], str]:
    size = _int(ctx, "maxResults", default, 1, hi)
    token = ctx.query("pageToken") or "0"
    try:
        start = int(token, 16)
    except ValueError as exc:
        raise ApiError(400, "invalidArgument", "Invalid pageToken") from exc
    end = start + size
    return items[start:end], (f"{end:012x}" if end < len(items) else "")


def _fmt(ctx: CallContext, default: str = "full") -> str:
    fmt = (ctx.query("format") or default).lower()
    if fmt not in ("minimal", "metadata", "full", "raw"):
        raise ApiError(400, "invalidArgument", f"Invalid value for format: {fmt}")
    return fmt


def matching_messages(
    mailbox: Mailbox, q: str, label_ids: list[str], include_spam_trash: bool, now_ms: int
) -> list[StoredMessage]:
    """The messages ``messages.list`` returns, newest first (cached per mailbox version)."""
    day = now_ms // 60000  # newer_than: moves with time; a minute's granularity is plenty
    key = (id(mailbox), mailbox.version, q, tuple(label_ids), include_spam_trash, day)
    hit = _LIST_CACHE.get(key)
    if hit is not None:
        _LIST_CACHE.move_to_end(key)
        return hit
    try:
        query = parse_query(q, mailbox, now_ms)
    except QueryError as exc:
        raise ApiError(400, "invalidArgument", f"Invalid query: {exc}") from exc
    wanted = [mailbox.label_id(x) or x for x in label_ids]
    hide = (
        not include_spam_trash
        and not query.mentions_spam_trash
        and not ({"SPAM", "TRASH"} & set(wanted))
    )
    out = [
        m
        for m in mailbox.sorted_messages()
        if not (hide and ({"SPAM", "TRASH"} & m.labels))
        and all(w in m.labels for w in wanted)
        and query(m)
    ]
    _LIST_CACHE[key] = out
    while len(_LIST_CACHE) > 64:
        _LIST_CACHE.popitem(last=False)
    return out


def _raw_from_body(ctx: CallContext) -> tuple[bytes, str | None]:
    """The raw MIME and threadId of a drafts.create/update call (JSON or media upload)."""
    message = (ctx.body or {}).get("message") or {}
    raw = message.get("raw")
    if not raw:
        raise ApiError(400, "invalidArgument", "Missing draft message")
    try:
        return b64url_decode(raw), message.get("threadId")
    except ValueError as exc:
        raise ApiError(400, "invalidArgument", "Invalid raw: not base64url") from exc


async def _upload_body(request: Request) -> dict[str, Any] | None:
    """Media uploads (``/upload/...``): ``uploadType=media`` (message/rfc822) or
    ``multipart`` (JSON metadata + the message), turned into the JSON form."""
    kind = request.query_params.get("uploadType")
    if not kind:
        return None
    data = await request.body()
    ctype = request.headers.get("content-type", "")
    if kind == "media":
        return {"message": {"raw": b64url(data)}}
    parsed = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + data
    )
    meta: dict[str, Any] = {}
    raw = b""
    parts: list[Any] = parsed.get_payload() if parsed.is_multipart() else []  # type: ignore[assignment]
    for part in parts:
        if part.get_content_type() == "application/json":
            meta = json.loads(part.get_payload(decode=True) or b"{}")
        elif part.get_content_maintype() == "message" and part.is_multipart():
            raw = part.get_payload(0).as_bytes()  # message/rfc822 is parsed as a sub-message
        else:
            raw = part.get_payload(decode=True) or b""
    message = meta.setdefault("message", {})
    message["raw"] = b64url(raw)
    return meta


# ----------------------------------------------------------------------------- handlers
def get_profile(ctx: CallContext) -> dict[str, Any]:
    mb = ctx.mailbox
    return {
        "emailAddress": ctx.account.address,
        "messagesTotal": len(mb.messages),
        "threadsTotal": len(mb.threads),
        "historyId": str(mb.history_id),
    }


def list_send_as(ctx: CallContext) -> dict[str, Any]:
    """``users.settings.sendAs.list``: the primary address first (``isPrimary``,
    ``isDefault``), then each alias (``treatAsAlias``, ``verificationStatus`` accepted, or
    pending for ``pending_aliases``). As on the wire, false booleans are left out."""
    account = ctx.account
    name = account.display_name
    entries: list[dict[str, Any]] = [
        {
            "sendAsEmail": account.address,
            "displayName": name,
            "replyToAddress": "",
            "signature": "",
            "isPrimary": True,
            "isDefault": True,
        }
    ]
    for status, addresses in (
        ("accepted", account.aliases),
        ("pending", account.pending_aliases),
    ):
        for alias in addresses:
            entries.append(
                {
                    "sendAsEmail": alias,
                    "displayName": name,
                    "replyToAddress": "",
                    "signature": "",
                    "treatAsAlias": True,
                    "verificationStatus": status,
                }
            )
    return {"sendAs": entries}


def list_messages(ctx: CallContext) -> dict[str, Any]:
    include = (ctx.query("includeSpamTrash") or "false").lower() == "true"
    found = matching_messages(
        ctx.mailbox,
        ctx.query("q") or "",
        ctx.query_list("labelIds"),
        include,
        ctx.sandbox.clock.now_ms(),
    )
    page, token = _page(found, ctx, 100, 500)
    out: dict[str, Any] = {}
    if page:
        out["messages"] = [_ref(m) for m in page]
    if token:
        out["nextPageToken"] = token
    out["resultSizeEstimate"] = len(found)
    return out


def get_message(ctx: CallContext) -> dict[str, Any]:
    msg = ctx.mailbox.get_message(ctx.request.path_params["id"])
    return message_json(msg, _fmt(ctx), ctx.query_list("metadataHeaders"))


def delete_message(ctx: CallContext) -> Response:
    ctx.mailbox.delete_message(ctx.request.path_params["id"])
    return Response(status_code=204)


def modify_message(ctx: CallContext) -> dict[str, Any]:
    body = ctx.body or {}
    msg = ctx.mailbox.modify_labels(
        ctx.request.path_params["id"], body.get("addLabelIds", []), body.get("removeLabelIds", [])
    )
    return message_json(msg, "minimal")


def get_thread(ctx: CallContext) -> dict[str, Any]:
    thread_id = ctx.request.path_params["id"]
    msgs = ctx.mailbox.thread_messages(thread_id)
    fmt = _fmt(ctx)
    headers = ctx.query_list("metadataHeaders")
    return {
        "id": thread_id,
        "historyId": str(max(m.history_id for m in msgs)),
        "messages": [message_json(m, fmt, headers) for m in msgs],
    }


def list_labels(ctx: CallContext) -> dict[str, Any]:
    labels = [{"id": lid, "name": lid, "type": "system"} for lid in SYSTEM_LABELS]
    labels += [
        {
            "id": lid,
            "name": name,
            "type": "user",
            "messageListVisibility": "show",
            "labelListVisibility": "labelShow",
        }
        for lid, name in ctx.mailbox.labels.items()
    ]
    return {"labels": labels}


def list_history(ctx: CallContext) -> dict[str, Any]:
    start = ctx.query("startHistoryId")
    if not start or not start.isdigit():
        raise ApiError(400, "invalidArgument", "Invalid startHistoryId")
    types = set(ctx.query_list("historyTypes")) or set(HISTORY_TYPES)
    label = ctx.query("labelId")
    label = ctx.mailbox.label_id(label) if label else None
    records = [
        r
        for r in ctx.mailbox.changes_since(int(start))
        if r.kind in types
        and (
            label is None
            or label in r.label_ids
            or (
                r.message_id in ctx.mailbox.messages
                and label in ctx.mailbox.messages[r.message_id].labels
            )
        )
    ]
    page, token = _page(records, ctx, 100, 500)
    history = []
    for rec in page:
        live = ctx.mailbox.messages.get(rec.message_id)
        labels = sorted(live.labels) if live else rec.label_ids
        ref = {"id": rec.message_id, "threadId": rec.thread_id}
        entry: dict[str, Any] = {"id": str(rec.id), "messages": [ref]}
        item: dict[str, Any] = {"message": {**ref, "labelIds": labels}}
        if rec.kind in ("labelAdded", "labelRemoved"):
            item["labelIds"] = rec.label_ids
        entry[HISTORY_TYPES[rec.kind]] = [item]
        history.append(entry)
    out: dict[str, Any] = {}
    if history:
        out["history"] = history
    if token:
        out["nextPageToken"] = token
    out["historyId"] = str(ctx.mailbox.history_id)
    return out


def create_draft(ctx: CallContext) -> dict[str, Any]:
    raw, thread_id = _raw_from_body(ctx)
    if thread_id and thread_id not in ctx.mailbox.threads:
        raise ApiError(404, "notFound", "Requested entity was not found.")
    draft = ctx.mailbox.create_draft(raw, thread_id=thread_id)
    return draft_json(ctx.mailbox, draft)


def update_draft(ctx: CallContext) -> dict[str, Any]:
    raw, thread_id = _raw_from_body(ctx)
    draft = ctx.mailbox.update_draft(ctx.request.path_params["id"], raw, thread_id=thread_id)
    return draft_json(ctx.mailbox, draft)


def get_draft(ctx: CallContext) -> dict[str, Any]:
    draft = ctx.mailbox.get_draft(ctx.request.path_params["id"])
    return draft_json(ctx.mailbox, draft, _fmt(ctx))


def list_drafts(ctx: CallContext) -> dict[str, Any]:
    mb = ctx.mailbox
    drafts = sorted(
        mb.drafts.values(), key=lambda d: mb.messages[d.message_id].internal_date_ms, reverse=True
    )
    q = ctx.query("q")
    if q and not ctx.sandbox.loose_tag_filters:  # loose: the search is ignored
        try:
            query = parse_query(q, mb, ctx.sandbox.clock.now_ms())
        except QueryError as exc:
            raise ApiError(400, "invalidArgument", f"Invalid query: {exc}") from exc
        drafts = [d for d in drafts if query(mb.messages[d.message_id])]
    page, token = _page(drafts, ctx, 100, 500)
    out: dict[str, Any] = {}
    if page:
        out["drafts"] = [{"id": d.id, "message": _ref(mb.messages[d.message_id])} for d in page]
    if token:
        out["nextPageToken"] = token
    out["resultSizeEstimate"] = len(drafts)
    return out


def delete_draft(ctx: CallContext) -> Response:
    ctx.mailbox.delete_draft(ctx.request.path_params["id"])
    return Response(status_code=204)


# ----------------------------------------------------------------------------- routes
def _endpoint(method_id: str, handler: Handler, upload: bool = False):  # type: ignore[no-untyped-def]
    async def endpoint(request: Request) -> Response:
        if upload and request.query_params.get("uploadType"):
            body = await _upload_body(request)
            request._body = json.dumps(body).encode()  # the pipeline re-reads it as JSON
        return await api_call(
            request, method_id, handler, user_id=request.path_params.get("userId")
        )

    endpoint.__name__ = method_id.replace(".", "_")
    return endpoint


def routes() -> list[BaseRoute]:
    base = "/gmail/v1/users/{userId}"
    table: list[tuple[str, str, str, Handler]] = [
        ("/profile", "GET", "gmail.users.getProfile", get_profile),
        ("/messages", "GET", "gmail.users.messages.list", list_messages),
        ("/messages/{id}", "GET", "gmail.users.messages.get", get_message),
        ("/messages/{id}", "DELETE", "gmail.users.messages.delete", delete_message),
        ("/messages/{id}/modify", "POST", "gmail.users.messages.modify", modify_message),
        ("/threads/{id}", "GET", "gmail.users.threads.get", get_thread),
        ("/labels", "GET", "gmail.users.labels.list", list_labels),
        ("/settings/sendAs", "GET", "gmail.users.settings.sendAs.list", list_send_as),
        ("/history", "GET", "gmail.users.history.list", list_history),
        ("/drafts", "GET", "gmail.users.drafts.list", list_drafts),
        ("/drafts", "POST", "gmail.users.drafts.create", create_draft),
        ("/drafts/{id}", "GET", "gmail.users.drafts.get", get_draft),
        ("/drafts/{id}", "PUT", "gmail.users.drafts.update", update_draft),
        ("/drafts/{id}", "DELETE", "gmail.users.drafts.delete", delete_draft),
        ("/watch", "POST", "gmail.users.watch", pubsub.watch),
        ("/stop", "POST", "gmail.users.stop", pubsub.stop),
    ]
    out: list[BaseRoute] = []
    for path, method, method_id, handler in table:
        upload = method_id in ("gmail.users.drafts.create", "gmail.users.drafts.update")
        out.append(Route(base + path, _endpoint(method_id, handler, upload), methods=[method]))
        if upload:
            out.append(
                Route(
                    "/upload" + base + path, _endpoint(method_id, handler, upload), methods=[method]
                )
            )
    return out
