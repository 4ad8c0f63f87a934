"""Helpers of the daemon's tests: rows to work on and stand-in parts."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.records import Address, CursorState, MessageRecord, SyncBatch
from rapportd.agent.store.models import Account, Owner
from rapportd.connectors.sync.account import sync_account
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


class Scripted:
    """A connector whose one stream yields what ``script`` gives, batch by batch (a
    message each), or raises what it raises: the real sync runs around it."""

    provider = "google"
    streams = ("gmail",)

    def __init__(self, script: Callable[[int], object] | None = None, *, batches: int = 1) -> None:
        self.script = script or (lambda _i: None)
        self.batches = batches

    def own_addresses(self) -> list[Any]:
        return []

    def sync(self, stream: str, state: CursorState | None) -> Iterator[SyncBatch]:
        if state is not None and state.phase == "delta":  # caught up: nothing new
            yield SyncBatch(stream, cursor=state, complete=True)
            return
        for i in range(self.batches):
            self.script(i)
            last = i == self.batches - 1
            yield SyncBatch(
                stream,
                messages=[
                    MessageRecord(
                        f"m{i}",
                        thread_id=f"t{i}",
                        sender=Address("bob@example.com", "Bob"),
                        to=[Address("ana@example.com")],
                        sent_at=NOW - timedelta(days=1),
                    )
                ],
                cursor=CursorState("delta" if last else "backfill", "h1" if last else None),
                complete=last,
                recent_complete=last,
            )


def syncing(connector: Any) -> Callable[..., Any]:
    """The real sync of rapportd.connectors, through ``connector``."""
    return functools.partial(sync_account, connector=connector)
