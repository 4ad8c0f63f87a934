"""schemathesis over the API's OpenAPI schema, against the ASGI app, signed in as an owner
with its CSRF header: no request it generates may end in a 5xx. Bounded examples."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import sessionmaker

from rapportd.agent.core.settings import Settings
from rapportd.agent.web.app import create_app

from .conftest import World, sign_in


class CurrentApp:
    """An ASGI app that forwards to the app of the running test, so the schema can be
    loaded at import (schemathesis' lazy ``from_fixture`` does not work with pytest 9)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


_schema_only = create_app(
    Settings(secret_key=SecretStr("schema-only")),
    sessionmaker(),  # no database touched
)
CURRENT = CurrentApp(_schema_only)
schema = schemathesis.openapi.from_asgi("/api/openapi.json", CURRENT)


@pytest.fixture
def routed_to_world(world: World) -> Iterator[None]:
    CURRENT.app = world.app
    yield
    CURRENT.app = _schema_only


@pytest.fixture
def credentials(world: World) -> tuple[dict[str, str], dict[str, str]]:
    with TestClient(world.app, base_url="http://127.0.0.1") as client:
        token = sign_in(client, world.a.email)
        cookie = client.cookies.get("rapportd_session")
    assert cookie
    return {"rapportd_session": cookie}, {"X-CSRF-Token": token}


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_never_answers_5xx(
    case: schemathesis.Case,
    credentials: tuple[dict[str, str], dict[str, str]],
    routed_to_world: None,
) -> None:
    cookies, headers = credentials
    response = case.call(cookies=cookies, headers=headers)
    assert response.status_code < 500, response.text[:500]
    case.validate_response(response, checks=[not_a_server_error])


def test_schema_lists_the_actions(world: World) -> None:
    with TestClient(world.app) as client:
        paths = client.get("/api/openapi.json").json()["paths"]
    for verb in ("accept", "edit", "snooze", "dismiss"):
        assert f"/api/suggestions/{{suggestion_id}}/{verb}" in paths
    assert {"/api/contacts", "/api/accounts", "/api/settings", "/api/me"} <= set(paths)
    assert not [p for p in paths if not p.startswith("/api/")]  # pages stay out of the schema
