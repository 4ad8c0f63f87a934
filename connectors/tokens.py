"""Token blobs: what an Account keeps to call its provider, encrypted at rest by the vault.

The blob is JSON before encryption:

- Google: ``{"provider": "google", "refresh_token", "token", "expiry", "scopes"}``
- Microsoft: ``{"provider": "microsoft", "msal_cache": <SerializableTokenCache text>,
  "home_account_id"}``

It is decrypted only to build a connector and re-encrypted whenever a refresh changed it.
Nothing here logs a token.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from google.oauth2.credentials import Credentials

from rapportd.agent.core.errors import ReconsentNeeded
from rapportd.agent.core.settings import Settings
from rapportd.agent.core.vault import Vault


def load_blob(vault: Vault, blob: bytes | None) -> dict[str, Any]:
    """The decrypted token blob; ReconsentNeeded when the account has none."""
    if not blob:
        raise ReconsentNeeded("no token stored for this account; connect it again")
    data: dict[str, Any] = json.loads(vault.decrypt(blob))
    return data


def dump_blob(vault: Vault, data: dict[str, Any]) -> bytes:
    return vault.encrypt(json.dumps(data, sort_keys=True).encode())


def google_credentials(settings: Settings, data: dict[str, Any]) -> Credentials:
    """google-auth credentials that refresh at the configured token endpoint."""
    expiry = None
    if data.get("expiry"):
        # google-auth compares expiry with a naive UTC "now"
        expiry = datetime.fromisoformat(data["expiry"]).astimezone(UTC).replace(tzinfo=None)
    return Credentials(
        token=data.get("token") or None,
        refresh_token=data.get("refresh_token"),
        token_uri=settings.google.token_uri,
        client_id=settings.google.client_id,
        client_secret=settings.google.client_secret.get_secret_value(),
        scopes=data.get("scopes") or None,
        expiry=expiry,
    )


def google_blob(credentials: Credentials, scopes: list[str] | None = None) -> dict[str, Any]:
    expiry = credentials.expiry
    return {
        "provider": "google",
        "refresh_token": credentials.refresh_token,
        "token": credentials.token,
        "expiry": expiry.replace(tzinfo=UTC).isoformat() if expiry else None,
        "scopes": list(scopes or credentials.scopes or []),
    }
