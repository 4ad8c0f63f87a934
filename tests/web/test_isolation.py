"""Tenant isolation and CSRF, over every route the app has (enumerated, so a new route is
covered the day it is added)."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from rapportd.agent.store.models import (
    ContactDecision,
    Feedback,
    Mute,
    OutboxOperation,
    Owner,
    Suggestion,
)
from rapportd.agent.web.app import api_routes
from rapportd.agent.web.csrf import require_csrf

from .conftest import World, csrf_from

ID_PARAMS = {"suggestion_id", "contact_id", "account_id", "mute_id", "decision_id"}
OTHER_PARAMS = {"provider", "kind"}  # not ids of rows: nothing to leak
WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CSRF_EXEMPT = {"/accounts/oauth/{provider}/callback"}  # GET; the OAuth state is its defence


def routes(world: World) -> list[APIRoute]:
    found = api_routes(world.app)
    assert len(found) > 30
    return found


def params_of(path: str) -> set[str]:
    return set(re.findall(r"{(\w+)(?::\w+)?}", path))


def ids_of(world: World, owner: str) -> dict[str, list[int]]:
    seeded = world.a if owner == "a" else world.b
    return {
        "suggestion_id": list(seeded.suggestions.values()),
        "contact_id": list(seeded.contacts.values()),
        "account_id": [seeded.account_id],
        "mute_id": [mute_of(world, seeded.owner_id)],
        "decision_id": [decision_of(world, seeded.owner_id)],
    }


def decision_of(world: World, owner_id: int) -> int:
    """A correction of this owner's ("x is not mine"), made once."""
    with world.sessions() as db, db.begin():
        found = db.scalar(select(ContactDecision.id).where(ContactDecision.owner_id == owner_id))
        if found is None:
            row = ContactDecision(
                owner_id=owner_id, decision="not_me", address_a=f"x{owner_id}@y.example"
            )
            row.address_b = ""
            db.add(row)
            db.flush()
            found = row.id
        return found


def mute_of(world: World, owner_id: int) -> int:
    """A "never for this person" of this owner (made once)."""
    with world.sessions() as db, db.begin():
        found = db.scalar(select(Mute.id).where(Mute.owner_id == owner_id))
        if found is None:
            row = Mute(owner_id=owner_id, kind="check_in", address=f"someone{owner_id}@x.example")
            db.add(row)
            db.flush()
            found = row.id
        return found


def fill(path: str, param: str, value: int) -> str:
    return re.sub(r"{" + param + r"(?::\w+)?}", str(value), path)


def send(client: TestClient, method: str, url: str, token: str | None) -> int:
    headers = {"X-CSRF-Token": token} if token else {}
    if url.startswith("/api/"):
        body = {"body": "hijacked", "days": 3}
        r = client.request(method, url, json=body, headers=headers)
    else:
        form = {"body": "hijacked", "until": "2099-01-01"}
        r = client.request(method, url, data=form, headers=headers, follow_redirects=False)
    return r.status_code


def test_every_path_parameter_is_known(world: World) -> None:
    for r in routes(world):
        unknown = params_of(r.path) - ID_PARAMS - OTHER_PARAMS
        assert not unknown, f"{r.path}: add {unknown} to the isolation test"


def snapshot(world: World, owner_id: int) -> tuple[object, ...]:
    with world.sessions() as db:
        statuses = tuple(
            db.execute(
                select(Suggestion.id, Suggestion.status, Suggestion.body)
                .where(Suggestion.owner_id == owner_id)
                .order_by(Suggestion.id)
            ).all()
        )
        ops = db.scalar(
            select(func.count())
            .select_from(OutboxOperation)
            .where(OutboxOperation.owner_id == owner_id)
        )
        fb = db.scalar(
            select(func.count()).select_from(Feedback).where(Feedback.owner_id == owner_id)
        )
        owner = db.get(Owner, owner_id)
        assert owner is not None
        mutes = db.scalar(select(func.count()).select_from(Mute).where(Mute.owner_id == owner_id))
        return statuses, ops, fb, repr(owner.preferences), mutes


def test_owner_b_gets_404_for_every_owner_a_id(
    world: World, client_b: tuple[TestClient, str]
) -> None:
    client, token = client_b
    a_ids = ids_of(world, "a")
    before = snapshot(world, world.a.owner_id)
    checked = 0
    for r in routes(world):
        id_params = params_of(r.path) & ID_PARAMS
        if not id_params:
            continue
        (param,) = id_params
        for value in a_ids[param]:
            url = fill(r.path, param, value)
            for method in sorted(r.methods):
                status = send(client, method, url, token if method in WRITE_METHODS else None)
                assert status == 404, f"{method} {url} as owner B answered {status}"
                checked += 1
    assert checked >= 40
    assert snapshot(world, world.a.owner_id) == before


def test_owner_b_listings_hold_nothing_of_owner_a(
    world: World, client_b: tuple[TestClient, str]
) -> None:
    client, _ = client_b
    a_ids = ids_of(world, "a")
    for url, key in (
        ("/api/suggestions?view=inbox", "suggestion_id"),
        ("/api/contacts", "contact_id"),
        ("/api/accounts", "account_id"),
    ):
        got = {row["id"] for row in client.get(url).json()}
        assert got and not got & set(a_ids[key])
    for page in ("/suggestions", "/suggestions?view=done", "/contacts", "/accounts"):
        html = client.get(page).text
        assert "alice@example.com" not in html and "Alice Moreau" not in html


def test_owner_a_still_reaches_own_rows(world: World, client_a: tuple[TestClient, str]) -> None:
    client, _ = client_a
    for r in routes(world):
        id_params = params_of(r.path) & ID_PARAMS
        if not id_params or "GET" not in r.methods:
            continue
        (param,) = id_params
        for value in ids_of(world, "a")[param]:
            assert client.get(fill(r.path, param, value)).status_code == 200


def test_every_state_changing_route_requires_csrf(world: World) -> None:
    for r in routes(world):
        if not r.methods & WRITE_METHODS:
            continue
        calls = {d.call for d in r.dependant.dependencies}
        assert require_csrf in calls, f"{r.path} lacks require_csrf"
    exempt = {r.path for r in routes(world) if r.path in CSRF_EXEMPT}
    assert exempt == CSRF_EXEMPT  # the one GET that changes state exists, and is only a GET


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_post_without_valid_csrf_is_refused(
    world: World, client_a: tuple[TestClient, str], token: str | None
) -> None:
    client, _ = client_a
    a_ids = ids_of(world, "a")
    before = snapshot(world, world.a.owner_id)
    for r in routes(world):
        if not r.methods & WRITE_METHODS:
            continue
        id_params = params_of(r.path) & ID_PARAMS
        url = r.path
        for p in id_params:
            url = fill(url, p, a_ids[p][0])
        url = url.replace("{provider}", "google").replace("{kind}", "check_in")
        for method in r.methods & WRITE_METHODS:
            status = send(client, method, url, token)
            assert status == 403, f"{method} {url} without a valid CSRF token answered {status}"
    assert snapshot(world, world.a.owner_id) == before


def test_login_without_csrf_is_refused(world: World) -> None:
    with TestClient(world.app) as client:
        from .seed import PASSWORD

        r = client.post("/login", data={"email": world.a.email, "password": PASSWORD})
        assert r.status_code == 403
        page = client.get("/login")
        r = client.post(
            "/login",
            data={
                "email": world.a.email,
                "password": PASSWORD,
                "csrf_token": csrf_from(page.text) + "x",
            },
        )
        assert r.status_code == 403
        assert client.get("/api/me").status_code == 401


def test_open_redirect_after_sign_in_is_refused(world: World) -> None:
    from .seed import PASSWORD

    with TestClient(world.app) as client:
        page = client.get("/login")
        r = client.post(
            "/login",
            data={
                "email": world.a.email,
                "password": PASSWORD,
                "csrf_token": csrf_from(page.text),
                "next": "//evil.example/x",
            },
            follow_redirects=False,
        )
        assert r.status_code == 303 and r.headers["location"] == "/suggestions"


def test_bulk_and_undo_never_reach_another_owner(
    world: World, client_a: tuple[TestClient, str], client_b: tuple[TestClient, str]
) -> None:
    """Ids in a bulk form are looked up with the owner like ids in a path; undo undoes only
    the signed-in owner's own last action."""
    a, a_token = client_a
    b, b_token = client_b
    a_ids = ids_of(world, "a")["suggestion_id"]
    # A acts (an undoable action of A's), then B tries A's ids and A's undo
    a.post(
        f"/suggestions/{a_ids[0]}/dismiss",
        data={"csrf_token": a_token},
        follow_redirects=False,
    )
    before = snapshot(world, world.a.owner_id)
    for action in ("accept", "dismiss"):
        r = b.post(
            "/suggestions/bulk",
            data={"csrf_token": b_token, "action": action, "ids": a_ids},
            follow_redirects=False,
        )
        assert r.status_code == 404, (action, r.status_code)
    r = b.post("/suggestions/undo", data={"csrf_token": b_token}, follow_redirects=False)
    assert r.status_code == 409  # B has nothing to undo; A's action stays
    assert snapshot(world, world.a.owner_id) == before
