"""Fixtures: a sandbox per test, seeded with a small world, and a store with the account
connected through the real OAuth flows (Google: code + PKCE; Microsoft: msal auth-code)."""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.db import session_factory, transaction
from rapportd.agent.store.models import Owner
from rapportd.connectors import oauth
from rapportd.connectors.sandbox.server import running_sandbox
from rapportd.connectors.sandbox.state import Sandbox, StoredEvent

from .world import MS_OWNER, OWNER, PEOPLE, fill_mailbox, settings_for


@dataclass
class World:
    provider: str
    address: str
    sandbox: Sandbox
    handle: Any
    settings: Settings
    sessions: sessionmaker[Session]
    account_id: int

    @property
    def mailbox(self) -> Any:
        return self.sandbox.mailbox(self.address)


def add_events(sandbox: Sandbox, address: str, count: int, *, seed: int = 3) -> None:
    mailbox = sandbox.mailbox(address)
    now = clock.now().replace(minute=0, second=0, microsecond=0)
    for i in range(count):
        start = now + timedelta(days=(i * 7) % 90 - 45, hours=i % 5)
        other = PEOPLE[i % len(PEOPLE)]
        mailbox.insert_event(
            StoredEvent(
                id=f"ev{seed}x{i:04d}",
                summary=f"Meeting {i}",
                start=start,
                end=start + timedelta(minutes=30),
                organizer=address,
                attendees=[
                    {"email": address, "name": "Owner", "response": "accepted"},
                    {"email": other, "name": "", "response": "accepted"},
                ],
            )
        )


def connect(
    settings: Settings, sessions: sessionmaker[Session], provider: str, address: str
) -> int:
    """Run the provider's real connect flow against the sandbox; return the account id."""
    if provider == "google":
        verifier = secrets.token_urlsafe(48)
        url = oauth.google_authorization_url(settings, "state-1", verifier, login_hint=address)
        answer = httpx.get(url, follow_redirects=False)
        query = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
        assert query["state"] == "state-1"
        result = oauth.google_exchange_code(settings, query["code"], verifier)
    else:
        flow = oauth.microsoft_auth_flow(settings, login_hint=address)
        ctx = ssl.create_default_context(cafile=settings.microsoft.ca_file)
        answer = httpx.get(flow["auth_uri"], follow_redirects=False, verify=ctx)
        query = dict(parse_qsl(urlsplit(answer.headers["location"]).query))
        result = oauth.microsoft_exchange(settings, flow, query)
    assert result["address"] == address
    with transaction(sessions) as session:
        owner = Owner(email=f"person+{address}")
        session.add(owner)
        session.flush()
        return oauth.connect_account(session, owner.id, provider, result, settings).id


def make_world(
    provider: str,
    engine: Any,
    *,
    messages: int = 40,
    events: int = 12,
    sandbox: Sandbox | None = None,
    **sync: Any,
) -> Iterator[World]:
    address = OWNER if provider == "google" else MS_OWNER
    sb = sandbox or Sandbox()
    sb.add_account(provider, address)  # type: ignore[arg-type]
    fill_mailbox(sb, address, messages)
    add_events(sb, address, events)
    with running_sandbox(sb, tls=provider == "microsoft") as handle:
        settings = settings_for(handle.base_url, handle.ca_file, **sync)
        sessions = session_factory(engine)
        account_id = connect(settings, sessions, provider, address)
        yield World(provider, address, sb, handle, settings, sessions, account_id)


@pytest.fixture(params=["google", "microsoft"])
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def world(provider: str, sqlite_engine: Any) -> Iterator[World]:
    yield from make_world(provider, sqlite_engine)
