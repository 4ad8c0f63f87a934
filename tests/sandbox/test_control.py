"""The person's side through the control API and the CLI, seen through the Gmail API."""

from __future__ import annotations

import base64
from typing import Any

from typer.testing import CliRunner

from rapportd.agent.cli.main import app

ANA = "ana@example.com"


def make_draft(gmail: Any, tag: str = "sugg-9") -> dict[str, Any]:
    raw = (
        f"From: {ANA}\r\nTo: bob@partner.org\r\nSubject: Thanks\r\nX-Rapportd-Id: {tag}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nThank you for the meeting.\r\n"
    )
    return (
        gmail.users()
        .drafts()
        .create(
            userId="me", body={"message": {"raw": base64.urlsafe_b64encode(raw.encode()).decode()}}
        )
        .execute()
    )


def test_deliver_shows_up_in_list_and_history(gmail: Any, control: Any) -> None:
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    sent = control.post(
        f"/accounts/{ANA}/deliver",
        json={"from": "Dee <dee@x.org>", "subject": "Question", "body": "Can you send the deck?"},
    )
    new_id = sent.json()["id"]
    listed = gmail.users().messages().list(userId="me", q="newer_than:1d").execute()
    assert listed["messages"][0]["id"] == new_id
    msg = gmail.users().messages().get(userId="me", id=new_id, format="metadata").execute()
    assert set(msg["labelIds"]) == {"INBOX", "UNREAD"}
    assert msg["snippet"] == "Can you send the deck?"
    hist = gmail.users().history().list(userId="me", startHistoryId=start).execute()
    assert hist["history"][-1]["messagesAdded"][0]["message"]["id"] == new_id


def test_reply_delivery_joins_the_thread(gmail: Any, control: Any) -> None:
    sent = gmail.users().messages().list(userId="me", q="in:sent").execute()["messages"][0]
    reply = control.post(
        f"/accounts/{ANA}/deliver",
        json={
            "from": "bob@partner.org",
            "subject": "Re: Topic 0",
            "body": "ok",
            "in_reply_to": sent["id"],
        },
    ).json()
    assert reply["thread_id"] == sent["threadId"]


def test_person_sends_draft_as_is(gmail: Any, control: Any) -> None:
    draft = make_draft(gmail)
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    control.post(f"/accounts/{ANA}/drafts/{draft['id']}/send").raise_for_status()
    assert "drafts" not in gmail.users().drafts().list(userId="me").execute()
    msg = (
        gmail.users()
        .messages()
        .get(userId="me", id=draft["message"]["id"], format="metadata")
        .execute()
    )
    assert msg["labelIds"] == ["SENT"]  # same message id, now SENT
    hist = gmail.users().history().list(userId="me", startHistoryId=start).execute()
    kinds = [k for h in hist["history"] for k in h if k.startswith("labels")]
    assert kinds == ["labelsRemoved", "labelsAdded"]


def test_person_edits_then_sends(gmail: Any, control: Any) -> None:
    draft = make_draft(gmail)
    edited = control.post(
        f"/accounts/{ANA}/drafts/{draft['id']}/edit",
        json={"body": "Thanks a lot, see you Tuesday.", "send": True},
    ).json()
    assert edited["id"] != draft["message"]["id"]  # an edited draft has a new message id
    assert edited["rapportd_id"] == "sugg-9"  # the person's client keeps the headers
    msg = gmail.users().messages().get(userId="me", id=edited["id"]).execute()
    assert msg["labelIds"] == ["SENT"] and msg["snippet"] == "Thanks a lot, see you Tuesday."


def test_person_deletes_draft(gmail: Any, control: Any) -> None:
    draft = make_draft(gmail)
    control.delete(f"/accounts/{ANA}/drafts/{draft['id']}").raise_for_status()
    assert gmail.users().drafts().list(userId="me").execute()["resultSizeEstimate"] == 0
    assert control.delete(f"/accounts/{ANA}/drafts/{draft['id']}").status_code == 404


def test_control_errors_are_json(control: Any) -> None:
    assert control.post("/accounts/nobody@x.org/deliver", json={"from": "a@b"}).status_code == 404
    bad = control.post("/faults", json={"kind": "teapot"})
    assert bad.status_code == 400 and "teapot" in bad.json()["error"]
    assert control.post("/clock/advance", json={"hours": -1}).status_code == 400


def test_cli_talks_to_the_control_api(server: Any, gmail: Any) -> None:
    runner = CliRunner()
    url = ["--url", server.base_url]
    out = runner.invoke(
        app,
        [
            "sandbox",
            "deliver",
            ANA,
            "--from",
            "cli@x.org",
            "--subject",
            "from the cli",
            "--body",
            "hello",
            *url,
        ],
    )
    assert out.exit_code == 0, out.output
    assert (
        gmail.users()
        .messages()
        .list(userId="me", q="newer_than:1d")
        .execute()["resultSizeEstimate"]
        >= 1
    )
    draft = make_draft(gmail)
    out = runner.invoke(app, ["sandbox", "edit-draft", ANA, draft["id"], "--subject", "New", *url])
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["sandbox", "send-draft", ANA, draft["id"], *url])
    assert out.exit_code == 0, out.output
    out = runner.invoke(
        app,
        [
            "sandbox",
            "faults",
            "set",
            "503",
            "--endpoint",
            "gmail.users.getProfile",
            "--count",
            "1",
            *url,
        ],
    )
    assert out.exit_code == 0 and '"kind": "503"' in out.output
    out = runner.invoke(app, ["sandbox", "clock", "advance", "--hours", "1", *url])
    assert out.exit_code == 0
    out = runner.invoke(app, ["sandbox", "stats", "--account", ANA, *url])
    assert out.exit_code == 0 and '"gmail.users.drafts.create": 1' in out.output
    out = runner.invoke(app, ["sandbox", "send-draft", ANA, "nosuchdraft", *url])
    assert out.exit_code == 1


def test_cli_drafts_and_holds_are_readable_tables(server: Any, gmail: Any, calendar: Any) -> None:
    """``rapportd sandbox drafts`` / ``holds``: a table a person reads (the text decoded, the
    hold's time in the calendar's zone, tentative or confirmed); ``--json`` for scripts."""
    runner = CliRunner()
    url = ["--url", server.base_url]
    make_draft(gmail, tag="sugg-table")
    event = (
        calendar.events()
        .insert(
            calendarId="primary",
            body={
                "summary": "Prepare the deck",
                "status": "tentative",
                "start": {"dateTime": "2031-03-04T09:00:00Z"},
                "end": {"dateTime": "2031-03-04T10:00:00Z"},
                "extendedProperties": {"private": {"rapportd": "hold-tag-1"}},
            },
        )
        .execute()
    )
    calendar.events().insert(  # not rapportd's: listed only with --all
        calendarId="primary",
        body={
            "summary": "Dentist",
            "start": {"dateTime": "2031-03-05T09:00:00Z"},
            "end": {"dateTime": "2031-03-05T10:00:00Z"},
        },
    ).execute()

    out = runner.invoke(app, ["sandbox", "drafts", ANA, *url], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "Thank you for the meeting." in out.output  # decoded, not base64
    assert "bob@partner.org" in out.output and "1 written by rapportd" in out.output
    assert "raw" not in out.output
    as_json = runner.invoke(app, ["sandbox", "drafts", ANA, "--json", *url])
    import json

    (draft,) = json.loads(as_json.output)["drafts"]
    assert draft["tag"] == "sugg-table" and draft["text"].strip() == "Thank you for the meeting."

    holds = runner.invoke(app, ["sandbox", "holds", ANA, *url], env={"COLUMNS": "200"})
    assert holds.exit_code == 0, holds.output
    assert "Prepare the deck" in holds.output and "tentative" in holds.output
    assert "Dentist" not in holds.output
    assert "10:00–11:00" in holds.output and "Europe/Paris" in holds.output  # 09:00 UTC
    tz = json.loads(runner.invoke(app, ["sandbox", "holds", ANA, "--json", *url]).output)
    (hold,) = tz["holds"]
    assert hold["id"] == event["id"] and hold["tag"] == "hold-tag-1"
    runner.invoke(app, ["sandbox", "hold", "accept", ANA, event["id"], *url])
    after = runner.invoke(app, ["sandbox", "holds", ANA, *url], env={"COLUMNS": "200"})
    assert "confirmed" in after.output and "tentative" not in after.output
    every = runner.invoke(app, ["sandbox", "holds", ANA, "--all", *url], env={"COLUMNS": "200"})
    assert "Dentist" in every.output
