"""Push endpoints: validation echo, clientState check, unknown senders ignored, rate limit."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.testclient import TestClient

from rapportd.agent.store.models import Account, PushSubscription
from rapportd.jobs import tasks
from rapportd.jobs.metrics import metrics_registry, metrics_route
from rapportd.jobs.push import RateLimiter, SyncTrigger, client_state_hash, push_routes
from rapportd.jobs.push_auth import GmailPushAuth

from .helpers import NOW, Recorder, add_account, add_owner

PUSH_TOKEN = "push-secret-for-tests-0123"
GMAIL_PUSH = f"/push/gmail?token={PUSH_TOKEN}"


def app_for(
    sessions: sessionmaker[Session], recorder: Recorder, limiter: RateLimiter | None = None
) -> TestClient:
    trigger = SyncTrigger(sessions, recorder, clock=lambda: NOW, debounce=0)
    auth = GmailPushAuth(token=PUSH_TOKEN)
    routes = push_routes(sessions, trigger, enqueue=recorder, limiter=limiter, gmail_auth=auth)
    return TestClient(
        Starlette(routes=[*routes, metrics_route(metrics_registry(sessions, lambda: {"sync": 3}))])
    )


def subscribe(sessions: sessionmaker[Session], account_id: int, owner_id: int, **kw: Any) -> None:
    with sessions() as s, s.begin():
        s.add(PushSubscription(owner_id=owner_id, account_id=account_id, **kw))


def test_graph_validation_token_is_echoed_as_text(sessions, recorder) -> None:
    client = app_for(sessions, recorder)
    r = client.post("/push/graph?validationToken=Validation%3A%20Testing%20client%20application")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "Validation: Testing client application"


def test_graph_notifications_need_the_right_client_state(sessions, recorder) -> None:
    owner = add_owner(sessions)
    acc = add_account(sessions, owner, provider="microsoft", next_sync_at=NOW.replace(year=2030))
    subscribe(
        sessions,
        acc,
        owner,
        provider="microsoft",
        subscription_id="sub-1",
        client_state_hash=client_state_hash("s3cret"),
    )
    client = app_for(sessions, recorder)
    forged = {
        "value": [{"subscriptionId": "sub-1", "clientState": "guess", "changeType": "created"}]
    }
    unknown = {"value": [{"subscriptionId": "nope", "clientState": "s3cret"}]}
    assert client.post("/push/graph", json=forged).status_code == 202
    assert client.post("/push/graph", json=unknown).status_code == 202
    assert recorder.sent == []
    genuine = {
        "value": [{"subscriptionId": "sub-1", "clientState": "s3cret", "changeType": "created"}]
    }
    assert client.post("/push/graph", json=genuine).status_code == 202
    assert recorder.sent == [(tasks.SYNC, acc)]
    with sessions() as s:
        assert s.get(Account, acc).next_sync_at == NOW  # type: ignore[union-attr]
    lifecycle = {
        "value": [
            {
                "subscriptionId": "sub-1",
                "clientState": "s3cret",
                "lifecycleEvent": "reauthorizationRequired",
            }
        ]
    }
    client.post("/push/graph", json=lifecycle)
    assert recorder.sent[-1][0] == tasks.RENEW_PUSH
    assert client.post("/push/graph", content=b"not json").status_code == 400


def test_gmail_push_only_counts_for_watched_accounts(sessions, recorder) -> None:
    owner = add_owner(sessions)
    watched = add_account(sessions, owner, "ana@example.com")
    add_account(sessions, owner, "other@example.com")
    subscribe(sessions, watched, owner, provider="google", subscription_id="watch-1")
    client = app_for(sessions, recorder)

    def note(email: str) -> dict[str, Any]:
        data = base64.urlsafe_b64encode(
            json.dumps({"emailAddress": email, "historyId": "9"}).encode()
        )
        return {
            "message": {"data": data.decode(), "messageId": "1"},
            "subscription": "projects/p/subscriptions/s",
        }

    assert client.post(GMAIL_PUSH, json=note("other@example.com")).status_code == 204
    assert recorder.sent == []
    assert client.post("/push/gmail", json=note("Ana@Example.com")).status_code == 401
    assert recorder.sent == []
    assert client.post(GMAIL_PUSH, json=note("Ana@Example.com")).status_code == 204
    assert recorder.sent == [(tasks.SYNC, watched)]
    assert client.post(GMAIL_PUSH, json={"nope": 1}).status_code == 400


def test_push_endpoints_are_rate_limited(sessions, recorder) -> None:
    clock = [0.0]
    limiter = RateLimiter(rate=1.0, burst=3, clock=lambda: clock[0])
    client = app_for(sessions, recorder, limiter)
    codes = [client.post("/push/graph", json={"value": []}).status_code for _ in range(5)]
    assert codes == [202, 202, 202, 429, 429]
    assert client.post("/push/graph?validationToken=x").status_code == 429  # echo too
    clock[0] += 1.0
    assert client.post("/push/graph", json={"value": []}).status_code == 202
    # Gmail has its own bucket, spent before authentication: guessing costs the guesser
    codes = [client.post("/push/gmail?token=guess", json={}).status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_metrics_report_lag_outbox_and_queue_depth(sessions, recorder) -> None:
    owner = add_owner(sessions)
    add_account(sessions, owner, last_sync_at=NOW)
    text = app_for(sessions, recorder).get("/metrics").text
    assert 'rapportd_sync_lag_seconds{account="' in text
    assert 'rapportd_queue_depth{queue="sync"} 3.0' in text
    assert "rapportd_tasks_total" in text
