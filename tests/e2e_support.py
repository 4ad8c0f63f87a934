"""A sandbox world for end-to-end tests (shared by tests/web and tests/suggest): the
generated scenario of ``rapportd demo`` served by the sandbox (plain HTTP for Google, TLS
for Microsoft), a migrated store, the owner row and both accounts connected through the
real OAuth flows. Nothing is synced yet: each test drives its own cycle.

Reading back: the drafts and holds the sandbox holds for a tag (header ``X-Rapportd-Id``
for Gmail, extended property for Graph; ``extendedProperties.private.rapportd`` for
Calendar, extended property for Graph events)."""

from __future__ import annotations

import email
import email.policy
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock
from rapportd.agent.core.settings import Settings, load_settings
from rapportd.agent.demo.run import demo_settings
from rapportd.agent.demo.world import World, add_owner, connect_with_oauth, make_world
from rapportd.agent.store.db import make_engine, session_factory, transaction, upgrade
from rapportd.agent.store.models import Owner

# The owner's own settings (what /settings stores): no quiet hours, so the test writes at
# any time of day (the default 21:00-07:00 in the owner's zone would defer every write to
# the morning), and a cap high enough that every suggestion is written now, whatever the
# rules' scores put first.
OWNER_SUGGESTIONS = {"quiet_hours": "00:00-00:00", "drafts_per_account_per_day": 100}


@dataclass
class SandboxWorld:
    world: World  # the generated scenario and its ground truth
    sandbox: Any  # rapportd.connectors.sandbox.state.Sandbox (in this process)
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    owner_id: int
    accounts: dict[str, int]  # provider -> Account.id
    addresses: dict[str, str]  # provider -> address
    control_url: str  # the sandbox's control API (/_sandbox), plain HTTP

    @property
    def owner(self) -> dict[str, Any]:
        return self.world.owner


def tagged_drafts(sandbox: Any, address: str, tag: str) -> list[Any]:
    """The sandbox's draft messages in ``address``'s mailbox that carry ``tag``."""
    with sandbox.lock:
        mb = sandbox.mailbox(address)
        found = []
        for draft in mb.drafts.values():
            msg = mb.messages[draft.message_id]
            if msg.header("X-Rapportd-Id") == tag or tag in msg.extra.get("props", {}).values():
                found.append(msg)
        return found


def tagged_holds(sandbox: Any, address: str, tag: str) -> list[Any]:
    """The sandbox's live (not deleted) events in ``address``'s calendar carrying ``tag``."""
    with sandbox.lock:
        mb = sandbox.mailbox(address)
        return [
            e
            for e in mb.events.values()
            if not e.deleted
            and (e.private_props.get("rapportd") == tag or tag in e.extra.get("props", {}).values())
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


RECENT_MEETING_ID = "0b0b0b0b0b0b0b0b0b0b0b0b0b"


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
            "id": RECENT_MEETING_ID,
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


RECENT_PROMISE_ID = "<e2e-promise.1@rapportd.test>"


def add_recent_promise(world: World, now: datetime, *, not_to: str = "") -> str:
    """One more promise in the demo's world: two hours ago the owner wrote to an outside
    contact of the Gmail account "I'll send you the signed budget by <weekday>", that
    weekday being four business days ahead in the owner's zone. The generated promises
    depend on the hour the world is made (due soon enough or not), so this one makes a
    ``promise_hold`` certain whatever the hour. Also added to the ground truth. Not to the
    person with the address ``not_to`` (the recent meeting's guest: a message to them after
    the meeting leaves no thank-you to write). Returns the Message-ID."""
    from email.message import EmailMessage
    from email.utils import format_datetime
    from zoneinfo import ZoneInfo

    owner = world.owner
    gmail = owner["accounts"]["google"]
    tz = ZoneInfo(owner["timezone"])
    sent = (now - timedelta(hours=2)).astimezone(tz).replace(second=0, microsecond=0)
    due, left = sent.date(), 4
    while left:
        due += timedelta(days=1)
        left -= due.weekday() < 5
    contact = next(
        c
        for c in owner["contacts"]
        if not c["internal"]
        and not c["automated"]
        and gmail in c["accounts"]
        and not_to not in c["emails"]
    )
    msg = EmailMessage()
    msg["From"] = f"{owner['name']} <{gmail}>"
    msg["To"] = f"{contact['name']} <{contact['email']}>"
    msg["Subject"] = "Budget"
    msg["Date"] = format_datetime(sent)
    msg["Message-ID"] = RECENT_PROMISE_ID
    sentence = f"I'll send you the signed budget by {due:%A}."
    msg.set_content(f"Hi {contact['name'].split()[0]},\n\n{sentence}\n\nBest,\n{owner['name']}\n")
    world.scenario["messages"].append(
        {"account": gmail, "raw": msg.as_string(), "labels": ["SENT"]}
    )
    owner["commitments"].append(
        {
            "message_id": RECENT_PROMISE_ID,
            "kind": "commitment",
            "by": gmail,
            "to": [contact["email"]],
            "owner_is_author": True,
            "sentence": sentence,
            "sent_at": sent.isoformat(),
            "due": due.isoformat(),
            "kept": None,
            "answered": None,
        }
    )
    return RECENT_PROMISE_ID


@contextmanager
def sandbox_world(
    data_dir: Path,
    *,
    seed: int = 7,
    days: int = 120,
    suggestions: dict[str, Any] | None = None,
) -> Iterator[SandboxWorld]:
    """The world of ``rapportd demo --once`` (same scenario, settings and OAuth flows, plus
    :func:`add_recent_meeting` and :func:`add_recent_promise`), connected but not synced. ``suggestions`` becomes the
    owner's ``preferences["suggestions"]`` (default :data:`OWNER_SUGGESTIONS`)."""
    from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
    from rapportd.connectors.sandbox.server import start_sandbox

    warnings.filterwarnings("ignore", message="response_mode='form_post'")
    world = make_world(seed=seed, days=days)
    guest = add_recent_meeting(world, clock.now())
    add_recent_promise(world, clock.now(), not_to=guest)
    sandbox = sandbox_from_scenario(world.scenario, f"e2e world seed {seed}")
    plain = start_sandbox(sandbox)
    secure = start_sandbox(sandbox, tls=True)
    engine = None
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
            row.preferences = {
                **(row.preferences or {}),
                "suggestions": dict(OWNER_SUGGESTIONS if suggestions is None else suggestions),
            }
        addresses = {p: str(owner["accounts"][p]) for p in ("google", "microsoft")}
        accounts = {
            p: connect_with_oauth(factory, settings, owner_id, p, addresses[p]) for p in addresses
        }
        yield SandboxWorld(
            world,
            sandbox,
            settings,
            engine,
            factory,
            owner_id,
            accounts,
            addresses,
            plain.control_url,
        )
    finally:
        if engine is not None:
            engine.dispose()
        for handle in (plain, secure):
            handle.stop()


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn on 127.0.0.1 and a free port; stopped on exit."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
