"""Graph ids, OData query options and the Prefer header, as the sandbox understands them.

Ids: Graph hands out two kinds of message id. The default (REST) id encodes the folder
the item sits in, so it changes when the message moves; the immutable id (asked for with
``Prefer: IdType="ImmutableId"``) does not. The sandbox mirrors that: both decode to the
mailbox's own message id, and a REST id whose folder is no longer the message's folder is
not found any more (404), as with the real service.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

REST_PREFIX = "AAMkAGI2"
IMMUTABLE_PREFIX = "AAkALgAA"
CONVERSATION_PREFIX = "AAQkAGI2"
FOLDER_PREFIX = "AQMkADAw"
WELL_KNOWN_FOLDERS = (
    "inbox",
    "sentitems",
    "drafts",
    "deleteditems",
    "junkemail",
    "archive",
    "outbox",
)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _unb64(text: str) -> str:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()


def message_id(internal: str, folder: str, immutable: bool) -> str:
    if immutable:
        return IMMUTABLE_PREFIX + _b64(internal)
    return REST_PREFIX + _b64(f"{folder}/{internal}")


def decode_message_id(value: str) -> tuple[str, str | None]:
    """(internal id, folder the id was minted in — None for immutable ids); ValueError."""
    try:
        if value.startswith(IMMUTABLE_PREFIX):
            return _unb64(value[len(IMMUTABLE_PREFIX) :]), None
        if value.startswith(REST_PREFIX):
            folder, _, internal = _unb64(value[len(REST_PREFIX) :]).partition("/")
            return internal, folder
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(value) from exc
    raise ValueError(value)


def conversation_id(thread_id: str) -> str:
    return CONVERSATION_PREFIX + _b64(thread_id)


def folder_id(folder: str) -> str:
    return FOLDER_PREFIX + _b64(folder)


def folder_name(value: str) -> str | None:
    """A well-known folder name or a folder id -> the folder name; None if unknown."""
    if value.lower() in WELL_KNOWN_FOLDERS:
        return value.lower()
    if value.startswith(FOLDER_PREFIX):
        try:
            return _unb64(value[len(FOLDER_PREFIX) :])
        except (ValueError, UnicodeDecodeError):
            return None
    return None


def encode_token(data: dict[str, Any]) -> str:
    return _b64(json.dumps(data, separators=(",", ":")))


def decode_token(value: str) -> dict[str, Any]:
    try:
        data = json.loads(_unb64(value))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError("bad token") from exc
    if not isinstance(data, dict):
        raise ValueError("bad token")
    return data


# --------------------------------------------------------------------------- Prefer
_PREFER_ITEM = re.compile(r'([\w.\-]+)\s*=\s*(?:"([^"]*)"|([^,;\s]+))')


@dataclass(frozen=True)
class Prefer:
    timezone: str = "UTC"
    immutable_ids: bool = False
    body_text: bool = False
    max_page_size: int | None = None
    applied: tuple[str, ...] = ()


def parse_prefer(request: Request) -> Prefer:
    """All ``Prefer`` headers of the request (several headers or comma-separated)."""
    tz, immutable, text, page = "UTC", False, False, None
    applied: list[str] = []
    for header in request.headers.getlist("prefer"):
        for name, quoted, bare in _PREFER_ITEM.findall(header):
            value = quoted or bare
            low = name.lower()
            if low == "outlook.timezone":
                tz = value
                applied.append(f'outlook.timezone="{value}"')
            elif low == "idtype" and value.lower() == "immutableid":
                immutable = True
                applied.append('IdType="ImmutableId"')
            elif low == "outlook.body-content-type":
                text = value.lower() == "text"
                applied.append(f'outlook.body-content-type="{value.lower()}"')
            elif low == "odata.maxpagesize" and value.isdigit():
                page = max(1, int(value))
                applied.append(f"odata.maxpagesize={page}")
    return Prefer(tz, immutable, text, page, tuple(applied))


# --------------------------------------------------------------------------- OData
_ANY_FILTER = re.compile(
    r"singleValueExtendedProperties/any\(\s*(\w+)\s*:\s*\1/id\s+eq\s+'((?:[^']|'')*)'\s+and\s+"
    r"\1/value\s+eq\s+'((?:[^']|'')*)'\s*\)",
    re.I,
)
_EXPAND_PROPS = re.compile(
    r"singleValueExtendedProperties(?:\(\s*\$filter\s*=\s*id\s+eq\s+'((?:[^']|'')*)'\s*\))?", re.I
)
_EQ_FILTER = re.compile(r"^\s*(\w+)\s+eq\s+'((?:[^']|'')*)'\s*$", re.I)
_RECEIVED_FILTER = re.compile(r"^\s*receivedDateTime\s+(ge|gt|lt|le)\s+(\S+)\s*$", re.I)


@dataclass(frozen=True)
class ExtFilter:
    prop_id: str
    value: str


def parse_ext_filter(text: str) -> ExtFilter | None:
    """``singleValueExtendedProperties/Any(ep: ep/id eq '…' and ep/value eq '…')``."""
    m = _ANY_FILTER.search(text)
    if not m:
        return None
    return ExtFilter(m.group(2).replace("''", "'"), m.group(3).replace("''", "'"))


def parse_eq_filter(text: str) -> tuple[str, str] | None:
    """``field eq 'value'`` (e.g. ``conversationId eq '…'``)."""
    m = _EQ_FILTER.match(text)
    return (m.group(1), m.group(2).replace("''", "'")) if m else None


def parse_received_filter(text: str) -> tuple[str, int] | None:
    """``receivedDateTime ge 2001-07-30T18:00:00Z`` -> ``("ge", epoch ms)``; None if not one."""
    from datetime import datetime

    m = _RECEIVED_FILTER.match(text)
    if not m:
        return None
    try:
        when = datetime.fromisoformat(m.group(2).strip("'"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    return m.group(1).lower(), int(when.timestamp() * 1000)


def received_matches(op: str, ms: int, internal_date_ms: int) -> bool:
    return {
        "ge": internal_date_ms >= ms,
        "gt": internal_date_ms > ms,
        "lt": internal_date_ms < ms,
        "le": internal_date_ms <= ms,
    }[op]


def parse_expand_props(text: str) -> tuple[bool, str | None]:
    """(expand extended properties?, only the one with this id)."""
    m = _EXPAND_PROPS.search(text or "")
    if not m:
        return False, None
    return True, m.group(1).replace("''", "'") if m.group(1) else None


def parse_select(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [s.strip() for s in text.split(",") if s.strip()]


def same_prop(a: str, b: str) -> bool:
    """Extended property ids compare case-insensitively, spaces normalised."""
    return " ".join(a.lower().split()) == " ".join(b.lower().split())
