"""What a task needs at hand: settings, the store, a way to enqueue, and the product's parts.

Messages carry ids only; everything else a task needs comes from the :class:`Runtime` of
its process, set once at start (:func:`install`) by ``rapportd run`` / ``rapportd worker``.
The product's parts (sync, analysis, planning, the outbox, feedback, connectors) are
reached through :class:`Parts`, so tests can hand in small stand-ins and the daemon the
real ones (:meth:`Parts.real`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.analysis.analyse import analyse_owner
from rapportd.agent.core.clock import now as clock_now
from rapportd.agent.core.settings import Settings
from rapportd.agent.outbox.operations import process_operation, ready_operations
from rapportd.agent.suggest.feedback import detect_fates
from rapportd.agent.suggest.planner import plan_owner
from rapportd.connectors.factory import connector_for
from rapportd.connectors.sync import lease
from rapportd.connectors.sync.account import sync_account

Enqueue = Callable[..., None]


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
        """The product's own functions (tests hand in stand-ins for some)."""
        parts = cls(
            sync_account=sync_account,
            connector_for=connector_for,
            analyse_owner=analyse_owner,
            plan_owner=plan_owner,
            process_operation=process_operation,
            ready_operations=ready_operations,
            detect_fates=detect_fates,
        )
        for name, fn in overrides.items():
            setattr(parts, name, fn)
        return parts


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    parts: Parts
    enqueue: Enqueue
    holder: str = field(default_factory=lease.process_holder)
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
