"""The demo's world: a generated sandbox scenario, settings that point every endpoint at
the sandbox, the owner row, and the accounts connected through the real OAuth flows.

Shared by ``rapportd demo``, the end-to-end tests and ``benchmarks/e2e.py``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock
from rapportd.agent.core.clock import HeldClock
from rapportd.agent.core.settings import Settings, load_settings
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, OutboxOperation, Owner

SANDBOX_CLIENT = ("rapportd-sandbox", "sandbox-secret")
GOOGLE_SCOPES = [
    "openid",
    "email",
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.compose",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
]


@dataclass
class World:
    scenario: dict[str, Any]
    truth: dict[str, Any]

    @property
    def owner(self) -> dict[str, Any]:
        first: dict[str, Any] = self.truth["owners"][0]
        return first


def shared_clock() -> HeldClock:
    """The process's clock as a :class:`HeldClock` to share with an in-process sandbox: the
    one already held, or a new one at now (installed as the process's clock). The sandbox's
    control API then moves the product's time too."""
    current = clock.current()
    if isinstance(current, HeldClock):
        return current
    held = HeldClock(clock.now())
    clock.use(held)
    return held


def make_world(*, seed: int = 7, days: int = 120, owners: int = 1) -> World:
    """A generated scenario whose "now" is the process clock's now, so the daemon agrees."""
    from rapportd.connectors.sandbox.generator import generate

    scenario, truth = generate(owners, days, seed, now=clock.now().replace(microsecond=0))
    return World(scenario, truth)


def sandbox_settings(
    base_url: str, ca_file: str | None, data_dir: Path, **overrides: Any
) -> Settings:
    """Settings for a store in ``data_dir`` whose providers are the sandbox at ``base_url``."""
    client_id, secret = SANDBOX_CLIENT
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "google": {
            "client_id": client_id,
            "client_secret": secret,
            "api_root": base_url + "/",
            "gmail_root": base_url + "/",
            "auth_uri": base_url + "/o/oauth2/auth",
            "token_uri": base_url + "/token",
            "push_certs_url": base_url + "/oauth2/v1/certs",
        },
        "microsoft": {
            "client_id": client_id,
            "client_secret": secret,
            "authority_host": base_url,
            "tenant": "common",
            "graph_base_url": base_url + "/v1.0",
            "ca_file": ca_file or "",
        },
    }
    for name, value in overrides.items():  # nested sections merge: google={"push_token": …}
        both = isinstance(value, dict) and isinstance(values.get(name), dict)
        values[name] = {**values[name], **value} if both else value
    return load_settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The same settings as RAPPORTD_* variables, for worker subprocesses."""
    g, m = settings.google, settings.microsoft
    env = {
        "RAPPORTD_DATA_DIR": str(settings.data_dir),
        "RAPPORTD_DATABASE_URL": settings.effective_database_url,
        "RAPPORTD_BROKER": settings.broker,
        "RAPPORTD_WORKERS": str(settings.workers),
        "RAPPORTD_GOOGLE__CLIENT_ID": g.client_id,
        "RAPPORTD_GOOGLE__CLIENT_SECRET": g.client_secret.get_secret_value(),
        "RAPPORTD_GOOGLE__API_ROOT": g.api_root,
        "RAPPORTD_GOOGLE__GMAIL_ROOT": g.gmail_root,
        "RAPPORTD_GOOGLE__AUTH_URI": g.auth_uri,
        "RAPPORTD_GOOGLE__TOKEN_URI": g.token_uri,
        "RAPPORTD_GOOGLE__PUSH_TOKEN": g.push_token.get_secret_value(),
        "RAPPORTD_GOOGLE__PUSH_AUDIENCE": g.push_audience,
        "RAPPORTD_GOOGLE__PUSH_SERVICE_ACCOUNT": g.push_service_account,
        "RAPPORTD_GOOGLE__PUSH_CERTS_URL": g.push_certs_url,
        "RAPPORTD_GOOGLE__PUSH_TOPIC": g.push_topic,
        "RAPPORTD_MICROSOFT__PUSH_NOTIFICATIONS": "true" if m.push_notifications else "",
        "RAPPORTD_BASE_URL": settings.base_url,
        "RAPPORTD_MICROSOFT__CLIENT_ID": m.client_id,
        "RAPPORTD_MICROSOFT__CLIENT_SECRET": m.client_secret.get_secret_value(),
        "RAPPORTD_MICROSOFT__AUTHORITY_HOST": m.authority_host,
        "RAPPORTD_MICROSOFT__GRAPH_BASE_URL": m.graph_base_url,
        "RAPPORTD_MICROSOFT__CA_FILE": m.ca_file,
        "RAPPORTD_SYNC__INTERVAL_SECONDS": str(settings.sync.interval_seconds),
        "RAPPORTD_SYNC__BACKFILL_DAYS": str(settings.sync.backfill_days),
        "RAPPORTD_ENCRYPTION_KEY": settings.encryption_key.get_secret_value(),
        "RAPPORTD_CLOCK__AS_OF": settings.clock.as_of,
        "RAPPORTD_CLOCK__ANCHOR": settings.clock.anchor,
    }
    return {k: v for k, v in env.items() if v}


def add_owner(factory: sessionmaker[Session], owner: dict[str, Any]) -> int:
    """The owner row for a ground-truth owner (idempotent by e-mail)."""
    email = owner["accounts"]["google"]
    with transaction(factory) as session:
        existing = session.scalar(select(Owner.id).where(Owner.email == email))
        if existing is not None:
            return existing
        row = Owner(
            email=email,
            display_name=owner["name"],
            timezone=owner["timezone"],
            org_domains=list(owner["org_domains"]),
            # The demo shows its drafts now, whatever the hour: no quiet hours for this owner
            # (otherwise a demo run at night in the owner's zone would wait for the morning).
            preferences={"suggestions": {"quiet_hours": "00:00-00:00"}},
        )
        session.add(row)
        session.flush()
        return row.id


def connect_google_with_tokens(
    sandbox: Any, factory: sessionmaker[Session], settings: Settings, owner_id: int, address: str
) -> int:
    """A Google account from tokens minted by the sandbox (tests: skips the browser dance)."""
    from rapportd.connectors.factory import store_tokens

    _access, refresh = sandbox.issue_tokens(address, GOOGLE_SCOPES)
    data = {
        "provider": "google",
        "refresh_token": refresh,
        "token": None,
        "expiry": None,
        "scopes": GOOGLE_SCOPES,
    }
    with transaction(factory) as session:
        account = Account(
            owner_id=owner_id, provider="google", address=address, scopes=GOOGLE_SCOPES
        )
        store_tokens(account, data, settings)
        session.add(account)
        session.flush()
        return account.id


def _follow_consent(url: str, ca_file: str | None) -> dict[str, str]:
    """Play the person at the sandbox's consent page: follow redirects up to our
    redirect URI and return its query parameters (code, state)."""
    with httpx.Client(verify=ca_file or True, follow_redirects=False, timeout=30) as client:
        for _ in range(10):
            response = client.get(url)
            location = response.headers.get("location", "")
            if response.status_code in (301, 302, 303, 307, 308) and location:
                if "/oauth/" in location and "code=" in location:
                    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
                url = str(httpx.URL(url).join(location))
                continue
            raise RuntimeError(f"the sandbox consent page answered {response.status_code}")
    raise RuntimeError("too many redirects at the sandbox consent page")


def connect_with_oauth(
    factory: sessionmaker[Session],
    settings: Settings,
    owner_id: int,
    provider: str,
    address: str,
) -> int:
    """Connect ``address`` through the real OAuth flow (rapportd.connectors.oauth)."""
    from rapportd.connectors import oauth

    if provider == "google":
        verifier = secrets.token_urlsafe(48)
        state = secrets.token_urlsafe(16)
        url = oauth.google_authorization_url(settings, state, verifier, login_hint=address)
        params = _follow_consent(url, None)
        if params.get("state") != state:
            raise RuntimeError("OAuth state mismatch")
        token_result = oauth.google_exchange_code(settings, params["code"], verifier)
    else:
        flow = oauth.microsoft_auth_flow(settings, login_hint=address)
        params = _follow_consent(flow["auth_uri"], settings.microsoft.ca_file or None)
        token_result = oauth.microsoft_exchange(settings, flow, params)
    with transaction(factory) as session:
        account = oauth.connect_account(session, owner_id, provider, token_result, settings)
        session.flush()
        return int(account.id)


def outbox_counts(factory: sessionmaker[Session]) -> dict[str, int]:
    with factory() as session:
        return {
            f"{op}:{state}": int(n)
            for op, state, n in session.execute(
                select(OutboxOperation.op, OutboxOperation.state, func.count()).group_by(
                    OutboxOperation.op, OutboxOperation.state
                )
            )
        }
