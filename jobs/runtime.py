"""What a task needs at hand: settings, the store, a way to enqueue, and the product's parts.

Messages carry ids only; everything else a task needs comes from the :class:`Runtime` of
its process, set once at start (:func:`install`) by ``rapportd run`` / ``rapportd worker``.
The product's parts (sync, analysis, planning, the outbox, feedback, connectors) are
reached through :class:`Parts`, so tests can hand in small stand-ins and the daemon the
real ones (:meth:`Parts.real`, imported lazily: a part that is missing fails its own
actor with a clear message, not the whole daemon).
"""

from __future__ import annotations

import importlib
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.clock import now as clock_now
from rapportd.agent.settings import Settings

Enqueue = Callable[..., None]

_REAL = {
    "sync_account": ("rapportd.connectors.sync", "sync_account"),
    "connector_for": ("rapportd.connectors.factory", "connector_for"),
    "analyse_owner": ("rapportd.agent.analysis", "analyse_owner"),
    "plan_owner": ("rapportd.agent.suggest.planner", "plan_owner"),
    "process_operation": ("rapportd.agent.suggest.outbox", "process_operation"),
    "ready_operations": ("rapportd.agent.suggest.outbox", "ready_operations"),
    "detect_fates": ("rapportd.agent.suggest.feedback", "detect_fates"),
}


class PartMissing(RuntimeError):
    """A part of rapportd this task needs is not installed (or failed to import)."""


def _lazy(name: str) -> Callable[..., Any]:
    module_name, attr = _REAL[name]

    def call(*args: Any, **kwargs: Any) -> Any:
        try:
            fn = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise PartMissing(f"{module_name}.{attr} is not available: {exc}") from exc
        return fn(*args, **kwargs)

    call.__name__ = name
    return call


@dataclass
class Parts:
    """The product functions the daemon orchestrates (signatures: docs INTERFACES.md)."""

    sync_account: Callable[..., Any]
    connector_for: Callable[..., Any]
    analyse_owner: Callable[..., Any]
    plan_owner: Callable[..., Any]
    process_operation: Callable[..., Any]
    ready_operations: Callable[..., Any]
    detect_fates: Callable[..., Any]

    @classmethod
    def real(cls, **overrides: Callable[..., Any]) -> Parts:
        values = {name: overrides.get(name) or _lazy(name) for name in _REAL}
        return cls(**values)


def process_holder() -> str:
    """This process's name on the leases it takes: host and pid. It is the same string
    rapportd.connectors.sync uses for the lease it takes itself, so that a sync started
    under our lease finds it already ours. Threads of one process are kept apart by
    :data:`rapportd.jobs.tasks` 's in-process mutex per account."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    parts: Parts
    enqueue: Enqueue
    holder: str = field(default_factory=process_holder)
    lease_seconds: float = 60.0
    clock: Callable[[], datetime] = clock_now
    stopping: threading.Event = field(default_factory=threading.Event)

    def now(self) -> datetime:
        return self.clock()


_current: Runtime | None = None


def install(runtime: Runtime) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError(
            "no rapportd runtime in this process (start it with rapportd run/worker)"
        )
    return _current


def uninstall() -> None:
    global _current
    _current = None
