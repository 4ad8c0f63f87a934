"""Google's batch endpoint: ``multipart/mixed`` of ``application/http`` parts.

``POST /batch``, ``/batch/gmail/v1`` and ``/batch/calendar/v3``. Each part is served by
the same app in-process, so it goes through the full pipeline on its own: its own token,
faults, quota units and log entry; a 429 can hide inside a batch of 200s. At most 100
parts. Answers carry ``Content-ID: <response-…>`` as Google's do. The batch request itself
is logged (endpoint ``batch``) but draws no faults; a ``drop`` fault inside a part drops
the whole batch connection, as a real dropped connection would.
"""

from __future__ import annotations

import email.parser
import email.policy
from http import HTTPStatus
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from rapportd.agent.core import clock
from rapportd.connectors.sandbox.calls import (
    ApiError,
    ConnectionDropped,
    DropResponse,
    bearer,
    google_error,
)
from rapportd.connectors.sandbox.state import LogEntry, Sandbox

MAX_PARTS = 100
BOUNDARY = "batch_sandbox_b0undary"


class _Part:
    def __init__(
        self, content_id: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes
    ) -> None:
        self.content_id = content_id
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body


def parse_batch(content_type: str, body: bytes) -> list[_Part]:
    """The inner requests of a batch body; ApiError(400) when it is not one."""
    if not content_type.lower().startswith("multipart/mixed"):
        raise ApiError(400, "badRequest", "Batch requests need Content-Type multipart/mixed")
    outer = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    if not outer.is_multipart():
        raise ApiError(400, "badRequest", "Batch body is not multipart")
    parts = []
    subs: list[Any] = outer.get_payload()  # type: ignore[assignment]
    for sub in subs:
        payload = sub.get_payload(decode=False)
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
        head, _, inner_body = data.replace(b"\r\n", b"\n").partition(b"\n\n")
        lines = head.decode("utf-8", "replace").split("\n")
        try:
            method, target, _version = lines[0].split(" ", 2)
        except ValueError:
            raise ApiError(
                400, "badRequest", f"Bad request line in batch part: {lines[0]!r}"
            ) from None
        headers = []
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers.append((name.strip().lower(), value.strip()))
        parts.append(
            _Part(
                str(sub.get("Content-ID", "")),
                method.upper(),
                target,
                headers,
                inner_body.replace(b"\n", b"\r\n") if inner_body.strip() else b"",
            )
        )
    if len(parts) > MAX_PARTS:
        raise ApiError(400, "batchSizeTooLarge", f"A batch can hold at most {MAX_PARTS} calls")
    return parts


async def _dispatch(
    app: Any, part: _Part, outer_auth: str, scope_in: Any
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Serve one part through the app (ASGI, in-process): (status, headers, body)."""
    split = urlsplit(part.target)
    headers = [(k.encode(), v.encode()) for k, v in part.headers if k != "content-length"]
    if outer_auth and not any(k == "authorization" for k, _ in part.headers):
        headers.append((b"authorization", outer_auth.encode()))
    headers.append((b"content-length", str(len(part.body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": part.method,
        "scheme": scope_in.get("scheme", "http"),
        "path": split.path,
        "raw_path": split.path.encode(),
        "query_string": split.query.encode(),
        "root_path": "",
        "headers": headers,
        "client": scope_in.get("client"),
        "server": scope_in.get("server"),
        "app": app,
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": part.body, "more_body": False}

    status, out_headers, chunks = 500, [], []

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, out_headers
        if message["type"] == "http.response.start":
            status = message["status"]
            out_headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, out_headers, b"".join(chunks)


def _response_id(content_id: str) -> str:
    inner = content_id.strip()
    if inner.startswith("<") and inner.endswith(">"):
        inner = inner[1:-1]
    return f"<response-{inner}>"


async def batch(request: Request) -> Response:
    sandbox: Sandbox = request.app.state.sandbox
    start = clock.epoch_seconds()
    status = 200
    address = ""
    try:
        with sandbox.lock:
            grant = sandbox.tokens.access.get(bearer(request))
            address = grant.address if grant else ""
            missing = "batch" in sandbox.missing_endpoints
        if missing:
            status = 404
            return google_error(ApiError(404, "notFound", "Not Found"))
        try:
            parts = parse_batch(request.headers.get("content-type", ""), await request.body())
        except ApiError as err:
            status = err.status
            return google_error(err)
        out: list[bytes] = []
        auth = request.headers.get("authorization", "")
        for part in parts:
            try:
                code, headers, body = await _dispatch(request.app, part, auth, request.scope)
            except ConnectionDropped:
                status = 0
                return DropResponse()
            reason = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else ""
            lines = [f"HTTP/1.1 {code} {reason}"]
            lines += [
                f"{k.decode()}: {v.decode()}"
                for k, v in headers
                if k.lower() not in (b"content-length",)
            ]
            lines.append(f"Content-Length: {len(body)}")
            inner = "\r\n".join(lines).encode() + b"\r\n\r\n" + body
            out.append(
                f"--{BOUNDARY}\r\nContent-Type: application/http\r\n"
                f"Content-ID: {_response_id(part.content_id)}\r\n\r\n".encode()
                + inner
                + b"\r\n"
            )
        out.append(f"--{BOUNDARY}--\r\n".encode())
        return Response(
            b"".join(out), status_code=200, media_type=f"multipart/mixed; boundary={BOUNDARY}"
        )
    finally:
        sandbox.record(
            LogEntry(
                start, clock.epoch_seconds(), "POST", request.url.path, "batch", address, status
            )
        )


def routes() -> list[BaseRoute]:
    return [
        Route(path, batch, methods=["POST"])
        for path in ("/batch", "/batch/gmail/v1", "/batch/calendar/v3")
    ]
