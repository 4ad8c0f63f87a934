"""Raw RFC 822 messages and header lists -> :class:`MessageRecord` pieces, and drafts -> MIME.

One parser for every provider: Gmail's ``format=raw`` bytes, Gmail's ``format=metadata``
header list and Graph's ``internetMessageHeaders`` all end up in :func:`apply_headers`.
A malformed message (bad charset, broken MIME, no Date, a huge body) is stored as far as it
can be and its ``problems`` say why; nothing here raises on bad input except
:class:`BadData` when there is nothing at all to store.
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.utils import format_datetime, getaddresses, make_msgid, parsedate_to_datetime
from typing import Any

from rapportd.agent.core import clock
from rapportd.agent.core.errors import BadData
from rapportd.agent.core.records import Address, Direction, DraftSpec, MessageRecord

TAG_HEADER = "X-Rapportd-Id"
WANTED_HEADERS = (
    "From",
    "To",
    "Cc",
    "Reply-To",
    "Date",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Unsubscribe",
    "Precedence",
    "Auto-Submitted",
    TAG_HEADER,
)
_MSGID = re.compile(r"<[^<>\s]+>")
_PARSE_LIMIT = 8 * 1024 * 1024  # bytes of a body part decoded for text at most


def decode_value(value: str | None) -> str:
    """Unfold a header value and decode RFC 2047 words; never raises."""
    if not value:
        return ""
    value = str(value).replace("\r\n", " ").replace("\n", " ").strip()
    if "=?" not in value:
        return value
    try:
        return str(make_header(decode_header(value)))
    except (UnicodeError, LookupError, ValueError, email.errors.HeaderParseError):
        return value


_EMAIL = re.compile(r"^[^@\s<>()\x00-\x1f]+@[^@\s<>()\x00-\x1f]+$")


def parse_addresses(value: str | None) -> list[Address]:
    """Addresses of a From/To/Cc header, lower-cased, names decoded; junk entries dropped.

    Encoded words are decoded after the split (a decoded display name full of specials
    such as "(" or "," would otherwise swallow the address)."""
    if not value:
        return []
    value = str(value).replace("\r\n", " ").replace("\n", " ")
    out: list[Address] = []
    for name, addr in getaddresses([value]):
        addr = addr.strip().strip("<>")
        if _EMAIL.match(addr):
            out.append(Address.of(addr, decode_value(name)))
    return out


def parse_msgids(value: str | None) -> list[str]:
    """Message-IDs in a References / In-Reply-To header, with their angle brackets."""
    if not value:
        return []
    found = _MSGID.findall(value)
    if not found and value.strip():
        return [value.strip()]
    return found


def parse_date(value: str | None) -> tuple[datetime | None, int | None]:
    """(UTC instant, offset in minutes) of a Date header; (None, None) when unusable."""
    if not value:
        return None, None
    try:
        when = parsedate_to_datetime(decode_value(value))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None, None
    if when is None:
        return None, None
    if when.tzinfo is None:  # "-0000": the offset is unknown
        return when.replace(tzinfo=UTC), None
    offset = when.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else None
    return when.astimezone(UTC), minutes


# Dates no mailbox holds in earnest: the zero dates of other systems (1900, 1970, the DOS
# epoch's 31 Dec 1979) come before the first; a sender's clock years ahead goes past the last.
EARLIEST_PLAUSIBLE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)


def plausible_date(when: datetime, received: datetime | None) -> bool:
    """Whether a Date can be a real sending time: not before 1990, and not more than a day
    after the provider received the message (or after now, when it does not say)."""
    latest = (received or clock.now()) + FUTURE_SLACK
    return EARLIEST_PLAUSIBLE <= when <= latest


def apply_headers(rec: MessageRecord, headers: Iterable[tuple[str, str]]) -> MessageRecord:
    """Fill ``rec`` from a header list (first occurrence wins); note missing or bad ones."""
    seen: dict[str, str] = {}
    for name, value in headers:
        seen.setdefault(name.lower(), value if isinstance(value, str) else str(value))
    get = seen.get
    senders = parse_addresses(get("from"))
    rec.sender = senders[0] if senders else rec.sender
    if rec.sender is None:
        rec.problems.append("no usable From header")
    rec.to = parse_addresses(get("to")) or rec.to
    rec.cc = parse_addresses(get("cc")) or rec.cc
    reply_to = parse_addresses(get("reply-to"))
    rec.reply_to = reply_to[0].email if reply_to else rec.reply_to
    rec.subject = decode_value(get("subject")) or rec.subject
    rec.rfc822_id = (parse_msgids(get("message-id")) or [rec.rfc822_id])[0]
    rec.in_reply_to = (parse_msgids(get("in-reply-to")) or [rec.in_reply_to])[0]
    rec.references = parse_msgids(get("references")) or rec.references
    rec.list_id = decode_value(get("list-id"))[:300] or rec.list_id
    rec.list_unsubscribe = rec.list_unsubscribe or bool(get("list-unsubscribe"))
    rec.precedence = decode_value(get("precedence")).lower()[:30] or rec.precedence
    rec.auto_submitted = decode_value(get("auto-submitted")).lower()[:60] or rec.auto_submitted
    rec.rapportd_tag = decode_value(get(TAG_HEADER.lower()))[:200] or rec.rapportd_tag
    raw_date = get("date")
    when, offset = parse_date(raw_date)
    if when is not None:
        rec.sent_at, rec.tz_offset_minutes = when, offset
    elif raw_date:
        rec.problems.append("unparseable Date header")
    else:
        rec.problems.append("no Date header")
    return rec


def direction_of(
    sender: Address | None,
    recipients: Sequence[Address],
    owner_addresses: Iterable[str],
    *,
    sent_marker: bool = False,
) -> Direction:
    """``out`` when the owner wrote it, ``self`` when only to the owner too, else ``in``."""
    mine = {a.lower() for a in owner_addresses}
    from_owner = sent_marker or (sender is not None and sender.email in mine)
    if not from_owner:
        return "in"
    if recipients and all(r.email in mine for r in recipients):
        return "self"
    return "out"


def _new_text(text: str) -> str:
    from rapportd.agent.core import mailtext

    return mailtext.new_text(text)


def _html_to_text(html: str) -> str:
    from rapportd.agent.core import mailtext

    return mailtext.html_to_text(html)


def finish_text(rec: MessageRecord, text: str, *, is_html: bool, max_chars: int) -> None:
    """Store the new text of ``text`` (quotes and signature removed), capped at ``max_chars``."""
    if len(text) > max_chars * 8:
        text = text[: max_chars * 8]
        rec.text_truncated = True
    try:
        plain = _html_to_text(text) if is_html else text
        new = _new_text(plain).strip()
    except Exception as exc:  # a parser bug must not stop the sync: keep the raw text
        rec.problems.append(f"text extraction failed ({type(exc).__name__})")
        new = text.strip()
    if len(new) > max_chars:
        new = new[:max_chars]
        rec.text_truncated = True
    rec.new_text = new
    rec.has_text = True


def _part_text(part: Message, problems: list[str]) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    if len(payload) > _PARSE_LIMIT:
        payload = payload[:_PARSE_LIMIT]
        problems.append(f"body over {_PARSE_LIMIT} bytes, text cut")
    charset = part.get_content_charset() or "us-ascii"
    try:
        return payload.decode(charset)
    except (LookupError, UnicodeDecodeError):
        problems.append(f"bad charset {charset!r}, decoded with replacement")
        return payload.decode("utf-8", errors="replace")


def parse_raw(raw: bytes) -> Message:
    """The stdlib's parse of ``raw`` (policy=default, compat32 when that one chokes)."""
    try:
        return email.message_from_bytes(raw, policy=email.policy.default)
    except Exception:
        return email.message_from_bytes(raw, policy=email.policy.compat32)


def _unescape(text: str) -> str:
    """Raw 8-bit header bytes come back from the parser as lone surrogates, which no database
    can store: read them as UTF-8 (RFC 6532), else Latin-1 (found by tests/reliability)."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        try:
            data = text.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            return text.encode("utf-8", "replace").decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def raw_headers(msg: Message) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, value in msg.raw_items() if hasattr(msg, "raw_items") else msg.items():
        out.append((_unescape(str(name)), _unescape(str(value))))
    return out


def body_of(msg: Message, problems: list[str]) -> tuple[str, bool, bool]:
    """(text, is_html, has_attachments) of a parsed message; attachments are never read."""
    plain: Message | None = None
    html: Message | None = None
    attachments = False
    try:
        parts = list(msg.walk())
    except Exception:
        problems.append("broken MIME structure")
        parts = [msg]
    for part in parts:
        if part.is_multipart():
            continue
        disposition = (part.get_content_disposition() or "").lower()
        ctype = part.get_content_type()
        if disposition == "attachment" or (part.get_filename() and disposition != "inline"):
            attachments = True
            continue
        if ctype == "text/plain" and plain is None:
            plain = part
        elif ctype == "text/html" and html is None:
            html = part
        elif not ctype.startswith(("text/", "multipart/", "message/")):
            attachments = True
    if msg.defects:
        problems.append(
            "MIME defects: " + ", ".join(sorted({type(d).__name__ for d in msg.defects}))[:200]
        )
    chosen = plain or html
    if chosen is None:
        return "", False, attachments
    return _part_text(chosen, problems), chosen is html, attachments


def record_from_raw(
    provider_id: str,
    raw: bytes,
    *,
    thread_id: str = "",
    labels: Sequence[str] = (),
    folder: str = "",
    owner_addresses: Iterable[str] = (),
    want_text: bool = True,
    max_chars: int = 20000,
    fallback_date: datetime | None = None,
    sent_marker: bool = False,
    filed_received: bool = False,
) -> MessageRecord:
    """A full :class:`MessageRecord` from raw RFC 822 bytes; problems noted, never raises
    except :class:`BadData` when ``raw`` is empty."""
    if not raw:
        raise BadData("empty message")
    rec = MessageRecord(provider_id=provider_id, thread_id=thread_id, size_bytes=len(raw))
    rec.labels, rec.folder = list(labels), folder
    msg = parse_raw(raw)
    apply_headers(rec, raw_headers(msg))
    text, is_html, rec.has_attachments = body_of(msg, rec.problems)
    if want_text:
        finish_text(rec, text, is_html=is_html, max_chars=max_chars)
    finish_record(
        rec,
        owner_addresses,
        fallback_date=fallback_date,
        sent_marker=sent_marker,
        filed_received=filed_received,
    )
    return rec


def finish_record(
    rec: MessageRecord,
    owner_addresses: Iterable[str],
    *,
    fallback_date: datetime | None,
    sent_marker: bool = False,
    filed_received: bool = False,
) -> MessageRecord:
    """Direction, and the provider's own date (``fallback_date``: Gmail's internalDate,
    Graph's receivedDateTime) when the header gave none or an implausible one.

    ``sent_marker``: the provider filed it as sent (Gmail ``SENT``, Graph ``sentitems``);
    ``filed_received``: it filed it as arrived mail (Gmail ``INBOX`` without ``SENT``,
    Graph ``inbox``). A ``From:`` naming the owner on mail the provider says arrived is not
    trusted: anyone can write that header. It counts as received (from nobody the owner
    knows) and the problem is noted; the owner's real sent copy is in Sent."""
    if rec.sent_at is not None and not plausible_date(rec.sent_at, fallback_date):
        shown = rec.sent_at.strftime("%Y-%m-%d")
        if fallback_date is not None and plausible_date(fallback_date, None):
            rec.problems.append(f"implausible Date header ({shown}), used the provider's date")
            rec.sent_at = fallback_date
        else:
            rec.problems.append(f"implausible Date header ({shown}), kept: no better date")
    if rec.sent_at is None and fallback_date is not None:
        rec.sent_at = fallback_date
    owners = {a.lower() for a in owner_addresses}
    claims_owner = rec.sender is not None and rec.sender.email in owners
    if claims_owner and filed_received and not sent_marker:
        rec.problems.append(
            "From: is the owner's address on mail that arrived; counted as received"
        )
        rec.direction = "in"
        return rec
    rec.direction = direction_of(rec.sender, [*rec.to, *rec.cc], owners, sent_marker=sent_marker)
    return rec


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")


def clean_header(value: str) -> str:
    """A header value on one line: control characters and line breaks become one space."""
    return _CONTROL.sub(" ", value).strip()


def clean_body(body: str) -> str:
    """The body as rapportd writes it: LF line ends, no other control characters."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x85\u2028\u2029]", " ", body)


def draft_mime(
    spec: DraftSpec, sender: str, *, when: datetime | None = None, message_id: str = ""
) -> bytes:
    """The RFC 822 bytes of a draft: rapportd's tag header, threading headers, plain text."""
    spec = DraftSpec(
        tag=clean_header(spec.tag),
        to=[Address(a.email, clean_header(a.name)) for a in spec.to],
        subject=clean_header(spec.subject),
        body=clean_body(spec.body),
        cc=[Address(a.email, clean_header(a.name)) for a in spec.cc],
        reply_to_provider_id=spec.reply_to_provider_id,
        thread_id=spec.thread_id,
        in_reply_to=clean_header(spec.in_reply_to),
        references=[clean_header(r) for r in spec.references],
    )
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = [_fmt(a, "To") for a in spec.to]
    if spec.cc:
        msg["Cc"] = [_fmt(a, "Cc") for a in spec.cc]
    msg["Subject"] = spec.subject  # as planned or as the owner edited it, never rewritten
    msg["Date"] = format_datetime(when or clock.now())
    msg["Message-ID"] = message_id or make_msgid(
        domain=sender.rpartition("@")[2] or "rapportd.local"
    )
    if spec.in_reply_to:
        msg["In-Reply-To"] = spec.in_reply_to
        refs = [r for r in spec.references if r != spec.in_reply_to] + [spec.in_reply_to]
        msg["References"] = " ".join(refs)
    msg[TAG_HEADER] = spec.tag
    msg.set_content(spec.body)
    return msg.as_bytes(policy=email.policy.SMTP)


def _fmt(addr: Address, field: str) -> Any:
    """A header address that quotes whatever the display name holds; an address the mail
    format refuses (``j..kean@enron.com``: two dots in a row) is a :class:`BadData` naming
    it, not an error from deep inside the email library."""
    from email.headerregistry import Address as HeaderAddress

    try:
        return HeaderAddress(display_name=addr.name, addr_spec=addr.email)
    except (ValueError, IndexError, TypeError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise BadData(
            f"{field} address {addr.email!r} is refused by the mail format: {reason}"
        ) from None


def _header_addresses(msg: Message, name: str) -> list[Address]:
    header = msg.get(name)
    if header is None:
        return []
    parsed = getattr(header, "addresses", None)
    if parsed:
        try:
            found = [Address.of(a.addr_spec, a.display_name) for a in parsed if "@" in a.addr_spec]
            if found:
                return found
        except Exception:
            pass
    raw = next((str(v) for k, v in raw_headers(msg) if k.lower() == name.lower()), "")
    out = []
    for display, addr in getaddresses([raw]):  # encoded words left alone: the address survives
        if "@" in addr:
            out.append(Address.of(addr, decode_value(display)))
    return out


def draft_text(raw: bytes) -> tuple[list[Address], str, str, str]:
    """(to, subject, body, tag) of a draft's raw MIME, to hash what is in the mailbox now."""
    msg = parse_raw(raw)
    problems: list[str] = []
    text, is_html, _ = body_of(msg, problems)
    if is_html:
        text = _html_to_text(text)
    # raw values: the stdlib's structured header parser raises IndexError on a To such as
    # "a <" (a person can save a draft like that; found by tests/reliability).
    headers: dict[str, str] = {}
    for name, value in raw_headers(msg):
        headers.setdefault(name.lower(), value)
    return (
        parse_addresses(headers.get("to", "")),
        decode_value(headers.get("subject", "")),
        text.replace("\r\n", "\n"),
        decode_value(headers.get(TAG_HEADER.lower(), "")),
    )
