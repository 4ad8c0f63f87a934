"""The demo's world for the browser tests: the generated scenario of ``rapportd demo``
served by the sandbox (plain HTTP for Google, TLS for Microsoft), both accounts connected
through the real OAuth flows, and a store filled by the daemon's own tasks
(rapportd.jobs.tasks) run inline, one after another, so every step is deterministic.

Reading back: the drafts and holds the sandbox holds for a suggestion's tag."""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from e2e_support import (  # tests/e2e_support.py, shared with tests/suggest
    OWNER_SUGGESTIONS,
    add_recent_meeting,
    draft_text,
    hold_confirmed,
    sandbox_world,
    tagged_drafts,
    tagged_holds,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock
from rapportd.agent.core.settings import Settings
from rapportd.agent.outbox.operations import ready_operations
from rapportd.agent.outbox.queue import tag_of
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, OutboxOperation, Owner, Suggestion
from rapportd.agent.suggest.actions import UNDO_MARGIN, UNDO_WINDOW
from rapportd.agent.web.security import hash_password
from rapportd.connectors.factory import connector_for
from rapportd.jobs import tasks
from rapportd.jobs.actors import BY_NAME
from rapportd.jobs.runtime import Parts, Runtime

from .seed import PASSWORD

AFTER_UNDO = UNDO_WINDOW + UNDO_MARGIN + timedelta(seconds=1)

__all__ = [
    "OWNER_SUGGESTIONS",
    "DemoStore",
    "InlineJobs",
    "add_recent_meeting",
    "demo_store",
    "draft_text",
    "hold_confirmed",
]


class InlineJobs:
    """The daemon's tasks, run in this thread in the order they are enqueued: what the
    embedded daemon's workers do for one cycle, without the timing."""

    def __init__(self, settings: Settings, engine: Engine, factory: sessionmaker[Session]):
        self.queue: deque[tuple[str, int]] = deque()
        self.outcomes: Counter[str] = Counter()
        self.seconds: dict[str, float] = defaultdict(float)
        self.connectors: dict[int, Any] = {}
        self.rt = Runtime(
            settings=settings,
            engine=engine,
            session_factory=factory,
            parts=Parts.real(connector_for=self._connector_for),
            enqueue=self._enqueue,
        )

    def _connector_for(self, account: Account, settings: Settings, session: Any = None) -> Any:
        """The real connector, built once per account (building the Google client costs
        ~0.2 s; a worker's writes would pay it once per operation)."""
        if account.id not in self.connectors:
            self.connectors[account.id] = connector_for(account, settings, session)
        return self.connectors[account.id]

    def close(self) -> None:
        for connector in self.connectors.values():
            close = getattr(connector, "close", None)
            if callable(close):
                close()
        self.connectors.clear()

    def _enqueue(self, actor: str, item_id: int, **_kw: Any) -> None:
        if (actor, item_id) not in self.queue:  # a message already waiting covers it
            self.queue.append((actor, item_id))

    def run(self, actor: str, *item_ids: int) -> Counter[str]:
        """Run the task for each id, then everything they enqueue, until nothing is left;
        returns ``{"actor:outcome": n}``."""
        done: Counter[str] = Counter()
        self.queue.extend((actor, i) for i in item_ids)
        while self.queue:
            name, ident = self.queue.popleft()
            started = time.monotonic()
            done[f"{name}:{BY_NAME[name].fn(self.rt, ident)}"] += 1
            self.seconds[name] += time.monotonic() - started
        self.outcomes.update(done)
        return done

    def write_outbox(self, now: datetime | None = None) -> Counter[str]:
        """Every outbox operation that is ready at ``now`` (default: the clock's), written through
        the real connectors (rapportd.agent.outbox.operations.process_operation via the daemon's
        task, on a clock showing ``now``)."""
        when = now or clock.now()
        done: Counter[str] = Counter()
        with self.rt.session_factory() as session:
            ready = ready_operations(session, now=when)
        saved = self.rt.clock
        self.rt.clock = lambda: when
        try:
            for op_id in ready:
                done.update(self.run(tasks.WRITE, op_id))
        finally:
            self.rt.clock = saved
        return done

    def write_after_undo(self) -> Counter[str]:
        """The writes of the actions just taken, once their undo window has passed."""
        return self.write_outbox(clock.now() + AFTER_UNDO)

    def plan_at(self, now: datetime) -> Counter[str]:
        """The planner's pass (and the writes it makes ready) on a clock showing ``now``."""
        saved = self.rt.clock
        self.rt.clock = lambda: now
        try:
            with self.rt.session_factory() as session:
                owners = list(session.scalars(select(Owner.id)))
            done = self.run(tasks.PLAN, *owners)
        finally:
            self.rt.clock = saved
        return done + self.write_outbox(now)


@dataclass
class DemoStore:
    sandbox: Any
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    owner_id: int
    email: str
    jobs: InlineJobs

    def suggestions(self) -> list[Suggestion]:
        with self.sessions() as db:
            rows = list(db.scalars(select(Suggestion).where(Suggestion.owner_id == self.owner_id)))
            db.expunge_all()
            return rows

    def suggestion(self, sid: int) -> Suggestion:
        with self.sessions() as db:
            s = db.get(Suggestion, sid)
            assert s is not None
            db.expunge(s)
            return s

    def ops(self, sid: int) -> dict[str, str]:
        """``{op: state}`` of one suggestion's outbox operations."""
        with self.sessions() as db:
            rows = db.execute(
                select(OutboxOperation.op, OutboxOperation.state).where(
                    OutboxOperation.suggestion_id == sid
                )
            )
            return {op: state for op, state in rows}

    def address_of(self, s: Suggestion) -> str:
        with self.sessions() as db:
            account = db.get(Account, s.account_id)
            assert account is not None
            return account.address

    def provider_of(self, s: Suggestion) -> str:
        with self.sessions() as db:
            account = db.get(Account, s.account_id)
            assert account is not None
            return account.provider

    def drafts(self, s: Suggestion) -> list[Any]:
        """The sandbox's drafts carrying this suggestion's tag (header for Gmail, extended
        property for Graph)."""
        return tagged_drafts(self.sandbox, self.address_of(s), tag_of(s))

    def holds(self, s: Suggestion) -> list[Any]:
        """The sandbox's live (not deleted) events carrying this suggestion's tag."""
        return tagged_holds(self.sandbox, self.address_of(s), tag_of(s))


@contextmanager
def demo_store(
    data_dir: Path, *, seed: int = 7, days: int = 120, at: datetime | None = None
) -> Iterator[DemoStore]:
    """The world of ``rapportd demo --once`` (tests/e2e_support.sandbox_world) after one
    full cycle: synced, analysed, planned and written back. The owner signs in with
    :data:`tests.web.seed.PASSWORD`.

    The scenario is generated around the clock's instant, so what the cycle suggests
    depends on it (seed 7 gave 7 drafts at 01:20 UTC one day, 18 three hours later). With
    ``at``, the process's clock is held there (ticking) while the world lives: the same
    world every run, for tests that need a number of suggestions of some kinds."""
    held = clock.held(at) if at is not None else nullcontext()
    with held, sandbox_world(data_dir, seed=seed, days=days) as w:
        with transaction(w.sessions) as db:
            row = db.get(Owner, w.owner_id)
            assert row is not None
            row.password_hash = hash_password(PASSWORD)
        jobs = InlineJobs(w.settings, w.engine, w.sessions)
        try:
            jobs.run(tasks.SYNC, *w.accounts.values())  # then analysis, plan and the writes
            yield DemoStore(
                w.sandbox, w.settings, w.engine, w.sessions, w.owner_id, w.addresses["google"], jobs
            )
        finally:
            jobs.close()
