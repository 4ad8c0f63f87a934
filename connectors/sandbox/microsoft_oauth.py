"""Microsoft identity platform (v2.0) endpoints, enough for msal against the sandbox.

- ``GET /{tenant}/v2.0/.well-known/openid-configuration``: the discovery document msal
  reads first; every endpoint in it points back at this server.
- ``GET /{tenant}/oauth2/v2.0/authorize``: headless consent. Approves at once for the
  sandbox Microsoft account named by ``login_hint`` (or the only one) and redirects (302)
  to ``redirect_uri`` with ``code``, ``state`` and ``client_info``.
- ``POST /{tenant}/oauth2/v2.0/token``: ``authorization_code`` (PKCE checked) and
  ``refresh_token``. Answers carry ``access_token``, ``refresh_token``, ``expires_in``,
  ``id_token`` (a JWT msal decodes but does not verify; ``iss``, ``aud`` = client id,
  ``nonce`` from the authorize request, ``oid``, ``tid``, ``preferred_username``, ``name``)
  and ``client_info`` (base64url JSON ``uid``, ``utid``). A revoked or unknown refresh
  token answers ``400 invalid_grant`` with an AADSTS message, as Entra ID does.

Scopes: Graph scopes are stored short (``Mail.ReadWrite``, not
``https://graph.microsoft.com/Mail.ReadWrite``); ``.default`` grants every Graph scope the
sandbox knows.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from rapportd.agent.core import clock
from rapportd.connectors.sandbox.state import AuthCode, Grant, LogEntry, Sandbox

ENDPOINT = "microsoft.oauth2.token"
GRAPH_RESOURCE = "https://graph.microsoft.com/"
GRAPH_SCOPES = (
    "User.Read",
    "Mail.Read",
    "Mail.ReadWrite",
    "Calendars.Read",
    "Calendars.ReadWrite",
    "MailboxSettings.Read",
    "MailboxSettings.ReadWrite",
)
OIDC_SCOPES = ("openid", "profile", "offline_access", "email")
_NAMESPACE = uuid.UUID("8d1c2f4e-6a0b-4c57-9f3e-2b5d7a1e9c40")


def object_id(address: str) -> str:
    """The account's stable ``oid`` (a GUID derived from its address)."""
    return str(uuid.uuid5(_NAMESPACE, "user:" + address.lower()))


def tenant_id(tenant: str) -> str:
    """A GUID for a tenant path segment; ``common``/``organizations``/``consumers`` and a
    domain all map to one GUID per name (a GUID stays itself)."""
    try:
        return str(uuid.UUID(tenant))
    except ValueError:
        return str(uuid.uuid5(_NAMESPACE, "tenant:" + tenant.lower()))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def normalize_scopes(scopes: str) -> tuple[str, ...]:
    out: list[str] = []
    for scope in scopes.split():
        short = scope[len(GRAPH_RESOURCE) :] if scope.lower().startswith(GRAPH_RESOURCE) else scope
        if short == ".default":
            out += [s for s in GRAPH_SCOPES if s not in out]
            continue
        match = next(
            (s for s in (*GRAPH_SCOPES, *OIDC_SCOPES) if s.lower() == short.lower()), short
        )
        if match not in out:
            out.append(match)
    return tuple(out)


def issuer(request: Request, tenant: str) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/{tenant_id(tenant)}/v2.0"


def _base(request: Request, tenant: str) -> str:
    return f"{request.url.scheme}://{request.url.netloc}/{tenant}"


async def openid_configuration(request: Request) -> Response:
    tenant = request.path_params["tenant"]
    base = _base(request, tenant)
    return JSONResponse(
        {
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": [
                "client_secret_post",
                "private_key_jwt",
                "client_secret_basic",
            ],
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer(request, tenant),
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": f"{request.url.scheme}://{request.url.netloc}/oidc/userinfo",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "claims_supported": [
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "nonce",
                "preferred_username",
                "name",
                "tid",
                "ver",
                "oid",
            ],
            "kerberos_endpoint": f"{base}/kerberos",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }
    )


async def jwks(request: Request) -> Response:
    return JSONResponse({"keys": []})


def _error(error: str, description: str, status: int = 400, code: int = 0) -> JSONResponse:
    body: dict[str, Any] = {
        "error": error,
        "error_description": description,
        "error_codes": [code] if code else [],
        "timestamp": clock.now().strftime("%Y-%m-%d %H:%M:%SZ"),
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    return JSONResponse(body, status_code=status)


def client_info(address: str, tenant: str) -> str:
    return _b64(json.dumps({"uid": object_id(address), "utid": tenant_id(tenant)}).encode())


async def authorize(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    tenant = request.path_params["tenant"]
    q = request.query_params
    client_id, redirect_uri = q.get("client_id", ""), q.get("redirect_uri", "")
    with sandbox.lock:
        if sandbox.client("microsoft", client_id) is None:
            return _error(
                "unauthorized_client",
                f"AADSTS700016: Application with identifier "
                f"'{client_id}' was not found in the directory.",
                400,
                700016,
            )
        if not redirect_uri:
            return _error(
                "invalid_request",
                "AADSTS900144: The request body must contain the "
                "following parameter: 'redirect_uri'.",
                400,
                900144,
            )
        if q.get("response_type", "code") != "code":
            return _error(
                "unsupported_response_type",
                "AADSTS70005: response_type is not supported by the sandbox (use code).",
                400,
                70005,
            )
        accounts = [a for a in sandbox.accounts.values() if a.provider == "microsoft"]
        hint = q.get("login_hint", "").lower()
        chosen = (
            [a for a in accounts if a.address == hint or hint in a.aliases]
            if hint
            else (accounts if len(accounts) == 1 else [])
        )
        if not chosen:
            return _error(
                "access_denied",
                "AADSTS50020: No sandbox Microsoft account matches "
                f"login_hint {hint!r} (known: "
                f"{', '.join(a.address for a in accounts)}).",
                400,
                50020,
            )
        method = q.get("code_challenge_method", "plain" if q.get("code_challenge") else "")
        code = sandbox.tokens.new_code(
            AuthCode(
                chosen[0].address,
                "microsoft",
                client_id,
                normalize_scopes(q.get("scope", "")),
                redirect_uri,
                q.get("code_challenge", ""),
                method,
                q.get("nonce", ""),
                sandbox.now() + timedelta(minutes=10),
            )
        )
        info = client_info(chosen[0].address, tenant)
    params = {"code": "M." + code, "client_info": info, "session_state": str(uuid.uuid4())}
    if "state" in q:
        params["state"] = q["state"]
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{sep}{urlencode(params)}", status_code=302)


def id_token(
    request: Request, sandbox: Sandbox, address: str, client_id: str, tenant: str, nonce: str = ""
) -> str:
    """A JWT (HS256 over a sandbox key) with the claims msal and apps read."""
    import hmac

    account = sandbox.account(address)
    now = int(clock.wall_now().timestamp())  # msal checks JWT times against the real clock
    claims: dict[str, Any] = {
        "aud": client_id,
        "iss": issuer(request, tenant),
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "name": account.display_name or address,
        "oid": object_id(address),
        "preferred_username": address,
        "sub": _b64(hashlib.sha256(f"{address}:{client_id}".encode()).digest()),
        "tid": tenant_id(tenant),
        "ver": "2.0",
        "email": address,
    }
    if nonce:
        claims["nonce"] = nonce
    head = _b64(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "sandbox"}).encode())
    body = _b64(json.dumps(claims).encode())
    sig = hmac.new(b"rapportd-sandbox", f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(sig)}"


def _client_ok(sandbox: Sandbox, request: Request, form: dict[str, str]) -> str | None:
    client_id, secret = form.get("client_id", ""), form.get("client_secret")
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("basic "):
        client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
    client = sandbox.client("microsoft", client_id)
    if client is None or (secret is not None and secret != client.client_secret):
        return None
    return client_id


def _pkce_ok(code: AuthCode, verifier: str) -> bool:
    if not code.code_challenge:
        return True
    if code.code_challenge_method == "S256":
        return _b64(hashlib.sha256(verifier.encode()).digest()) == code.code_challenge
    return verifier == code.code_challenge


def _tokens(
    request: Request, sandbox: Sandbox, grant: Grant, tenant: str, nonce: str, with_id_token: bool
) -> JSONResponse:
    access, refresh = sandbox.tokens.issue(grant, now=sandbox.now())
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join(s for s in grant.scopes if s not in OIDC_SCOPES or s == "openid")
        or "User.Read",
        "expires_in": 3599,
        "ext_expires_in": 3599,
        "access_token": access,
        "refresh_token": refresh,
        "client_info": client_info(grant.address, tenant),
    }
    if with_id_token:
        body["id_token"] = id_token(request, sandbox, grant.address, grant.client_id, tenant, nonce)
    return JSONResponse(body)


def _exchange(
    request: Request, sandbox: Sandbox, tenant: str, form: dict[str, str]
) -> tuple[Response, str]:
    client_id = _client_ok(sandbox, request, form)
    if client_id is None:
        return _error(
            "invalid_client", "AADSTS7000215: Invalid client secret provided.", 401, 7000215
        ), ""
    grant_type = form.get("grant_type", "")
    now = sandbox.now()
    if grant_type == "authorization_code":
        value = form.get("code", "")
        code = sandbox.tokens.codes.pop(value[2:] if value.startswith("M.") else value, None)
        if (
            code is None
            or code.provider != "microsoft"
            or code.client_id != client_id
            or (code.expires_at and code.expires_at < now)
        ):
            return _error(
                "invalid_grant",
                "AADSTS70008: The provided authorization code or "
                "refresh token has expired or was already used.",
                400,
                70008,
            ), ""
        if form.get("redirect_uri", code.redirect_uri) != code.redirect_uri:
            return _error(
                "invalid_grant", "AADSTS50011: The redirect URI does not match.", 400, 50011
            ), code.address
        if not _pkce_ok(code, form.get("code_verifier", "")):
            return _error(
                "invalid_grant",
                "AADSTS501481: The Code_Verifier does not match "
                "the code_challenge supplied in the authorization request.",
                400,
                501481,
            ), code.address
        scopes = code.scopes + tuple(
            s for s in normalize_scopes(form.get("scope", "")) if s not in code.scopes
        )
        grant = Grant(code.address, "microsoft", client_id, scopes)
        return _tokens(
            request, sandbox, grant, tenant, code.nonce, "openid" in scopes
        ), code.address
    if grant_type == "refresh_token":
        token = form.get("refresh_token", "")
        rgrant = sandbox.tokens.refresh.get(token)
        address = rgrant.address if rgrant else ""
        if rgrant is None or rgrant.revoked or rgrant.client_id != client_id:
            return _error(
                "invalid_grant",
                "AADSTS70000: The provided value for the 'refresh_"
                "token' is not valid. The user might have changed or reset their "
                "password, or the grant was revoked.",
                400,
                70000,
            ), address
        fired = sandbox.faults.fire(address, ENDPOINT)
        if any(f.kind == "revoked" for f in fired):
            sandbox.tokens.revoke_account(address)
            return _error(
                "invalid_grant",
                "AADSTS50173: The provided grant has expired due to it being revoked.",
                400,
                50173,
            ), address
        for fault in fired:
            if fault.kind in ("500", "503", "429"):
                return _error(
                    "temporarily_unavailable",
                    "AADSTS90033: A transient error has occurred. Please try again.",
                    int(fault.kind),
                    90033,
                ), address
        scopes = rgrant.scopes + tuple(
            s
            for s in normalize_scopes(form.get("scope", ""))
            if s in OIDC_SCOPES and s not in rgrant.scopes
        )
        # Entra ID rotates refresh tokens: the new one works, the old keeps working too.
        grant = Grant(address, "microsoft", client_id, scopes)
        return _tokens(request, sandbox, grant, tenant, "", "openid" in scopes), address
    return _error(
        "unsupported_grant_type",
        f"AADSTS70003: The app requested an unsupported grant type '{grant_type}'.",
        400,
        70003,
    ), ""


async def token(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    tenant = request.path_params["tenant"]
    start = clock.epoch_seconds()
    form = {k: str(v) for k, v in (await request.form()).items()}
    with sandbox.lock:
        response, address = _exchange(request, sandbox, tenant, form)
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


def routes(sandbox: Sandbox | None = None) -> list[BaseRoute]:
    """Mount these after fixed-path routes: ``/{tenant}/...`` matches any first segment."""
    return [
        Route(
            "/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration, methods=["GET"]
        ),
        Route("/{tenant}/.well-known/openid-configuration", openid_configuration, methods=["GET"]),
        Route("/{tenant}/discovery/v2.0/keys", jwks, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/authorize", authorize, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ]
