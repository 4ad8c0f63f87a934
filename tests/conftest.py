"""Shared fixtures: isolated settings, SQLite and PostgreSQL stores, service URLs.

Services (PostgreSQL, Redis, RabbitMQ) are read from ``RAPPORTD_TEST_POSTGRES_URL``,
``RAPPORTD_TEST_REDIS_URL`` and ``RAPPORTD_TEST_RABBITMQ_URL`` (defaults: this machine's
local services). A missing service skips its tests with a reason on a laptop, and fails
them when ``CI=true``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock
from rapportd.agent.core.settings import get_settings
from rapportd.agent.store.db import make_engine, session_factory, upgrade

POSTGRES_URL = os.environ.get(
    "RAPPORTD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("RAPPORTD_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RABBITMQ_URL = os.environ.get("RAPPORTD_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", help="also run tests marked slow")
    parser.addoption(
        "--held-at",
        metavar="INSTANT",
        help="hold the process's clock at this aware ISO instant (ticking) for the whole run,"
        " e.g. 2026-12-05T23:50:00+00:00: finds tests that pass only at some times of day"
        " (make sweep)",
    )


def pytest_configure(config: pytest.Config) -> None:
    held_at = config.getoption("--held-at")
    if held_at:
        try:
            clock.configure(datetime.fromisoformat(held_at))
        except ValueError as exc:
            raise pytest.UsageError(f"--held-at {held_at!r}: {exc}") from None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --run-slow (make reliability)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def service_missing(name: str, url: str) -> None:
    """Skip (laptop) or fail (CI) because the service at ``url`` cannot be reached."""
    message = f"{name} not reachable at {urlsplit(url)._replace(netloc=urlsplit(url).hostname or '').geturl()}"
    if ON_CI:
        pytest.fail(f"{message}, and CI=true requires it", pytrace=False)
    pytest.skip(message)


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection(
            (parts.hostname or "127.0.0.1", parts.port or default_port), 2
        ):
            return True
    except OSError:
        return False


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own data dir and no stray RAPPORTD_* from the environment."""
    for key in list(os.environ):
        if key.startswith("RAPPORTD_") and not key.startswith("RAPPORTD_TEST_"):
            monkeypatch.delenv(key)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("RAPPORTD_DATA_DIR", str(data_dir))
    get_settings.cache_clear()
    yield data_dir
    get_settings.cache_clear()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite3'}"


@pytest.fixture
def sqlite_engine(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    if not reachable(POSTGRES_URL, 5432):
        service_missing("PostgreSQL", POSTGRES_URL)
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    admin = make_engine(postgres_server_url, isolation_level="AUTOCOMMIT")
    name = f"rapportd_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_engine(postgres_server_url).url.set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgres_engine(postgres_url: str) -> Iterator[Engine]:
    engine = make_engine(postgres_url)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine(request: pytest.FixtureRequest) -> Engine:
    """A migrated store on SQLite and on PostgreSQL."""
    name = "sqlite_engine" if request.param == "sqlite" else "postgres_engine"
    return request.getfixturevalue(name)


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


@pytest.fixture
def redis_url() -> str:
    if not reachable(REDIS_URL, 6379):
        service_missing("Redis", REDIS_URL)
    return REDIS_URL


@pytest.fixture
def rabbitmq_url() -> str:
    if not reachable(RABBITMQ_URL, 5672):
        service_missing("RabbitMQ", RABBITMQ_URL)
    return RABBITMQ_URL
