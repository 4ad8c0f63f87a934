"""Push endpoints: a provider tells us an account changed, so we sync it sooner.

Polling stays the safety net; a push only moves the account's ``next_sync_at`` to now and
wakes a worker. Nothing in a notification is trusted beyond "this account may have news":

``POST /push/gmail``
    a Cloud Pub/Sub push message whose ``message.data`` is base64 JSON
    ``{"emailAddress", "historyId"}``. It must first prove it comes from our subscription
    (:mod:`rapportd.jobs.push_auth`: the ``?token=`` secret and/or a Google-signed OIDC
    token); otherwise 401 (403 when Gmail push is not configured at all), and 503 when
    Google's certificates cannot be fetched (Pub/Sub redelivers). A genuine one counts only
    for a Google account we hold a :class:`PushSubscription` (a Gmail watch) for. Answered
    204 so Pub/Sub does not redeliver, except 400 for a body that is not a Pub/Sub message.
``POST /push/graph``
    with ``?validationToken=…``: echo the token as ``text/plain`` (subscription set-up);
    otherwise Graph change notifications ``{"value": [...]}``: each must name a known
    subscription and carry a ``clientState`` whose SHA-256 matches
    ``PushSubscription.client_state_hash``; lifecycle notifications
    (``reauthorizationRequired`` …) ask for a renewal. Answered 202.

Both are rate-limited per client address (token bucket) and answer 429 beyond it.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from rapportd.agent.core.clock import now as clock_now
from rapportd.agent.core.logs import get_logger
from rapportd.agent.store.models import Account, PushSubscription
from rapportd.jobs import tasks
from rapportd.jobs.metrics import PUSH
from rapportd.jobs.push_auth import (
    CertsUnavailable,
    GmailPushAuth,
    PushRefused,
    client_state_hash,
)

log = get_logger(__name__)

Clock = Callable[[], float]


class RateLimiter:
    """A token bucket per key: ``burst`` requests at once, ``rate`` per second sustained."""

    def __init__(self, rate: float = 20.0, burst: int = 60, clock: Clock = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return False
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > 10_000:  # forget idle clients
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
            return True


class SyncTrigger:
    """Make an account due now and wake a worker, at most once per ``debounce`` seconds."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        enqueue: Callable[..., None],
        *,
        debounce: float = 5.0,
        clock: Callable[[], datetime] = clock_now,
    ) -> None:
        self.factory = factory
        self.enqueue = enqueue
        self.debounce = debounce
        self.clock = clock
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def __call__(self, account_id: int) -> bool:
        now = self.clock()
        with self.factory() as session, session.begin():
            session.execute(
                update(Account)
                .where(Account.id == account_id)
                .values(next_sync_at=now)
                .execution_options(synchronize_session=False)
            )
        with self._lock:
            mono = time.monotonic()
            if mono - self._last.get(account_id, -1e9) < self.debounce:
                return False
            self._last[account_id] = mono
        self.enqueue(tasks.SYNC, account_id)
        return True


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def _too_many() -> Response:
    return PlainTextResponse("too many requests", status_code=429, headers={"Retry-After": "1"})


def gmail_account_for(session: Session, email: str) -> int | None:
    """The Google account with this address that has a Gmail watch, if any."""
    return session.scalar(
        select(Account.id)
        .join(PushSubscription, PushSubscription.account_id == Account.id)
        .where(
            Account.provider == "google",
            func.lower(Account.address) == email.strip().lower(),
            PushSubscription.provider == "google",
            Account.status.in_(("ok", "error")),
        )
        .limit(1)
    )


def decode_pubsub(body: Any) -> dict[str, Any]:
    """The Gmail notification inside a Pub/Sub push body; ValueError if it is not one."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        raise ValueError("not a Pub/Sub push message")
    data = body["message"].get("data", "")
    try:
        decoded = json.loads(base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_"))
    except (binascii.Error, ValueError, TypeError):
        try:
            decoded = json.loads(base64.b64decode(data))
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValueError("message.data is not base64 JSON") from exc
    if not isinstance(decoded, dict) or "emailAddress" not in decoded:
        raise ValueError("message.data has no emailAddress")
    return decoded


def push_routes(
    factory: sessionmaker[Session],
    trigger: Callable[[int], bool],
    *,
    enqueue: Callable[..., None] | None = None,
    limiter: RateLimiter | None = None,
    gmail_auth: GmailPushAuth | None = None,
) -> list[Route]:
    """The push endpoints, for ``create_app(extra_routes=...)``. Without ``gmail_auth``
    (built from the ``google.push_*`` settings) every Gmail notification is refused."""
    limiter = limiter or RateLimiter()
    auth = gmail_auth or GmailPushAuth()

    async def gmail(request: Request) -> Response:
        if not limiter.allow(f"gmail:{_client(request)}"):
            PUSH.labels("google", "rate_limited").inc()
            return _too_many()
        try:
            await run_in_threadpool(
                auth.check, request.query_params.get("token"), request.headers.get("authorization")
            )
        except PushRefused as exc:
            PUSH.labels("google", "unauthenticated").inc()
            log.warning("gmail_push_refused", reason=str(exc), client=_client(request))
            status = 401 if auth.enabled else 403
            return PlainTextResponse("not authenticated", status_code=status)
        except CertsUnavailable as exc:
            PUSH.labels("google", "certs_unavailable").inc()
            log.warning("gmail_push_certs_unavailable", reason=str(exc))
            return PlainTextResponse("try again", status_code=503, headers={"Retry-After": "30"})
        try:
            note = decode_pubsub(await request.json())
        except ValueError as exc:
            PUSH.labels("google", "bad_request").inc()
            return PlainTextResponse(str(exc), status_code=400)
        with factory() as session:
            account_id = gmail_account_for(session, str(note["emailAddress"]))
        if account_id is None:
            PUSH.labels("google", "unknown").inc()
            return Response(status_code=204)
        trigger(account_id)
        PUSH.labels("google", "accepted").inc()
        return Response(status_code=204)

    async def graph(request: Request) -> Response:
        if not limiter.allow(f"graph:{_client(request)}"):
            PUSH.labels("microsoft", "rate_limited").inc()
            return _too_many()
        token = request.query_params.get("validationToken")
        if token is not None:
            PUSH.labels("microsoft", "validation").inc()
            return PlainTextResponse(
                token[:1024], status_code=200, headers={"X-Content-Type-Options": "nosniff"}
            )
        try:
            body = await request.json()
            items = body["value"]
            if not isinstance(items, list):
                raise TypeError
        except (ValueError, KeyError, TypeError):
            PUSH.labels("microsoft", "bad_request").inc()
            return PlainTextResponse("not a change notification", status_code=400)
        for item in items:
            if isinstance(item, dict):
                handle_graph_item(factory, item, trigger, enqueue)
        return Response(status_code=202)

    return [
        Route("/push/gmail", gmail, methods=["POST"]),
        Route("/push/graph", graph, methods=["POST", "GET"]),
    ]


def handle_graph_item(
    factory: sessionmaker[Session],
    item: dict[str, Any],
    trigger: Callable[[int], bool],
    enqueue: Callable[..., None] | None,
) -> bool:
    """Check one notification against its subscription; act on it if it is genuine."""
    sub_id = str(item.get("subscriptionId", ""))
    with factory() as session:
        sub = session.scalar(
            select(PushSubscription).where(
                PushSubscription.provider == "microsoft",
                PushSubscription.subscription_id == sub_id,
            )
        )
        if sub is None:
            PUSH.labels("microsoft", "unknown").inc()
            return False
        given = client_state_hash(str(item.get("clientState", "")))
        if not sub.client_state_hash or not hmac.compare_digest(given, sub.client_state_hash):
            PUSH.labels("microsoft", "bad_client_state").inc()
            log.warning("graph_push_bad_client_state", subscription_id=sub_id)
            return False
        account_id, row_id = sub.account_id, sub.id
    if item.get("lifecycleEvent"):
        PUSH.labels("microsoft", "lifecycle").inc()
        if enqueue is not None:
            enqueue(tasks.RENEW_PUSH, row_id)
        if item.get("lifecycleEvent") == "missed":
            trigger(account_id)
        return True
    trigger(account_id)
    PUSH.labels("microsoft", "accepted").inc()
    return True
