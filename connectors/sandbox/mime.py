"""MIME helpers of the sandbox: parse a raw RFC 822 message once, render it as Gmail does.

Headers are parsed at load time (cheap, header block only); the body is parsed lazily,
the first time a snippet or a ``format=full`` payload is asked for, and cached on the
message by the caller.
"""

from __future__ import annotations

import base64
import email
import email.policy
import html
import re
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from typing import Any

_HEADER_PARSER = BytesHeaderParser(policy=email.policy.compat32)
_SPACE = re.compile(r"\s+")
_TAGS = re.compile(r"<[^>]+>")
_STYLE = re.compile(r"<(style|script)[^>]*>.*?</\1>", re.S | re.I)


def b64url(data: bytes) -> str:
    """Base64url as Google sends it (with padding, as ``urlsafe_b64encode`` gives)."""
    return base64.urlsafe_b64encode(data).decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url with or without padding (clients send both)."""
    text = text.strip()
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def decode_value(value: str) -> str:
    """Unfold a header value and decode RFC 2047 encoded words, as Gmail shows headers."""
    value = value.replace("\r\n", "").replace("\n", "")
    if "=?" not in value:
        return value.strip()
    try:
        return str(make_header(decode_header(value))).strip()
    except (ValueError, LookupError, UnicodeDecodeError, HeaderParseError):
        return value.strip()  # a broken encoded word is kept as sent


def parse_headers(raw: bytes) -> list[tuple[str, str]]:
    """The top-level headers of ``raw``, in order, decoded."""
    msg = _HEADER_PARSER.parsebytes(raw)
    return [(name, decode_value(str(value))) for name, value in msg.items()]


def header_date_ms(value: str | None) -> int | None:
    """Milliseconds since the epoch of a ``Date:`` header, or None if it does not parse."""
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        return None
    return int(when.timestamp() * 1000)


def parse_message(raw: bytes) -> Message:
    return email.message_from_bytes(raw, policy=email.policy.compat32)


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    charset = part.get_content_charset() or "utf-8"
    try:
        return payload.decode(charset, errors="replace")
    except LookupError:
        return payload.decode("utf-8", errors="replace")


def snippet_of(msg: Message, limit: int = 200) -> str:
    """Gmail's snippet: the start of the text body, whitespace collapsed, HTML stripped."""
    plain = html_part = None
    for part in msg.walk():
        if part.is_multipart() or part.get_filename():
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = _part_text(part)
        elif ctype == "text/html" and html_part is None:
            html_part = _part_text(part)
    text = plain
    if text is None and html_part is not None:
        text = html.unescape(_TAGS.sub(" ", _STYLE.sub(" ", html_part)))
    return _SPACE.sub(" ", text or "").strip()[:limit]


def payload_of(msg: Message, part_id: str = "") -> dict[str, Any]:
    """The ``payload`` of a ``format=full`` Gmail message (partId, mimeType, headers, body, parts)."""
    headers = [{"name": k, "value": decode_value(str(v))} for k, v in msg.items()]
    out: dict[str, Any] = {
        "partId": part_id,
        "mimeType": msg.get_content_type(),
        "filename": msg.get_filename() or "",
        "headers": headers,
    }
    if msg.is_multipart():
        out["body"] = {"size": 0}
        children = msg.get_payload()
        assert isinstance(children, list)
        prefix = f"{part_id}." if part_id else ""
        out["parts"] = [payload_of(child, f"{prefix}{i}") for i, child in enumerate(children)]
        return out
    data = msg.get_payload(decode=True)
    if not isinstance(data, bytes):
        data = b""
    if out["filename"]:
        out["body"] = {
            "attachmentId": f"ANGjdJ_{abs(hash((part_id, len(data)))):x}",
            "size": len(data),
        }
    else:
        out["body"] = {"size": len(data), "data": b64url(data)} if data else {"size": 0}
    return out
