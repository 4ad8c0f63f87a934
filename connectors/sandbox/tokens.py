"""OAuth state of the sandbox: clients, authorization codes, access and refresh tokens.

Shared by the Google and Microsoft token endpoints; re-exported by ``state``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

Provider = Literal["google", "microsoft"]


@dataclass
class OAuthClient:
    provider: Provider
    client_id: str
    client_secret: str


@dataclass
class Grant:
    """What an access or refresh token stands for."""

    address: str
    provider: Provider
    client_id: str
    scopes: tuple[str, ...]
    expires_at: datetime | None = None  # access tokens only
    revoked: bool = False
    refresh_token: str = ""  # the refresh token an access token came from ("" if none)


@dataclass
class AuthCode:
    address: str
    provider: Provider
    client_id: str
    scopes: tuple[str, ...]
    redirect_uri: str
    code_challenge: str = ""
    code_challenge_method: str = ""
    nonce: str = ""
    expires_at: datetime | None = None


class TokenStore:
    """Authorization codes, access tokens and refresh tokens of every account (in memory)."""

    def __init__(self) -> None:
        self.codes: dict[str, AuthCode] = {}
        self.access: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}

    def new_code(self, code: AuthCode) -> str:
        value = "4/" + secrets.token_urlsafe(24)
        self.codes[value] = code
        return value

    def issue(
        self, grant: Grant, *, now: datetime, lifetime: int = 3600, with_refresh: bool = True
    ) -> tuple[str, str]:
        """A new access token (and refresh token unless ``with_refresh`` is False)."""
        refresh = ""
        if with_refresh:
            refresh = "1//" + secrets.token_urlsafe(32)
            self.refresh[refresh] = Grant(
                grant.address, grant.provider, grant.client_id, grant.scopes
            )
        access = "ya29." + secrets.token_urlsafe(32)
        self.access[access] = Grant(
            grant.address,
            grant.provider,
            grant.client_id,
            grant.scopes,
            now + timedelta(seconds=lifetime),
            refresh_token=refresh or grant.refresh_token,
        )
        return access, refresh

    def revoke_account(self, address: str) -> int:
        """Revoke every refresh (and access) token of ``address``; returns how many."""
        count = 0
        for store in (self.refresh, self.access):
            for grant in store.values():
                if grant.address == address and not grant.revoked:
                    grant.revoked = True
                    count += 1
        return count

    def revoke_token(self, token: str) -> bool:
        grant = self.refresh.get(token) or self.access.get(token)
        if grant is None:
            return False
        grant.revoked = True
        if token in self.refresh:  # revoking a refresh token kills its access tokens
            for other in self.access.values():
                if other.refresh_token == token:
                    other.revoked = True
        return True
