"""The demo's world for the browser tests: the generated scenario of ``rapportd demo``
served by the sandbox (plain HTTP for Google, TLS for Microsoft), both accounts connected
through the real OAuth flows, and a store filled by the daemon's own tasks
(rapportd.jobs.tasks) run inline, one after another, so every step is deterministic.

Reading back: the drafts and holds the sandbox holds for a suggestion's tag."""

from __future__ import annotations

import email
import email.policy
import time
import warnings
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.settings import Settings, load_settings
from rapportd.agent.store.db import make_engine, session_factory, transaction, upgrade
from rapportd.agent.store.models import Account, OutboxOperation, Owner, Suggestion
from rapportd.agent.suggest.outbox import ready_operations
from rapportd.agent.suggest.queue import tag_of
from rapportd.agent.web.security import hash_password
from rapportd.connectors.factory import connector_for
from rapportd.jobs import tasks
from rapportd.jobs.actors import BY_NAME
from rapportd.jobs.demo import demo_settings
from rapportd.jobs.demo_world import World, add_owner, connect_with_oauth, make_world
from rapportd.jobs.runtime import Parts, Runtime

from .seed import PASSWORD

# The owner's own settings (what /settings stores): no quiet hours, so the test writes at
# any time of day (the default 21:00-07:00 in the owner's zone would defer every write to
# the morning), and a cap high enough that every suggestion is written now, whatever the
# rules' scores put first.
OWNER_SUGGESTIONS = {"quiet_hours": "00:00-00:00", "drafts_per_account_per_day": 100}


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

    def write_outbox(self) -> Counter[str]:
        """Every outbox operation that is ready now, written through the real connectors
        (rapportd.agent.suggest.outbox.process_operation via the daemon's task)."""
        done: Counter[str] = Counter()
        with self.rt.session_factory() as session:
            ready = ready_operations(session, now=datetime.now(UTC))
        for op_id in ready:
            done.update(self.run(tasks.WRITE, op_id))
        return done


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
        tag = tag_of(s)
        with self.sandbox.lock:
            mb = self.sandbox.mailbox(self.address_of(s))
            found = []
            for draft in mb.drafts.values():
                msg = mb.messages[draft.message_id]
                if msg.header("X-Rapportd-Id") == tag or tag in msg.extra.get("props", {}).values():
                    found.append(msg)
            return found

    def holds(self, s: Suggestion) -> list[Any]:
        """The sandbox's live (not deleted) events carrying this suggestion's tag."""
        tag = tag_of(s)
        with self.sandbox.lock:
            mb = self.sandbox.mailbox(self.address_of(s))
            return [
                e
                for e in mb.events.values()
                if not e.deleted
                and (
                    e.private_props.get("rapportd") == tag
                    or tag in e.extra.get("props", {}).values()
                )
            ]


def draft_text(msg: Any) -> str:
    """The plain text of a stored draft message."""
    parsed = email.message_from_bytes(msg.raw, policy=email.policy.default)
    part = parsed.get_body(("plain", "html"))
    assert part is not None, "the draft has no text part"
    return str(part.get_content())


def hold_confirmed(provider: str, event: Any) -> bool:
    """Confirmed as each provider shows it: Google status ``confirmed``; Graph ``showAs``
    ``busy`` (a hold is written ``tentative`` on both)."""
    if provider == "google":
        return bool(event.status == "confirmed")
    return bool(event.show_as == "busy")


def add_recent_meeting(world: World, now: datetime) -> str:
    """One more meeting in the demo's world: an hour with an outside contact of the Gmail
    account that ended two hours ago, so that the world has a thank-you to write whatever
    the weekday (the generated calendar has no meetings at weekends, and a thank-you is
    only due within 48 hours). The contact is one the owner has not written to since.
    Returns the contact's address."""
    owner = world.owner
    gmail = owner["accounts"]["google"]
    start = now.replace(second=0, microsecond=0) - timedelta(hours=3)
    candidates = [
        c
        for c in owner["contacts"]
        if not c["internal"]
        and not c["automated"]
        and gmail in c["accounts"]
        and c["email"] not in owner["drifting"]
        and datetime.fromisoformat(c["last_contact"]) < start - timedelta(days=2)
    ]
    assert candidates, "no outside contact of the Gmail account to meet"
    guest = max(candidates, key=lambda c: c["last_contact"])
    world.scenario["events"].append(
        {
            "account": gmail,
            "id": "0b0b0b0b0b0b0b0b0b0b0b0b0b",
            "summary": "Project kickoff",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
            "timezone": owner["timezone"],
            "all_day": False,
            "organizer": gmail,
            "attendees": [
                {"email": gmail, "name": owner["name"], "response": "accepted"},
                {"email": guest["email"], "name": guest["name"], "response": "accepted"},
            ],
            "status": "confirmed",
        }
    )
    return str(guest["email"])


@contextmanager
def demo_store(data_dir: Path, *, seed: int = 7, days: int = 120) -> Iterator[DemoStore]:
    """The world of ``rapportd demo --once`` (same scenario, settings and OAuth flows, plus
    :func:`add_recent_meeting`), after one full cycle: synced, analysed, planned and written back. The owner signs in with
    :data:`tests.web.seed.PASSWORD`."""
    from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
    from rapportd.connectors.sandbox.server import start_sandbox

    warnings.filterwarnings("ignore", message="response_mode='form_post'")
    world = make_world(seed=seed, days=days)
    add_recent_meeting(world, datetime.now(UTC))
    sandbox = sandbox_from_scenario(world.scenario, f"browser demo seed {seed}")
    plain = start_sandbox(sandbox)
    secure = start_sandbox(sandbox, tls=True)
    engine = None
    jobs: InlineJobs | None = None
    try:
        base = load_settings(data_dir=data_dir)
        settings = demo_settings(base, plain.base_url, secure.base_url, secure.ca_file)
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
        factory = session_factory(engine)
        owner = world.owner
        owner_id = add_owner(factory, owner)
        with transaction(factory) as db:
            row = db.get(Owner, owner_id)
            assert row is not None
            row.password_hash = hash_password(PASSWORD)
            row.preferences = {**(row.preferences or {}), "suggestions": OWNER_SUGGESTIONS}
        accounts = [
            connect_with_oauth(factory, settings, owner_id, provider, owner["accounts"][provider])
            for provider in ("google", "microsoft")
        ]
        jobs = InlineJobs(settings, engine, factory)
        jobs.run(tasks.SYNC, *accounts)  # then analysis, plan and the writes they enqueue
        yield DemoStore(
            sandbox, settings, engine, factory, owner_id, owner["accounts"]["google"], jobs
        )
    finally:
        if jobs is not None:
            jobs.close()
        if engine is not None:
            engine.dispose()
        for handle in (plain, secure):
            handle.stop()
