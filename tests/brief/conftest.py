from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from suggest.builders import Store

from rapportd.agent.core.settings import Settings, load_settings


@pytest.fixture
def settings() -> Settings:
    return load_settings()


@pytest.fixture
def session(sqlite_engine: Engine) -> Iterator[Session]:
    from rapportd.agent.store.db import session_factory

    factory: sessionmaker[Session] = session_factory(sqlite_engine)
    with factory() as s:
        yield s


@pytest.fixture
def store(session: Session) -> Store:
    st = Store(session)
    session.commit()
    return st
