"""Meeting briefs on the web: GET /api/briefs and the "Coming up" section of the review
page, on the seeded store (Chloé was promised a revised proposal; a meeting with her is
added for tomorrow)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import CalendarEvent, Contact

from .conftest import World
from .seed import NOW


def _meeting(world: World, owner_id: int, account_id: int, chloe_id: int) -> int:
    with transaction(world.sessions) as db:
        chloe = db.get(Contact, chloe_id)
        assert chloe is not None
        ev = CalendarEvent(
            owner_id=owner_id,
            account_id=account_id,
            provider_id=f"brief-{account_id}",
            ical_uid=f"brief-{account_id}",
            start_at=NOW + timedelta(hours=20),
            end_at=NOW + timedelta(hours=21),
            summary="Proposal walkthrough",
            organizer="",
            organizer_is_self=True,
            self_response="accepted",
            attendees=[
                {"email": chloe.primary_address, "name": "Martin, Chloé", "response": "accepted"}
            ],
        )
        db.add(ev)
        db.flush()
        return ev.id


def test_api_serves_the_brief_with_evidence(world: World, client_a: tuple[TestClient, str]) -> None:
    client, _ = client_a
    mid = _meeting(world, world.a.owner_id, world.a.account_id, world.a.contacts["chloe"])
    r = client.get("/api/briefs")
    assert r.status_code == 200
    [brief] = [b for b in r.json() if b["meeting_id"] == mid]
    assert brief["title"] == "Proposal walkthrough"
    [who] = brief["attendees"]
    assert who["name"] == "Chloé Martin" and who["stage"] == "understanding"
    [promise] = brief["owner_promised"]
    assert promise["text"] == "I'll send you the revised proposal by Friday."
    assert promise["evidence"]["sentence"] == promise["text"]
    assert promise["evidence"]["link"].startswith("https://mail.google.com/")
    assert "revised proposal" in brief["suggestion"]["text"]
    one = client.get(f"/api/briefs?meeting={mid}")
    assert one.status_code == 200 and [b["meeting_id"] for b in one.json()] == [mid]


def test_another_owners_meeting_is_not_found(
    world: World, client_b: tuple[TestClient, str]
) -> None:
    client, _ = client_b
    mid = _meeting(world, world.a.owner_id, world.a.account_id, world.a.contacts["chloe"])
    assert client.get(f"/api/briefs?meeting={mid}").status_code == 404
    assert all(b["meeting_id"] != mid for b in client.get("/api/briefs").json())


def test_api_needs_a_session(world: World) -> None:
    with TestClient(world.app, base_url="http://127.0.0.1") as client:
        assert client.get("/api/briefs").status_code == 401


def test_review_page_shows_coming_up(world: World, client_a: tuple[TestClient, str]) -> None:
    client, _ = client_a
    page = client.get("/suggestions")
    assert 'id="coming-up"' not in page.text  # nothing to brief yet
    mid = _meeting(world, world.a.owner_id, world.a.account_id, world.a.contacts["chloe"])
    page = client.get("/suggestions")
    assert page.status_code == 200
    assert 'id="coming-up"' in page.text and f'id="brief-{mid}"' in page.text
    assert "Proposal walkthrough" in page.text
    assert "I&#39;ll send you the revised proposal by Friday." in page.text
    assert 'id="coming-up"' not in client.get("/suggestions?view=done").text


def test_prep_hold_setting_over_the_api(world: World, client_a: tuple[TestClient, str]) -> None:
    client, token = client_a
    assert client.get("/api/prep-holds").json()["enabled"] is False
    body = {"enabled": True, "minutes": 20, "min_size": 2, "kinds": ["one_off"]}
    assert client.put("/api/prep-holds", json=body).status_code == 403  # no CSRF token
    r = client.put("/api/prep-holds", json=body, headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["minutes"] == 20
    bad = client.put(
        "/api/prep-holds", json={**body, "kinds": ["weekly"]}, headers={"X-CSRF-Token": token}
    )
    assert bad.status_code == 422
    assert client.get("/api/prep-holds").json() == body


def test_a_failing_brief_leaves_the_review_page_serving(
    world: World, client_a: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapportd.agent.web import briefs

    def broken(*_a: object, **_k: object) -> list[object]:
        raise RuntimeError("boom")

    _meeting(world, world.a.owner_id, world.a.account_id, world.a.contacts["chloe"])
    monkeypatch.setattr(briefs, "load_briefs", broken)
    client, _ = client_a
    page = client.get("/suggestions")
    assert page.status_code == 200 and 'id="coming-up"' not in page.text


def test_briefs_are_built_once_until_what_they_read_changes(
    world: World, client_a: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The section is on every inbox load: the briefs are built again only after a sync, an
    analysis or a calendar change (or ten minutes), not on each load."""
    from rapportd.agent.web import briefs

    calls: list[int] = []
    real = briefs.load_briefs

    def counting(*a: Any, **k: Any) -> Any:
        calls.append(1)
        return real(*a, **k)

    monkeypatch.setattr(briefs, "load_briefs", counting)
    client, _ = client_a
    mid = _meeting(world, world.a.owner_id, world.a.account_id, world.a.contacts["chloe"])
    first = client.get("/suggestions").text
    second = client.get("/suggestions").text
    assert len(calls) == 1 and 'id="coming-up"' in first and 'id="coming-up"' in second
    with transaction(world.sessions) as db:  # the meeting moves (a sync updates its row)
        event = db.get(CalendarEvent, mid)
        assert event is not None and event.start_at is not None and event.end_at is not None
        event.start_at += timedelta(minutes=30)
        event.end_at += timedelta(minutes=30)
    client.get("/suggestions")
    assert len(calls) == 2


def test_prep_hold_setting_on_the_settings_page(
    world: World, client_a: tuple[TestClient, str]
) -> None:
    client, token = client_a
    page = client.get("/settings")
    assert 'id="prep"' in page.text and 'id="prep-enabled"' in page.text
    assert 'name="enabled" value="on" checked' not in page.text  # off until switched on
    form = {
        "csrf_token": token,
        "enabled": "on",
        "minutes": "25",
        "min_size": "3",
        "meeting_kinds": ["recurring"],
    }
    r = client.post("/settings/prep-holds", data=form, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/prep-holds").json() == {
        "enabled": True,
        "minutes": 25,
        "min_size": 3,
        "kinds": ["recurring"],
    }
    with transaction(world.sessions) as db:
        from rapportd.agent.store.models import Owner

        owner = db.get(Owner, world.a.owner_id)
        assert owner is not None and owner.analysis_due_at is not None  # the plan comes soon
    page = client.get("/settings")
    assert 'name="enabled" value="on" checked' in page.text and 'value="25"' in page.text
    bad = client.post("/settings/prep-holds", data={**form, "minutes": "500"})
    assert bad.status_code == 422 and "minutes" in bad.text and 'value="500"' in bad.text
    assert client.get("/api/prep-holds").json()["minutes"] == 25  # nothing saved
    no_token = client.post("/settings/prep-holds", data={**form, "csrf_token": ""})
    assert no_token.status_code == 403
    off = client.post("/settings/prep-holds", data={"csrf_token": token, "minutes": "25"})
    assert off.status_code == 200 and client.get("/api/prep-holds").json()["enabled"] is False
