"""Google OAuth 2.0, enough for google-auth-oauthlib and google-auth against the sandbox.

- ``GET /o/oauth2/auth`` (also ``/o/oauth2/v2/auth``): headless consent. It approves at
  once for the account named by ``login_hint`` (or the only Google account) and redirects
  (302) to ``redirect_uri`` with ``code`` and ``state``. PKCE S256/plain is recorded.
- ``POST /token`` (also ``/o/oauth2/token``): ``authorization_code`` (with PKCE check)
  and ``refresh_token`` grants. A revoked or unknown refresh token answers
  ``400 invalid_grant`` as Google does.
- ``POST /revoke``: revoke an access or refresh token.
- ``GET /oauth2/v3/userinfo``: who the bearer token belongs to.
- ``GET /oauth2/v1/certs``: the certificates ID tokens (sign-in, Pub/Sub push) verify with.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from rapportd.agent.core import clock
from rapportd.connectors.sandbox import signing
from rapportd.connectors.sandbox.calls import bearer
from rapportd.connectors.sandbox.state import AuthCode, Grant, LogEntry, Sandbox, normalize_scope

ENDPOINT = "google.oauth2.token"


def _oauth_error(error: str, description: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def id_token(sandbox: Sandbox, address: str, client_id: str, nonce: str = "") -> str:
    """An RS256 JWT carrying the account's email, signed by :mod:`signing`'s key."""
    account = sandbox.account(address)
    claims: dict[str, Any] = {
        "aud": client_id,
        "azp": client_id,
        "sub": hashlib.sha256(address.encode()).hexdigest()[:21],
        "email": address,
        "email_verified": True,
        "name": account.display_name,
    }
    if nonce:
        claims["nonce"] = nonce
    return signing.sign(claims)


async def certs(request: Request) -> Response:
    """Google's public signing certificates, ``{key id: PEM}``, as at googleapis.com."""
    return JSONResponse(
        signing.certs(),
        headers={"Cache-Control": f"public, max-age={signing.CERTS_MAX_AGE}, must-revalidate"},
    )


async def authorize(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    q = request.query_params
    client_id, redirect_uri = q.get("client_id", ""), q.get("redirect_uri", "")
    with sandbox.lock:
        if sandbox.client("google", client_id) is None:
            return _oauth_error(
                "invalid_client", f"The OAuth client {client_id} was not found.", 401
            )
        if not redirect_uri:
            return _oauth_error("invalid_request", "Missing required parameter: redirect_uri")
        if q.get("response_type", "code") != "code":
            return _oauth_error("unsupported_response_type", "Only response_type=code")
        google = [a for a in sandbox.accounts.values() if a.provider == "google"]
        hint = q.get("login_hint", "").lower()
        chosen = (
            [a for a in google if a.address == hint or hint in a.aliases]
            if hint
            else (google if len(google) == 1 else [])
        )
        if not chosen:
            return _oauth_error(
                "access_denied",
                "No sandbox Google account matches login_hint "
                f"{hint!r} (known: {', '.join(a.address for a in google)})",
            )
        method = q.get("code_challenge_method", "plain" if q.get("code_challenge") else "")
        code = sandbox.tokens.new_code(
            AuthCode(
                chosen[0].address,
                "google",
                client_id,
                tuple(normalize_scope("google", s) for s in q.get("scope", "").split()),
                redirect_uri,
                q.get("code_challenge", ""),
                method,
                q.get("nonce", ""),
                sandbox.now() + timedelta(minutes=10),
            )
        )
    params = {"code": code, "scope": q.get("scope", "")}
    if "state" in q:
        params["state"] = q["state"]
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{urlencode(params)}", status_code=302)


def _pkce_ok(code: AuthCode, verifier: str) -> bool:
    if not code.code_challenge:
        return True
    if code.code_challenge_method == "S256":
        digest = hashlib.sha256(verifier.encode()).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode() == code.code_challenge
    return verifier == code.code_challenge


def _client_ok(sandbox: Sandbox, request: Request, form: dict[str, str]) -> str | None:
    """The client id if the client is known and its secret (when sent) matches."""
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
    client = sandbox.client("google", client_id)
    if client is None or (secret is not None and secret != client.client_secret):
        return None
    return client_id


def _exchange(sandbox: Sandbox, request: Request, form: dict[str, str]) -> tuple[Response, str]:
    """The token endpoint's answer and the account it concerned ("" if none)."""
    client_id = _client_ok(sandbox, request, form)
    if client_id is None:
        return _oauth_error("invalid_client", "Unauthorized", 401), ""
    grant_type = form.get("grant_type", "")
    now = sandbox.now()
    if grant_type == "authorization_code":
        code = sandbox.tokens.codes.pop(form.get("code", ""), None)
        if (
            code is None
            or code.client_id != client_id
            or (code.expires_at and code.expires_at < now)
        ):
            return _oauth_error("invalid_grant", "Malformed auth code."), ""
        if form.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
            return _oauth_error("redirect_uri_mismatch", "Bad Request"), code.address
        if not _pkce_ok(code, form.get("code_verifier", "")):
            return _oauth_error("invalid_grant", "Invalid code verifier."), code.address
        grant = Grant(code.address, "google", client_id, code.scopes)
        access, refresh = sandbox.tokens.issue(grant, now=now)
        body: dict[str, Any] = {
            "access_token": access,
            "expires_in": 3599,
            "refresh_token": refresh,
            "scope": " ".join(code.scopes),
            "token_type": "Bearer",
        }
        if "openid" in code.scopes or "email" in code.scopes:
            body["id_token"] = id_token(sandbox, code.address, client_id, code.nonce)
        return JSONResponse(body), code.address
    if grant_type == "refresh_token":
        rgrant = sandbox.tokens.refresh.get(form.get("refresh_token", ""))
        if rgrant is None or rgrant.revoked or rgrant.client_id != client_id:
            address = rgrant.address if rgrant else ""
            return _oauth_error("invalid_grant", "Token has been expired or revoked."), address
        fired = sandbox.faults.fire(rgrant.address, ENDPOINT)
        if any(f.kind == "revoked" for f in fired):
            sandbox.tokens.revoke_account(rgrant.address)
            return _oauth_error(
                "invalid_grant", "Token has been expired or revoked."
            ), rgrant.address
        for fault in fired:
            if fault.kind in ("500", "503", "429"):
                return _oauth_error(
                    "server_error" if fault.kind != "429" else "rate_limited",
                    "Sandbox fault",
                    int(fault.kind),
                ), rgrant.address
        scopes = rgrant.scopes
        if form.get("scope"):
            asked = tuple(normalize_scope("google", s) for s in form["scope"].split())
            if not set(asked) <= set(scopes):
                return _oauth_error("invalid_scope", "Scope not granted."), rgrant.address
            scopes = asked
        grant = Grant(
            rgrant.address, "google", client_id, scopes, refresh_token=form["refresh_token"]
        )
        access, _ = sandbox.tokens.issue(grant, now=now, with_refresh=False)
        body = {
            "access_token": access,
            "expires_in": 3599,
            "scope": " ".join(scopes),
            "token_type": "Bearer",
        }
        if "openid" in scopes:
            body["id_token"] = id_token(sandbox, rgrant.address, client_id)
        return JSONResponse(body), rgrant.address
    return _oauth_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}"), ""


async def token(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    start = clock.epoch_seconds()
    form = {k: str(v) for k, v in (await request.form()).items()}
    with sandbox.lock:
        response, address = _exchange(sandbox, request, form)
        sandbox.record(
            LogEntry(
                start,
                clock.epoch_seconds(),
                "POST",
                request.url.path,
                ENDPOINT,
                address,
                response.status_code,
            )
        )
    return response


async def revoke(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    form = await request.form()
    value = str(form.get("token") or request.query_params.get("token", ""))
    with sandbox.lock:
        if not sandbox.tokens.revoke_token(value):
            return _oauth_error("invalid_token", "Token expired or revoked")
    return JSONResponse({})


async def userinfo(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    with sandbox.lock:
        grant = sandbox.tokens.access.get(bearer(request))
        if grant is None or grant.revoked or grant.provider != "google":
            return _oauth_error("invalid_token", "Invalid Credentials", 401)
        account = sandbox.account(grant.address)
        return JSONResponse(
            {
                "sub": hashlib.sha256(account.address.encode()).hexdigest()[:21],
                "email": account.address,
                "email_verified": True,
                "name": account.display_name,
            }
        )


def routes() -> list[BaseRoute]:
    return [
        Route("/o/oauth2/auth", authorize, methods=["GET"]),
        Route("/o/oauth2/v2/auth", authorize, methods=["GET"]),
        Route("/token", token, methods=["POST"]),
        Route("/o/oauth2/token", token, methods=["POST"]),
        Route("/revoke", revoke, methods=["POST", "GET"]),
        Route("/o/oauth2/revoke", revoke, methods=["POST", "GET"]),
        Route("/oauth2/v3/userinfo", userinfo, methods=["GET"]),
        Route("/oauth2/v1/certs", certs, methods=["GET"]),
    ]
