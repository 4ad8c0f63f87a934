"""Gmail v1 contract tests: googleapiclient from the bundled discovery document."""

from __future__ import annotations

import base64
import email
from typing import Any

import pytest
from googleapiclient.errors import HttpError

from rapportd.connectors.sandbox.clients import google_service

ANA = "ana@example.com"


def raw(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode()


def test_profile_counts_and_history_id(gmail: Any, sandbox: Any) -> None:
    profile = gmail.users().getProfile(userId="me").execute()
    assert profile["emailAddress"] == ANA
    assert profile["messagesTotal"] == 32
    assert int(profile["historyId"]) == sandbox.mailbox(ANA).history_id
    assert isinstance(profile["historyId"], str)


def test_list_pages_newest_first_and_hides_spam(gmail: Any) -> None:
    seen: list[str] = []
    request = gmail.users().messages().list(userId="me", maxResults=7)
    pages = 0
    while request is not None:
        page = request.execute()
        pages += 1
        assert page["resultSizeEstimate"] == 31  # the SPAM message is not listed
        seen += [m["id"] for m in page.get("messages", [])]
        request = gmail.users().messages().list_next(request, page)
    assert pages == 5 and len(seen) == len(set(seen)) == 31
    dates = [
        int(
            gmail.users()
            .messages()
            .get(userId="me", id=i, format="minimal")
            .execute()["internalDate"]
        )
        for i in seen[:5]
    ]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("newer_than:10d", 5),  # days_ago 0.5, 3.5, 6.5, 9.5 + the SENT reply
        ("in:sent", 1),
        ("label:INBOX newer_than:7d", 3),
        ("after:2026/11/01 before:2026/11/20", 6),
        ("in:spam", 1),
        ("-in:sent newer_than:4d", 2),
    ],
)
def test_query_subset(gmail: Any, q: str, expected: int) -> None:
    page = gmail.users().messages().list(userId="me", q=q).execute()
    assert page["resultSizeEstimate"] == expected
    assert len(page.get("messages", [])) == expected


def test_message_formats(gmail: Any) -> None:
    mid = gmail.users().messages().list(userId="me", q="in:sent").execute()["messages"][0]["id"]
    meta = (
        gmail.users()
        .messages()
        .get(userId="me", id=mid, format="metadata", metadataHeaders=["Subject", "In-Reply-To"])
        .execute()
    )
    names = [h["name"] for h in meta["payload"]["headers"]]
    assert names == ["Subject", "In-Reply-To"]
    assert meta["labelIds"] == ["SENT"] and meta["snippet"].startswith("Hello Ana")
    assert meta["internalDate"].isdigit() and meta["historyId"].isdigit()
    full = gmail.users().messages().get(userId="me", id=mid).execute()
    body = base64.urlsafe_b64decode(full["payload"]["body"]["data"])
    assert body.startswith(b"Hello Ana") and full["payload"]["partId"] == ""
    assert full["payload"]["body"]["size"] == len(body)
    rawmsg = gmail.users().messages().get(userId="me", id=mid, format="raw").execute()
    parsed = email.message_from_bytes(base64.urlsafe_b64decode(rawmsg["raw"]))
    assert parsed["Subject"] == "Re: Topic 0"
    minimal = gmail.users().messages().get(userId="me", id=mid, format="minimal").execute()
    assert "payload" not in minimal and minimal["sizeEstimate"] > 0


def test_multipart_payload_has_part_ids(server: Any, gmail: Any, sandbox: Any) -> None:
    mime = (
        "From: x@y.org\r\nTo: ana@example.com\r\nSubject: mp\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/alternative; boundary=BB\r\n\r\n--BB\r\n"
        "Content-Type: text/plain\r\n\r\nplain part\r\n--BB\r\nContent-Type: text/html\r\n\r\n"
        "<p>html part</p>\r\n--BB--\r\n"
    )
    msg = sandbox.mailbox(ANA).add_message(mime.encode())
    full = gmail.users().messages().get(userId="me", id=msg.id).execute()
    assert full["payload"]["mimeType"] == "multipart/alternative"
    assert [p["partId"] for p in full["payload"]["parts"]] == ["0", "1"]
    assert full["snippet"] == "plain part"


def test_threads_follow_references(gmail: Any) -> None:
    sent = gmail.users().messages().list(userId="me", q="in:sent").execute()["messages"][0]
    thread = (
        gmail.users().threads().get(userId="me", id=sent["threadId"], format="metadata").execute()
    )
    assert len(thread["messages"]) == 2
    assert thread["messages"][-1]["id"] == sent["id"]


def test_labels_list(gmail: Any) -> None:
    labels = {lab["id"] for lab in gmail.users().labels().list(userId="me").execute()["labels"]}
    assert {"INBOX", "SENT", "DRAFT", "SPAM", "TRASH", "CATEGORY_PROMOTIONS"} <= labels


def test_history_moves_on_every_change(gmail: Any, sandbox: Any, control: Any) -> None:
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    control.post(
        f"/accounts/{ANA}/deliver", json={"from": "dee@x.org", "subject": "new", "body": "hi"}
    ).raise_for_status()
    draft = (
        gmail.users()
        .drafts()
        .create(
            userId="me",
            body={
                "message": {
                    "raw": raw("To: bob@partner.org\r\nSubject: d\r\nX-Rapportd-Id: k1\r\n\r\nbody")
                }
            },
        )
        .execute()
    )
    gmail.users().drafts().delete(userId="me", id=draft["id"]).execute()
    hist = gmail.users().history().list(userId="me", startHistoryId=start).execute()
    kinds = [k for h in hist["history"] for k in h if k not in ("id", "messages")]
    assert kinds == ["messagesAdded", "messagesAdded", "messagesDeleted"]
    ids = [int(h["id"]) for h in hist["history"]]
    assert ids == sorted(ids) and ids[0] > int(start)
    assert hist["historyId"] == str(ids[-1])
    only_added = (
        gmail.users()
        .history()
        .list(userId="me", startHistoryId=start, historyTypes=["messageDeleted"])
        .execute()
    )
    assert len(only_added["history"]) == 1
    empty = gmail.users().history().list(userId="me", startHistoryId=hist["historyId"]).execute()
    assert "history" not in empty and empty["historyId"] == hist["historyId"]


def test_history_404_past_the_horizon(gmail: Any, sandbox: Any, control: Any) -> None:
    start = gmail.users().getProfile(userId="me").execute()["historyId"]
    control.post(f"/accounts/{ANA}/deliver", json={"from": "dee@x.org", "body": "x"})
    gmail.users().history().list(userId="me", startHistoryId=start).execute()
    control.post("/clock/advance", json={"hours": 169}).raise_for_status()
    control.post(f"/accounts/{ANA}/deliver", json={"from": "dee@x.org", "body": "y"})
    with pytest.raises(HttpError) as err:
        gmail.users().history().list(userId="me", startHistoryId=start).execute()
    assert err.value.resp.status == 404
    fresh = gmail.users().getProfile(userId="me").execute()["historyId"]
    assert (
        "history" not in gmail.users().history().list(userId="me", startHistoryId=fresh).execute()
    )


def test_drafts_lifecycle(gmail: Any, sandbox: Any) -> None:
    parent = gmail.users().messages().list(userId="me", maxResults=1).execute()["messages"][0]
    body = {
        "message": {
            "threadId": parent["threadId"],
            "raw": raw(
                "To: bob@partner.org\r\nSubject: Re: Topic 0\r\nIn-Reply-To: <m0@partner.org>\r\n"
                "X-Rapportd-Id: sugg-1\r\n\r\nThanks!"
            ),
        }
    }
    created = gmail.users().drafts().create(userId="me", body=body).execute()
    assert created["id"].startswith("r") and created["message"]["labelIds"] == ["DRAFT"]
    assert created["message"]["threadId"] == parent["threadId"]
    again = gmail.users().drafts().create(userId="me", body=body).execute()
    assert again["id"] != created["id"]  # no idempotency: two drafts
    listed = gmail.users().drafts().list(userId="me").execute()
    assert listed["resultSizeEstimate"] == 2
    got = gmail.users().drafts().get(userId="me", id=created["id"], format="full").execute()
    headers = {h["name"]: h["value"] for h in got["message"]["payload"]["headers"]}
    assert headers["X-Rapportd-Id"] == "sugg-1"
    updated = (
        gmail.users()
        .drafts()
        .update(
            userId="me",
            id=created["id"],
            body={"message": {"raw": raw("To: bob@partner.org\r\nSubject: Re: Topic 0\r\n\r\nv2")}},
        )
        .execute()
    )
    assert updated["id"] == created["id"]
    assert updated["message"]["id"] != created["message"]["id"]
    gmail.users().drafts().delete(userId="me", id=again["id"]).execute()
    with pytest.raises(HttpError) as err:
        gmail.users().drafts().get(userId="me", id=again["id"]).execute()
    assert err.value.resp.status == 404
    err_body = err.value.error_details
    assert err_body and err_body[0]["reason"] == "notFound"


def test_readonly_scope_cannot_write_drafts(server: Any, make_creds: Any) -> None:
    creds = make_creds(scopes=["https://www.googleapis.com/auth/gmail.readonly"])
    gmail = google_service("gmail", server.base_url, creds)
    gmail.users().messages().list(userId="me").execute()
    with pytest.raises(HttpError) as err:
        gmail.users().drafts().create(
            userId="me", body={"message": {"raw": raw("Subject: x\r\n\r\ny")}}
        ).execute()
    assert err.value.resp.status == 403
    assert err.value.error_details[0]["reason"] == "insufficientPermissions"


def test_other_user_id_is_denied_and_accounts_are_separate(server: Any, make_creds: Any) -> None:
    carl = google_service("gmail", server.base_url, make_creds("carl@example.com"))
    assert carl.users().getProfile(userId="me").execute()["messagesTotal"] == 0
    with pytest.raises(HttpError) as err:
        carl.users().messages().list(userId=ANA).execute()
    assert err.value.resp.status == 403


def test_media_upload_draft(gmail: Any, sandbox: Any) -> None:
    from googleapiclient.http import MediaInMemoryUpload

    media = MediaInMemoryUpload(
        b"To: bob@partner.org\r\nSubject: up\r\n\r\nuploaded", mimetype="message/rfc822"
    )
    created = gmail.users().drafts().create(userId="me", body={}, media_body=media).execute()
    msg = sandbox.mailbox(ANA).messages[created["message"]["id"]]
    assert msg.header("Subject") == "up"


def test_served_over_tls(sandbox: Any) -> None:
    import google_auth_httplib2
    import httplib2

    from rapportd.connectors.sandbox.clients import google_credentials
    from rapportd.connectors.sandbox.server import running_sandbox

    access, refresh = sandbox.issue_tokens(ANA, ["gmail.readonly"])
    with running_sandbox(sandbox, tls=True) as handle:
        assert handle.base_url.startswith("https://localhost:") and handle.ca_file
        creds = google_credentials(handle.base_url, access, refresh)
        http = google_auth_httplib2.AuthorizedHttp(
            creds, http=httplib2.Http(ca_certs=handle.ca_file)
        )
        gmail = google_service("gmail", handle.base_url, None, http=http)
        assert gmail.users().getProfile(userId="me").execute()["emailAddress"] == ANA
