"""The browser side of the OAuth flows (connectors' functions replaced by fakes): the state
cookie, sign-in by a matching address, connect for the signed-in owner, refusals."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from rapportd.agent.core.settings import load_settings
from rapportd.agent.store.models import Account
from rapportd.agent.web.app import create_app
from rapportd.connectors import oauth

from .conftest import World, csrf_from, sign_in


@pytest.fixture
def oauth_world(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    calls: list[str] = []

    def auth_url(settings: Any, state: str, verifier: str, login_hint: str = "") -> str:
        return f"https://accounts.example/auth?state={state}&hint={login_hint}"

    def exchange(settings: Any, code: str, verifier: str) -> dict[str, Any]:
        calls.append(code)
        return {"provider": "google", "address": code, "scopes": [], "token_data": {}}

    def connect(
        session: Any, owner_id: int, provider: str, result: dict[str, Any], settings: Any
    ) -> Account:
        found = session.scalar(
            select(Account).where(
                Account.owner_id == owner_id,
                Account.provider == provider,
                Account.address == result["address"],
            )
        )
        account = found or Account(owner_id=owner_id, provider=provider, address=result["address"])
        session.add(account)
        session.flush()
        return account

    monkeypatch.setattr(oauth, "google_authorization_url", auth_url)
    monkeypatch.setattr(oauth, "google_exchange_code", exchange)
    monkeypatch.setattr(oauth, "connect_account", connect)
    world.app = create_app(load_settings(google={"client_id": "cid"}), world.sessions)
    return world


def start(client: TestClient, path: str, token: str) -> str:
    r = client.post(path, data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    return parse_qs(urlsplit(r.headers["location"]).query)["state"][0]


def test_sign_in_with_google_by_matching_address(oauth_world: World) -> None:
    with TestClient(oauth_world.app) as client:
        page = client.get("/login")
        assert "Google" in page.text
        state = start(client, "/login/google", csrf_from(page.text))
        bad = client.get(f"/accounts/oauth/google/callback?code={oauth_world.b.email}&state=forged")
        assert bad.status_code == 400 and client.get("/api/me").status_code == 401
        ok = client.get(
            f"/accounts/oauth/google/callback?code={oauth_world.a.email}&state={state}",
            follow_redirects=False,
        )
        assert ok.status_code == 303
        assert client.get("/api/me").json()["email"] == oauth_world.a.email


def test_unknown_address_cannot_sign_in(oauth_world: World) -> None:
    with TestClient(oauth_world.app) as client:
        state = start(client, "/login/google", csrf_from(client.get("/login").text))
        r = client.get(f"/accounts/oauth/google/callback?code=stranger@else.example&state={state}")
        assert r.status_code == 403 and client.get("/api/me").status_code == 401


def test_connect_account_for_the_signed_in_owner(oauth_world: World) -> None:
    with TestClient(oauth_world.app) as client:
        token = sign_in(client, oauth_world.a.email)
        state = start(client, "/accounts/connect/google", token)
        r = client.get(
            f"/accounts/oauth/google/callback?code=alice.work@example.com&state={state}",
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/accounts?connected=1"
    with oauth_world.sessions() as db:
        owners = db.scalars(
            select(Account.owner_id).where(Account.address == "alice.work@example.com")
        ).all()
        assert owners == [oauth_world.a.owner_id]
