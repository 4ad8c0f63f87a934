"""Gmail push notifications: ``users.watch`` / ``users.stop`` and a Cloud Pub/Sub stand-in.

What Gmail does: ``POST /gmail/v1/users/{userId}/watch`` with ``{"topicName":
"projects/<p>/topics/<t>", "labelIds"?, "labelFilterBehavior"?}`` makes Gmail publish, on
every change of the mailbox, a Pub/Sub message whose data is the JSON
``{"emailAddress": address, "historyId": <the new history id>}``. The answer is
``{"historyId", "expiration"}`` (both decimal strings; the watch lasts 7 days and a new
``watch`` call renews / replaces it). ``users.stop`` ends it (204). With ``labelIds``,
``include`` (the default) notifies only changes of messages carrying one of the labels,
``exclude`` only changes of messages carrying none.

What Pub/Sub does with it: each push subscription of the topic gets an HTTP POST of
``{"message": {"data": base64(data), "messageId", "publishTime"}, "subscription": name}``
(plus ``message_id`` / ``publish_time``, which Pub/Sub sends too)
to its push endpoint, with ``Authorization: Bearer <OIDC token>`` when the subscription
pushes authenticated; anything but 102/200/201/202/204 is a nack and is retried.

The sandbox has no topics to create and no IAM: a topic exists once named, and
subscriptions are made through the control API (``/_sandbox/pubsub/...``, below). Pushes
leave from the sandbox's delivery worker (:mod:`push`), never inside the request that
changed the mailbox.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rapportd.connectors.sandbox import signing
from rapportd.connectors.sandbox.calls import ApiError, CallContext
from rapportd.connectors.sandbox.control import PREFIX, Body, ControlError, View, _view
from rapportd.connectors.sandbox.push import (
    GmailWatch,
    Job,
    PubSubSubscription,
    PushState,
    is_pubsub_ack,
    listen_mail,
    push_state,
)
from rapportd.connectors.sandbox.state import HistoryRecord, Mailbox, Sandbox, StoredMessage

WATCH_LIFETIME = timedelta(days=7)
DEFAULT_PUSH_ACCOUNT = "pubsub-push@sandbox.iam.gserviceaccount.com"
SUBSCRIPTION_PREFIX = "projects/sandbox/subscriptions/"
MESSAGE_ID_BASE = 2070443601311540  # Pub/Sub message ids are long decimal strings
TOPIC = re.compile(r"^projects/[^/\s]+/topics/[^/\s]+$")
PUSH_USER_AGENT = "APIs-Google; (+https://developers.google.com/webmasters/APIs-Google.html)"


# --------------------------------------------------------------------------- Gmail API
def watch(ctx: CallContext) -> dict[str, Any]:
    """``gmail.users.watch``: set (or replace) the mailbox's watch."""
    body = ctx.body if isinstance(ctx.body, dict) else {}
    topic = str(body.get("topicName") or "")
    if not TOPIC.match(topic):
        raise ApiError(
            400,
            "invalidArgument",
            "Invalid topicName does not match projects/SOME-PROJECT/topics/SOME-TOPIC",
        )
    behavior = str(body.get("labelFilterBehavior") or body.get("labelFilterAction") or "include")
    if behavior.lower() not in ("include", "exclude"):
        raise ApiError(400, "invalidArgument", f"Invalid labelFilterBehavior: {behavior}")
    labels = [str(x) for x in body.get("labelIds") or []]
    mailbox = ctx.mailbox
    expiration = ctx.sandbox.now() + WATCH_LIFETIME
    state = push_state(ctx.sandbox)
    state.watches[ctx.account.address] = GmailWatch(
        ctx.account.address,
        topic,
        frozenset(mailbox.label_id(x) or x for x in labels),
        behavior.lower(),
        expiration,
    )
    listen_mail(ctx.sandbox, on_mail_change)
    return {
        "historyId": str(mailbox.history_id),
        "expiration": str(int(expiration.timestamp() * 1000)),
    }


def stop(ctx: CallContext) -> Response:
    """``gmail.users.stop``: no more pushes for this mailbox (204, also without a watch)."""
    if ctx.sandbox.push_state is not None:
        ctx.sandbox.push_state.watches.pop(ctx.account.address, None)
    return Response(status_code=204)


def watch_matches(watch: GmailWatch, record: HistoryRecord, msg: StoredMessage) -> bool:
    """Does this change pass the watch's label filter?"""
    if not watch.label_ids:
        return True
    if watch.behavior == "exclude":
        return not (msg.labels & watch.label_ids)
    return bool((msg.labels | set(record.label_ids)) & watch.label_ids)


def on_mail_change(mailbox: Mailbox, record: HistoryRecord, msg: StoredMessage) -> None:
    """Mail listener (called under the lock): publish for a watched mailbox's change."""
    state = mailbox.sandbox.push_state
    if state is None or not state.watches:
        return
    found = state.watches.get(mailbox.account.address)
    if found is None or found.expiration <= mailbox.sandbox.now():
        return
    if watch_matches(found, record, msg):
        data = {"emailAddress": mailbox.account.address, "historyId": record.id}
        publish(state, found.topic, data)


# --------------------------------------------------------------------------- Pub/Sub
def publish(state: PushState, topic: str, data: dict[str, Any]) -> int:
    """Publish ``data`` (JSON) to ``topic``: one push per subscription of it. Returns how
    many pushes were queued (a topic without subscriptions drops the message, as Pub/Sub
    does)."""
    subs = [s for s in state.pubsub.values() if s.topic == topic]
    if not subs:
        return 0
    state.message_seq += 1
    message_id, published = str(MESSAGE_ID_BASE + state.message_seq), _rfc3339(state.sandbox)
    message = {  # Pub/Sub's push body carries both spellings of the id and time
        "data": base64.b64encode(json.dumps(data).encode()).decode(),
        "messageId": message_id,
        "message_id": message_id,
        "publishTime": published,
        "publish_time": published,
    }
    for sub in subs:
        body = {"message": dict(message), "subscription": sub.name}
        state.deliverer.submit(
            Job(sub.push_endpoint, "pubsub", body, _push_headers(sub), is_pubsub_ack)
        )
    return len(subs)


def _rfc3339(sandbox: Sandbox) -> str:
    now = sandbox.now()
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def _push_headers(sub: PubSubSubscription) -> Callable[[], dict[str, str]]:
    def headers() -> dict[str, str]:
        out = {"User-Agent": PUSH_USER_AGENT}
        if sub.audience:
            token = signing.pubsub_push_token(sub.audience, sub.service_account)
            out["Authorization"] = f"Bearer {token}"
        return out

    return headers


# --------------------------------------------------------------------------- control API
def _sub_json(sub: PubSubSubscription) -> dict[str, Any]:
    return {
        "name": sub.name,
        "topic": sub.topic,
        "push_endpoint": sub.push_endpoint,
        "audience": sub.audience or None,
        "service_account": sub.service_account or None,
    }


def create_subscription(sandbox: Sandbox, request: Request, body: Body) -> Any:
    """``{"topic", "push_endpoint", "audience"?, "service_account"?}``. Pushes are signed
    when ``audience`` or ``service_account`` is given (the audience defaults to the push
    endpoint, as Pub/Sub's does; the account to a sandbox one)."""
    topic, endpoint = str(body.get("topic") or ""), str(body.get("push_endpoint") or "")
    if not TOPIC.match(topic):
        raise ControlError(400, "topic must look like projects/<project>/topics/<topic>")
    if not endpoint.startswith(("http://", "https://")):
        raise ControlError(400, "push_endpoint must be an http(s) URL")
    audience = str(body.get("audience") or "")
    account = str(body.get("service_account") or "")
    if account and not audience:
        audience = endpoint
    state = push_state(sandbox)
    state.pubsub_seq += 1
    name = f"{SUBSCRIPTION_PREFIX}{state.pubsub_seq}"
    sub = PubSubSubscription(
        name, topic, endpoint, audience, account or (DEFAULT_PUSH_ACCOUNT if audience else "")
    )
    state.pubsub[name] = sub
    return _sub_json(sub)


def list_subscriptions(sandbox: Sandbox, request: Request, body: Body) -> Any:
    return {"subscriptions": [_sub_json(s) for s in push_state(sandbox).pubsub.values()]}


def clear_subscriptions(sandbox: Sandbox, request: Request, body: Body) -> Any:
    state = push_state(sandbox)
    removed = len(state.pubsub)
    state.pubsub.clear()
    return {"removed": removed}


def list_watches(sandbox: Sandbox, request: Request, body: Body) -> Any:
    watches = push_state(sandbox).watches.values()
    return {
        "watches": [
            {
                "address": w.address,
                "topic": w.topic,
                "label_ids": sorted(w.label_ids),
                "label_filter_behavior": w.behavior,
                "expiration": w.expiration.isoformat(),
            }
            for w in watches
        ]
    }


def deliveries(sandbox: Sandbox, request: Request, body: Body) -> Any:
    """Every push attempted so far (Pub/Sub and Graph), oldest first."""
    if sandbox.push_state is None:
        return {"deliveries": []}
    return {"deliveries": [r.as_json() for r in sandbox.push_state.deliverer.snapshot()]}


def clear_deliveries(sandbox: Sandbox, request: Request, body: Body) -> Any:
    if sandbox.push_state is not None:
        sandbox.push_state.deliverer.clear()
    return {"deliveries": []}


def routes() -> list[BaseRoute]:
    """The Pub/Sub stand-in's control routes (Gmail's watch/stop are in gmail.py)."""
    table: list[tuple[str, str, View]] = [
        ("/pubsub/subscriptions", "POST", create_subscription),
        ("/pubsub/subscriptions", "GET", list_subscriptions),
        ("/pubsub/subscriptions", "DELETE", clear_subscriptions),
        ("/pubsub/watches", "GET", list_watches),
        ("/pubsub/deliveries", "GET", deliveries),
        ("/pubsub/deliveries", "DELETE", clear_deliveries),
    ]
    return [Route(PREFIX + p, _view(f), methods=[m]) for p, m, f in table]
