"""Microsoft Graph over httpx, tokens from msal, with the mailbox's limits respected.

- msal ``ConfidentialClientApplication`` with one ``SerializableTokenCache`` per account;
  the authority is ``{authority_host}/{tenant}`` (instance discovery and authority
  validation off, so a compatible local server works); the CA file, when set, is trusted
  through the requests session msal uses (``trust_env=False`` so REQUESTS_CA_BUNDLE cannot
  override it).
- Every request sends ``Prefer: outlook.timezone="UTC", IdType="ImmutableId"`` (ids survive
  folder moves) and asks for text bodies.
- At most ``microsoft.max_concurrency`` (4) requests in flight per mailbox in this process,
  and ``requests_per_10_minutes`` spent from the shared limiter (a ``$batch`` costs one
  per part, as Graph counts it).
- 429 / 503 / 504 are retried with Retry-After / back-off on reads; writes are retried only
  when the caller says the write is idempotent (events carry a transactionId).
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx
import msal
import requests

from rapportd.agent.core.errors import ReconsentNeeded, RetryLater
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings
from rapportd.connectors.errors import TRANSPORT_ERRORS, from_httpx, from_oauth
from rapportd.connectors.ratelimit import Concurrency, Limiter, MemoryLimiter, backoff

log = get_logger(__name__)
SCOPES = ["Mail.ReadWrite", "Calendars.ReadWrite", "User.Read"]
PREFER = 'outlook.timezone="UTC", IdType="ImmutableId", outlook.body-content-type="text"'
MAX_ATTEMPTS = 8


def msal_app(settings: Settings, cache: msal.SerializableTokenCache | None = None) -> Any:
    ms = settings.microsoft
    session = requests.Session()
    if ms.ca_file:
        session.verify = ms.ca_file
        session.trust_env = False
    return msal.ConfidentialClientApplication(
        ms.client_id,
        client_credential=ms.client_secret.get_secret_value(),
        authority=f"{ms.authority_host.rstrip('/')}/{ms.tenant}",
        token_cache=cache,
        http_client=session,
        instance_discovery=False,
        validate_authority=False,
    )


class MsalTokens:
    """Access tokens for one account from its msal cache (refreshed by msal as needed)."""

    def __init__(self, settings: Settings, data: dict[str, Any]) -> None:
        self.cache = msal.SerializableTokenCache()
        if data.get("msal_cache"):
            self.cache.deserialize(data["msal_cache"])
        self.home_account_id = data.get("home_account_id", "")
        self.app = msal_app(settings, self.cache)
        self._lock = threading.Lock()
        self._token = ""
        self._expires = 0.0

    def data(self) -> dict[str, Any]:
        return {
            "provider": "microsoft",
            "msal_cache": self.cache.serialize(),
            "home_account_id": self.home_account_id,
        }

    def token(self, *, force: bool = False) -> str:
        with self._lock:
            if self._token and not force and time.monotonic() < self._expires - 60:
                return self._token
            accounts = self.app.get_accounts()
            account = next(
                (a for a in accounts if a.get("home_account_id") == self.home_account_id),
                accounts[0] if accounts else None,
            )
            if account is None:
                raise ReconsentNeeded("no Microsoft account in the token cache; connect again")
            try:
                result = self.app.acquire_token_silent_with_error(
                    SCOPES, account=account, force_refresh=force
                )
            except (*TRANSPORT_ERRORS, requests.RequestException) as exc:
                raise RetryLater(f"token endpoint unreachable ({type(exc).__name__})") from None
            if not result:
                raise ReconsentNeeded("msal has no usable refresh token; connect again")
            if "access_token" not in result:
                raise from_oauth(result, what="token refresh")
            self._token = result["access_token"]
            self._expires = time.monotonic() + float(result.get("expires_in", 3600))
            return self._token


class GraphApi:
    """One mailbox's Graph calls."""

    def __init__(
        self,
        settings: Settings,
        token: Callable[..., str],
        *,
        bucket: str,
        limiter: Limiter | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        ms = settings.microsoft
        self.settings = settings
        self.base = ms.graph_base_url.rstrip("/")
        self.token = token
        self.bucket = bucket
        self.limiter: Limiter = limiter or MemoryLimiter()
        self.sleep = sleep
        self.client = httpx.Client(
            verify=ssl.create_default_context(cafile=ms.ca_file) if ms.ca_file else True,
            timeout=httpx.Timeout(60.0, connect=10.0),
            transport=transport,
            headers={"Prefer": PREFER},
            trust_env=False,
        )
        self.slots = Concurrency.slot(bucket, ms.max_concurrency)
        self.requests = 0
        self._lock = threading.Lock()

    def url(self, path: str) -> str:
        return path if path.startswith("http") else f"{self.base}/{path.lstrip('/')}"

    def _spend(self, n: int) -> None:
        ms = self.settings.microsoft
        self.limiter.acquire(f"{self.bucket}:graph", n, ms.requests_per_10_minutes, 600.0)
        with self._lock:
            self.requests += n

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        for attempt in (1, 2):
            headers["Authorization"] = f"Bearer {self.token(force=attempt == 2)}"
            with self.slots:
                try:
                    response = self.client.request(method, url, headers=headers, **kwargs)
                except httpx.TransportError as exc:
                    raise RetryLater(f"graph: {type(exc).__name__}") from None
            if response.status_code != 401:
                return response
        # The token endpoint just gave a fresh token (a revoked grant would have answered
        # invalid_grant there, which is ReconsentNeeded): a 401 now is another worker's
        # refresh racing this one, or the service catching up. Retry later; never ask the
        # person to consent again for it.
        raise RetryLater("graph: 401 right after a token refresh", status=401, retry_after=5.0)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        idempotent: bool | None = None,
        what: str = "",
    ) -> Any:
        """JSON of the answer (None for 204); errors translated; retried when safe."""
        safe = method == "GET" if idempotent is None else idempotent
        attempt = 0
        while True:
            attempt += 1
            self._spend(1)
            try:
                response = self._send(
                    method, self.url(path), json=json, params=params, headers=headers
                )
                if response.is_success:
                    return response.json() if response.content else None
                err = from_httpx(response, what=what or f"{method} {path.split('?')[0]}")
            except RetryLater as exc:
                err = exc
            if isinstance(err, RetryLater) and safe and attempt < MAX_ATTEMPTS:
                if err.retry_after:
                    self.limiter.pause(f"{self.bucket}:graph", err.retry_after)
                wait = backoff(attempt, retry_after=err.retry_after)
                log.info("graph.retry", what=what, status=err.status, wait=round(wait, 2))
                self.sleep(wait)
                continue
            raise err

    def batch(self, parts: Sequence[dict[str, Any]], *, what: str = "") -> dict[str, Any]:
        """Run GET parts (``{"id", "url"}``) through ``$batch`` (<= graph_batch_size each);
        a throttled part is retried alone; the answer maps id -> body or translated error."""
        size = self.settings.sync.graph_batch_size
        results: dict[str, Any] = {}
        pending = list(parts)
        attempt = 0
        while pending:
            attempt += 1
            failed: list[dict[str, Any]] = []
            retry_after: float | None = None
            for start in range(0, len(pending), size):
                chunk = pending[start : start + size]
                body = {
                    "requests": [
                        {
                            "id": p["id"],
                            "method": p.get("method", "GET"),
                            "url": p["url"],
                            "headers": {"Prefer": PREFER},
                        }
                        for p in chunk
                    ]
                }
                self._spend(len(chunk) - 1)  # the $batch request itself is spent below
                answer = self.request("POST", "$batch", json=body, idempotent=True, what="$batch")
                by_id = {str(r.get("id")): r for r in (answer or {}).get("responses") or []}
                for p in chunk:
                    r = by_id.get(str(p["id"]))
                    status = int(r.get("status", 0)) if r else 503
                    if r is not None and 200 <= status < 300:
                        results[p["id"]] = r.get("body")
                        continue
                    hdrs = {k.lower(): v for k, v in ((r or {}).get("headers") or {}).items()}
                    err = from_httpx(
                        httpx.Response(status, json=(r or {}).get("body") or {}, headers=hdrs),
                        what=what,
                    )
                    if isinstance(err, RetryLater) and attempt < MAX_ATTEMPTS:
                        failed.append(p)
                        if err.retry_after:
                            retry_after = max(retry_after or 0.0, err.retry_after)
                    else:
                        results[p["id"]] = err
            if failed:
                if retry_after:
                    self.limiter.pause(f"{self.bucket}:graph", retry_after)
                self.sleep(backoff(attempt, retry_after=retry_after))
            pending = failed
        return results

    def pages(self, path: str, *, params: dict[str, Any] | None = None, what: str = "") -> Any:
        """Yield every page of a collection (following ``@odata.nextLink``)."""
        url: str | None = path
        first = True
        while url:
            page = self.request("GET", url, params=params if first else None, what=what)
            first = False
            yield page
            url = page.get("@odata.nextLink")
