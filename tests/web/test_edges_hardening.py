"""The web app's edges (issue 16): the sign-in throttle keys on the real client (a loop of
forged X-Forwarded-For headers through the daemon's own uvicorn is refused after 5
tries), HSTS behind https, and /login with a live session says whose it is and offers to
sign out instead of going on silently."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from rapportd.agent.core.settings import Settings, load_settings
from rapportd.agent.store.db import session_factory
from rapportd.agent.web.app import create_app
from rapportd.jobs.daemon import Daemon, DaemonOptions

from .conftest import World, csrf_from
from .seed import seed_owner


def guesses(url: str, email: str, tries: int) -> list[int]:
    codes = []
    with httpx.Client(base_url=url) as client:
        token = csrf_from(client.get("/login").text)
        for i in range(tries):
            r = client.post(
                "/login",
                data={"email": email, "password": f"guess-{i}", "csrf_token": token},
                headers={"X-Forwarded-For": f"203.0.113.{i % 250 + 1}"},
            )
            codes.append(r.status_code)
    return codes


def serve(settings: Settings, engine: Engine) -> Daemon:
    return Daemon(settings, DaemonOptions(roles={"web"}, web_port=0), engine=engine).start()


def test_a_forged_forwarded_for_loop_is_refused_after_5_tries(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    seed_owner(session_factory(sqlite_engine), "alice@example.com", "Alice")
    settings = load_settings(data_dir=tmp_path)
    assert settings.web_trusted_proxies == []  # nobody's X-Forwarded-For by default
    daemon = serve(settings, sqlite_engine)
    try:
        codes = guesses(daemon.web_url, "alice@example.com", 50)
    finally:
        daemon.stop()
    assert codes[:5] == [401] * 5
    assert set(codes[5:]) == {429}


def test_a_configured_proxy_is_believed(sqlite_engine: Engine, tmp_path: Path) -> None:
    """Behind a trusted proxy each forwarded address is its own client (so the per-client
    limit does not lock out everybody behind the proxy)."""
    seed_owner(session_factory(sqlite_engine), "alice@example.com", "Alice")
    settings = load_settings(data_dir=tmp_path, web_trusted_proxies=["127.0.0.1"])
    daemon = serve(settings, sqlite_engine)
    try:
        codes = guesses(daemon.web_url, "alice@example.com", 12)
    finally:
        daemon.stop()
    assert codes == [401] * 12


def test_hsts_only_when_served_over_https(world: World, tmp_path: Path) -> None:
    with TestClient(world.app) as client:
        assert "strict-transport-security" not in client.get("/login").headers
    https = create_app(
        load_settings(data_dir=tmp_path, base_url="https://rapportd.example"), world.sessions
    )
    with TestClient(https, base_url="https://rapportd.example") as client:
        hsts = client.get("/login").headers["strict-transport-security"]
    assert re.fullmatch(r"max-age=\d{7,}; includeSubDomains", hsts)


def test_login_with_a_live_session_offers_to_sign_out(
    client_a: tuple[TestClient, str], world: World
) -> None:
    client, _token = client_a
    page = client.get("/login", follow_redirects=False)
    assert page.status_code == 200  # not taken into the account without a word
    assert f"signed in as <strong>{world.a.email}</strong>" in page.text
    assert 'action="/logout"' in page.text
    out = client.post("/logout", data={"csrf_token": csrf_from(page.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/api/me").status_code == 401
    again = client.get("/login")
    assert "signed in as" not in again.text and 'name="password"' in again.text


def test_the_accounts_page_says_which_stream_it_waits_for(
    world: World, client_a: tuple[TestClient, str]
) -> None:
    """Until every stream finished its backfill the page says so, with the reason a
    failing stream keeps retrying (issue 16: an owner is not analysed before that)."""
    from rapportd.agent.store.models import SyncCursor

    client, _ = client_a
    with world.sessions() as db, db.begin():
        db.add(
            SyncCursor(
                owner_id=world.a.owner_id,
                account_id=world.a.account_id,
                stream="gmail",
                phase="backfill",
                last_error="messages.get: HTTP 503 backendError",
                consecutive_errors=4,
            )
        )
    html = client.get("/accounts").text
    assert "waiting for Gmail to finish (retrying: messages.get: HTTP 503 backendError)" in html
    assert "waiting for Google Calendar to finish" in html
    with world.sessions() as db, db.begin():
        for stream in ("gmail", "gcal"):
            row = db.query(SyncCursor).filter_by(
                account_id=world.a.account_id, stream=stream
            ).one_or_none() or SyncCursor(
                owner_id=world.a.owner_id, account_id=world.a.account_id, stream=stream
            )
            row.phase, row.last_verified_complete_at = "delta", datetime(2026, 3, 1, tzinfo=UTC)
            db.add(row)
    assert "waiting for" not in client.get("/accounts").text
