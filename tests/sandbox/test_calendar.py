"""Calendar v3 contract tests: googleapiclient from the bundled discovery document."""

from __future__ import annotations

from typing import Any

import pytest
from googleapiclient.errors import HttpError

from rapportd.connectors.sandbox.clients import google_service

ANA = "ana@example.com"
HOLD_ID = "rapportdhold0001"


def hold(key: str = "sugg-1", event_id: str = HOLD_ID) -> dict[str, Any]:
    return {
        "id": event_id,
        "summary": "Hold: send the deck",
        "status": "tentative",
        "start": {"dateTime": "2026-11-26T15:00:00+01:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2026-11-26T15:30:00+01:00", "timeZone": "Europe/Paris"},
        "extendedProperties": {"private": {"rapportd": key}},
    }


def full_sync(calendar: Any, **kw: Any) -> tuple[list[dict[str, Any]], str]:
    items: list[dict[str, Any]] = []
    request = calendar.events().list(calendarId="primary", singleEvents=True, maxResults=3, **kw)
    while True:
        page = request.execute()
        items += page["items"]
        if "nextPageToken" not in page:
            return items, page["nextSyncToken"]
        request = calendar.events().list(
            calendarId="primary",
            singleEvents=True,
            maxResults=3,
            pageToken=page["nextPageToken"],
            **kw,
        )


def test_calendar_list_and_timezone(server: Any, calendar: Any, make_creds: Any) -> None:
    # as on Google, calendarList and settings need calendar(.readonly), not calendar.events
    with pytest.raises(HttpError) as err:
        calendar.calendarList().list().execute()
    assert err.value.resp.status == 403
    assert calendar.events().list(calendarId="primary").execute()["timeZone"] == "Europe/Paris"
    calendar = google_service(
        "calendar",
        server.base_url,
        make_creds(scopes=["https://www.googleapis.com/auth/calendar.readonly"]),
    )
    entries = calendar.calendarList().list().execute()["items"]
    assert entries[0]["id"] == ANA and entries[0]["primary"] is True
    setting = calendar.settings().get(setting="timezone").execute()
    assert setting["value"] == "Europe/Paris"


def test_window_paging_and_wire_format(calendar: Any) -> None:
    items, token = full_sync(
        calendar,
        timeMin="2026-11-12T00:00:00Z",
        timeMax="2026-11-16T00:00:00Z",
        orderBy="startTime",
    )
    assert [e["summary"] for e in items] == ["Meeting 2", "Meeting 3", "Meeting 4", "Meeting 5"]
    first = items[0]
    assert first["start"] == {"dateTime": "2026-11-12T09:00:00+01:00", "timeZone": "Europe/Paris"}
    assert first["organizer"]["email"] == "bob@partner.org"
    me = next(a for a in first["attendees"] if a["email"] == ANA)
    assert me["self"] is True and me["responseStatus"] == "accepted"
    assert token


def test_sync_token_deltas_include_cancellations(calendar: Any, control: Any) -> None:
    _, token = full_sync(calendar)
    inserted = (
        calendar.events().insert(calendarId="primary", body=hold(), sendUpdates="none").execute()
    )
    assert inserted["status"] == "tentative" and inserted["id"] == HOLD_ID
    calendar.events().delete(calendarId="primary", eventId="evt0001").execute()
    page = calendar.events().list(calendarId="primary", syncToken=token).execute()
    by_id = {e["id"]: e for e in page["items"]}
    assert set(by_id) == {HOLD_ID, "evt0001"}
    assert by_id["evt0001"]["status"] == "cancelled"
    again = calendar.events().list(calendarId="primary", syncToken=page["nextSyncToken"]).execute()
    assert again["items"] == []
    control.post(f"/accounts/{ANA}/holds/{HOLD_ID}/accept").raise_for_status()
    accepted = (
        calendar.events()
        .list(calendarId="primary", syncToken=again["nextSyncToken"])
        .execute()["items"]
    )
    assert [(e["id"], e["status"]) for e in accepted] == [(HOLD_ID, "confirmed")]


def test_expired_sync_token_is_410(calendar: Any, control: Any) -> None:
    _, token = full_sync(calendar)
    control.post(f"/accounts/{ANA}/expire-sync-tokens").raise_for_status()
    with pytest.raises(HttpError) as err:
        calendar.events().list(calendarId="primary", syncToken=token).execute()
    assert err.value.resp.status == 410
    assert err.value.error_details[0]["reason"] == "fullSyncRequired"
    items, _ = full_sync(calendar)
    assert len(items) == 8


def test_sync_token_cannot_be_combined_with_time_min(calendar: Any) -> None:
    _, token = full_sync(calendar)
    with pytest.raises(HttpError) as err:
        calendar.events().list(
            calendarId="primary", syncToken=token, timeMin="2026-11-01T00:00:00Z"
        ).execute()
    assert err.value.resp.status == 400


def test_client_chosen_id_conflict_and_validation(calendar: Any) -> None:
    calendar.events().insert(calendarId="primary", body=hold()).execute()
    with pytest.raises(HttpError) as err:
        calendar.events().insert(calendarId="primary", body=hold()).execute()
    assert err.value.resp.status == 409
    with pytest.raises(HttpError) as bad:
        calendar.events().insert(calendarId="primary", body=hold(event_id="Not-Base32!")).execute()
    assert bad.value.resp.status == 400


def test_private_extended_property_filter_get_patch_delete(calendar: Any) -> None:
    calendar.events().insert(calendarId="primary", body=hold("k-a", "holdaaaaa1")).execute()
    calendar.events().insert(calendarId="primary", body=hold("k-b", "holdbbbbb1")).execute()
    found = (
        calendar.events()
        .list(calendarId="primary", privateExtendedProperty="rapportd=k-b")
        .execute()["items"]
    )
    assert [e["id"] for e in found] == ["holdbbbbb1"]
    patched = (
        calendar.events()
        .patch(calendarId="primary", eventId="holdbbbbb1", body={"summary": "Hold: renamed"})
        .execute()
    )
    assert patched["summary"] == "Hold: renamed" and patched["status"] == "tentative"
    assert patched["extendedProperties"]["private"]["rapportd"] == "k-b"
    assert patched["sequence"] == 1
    calendar.events().delete(calendarId="primary", eventId="holdbbbbb1").execute()
    gone = calendar.events().get(calendarId="primary", eventId="holdbbbbb1").execute()
    assert gone["status"] == "cancelled"
    with pytest.raises(HttpError) as err:
        calendar.events().delete(calendarId="primary", eventId="holdbbbbb1").execute()
    assert err.value.resp.status == 410
    with pytest.raises(HttpError) as missing:
        calendar.events().get(calendarId="primary", eventId="nosuchevent").execute()
    assert missing.value.resp.status == 404


def test_freebusy_merges_busy_and_needs_scope(server: Any, calendar: Any, make_creds: Any) -> None:
    calendar.events().insert(
        calendarId="primary",
        body={
            **hold(),
            "start": {"dateTime": "2026-11-13T09:30:00+01:00"},
            "end": {"dateTime": "2026-11-13T11:00:00+01:00"},
        },
    ).execute()
    body = {
        "timeMin": "2026-11-13T00:00:00Z",
        "timeMax": "2026-11-14T00:00:00Z",
        "items": [{"id": "primary"}, {"id": "someone@else.org"}],
    }
    answer = calendar.freebusy().query(body=body).execute()
    assert answer["calendars"]["primary"]["busy"] == [
        {"start": "2026-11-13T08:00:00Z", "end": "2026-11-13T10:00:00Z"}
    ]
    assert answer["calendars"]["someone@else.org"]["errors"][0]["reason"] == "notFound"
    events_only = google_service(
        "calendar",
        server.base_url,
        make_creds(scopes=["https://www.googleapis.com/auth/calendar.events"]),
    )
    with pytest.raises(HttpError) as err:
        events_only.freebusy().query(body=body).execute()
    assert err.value.resp.status == 403


def test_person_moves_and_deletes_a_hold(calendar: Any, control: Any) -> None:
    calendar.events().insert(calendarId="primary", body=hold()).execute()
    control.post(f"/accounts/{ANA}/holds/{HOLD_ID}/move", json={"hours": 1}).raise_for_status()
    moved = calendar.events().get(calendarId="primary", eventId=HOLD_ID).execute()
    assert moved["start"]["dateTime"] == "2026-11-26T16:00:00+01:00"
    control.delete(f"/accounts/{ANA}/holds/{HOLD_ID}").raise_for_status()
    found = (
        calendar.events()
        .list(calendarId="primary", privateExtendedProperty="rapportd=sugg-1")
        .execute()
    )
    assert found["items"] == []
