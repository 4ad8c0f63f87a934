"""The browser side of the connectors' OAuth flows, for two purposes: *connect* an account
to the signed-in owner, or *sign in* an owner whose address matches.

The flow's state (Google: state + PKCE verifier; Microsoft: msal's auth-code flow dict)
travels in a signed, HttpOnly, 10-minute cookie; the callback refuses a ``state`` that
does not match it (the OAuth CSRF defence). Both providers redirect to
``/accounts/oauth/<provider>/callback`` (the redirect URIs in the settings).
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

from fastapi import HTTPException, Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, select

from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, Owner
from rapportd.agent.web.auth import Viewer, sessions_of, sign_in

log = get_logger(__name__)

COOKIE = "rapportd_oauth"
MAX_AGE = 600
PROVIDERS = {"google": "Google", "microsoft": "Microsoft"}


def configured(settings: Settings) -> list[tuple[str, str]]:
    """The providers whose OAuth client is set up (and whose connector code is present)."""
    try:
        import rapportd.connectors.oauth  # noqa: F401
    except ImportError:
        return []
    out = []
    if settings.google.client_id:
        out.append(("google", PROVIDERS["google"]))
    if settings.microsoft.client_id:
        out.append(("microsoft", PROVIDERS["microsoft"]))
    return out


def _signer(request: Request) -> URLSafeTimedSerializer:
    signer: URLSafeTimedSerializer = request.app.state.oauth_signer
    return signer


def start(
    request: Request, provider: str, purpose: str, viewer: Viewer | None, login_hint: str = ""
) -> RedirectResponse:
    settings: Settings = request.app.state.settings
    if provider not in dict(configured(settings)):
        raise HTTPException(status_code=404, detail=f"{provider} sign-in is not configured")
    from rapportd.connectors import oauth

    flow: dict[str, Any] = {
        "provider": provider,
        "purpose": purpose,
        "owner": viewer.owner_id if viewer else None,
    }
    if provider == "google":
        state, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(64)
        url = oauth.google_authorization_url(settings, state, verifier, login_hint=login_hint)
        flow.update(state=state, verifier=verifier)
    else:
        ms_flow = oauth.microsoft_auth_flow(settings, login_hint=login_hint)
        url = str(ms_flow["auth_uri"])
        flow.update(state=str(ms_flow.get("state", "")), ms_flow=ms_flow)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        COOKIE,
        _signer(request).dumps(flow),
        max_age=MAX_AGE,
        httponly=True,
        samesite="lax",
        secure=request.app.state.secure_cookies,
        path="/accounts/oauth/",
    )
    return response


def _claims(token_result: dict[str, Any]) -> dict[str, Any]:
    claims = token_result.get("id_token_claims")
    if isinstance(claims, dict):
        return claims
    raw = token_result.get("id_token")
    if isinstance(raw, str) and raw.count(".") == 2:
        # Straight from the token endpoint over TLS (OIDC core 3.1.3.7): no need to re-verify
        # the signature to read who it is.
        part = raw.split(".")[1]
        try:
            decoded = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        except (ValueError, json.JSONDecodeError):
            return {}
        return decoded if isinstance(decoded, dict) else {}
    return {}


def address_of(token_result: dict[str, Any]) -> str:
    for key in ("address", "email"):
        if isinstance(token_result.get(key), str):
            return str(token_result[key]).lower()
    claims = _claims(token_result)
    for key in ("email", "preferred_username", "upn"):
        value = claims.get(key)
        if isinstance(value, str) and "@" in value:
            return value.lower()
    return ""


def callback(request: Request, provider: str, viewer: Viewer | None) -> RedirectResponse:
    settings: Settings = request.app.state.settings
    raw = request.cookies.get(COOKIE, "")
    try:
        flow = _signer(request).loads(raw, max_age=MAX_AGE) if raw else None
    except BadSignature:
        flow = None
    params = dict(request.query_params)
    if not isinstance(flow, dict) or flow.get("provider") != provider:
        raise HTTPException(status_code=400, detail="this sign-in has expired; start again")
    if not secrets.compare_digest(str(params.get("state", "")), str(flow.get("state", ""))):
        raise HTTPException(status_code=400, detail="the OAuth state does not match; start again")
    if "error" in params:
        raise HTTPException(
            status_code=400, detail=f"{PROVIDERS[provider]} said: {params['error']}"
        )
    from rapportd.connectors import oauth

    try:
        if provider == "google":
            result = oauth.google_exchange_code(settings, params.get("code", ""), flow["verifier"])
        else:
            result = oauth.microsoft_exchange(settings, flow["ms_flow"], params)
    except Exception as exc:  # the provider's reason, without tokens
        log.warning("oauth exchange failed", provider=provider, error=type(exc).__name__)
        raise HTTPException(status_code=400, detail="the provider refused the sign-in") from None
    if flow["purpose"] == "connect":
        if viewer is None or viewer.owner_id != flow.get("owner"):
            raise HTTPException(status_code=400, detail="sign in first, then connect")
        with transaction(sessions_of(request)) as db:
            oauth.connect_account(db, viewer.owner_id, provider, result, settings)
        response = RedirectResponse("/accounts?connected=1", status_code=303)
    else:
        address = address_of(result)
        with transaction(sessions_of(request)) as db:
            owner_id = db.scalar(select(Owner.id).where(func.lower(Owner.email) == address))
            if owner_id is None and address:
                owner_id = db.scalar(
                    select(Account.owner_id).where(
                        Account.provider == provider, func.lower(Account.address) == address
                    )
                )
            if owner_id is None:
                raise HTTPException(
                    status_code=403,
                    detail="no rapportd owner has this address; ask for `rapportd owners add`",
                )
            oauth.connect_account(db, owner_id, provider, result, settings)
        response = RedirectResponse("/suggestions", status_code=303)
        sign_in(request, response, owner_id)
    response.delete_cookie(COOKIE, path="/accounts/oauth/")
    return response
