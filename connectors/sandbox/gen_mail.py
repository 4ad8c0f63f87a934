"""RFC 822 text of generated mail: headers (RFC 2047 names), plain / HTML / attachment
bodies, Gmail-style and Outlook-style quoted history.

Pure string building, no randomness: the generator decides, this module writes.
"""

from __future__ import annotations

import base64
import hashlib
import html
from dataclasses import dataclass, field
from datetime import datetime
from email.header import Header
from email.utils import format_datetime, formataddr

CRLF = "\r\n"


@dataclass
class Mail:
    """One message as the generator sees it, before it is written out."""

    message_id: str
    sent: datetime  # aware, in the sender's zone
    sender: tuple[str, str]  # (name, address)
    to: list[tuple[str, str]]
    subject: str
    text: str  # the new text, signature included, without quoted history
    cc: list[tuple[str, str]] = field(default_factory=list)
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    quote: str = ""  # quoted history block, already formatted
    html_only: bool = False
    alternative: bool = False  # text/plain + text/html
    attachment: str = ""  # file name of an attachment part
    headers: list[tuple[str, str]] = field(default_factory=list)  # extra (List-Id, ...)


def _addr(pair: tuple[str, str]) -> str:
    name, address = pair
    return formataddr((name, address), charset="utf-8") if name else address


def _encode(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def _html(text: str, quote: str) -> str:
    paras = "".join(
        f"<p>{html.escape(p, quote=False).replace(chr(10), '<br>')}</p>"
        for p in text.split("\n\n")
        if p.strip()
    )
    if quote:
        inner = html.escape(quote).replace("\n", "<br>")
        paras += f'<div class="gmail_quote"><blockquote>{inner}</blockquote></div>'
    return f"<html><head><style>p{{margin:0 0 8px}}</style></head><body>{paras}</body></html>"


def _b64_lines(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return CRLF.join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def render(mail: Mail) -> str:
    """The full RFC 822 text of ``mail`` (CRLF line ends, 8bit UTF-8 text parts)."""
    head = [
        ("From", _addr(mail.sender)),
        ("To", ", ".join(_addr(a) for a in mail.to)),
    ]
    if mail.cc:
        head.append(("Cc", ", ".join(_addr(a) for a in mail.cc)))
    head += [
        ("Subject", _encode(mail.subject)),
        ("Date", format_datetime(mail.sent)),
        ("Message-ID", mail.message_id),
    ]
    if mail.in_reply_to:
        head.append(("In-Reply-To", mail.in_reply_to))
        head.append(("References", " ".join(mail.references or [mail.in_reply_to])))
    head += mail.headers
    head.append(("MIME-Version", "1.0"))
    full_text = mail.text + (CRLF * 2 + mail.quote if mail.quote else "")
    boundary = "b_" + hashlib.sha1(mail.message_id.encode()).hexdigest()[:20]
    text_part = (
        "Content-Type: text/plain; charset=utf-8"
        + CRLF
        + "Content-Transfer-Encoding: 8bit"
        + CRLF * 2
        + full_text
    )
    html_part = (
        "Content-Type: text/html; charset=utf-8"
        + CRLF
        + "Content-Transfer-Encoding: 8bit"
        + CRLF * 2
        + _html(mail.text, mail.quote)
    )
    if mail.html_only:
        body_part = html_part
    elif mail.alternative:
        alt = boundary + "_alt"
        body_part = (
            f'Content-Type: multipart/alternative; boundary="{alt}"'
            + CRLF * 2
            + f"--{alt}{CRLF}{text_part}{CRLF}--{alt}{CRLF}{html_part}{CRLF}--{alt}--"
        )
    else:
        body_part = text_part
    if mail.attachment:
        data = (
            b"%PDF-1.4\n% sandbox attachment "
            + mail.attachment.encode()
            + b"\n"
            + hashlib.sha256(mail.message_id.encode()).digest() * 8
        )
        attach = (
            f'Content-Type: application/octet-stream; name="{mail.attachment}"'
            + CRLF
            + f'Content-Disposition: attachment; filename="{mail.attachment}"'
            + CRLF
            + "Content-Transfer-Encoding: base64"
            + CRLF * 2
            + _b64_lines(data)
        )
        head.append(("Content-Type", f'multipart/mixed; boundary="{boundary}"'))
        body = (
            f"--{boundary}{CRLF}{body_part}{CRLF}--{boundary}{CRLF}{attach}{CRLF}"
            f"--{boundary}--{CRLF}"
        )
    else:
        ctype, _, rest = body_part.partition(CRLF * 2)
        for line in ctype.split(CRLF):
            name, _, value = line.partition(": ")
            head.append((name, value))
        body = rest + CRLF
    return (
        CRLF.join(f"{k}: {v}" for k, v in head)
        + CRLF * 2
        + body.replace("\r\n", "\n").replace("\n", CRLF)
    )


def gmail_quote(prev: Mail) -> str:
    """``On Tue, 3 Mar 2026 at 10:02, Ana <ana@x> wrote:`` and ``> `` lines."""
    when = prev.sent.strftime("%a, %-d %b %Y at %H:%M")
    name, address = prev.sender
    lines = (prev.text + ("\n\n" + prev.quote if prev.quote else "")).split("\n")
    quoted = "\n".join(">" + (" " + ln if ln and not ln.startswith(">") else ln) for ln in lines)
    return f"On {when}, {name} <{address}> wrote:\n{quoted}"


def outlook_quote(prev: Mail) -> str:
    """Outlook's ``From: / Sent: / To: / Subject:`` block followed by the earlier text."""
    name, address = prev.sender
    sent = prev.sent.strftime("%A, %B %-d, %Y %-I:%M %p")
    to = "; ".join(f"{n} <{a}>" if n else a for n, a in prev.to)
    return (
        "________________________________\n"
        f"From: {name} <{address}>\nSent: {sent}\nTo: {to}\nSubject: {prev.subject}\n\n"
        + prev.text
        + ("\n\n" + prev.quote if prev.quote else "")
    )
