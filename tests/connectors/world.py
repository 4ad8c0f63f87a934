"""Small sandbox worlds for the connector contract tests: a few messages and events,
an account row with encrypted tokens, settings pointing every endpoint at the sandbox."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock
from rapportd.agent.core.settings import Settings, load_settings
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, Owner
from rapportd.connectors.factory import store_tokens

OWNER = "owner@example.com"
MS_OWNER = "owner@contoso.example"
PEOPLE = ["ann@client.example", "bob@partner.example", "cy@friend.example", "dee@client.example"]
GOOGLE_SCOPES = [
    "openid",
    "email",
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.compose",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
]
MS_SCOPES = ["Mail.ReadWrite", "Calendars.ReadWrite", "User.Read", "offline_access"]


def raw_message(
    sender: str,
    to: str,
    subject: str,
    body: str,
    when: datetime,
    *,
    reply_to: str = "",
    extra: dict[str, str] | None = None,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    if reply_to:
        msg["In-Reply-To"] = reply_to
        msg["References"] = reply_to
    for k, v in (extra or {}).items():
        msg[k] = v
    msg.set_content(body)
    return msg.as_bytes()


def fill_mailbox(sandbox: Any, address: str, count: int, *, seed: int = 1, days: int = 200) -> None:
    """``count`` messages over ``days`` days, in and out, some bulk."""
    rng = random.Random(seed)
    mailbox = sandbox.mailbox(address)
    now = clock.now()
    for i in range(count):
        other = rng.choice(PEOPLE)
        when = now - timedelta(days=rng.uniform(0.5, days), minutes=i)
        outgoing = rng.random() < 0.3
        extra = {"List-Id": "<news.list.example>"} if rng.random() < 0.1 else None
        raw = raw_message(
            address if outgoing else other,
            other if outgoing else address,
            f"Subject {i}",
            f"Hello number {i}.\nI will send the report by Friday.\n\n> quoted old text\n",
            when,
            extra=extra,
        )
        mailbox.add_message(raw)


@dataclass
class Env:
    settings: Settings
    sessions: sessionmaker[Session]
    account_id: int


def settings_for(base_url: str, ca_file: str | None = None, **sync: Any) -> Settings:
    return load_settings(
        google={
            "client_id": "rapportd-sandbox",
            "client_secret": "sandbox-secret",
            "api_root": base_url + "/",
            "gmail_root": base_url + "/",
            "auth_uri": base_url + "/o/oauth2/auth",
            "token_uri": base_url + "/token",
        },
        microsoft={
            "client_id": "rapportd-sandbox",
            "client_secret": "sandbox-secret",
            "authority_host": base_url,
            "tenant": "common",
            "graph_base_url": base_url + "/v1.0",
            "ca_file": ca_file or "",
        },
        sync={"backfill_days": 365, "text_days": 90, **sync},
    )


def make_account(
    sessions: sessionmaker[Session],
    settings: Settings,
    provider: str,
    address: str,
    token_data: dict[str, Any],
) -> int:
    with transaction(sessions) as session:
        owner = Owner(email=f"person-{address}")
        session.add(owner)
        session.flush()
        account = Account(owner_id=owner.id, provider=provider, address=address)
        store_tokens(account, token_data, settings)
        session.add(account)
        session.flush()
        return account.id


def google_tokens(sandbox: Any, address: str = OWNER) -> dict[str, Any]:
    _access, refresh = sandbox.issue_tokens(address, GOOGLE_SCOPES)
    return {
        "provider": "google",
        "refresh_token": refresh,
        "token": None,
        "expiry": None,
        "scopes": GOOGLE_SCOPES,
    }
