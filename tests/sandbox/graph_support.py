"""Shared pieces of the Graph / msal contract tests: a small Microsoft scenario, a served
sandbox and an httpx client for Graph with a real bearer token."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
from rapportd.connectors.sandbox.server import SandboxHandle, running_sandbox
from rapportd.connectors.sandbox.state import Sandbox

NOW = "2026-11-24T12:00:00Z"
MIA = "mia@contoso.example"
SCOPES = ["Mail.ReadWrite", "Calendars.ReadWrite", "User.Read", "MailboxSettings.Read"]
PREFER = ['outlook.timezone="UTC"', 'IdType="ImmutableId"']
PROP = "String {66f5a359-4659-4830-9070-00047ec6ac6e} Name rapportd"


def raw_mail(
    i: int,
    *,
    sender: str = "Bob Stone <bob@partner.org>",
    to: str = MIA,
    days_ago: float = 1.0,
    subject: str | None = None,
    extra: str = "",
    body: str | None = None,
) -> str:
    when = datetime(2026, 11, 24, 12, tzinfo=UTC) - timedelta(days=days_ago)
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject or f'Topic {i}'}\r\n"
        f"Date: {when.strftime('%a, %d %b %Y %H:%M:%S +0000')}\r\n"
        f"Message-ID: <m{i}@partner.org>\r\n{extra}"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body or f'Hello Mia, this is message number {i}.'}\r\n"
    )


def ms_scenario() -> dict[str, Any]:
    messages = [
        {"account": MIA, "folder": "inbox", "raw": raw_mail(i, days_ago=i * 2 + 0.5)}
        for i in range(25)
    ]
    messages.append(
        {
            "account": MIA,
            "folder": "sentitems",
            "raw": raw_mail(
                100,
                sender=f"Mia <{MIA}>",
                to="Bob Stone <bob@partner.org>",
                days_ago=0.2,
                subject="Re: Topic 0",
                extra="In-Reply-To: <m0@partner.org>\r\n",
                body="Thanks Bob, I'll send the deck by Friday.\r\n\r\nOn Mon, Bob wrote:\r\n> hi",
            ),
        }
    )
    events = [
        {
            "account": MIA,
            "id": f"evt{i:04d}",
            "summary": f"Meeting {i}",
            "start": f"2026-11-{10 + i:02d}T09:00:00+01:00",
            "end": f"2026-11-{10 + i:02d}T10:00:00+01:00",
            "timezone": "Europe/Paris",
            "organizer": "bob@partner.org",
            "attendees": [
                {"email": MIA, "name": "Mia", "response": "accepted"},
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
                "provider": "microsoft",
                "address": MIA,
                "display_name": "Mia Wong",
                "timezone": "Europe/Paris",
                "owner": "mia",
                "aliases": ["m@contoso.example"],
            },
            {
                "provider": "microsoft",
                "address": "tom@contoso.example",
                "display_name": "Tom",
                "timezone": "UTC",
                "owner": "tom",
            },
        ],
        "messages": messages,
        "events": events,
        "history_horizon_hours": 168,
    }


def ms_sandbox() -> Sandbox:
    return sandbox_from_scenario(ms_scenario(), "ms-test-scenario")


@contextmanager
def served(sandbox: Sandbox, tls: bool = False) -> Iterator[SandboxHandle]:
    with running_sandbox(sandbox, tls=tls) as handle:
        yield handle


def graph_client(
    handle: SandboxHandle,
    account: str = MIA,
    scopes: list[str] | None = None,
    prefer: list[str] | None = None,
) -> httpx.Client:
    access, _ = handle.sandbox.issue_tokens(account, scopes or SCOPES)
    headers = [("Authorization", f"Bearer {access}")]
    headers += [("Prefer", p) for p in (PREFER if prefer is None else prefer)]
    return httpx.Client(
        base_url=handle.base_url + "/v1.0",
        headers=httpx.Headers(headers),
        timeout=10,
        verify=handle.ca_file or True,
        trust_env=False,
    )


def follow(client: httpx.Client, url: str, **kw: Any) -> tuple[list[dict[str, Any]], str]:
    """All items of a delta round and its deltaLink."""
    items: list[dict[str, Any]] = []
    resp = client.get(url, **kw)
    while True:
        assert resp.status_code == 200, resp.text
        data = resp.json()
        items += data["value"]
        if "@odata.deltaLink" in data:
            return items, data["@odata.deltaLink"]
        resp = client.get(data["@odata.nextLink"])
