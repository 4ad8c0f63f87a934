"""A corpus of nasty messages: every way a real mailbox breaks a parser.

Each entry is ``(name, raw bytes)``. Big bodies are built at run time, not stored.
Used by the bad-input tests of the connectors' parsing, the sandbox loader and inference.
"""

from __future__ import annotations

import base64

OWNER = "ana@example.com"


def _msg(headers: list[tuple[str, str]], body: bytes | str, *, eol: bytes = b"\r\n") -> bytes:
    head = eol.join(f"{k}: {v}".encode("utf-8", "surrogateescape") for k, v in headers)
    data = body if isinstance(body, bytes) else body.encode("utf-8")
    return head + eol + eol + data


def _std(extra: list[tuple[str, str]] | None = None, **over: str) -> list[tuple[str, str]]:
    base = {
        "From": "Zoë Åkesson <zoe@client.example>",
        "To": OWNER,
        "Subject": "Quarterly numbers",
        "Date": "Tue, 03 Mar 2026 10:15:00 +0100",
        "Message-ID": "<n1@client.example>",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=utf-8",
    }
    base.update({k.replace("_", "-"): v for k, v in over.items()})
    return [(k, v) for k, v in base.items() if v != ""] + (extra or [])


def _nested(depth: int) -> bytes:
    parts = b"innermost text: I'll send the deck by Friday.\r\n"
    content_type = "text/plain; charset=utf-8"
    for level in range(depth):
        boundary = f"b{level}"
        parts = (
            f"--{boundary}\r\nContent-Type: {content_type}\r\n\r\n".encode()
            + parts
            + f"\r\n--{boundary}--\r\n".encode()
        )
        content_type = f'multipart/mixed; boundary="{boundary}"'
    return _msg(_std(Content_Type=content_type), parts)


def corpus(big: bool = True) -> list[tuple[str, bytes]]:
    """The nasty messages. ``big=False`` leaves out the multi-megabyte ones."""
    items: list[tuple[str, bytes]] = [
        ("plain-ok", _msg(_std(), "Hi Ana,\r\nCould you send the report by Friday?\r\n")),
        ("missing-date", _msg(_std(Date=""), "No date header here.")),
        ("missing-from", _msg(_std(From=""), "Who sent this?")),
        ("missing-message-id", _msg(_std(Message_ID=""), "No id.")),
        ("empty", b""),
        ("headers-only", b"From: a@b.example\r\nSubject: x\r\n"),
        ("garbage-bytes", bytes(range(256)) * 20),
        ("date-1900", _msg(_std(Date="Mon, 01 Jan 1900 00:00:00 +0000"), "old")),
        ("date-2100", _msg(_std(Date="Fri, 01 Jan 2100 00:00:00 +0000"), "future")),
        ("date-1979", _msg(_std(Date="Mon, 31 Dec 1979 16:00:00 -0800"), "enron style")),
        ("date-garbage", _msg(_std(Date="yesterday-ish, around noon"), "bad date")),
        ("date-offset-absurd", _msg(_std(Date="Tue, 03 Mar 2026 10:15:00 +9999"), "tz")),
        (
            "wrong-charset",
            _msg(
                _std(Content_Type="text/plain; charset=utf-8"), "Caf\xe9 cr\xe8me".encode("latin-1")
            ),
        ),
        (
            "unknown-charset",
            _msg(_std(Content_Type="text/plain; charset=x-klingon"), b"nuqneH \xff\xfe"),
        ),
        (
            "no-charset-8bit",
            _msg(_std(Content_Type="text/plain"), "Grüße aus Köln".encode("latin-1")),
        ),
        ("8bit-headers", _msg(_std(Subject="Réunion à 10h — café ☕"), "8-bit subject, raw utf-8")),
        ("8bit-latin1-header", _std_raw_latin1_subject()),
        (
            "encoded-words-broken",
            _msg(_std(Subject="=?utf-8?B?not-base64!!?= =?iso-8859-1?Q?caf=E9?="), "x"),
        ),
        (
            "broken-boundary",
            _msg(
                _std(Content_Type='multipart/alternative; boundary="nope"'),
                "--other\r\n\r\ntext\r\n",
            ),
        ),
        ("multipart-no-boundary", _msg(_std(Content_Type="multipart/mixed"), "body without parts")),
        ("bad-base64", _msg(_std([("Content-Transfer-Encoding", "base64")]), "!!!not base64@@@")),
        ("bad-qp", _msg(_std([("Content-Transfer-Encoding", "quoted-printable")]), "=ZZ=\r\n=")),
        ("deep-nesting-60", _nested(60)),
        (
            "html-only",
            _msg(
                _std(Content_Type="text/html; charset=utf-8"),
                "<html><body><p>Thanks!</p><p>I will call you <b>tomorrow</b>.</p></body></html>",
            ),
        ),
        (
            "html-script",
            _msg(
                _std(Content_Type="text/html"),
                "<script>alert(1)</script><style>p{}</style><p>ok</p>",
            ),
        ),
        (
            "forged-owner-from",
            _msg(
                _std(From=f"Ana <{OWNER}>", Received="from evil.example"),
                "Pretending to be the owner.",
            ),
        ),
        ("duplicate-message-id-a", _msg(_std(Message_ID="<dup@x.example>"), "first")),
        (
            "duplicate-message-id-b",
            _msg(_std(Message_ID="<dup@x.example>", Subject="other"), "second"),
        ),
        ("address-garbage", _msg(_std(To='undisclosed-recipients:;, <>, @@, "unterminated'), "x")),
        ("very-long-header", _msg(_std(Subject="x" * 20000), "long subject")),
        (
            "many-recipients",
            _msg(_std(To=", ".join(f"p{i}@list.example" for i in range(3000))), "x"),
        ),
        ("lf-only", _msg(_std(), "unix line endings", eol=b"\n")),
        ("null-bytes", _msg(_std(), b"nul \x00 in \x00 body")),
        (
            "attachment-only",
            _msg(
                _std(Content_Type='multipart/mixed; boundary="a"'),
                "--a\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
                'Content-Disposition: attachment; filename="deck.pdf"\r\n\r\n'
                + base64.b64encode(b"%PDF-1.4 fake").decode()
                + "\r\n--a--\r\n",
            ),
        ),
    ]
    if big:
        items += [
            ("huge-20mb-text", _msg(_std(), ("word " * 4_000_000).encode())),
            (
                "html-bomb",
                _msg(
                    _std(Content_Type="text/html"), ("<div>" * 200_000 + "x" + "</div>" * 200_000)
                ),
            ),
            ("huge-single-line", _msg(_std(), b"a" * 5_000_000)),
        ]
    return items


def _std_raw_latin1_subject() -> bytes:
    headers = _msg(_std(Subject="PLACEHOLDER"), "body")
    return headers.replace(b"PLACEHOLDER", "Réunion".encode("latin-1"))
