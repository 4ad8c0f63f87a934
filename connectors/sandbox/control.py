"""The control API (``/_sandbox/...``, JSON): the person's side and the test harness's side.

The person: deliver mail, send / edit / delete a draft, accept / move / delete a hold.
The harness: the clock, faults, quotas, grants (mint / revoke), cursors (forget history,
expire sync tokens), counters and the request log. docs/SANDBOX.md lists every route.
"""

from __future__ import annotations

import email.policy
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from rapportd.agent.core.errors import BadData
from rapportd.connectors.sandbox.mime import b64url
from rapportd.connectors.sandbox.scenario import load_scenario
from rapportd.connectors.sandbox.state import (
    ConflictError,
    Mailbox,
    NotFoundError,
    Sandbox,
    SandboxError,
    StoredEvent,
    StoredMessage,
)

PREFIX = "/_sandbox"
Body = dict[str, Any]
View = Callable[[Sandbox, Request, Body], Any]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _view(fn: View) -> Callable[[Request], Awaitable[Response]]:
    async def endpoint(request: Request) -> Response:
        sandbox: Sandbox = request.app.state.sandbox
        body: Body = {}
        if request.method in ("POST", "PUT", "PATCH"):
            raw = await request.body()
            if raw:
                try:
                    body = await request.json()
                except ValueError:
                    return JSONResponse({"error": "body is not JSON"}, status_code=400)
        try:
            with sandbox.lock:
                result = fn(sandbox, request, body)
        except (NotFoundError, KeyError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=404)
        except ConflictError as exc:
            return JSONResponse({"error": str(exc)}, status_code=409)
        except ControlError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except (ValueError, TypeError, BadData, SandboxError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return result if isinstance(result, Response) else JSONResponse(result)

    endpoint.__name__ = fn.__name__
    return endpoint


def _mb(sandbox: Sandbox, request: Request) -> Mailbox:
    return sandbox.mailbox(request.path_params["address"])


def _props_tag(extra: dict[str, Any]) -> str:
    """rapportd's tag in a Graph item's extended properties (the only one it writes)."""
    props = extra.get("props") or {}
    return next((str(v) for k, v in props.items() if "rapportd" in k.lower()), "")


def message_text(msg: StoredMessage) -> str:
    """The plain text of a stored message (its text part, else its HTML as text)."""
    from rapportd.connectors import mime

    parsed = email.message_from_bytes(msg.raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    part = parsed.get_body(("plain", "html"))
    if part is None:
        return ""
    content = str(part.get_content())
    return mime._html_to_text(content) if part.get_content_type() == "text/html" else content


def message_summary(msg: StoredMessage) -> dict[str, Any]:
    return {
        "id": msg.id,
        "thread_id": msg.thread_id,
        "labels": sorted(msg.labels),
        "folder": msg.folder,
        "subject": msg.header("Subject") or "",
        "from": msg.header("From") or "",
        "to": msg.header("To") or "",
        "message_id": msg.header("Message-ID") or "",
        "rapportd_id": msg.header("X-Rapportd-Id") or "",
        "tag": msg.header("X-Rapportd-Id") or _props_tag(msg.extra),
        "internal_date_ms": msg.internal_date_ms,
    }


def event_summary(event: StoredEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "summary": event.summary,
        "start": event.start.isoformat(),
        "end": event.end.isoformat(),
        "status": event.status,
        "show_as": event.show_as,
        "deleted": event.deleted,
        "private": dict(event.private_props),
        "tag": event.private_props.get("rapportd") or _props_tag(event.extra),
        "timezone": event.timezone,
        "transaction_id": event.transaction_id,
        "attendees": event.attendees,
    }


# ----------------------------------------------------------------------------- world
def overview(sandbox: Sandbox, request: Request, body: Body) -> Any:
    return {
        "now": sandbox.now().isoformat(),
        "accounts": [
            {
                "address": a.address,
                "provider": a.provider,
                "owner": a.owner,
                "timezone": a.timezone,
                "messages": len(a.mailbox.messages),
                "drafts": len(a.mailbox.drafts),
                "events": len(a.mailbox.events),
                "history_id": a.mailbox.history_id,
            }
            for a in sandbox.accounts.values()
        ],
    }


def add_account(sandbox: Sandbox, request: Request, body: Body) -> Any:
    account = sandbox.add_account(
        body.get("provider", "google"),
        body["address"],
        display_name=body.get("display_name", ""),
        timezone=body.get("timezone", "UTC"),
        owner=body.get("owner", ""),
        aliases=body.get("aliases", []),
        pending_aliases=body.get("pending_aliases", []),
    )
    return {"address": account.address, "provider": account.provider}


def load(sandbox: Sandbox, request: Request, body: Body) -> Any:
    load_scenario(sandbox, body, "control:/load")
    return overview(sandbox, request, body)


def clock_advance(sandbox: Sandbox, request: Request, body: Body) -> Any:
    delta = timedelta(
        days=float(body.get("days", 0)),
        hours=float(body.get("hours", 0)),
        minutes=float(body.get("minutes", 0)),
        seconds=float(body.get("seconds", 0)),
    )
    if delta < timedelta():
        raise ControlError(400, "the clock only moves forward")
    return {"now": sandbox.clock.advance(delta).isoformat()}


def clock_get(sandbox: Sandbox, request: Request, body: Body) -> Any:
    return {"now": sandbox.now().isoformat()}


# ----------------------------------------------------------------------------- mail
def deliver(sandbox: Sandbox, request: Request, body: Body) -> Any:
    """New mail arrives (``raw``, or ``from``/``subject``/``body``[/``in_reply_to``])."""
    mb = _mb(sandbox, request)
    thread_id = None
    if body.get("raw"):
        raw = str(body["raw"]).encode()
    else:
        msg = EmailMessage()
        msg["From"] = body["from"]
        msg["To"] = body.get("to") or mb.account.address
        msg["Subject"] = body.get("subject", "")
        msg["Date"] = format_datetime(sandbox.now())
        msg["Message-ID"] = make_msgid(domain=str(body["from"]).split("@")[-1].strip("> "))
        parent_ref = body.get("in_reply_to")
        if parent_ref:
            parent = mb.messages.get(parent_ref)
            rfc = parent.header("Message-ID") if parent else parent_ref
            msg["In-Reply-To"] = rfc
            msg["References"] = rfc
            thread_id = parent.thread_id if parent else None
        for name, value in (body.get("headers") or {}).items():
            msg[name] = value
        msg.set_content(body.get("body", ""))
        raw = msg.as_bytes(policy=email.policy.SMTP)
    labels = body.get("labels")
    stored = mb.add_message(
        raw,
        labels=labels,
        folder=body.get("folder"),
        thread_id=thread_id,
        internal_date_ms=sandbox.clock.now_ms(),
    )
    if labels is None and mb.account.provider == "google" and "INBOX" in stored.labels:
        stored.labels.add("UNREAD")
    return message_summary(stored)


def list_messages(sandbox: Sandbox, request: Request, body: Body) -> Any:
    mb = _mb(sandbox, request)
    limit = int(request.query_params.get("limit", "50"))
    return {"messages": [message_summary(m) for m in mb.sorted_messages()[:limit]]}


def list_drafts(sandbox: Sandbox, request: Request, body: Body) -> Any:
    mb = _mb(sandbox, request)
    out = []
    for draft in mb.drafts.values():
        msg = mb.messages[draft.message_id]
        out.append(
            {
                "draft_id": draft.id,
                **message_summary(msg),
                "snippet": msg.snippet,
                "text": message_text(msg),
                "raw": b64url(msg.raw),
            }
        )
    return {"drafts": out}


def send_draft(sandbox: Sandbox, request: Request, body: Body) -> Any:
    mb = _mb(sandbox, request)
    return message_summary(mb.send_draft(request.path_params["draft_id"]))


def edited_raw(raw: bytes, *, text: str | None, subject: str | None) -> bytes:
    """``raw`` with a new text body and/or subject (what the person typed)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    if subject is not None:
        del msg["Subject"]
        msg["Subject"] = subject
    if text is not None:
        target = msg
        if msg.is_multipart():
            target = next((p for p in msg.walk() if p.get_content_type() == "text/plain"), msg)
        if target is msg and msg.is_multipart():
            msg.clear_content()
            msg.set_content(text)
        else:
            target.set_content(text)
    return msg.as_bytes(policy=email.policy.SMTP)


def edit_draft(sandbox: Sandbox, request: Request, body: Body) -> Any:
    """The person edits a draft (new message id, same draft id); ``send: true`` sends it."""
    mb = _mb(sandbox, request)
    draft = mb.get_draft(request.path_params["draft_id"])
    old = mb.messages[draft.message_id]
    raw = (
        str(body["raw"]).encode()
        if body.get("raw")
        else edited_raw(old.raw, text=body.get("body"), subject=body.get("subject"))
    )
    mb.update_draft(draft.id, raw)
    if body.get("send"):
        return message_summary(mb.send_draft(draft.id))
    return {"draft_id": draft.id, **message_summary(mb.messages[draft.message_id])}


def delete_draft(sandbox: Sandbox, request: Request, body: Body) -> Any:
    _mb(sandbox, request).delete_draft(request.path_params["draft_id"])
    return {"deleted": request.path_params["draft_id"]}


# ----------------------------------------------------------------------------- calendar
def list_events(sandbox: Sandbox, request: Request, body: Body) -> Any:
    mb = _mb(sandbox, request)
    key, _, value = request.query_params.get("private", "").partition("=")
    events = [e for e in mb.events.values() if not key or e.private_props.get(key) == value]
    return {"events": [event_summary(e) for e in sorted(events, key=lambda e: e.start)]}


def accept_hold(sandbox: Sandbox, request: Request, body: Body) -> Any:
    mb = _mb(sandbox, request)
    return event_summary(
        mb.update_event(request.path_params["event_id"], status="confirmed", show_as="busy")
    )


def move_hold(sandbox: Sandbox, request: Request, body: Body) -> Any:
    mb = _mb(sandbox, request)
    event = mb.get_event(request.path_params["event_id"])
    if body.get("start"):
        start = datetime.fromisoformat(str(body["start"]).replace("Z", "+00:00"))
        end = (
            datetime.fromisoformat(str(body["end"]).replace("Z", "+00:00"))
            if body.get("end")
            else start + (event.end - event.start)
        )
    else:
        delta = timedelta(
            minutes=float(body.get("minutes", 0)),
            hours=float(body.get("hours", 0)),
            days=float(body.get("days", 0)),
        )
        start, end = event.start + delta, event.end + delta
    if start.tzinfo is None or end.tzinfo is None:
        raise ControlError(400, "start/end need a UTC offset")
    return event_summary(mb.update_event(event.id, start=start, end=end))


def delete_hold(sandbox: Sandbox, request: Request, body: Body) -> Any:
    return event_summary(_mb(sandbox, request).delete_event(request.path_params["event_id"]))


# ----------------------------------------------------------------------------- harness
def faults_get(sandbox: Sandbox, request: Request, body: Body) -> Any:
    return {"faults": [f.as_json() for f in sandbox.faults.faults]}


def faults_add(sandbox: Sandbox, request: Request, body: Body) -> Any:
    items: list[Any] = body["faults"] if isinstance(body.get("faults"), list) else [body]
    if body.get("replace"):
        sandbox.faults.clear()
    return {"faults": [sandbox.faults.add_json(item).as_json() for item in items]}


def faults_clear(sandbox: Sandbox, request: Request, body: Body) -> Any:
    fault_id = request.path_params.get("fault_id")
    if fault_id is None:
        sandbox.faults.clear()
        return {"faults": []}
    if not sandbox.faults.remove(int(fault_id)):
        raise ControlError(404, f"no fault {fault_id}")
    return {"removed": int(fault_id)}


def quota(sandbox: Sandbox, request: Request, body: Body) -> Any:
    if body:
        sandbox.quota.update(body)
    return sandbox.quota.config.as_json()


def tokens(sandbox: Sandbox, request: Request, body: Body) -> Any:
    access, refresh = sandbox.issue_tokens(
        body["account"],
        body.get("scopes", []),
        client_id=body.get("client_id", "rapportd-sandbox"),
        lifetime=int(body.get("lifetime", 3600)),
    )
    return {"access_token": access, "refresh_token": refresh, "expires_in": 3600}


def pubsub_token(sandbox: Sandbox, request: Request, body: Body) -> Any:
    """The OIDC token Pub/Sub would attach to a push: ``{"audience", "service_account"}``."""
    from rapportd.connectors.sandbox import signing

    try:
        audience, account = str(body["audience"]), str(body["service_account"])
    except KeyError as exc:
        raise ControlError(400, f"missing {exc.args[0]!r}") from None
    lifetime = int(body.get("lifetime", 3600))
    return {"token": signing.pubsub_push_token(audience, account, lifetime=lifetime)}


def revoke(sandbox: Sandbox, request: Request, body: Body) -> Any:
    address = sandbox.account(request.path_params["address"]).address
    return {"revoked": sandbox.tokens.revoke_account(address)}


def forget_history(sandbox: Sandbox, request: Request, body: Body) -> Any:
    mb = _mb(sandbox, request)
    mb.forget_history()
    return {"history_id": mb.history_id}


def expire_sync(sandbox: Sandbox, request: Request, body: Body) -> Any:
    mb = _mb(sandbox, request)
    mb.expire_sync_tokens()
    return {"sync_epoch": mb.sync_epoch}


def stats(sandbox: Sandbox, request: Request, body: Body) -> Any:
    now = sandbox.now().timestamp()
    wanted = request.query_params.get("account")
    return {
        "accounts": {
            a.address: {
                **a.mailbox.counters.as_json(),
                "gmail_units_last_minute": sandbox.quota.gmail_used(a.address, now),
            }
            for a in sandbox.accounts.values()
            if not wanted or a.address == wanted.lower()
        },
        "requests": len(sandbox.log),
    }


def log(sandbox: Sandbox, request: Request, body: Body) -> Any:
    wanted = request.query_params.get("account")
    since = float(request.query_params.get("since", "0"))
    return {
        "entries": [
            e.as_json()
            for e in sandbox.log
            if e.start >= since and (not wanted or e.account == wanted.lower())
        ]
    }


def reset_counters(sandbox: Sandbox, request: Request, body: Body) -> Any:
    from rapportd.connectors.sandbox.state import Counters

    sandbox.log.clear()
    for account in sandbox.accounts.values():
        account.mailbox.counters = Counters()
    return {"reset": True}


def routes() -> list[BaseRoute]:
    acct = PREFIX + "/accounts/{address}"
    table: list[tuple[str, str, View]] = [
        ("", "GET", overview),
        ("/", "GET", overview),
        ("/accounts", "POST", add_account),
        ("/load", "POST", load),
        ("/clock", "GET", clock_get),
        ("/clock/advance", "POST", clock_advance),
        ("/faults", "GET", faults_get),
        ("/faults", "POST", faults_add),
        ("/faults", "DELETE", faults_clear),
        ("/faults/{fault_id}", "DELETE", faults_clear),
        ("/quota", "GET", quota),
        ("/quota", "POST", quota),
        ("/tokens", "POST", tokens),
        ("/pubsub/token", "POST", pubsub_token),
        ("/stats", "GET", stats),
        ("/log", "GET", log),
        ("/reset-counters", "POST", reset_counters),
    ]
    per_account: list[tuple[str, str, View]] = [
        ("/deliver", "POST", deliver),
        ("/messages", "GET", list_messages),
        ("/drafts", "GET", list_drafts),
        ("/drafts/{draft_id}/send", "POST", send_draft),
        ("/drafts/{draft_id}/edit", "POST", edit_draft),
        ("/drafts/{draft_id}", "DELETE", delete_draft),
        ("/events", "GET", list_events),
        ("/holds/{event_id}/accept", "POST", accept_hold),
        ("/holds/{event_id}/move", "POST", move_hold),
        ("/holds/{event_id}", "DELETE", delete_hold),
        ("/revoke", "POST", revoke),
        ("/forget-history", "POST", forget_history),
        ("/expire-sync-tokens", "POST", expire_sync),
    ]
    out: list[BaseRoute] = [Route(PREFIX + p, _view(f), methods=[m]) for p, m, f in table]
    out += [Route(acct + p, _view(f), methods=[m]) for p, m, f in per_account]
    return out
