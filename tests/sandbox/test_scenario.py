"""Seeds: the JSON scenario, mbox, maildir and ICS, and one-line errors for bad ones."""

from __future__ import annotations

import copy
import json
import mailbox
from pathlib import Path
from typing import Any

import pytest

from rapportd.agent.core.errors import BadData
from rapportd.connectors.sandbox.scenario import load_path, sandbox_from_scenario, sandbox_from_seed

from .conftest import scenario


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (
            lambda s: s["messages"][3].update(account="nobody@x.org"),
            "messages[3].account: unknown account 'nobody@x.org'",
        ),
        (lambda s: s["accounts"][0].update(provider="yahoo"), "accounts[0].provider"),
        (lambda s: s["events"][1].update(start="tomorrow"), "events[1].start: not an ISO 8601"),
        (
            lambda s: s["events"][2]["attendees"][0].update(response="maybe"),
            "events[2].attendees[0].response",
        ),
        (lambda s: s.update(faults=[{"kind": "teapot"}]), "faults[0]: unknown fault kind"),
        (lambda s: s.update(quota={"gmail_units": 5}), "quota: unknown quota setting"),
        (lambda s: s["messages"][0].pop("raw"), "messages[0].raw: missing"),
        (lambda s: s.update(version=2), "version: unsupported"),
    ],
)
def test_bad_seed_is_one_clear_line(mutate: Any, fragment: str) -> None:
    data = copy.deepcopy(scenario())
    mutate(data)
    with pytest.raises(BadData) as err:
        sandbox_from_scenario(data, "seed.json")
    message = str(err.value)
    assert message.startswith("seed.json: ") and fragment in message and "\n" not in message


def test_scenario_sets_clock_faults_quota_and_drafts() -> None:
    data = scenario()
    data["faults"] = [{"account": "*", "endpoint": "gmail.*", "kind": "429", "count": 1}]
    data["quota"] = {"gmail_units_per_minute": 100}
    data["messages"].append(
        {
            "account": "ana@example.com",
            "labels": ["DRAFT"],
            "raw": "To: bob@partner.org\nSubject: d\n\nseeded draft\n",
        }
    )
    sb = sandbox_from_scenario(data, "s.json", ticking=False)
    assert sb.now().isoformat() == "2026-11-24T12:00:00+00:00"
    assert sb.quota.config.gmail_units_per_minute == 100
    assert sb.faults.faults[0].endpoint == "gmail.*"
    mb = sb.mailbox("ana@example.com")
    assert len(mb.drafts) == 1 and len(mb.messages) == 33
    assert len([e for e in mb.events.values() if not e.deleted]) == 8


def test_mbox_maildir_and_json_folder(tmp_path: Path) -> None:
    (tmp_path / "scenario.json").write_text(json.dumps(scenario()))
    box = mailbox.mbox(str(tmp_path / "old.mbox"))
    box.add(
        b"From: z@y.org\nTo: ana@example.com\nSubject: from mbox\n"
        b"Date: Mon, 2 Nov 2026 10:00:00 +0000\n\nhi\n"
    )
    box.flush()
    sb = sandbox_from_seed(tmp_path, account="ana@example.com")
    mb = sb.mailbox("ana@example.com")
    assert any(m.header("Subject") == "from mbox" for m in mb.messages.values())
    maildir = mailbox.Maildir(str(tmp_path / "md"), create=True)
    maildir.add(b"From: q@y.org\nTo: carl@example.com\nSubject: from maildir\n\nyo\n")
    load_path(sb, tmp_path / "md", account="carl@example.com")
    carl = sb.mailbox("carl@example.com")
    assert [m.header("Subject") for m in carl.messages.values()] == ["from maildir"]
    assert next(iter(carl.messages.values())).labels == {"INBOX", "UNREAD"}


ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:weekly-1@example.com
DTSTART;TZID=Europe/Paris:20261102T090000
DTEND;TZID=Europe/Paris:20261102T093000
RRULE:FREQ=WEEKLY;COUNT=4
SUMMARY:Weekly sync
ORGANIZER:mailto:bob@partner.org
ATTENDEE;CN=Ana;PARTSTAT=ACCEPTED:mailto:ana@example.com
END:VEVENT
BEGIN:VEVENT
UID:once-1@example.com
DTSTART;VALUE=DATE:20261120
DTEND;VALUE=DATE:20261121
SUMMARY:Offsite
END:VEVENT
END:VCALENDAR
"""


def test_ics_with_recurrence(tmp_path: Path) -> None:
    path = tmp_path / "cal.ics"
    path.write_text(ICS)
    sb = sandbox_from_scenario(scenario(), "s.json")
    load_path(sb, path, account="carl@example.com")
    events = sorted(sb.mailbox("carl@example.com").events.values(), key=lambda e: e.start)
    assert [e.summary for e in events] == ["Weekly sync"] * 3 + ["Offsite", "Weekly sync"]
    weekly = events[0]
    assert weekly.series_id and weekly.start.utcoffset() is not None
    assert weekly.start.isoformat() == "2026-11-02T09:00:00+01:00"
    assert weekly.attendees == [{"email": "ana@example.com", "name": "Ana", "response": "accepted"}]
    assert events[3].all_day


def test_bad_files(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text("{nope")
    with pytest.raises(BadData, match=r"x\.json: not valid JSON"):
        sandbox_from_seed(tmp_path / "x.json")
    with pytest.raises(BadData, match="no such seed"):
        sandbox_from_seed(tmp_path / "missing.json")
