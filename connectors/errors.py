"""Provider errors translated into rapportd's error tree, once, at the connector boundary.

    googleapiclient.errors.HttpError ─┐
    httpx.Response (Graph) ───────────┼──► translate ──► RetryLater | CursorExpired |
    google.auth RefreshError ─────────┤                  ReconsentNeeded | NotFound |
    msal result {"error": ...} ───────┤                  Conflict | PermanentError
    socket / httplib2 / httpx errors ─┘

Nothing above the connectors ever sees a provider exception; retry policies decide by class.
The messages never carry tokens or bodies (only the status, the provider's reason code and
a short, masked message).
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any

import httpx

from rapportd.agent.core.errors import (
    Conflict,
    CursorExpired,
    NotFound,
    PermanentError,
    ProviderError,
    ReconsentNeeded,
    RetryLater,
)
from rapportd.agent.core.logs import mask_text

RATE_REASONS = {
    "ratelimitexceeded",
    "userratelimitexceeded",
    "dailylimitexceeded",
    "quotaexceeded",
    "backenderror",
    "toomanyrequests",
    "activitylimitexceeded",
    "applicationthrottled",
    "mailboxconcurrency",
}
RECONSENT_CODES = {"invalid_grant", "interaction_required", "consent_required", "login_required"}
EXPIRED_CODES = {"syncstatenotfound", "resyncrequired", "fullsyncrequired", "syncstateinvalid"}
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionError,
    TimeoutError,
    socket.timeout,
    http.client.HTTPException,
    httpx.TransportError,
)


def parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds (a number or an HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    from email.utils import parsedate_to_datetime

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from rapportd.agent.core import clock

    # A provider states the date on the real clock, whatever instant this run is held at.
    return max(0.0, (when - clock.wall_now()).total_seconds())


def _error_info(body: bytes | str | dict[str, Any] | None) -> tuple[str, str]:
    """(reason code, message) from a Google or Graph JSON error body, lower-cased code."""
    data: Any = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return "", str(body[:200] if body else "")
    if not isinstance(data, dict):
        return "", ""
    err = data.get("error", data)
    if isinstance(err, str):  # OAuth: {"error": "invalid_grant", "error_description": ...}
        return err.lower(), str(data.get("error_description", ""))
    if not isinstance(err, dict):
        return "", ""
    reason = ""
    errors = err.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        reason = str(errors[0].get("reason", ""))
    if not reason:
        details = err.get("details")
        if isinstance(details, list) and details and isinstance(details[0], dict):
            reason = str(details[0].get("reason", ""))
    code = str(err.get("code", "")) if not isinstance(err.get("code"), int) else ""
    inner = err.get("innerError") or err.get("innererror") or {}
    if isinstance(inner, dict) and inner.get("code"):
        code = code or str(inner["code"])
    return (reason or code or str(err.get("status", ""))).lower(), str(err.get("message", ""))


def from_status(
    status: int,
    body: bytes | str | dict[str, Any] | None = None,
    *,
    retry_after: str | None = None,
    what: str = "",
) -> ProviderError:
    """The rapportd error for an HTTP answer ``status`` with its error ``body``."""
    reason, message = _error_info(body)
    text = mask_text(f"{what + ': ' if what else ''}HTTP {status} {reason} {message}".strip())[:300]
    wait = parse_retry_after(retry_after)
    if status == 429 or status >= 500 or (status == 403 and reason in RATE_REASONS):
        return RetryLater(text, status=status, retry_after=wait)
    if status == 401 or reason in RECONSENT_CODES:
        # 401 on an API call means the access token is bad; the caller refreshes once and
        # only a failed refresh (invalid_grant) means re-consent.
        return ReconsentNeeded(text, status=status)
    if status == 410 or reason in EXPIRED_CODES:
        return CursorExpired(text, status=status)
    if status == 404:
        return NotFound(text, status=status)
    if status in (409, 412):
        return Conflict(text, status=status)
    return PermanentError(text, status=status)


def from_google(exc: BaseException, *, what: str = "") -> Exception:
    """Translate an exception raised by googleapiclient / google-auth / httplib2."""
    from google.auth import exceptions as gauth
    from googleapiclient.errors import HttpError

    if isinstance(exc, HttpError):
        headers = exc.resp or {}
        return from_status(
            int(exc.resp.status),
            exc.content,
            retry_after=headers.get("retry-after"),
            what=what,
        )
    if isinstance(exc, gauth.RefreshError):
        return from_oauth(exc.args[1] if len(exc.args) > 1 else str(exc), what=what)
    if isinstance(exc, gauth.TransportError):
        return RetryLater(f"{what}: token endpoint unreachable", status=None)
    if isinstance(exc, TRANSPORT_ERRORS) or _is_httplib2_error(exc):
        return RetryLater(f"{what}: {type(exc).__name__}", status=None)
    return exc if isinstance(exc, Exception) else RuntimeError(str(exc))


def _is_httplib2_error(exc: BaseException) -> bool:
    import httplib2

    return isinstance(exc, httplib2.HttpLib2Error)


def from_oauth(result: Any, *, what: str = "") -> ProviderError:
    """An OAuth error answer (google-auth's response dict, msal's result dict, or text)."""
    if isinstance(result, dict):
        code = str(result.get("error", "")).lower()
        desc = str(result.get("error_description", ""))
    else:
        text = str(result)
        code = next((c for c in RECONSENT_CODES if c in text.lower()), "")
        desc = text
    suberror = str(result.get("suberror", "")) if isinstance(result, dict) else ""
    message = mask_text(f"{what + ': ' if what else ''}{code or 'oauth error'} {desc}")[:300]
    if code in RECONSENT_CODES or suberror in ("consent_required", "bad_token"):
        return ReconsentNeeded(message)
    if code in ("temporarily_unavailable", "server_error"):
        return RetryLater(message)
    if code in ("invalid_client", "unauthorized_client", "invalid_scope", "invalid_request"):
        return PermanentError(message)
    return RetryLater(message) if not code else PermanentError(message)


def from_httpx(response: httpx.Response, *, what: str = "") -> ProviderError:
    """Translate an unsuccessful Graph answer."""
    body: bytes | None
    try:
        body = response.content
    except httpx.ResponseNotRead:
        body = None
    return from_status(
        response.status_code, body, retry_after=response.headers.get("retry-after"), what=what
    )
