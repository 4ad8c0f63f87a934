"""Fixtures for the sandbox contract tests: a seeded sandbox served on a free port, and the
official Google clients built from the bundled discovery documents pointed at it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from rapportd.connectors.sandbox.clients import google_credentials, google_service
from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
from rapportd.connectors.sandbox.server import SandboxHandle, running_sandbox
from rapportd.connectors.sandbox.state import Sandbox

NOW = "2026-11-24T12:00:00Z"
ANA = "ana@example.com"
SCOPES = [
    "openid",
    "email",
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.compose",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
]


def mail(
    i: int,
    *,
    sender: str = "Bob <bob@partner.org>",
    to: str = ANA,
    days_ago: float = 1,
    subject: str | None = None,
    extra: str = "",
    body: str | None = None,
) -> str:
    when = datetime(2026, 11, 24, 12, tzinfo=UTC).timestamp() - days_ago * 86400
    date = datetime.fromtimestamp(when, UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject or f'Topic {i}'}\r\n"
        f"Date: {date}\r\nMessage-ID: <m{i}@partner.org>\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body or f'Hello Ana, this is message number {i}.'}\r\n"
    )


def scenario() -> dict[str, Any]:
    messages = [
        {"account": ANA, "raw": mail(i, days_ago=i * 3 + 0.5), "labels": ["INBOX"]}
        for i in range(30)
    ]
    messages.append(
        {
            "account": ANA,
            "labels": ["SENT"],
            "raw": mail(
                100,
                sender=f"Ana <{ANA}>",
                to="bob@partner.org",
                days_ago=0.2,
                subject="Re: Topic 0",
                extra="In-Reply-To: <m0@partner.org>\r\n",
            ),
        }
    )
    messages.append({"account": ANA, "labels": ["SPAM"], "raw": mail(200, days_ago=1)})
    events = [
        {
            "account": ANA,
            "id": f"evt{i:04d}",
            "summary": f"Meeting {i}",
            "start": f"2026-11-{10 + i:02d}T09:00:00+01:00",
            "end": f"2026-11-{10 + i:02d}T10:00:00+01:00",
            "timezone": "Europe/Paris",
            "organizer": "bob@partner.org",
            "attendees": [
                {"email": ANA, "name": "Ana", "response": "accepted"},
                {"email": "bob@partner.org", "name": "Bob", "response": "accepted"},
            ],
            "status": "confirmed",
        }
        for i in range(8)
    ]
    return {
        "version": 1,
        "now": NOW,
        "accounts": [
            {
                "provider": "google",
                "address": ANA,
                "display_name": "Ana",
                "timezone": "Europe/Paris",
                "owner": "ana",
            },
            {
                "provider": "google",
                "address": "carl@example.com",
                "display_name": "Carl",
                "timezone": "UTC",
                "owner": "carl",
            },
        ],
        "messages": messages,
        "events": events,
        "history_horizon_hours": 168,
    }


@pytest.fixture
def sandbox() -> Sandbox:
    return sandbox_from_scenario(scenario(), "test-scenario")


@pytest.fixture
def server(sandbox: Sandbox) -> Iterator[SandboxHandle]:
    with running_sandbox(sandbox) as handle:
        yield handle


def google_creds(handle: SandboxHandle, account: str = ANA, scopes: list[str] | None = None) -> Any:
    access, refresh = handle.sandbox.issue_tokens(account, scopes or SCOPES)
    return google_credentials(handle.base_url, access, refresh, scopes or SCOPES)


@pytest.fixture
def gmail(server: SandboxHandle) -> Any:
    return google_service("gmail", server.base_url, google_creds(server))


@pytest.fixture
def calendar(server: SandboxHandle) -> Any:
    return google_service("calendar", server.base_url, google_creds(server))


@pytest.fixture
def control(server: SandboxHandle) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.control_url, timeout=10) as client:
        yield client


@pytest.fixture
def make_creds(server: SandboxHandle) -> Any:
    """``make_creds(account=ANA, scopes=SCOPES)``: google-auth Credentials for the sandbox."""

    def make(account: str = ANA, scopes: list[str] | None = None) -> Any:
        return google_creds(server, account, scopes)

    return make


@pytest.fixture
def make_mail() -> Any:
    return mail
