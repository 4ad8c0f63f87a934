"""Connect an account: authorization code + PKCE (Google), msal auth-code flow (Microsoft).

The flows only produce a *token result* (``{"provider", "address", "scopes", "token_data"}``);
:func:`connect_account` stores it on an Account row, encrypted by the vault. A person who
re-connects an account that needed re-consent gets it back to ``ok``.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent.core.errors import ConfigError
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.models import Account
from rapportd.connectors.errors import from_oauth
from rapportd.connectors.factory import store_tokens
from rapportd.connectors.tokens import google_blob

GOOGLE_SCOPES = [
    "openid",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.compose",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.freebusy",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def _google_flow(settings: Settings, code_verifier: str) -> Any:
    from google_auth_oauthlib.flow import Flow

    g = settings.google
    if not g.client_id:
        raise ConfigError("setting google.client_id (RAPPORTD_GOOGLE__CLIENT_ID): not set")
    if urlsplit(g.token_uri).hostname in LOOPBACK:
        # oauthlib refuses plain http; a token endpoint on this machine (the sandbox) is fine.
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    config = {
        "web": {
            "client_id": g.client_id,
            "client_secret": g.client_secret.get_secret_value(),
            "auth_uri": g.auth_uri,
            "token_uri": g.token_uri,
            "redirect_uris": [g.redirect_uri],
        }
    }
    return Flow.from_client_config(
        config,
        scopes=GOOGLE_SCOPES,
        redirect_uri=g.redirect_uri,
        code_verifier=code_verifier,
        autogenerate_code_verifier=False,
    )


def google_authorization_url(
    settings: Settings, state: str, code_verifier: str, login_hint: str = ""
) -> str:
    """Where to send the person: consent for rapportd's scopes, offline, with PKCE (S256)."""
    flow = _google_flow(settings, code_verifier)
    extra = {"login_hint": login_hint} if login_hint else {}
    url, _ = flow.authorization_url(
        access_type="offline", prompt="consent", state=state, include_granted_scopes="true", **extra
    )
    return str(url)


def _jwt_claims(token: str | None) -> dict[str, Any]:
    """The claims of an id_token (its signature was checked by TLS to the token endpoint)."""
    if not token or token.count(".") < 2:
        return {}
    payload = token.split(".")[1]
    try:
        data: dict[str, Any] = json.loads(
            base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
        )
    except ValueError:
        return {}
    return data


def google_exchange_code(settings: Settings, code: str, code_verifier: str) -> dict[str, Any]:
    """Trade the authorization code for tokens; returns the token result."""
    flow = _google_flow(settings, code_verifier)
    try:
        flow.fetch_token(code=code)
    except Exception as exc:  # oauthlib raises its own tree; translate the OAuth error
        description = getattr(exc, "description", "") or str(exc)
        raise from_oauth(
            {
                "error": getattr(exc, "error", "") or "invalid_grant",
                "error_description": description,
            },
            what="google code exchange",
        ) from None
    creds = flow.credentials
    address = str(_jwt_claims(getattr(creds, "id_token", None)).get("email", "")).lower()
    if not address:
        address = _google_address(settings, creds)
    return {
        "provider": "google",
        "address": address,
        "scopes": list(creds.scopes or GOOGLE_SCOPES),
        "token_data": google_blob(creds, list(creds.scopes or GOOGLE_SCOPES)),
    }


def _google_address(settings: Settings, creds: Any) -> str:
    from rapportd.connectors.google.client import GoogleApi

    api = GoogleApi(settings, creds, bucket="connect")
    profile = api.call(lambda: api.gmail.users().getProfile(userId="me"), units=1)
    return str(profile.get("emailAddress", "")).lower()


def microsoft_auth_flow(settings: Settings, login_hint: str = "") -> dict[str, Any]:
    """msal's auth-code flow (with PKCE); ``flow["auth_uri"]`` is where to send the person."""
    from rapportd.connectors.microsoft.client import SCOPES, msal_app

    if not settings.microsoft.client_id:
        raise ConfigError("setting microsoft.client_id (RAPPORTD_MICROSOFT__CLIENT_ID): not set")
    app = msal_app(settings)
    try:
        flow: dict[str, Any] = app.initiate_auth_code_flow(
            SCOPES, redirect_uri=settings.microsoft.redirect_uri, login_hint=login_hint or None
        )
    finally:
        app.http_client.close()
    return flow


def microsoft_exchange(
    settings: Settings, flow: dict[str, Any], query_params: dict[str, Any]
) -> dict[str, Any]:
    """Finish the flow with the redirect's query parameters; returns the token result."""
    import msal

    from rapportd.connectors.microsoft.client import SCOPES, msal_app

    cache = msal.SerializableTokenCache()
    app = msal_app(settings, cache)
    try:
        result = app.acquire_token_by_auth_code_flow(flow, query_params, scopes=SCOPES)
    finally:
        app.http_client.close()
    if "access_token" not in result:
        raise from_oauth(result, what="microsoft code exchange")
    claims = result.get("id_token_claims") or {}
    address = str(claims.get("preferred_username") or claims.get("email") or "").lower()
    accounts = app.get_accounts()
    home = accounts[0].get("home_account_id", "") if accounts else ""
    return {
        "provider": "microsoft",
        "address": address,
        "scopes": list(SCOPES),
        "token_data": {
            "provider": "microsoft",
            "msal_cache": cache.serialize(),
            "home_account_id": home,
        },
    }


def connect_account(
    session: Session, owner_id: int, provider: str, token_result: dict[str, Any], settings: Settings
) -> Account:
    """Create or refresh the Account for the token result (tokens encrypted at rest)."""
    address = str(token_result.get("address", "")).lower()
    if not address:
        raise ConfigError(f"{provider}: the provider did not say which address was connected")
    account = session.scalar(
        select(Account).where(
            Account.owner_id == owner_id, Account.provider == provider, Account.address == address
        )
    )
    if account is None:
        account = Account(owner_id=owner_id, provider=provider, address=address)
        account.timezone = settings.default_timezone
        session.add(account)
    store_tokens(account, dict(token_result["token_data"]), settings)
    account.scopes = list(token_result.get("scopes") or [])
    account.status, account.status_reason = "ok", ""
    account.consecutive_errors, account.last_error = 0, ""
    session.flush()
    return account
