"""One pipeline for every provider API call the sandbox serves (Gmail, Calendar, Graph).

    token -> account -> faults -> scope -> quota -> handler (under sandbox.lock) -> log

Handlers are plain functions ``(ctx) -> Response | dict`` that raise :class:`ApiError`
(or a state error) for failures; the pipeline turns those into the provider's error body
with the ``render`` function it was given (:func:`google_error` here; Graph passes its own).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from rapportd.agent.core import clock
from rapportd.connectors.sandbox.faults import Fault
from rapportd.connectors.sandbox.quota import gmail_units
from rapportd.connectors.sandbox.state import (
    Account,
    ConflictError,
    Grant,
    HistoryGone,
    LogEntry,
    Mailbox,
    NotFoundError,
    Sandbox,
    normalize_scope,
)

GOOGLE_STATUS = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    410: "FAILED_PRECONDITION",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class ApiError(Exception):
    """A failure to answer as the provider would: status, reason, message (+ Retry-After)."""

    def __init__(
        self,
        status: int,
        reason: str,
        message: str,
        *,
        retry_after: float | None = None,
        domain: str = "global",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.message = message
        self.retry_after = retry_after
        self.domain = domain


class ConnectionDropped(Exception):
    """Raised after half a response was sent: the server closes the connection."""


class DropResponse(Response):
    """Headers and part of a body, then the connection is closed (a ``drop`` fault)."""

    def __init__(self) -> None:
        super().__init__(b"", status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"application/json; charset=UTF-8"),
                    (b"content-length", b"4096"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b'{"id": "', "more_body": True})
        raise ConnectionDropped("sandbox fault: connection dropped mid-response")


def google_error(err: ApiError) -> Response:
    """Google's JSON error body (``error.code/message/errors[]/status``)."""
    body = {
        "error": {
            "code": err.status,
            "message": err.message,
            "errors": [{"message": err.message, "domain": err.domain, "reason": err.reason}],
            "status": GOOGLE_STATUS.get(err.status, "UNKNOWN"),
        }
    }
    headers = {}
    if err.retry_after is not None:
        headers["Retry-After"] = str(max(1, round(err.retry_after)))
    if err.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="https://accounts.google.com/"'
    return JSONResponse(body, status_code=err.status, headers=headers)


@dataclass
class CallContext:
    """What a handler gets: the request, its parsed JSON body (if any) and the account."""

    request: Request
    sandbox: Sandbox
    account: Account
    grant: Grant
    endpoint: str
    body: Any = None

    @property
    def mailbox(self) -> Mailbox:
        return self.account.mailbox

    def query(self, name: str, default: str | None = None) -> str | None:
        return self.request.query_params.get(name, default)

    def query_list(self, name: str) -> list[str]:
        return self.request.query_params.getlist(name)


@cache
def google_method_scopes(endpoint: str) -> tuple[str, ...]:
    """The scopes the bundled discovery document accepts for a method id ('' if unknown)."""
    import googleapiclient

    api = endpoint.split(".")[0]
    name = {"gmail": "gmail.v1.json", "calendar": "calendar.v3.json"}.get(api)
    if name is None:
        return ()
    path = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / name
    doc = json.loads(path.read_text())
    node: dict[str, Any] = doc
    parts = endpoint.split(".")[1:]
    for part in parts[:-1]:
        node = node.get("resources", {}).get(part, {})
    method = node.get("methods", {}).get(parts[-1], {})
    return tuple(method.get("scopes", ()))


def bearer(request: Request) -> str:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.query_params.get("access_token", "")


def _authenticate(sandbox: Sandbox, token: str, provider: str) -> tuple[Grant, Account]:
    if not token:
        raise ApiError(
            401,
            "required",
            "Request is missing required authentication credential. Expected OAuth 2 access token.",
        )
    grant = sandbox.tokens.access.get(token)
    if (
        grant is None
        or grant.revoked
        or grant.provider != provider
        or (grant.expires_at is not None and grant.expires_at <= sandbox.now())
    ):
        raise ApiError(
            401,
            "authError",
            "Request had invalid authentication credentials. "
            "Expected OAuth 2 access token, login cookie or other valid "
            "authentication credential.",
        )
    return grant, sandbox.account(grant.address)


def _apply_faults(sandbox: Sandbox, account: Account, fired: list[Fault]) -> tuple[float, bool]:
    """Side effects of fired faults; returns (latency seconds, drop) or raises ApiError."""
    latency, drop = 0.0, False
    for fault in fired:
        kind = fault.kind
        if kind == "latency":
            latency += fault.latency_ms / 1000
        elif kind == "drop":
            drop = True
        elif kind == "stale_history":
            account.mailbox.forget_history()
        elif kind == "expired_sync_token":
            account.mailbox.expire_sync_tokens()
        elif kind == "revoked":
            sandbox.tokens.revoke_account(account.address)
            raise ApiError(401, "authError", "Request had invalid authentication credentials.")
        elif kind == "429":
            raise ApiError(
                429,
                "rateLimitExceeded",
                "Too many concurrent requests for user.",
                retry_after=fault.retry_after or 1,
            )
        elif kind == "403_rate":
            raise ApiError(
                403,
                "rateLimitExceeded",
                "Rate Limit Exceeded",
                domain="usageLimits",
                retry_after=fault.retry_after,
            )
        elif kind == "403_user_rate":
            raise ApiError(
                403,
                "userRateLimitExceeded",
                "User Rate Limit Exceeded",
                domain="usageLimits",
                retry_after=fault.retry_after,
            )
        elif kind == "500":
            raise ApiError(500, "backendError", "Backend Error")
        elif kind == "503":
            raise ApiError(
                503,
                "backendError",
                "The service is currently unavailable.",
                retry_after=fault.retry_after,
            )
    return latency, drop


def _charge_quota(sandbox: Sandbox, account: Account, endpoint: str) -> int:
    """Spend the call's quota; returns the units spent or raises ApiError (over quota)."""
    now = sandbox.now().timestamp()
    cfg = sandbox.quota.config
    if endpoint.startswith("gmail."):
        units = gmail_units(endpoint)
        wait = sandbox.quota.charge_gmail(account.address, units, now)
        if wait is not None:
            if cfg.gmail_over_quota == "403":
                raise ApiError(
                    403,
                    "userRateLimitExceeded",
                    "User-rate limit exceeded.",
                    domain="usageLimits",
                    retry_after=wait,
                )
            raise ApiError(
                429,
                "rateLimitExceeded",
                "Quota exceeded for quota metric "
                "'Queries' and limit 'Queries per minute per user'.",
                retry_after=wait,
            )
        return units
    if endpoint.startswith("calendar."):
        wait = sandbox.quota.charge_calendar(account.address, now)
        if wait is not None:
            raise ApiError(
                403,
                "userRateLimitExceeded",
                "User Rate Limit Exceeded",
                domain="usageLimits",
                retry_after=wait,
            )
    if endpoint.startswith("graph."):
        wait = sandbox.quota.charge_graph(account.address, now)
        if wait is not None:
            raise ApiError(
                429,
                "TooManyRequests",
                "Application is over its MailboxConcurrency limit.",
                retry_after=wait,
            )
    return 0


Handler = Callable[[CallContext], "Response | dict[str, Any] | Awaitable[Response]"]


async def api_call(
    request: Request,
    endpoint: str,
    handler: Handler,
    *,
    provider: str = "google",
    scopes_any: Iterable[str] | None = None,
    render: Callable[[ApiError], Response] = google_error,
    gone: ApiError | None = None,
    user_id: str | None = None,
) -> Response:
    """Serve one API call through the pipeline (see module docstring).

    ``scopes_any``: any one of them grants access (default: the discovery document's
    scopes for Google method ids). ``gone``: the error a :class:`HistoryGone` becomes
    (Gmail 404, Calendar 410). ``user_id``: Gmail's ``userId`` path value (``me`` or the
    account's own address; anything else is 403 like Google's "Delegation denied").
    """
    sandbox: Sandbox = request.app.state.sandbox
    start = clock.epoch_seconds()
    status, units, fault_names, address = 500, 0, "", ""
    entered = False
    try:
        try:
            with sandbox.lock:
                token = bearer(request)
                known = sandbox.tokens.access.get(token)
                address = known.address if known else ""  # log who even when refused
                grant, account = _authenticate(sandbox, token, provider)
                address = account.address
                if endpoint in sandbox.missing_endpoints:
                    raise ApiError(404, "notFound", f"Method not found: {endpoint}.")
                fired = sandbox.faults.fire(address, endpoint)
                fault_names = ",".join(f.kind for f in fired)
                latency, drop = _apply_faults(sandbox, account, fired)
                if provider == "microsoft":
                    if not sandbox.quota.enter(address):
                        raise ApiError(
                            429,
                            "ApplicationThrottled",
                            "Application is over its MailboxConcurrency limit.",
                            retry_after=1,
                        )
                    entered = True
            if latency:
                await asyncio.sleep(latency)
            if drop:
                status = 0
                return DropResponse()
            if scopes_any is None:
                scopes_any = google_method_scopes(endpoint) if provider == "google" else ()
            needed = set(scopes_any)
            if needed and not needed & {normalize_scope(provider, s) for s in grant.scopes}:
                raise ApiError(
                    403,
                    "insufficientPermissions",
                    "Request had insufficient authentication scopes.",
                )
            if user_id is not None and user_id != "me" and user_id.lower() != address:
                raise ApiError(403, "forbidden", f"Delegation denied for {address}")
            body = None
            if request.method in ("POST", "PUT", "PATCH"):
                raw = await request.body()
                if raw:
                    try:
                        body = json.loads(raw)
                    except ValueError as exc:
                        raise ApiError(400, "parseError", "Parse Error") from exc
            with sandbox.lock:
                units = _charge_quota(sandbox, account, endpoint)
                ctx = CallContext(request, sandbox, account, grant, endpoint, body)
                try:
                    result = handler(ctx)
                except NotFoundError as exc:
                    raise ApiError(404, "notFound", "Requested entity was not found.") from exc
                except ConflictError as exc:
                    raise ApiError(
                        409, "duplicate", "The requested identifier already exists."
                    ) from exc
                except HistoryGone as exc:
                    raise (
                        gone or ApiError(404, "notFound", "Requested entity was not found.")
                    ) from exc
            if isinstance(result, Awaitable):
                result = await result
            response = result if isinstance(result, Response) else JSONResponse(result)
            status = response.status_code
            return response
        except ApiError as err:
            status = err.status
            return render(err)
    finally:
        if entered:
            with sandbox.lock:
                sandbox.quota.leave(address)
        sandbox.record(
            LogEntry(
                start,
                clock.epoch_seconds(),
                request.method,
                request.url.path,
                endpoint,
                address,
                status,
                units,
                fault_names,
            )
        )
