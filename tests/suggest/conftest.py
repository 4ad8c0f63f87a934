from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.settings import Settings, load_settings

from .builders import Store
from .fakes import FakeConnector


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def factory(sqlite_engine: Engine) -> sessionmaker[Session]:
    from rapportd.agent.store.db import session_factory

    return session_factory(sqlite_engine)


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    with factory() as s:
        yield s


@pytest.fixture
def store(session: Session) -> Store:
    st = Store(session)
    session.commit()
    return st


@pytest.fixture
def fake() -> FakeConnector:
    return FakeConnector()
