"""Fixtures for the web tests: a migrated SQLite store seeded with two owners, the app, and
signed-in test clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.settings import load_settings
from rapportd.agent.store.db import session_factory
from rapportd.agent.web.app import create_app

from .browser import launched_browser
from .seed import PASSWORD, Seeded, seed_owner


@dataclass
class World:
    app: FastAPI
    sessions: sessionmaker[Session]
    a: Seeded
    b: Seeded


@pytest.fixture
def world(sqlite_engine: Engine) -> World:
    factory = session_factory(sqlite_engine)
    a = seed_owner(factory, "alice@example.com", "Alice Moreau")
    b = seed_owner(
        factory, "bob@example.org", "Bob Stone", provider="microsoft", tz="America/New_York"
    )
    app = create_app(load_settings(), factory)
    return World(app, factory, a, b)


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF field on the page"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session's CSRF token."""
    page = client.get("/login")
    assert page.status_code == 200
    r = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    me = client.get("/api/me")
    assert me.status_code == 200
    token: str = me.json()["csrf_token"]
    return token


@pytest.fixture
def client_a(world: World) -> Iterator[tuple[TestClient, str]]:
    with TestClient(world.app, base_url="http://127.0.0.1") as client:
        yield client, sign_in(client, world.a.email)


@pytest.fixture
def client_b(world: World) -> Iterator[tuple[TestClient, str]]:
    with TestClient(world.app, base_url="http://127.0.0.1") as client:
        yield client, sign_in(client, world.b.email)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium per test process (Playwright on Debian's /usr/bin/chromium)."""
    with launched_browser() as b:
        yield b


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page; ``page.console_errors`` collects console errors
    and uncaught exceptions (CSP violations show up there)."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.console_errors = errors
    yield pg
    context.close()
