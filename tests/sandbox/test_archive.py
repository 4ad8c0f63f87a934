"""Reading mail archives as one person's mailbox (rapportd replay's loader): every format,
sent mail decided as a provider would, the Enron X-From/X-To names adapter, and a skip
record with its reason for everything not loaded."""

from __future__ import annotations

import mailbox
from datetime import UTC, datetime
from email.utils import getaddresses
from pathlib import Path

import pytest

from rapportd.agent.core.errors import BadData
from rapportd.connectors.sandbox.archive import (
    fill_enron_names,
    is_sent_folder,
    load_archive,
    read_archive,
)
from rapportd.connectors.sandbox.state import Sandbox

OWNER = "ann@example.com"
AS_OF = datetime(2001, 7, 30, 18, tzinfo=UTC)
REALMAIL = Path(__file__).resolve().parents[1] / "data" / "realmail" / "kean"


def raw(
    sender: str,
    to: str,
    subject: str,
    *,
    date: str = "Mon, 2 Jul 2001 10:00:00 -0500",
    extra: str = "",
) -> bytes:
    return (
        f"From: {sender}\nTo: {to}\nSubject: {subject}\nDate: {date}\n"
        f"Message-ID: <{subject.replace(' ', '.')}@example.com>\n{extra}\nHello {subject}.\n"
    ).encode()


@pytest.mark.parametrize(
    "name",
    ["Sent", "Sent Items", "sent mail", "Sent Mail", "_sent_mail",
     "Gesendete Objekte", "Éléments envoyés", "Elementos enviados", "Gesendet"],
)  # fmt: skip
def test_sent_folders_of_many_clients_and_languages(name: str) -> None:
    assert is_sent_folder(name)


@pytest.mark.parametrize("name", ["Inbox", "All documents", "Deleted Items", "sentiments"])
def test_other_folders_are_not_sent(name: str) -> None:
    assert not is_sent_folder(name)


def test_every_format_and_sent_mail_as_a_provider_decides(tmp_path: Path) -> None:
    # a folder of .eml files, one From the owner (sent), one from someone else (inbox)
    (tmp_path / "eml").mkdir()
    (tmp_path / "eml" / "a.eml").write_bytes(raw(OWNER, "bob@client.test", "from owner"))
    (tmp_path / "eml" / "b.eml").write_bytes(raw("bob@client.test", OWNER, "to owner"))
    # an mbox named like a sent folder: its mail is sent even From an alias nobody named
    box = mailbox.mbox(str(tmp_path / "Sent.mbox"))
    box.add(raw("ann.other@example.com", "cy@client.test", "in sent mbox"))
    box.flush()
    # a maildir++ with a .Sent Items folder and an inbox
    md = mailbox.Maildir(str(tmp_path / "md"))
    md.add(raw("dee@client.test", OWNER, "maildir inbox"))
    sent = md.add_folder("Sent Items")
    sent.add(raw("ann.other@example.com", "dee@client.test", "maildir sent"))
    # headers that name the folder: X-Folder (Enron), X-Gmail-Labels (Takeout)
    (tmp_path / "xf.txt").write_bytes(
        raw("x@example.com", "eve@client.test", "xfolder", extra="X-Folder: \\Ann\\Sent Items\n")
    )
    (tmp_path / "gl.eml").write_bytes(
        raw("y@example.com", "eve@client.test", "labels", extra="X-Gmail-Labels: Important,Sent\n")
    )
    (tmp_path / "cal.ics").write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    archive = read_archive([tmp_path], owner=OWNER, as_of=AS_OF)
    sent_by_subject = {
        next(v for k, v in _headers(m.raw) if k == "subject"): m.sent for m in archive.messages
    }
    assert sent_by_subject == {
        "from owner": True,
        "to owner": False,
        "in sent mbox": True,
        "maildir inbox": False,
        "maildir sent": True,
        "xfolder": True,
        "labels": True,
    }
    assert [p.name for p in archive.calendars] == ["cal.ics"]
    assert archive.skipped == []
    assert [m.date for m in archive.messages] == sorted(m.date for m in archive.messages)


def _headers(data: bytes) -> list[tuple[str, str]]:
    head = data.replace(b"\r\n", b"\n").split(b"\n\n", 1)[0].decode()
    return [
        (k.strip().lower(), v.strip())
        for k, v in (line.split(":", 1) for line in head.split("\n") if ":" in line)
    ]


def test_bad_files_and_messages_are_skipped_with_their_reason(tmp_path: Path) -> None:
    (tmp_path / "notes.cats").write_text("1,1,1\n4,10,1\n")
    (tmp_path / "empty.eml").write_bytes(b"")
    (tmp_path / "binary.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "nodate.eml").write_bytes(b"From: bob@client.test\nSubject: x\n\nbody\n")
    (tmp_path / "baddate.eml").write_bytes(raw("bob@client.test", OWNER, "bad", date="soon"))
    (tmp_path / "later.eml").write_bytes(
        raw("bob@client.test", OWNER, "later", date="Wed, 14 Nov 2001 12:44:57 -0800")
    )
    (tmp_path / "old.eml").write_bytes(
        raw("bob@client.test", OWNER, "old", date="Mon, 31 Dec 1979 16:00:00 -0800")
    )
    (tmp_path / "broken.mbox").write_bytes(b"From nobody\nnot a header\n\n\x00\xff")
    archive = read_archive([tmp_path], owner=OWNER, as_of=AS_OF)
    reasons = {Path(s.source.split("#")[0]).name: s.reason for s in archive.skipped}
    assert "not a mail message" in reasons["notes.cats"]
    assert "not a mail message" in reasons["empty.eml"]
    assert "not a mail message" in reasons["binary.bin"]
    assert reasons["nodate.eml"].startswith("no Date header")
    assert reasons["baddate.eml"].startswith("unusable Date header ('soon')")
    assert "after the as-of instant" in reasons["later.eml"]
    assert "broken.mbox" in reasons
    # an absurd date is loaded (it is in the mailbox); the sync records it as out of window
    assert [m.date.year for m in archive.messages] == [1980]  # 31 Dec 1979 16:00 -0800
    with pytest.raises(BadData, match="no such archive"):
        read_archive([tmp_path / "missing"], owner=OWNER, as_of=AS_OF)


def test_enron_names_are_filled_in_from_x_headers() -> None:
    from email.parser import BytesHeaderParser
    from email.policy import compat32

    data = (
        b"From: steven.kean@enron.com\n"
        b"To: jeff.skilling@enron.com, greg.whalley@enron.com, mystery@enron.com\n"
        b"Cc: maureen.mcvicker@enron.com\n"
        b"Subject: x\nDate: Mon, 2 Jul 2001 10:00:00 -0500\n"
        b"X-From: Steven J Kean\n"
        b"X-To: Skilling, Jeff </O=ENRON/OU=NA/CN=RECIPIENTS/CN=JSKILLIN>, Whalley, Greg "
        b"</O=ENRON/OU=NA/CN=RECIPIENTS/CN=Gwhalle>, Someone Else <x@y>\n"
        b"X-cc: Maureen McVicker\n\nbody\n"
    )
    filled, changed = fill_enron_names(data, BytesHeaderParser(policy=compat32).parsebytes(data))
    parsed = BytesHeaderParser(policy=compat32).parsebytes(filled)
    headers = {k.lower(): str(v) for k, v in parsed.items()}
    assert changed == 1
    assert getaddresses([headers["from"]]) == [("Steven J Kean", "steven.kean@enron.com")]
    assert getaddresses([headers["to"]]) == [
        ("Skilling, Jeff", "jeff.skilling@enron.com"),  # the raw name, commas and all
        ("Whalley, Greg", "greg.whalley@enron.com"),
        ("", "mystery@enron.com"),  # "Someone Else" does not fit the address: left bare
    ]
    assert getaddresses([headers["cc"]]) == [("Maureen McVicker", "maureen.mcvicker@enron.com")]
    assert filled.endswith(b"\n\nbody\n")
    # names already there, or a count that does not match: nothing is touched
    same = b"From: Steve <steven.kean@enron.com>\nTo: a@b.c, d@e.f\nX-From: Other\nX-To: One\n\nx"
    assert fill_enron_names(same, BytesHeaderParser(policy=compat32).parsebytes(same)) == (same, 0)


@pytest.mark.parametrize("provider", ["google", "microsoft"])
def test_loaded_into_the_account_with_the_providers_sent_marker(provider: str) -> None:
    archive = read_archive([REALMAIL], owner="steven.kean@enron.com", as_of=AS_OF)
    sandbox = Sandbox(now=AS_OF, ticking=False)
    account = sandbox.add_account(provider, "steven.kean@enron.com")  # type: ignore[arg-type]
    assert load_archive(sandbox, account, archive) == []
    box = account.mailbox
    assert len(box.messages) == len(archive.messages) == 37
    sent = [m for m in box.messages.values() if "SENT" in m.labels]
    assert len(sent) == archive.sent > 20
    assert all(m.folder == "sentitems" for m in sent) and all(
        m.folder == "inbox" and "INBOX" in m.labels for m in box.messages.values() if m not in sent
    )
    # the one message dated after the as-of instant is not there, with its reason
    assert [s.reason for s in archive.skipped] == [
        "dated 2001-11-14, after the as-of instant: not yet there"
    ]
