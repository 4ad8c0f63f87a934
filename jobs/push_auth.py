"""Who may knock on the push endpoints: proof that a notification comes from our channel.

Graph: each notification must carry its subscription's ``clientState``; the store keeps only
:func:`client_state_hash` of it. Gmail push reaches us through a Cloud Pub/Sub push subscription, and anyone on the internet
can POST the same JSON. A notification counts only when it proves itself in one of the two
ways Pub/Sub offers (settings ``google.push_*``; when both are set, both must hold):

- **a shared secret in the endpoint URL** (``…/push/gmail?token=…``), compared in constant
  time with ``google.push_token``;
- **an OIDC token** in ``Authorization: Bearer …``, which Pub/Sub signs as the
  subscription's service account. Its signature is checked against Google's certificates
  (``google.push_certs_url``, cached as long as their ``Cache-Control`` allows), its issuer
  must be Google, its audience ``google.push_audience``, and, when
  ``google.push_service_account`` is set, its verified ``email`` that account.

With neither setting, Gmail push is off and every notification is refused: polling carries
on. Nothing here logs a token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx
from google.auth import exceptions as google_exceptions
from google.auth import jwt

from rapportd.agent.core.settings import GoogleSettings

GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
CLOCK_SKEW_SECONDS = 60
DEFAULT_CERTS_TTL = 3600.0
MIN_REFRESH_SECONDS = 60.0
_MAX_AGE = re.compile(r"max-age=(\d+)")

CertsFetcher = Callable[[str], tuple[dict[str, str], float]]


def client_state_hash(client_state: str) -> str:
    """What the store keeps of a Graph subscription's clientState (never the secret itself)."""
    return hashlib.sha256(client_state.encode()).hexdigest()


class PushRefused(Exception):
    """The notification did not prove where it came from (the reason is safe to log)."""


class CertsUnavailable(Exception):
    """Google's signing certificates could not be fetched (try again later)."""


def fetch_certs(url: str) -> tuple[dict[str, str], float]:
    """``({key id: PEM certificate}, seconds they may be cached)`` from a certs URL."""
    try:
        response = httpx.get(url, timeout=10.0)
        response.raise_for_status()
        certs = response.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise CertsUnavailable(f"{type(exc).__name__} fetching push certificates") from None
    if not isinstance(certs, dict) or not all(isinstance(v, str) for v in certs.values()):
        raise CertsUnavailable("push certificates are not a {key id: PEM} object")
    found = _MAX_AGE.search(response.headers.get("cache-control", ""))
    return certs, float(found.group(1)) if found else DEFAULT_CERTS_TTL


@dataclass
class CertsCache:
    """Google's certificates, fetched at most once per their lifetime."""

    url: str
    fetch: CertsFetcher = fetch_certs
    clock: Callable[[], float] = time.monotonic
    _certs: dict[str, str] = field(default_factory=dict)
    _until: float = 0.0
    _fetched_at: float = float("-inf")
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def get(self, *, refresh: bool = False) -> Mapping[str, str]:
        """The certificates; ``refresh`` asks for new ones (an unknown key id), granted at
        most once a minute so forged key ids cannot make us hammer Google."""
        with self._lock:
            now = self.clock()
            stale = not self._certs or now >= self._until
            if stale or (refresh and now - self._fetched_at >= MIN_REFRESH_SECONDS):
                certs, ttl = self.fetch(self.url)
                self._certs, self._until, self._fetched_at = certs, now + ttl, now
            return self._certs


@dataclass
class GmailPushAuth:
    """The checks of one deployment's settings, applied to each notification."""

    token: str = ""
    audience: str = ""
    service_account: str = ""
    certs: CertsCache | None = None

    @classmethod
    def from_settings(
        cls, google: GoogleSettings, fetch: CertsFetcher = fetch_certs
    ) -> GmailPushAuth:
        return cls(
            token=google.push_token.get_secret_value(),
            audience=google.push_audience,
            service_account=google.push_service_account.strip().lower(),
            certs=CertsCache(google.push_certs_url, fetch) if google.push_audience else None,
        )

    @property
    def enabled(self) -> bool:
        return bool(self.token or self.audience)

    def check(self, url_token: str | None, authorization: str | None) -> None:
        """Return if the notification proved itself; :class:`PushRefused` if not,
        :class:`CertsUnavailable` if it cannot be told now. Blocking (may fetch certs)."""
        if not self.enabled:
            raise PushRefused("gmail push is not configured (google.push_token / push_audience)")
        if self.token and not hmac.compare_digest((url_token or "").encode(), self.token.encode()):
            raise PushRefused("wrong or missing ?token=")
        if self.audience:
            self._check_oidc(authorization or "")

    def _check_oidc(self, authorization: str) -> None:
        scheme, _, bearer = authorization.partition(" ")
        if scheme.lower() != "bearer" or not bearer.strip():
            raise PushRefused("no OIDC bearer token")
        claims = self._decode(bearer.strip())
        if claims.get("iss") not in GOOGLE_ISSUERS:
            raise PushRefused("OIDC token not issued by Google")
        if self.service_account:
            email = str(claims.get("email", "")).lower()
            if email != self.service_account or claims.get("email_verified") is not True:
                raise PushRefused("OIDC token signed for another service account")

    def _decode(self, bearer: str) -> Mapping[str, object]:
        assert self.certs is not None
        for refresh in (False, True):  # a key id we do not know: Google rotated, fetch again
            try:
                claims = jwt.decode(
                    bearer,
                    certs=self.certs.get(refresh=refresh),
                    audience=self.audience,
                    clock_skew_in_seconds=CLOCK_SKEW_SECONDS,
                )
            except (google_exceptions.GoogleAuthError, ValueError) as exc:
                if not refresh and "Certificate for key id" in str(exc):
                    continue
                raise PushRefused(f"OIDC token rejected ({_reason(exc)})") from None
            return dict(claims)
        raise PushRefused("OIDC token rejected")  # pragma: no cover - the loop returns or raises


def _reason(exc: Exception) -> str:
    """What google-auth found wrong (it quotes claims such as aud and exp, never the token)."""
    return str(exc)[:160] or type(exc).__name__
