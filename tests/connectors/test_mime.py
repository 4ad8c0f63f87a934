"""MIME parsing: never raises on junk, keeps what it can, flags problems; drafts round-trip."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.agent.core.records import Address, DraftSpec, draft_hash
from rapportd.connectors import mime

OWNER = {"me@example.com"}


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=1, max_size=2000))
def test_any_bytes_give_a_record(raw: bytes) -> None:
    rec = mime.record_from_raw("m1", raw, owner_addresses=OWNER, max_chars=500)
    assert rec.provider_id == "m1"
    assert len(rec.new_text) <= 500
    assert rec.direction in ("in", "out", "self")


header_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)


@settings(max_examples=150, deadline=None)
@given(subject=header_text, body=st.text(max_size=400), name=header_text)
def test_headers_survive_a_round_trip(subject: str, body: str, name: str) -> None:
    spec = DraftSpec("tag-1", [Address.of("ann@client.example", name)], subject, body)
    raw = mime.draft_mime(spec, "me@example.com")
    to, subj, text, tag = mime.draft_text(raw)
    assert tag == "tag-1"
    assert [a.email for a in to] == ["ann@client.example"]
    assert draft_hash(DraftSpec("", to, subj, text)) == draft_hash(spec)


def test_broken_messages_are_flagged_not_dropped() -> None:
    raw = (
        b"From: Ann <ann@client.example>\r\nTo: me@example.com\r\nSubject: =?x-unknown?q?hi?=\r\n"
        b"Content-Type: text/plain; charset=x-klingon\r\n\r\nhello \xff\xfe there\r\n"
    )
    rec = mime.record_from_raw(
        "m2", raw, owner_addresses=OWNER, fallback_date=datetime(2026, 1, 1, tzinfo=UTC)
    )
    assert rec.sender == Address("ann@client.example", "Ann")
    assert "no Date header" in rec.problems
    assert any("charset" in p for p in rec.problems)
    assert rec.sent_at == datetime(2026, 1, 1, tzinfo=UTC)
    assert "hello" in rec.new_text


def test_huge_body_is_capped_and_attachments_not_read() -> None:
    body = ("word " * 2_000_000).encode()  # 10 MB of text
    raw = (
        b"From: me@example.com\r\nTo: me@example.com\r\nDate: Mon, 2 Mar 2026 10:00:00 +0100\r\n"
        b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/plain\r\n\r\n"
        + body
        + b"\r\n--XX\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=a.pdf\r\n\r\nPDFDATA\r\n--XX--\r\n"
    )
    rec = mime.record_from_raw("m3", raw, owner_addresses=OWNER, max_chars=1000)
    assert len(rec.new_text) <= 1000 and rec.text_truncated
    assert rec.has_attachments and "PDFDATA" not in rec.new_text
    assert rec.direction == "self"
    assert rec.tz_offset_minutes == 60


def test_list_headers_and_threading() -> None:
    raw = (
        b"From: news@list.example\r\nTo: me@example.com\r\nDate: Tue, 3 Mar 2026 10:00:00 +0000\r\n"
        b"Message-ID: <a@b>\r\nIn-Reply-To: <x@y>\r\nReferences: <w@z> <x@y>\r\nList-Id: News <n.list>\r\n"
        b"List-Unsubscribe: <mailto:u@list.example>\r\nPrecedence: Bulk\r\nAuto-Submitted: auto-generated\r\n\r\nhi\r\n"
    )
    rec = mime.record_from_raw("m4", raw, owner_addresses=OWNER)
    assert (
        rec.rfc822_id == "<a@b>"
        and rec.in_reply_to == "<x@y>"
        and rec.references == ["<w@z>", "<x@y>"]
    )
    assert rec.list_unsubscribe and rec.list_id.startswith("News") and rec.precedence == "bulk"
    assert rec.auto_submitted == "auto-generated"


def test_an_address_the_mail_format_refuses_is_a_clear_bad_data() -> None:
    """Found on real mail: a draft to ``j..kean@enron.com`` (two dots in a row) made the
    email library raise InvalidHeaderDefect from deep inside the write."""
    from rapportd.agent.core.errors import BadData

    spec = DraftSpec(
        "tag-2",
        [Address.of("ann@client.example", "Ann"), Address.of("j..kean@enron.com", "Kean")],
        "Hello",
        "body",
    )
    try:
        mime.draft_mime(spec, "me@example.com")
    except BadData as exc:
        message = str(exc)
    else:
        raise AssertionError("the draft was written with an address the format refuses")
    assert "j..kean@enron.com" in message and "To" in message and "\n" not in message
