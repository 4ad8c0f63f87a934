"""Fixtures of the daemon's tests: a runtime with stand-in parts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.settings import get_settings
from rapportd.jobs import runtime
from rapportd.jobs.runtime import Parts, Runtime

from .helpers import Recorder


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def make_runtime(
    sessions: sessionmaker[Session], recorder: Recorder
) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def make(parts: Parts, **kw: Any) -> Runtime:
        engine: Engine = sessions.kw["bind"]
        rt = Runtime(
            settings=kw.pop("settings", None) or get_settings(),
            engine=engine,
            session_factory=sessions,
            parts=parts,
            enqueue=kw.pop("enqueue", recorder),
            **kw,
        )
        made.append(rt)
        return rt

    yield make
    runtime.uninstall()
