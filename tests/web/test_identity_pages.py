"""The owner sees on the web who rapportd thinks they are and who is one person, with the
evidence, and corrects it (the CLI's `rapportd identity` / `rapportd people`)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select

from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Contact, ContactDecision, Owner

from .conftest import World


def _identity(world: World) -> None:
    with transaction(world.sessions) as db:
        owner = db.get(Owner, world.a.owner_id)
        assert owner is not None
        owner.identity = {
            "name": "Alice Moreau",
            "sign_off": "Ali",
            "reasons": {
                "alice@example.com": ["the account's own address"],
                "amoreau@example.com": ["mail the provider marked as sent came from it"],
            },
        }
        owner.analysis_due_at = None


def _decisions(world: World) -> list[tuple[str, str, str]]:
    with world.sessions() as db:
        rows = db.scalars(
            select(ContactDecision).where(ContactDecision.owner_id == world.a.owner_id)
        ).all()
        return [(r.decision, r.address_a, r.address_b) for r in rows]


def _due(world: World) -> bool:
    with world.sessions() as db:
        owner = db.get(Owner, world.a.owner_id)
        return owner is not None and owner.analysis_due_at is not None


def test_settings_show_the_owners_addresses_with_their_evidence(
    world: World, client_a: tuple[TestClient, str]
) -> None:
    client, _token = client_a
    _identity(world)
    html = client.get("/settings").text
    assert "amoreau@example.com" in html
    assert "mail the provider marked as sent came from it" in html
    assert "You sign as “Ali”" in html


def test_not_mine_is_recorded_asks_for_analysis_and_can_be_undone(
    world: World, client_a: tuple[TestClient, str]
) -> None:
    client, token = client_a
    _identity(world)
    r = client.post(
        "/settings/identity",
        data={"decision": "not_me", "address": "AMoreau@example.com", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _decisions(world) == [("not_me", "amoreau@example.com", "")]
    assert _due(world)
    html = client.get("/settings").text
    assert "amoreau@example.com is not yours" in html
    with world.sessions() as db:
        (decision_id,) = db.scalars(select(ContactDecision.id)).all()
    r = client.post(
        f"/settings/decisions/{decision_id}/undo",
        data={"csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _decisions(world) == []


def test_an_address_of_ones_own_can_be_added_and_bad_ones_are_refused(
    world: World, client_a: tuple[TestClient, str]
) -> None:
    client, token = client_a
    r = client.post(
        "/settings/identity",
        data={"decision": "me", "address": "alice@old-job.example", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _decisions(world) == [("me", "alice@old-job.example", "")]
    bad = client.post(
        "/settings/identity",
        data={"decision": "me", "address": "not an address", "csrf_token": token},
    )
    assert bad.status_code == 422
    assert "give an e-mail address" in bad.text
    other = client.post(
        "/settings/identity",
        data={"decision": "merge", "address": "x@y.example", "csrf_token": token},
    )
    assert other.status_code == 422
    assert len(_decisions(world)) == 1


def test_a_correction_needs_the_csrf_token_and_is_the_owners_own(
    world: World, client_a: tuple[TestClient, str], client_b: tuple[TestClient, str]
) -> None:
    client, token = client_a
    r = client.post("/settings/identity", data={"decision": "me", "address": "a@b.example"})
    assert r.status_code == 403
    client.post(
        "/settings/identity",
        data={"decision": "me", "address": "a@b.example", "csrf_token": token},
    )
    with world.sessions() as db:
        (decision_id,) = db.scalars(select(ContactDecision.id)).all()
    bob, bob_token = client_b
    r = bob.post(f"/settings/decisions/{decision_id}/undo", data={"csrf_token": bob_token})
    assert r.status_code == 404
    assert len(_decisions(world)) == 1


def test_a_contact_page_shows_a_merge_with_its_evidence_and_splits_it(
    world: World, client_a: tuple[TestClient, str]
) -> None:
    client, token = client_a
    ana = world.a.contacts["ana"]
    with transaction(world.sessions) as db:
        contact = db.get(Contact, ana)
        assert contact is not None
        contact.analysis = {
            **(contact.analysis or {}),
            "addresses": ["ana@client.example", "ana.lima@home.example"],
            "merged": ["ana.lima@home.example: the same display name, Ana Lima"],
            "greeting": {"name": "Ana", "source": "display name"},
        }
    html = client.get(f"/contacts/{ana}").text
    assert "Counted as one person" in html
    assert "the same display name, Ana Lima" in html
    assert "Greeted as" in html
    r = client.post(
        f"/contacts/{ana}/split",
        data={"address": "ana.lima@home.example", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert _decisions(world) == [("split", "ana.lima@home.example", "ana@client.example")]
    assert _due(world)
    # only an address of this person can be split off
    r = client.post(
        f"/contacts/{ana}/split", data={"address": "zed@else.example", "csrf_token": token}
    )
    assert r.status_code == 422
