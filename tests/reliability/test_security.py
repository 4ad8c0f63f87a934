"""Security promises, end to end against the sandbox: tokens encrypted at rest (the raw
database after real OAuth connects holds none), key rotation, no secret in logs or pages,
outbound HTTP only to the configured provider hosts, tenant isolation at the query layer,
and push endpoints that only act on authenticated notifications.

The web routes' isolation, CSRF, session fixation and logout are tested in tests/web/
(test_isolation.py, test_pages.py); these tests cover the layers below and around them.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.errors import ConfigError, NotFound
from rapportd.agent.core.logs import configure_logging
from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Commitment,
    Contact,
    Message,
    OutboxOperation,
    Owner,
    Suggestion,
)
from rapportd.connectors.sandbox.faults import Fault

from . import harness as H

FIGURES: dict[str, int] = {}


# --------------------------------------------------------------------------- helpers
@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """Every log line of the test at DEBUG, as the daemon would write it (JSON)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    buffer = io.StringIO()
    configure_logging("DEBUG", "json", stream=buffer)
    try:
        yield buffer
    finally:
        root.handlers[:], level = saved[0], saved[1]
        root.setLevel(level)


def issued_secrets(sandbox: Any, r: H.Rig) -> set[str]:
    """Every token the sandbox handed out, the OAuth client secret and the encryption key."""
    with sandbox.lock:
        found = set(sandbox.tokens.access) | set(sandbox.tokens.refresh) | set(sandbox.tokens.codes)
    found.add(r.settings.google.client_secret.get_secret_value())
    key_file = r.settings.data_dir / "secret.key"
    if key_file.exists():
        found.add(key_file.read_text().strip())
    return {s for s in found if s}


def leaks(secrets: set[str], text: str) -> list[str]:
    return sorted(s[:12] + "…" for s in secrets if s in text)


def raw_database(url: str) -> bytes:
    path = Path(url.removeprefix("sqlite:///"))
    data = b""
    for suffix in ("", "-wal", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            data += p.read_bytes()
    return data


def signed_in(app: Any, factory: sessionmaker[Session], owner_id: int) -> TestClient:
    from rapportd.agent.web.security import hash_password

    with factory() as s, s.begin():
        owner = s.get(Owner, owner_id)
        assert owner is not None
        owner.password_hash = hash_password("pw-for-tests-only")
        email = owner.email
    client = TestClient(app)
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login",
        data={"email": email, "password": "pw-for-tests-only", "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def every_page(app: Any, client: TestClient, ids: dict[str, list[int]]) -> str:
    """The text of every GET route, path ids filled with the owner's own rows."""
    from rapportd.agent.web.app import api_routes

    out = []
    for route in api_routes(app):
        if "GET" not in route.methods:
            continue
        params = re.findall(r"{(\w+)(?::\w+)?}", route.path)
        if any(p not in ids or not ids[p] for p in params):
            continue
        path = route.path
        for p in params:
            path = re.sub(r"{" + p + r"(?::\w+)?}", str(ids[p][0]), path)
        r = client.get(path, follow_redirects=False)
        assert r.status_code < 500, (path, r.status_code)
        out.append(r.text)
    return "\n".join(out)


# --------------------------------------------------------------------------- at rest, logs, pages
def test_no_secret_at_rest_in_logs_or_pages(tmp_path: Path, captured_logs: io.StringIO) -> None:
    data, truth = H.scenario(seed=21, days=20)
    with H.rig(tmp_path, data, truth, microsoft=True, oauth=True) as r:
        now = datetime.now(UTC).replace(microsecond=0)
        first = H.run_cycle(r, now)
        # an hour later every access token has expired: the connectors refresh them
        r.sandbox.clock.advance(timedelta(hours=2))
        r.sandbox.faults.add(Fault("500", endpoint="*", count=3))
        r.sandbox.faults.add(Fault("429", endpoint="*", count=3, retry_after=0))
        H.run_cycle(r, now)
        # a revoked grant: the error path that tells the person to reconnect
        ms_address = truth["owners"][0]["accounts"]["microsoft"]
        r.sandbox.faults.add(Fault("revoked", account=ms_address, endpoint="*", count=1))
        H.run_cycle(r, now)
        with r.factory() as s:
            blobs = [a.token_blob for a in s.scalars(select(Account))]
            statuses = {a.provider: a.status for a in s.scalars(select(Account))}
        assert all(blobs) and statuses["microsoft"] == "needs_reconsent", statuses
        from rapportd.agent.web.app import create_app

        app = create_app(r.settings, r.factory)
        client = signed_in(app, r.factory, r.owners[0])
        with r.factory() as s:
            ids = {
                "account_id": list(s.scalars(select(Account.id))),
                "suggestion_id": list(s.scalars(select(Suggestion.id))),
                "contact_id": list(s.scalars(select(Contact.id))),
            }
        pages = every_page(app, client, ids)
        secrets = issued_secrets(r.sandbox, r)
        database = raw_database(r.settings.effective_database_url)
        logs = captured_logs.getvalue()
    assert first.errors == []
    assert len(secrets) >= 8  # codes, two generations of access and refresh tokens, ...
    assert len(logs) > 1000 and len(pages) > 1000
    FIGURES["secrets_checked"] = len(secrets)
    assert leaks(secrets, database.decode("latin-1")) == [], "token in the raw database"
    assert leaks(secrets, logs) == [], "token in the logs"
    assert leaks(secrets, pages) == [], "token in a page"


def test_key_rotation_keeps_accounts_working(tmp_path: Path) -> None:
    from rapportd.agent.core.vault import generate_key
    from rapportd.connectors.factory import connector_for

    key_a, key_b = generate_key(), generate_key()
    data, truth = H.scenario(seed=22, days=5)
    with H.rig(tmp_path, data, truth, encryption_key=key_a) as r:
        with r.factory() as s:
            before = s.scalars(select(Account.token_blob)).one()
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
        env.update(
            RAPPORTD_DATA_DIR=str(r.settings.data_dir),
            RAPPORTD_DATABASE_URL=r.settings.effective_database_url,
            RAPPORTD_ENCRYPTION_KEY=key_b,
            RAPPORTD_OLD_ENCRYPTION_KEYS=json.dumps([key_a]),
        )
        import subprocess

        done = subprocess.run(
            [str(Path(sys.executable).with_name("rapportd")), "keys", "rotate"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        new_only = r.settings.model_copy(update={"encryption_key": SecretStr(key_b)})
        old_only = r.settings.model_copy(update={"encryption_key": SecretStr(key_a)})
        with r.factory() as s:
            account = s.scalars(select(Account)).one()
            assert account.token_blob != before
            connector_for(account, new_only).close()  # the new key alone reads it
            with pytest.raises(ConfigError) as err:
                connector_for(account, old_only)
            assert "\n" not in str(err.value)
        r.settings = new_only
        report = H.CycleReport()
        H.sync_all(r, report)
        assert report.errors == []


# --------------------------------------------------------------------------- outbound hosts
_CONNECTS: list[tuple[str, Any]] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _CONNECTS is not None and event in ("socket.connect", "socket.getaddrinfo"):
        target = args[1] if event == "socket.connect" else (args[0], args[1])
        _CONNECTS.append((event, target))


sys.addaudithook(_audit)


def test_outbound_http_only_to_configured_hosts(tmp_path: Path) -> None:
    """A whole cycle (both providers, OAuth, sync, analysis, write-back) opens sockets only to
    the sandbox's ports; the LLM endpoint, configured but not chosen, is never called."""
    global _CONNECTS
    data, truth = H.scenario(seed=23, days=10)
    llm = {"base_url": "http://127.0.0.1:9/v1", "model": "m", "api_key": "sk-unused"}
    with H.rig(tmp_path, data, truth, microsoft=True, llm=llm) as r:
        allowed = {int(h.base_url.rsplit(":", 1)[1].split("/")[0]) for h in r.handles}
        _CONNECTS = []
        try:
            report = H.run_cycle(r, datetime.now(UTC).replace(microsecond=0))
        finally:
            seen, _CONNECTS = _CONNECTS, None
    assert report.errors == []
    targets = {t for _e, t in seen if isinstance(t, tuple) and len(t) >= 2}
    hosts = {str(t[0]) for t in targets}
    ports = {int(t[1]) for t in targets if str(t[1]).isdigit()}
    assert hosts <= {"127.0.0.1", "localhost", "::1"}, hosts
    assert ports and ports <= allowed, (ports, allowed)
    FIGURES["connections_checked"] = len(seen)


# --------------------------------------------------------------------------- tenant isolation
def test_query_layer_never_crosses_owners(tmp_path: Path) -> None:
    from rapportd.agent.suggest import actions
    from rapportd.agent.web import queries

    data, truth = H.scenario(seed=24, days=30, owners=2)
    with H.rig(tmp_path, data, truth) as r:
        H.run_cycle(r, datetime.now(UTC).replace(microsecond=0))
        a, b = r.owners
        f = r.factory
        with f() as s:
            a_sugg = list(s.scalars(select(Suggestion.id).where(Suggestion.owner_id == a)))
            a_contacts = list(s.scalars(select(Contact.id).where(Contact.owner_id == a)))
            a_account = s.scalar(select(Account.id).where(Account.owner_id == a))
            before = {x.id: (x.status, x.body) for x in s.scalars(select(Suggestion))}
            assert a_sugg and a_contacts
            # every row's links stay inside its owner
            accounts = {x.id: x.owner_id for x in s.scalars(select(Account))}
            contacts = {x.id: x.owner_id for x in s.scalars(select(Contact))}
            for model in (Message, CalendarEvent, OutboxOperation):
                for row in s.scalars(select(model)):
                    assert accounts[row.account_id] == row.owner_id, (model, row.id)
            for sg in s.scalars(select(Suggestion)):
                assert sg.account_id is None or accounts[sg.account_id] == sg.owner_id
                assert sg.contact_id is None or contacts[sg.contact_id] == sg.owner_id
            for c in s.scalars(select(Commitment)):
                assert c.contact_id is None or contacts[c.contact_id] == c.owner_id
        calls = 0
        for sid in a_sugg:
            for verb, kw in (
                ("get_suggestion", {}),
                ("accept", {}),
                ("edit", {"body": "hijacked"}),
                ("snooze", {"until": datetime.now(UTC) + timedelta(days=3)}),
                ("dismiss", {}),
            ):
                with f() as s, pytest.raises(NotFound):
                    getattr(actions, verb)(s, b, sid, **kw)
                    s.commit()
                calls += 1
            with f() as s:
                assert queries.operations_for(s, b, sid) == []
        with f() as s:
            assert all(sg.owner_id == b for sg in actions.list_suggestions(s, b))
            for cid in a_contacts[:20]:
                assert queries.contact_commitments(s, b, cid) == []
                with pytest.raises(HTTPException) as err:
                    queries.owned(s, Contact, b, cid)
                assert err.value.status_code == 404
                calls += 2
            assert all(acc.owner_id == b for acc in queries.accounts_of(s, b))
            assert queries.last_sync_errors(s, b, a_account) == []
            assert queries.contacts_by_id(s, b, set(a_contacts)) == {}
            after = {x.id: (x.status, x.body) for x in s.scalars(select(Suggestion))}
        assert after == before
        FIGURES["cross_owner_calls"] = calls


# --------------------------------------------------------------------------- push endpoints
def _push_client(factory: sessionmaker[Session], triggered: list[int]) -> TestClient:
    from starlette.applications import Starlette

    from rapportd.jobs.push import RateLimiter, push_routes

    def trigger(account_id: int) -> bool:
        triggered.append(account_id)
        return True

    routes = push_routes(
        factory, trigger, enqueue=lambda *a, **k: None, limiter=RateLimiter(rate=1e6, burst=10**6)
    )
    return TestClient(Starlette(routes=routes), raise_server_exceptions=False)


def watched(
    factory: sessionmaker[Session], provider: str, address: str, **subscription: Any
) -> int:
    """An owner with one account of ``provider`` that holds a push channel; the account id."""
    from rapportd.agent.store.models import PushSubscription

    with factory() as s, s.begin():
        owner = Owner(email=address)
        s.add(owner)
        s.flush()
        acc = Account(owner_id=owner.id, provider=provider, address=address)
        s.add(acc)
        s.flush()
        s.add(
            PushSubscription(
                owner_id=owner.id, account_id=acc.id, provider=provider, **subscription
            )
        )
        return acc.id


json_value = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


def test_graph_push_acts_only_on_the_right_client_state(sqlite_engine: Any) -> None:
    from rapportd.agent.store.db import session_factory
    from rapportd.jobs.push import client_state_hash

    factory = session_factory(sqlite_engine)
    watched(
        factory,
        "microsoft",
        "o@x.example",
        subscription_id="sub-1",
        client_state_hash=client_state_hash("s3cret"),
    )
    triggered: list[int] = []
    client = _push_client(factory, triggered)

    @settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        item=st.dictionaries(
            st.sampled_from(["subscriptionId", "clientState", "lifecycleEvent", "resource", "x"]),
            json_value | st.sampled_from(["sub-1", "s3cret ", "S3CRET", "", "missed"]),
        ),
        wrap=st.booleans(),
        raw=st.binary(max_size=200),
    )
    def fuzz(item: dict[str, Any], wrap: bool, raw: bytes) -> None:
        genuine = item.get("subscriptionId") == "sub-1" and item.get("clientState") == "s3cret"
        n = len(triggered)
        r = client.post("/push/graph", json={"value": [item]} if wrap else item)
        assert r.status_code < 500
        r2 = client.post("/push/graph", content=raw, headers={"content-type": "application/json"})
        assert r2.status_code < 500
        assert (len(triggered) > n) == (genuine and wrap), (item, triggered[n:])
        FIGURES["push_fuzzed"] = FIGURES.get("push_fuzzed", 0) + 2

    fuzz()
    r = client.post(
        "/push/graph", json={"value": [{"subscriptionId": "sub-1", "clientState": "s3cret"}]}
    )
    assert r.status_code == 202 and triggered


def test_gmail_push_acts_only_on_proven_notifications(sqlite_engine: Any) -> None:
    """/push/gmail with the URL secret and the Pub/Sub OIDC token both required: fuzzed
    secrets, headers and forged or mis-addressed tokens never trigger a sync nor a 5xx."""
    import base64

    import httpx

    from rapportd.agent.core.settings import load_settings
    from rapportd.agent.store.db import session_factory
    from rapportd.connectors.sandbox import signing
    from rapportd.connectors.sandbox.server import start_sandbox
    from rapportd.connectors.sandbox.state import Sandbox
    from rapportd.jobs.push import RateLimiter, push_routes
    from rapportd.jobs.push_auth import GmailPushAuth

    factory = session_factory(sqlite_engine)
    account_id = watched(factory, "google", "g@x.example", subscription_id="watch-1")
    secret, audience, pusher = "url-secret-0123456789", "https://r.example/push/gmail", "p@x.iam"
    handle = start_sandbox(Sandbox())
    try:
        google = load_settings(
            google={
                "push_token": secret,
                "push_audience": audience,
                "push_service_account": pusher,
                "push_certs_url": handle.base_url + "/oauth2/v1/certs",
            }
        ).google
        triggered: list[int] = []
        routes = push_routes(
            factory,
            lambda account_id: triggered.append(account_id) is None,
            enqueue=lambda *a, **k: None,
            limiter=RateLimiter(rate=1e6, burst=10**6),
            gmail_auth=GmailPushAuth.from_settings(google),
        )
        from starlette.applications import Starlette

        client = TestClient(Starlette(routes=routes), raise_server_exceptions=False)

        def minted(aud: str, account: str, lifetime: int = 600) -> str:
            body = {"audience": aud, "service_account": account, "lifetime": lifetime}
            r = httpx.post(handle.control_url + "/pubsub/token", json=body, timeout=10)
            return str(r.json()["token"])

        good = minted(audience, pusher)
        tokens = [
            good,
            minted("https://elsewhere/push", pusher),
            minted(audience, "intruder@x.iam"),
            minted(audience, pusher, lifetime=-600),
            signing.sign({"aud": audience, "email": pusher, "email_verified": False}),
            good[:-4] + "AAAA",
        ]
        data = base64.b64encode(json.dumps({"emailAddress": "g@x.example"}).encode()).decode()
        note = {"message": {"data": data, "messageId": "1"}, "subscription": "s"}

        @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            url_secret=st.none() | st.just(secret) | st.text(max_size=40),
            header=st.none()
            | st.text(max_size=60)
            | st.sampled_from(tokens).map(lambda t: f"Bearer {t}")
            | st.sampled_from(tokens).map(lambda t: f"bearer  {t} x"),
            body=st.just(note) | json_value,
        )
        def fuzz(url_secret: str | None, header: str | None, body: Any) -> None:
            genuine = url_secret == secret and header == f"Bearer {good}"
            params = {} if url_secret is None else {"token": url_secret}
            headers = {} if header is None else {"Authorization": header}
            n = len(triggered)
            try:
                r = client.post("/push/gmail", params=params, headers=headers, json=body)
            except (UnicodeEncodeError, httpx.LocalProtocolError):
                return  # a header the HTTP client itself cannot send
            assert r.status_code < 500, r.text
            assert (r.status_code in (401, 403)) != genuine
            assert (len(triggered) > n) == (genuine and body is note), (url_secret, header)
            FIGURES["gmail_push_fuzzed"] = FIGURES.get("gmail_push_fuzzed", 0) + 1

        fuzz()
        before = len(triggered)
        r = client.post(
            "/push/gmail",
            params={"token": secret},
            headers={"Authorization": f"Bearer {good}"},
            json=note,
        )
        assert r.status_code == 204 and triggered[before:] == [account_id]
    finally:
        handle.stop()
