"""Contract tests: msal (unmodified) against the sandbox's Microsoft identity endpoints
over https, then Graph with the token it got."""

from __future__ import annotations

import base64
import json
import ssl
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import msal
import pytest
import requests

from rapportd.connectors.sandbox.server import SandboxHandle

from .graph_support import MIA, ms_sandbox, served

SCOPES = ["Mail.ReadWrite", "Calendars.ReadWrite", "User.Read"]
REDIRECT = "http://localhost:8400/callback"


pytestmark = pytest.mark.filterwarnings("ignore:response_mode:UserWarning")
SESSIONS: list[requests.Session] = []


@pytest.fixture(scope="module")
def handle() -> Iterator[SandboxHandle]:
    with served(ms_sandbox(), tls=True) as h:
        yield h
        for session in SESSIONS:  # idle keep-alive connections would hold the server open
            session.close()


def tls(handle: SandboxHandle) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=handle.ca_file)


def make_app(
    handle: SandboxHandle, secret: str = "sandbox-secret", tenant: str = "contoso"
) -> msal.ConfidentialClientApplication:
    session = requests.Session()
    session.verify = handle.ca_file
    session.trust_env = False
    SESSIONS.append(session)
    return msal.ConfidentialClientApplication(
        "rapportd-sandbox",
        client_credential=secret,
        authority=f"{handle.base_url}/{tenant}",
        instance_discovery=False,
        validate_authority=False,
        http_client=session,
    )


def sign_in(
    handle: SandboxHandle, app: msal.ConfidentialClientApplication, login_hint: str = MIA
) -> dict[str, object]:
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT, login_hint=login_hint)
    resp = httpx.get(flow["auth_uri"], verify=tls(handle), trust_env=False)
    assert resp.status_code == 302, resp.text
    location = resp.headers["location"]
    assert location.startswith(REDIRECT)
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["state"] == flow["state"]
    return app.acquire_token_by_auth_code_flow(flow, params)


def claims(jwt: str) -> dict[str, object]:
    part = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def test_discovery_document_points_here(handle: SandboxHandle) -> None:
    doc = httpx.get(
        f"{handle.base_url}/contoso/v2.0/.well-known/openid-configuration", verify=tls(handle)
    ).json()
    for key in ("authorization_endpoint", "token_endpoint", "issuer"):
        assert doc[key].startswith(handle.base_url)


def test_auth_code_flow_account_and_refresh(handle: SandboxHandle) -> None:
    app = make_app(handle)
    result = sign_in(handle, app)
    assert "access_token" in result, result
    assert result["token_type"] == "Bearer" and result["refresh_token"]
    idc = claims(str(result["id_token"]))
    assert idc["aud"] == "rapportd-sandbox" and idc["preferred_username"] == MIA
    assert idc["nonce"]  # msal sent one in the authorize request; it comes back
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == [MIA]
    me = httpx.get(
        f"{handle.base_url}/v1.0/me",
        verify=tls(handle),
        headers={"Authorization": f"Bearer {result['access_token']}"},
    )
    assert me.status_code == 200 and me.json()["mail"] == MIA
    silent = app.acquire_token_silent(SCOPES, account=accounts[0], force_refresh=True)
    assert silent and silent["access_token"] != result["access_token"]
    again = httpx.get(
        f"{handle.base_url}/v1.0/me",
        verify=tls(handle),
        headers={"Authorization": f"Bearer {silent['access_token']}"},
    )
    assert again.status_code == 200


def test_revoked_refresh_is_invalid_grant(handle: SandboxHandle) -> None:
    app = make_app(handle)
    assert "access_token" in sign_in(handle, app)
    account = app.get_accounts()[0]
    handle.sandbox.tokens.revoke_account(MIA)
    result = app.acquire_token_silent_with_error(SCOPES, account=account, force_refresh=True)
    assert result is not None and result["error"] == "invalid_grant"


def test_wrong_secret_and_unknown_login_hint(handle: SandboxHandle) -> None:
    result = sign_in(handle, make_app(handle, secret="wrong"))
    assert result.get("error") == "invalid_client"
    app = make_app(handle)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT, login_hint="x@nowhere.org")
    resp = httpx.get(flow["auth_uri"], verify=tls(handle))
    assert resp.status_code == 400 and resp.json()["error"] == "access_denied"


def test_pkce_verifier_is_checked(handle: SandboxHandle) -> None:
    app = make_app(handle)
    flow = app.initiate_auth_code_flow(SCOPES, redirect_uri=REDIRECT, login_hint=MIA)
    resp = httpx.get(flow["auth_uri"], verify=tls(handle))
    params = {k: v[0] for k, v in parse_qs(urlsplit(resp.headers["location"]).query).items()}
    flow["code_verifier"] = "not-the-verifier-" + "x" * 40
    result = app.acquire_token_by_auth_code_flow(flow, params)
    assert result.get("error") == "invalid_grant"
