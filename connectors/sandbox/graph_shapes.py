"""Stored messages and events rendered as Graph v1.0 JSON (and Graph JSON back to MIME).

``message_json`` / ``event_json`` honour ``$select`` (``id`` and ``@odata.etag`` always
come), ``$expand=singleValueExtendedProperties(...)``, ``Prefer: outlook.timezone`` and
``outlook.body-content-type``. ``internetMessageHeaders`` only appear when selected, as
in Graph.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email.utils import format_datetime, formataddr, getaddresses, make_msgid, parsedate_to_datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapportd.connectors.sandbox import graph_ids as gid
from rapportd.connectors.sandbox.mime import parse_message
from rapportd.connectors.sandbox.state import Account, StoredEvent, StoredMessage

_TAGS = re.compile(r"<[^>]+>")
_STYLE = re.compile(r"<(style|script)[^>]*>.*?</\1>", re.S | re.I)
_QUOTE_START = re.compile(
    r"^(On .{4,200}wrote:\s*$|_{10,}\s*$|-{3,} ?Original Message ?-{3,}|From: .+\n(Sent|Date): )",
    re.M,
)
RESPONSE_TO_GRAPH = {
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentativelyAccepted",
    "needsAction": "notResponded",
    "none": "none",
    "organizer": "organizer",
}
RESPONSE_FROM_GRAPH = {v: k for k, v in RESPONSE_TO_GRAPH.items()}
RESPONSE_FROM_GRAPH.update({"tentativelyAccepted": "tentative", "notResponded": "needsAction"})


def utc_iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo("UTC" if name.upper() in ("UTC", "GMT") else name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def graph_datetime(when: datetime, tz: str) -> dict[str, str]:
    """``{"dateTime": "2026-01-05T09:30:00.0000000", "timeZone": tz}`` as Graph writes it."""
    local = when.astimezone(zone_of(tz))
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": tz}


def parse_graph_datetime(value: dict[str, Any], default_tz: str = "UTC") -> datetime:
    """Graph's ``{dateTime, timeZone}`` -> an aware datetime (ValueError if malformed)."""
    text = str(value["dateTime"]).rstrip("Z")
    if "." in text:
        head, frac = text.split(".", 1)
        text = f"{head}.{frac[:6]}"
    naive = datetime.fromisoformat(text)
    if naive.tzinfo is not None:
        return naive
    return naive.replace(tzinfo=zone_of(str(value.get("timeZone") or default_tz)))


def _recipient(name: str, address: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name or address, "address": address}}


def _recipients(value: str | None) -> list[dict[str, Any]]:
    return [_recipient(n, a) for n, a in getaddresses([value or ""]) if a]


def _bodies(msg: StoredMessage) -> tuple[str, str, bool]:
    """(plain text, html, has attachments) of a stored message (cached in ``extra``)."""
    cached = msg.extra.get("_bodies")
    if cached is not None and cached[0] == len(msg.raw):
        return cached[1], cached[2], cached[3]
    plain = html_part = None
    attachments = False
    for part in parse_message(msg.raw).walk():
        if part.is_multipart():
            continue
        if part.get_filename():
            attachments = True
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            continue
        try:
            text = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
        except LookupError:  # an unknown charset: Graph still renders the body
            text = payload.decode("utf-8", errors="replace")
        if part.get_content_type() == "text/plain" and plain is None:
            plain = text
        elif part.get_content_type() == "text/html" and html_part is None:
            html_part = text
    if plain is None:
        plain = html.unescape(_TAGS.sub(" ", _STYLE.sub(" ", html_part or ""))).strip()
    if html_part is None:
        html_part = (
            '<html><head><meta http-equiv="Content-Type" content="text/html; '
            'charset=utf-8"></head><body><div>'
            + html.escape(plain).replace("\n", "<br>")
            + "</div></body></html>"
        )
    msg.extra["_bodies"] = (len(msg.raw), plain, html_part, attachments)
    return plain, html_part, attachments


def unique_text(plain: str) -> str:
    """The new part of a reply: up to the first quoted-history marker."""
    m = _QUOTE_START.search(plain)
    text = plain[: m.start()] if m else plain
    return "\n".join(ln for ln in text.split("\n") if not ln.startswith(">")).strip()


def _header_dt(msg: StoredMessage) -> datetime:
    try:
        sent = parsedate_to_datetime(msg.header("Date") or "")
        if sent is not None and sent.tzinfo is not None:
            return sent
    except (TypeError, ValueError, IndexError):
        pass
    return datetime.fromtimestamp(msg.internal_date_ms / 1000, UTC)


def ext_props_json(props: dict[str, str], only: str | None) -> list[dict[str, str]]:
    return [
        {"id": k, "value": v} for k, v in props.items() if only is None or gid.same_prop(k, only)
    ]


def _select(
    data: dict[str, Any], select: list[str] | None, always: tuple[str, ...]
) -> dict[str, Any]:
    if select is None:
        return data
    wanted = {s.lower() for s in select} | {a.lower() for a in always}
    return {k: v for k, v in data.items() if k.lower() in wanted or k.startswith("@odata")}


def message_json(
    msg: StoredMessage,
    account: Account,
    prefer: gid.Prefer,
    *,
    select: list[str] | None = None,
    expand_props: bool = False,
    expand_only: str | None = None,
) -> dict[str, Any]:
    plain, html_body, attachments = _bodies(msg)
    received = datetime.fromtimestamp(msg.internal_date_ms / 1000, UTC)
    sender = _recipients(msg.header("From"))
    uniq = unique_text(plain)
    text_mode = prefer.body_text
    data: dict[str, Any] = {
        "@odata.etag": f'W/"CQAAABYAAAA{msg.history_id:08d}"',
        "id": gid.message_id(msg.id, msg.folder, prefer.immutable_ids),
        "createdDateTime": utc_iso(received),
        "lastModifiedDateTime": utc_iso(received),
        "changeKey": f"CQAAABYAAAA{msg.history_id:08d}",
        "categories": list(msg.extra.get("categories", [])),
        "receivedDateTime": utc_iso(received),
        "sentDateTime": utc_iso(_header_dt(msg)),
        "hasAttachments": attachments,
        "internetMessageId": msg.header("Message-ID") or "",
        "subject": msg.header("Subject") or "",
        "bodyPreview": " ".join(plain.split())[:255],
        "importance": "normal",
        "parentFolderId": gid.folder_id(msg.folder),
        "conversationId": gid.conversation_id(msg.thread_id),
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
        "isRead": bool(msg.extra.get("isRead", msg.folder != "inbox")),
        "isDraft": msg.folder == "drafts",
        "webLink": f"https://outlook.office365.com/owa/?ItemID={msg.id}&exvsurl=1&viewmodel=ReadMessageItem",
        "inferenceClassification": "focused",
        "body": (
            {"contentType": "text", "content": plain}
            if text_mode
            else {"contentType": "html", "content": html_body}
        ),
        "uniqueBody": (
            {"contentType": "text", "content": uniq}
            if text_mode
            else {
                "contentType": "html",
                "content": "<html><body><div>"
                + html.escape(uniq).replace("\n", "<br>")
                + "</div></body></html>",
            }
        ),
        "sender": sender[0] if sender else None,
        "from": sender[0] if sender else None,
        "toRecipients": _recipients(msg.header("To")),
        "ccRecipients": _recipients(msg.header("Cc")),
        "bccRecipients": _recipients(msg.header("Bcc")),
        "replyTo": _recipients(msg.header("Reply-To")),
        "flag": {"flagStatus": "notFlagged"},
    }
    if select is not None and any(s.lower() == "internetmessageheaders" for s in select):
        data["internetMessageHeaders"] = [{"name": k, "value": v} for k, v in msg.headers]
    if select is not None and "uniquebody" not in {s.lower() for s in select}:
        data.pop("uniqueBody", None)
    data = _select(data, select, ("id",))
    if expand_props:
        props = ext_props_json(msg.extra.get("props", {}), expand_only)
        if props:
            data["singleValueExtendedProperties"] = props
    return data


def _event_type(event: StoredEvent) -> str:
    return "occurrence" if event.series_id else "singleInstance"


def event_json(
    event: StoredEvent,
    account: Account,
    prefer: gid.Prefer,
    *,
    select: list[str] | None = None,
    expand_props: bool = False,
    expand_only: str | None = None,
) -> dict[str, Any]:
    tz = prefer.timezone
    me = {account.address, *account.aliases}
    own = next((a for a in event.attendees if a.get("email", "").lower() in me), None)
    is_organizer = event.organizer.lower() in me or not event.organizer
    response = (
        "organizer"
        if is_organizer
        else RESPONSE_TO_GRAPH.get((own or {}).get("response", "needsAction"), "notResponded")
    )
    organizer = event.organizer or account.address
    names = {a.get("email", ""): a.get("name", "") for a in event.attendees}
    data: dict[str, Any] = {
        "@odata.etag": f'W/"DwAAABYAAAA{event.seq:08d}"',
        "id": event.id,
        "createdDateTime": utc_iso(event.created or event.start),
        "lastModifiedDateTime": utc_iso(event.updated or event.start),
        "changeKey": f"DwAAABYAAAA{event.seq:08d}",
        "categories": list(event.extra.get("categories", [])),
        "transactionId": event.transaction_id or None,
        "originalStartTimeZone": event.timezone or "UTC",
        "originalEndTimeZone": event.timezone or "UTC",
        "iCalUId": event.extra.get("iCalUId") or f"040000008200E00074C5B7101A82E008{event.id}",
        "reminderMinutesBeforeStart": 15,
        "isReminderOn": True,
        "hasAttachments": False,
        "subject": event.summary,
        "bodyPreview": " ".join(event.description.split())[:255],
        "importance": "normal",
        "sensitivity": "normal",
        "isAllDay": event.all_day,
        "isCancelled": event.status == "cancelled",
        "isOrganizer": is_organizer,
        "responseRequested": True,
        "seriesMasterId": event.series_id or None,
        "showAs": event.show_as or ("tentative" if event.status == "tentative" else "busy"),
        "type": _event_type(event),
        "webLink": f"https://outlook.office365.com/owa/?itemid={event.id}&exvsurl=1&path=/calendar/item",
        "onlineMeetingUrl": None,
        "isOnlineMeeting": False,
        "responseStatus": {"response": response, "time": "0001-01-01T00:00:00Z"},
        "body": {
            "contentType": "text" if prefer.body_text else "html",
            "content": event.description
            if prefer.body_text
            else "<html><body>" + html.escape(event.description) + "</body></html>",
        },
        "start": graph_datetime(event.start, tz),
        "end": graph_datetime(event.end, tz),
        "location": {"displayName": str(event.extra.get("location", ""))},
        "attendees": [
            {
                "type": "optional" if a.get("optional") else "required",
                "status": {
                    "response": RESPONSE_TO_GRAPH.get(a.get("response", "needsAction"), "none"),
                    "time": "0001-01-01T00:00:00Z",
                },
                "emailAddress": {
                    "name": a.get("name") or a.get("email", ""),
                    "address": a.get("email", ""),
                },
            }
            for a in event.attendees
            if a.get("email", "").lower() != organizer.lower()
        ],
        "organizer": {
            "emailAddress": {
                "name": names.get(organizer)
                or (account.display_name if organizer.lower() in me else organizer),
                "address": organizer,
            }
        },
    }
    data = _select(data, select, ("id",))
    if expand_props:
        props = ext_props_json(event.extra.get("props", {}), expand_only)
        if props:
            data["singleValueExtendedProperties"] = props
    return data


def _addr_list(value: Any) -> list[str]:
    out = []
    for item in value or []:
        email = (item or {}).get("emailAddress") or {}
        if email.get("address"):
            out.append(formataddr((email.get("name") or "", email["address"]), charset="utf-8"))
    return out


def compose_mime(
    account: Account,
    body: dict[str, Any],
    *,
    now: datetime,
    in_reply_to: str = "",
    references: str = "",
    base: dict[str, Any] | None = None,
    message_id: str = "",
) -> bytes:
    """A draft's RFC 822 text from a Graph message JSON (``base``: fields not given)."""
    merged = {**(base or {}), **body}
    content = merged.get("body") or {}
    ctype = (
        "text/html" if str(content.get("contentType", "text")).lower() == "html" else ("text/plain")
    )
    headers = [("From", formataddr((account.display_name, account.address), charset="utf-8"))]
    for name, key in (("To", "toRecipients"), ("Cc", "ccRecipients"), ("Bcc", "bccRecipients")):
        addrs = _addr_list(merged.get(key))
        if addrs:
            headers.append((name, ", ".join(addrs)))
    subject = str(merged.get("subject") or "")
    from email.header import Header

    headers.append(("Subject", subject if subject.isascii() else Header(subject, "utf-8").encode()))
    headers.append(("Date", format_datetime(now)))
    headers.append(("Message-ID", message_id or make_msgid(domain=account.address.split("@")[1])))
    if in_reply_to:
        headers.append(("In-Reply-To", in_reply_to))
        headers.append(("References", references or in_reply_to))
    headers += [
        ("MIME-Version", "1.0"),
        ("Content-Type", f"{ctype}; charset=utf-8"),
        ("Content-Transfer-Encoding", "8bit"),
    ]
    text = str(content.get("content") or "")
    head = "\r\n".join(f"{k}: {v}" for k, v in headers)
    return (head + "\r\n\r\n" + text.replace("\r\n", "\n").replace("\n", "\r\n")).encode()


def draft_fields(msg: StoredMessage) -> dict[str, Any]:
    """The Graph fields of an existing draft that a PATCH does not replace."""
    plain, html_body, _ = _bodies(msg)
    is_html = any("text/html" in v for k, v in msg.headers if k.lower() == "content-type")
    return {
        "subject": msg.header("Subject") or "",
        "body": {
            "contentType": "html" if is_html else "text",
            "content": html_body if is_html else plain,
        },
        "toRecipients": _recipients(msg.header("To")),
        "ccRecipients": _recipients(msg.header("Cc")),
        "bccRecipients": _recipients(msg.header("Bcc")),
    }
