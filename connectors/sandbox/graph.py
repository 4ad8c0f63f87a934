"""Microsoft Graph v1.0 as the sandbox serves it (under ``/v1.0``).

Every call goes through :func:`rapportd.connectors.sandbox.calls.api_call` with
``provider="microsoft"``: bearer token, faults (endpoint names ``graph.<resource>.<verb>``,
e.g. ``graph.messages.delta``), at most ``graph_concurrency`` calls in flight per mailbox
and ``graph_requests_per_10min`` per 10 minutes (429 + ``Retry-After``), then the handler
under the sandbox lock. Errors have Graph's shape: ``{"error": {"code", "message",
"innerError"}}``.

``POST /v1.0/$batch`` runs each of its (at most 20) requests through the same app, one
after the other, so each is authenticated, throttled and fault-injected on its own and
answered separately (a 429 can hide inside a 200 batch).

Handlers live in :mod:`graph_mail`, :mod:`graph_calendar` and :mod:`graph_subscriptions`
(change notifications); ids, OData options and
``Prefer`` parsing in :mod:`graph_ids`; JSON shapes in :mod:`graph_shapes`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from rapportd.agent.core import clock
from rapportd.connectors.sandbox import graph_calendar as cal
from rapportd.connectors.sandbox import graph_ids as gid
from rapportd.connectors.sandbox import graph_mail as mail
from rapportd.connectors.sandbox import graph_subscriptions as subs
from rapportd.connectors.sandbox.calls import ApiError, CallContext, api_call
from rapportd.connectors.sandbox.microsoft_oauth import object_id
from rapportd.connectors.sandbox.state import Account, Sandbox

MAX_BATCH = 20
KEEP_HEADERS = {
    "content-type": "Content-Type",
    "retry-after": "Retry-After",
    "location": "Location",
    "preference-applied": "Preference-Applied",
}
MAIL_READ = ("Mail.Read", "Mail.ReadWrite", "Mail.ReadBasic")
MAIL_WRITE = ("Mail.ReadWrite",)
CAL_READ = ("Calendars.Read", "Calendars.ReadWrite")
CAL_WRITE = ("Calendars.ReadWrite",)
USER_READ = ("User.Read", "User.ReadBasic.All", "User.Read.All")
SETTINGS_READ = ("MailboxSettings.Read", "MailboxSettings.ReadWrite")
# Subscriptions need the read scope of their resource (checked again per resource).
SUBSCRIPTION_SCOPES = MAIL_READ + CAL_READ

# Google-flavoured reasons the shared pipeline raises -> Graph error codes.
GRAPH_CODES = {
    "rateLimitExceeded": "TooManyRequests",
    "userRateLimitExceeded": "TooManyRequests",
    "required": "InvalidAuthenticationToken",
    "authError": "InvalidAuthenticationToken",
    "insufficientPermissions": "ErrorAccessDenied",
    "forbidden": "ErrorAccessDenied",
    "notFound": "ErrorItemNotFound",
    "duplicate": "ErrorItemAlreadyExists",
    "parseError": "BadRequest",
}


def graph_error(err: ApiError) -> Response:
    code = GRAPH_CODES.get(err.reason, err.reason)
    if err.reason == "backendError":
        code = "ServiceUnavailable" if err.status == 503 else "InternalServerError"
    if err.status == 401:
        message = (
            "Access token has expired or is not yet valid."
            if err.reason == "authError"
            else "Access token is empty."
        )
    else:
        message = err.message
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {
                "date": clock.now().strftime("%Y-%m-%dT%H:%M:%S"),
                "request-id": str(uuid.uuid4()),
                "client-request-id": str(uuid.uuid4()),
            },
        }
    }
    headers: dict[str, str] = {}
    if err.retry_after is not None or err.status == 429:
        headers["Retry-After"] = str(max(1, round(err.retry_after or 1)))
    if err.status == 401:
        headers["WWW-Authenticate"] = (
            'Bearer realm="", authorization_uri='
            '"https://login.microsoftonline.com/common/oauth2/'
            'authorize", client_id="00000003-0000-0000-c000-'
            '000000000000"'
        )
    return JSONResponse(body, status_code=err.status, headers=headers)


GONE = ApiError(410, "syncStateNotFound", "The sync state generation is invalid or has expired.")


def _view(
    endpoint: str, scopes: tuple[str, ...], handler: Callable[..., Any], *params: str
) -> Callable[[Request], Any]:
    async def view(request: Request) -> Response:
        args = [request.path_params[p] for p in params]
        return await api_call(
            request,
            endpoint,
            lambda ctx: handler(ctx, *args),
            provider="microsoft",
            scopes_any=scopes,
            render=graph_error,
            gone=GONE,
        )

    view.__name__ = endpoint.replace(".", "_")
    return view


# /me answers these without $select; proxyAddresses (and the rest) only when selected.
ME_DEFAULT = (
    "businessPhones",
    "displayName",
    "givenName",
    "surname",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "userPrincipalName",
    "id",
)


def proxy_addresses(account: Account) -> list[str]:
    """Exchange's ``proxyAddresses``: ``SMTP:`` (upper case) the primary, ``smtp:`` each
    alias, and a ``SIP:`` entry (Teams/Skype sign-in), which is not a mail address."""
    return [
        f"SMTP:{account.address}",
        *(f"smtp:{alias}" for alias in account.aliases),
        f"SIP:{account.address}",
    ]


def me(ctx: CallContext) -> dict[str, Any]:
    """``GET /me``: the default properties, or with ``$select`` exactly those asked for
    (``proxyAddresses`` among them; an unknown name is 400 as on Graph)."""
    account = ctx.account
    given, _, surname = (account.display_name or account.address).partition(" ")
    user: dict[str, Any] = {
        "businessPhones": [],
        "displayName": account.display_name or account.address,
        "givenName": given,
        "surname": surname or None,
        "jobTitle": None,
        "mail": account.address,
        "mobilePhone": None,
        "officeLocation": None,
        "preferredLanguage": "en-US",
        "userPrincipalName": account.address,
        "id": object_id(account.address),
        "mailNickname": account.address.split("@")[0],
        "otherMails": [],
        "proxyAddresses": proxy_addresses(account),
    }
    select = gid.parse_select(ctx.query("$select"))
    if select is None:
        wanted = list(ME_DEFAULT)
        context = "users/$entity"
    else:
        names = {k.lower(): k for k in user}
        wanted = []
        for name in select:
            key = names.get(name.lower())
            if key is None:
                raise ApiError(
                    400,
                    "BadRequest",
                    f"Could not find a property named '{name}' on type 'microsoft.graph.user'.",
                )
            wanted.append(key)
        context = f"users({','.join(wanted)})/$entity"
    return {
        "@odata.context": f"{mail.base_url(ctx)}/$metadata#{context}",
        **{k: user[k] for k in wanted},
    }


def mailbox_settings(ctx: CallContext, part: str = "") -> dict[str, Any]:
    tz = ctx.account.timezone or "UTC"
    data: dict[str, Any] = {
        "archiveFolder": "AQMkADAwATM0MDAAMS1hYgBkYy0wYgA1ZC0wMAItMDAKAC4AAAMhM",
        "timeZone": tz,
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "dateFormat": "yyyy-MM-dd",
        "timeFormat": "HH:mm",
        "userPurpose": "user",
        "automaticRepliesSetting": {"status": "disabled", "externalAudience": "none"},
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "workingHours": {
            "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": tz},
        },
    }
    if part:
        key = next((k for k in data if k.lower() == part.lower()), None)
        if key is None:
            raise ApiError(400, "BadRequest", f"Unknown mailbox setting {part}.")
        return {
            "@odata.context": f"{mail.base_url(ctx)}/$metadata#users('{ctx.account.address}')"
            f"/mailboxSettings/{key}",
            "value": data[key],
        }
    data["@odata.context"] = (
        f"{mail.base_url(ctx)}/$metadata#users('{ctx.account.address}')/mailboxSettings"
    )
    return data


# --------------------------------------------------------------------------- $batch
def _batch_error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def batch(request: Request) -> Response:
    """JSON batching: at most 20 requests, each run through the app and answered alone."""
    try:
        payload = json.loads(await request.body() or b"{}")
        requests = payload["requests"]
        if not isinstance(requests, list):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        return _batch_error(400, "BadRequest", "Invalid batch payload: 'requests' is required.")
    if len(requests) > MAX_BATCH:
        return _batch_error(
            400, "BadRequest", f"Number of batch request steps exceeds the maximum of {MAX_BATCH}."
        )
    ids = [str((r or {}).get("id", "")) for r in requests]
    if any(not i for i in ids) or len(set(ids)) != len(ids):
        return _batch_error(400, "BadRequest", "Each batch request needs a unique id.")
    origin = f"{request.url.scheme}://{request.url.netloc}"
    auth = request.headers.get("authorization", "")
    responses = []
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url=origin) as client:
        for item in requests:
            responses.append(await _run_one(client, item, auth))
    return JSONResponse({"responses": responses})


async def _run_one(client: httpx.AsyncClient, item: dict[str, Any], auth: str) -> dict[str, Any]:
    rid = str(item.get("id"))
    method = str(item.get("method") or "GET").upper()
    url = str(item.get("url") or "")
    if not url or url.startswith(("http://", "https://")):
        return {
            "id": rid,
            "status": 400,
            "headers": {"Content-Type": "application/json"},
            "body": {"error": {"code": "BadRequest", "message": "Invalid request URL."}},
        }
    headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
    if auth:
        headers.setdefault("Authorization", auth)
    content = None
    if item.get("body") is not None:
        content = json.dumps(item["body"]).encode()
        headers.setdefault("Content-Type", "application/json")
    try:
        resp = await client.request(
            method, "/v1.0/" + url.lstrip("/"), headers=headers, content=content
        )
    except Exception:
        return {
            "id": rid,
            "status": 504,
            "headers": {"Content-Type": "application/json"},
            "body": {"error": {"code": "GatewayTimeout", "message": "The request timed out."}},
        }
    out_headers = {
        KEEP_HEADERS[k.lower()]: v for k, v in resp.headers.items() if k.lower() in KEEP_HEADERS
    }
    body: Any = None
    if resp.content:
        try:
            body = resp.json()
        except ValueError:
            body = resp.text
    return {"id": rid, "status": resp.status_code, "headers": out_headers, "body": body}


# --------------------------------------------------------------------------- routes
def routes(sandbox: Sandbox | None = None) -> list[BaseRoute]:
    v = _view
    graph = [
        Route("/$batch", batch, methods=["POST"]),
        Route("/me", v("graph.me.get", USER_READ, me), methods=["GET"]),
        Route(
            "/me/mailboxSettings",
            v("graph.mailboxSettings.get", SETTINGS_READ, mailbox_settings),
            methods=["GET"],
        ),
        Route(
            "/me/mailboxSettings/{part}",
            v("graph.mailboxSettings.get", SETTINGS_READ, mailbox_settings, "part"),
            methods=["GET"],
        ),
        Route(
            "/me/mailFolders/{folder}/messages/delta",
            v("graph.messages.delta", MAIL_READ, mail.mail_delta, "folder"),
            methods=["GET"],
        ),
        Route(
            "/me/mailFolders/{folder}/messages",
            v("graph.messages.list", MAIL_READ, mail.list_messages, "folder"),
            methods=["GET"],
        ),
        Route(
            "/me/messages", v("graph.messages.list", MAIL_READ, mail.list_messages), methods=["GET"]
        ),
        Route(
            "/me/messages",
            v("graph.messages.create", MAIL_WRITE, mail.create_message),
            methods=["POST"],
        ),
        Route(
            "/me/messages/{id}/createReply",
            v("graph.messages.createReply", MAIL_WRITE, mail.create_reply, "id"),
            methods=["POST"],
        ),
        Route(
            "/me/messages/{id}",
            v("graph.messages.get", MAIL_READ, mail.get_message, "id"),
            methods=["GET"],
        ),
        Route(
            "/me/messages/{id}",
            v("graph.messages.update", MAIL_WRITE, mail.patch_message, "id"),
            methods=["PATCH"],
        ),
        Route(
            "/me/messages/{id}",
            v("graph.messages.delete", MAIL_WRITE, mail.delete_message, "id"),
            methods=["DELETE"],
        ),
        Route(
            "/me/calendarView/delta",
            v("graph.events.delta", CAL_READ, cal.calendar_delta),
            methods=["GET"],
        ),
        Route(
            "/me/calendarView",
            v("graph.calendarView.list", CAL_READ, cal.calendar_view),
            methods=["GET"],
        ),
        Route(
            "/me/calendar/getSchedule",
            v("graph.calendar.getSchedule", CAL_READ, cal.get_schedule),
            methods=["POST"],
        ),
        Route("/me/events", v("graph.events.list", CAL_READ, cal.list_events), methods=["GET"]),
        Route(
            "/me/events", v("graph.events.create", CAL_WRITE, cal.create_event), methods=["POST"]
        ),
        Route(
            "/me/calendar/events",
            v("graph.events.create", CAL_WRITE, cal.create_event),
            methods=["POST"],
        ),
        Route(
            "/me/events/{id}", v("graph.events.get", CAL_READ, cal.get_event, "id"), methods=["GET"]
        ),
        Route(
            "/me/events/{id}",
            v("graph.events.update", CAL_WRITE, cal.patch_event, "id"),
            methods=["PATCH"],
        ),
        Route(
            "/me/events/{id}",
            v("graph.events.delete", CAL_WRITE, cal.delete_event, "id"),
            methods=["DELETE"],
        ),
        *subscription_routes(),
    ]
    return [Mount("/v1.0", routes=graph), *subs.control_routes()]


def subscription_routes() -> list[BaseRoute]:
    """``/subscriptions`` (change notifications, :mod:`graph_subscriptions`)."""
    v, scopes = _view, SUBSCRIPTION_SCOPES
    return [
        Route(
            "/subscriptions",
            v("graph.subscriptions.create", scopes, subs.create),
            methods=["POST"],
        ),
        Route(
            "/subscriptions",
            v("graph.subscriptions.list", scopes, subs.list_subscriptions),
            methods=["GET"],
        ),
        Route(
            "/subscriptions/{id}",
            v("graph.subscriptions.get", scopes, subs.get_subscription, "id"),
            methods=["GET"],
        ),
        Route(
            "/subscriptions/{id}",
            v("graph.subscriptions.update", scopes, subs.update, "id"),
            methods=["PATCH"],
        ),
        Route(
            "/subscriptions/{id}",
            v("graph.subscriptions.delete", scopes, subs.delete, "id"),
            methods=["DELETE"],
        ),
    ]
