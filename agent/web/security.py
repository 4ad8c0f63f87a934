"""Security at the edges of the web app: response headers, password hashing and the
signing key.

The Content-Security-Policy allows scripts and styles from the app itself only (no inline
script, no ``eval``), images from the app and ``data:``, and no framing at all. Charts are
inline SVG that use presentation attributes (``fill=``), which CSP does not govern.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rapportd.agent.core.files import private_dir
from rapportd.agent.core.settings import Settings

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self' https:",
        "frame-ancestors 'none'",
    ]
)

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
    (b"cross-origin-opener-policy", b"same-origin"),
]


HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")


class SecurityHeaders:
    """Pure ASGI middleware: adds the security headers to every HTTP response, and
    Strict-Transport-Security when the app is served over https (``base_url``)."""

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.headers = [*SECURITY_HEADERS, *([HSTS] if hsts else [])]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers", [])}
                extra = [(k, v) for k, v in self.headers if k not in present]
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_headers)


_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """argon2id with argon2-cffi's defaults (the RFC 9106 low-memory profile)."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; a missing or malformed hash never matches.

    Without a hash we still run one hash, so a missing owner takes as long as a wrong
    password (no user enumeration by timing).
    """
    if not password_hash:
        _hasher.hash(password or "x")
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def signing_key(settings: Settings) -> str:
    """The key that signs session cookies: ``secret_key`` if set, else one generated once
    and kept (mode 0600) in the data folder, so sessions survive a restart."""
    configured = settings.secret_key.get_secret_value()
    if configured:
        return configured
    path = Path(settings.data_dir) / "web_secret.key"
    if path.exists():
        return path.read_text().strip()
    private_dir(path.parent)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
