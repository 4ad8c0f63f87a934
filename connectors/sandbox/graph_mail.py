"""Graph mail handlers: folder deltas, get / list / patch / delete, drafts and reply drafts.

Handlers run inside :func:`rapportd.connectors.sandbox.calls.api_call` (token, faults,
quota and the sandbox lock are already taken care of) and return JSON dicts or raise
:class:`~rapportd.connectors.sandbox.calls.ApiError`.

Mail delta: the first round pages the folder's current messages (newest first, a cursor
on (date, id) so mail arriving meanwhile does not shift pages) and ends with a deltaLink
holding the mailbox's change-log position and sync epoch. A later round replays the change
log from there: messages now in the folder come back whole, those that left or were
deleted as ``{"@removed": {"reason": "deleted"}, "id": …}``. A link from before
``expire_sync_tokens`` answers 410 ``syncStateNotFound``; one older than the change log's
horizon 410 ``resyncRequired``.
"""

from __future__ import annotations

import html
from typing import Any

from starlette.responses import JSONResponse, Response

from rapportd.connectors.sandbox import graph_ids as gid
from rapportd.connectors.sandbox.calls import ApiError, CallContext
from rapportd.connectors.sandbox.graph_shapes import (
    compose_mime,
    draft_fields,
    message_json,
    utc_iso,
)
from rapportd.connectors.sandbox.mime import parse_headers
from rapportd.connectors.sandbox.state import (
    FOLDER_LABEL,
    HistoryGone,
    Mailbox,
    StoredMessage,
)

DEFAULT_PAGE = 10
MAX_PAGE = 1000


def base_url(ctx: CallContext) -> str:
    url = ctx.request.url
    return f"{url.scheme}://{url.netloc}/v1.0"


def not_found(what: str = "message") -> ApiError:
    return ApiError(
        404, "ErrorItemNotFound", f"The specified object was not found in the store. ({what})"
    )


def page_size(ctx: CallContext, prefer: gid.Prefer, default: int = DEFAULT_PAGE) -> int:
    top = ctx.query("$top") or ctx.query("top")
    if top and top.isdigit():
        return max(1, min(MAX_PAGE, int(top)))
    return max(1, min(MAX_PAGE, prefer.max_page_size or default))


def find_message(ctx: CallContext, graph_id: str) -> StoredMessage:
    try:
        internal, folder = gid.decode_message_id(graph_id)
    except ValueError as exc:
        raise ApiError(400, "ErrorInvalidIdMalformed", "Id is malformed.") from exc
    msg = ctx.mailbox.messages.get(internal)
    if msg is None or (folder is not None and folder != msg.folder):
        raise not_found()  # a REST id minted before the message moved no longer resolves
    return msg


def _render(
    ctx: CallContext, msg: StoredMessage, prefer: gid.Prefer, select: list[str] | None
) -> dict[str, Any]:
    expand, only = gid.parse_expand_props(ctx.query("$expand") or "")
    return message_json(
        msg, ctx.account, prefer, select=select, expand_props=expand, expand_only=only
    )


def _headers(prefer: gid.Prefer) -> dict[str, str]:
    return {"Preference-Applied": ", ".join(prefer.applied)} if prefer.applied else {}


def _touch(mailbox: Mailbox, msg: StoredMessage) -> None:
    """Record a change to ``msg`` in the change log (so deltas return it again)."""
    mailbox._record("labelAdded", msg, [])


def _replace_raw(mailbox: Mailbox, msg: StoredMessage, raw: bytes) -> None:
    msg.raw = raw
    msg.headers = parse_headers(raw)
    msg._payload = None
    msg._snippet = None
    msg.extra.pop("_bodies", None)
    rfc = msg.header("Message-ID")
    if rfc:
        mailbox.rfc_ids[rfc.strip()] = msg.id


# --------------------------------------------------------------------------- delta
def mail_delta(ctx: CallContext, folder_ref: str) -> JSONResponse:
    folder = gid.folder_name(folder_ref)
    if folder is None:
        raise not_found("folder")
    mb = ctx.mailbox
    prefer = gid.parse_prefer(ctx.request)
    skip, delta = ctx.query("$skiptoken"), ctx.query("$deltatoken")
    try:
        state = gid.decode_token(skip or delta) if (skip or delta) else None
    except ValueError as exc:
        raise ApiError(400, "BadRequest", "Invalid delta or skip token.") from exc
    if state is None:
        flt = ctx.query("$filter") or ""
        received = gid.parse_received_filter(flt) if flt else None
        if flt and received is None:
            raise ApiError(
                400,
                "ErrorInvalidUrlQueryFilter",
                "The query filter is not supported by the sandbox.",
            )
        state = {
            "p": "init",
            "h": mb.history_id,
            "e": mb.sync_epoch,
            "sel": ctx.query("$select") or "",
            "n": page_size(ctx, prefer),
            "a": None,
            "f": list(received) if received else None,  # the first round's receivedDateTime
        }
    elif delta:
        state = {**state, "p": "replay", "h1": mb.history_id, "o": 0}
    if prefer.max_page_size:
        state["n"] = max(1, min(MAX_PAGE, prefer.max_page_size))
    if state.get("e") != mb.sync_epoch:
        raise ApiError(
            410,
            "syncStateNotFound",
            "The sync state generation is invalid or "
            "has expired. Restart the sync without a delta token.",
        )
    select = gid.parse_select(state.get("sel"))
    n = int(state.get("n") or DEFAULT_PAGE)
    if state["p"] == "init":
        items, more, cursor = _initial_page(mb, folder, state.get("a"), n, state.get("f"))
        value = [_render(ctx, m, prefer, select) for m in items]
        state["a"] = cursor
    else:
        value, more = _replay_page(ctx, folder, state, n, prefer, select)
        state["o"] = int(state.get("o", 0)) + n
    link = f"{base_url(ctx)}/me/mailFolders/{folder}/messages/delta"
    body: dict[str, Any] = {
        "@odata.context": f"{base_url(ctx)}/$metadata#Collection(message)",
        "value": value,
    }
    if more:
        body["@odata.nextLink"] = f"{link}?$skiptoken={gid.encode_token(state)}"
    else:
        end = state.get("h1", state["h"])
        token = {"h": end, "e": state["e"], "sel": state.get("sel", ""), "n": n}
        body["@odata.deltaLink"] = f"{link}?$deltatoken={gid.encode_token(token)}"
    return JSONResponse(body, headers=_headers(prefer))


def _initial_page(
    mb: Mailbox, folder: str, after: list[Any] | None, n: int, received: list[Any] | None = None
) -> tuple[list[StoredMessage], bool, list[Any] | None]:
    out: list[StoredMessage] = []
    key_after = tuple(after) if after else None
    for msg in mb.sorted_messages():  # newest first
        if msg.folder != folder:
            continue
        if received and not gid.received_matches(received[0], received[1], msg.internal_date_ms):
            continue
        if key_after is not None and (msg.internal_date_ms, msg.id) >= key_after:
            continue
        if len(out) == n:
            return out, True, [out[-1].internal_date_ms, out[-1].id]
        out.append(msg)
    return out, False, None


def _replay_page(
    ctx: CallContext,
    folder: str,
    state: dict[str, Any],
    n: int,
    prefer: gid.Prefer,
    select: list[str] | None,
) -> tuple[list[dict[str, Any]], bool]:
    mb = ctx.mailbox
    try:
        records = mb.changes_since(int(state["h"]))
    except HistoryGone as exc:
        raise ApiError(
            410,
            "resyncRequired",
            "Resync required. Replace any local cached "
            "items with the items returned by a new sync.",
        ) from exc
    label = FOLDER_LABEL.get(folder, "")
    order: dict[str, bool] = {}  # message id -> touched this folder (insertion = order)
    for rec in records:
        if rec.id > int(state["h1"]):
            break
        concerns = rec.folder == folder or label in rec.label_ids
        earlier = order.pop(rec.message_id, False)
        order[rec.message_id] = concerns or earlier
    ids = list(order)
    offset = int(state.get("o", 0))
    value: list[dict[str, Any]] = []
    for mid in ids[offset : offset + n]:
        msg = mb.messages.get(mid)
        if msg is not None and msg.folder == folder:
            value.append(_render(ctx, msg, prefer, select))
        elif order[mid]:
            value.append(
                {
                    "@odata.type": "#microsoft.graph.message",
                    "id": gid.message_id(mid, folder, prefer.immutable_ids),
                    "@removed": {"reason": "deleted"},
                }
            )
    return value, offset + n < len(ids)


# --------------------------------------------------------------------------- single items
def get_message(ctx: CallContext, graph_id: str) -> JSONResponse:
    prefer = gid.parse_prefer(ctx.request)
    msg = find_message(ctx, graph_id)
    data = _render(ctx, msg, prefer, gid.parse_select(ctx.query("$select")))
    data["@odata.context"] = (
        f"{base_url(ctx)}/$metadata#users('{ctx.account.address}')/messages/$entity"
    )
    return JSONResponse(data, headers=_headers(prefer))


def _apply_props(msg: StoredMessage, body: dict[str, Any]) -> None:
    for prop in body.get("singleValueExtendedProperties") or []:
        if not isinstance(prop, dict) or "id" not in prop:
            raise ApiError(400, "ErrorInvalidProperty", "Extended property needs an id.")
        props = msg.extra.setdefault("props", {})
        existing = next((k for k in props if gid.same_prop(k, str(prop["id"]))), None)
        props[existing or str(prop["id"])] = str(prop.get("value", ""))


DRAFT_FIELDS = ("subject", "body", "toRecipients", "ccRecipients", "bccRecipients")


def patch_message(ctx: CallContext, graph_id: str) -> JSONResponse:
    prefer = gid.parse_prefer(ctx.request)
    msg = find_message(ctx, graph_id)
    body = ctx.body or {}
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "Body must be a JSON object.")
    if any(k in body for k in DRAFT_FIELDS):
        if msg.folder != "drafts":
            raise ApiError(
                400,
                "ErrorInvalidPropertyUpdateSentMessage",
                "Update operation is not supported for sent or received messages.",
            )
        raw = compose_mime(
            ctx.account,
            body,
            now=ctx.sandbox.now(),
            base=draft_fields(msg),
            in_reply_to=msg.header("In-Reply-To") or "",
            references=msg.header("References") or "",
            message_id=msg.header("Message-ID") or "",
        )
        _replace_raw(ctx.mailbox, msg, raw)
    if "isRead" in body:
        msg.extra["isRead"] = bool(body["isRead"])
    if "categories" in body:
        msg.extra["categories"] = [str(c) for c in body.get("categories") or []]
    _apply_props(msg, body)
    _touch(ctx.mailbox, msg)
    data = _render(ctx, msg, prefer, None)
    return JSONResponse(data, headers=_headers(prefer))


def delete_message(ctx: CallContext, graph_id: str) -> Response:
    msg = find_message(ctx, graph_id)
    mb = ctx.mailbox
    draft = next((d for d in mb.drafts.values() if d.message_id == msg.id), None)
    if draft is not None:
        mb.delete_draft(draft.id)
    elif msg.folder == "deleteditems":
        mb.delete_message(msg.id)
    else:
        mb.move_message(msg.id, "deleteditems")
    return Response(status_code=204)


def _new_draft(
    ctx: CallContext, raw: bytes, body: dict[str, Any], thread_id: str | None = None
) -> JSONResponse:
    prefer = gid.parse_prefer(ctx.request)
    draft = ctx.mailbox.create_draft(raw, thread_id=thread_id, extra={"isRead": True})
    msg = ctx.mailbox.messages[draft.message_id]
    _apply_props(msg, body)
    if "categories" in body:
        msg.extra["categories"] = [str(c) for c in body.get("categories") or []]
    data = _render(ctx, msg, prefer, None)
    return JSONResponse(data, status_code=201, headers=_headers(prefer))


def create_message(ctx: CallContext) -> JSONResponse:
    body = ctx.body or {}
    if not isinstance(body, dict):
        raise ApiError(400, "BadRequest", "Body must be a JSON object.")
    raw = compose_mime(ctx.account, body, now=ctx.sandbox.now())
    return _new_draft(ctx, raw, body)


def create_reply(ctx: CallContext, graph_id: str) -> JSONResponse:
    """``createReply``: a draft in the same conversation, ``RE:`` subject, threaded headers."""
    original = find_message(ctx, graph_id)
    body = ctx.body or {}
    message = body.get("message") or {}
    mine = {ctx.account.address, *ctx.account.aliases}
    from_value = original.header("Reply-To") or original.header("From") or ""
    from email.utils import getaddresses

    sender = [(n, a) for n, a in getaddresses([from_value]) if a]
    if sender and sender[0][1].lower() in mine:  # replying to one's own mail: to its recipients
        sender = [(n, a) for n, a in getaddresses([original.header("To") or ""]) if a]
    subject = original.header("Subject") or ""
    if not subject.lower().startswith(("re:", "aw:", "sv:")):
        subject = f"RE: {subject}"
    plain = message_json(original, ctx.account, gid.Prefer(body_text=True))["body"]["content"]
    quoted = (
        '<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg">'
        f"<b>From:</b> {html.escape(original.header('From') or '')}<br>"
        f"<b>Sent:</b> {utc_iso(ctx.sandbox.now())}<br>"
        f"<b>To:</b> {html.escape(original.header('To') or '')}<br>"
        f"<b>Subject:</b> {html.escape(original.header('Subject') or '')}</div>"
        f"<div>{html.escape(plain).replace(chr(10), '<br>')}</div>"
    )
    comment = html.escape(str(body.get("comment") or "")).replace("\n", "<br>")
    fields: dict[str, Any] = {
        "subject": subject,
        "toRecipients": [{"emailAddress": {"name": n, "address": a}} for n, a in sender],
        "body": {
            "contentType": "html",
            "content": f"<html><body><div>{comment}</div>{quoted}</body></html>",
        },
    }
    fields.update({k: v for k, v in message.items() if k in DRAFT_FIELDS})
    rfc = original.header("Message-ID") or ""
    refs = " ".join(x for x in [original.header("References") or "", rfc] if x)
    raw = compose_mime(ctx.account, fields, now=ctx.sandbox.now(), in_reply_to=rfc, references=refs)
    return _new_draft(ctx, raw, message, thread_id=original.thread_id)


# --------------------------------------------------------------------------- lists
def list_messages(ctx: CallContext, folder_ref: str | None = None) -> JSONResponse:
    """``/me/messages`` (or one folder's) with ``$filter`` on an extended property,
    ``conversationId`` or ``internetMessageId``; ``$top`` / ``$skip`` paging."""
    prefer = gid.parse_prefer(ctx.request)
    folder = None
    if folder_ref is not None:
        folder = gid.folder_name(folder_ref)
        if folder is None:
            raise not_found("folder")
    flt = ctx.query("$filter") or ""
    ext = gid.parse_ext_filter(flt) if flt else None
    eq = gid.parse_eq_filter(flt) if flt and ext is None else None
    received = gid.parse_received_filter(flt) if flt and ext is None and eq is None else None
    if flt and ext is None and eq is None and received is None:
        raise ApiError(
            400, "ErrorInvalidUrlQueryFilter", "The query filter is not supported by the sandbox."
        )
    matched = []
    for msg in ctx.mailbox.sorted_messages():
        if folder is not None and msg.folder != folder:
            continue
        if ext is not None and not ctx.sandbox.loose_tag_filters:
            props = msg.extra.get("props", {})
            if not any(gid.same_prop(k, ext.prop_id) and v == ext.value for k, v in props.items()):
                continue
        if received is not None and not gid.received_matches(*received, msg.internal_date_ms):
            continue
        if eq is not None:
            name, value = eq
            if name.lower() == "conversationid" and gid.conversation_id(msg.thread_id) != value:
                continue
            if name.lower() == "internetmessageid" and (msg.header("Message-ID") or "") != value:
                continue
            if name.lower() not in ("conversationid", "internetmessageid"):
                raise ApiError(400, "ErrorInvalidUrlQueryFilter", f"Cannot filter on {name}.")
        matched.append(msg)
    n = page_size(ctx, prefer)
    skip = int(ctx.query("$skip") or 0)
    select = gid.parse_select(ctx.query("$select"))
    page = matched[skip : skip + n]
    body: dict[str, Any] = {
        "@odata.context": f"{base_url(ctx)}/$metadata#users('{ctx.account.address}')/messages",
        "value": [_render(ctx, m, prefer, select) for m in page],
    }
    if skip + n < len(matched):
        url = ctx.request.url.include_query_params(**{"$skip": str(skip + n), "$top": str(n)})
        body["@odata.nextLink"] = str(url)
    return JSONResponse(body, headers=_headers(prefer))
