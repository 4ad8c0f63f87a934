"""Google OAuth contract tests: google-auth-oauthlib (PKCE) and google-auth refresh."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as GoogleRequest
from google_auth_oauthlib.flow import Flow

from rapportd.connectors.sandbox.clients import google_service

ANA = "ana@example.com"
SCOPES = [
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.compose",
]
REDIRECT = "http://127.0.0.1:9/oauth/callback"


@pytest.fixture(autouse=True)
def _plain_http_oauth(monkeypatch: pytest.MonkeyPatch) -> None:
    """oauthlib refuses http:// token endpoints unless told (the sandbox also serves https)."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def flow_for(base: str) -> Flow:
    config = {
        "web": {
            "client_id": "rapportd-sandbox",
            "client_secret": "sandbox-secret",
            "auth_uri": base + "/o/oauth2/auth",
            "token_uri": base + "/token",
            "redirect_uris": [REDIRECT],
        }
    }
    return Flow.from_client_config(
        config, scopes=SCOPES, redirect_uri=REDIRECT, autogenerate_code_verifier=True
    )


def authorize(url: str) -> dict[str, list[str]]:
    response = httpx.get(url, follow_redirects=False)
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(REDIRECT)
    return parse_qs(urlsplit(location).query)


def test_pkce_code_flow_then_api_and_refresh(server: Any) -> None:
    flow = flow_for(server.base_url)
    url, state = flow.authorization_url(access_type="offline", prompt="consent", login_hint=ANA)
    assert "code_challenge_method=S256" in url
    params = authorize(url)
    assert params["state"] == [state]
    flow.fetch_token(code=params["code"][0])
    creds = flow.credentials
    assert creds.refresh_token and creds.token
    gmail = google_service("gmail", server.base_url, creds)
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == ANA
    old = creds.token
    creds.refresh(GoogleRequest())
    assert creds.token != old
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == ANA
    # the code is single use
    with pytest.raises(Exception, match="invalid_grant"):
        flow.fetch_token(code=params["code"][0])


def test_wrong_code_verifier_is_invalid_grant(server: Any) -> None:
    flow = flow_for(server.base_url)
    url, _ = flow.authorization_url(login_hint=ANA)
    code = authorize(url)["code"][0]
    response = httpx.post(
        server.base_url + "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": "rapportd-sandbox",
            "client_secret": "sandbox-secret",
            "code_verifier": "not-the-verifier-at-all-not-the-verifier-at-all",
        },
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_authorize_needs_a_known_account_and_client(server: Any) -> None:
    base = server.base_url + "/o/oauth2/auth?response_type=code&redirect_uri=" + REDIRECT
    no_hint = httpx.get(base + "&client_id=rapportd-sandbox&scope=email")
    assert no_hint.status_code == 400  # two Google accounts: login_hint needed
    unknown = httpx.get(base + "&client_id=nope&scope=email&login_hint=" + ANA)
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    carl = httpx.get(base + "&client_id=rapportd-sandbox&scope=email&login_hint=carl@example.com")
    assert carl.status_code == 302


def test_revoked_grant_is_invalid_grant_and_401(server: Any, make_creds: Any, control: Any) -> None:
    creds = make_creds()
    gmail = google_service("gmail", server.base_url, creds)
    gmail.users().getProfile(userId="me").execute()
    assert control.post(f"/accounts/{ANA}/revoke").json()["revoked"] >= 2
    # the API answers 401; the client tries to refresh and the token endpoint says invalid_grant
    with pytest.raises(RefreshError, match="invalid_grant"):
        gmail.users().getProfile(userId="me").execute()
    entries = control.get("/log", params={"account": ANA}).json()["entries"]
    assert [e["status"] for e in entries[-2:]] == [401, 400]
    assert entries[-1]["endpoint"] == "google.oauth2.token"


def test_revoke_endpoint(server: Any, make_creds: Any) -> None:
    creds = make_creds()
    assert (
        httpx.post(server.base_url + "/revoke", data={"token": creds.refresh_token}).status_code
        == 200
    )
    with pytest.raises(RefreshError, match="invalid_grant"):
        creds.refresh(GoogleRequest())
    assert httpx.post(server.base_url + "/revoke", data={"token": "nope"}).status_code == 400


def test_expired_access_token_is_refreshed_by_the_client(
    server: Any, make_creds: Any, control: Any
) -> None:
    creds = make_creds()
    gmail = google_service("gmail", server.base_url, creds)
    gmail.users().getProfile(userId="me").execute()
    old = creds.token
    control.post("/clock/advance", json={"hours": 2}).raise_for_status()
    # the sandbox answers 401; google-auth-httplib2 refreshes and retries once
    assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == ANA
    assert creds.token != old
    statuses = [
        e["status"]
        for e in control.get("/log").json()["entries"]
        if e["endpoint"] == "gmail.users.getProfile"
    ]
    assert statuses == [200, 401, 200]


def test_userinfo(server: Any, make_creds: Any) -> None:
    creds = make_creds()
    info = httpx.get(
        server.base_url + "/oauth2/v3/userinfo", headers={"Authorization": f"Bearer {creds.token}"}
    ).json()
    assert info["email"] == ANA
