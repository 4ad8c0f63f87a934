"""googleapiclient services pointed at any endpoint, with quota, retries and batching.

- Services are built from the discovery documents bundled with google-api-python-client,
  with ``rootUrl`` / ``mtlsRootUrl`` rewritten to the configured root, so the batch path
  follows too (``client_options.api_endpoint`` would miss it).
- ``httplib2.Http`` is not thread-safe: every thread gets its own services.
- Every call spends its quota units first (:mod:`rapportd.connectors.ratelimit`), runs with
  googleapiclient's own retries OFF, and is retried here only when it is a read; writes
  are never retried blindly (the caller looks for its tag instead).
- A batch's failed parts are retried alone, with back-off; a 429 inside a batch pauses the
  mailbox's bucket for every worker. When a whole batch fails (one dropped part drops the
  whole multipart answer), its parts are retried in batches half as big, down to single
  requests, so that one bad part cannot fail the rest every time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import google_auth_httplib2
import httplib2
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document
from googleapiclient.http import HttpRequest

from rapportd.agent.core.errors import NotFound, RetryLater
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings
from rapportd.connectors.errors import from_google
from rapportd.connectors.ratelimit import Limiter, MemoryLimiter, backoff

log = get_logger(__name__)

GMAIL_UNITS = {
    "getProfile": 1,
    "settings.sendAs.list": 1,
    "messages.list": 5,
    "messages.get": 5,
    "history.list": 2,
    "drafts.create": 10,
    "drafts.update": 15,
    "drafts.list": 5,
    "drafts.get": 5,
    "drafts.delete": 10,
}
MAX_ATTEMPTS = 8
GMAIL_WINDOW = 60.0  # Gmail counts units per user per minute


@cache
def _discovery(name: str) -> str:
    import googleapiclient

    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / f"{name}.json"
    return path.read_text()


def discovery_document(name: str, root: str) -> dict[str, Any]:
    """The bundled discovery document of ``name`` (``gmail.v1``) rooted at ``root``."""
    doc: dict[str, Any] = json.loads(_discovery(name))
    root = root if root.endswith("/") else root + "/"
    doc["rootUrl"] = root
    doc["mtlsRootUrl"] = root
    doc["baseUrl"] = root + doc.get("servicePath", "")
    return doc


class GoogleApi:
    """One account's Gmail and Calendar services, quota and retries."""

    def __init__(
        self,
        settings: Settings,
        credentials: Credentials,
        *,
        bucket: str,
        limiter: Limiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        timeout: float = 60.0,
        ca_file: str = "",
    ) -> None:
        self.settings = settings
        self.credentials = credentials
        self.bucket = bucket
        self.limiter: Limiter = limiter or MemoryLimiter()
        self.sleep = sleep
        self.timeout = timeout
        self.ca_file = ca_file
        self._local = threading.local()
        self.requests = 0
        self.units = 0
        self._count_lock = threading.Lock()
        self.batch_missing = False  # the server has no batch endpoint: single requests

    # ------------------------------------------------------------------ services
    def _http(self) -> google_auth_httplib2.AuthorizedHttp:
        http = httplib2.Http(timeout=self.timeout, ca_certs=self.ca_file or None)
        self._local.raw_https = [*getattr(self._local, "raw_https", []), http]
        return google_auth_httplib2.AuthorizedHttp(self.credentials, http=http)

    def _drop_idle_connections(self) -> None:
        """After a long quota wait the server has likely closed our keep-alive connection;
        a POST (a batch) on it would fail without reaching the server and waste its units."""
        for http in getattr(self._local, "raw_https", []):
            http.close()

    def service(self, name: str) -> Any:
        """This thread's service ``gmail`` or ``calendar``."""
        services: dict[str, Any] = getattr(self._local, "services", None) or {}
        if name not in services:
            if name == "gmail":
                doc = discovery_document("gmail.v1", self.settings.google.gmail_root)
            else:
                doc = discovery_document("calendar.v3", self.settings.google.api_root)
            services[name] = build_from_document(doc, http=self._http())
            self._local.services = services
        return services[name]

    @property
    def gmail(self) -> Any:
        return self.service("gmail")

    @property
    def calendar(self) -> Any:
        return self.service("calendar")

    # ------------------------------------------------------------------ accounting
    def _spend(self, units: int, name: str) -> None:
        waited = 0.0
        if name == "gmail" and units:
            waited = self.limiter.acquire(
                f"{self.bucket}:gmail",
                units,
                self.settings.google.quota_units_per_minute,
                GMAIL_WINDOW,
            )
        elif name == "calendar":
            waited = self.limiter.acquire(f"{self.bucket}:calendar", 1, 600, 60.0)
        if waited > 5:
            self._drop_idle_connections()
        with self._count_lock:
            self.requests += 1
            self.units += units

    def _throttled(self, name: str, err: RetryLater) -> None:
        if err.retry_after:
            self.limiter.pause(f"{self.bucket}:{name}", err.retry_after)

    # ------------------------------------------------------------------ calls
    def call(
        self,
        make: Callable[[], HttpRequest],
        *,
        units: int = 0,
        api: str = "gmail",
        write: bool = False,
        what: str = "",
    ) -> Any:
        """Execute one request; reads are retried on transient errors, writes are not."""
        attempt = 0
        while True:
            attempt += 1
            self._spend(units, api)
            try:
                return make().execute(num_retries=0)
            except Exception as exc:
                err = from_google(exc, what=what)
                if isinstance(err, RetryLater) and not write and attempt < MAX_ATTEMPTS:
                    self._throttled(api, err)
                    wait = backoff(attempt, retry_after=err.retry_after)
                    log.info("google.retry", what=what, status=err.status, wait=round(wait, 2))
                    self.sleep(wait)
                    continue
                if err is exc:
                    raise
                raise err from None

    def batch(
        self,
        requests: Sequence[tuple[str, Callable[[], HttpRequest]]],
        *,
        units_each: int,
        api: str = "gmail",
        what: str = "",
    ) -> dict[str, Any]:
        """Run read requests in batches of ``gmail_batch_size``; a failed part is retried
        alone (with back-off) and ends as its translated exception only when it is not
        transient (NotFound, PermanentError...) or keeps failing."""
        size = self.settings.sync.gmail_batch_size
        results: dict[str, Any] = {}
        pending = list(requests)
        attempt = 0
        while pending:
            attempt += 1
            failed: list[tuple[str, Callable[[], HttpRequest]]] = []
            statuses: set[int | None] = set()
            retry_after: float | None = None
            whole = False  # a whole batch failed (one dropped part drops them all)
            for start in range(0, len(pending), size):
                chunk = pending[start : start + size]
                answers = self._run_batch(chunk, units_each, api, what)
                if len(chunk) > 1 and all(isinstance(answers.get(k), RetryLater) for k, _ in chunk):
                    whole = True
                for key, make in chunk:
                    value = answers.get(key)
                    if isinstance(value, RetryLater) and attempt < MAX_ATTEMPTS:
                        failed.append((key, make))
                        statuses.add(value.status)
                        if value.retry_after:
                            retry_after = max(retry_after or 0.0, value.retry_after)
                    else:
                        results[key] = value
            if failed:
                if retry_after:
                    self.limiter.pause(f"{self.bucket}:{api}", retry_after)
                wait = backoff(attempt, retry_after=retry_after)
                log.info(
                    "google.batch_retry",
                    what=what,
                    parts=len(failed),
                    statuses=sorted(str(s) for s in statuses),
                    wait=round(wait, 2),
                )
                self.sleep(wait)
            if whole:  # retry the failed parts in smaller batches, down to single requests
                size = max(1, size // 2)
            pending = failed
        return results

    def _run_singles(
        self,
        chunk: Sequence[tuple[str, Callable[[], HttpRequest]]],
        units_each: int,
        api: str,
        what: str,
    ) -> dict[str, Any]:
        answers: dict[str, Any] = {}
        for key, make in chunk:
            self._spend(units_each, api)
            try:
                answers[key] = make().execute(num_retries=0)
            except Exception as exc:
                answers[key] = from_google(exc, what=what)
        return answers

    def _run_batch(
        self,
        chunk: Sequence[tuple[str, Callable[[], HttpRequest]]],
        units_each: int,
        api: str,
        what: str,
    ) -> dict[str, Any]:
        if len(chunk) == 1 or self.batch_missing:  # a batch of one costs the same request
            return self._run_singles(chunk, units_each, api, what)
        answers: dict[str, Any] = {}

        def collect(request_id: str, response: Any, exception: Exception | None) -> None:
            answers[request_id] = (
                from_google(exception, what=what) if exception is not None else response
            )

        self._spend(units_each * len(chunk), api)
        service = self.service(api)
        batch = service.new_batch_http_request(callback=collect)
        for key, make in chunk:
            batch.add(make(), request_id=key)
        try:
            batch.execute()
        except Exception as exc:  # the whole batch failed: every part failed the same way
            err = from_google(exc, what=f"{what} batch")
            if isinstance(err, NotFound):  # no batch endpoint here: one request each
                log.warning("google.batch_missing", what=what, error=str(err))
                self.batch_missing = True
                return self._run_singles(chunk, units_each, api, what)
            if not isinstance(err, RetryLater):
                raise err from None
            for key, _ in chunk:
                answers.setdefault(key, err)
        for key, _ in chunk:
            answers.setdefault(key, RetryLater(f"{what}: no answer in batch"))
        return answers
