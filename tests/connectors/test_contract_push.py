"""Push channels end to end, both providers, against the sandbox: the scheduler's task opens
them through the real connector (Gmail users.watch; Graph subscriptions, which the sandbox
validates against rapportd's own /push/graph), a delivered message makes the provider push
to rapportd's endpoint, which proves the push genuine (Pub/Sub OIDC token / clientState)
and makes the account due; renewal extends them, and a channel the provider lost is
forgotten so that the next tick opens a new one."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from e2e_support import serving
from sqlalchemy import select
from starlette.applications import Starlette

from rapportd.agent.core.settings import Settings
from rapportd.agent.store.models import Account, PushSubscription
from rapportd.jobs import tasks
from rapportd.jobs.push import push_routes
from rapportd.jobs.push_auth import CertsCache, GmailPushAuth, client_state_hash
from rapportd.jobs.runtime import Parts, Runtime

from .conftest import World

TOPIC = "projects/rapportd-test/topics/gmail"
AUDIENCE = "https://rapportd.test/push/gmail"
PUSHER = "gmail-push@rapportd-test.iam.gserviceaccount.com"


class Triggered:
    def __init__(self) -> None:
        self.accounts: list[int] = []
        self.enqueued: list[tuple[str, int]] = []

    def __call__(self, account_id: int) -> bool:
        self.accounts.append(account_id)
        return True

    def enqueue(self, actor: str, item_id: int, **_kw: Any) -> None:
        self.enqueued.append((actor, item_id))


@pytest.fixture
def pushed(world: World) -> Iterator[tuple[Runtime, Triggered, str]]:
    """rapportd's push endpoints served on a real port, and a runtime whose settings turn
    push on for both providers with that port as base_url."""
    triggered = Triggered()
    auth = GmailPushAuth(
        audience=AUDIENCE,
        service_account=PUSHER,
        certs=CertsCache(world.handle.base_url + "/oauth2/v1/certs"),
    )
    routes = push_routes(world.sessions, triggered, enqueue=triggered.enqueue, gmail_auth=auth)
    with serving(Starlette(routes=routes)) as base:
        settings: Settings = world.settings.model_copy(
            update={
                "base_url": base,
                "google": world.settings.google.model_copy(update={"push_topic": TOPIC}),
                "microsoft": world.settings.microsoft.model_copy(
                    update={"push_notifications": True}
                ),
            }
        )
        rt = Runtime(
            settings=settings,
            engine=world.sessions.kw["bind"],
            session_factory=world.sessions,
            parts=Parts.real(),
            enqueue=triggered.enqueue,
        )
        if world.provider == "google":  # the Pub/Sub push subscription set up in Google Cloud
            r = httpx.post(
                world.handle.control_url + "/pubsub/subscriptions",
                json={
                    "topic": TOPIC,
                    "push_endpoint": base + "/push/gmail",
                    "audience": AUDIENCE,
                    "service_account": PUSHER,
                },
                timeout=10,
            )
            r.raise_for_status()
        yield rt, triggered, base


def channels(world: World) -> list[PushSubscription]:
    with world.sessions() as s:
        return list(s.scalars(select(PushSubscription).order_by(PushSubscription.id)))


def deliver(world: World, subject: str) -> None:
    r = httpx.post(
        f"{world.handle.control_url}/accounts/{world.address}/deliver",
        json={"from": "zoe@partner.example", "subject": subject, "body": "Hello!"},
        timeout=10,
        verify=ssl.create_default_context(cafile=world.settings.microsoft.ca_file or None),
    )
    r.raise_for_status()
    world.sandbox.flush_deliveries()


def test_channels_open_push_and_renew(world: World, pushed: Any) -> None:
    rt, triggered, _base = pushed
    with world.sessions() as s, s.begin():  # the scheduler opens channels after a first sync
        account = s.get(Account, world.account_id)
        assert account is not None
        account.last_sync_at = datetime.now(UTC)
    assert tasks.run_ensure_push(rt, world.account_id) == "ok"
    opened = channels(world)
    if world.provider == "google":
        assert [c.subscription_id for c in opened] == [f"gmail-watch:{world.address}"]
        assert opened[0].resource == TOPIC
    else:
        assert len(opened) == 3 and all(c.client_state_hash for c in opened)
        assert {c.resource for c in opened} == {
            "me/mailFolders('inbox')/messages",
            "me/mailFolders('sentitems')/messages",
            "me/events",
        }
    now = datetime.now(UTC)
    assert all(now + timedelta(days=2) < c.expires_at < now + timedelta(days=8) for c in opened)
    assert tasks.run_ensure_push(rt, world.account_id) == "exists"

    deliver(world, "Pushed to you")
    assert world.account_id in triggered.accounts, "the provider's push did not reach a sync"

    # renewal extends; a channel the provider no longer has is forgotten, then reopened
    first = opened[0]
    assert tasks.run_renew_push(rt, first.id) == "ok"
    if world.provider == "microsoft":  # Graph drops it and says so in a lifecycle notification
        r = httpx.post(
            f"{world.handle.control_url}/graph/subscriptions/{first.subscription_id}/lifecycle",
            json={"event": "subscriptionRemoved"},
            timeout=10,
            verify=ssl.create_default_context(cafile=world.settings.microsoft.ca_file),
        )
        r.raise_for_status()
        assert (tasks.RENEW_PUSH, first.id) in triggered.enqueued
        assert tasks.run_renew_push(rt, first.id) == "lost"
        assert first.subscription_id not in {c.subscription_id for c in channels(world)}
        assert len(channels(world)) == 2


@pytest.mark.parametrize("provider", ["microsoft"])
def test_graph_notifications_without_the_client_state_do_nothing(world: World, pushed: Any) -> None:
    rt, triggered, base = pushed
    with world.sessions() as s, s.begin():
        account = s.get(Account, world.account_id)
        assert account is not None
        account.last_sync_at = datetime.now(UTC)
    tasks.run_ensure_push(rt, world.account_id)
    sub = channels(world)[0]
    forged = {
        "value": [
            {"subscriptionId": sub.subscription_id, "clientState": "guess", "changeType": "created"}
        ]
    }
    assert httpx.post(base + "/push/graph", json=forged, timeout=10).status_code == 202
    assert triggered.accounts == []
    assert sub.client_state_hash != client_state_hash("guess")
