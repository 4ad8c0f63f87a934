"""Helpers of the daemon's tests: rows to work on and stand-in parts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.store.models import Account, Owner
from rapportd.jobs.runtime import Parts

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def unexpected(name: str) -> Callable[..., Any]:
    def call(*_a: Any, **_k: Any) -> Any:
        raise AssertionError(f"{name} was not expected to run in this test")

    return call


def make_parts(**overrides: Callable[..., Any]) -> Parts:
    names = (
        "sync_account",
        "connector_for",
        "analyse_owner",
        "plan_owner",
        "process_operation",
        "ready_operations",
        "detect_fates",
    )
    values = {n: overrides.get(n) or unexpected(n) for n in names}
    if "ready_operations" not in overrides:
        values["ready_operations"] = lambda session, *, now, limit=100, owner_id=None: []
    return Parts(**values)


def add_owner(factory: sessionmaker[Session], email: str = "ana@example.com", **kw: Any) -> int:
    with factory() as s, s.begin():
        owner = Owner(email=email, **kw)
        s.add(owner)
        s.flush()
        return owner.id


def add_account(
    factory: sessionmaker[Session],
    owner_id: int,
    address: str = "ana@example.com",
    provider: str = "google",
    **kw: Any,
) -> int:
    with factory() as s, s.begin():
        acc = Account(owner_id=owner_id, provider=provider, address=address, **kw)
        s.add(acc)
        s.flush()
        return acc.id


class Recorder:
    """A stand-in enqueue that remembers (actor, id) pairs."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []

    def __call__(self, actor: str, item_id: int, **_kw: Any) -> None:
        self.sent.append((actor, item_id))
