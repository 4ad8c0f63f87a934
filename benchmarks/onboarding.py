"""Onboarding: from connecting a Gmail and an Outlook account to the first draft or hold
rapportd writes into them, and to the end of the whole backfill (issue 18, "recent first").

    .venv/bin/python benchmarks/onboarding.py --sizes 10000,30000 [--latency-ms 50]
    .venv/bin/python benchmarks/onboarding.py --sizes 30000 --first-only

Per size: one generated owner (connectors/sandbox/generator.py: people, threads, promises,
requests, meetings over a year) whose Gmail and Outlook mailboxes are each filled up to
``size`` messages spread over the year (newsletters and short notes from other people). The
sandbox enforces the providers' real limits (Gmail 6,000 units/min per user, Calendar 600
requests/min, Graph 4 concurrent requests and 10,000 requests per 10 minutes per mailbox:
``connectors/sandbox/quota.py`` defaults) and slows every request by ``--latency-ms`` (a
Google batch spreads it over its parts, as in benchmarks/sync.py). The accounts are connected
(Gmail with sandbox-minted tokens, Outlook through the real OAuth flow), then ``rapportd
run`` starts on a fresh SQLite store (quiet hours off, as a daytime connect would be).

Printed: seconds from the start of the daemon (the accounts connected) to the first draft
or hold present in a mailbox, what it was and what had been synced by then; seconds until
every stream of both accounts finished its backfill (``--first-only`` stops after the first
item). Target (issue 18): first item <= 3 minutes at 10k and 30k messages a year.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from benchmarks.e2e import Daemon, free_port, store, wait
from rapportd.agent.core.vault import generate_key
from rapportd.agent.demo.world import (
    add_owner,
    connect_google_with_tokens,
    connect_with_oauth,
    make_world,
    sandbox_settings,
)
from rapportd.agent.store.models import Message, Suggestion, SyncCursor
from rapportd.connectors.sandbox.faults import Fault
from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
from rapportd.connectors.sandbox.server import start_sandbox
from tests.connectors.world import raw_message
from tests.reliability.harness import mailbox_items

STREAMS = 5  # gmail, gcal, graph_inbox, graph_sentitems, graph_calendar


def pad(sandbox: Any, address: str, size: int, seed: int) -> int:
    """Fill the mailbox up to ``size`` messages over the last year: 60 % newsletters, the
    rest short notes to and from 300 other people (30 % sent by the owner)."""
    box = sandbox.mailbox(address)
    have = len(box.messages)
    rng = random.Random(f"{seed}:{address}")
    now = sandbox.now()
    people = [f"person{i}@elsewhere{i % 40}.example" for i in range(300)]
    for i in range(max(0, size - have)):
        when = now - timedelta(days=rng.uniform(0.05, 364), seconds=i)
        if rng.random() < 0.6:
            sender = f"news@letters{i % 25}.example"
            raw = raw_message(
                sender,
                address,
                f"Weekly digest {i}",
                "This week's news.\n" * 5,
                when,
                extra={"List-Id": f"<digest{i % 25}.letters.example>"},
            )
        else:
            other = rng.choice(people)
            out = rng.random() < 0.3
            raw = raw_message(
                address if out else other,
                other if out else address,
                f"Note {i}",
                "Thanks for the update, all good on my side.\n",
                when,
            )
        box.add_message(raw, internal_date_ms=int(when.timestamp() * 1000))
    return len(box.messages)


def slow_down(sandbox: Any, latency_ms: int, batch: int) -> None:
    per_part = max(1, latency_ms // batch)
    sandbox.faults.add(Fault("latency", endpoint="gmail.users.messages.get", latency_ms=per_part))
    for endpoint in (
        "gmail.users.messages.list",
        "gmail.users.history.list",
        "gmail.users.getProfile",
        "gmail.users.drafts.*",
        "gmail.users.settings.*",
        "calendar.*",
        "graph.*",
    ):
        sandbox.faults.add(Fault("latency", endpoint=endpoint, latency_ms=latency_ms))


def cursors(factory: Any) -> tuple[int, int]:
    """(streams with their recent window, streams with their whole backfill)."""
    with factory() as s:
        rows = list(s.scalars(select(SyncCursor)))
    recent = sum(1 for c in rows if c.recent_complete_at or c.last_verified_complete_at)
    return recent, sum(1 for c in rows if c.last_verified_complete_at)


def run_size(size: int, latency_ms: int, first_only: bool, work: Path, seed: int) -> None:
    world = make_world(seed=seed, days=365)
    sandbox = sandbox_from_scenario(world.scenario, f"onboarding-{size}")
    owner = world.owner
    google, microsoft = owner["accounts"]["google"], owner["accounts"]["microsoft"]
    sizes = {a: pad(sandbox, a, size, seed) for a in (google, microsoft)}
    events = {a: len(sandbox.mailbox(a).events) for a in (google, microsoft)}
    handles = [start_sandbox(sandbox), start_sandbox(sandbox, tls=True)]
    try:
        settings = sandbox_settings(
            handles[0].base_url, handles[1].ca_file, work, encryption_key=generate_key()
        )
        ms = settings.microsoft.model_copy(
            update={
                "authority_host": handles[1].base_url,
                "graph_base_url": handles[1].base_url + "/v1.0",
            }
        )
        settings = settings.model_copy(update={"microsoft": ms})
        factory = store(settings)
        owner_id = add_owner(factory, owner)
        connect_google_with_tokens(sandbox, factory, settings, owner_id, google)
        connect_with_oauth(factory, settings, owner_id, "microsoft", microsoft)
        slow_down(sandbox, latency_ms, settings.sync.gmail_batch_size)
        print(
            f"== {size} messages a year per account: Gmail {sizes[google]} messages, "
            f"{events[google]} events; Outlook {sizes[microsoft]} messages, "
            f"{events[microsoft]} events; {latency_ms} ms latency, real quotas, "
            f"recent window {settings.sync.recent_days} days",
            flush=True,
        )
        daemon = Daemon(settings, 4, free_port(), work / f"daemon-{size}.log")
        started = time.monotonic()
        try:
            first = wait(lambda: bool(mailbox_items(sandbox)), 1200, step=0.2)
            items = sorted(mailbox_items(sandbox))
            with factory() as s:
                stored = int(s.scalar(select(func.count()).select_from(Message)) or 0)
                kinds = sorted({str(k) for k in s.scalars(select(Suggestion.kind).distinct())})
            recent, full = cursors(factory)
            print(
                f"  first item in a mailbox: {first:.1f} s ({items[0].split(' ', 1)[1][:5]}"
                f"; {stored} messages stored of {sum(sizes.values())}; streams with their "
                f"recent window {recent}/{STREAMS}, with their whole backfill {full}/"
                f"{STREAMS}; kinds planned so far: {', '.join(kinds)})",
                flush=True,
            )
            if first_only:
                return
            whole = wait(lambda: cursors(factory)[1] == STREAMS, 3600, step=1.0)
            with factory() as s:
                stored = int(s.scalar(select(func.count()).select_from(Message)) or 0)
            counters = {a: sandbox.mailbox(a).counters.as_json() for a in (google, microsoft)}
            throttled = sum(c["statuses"].get("429", 0) for c in counters.values())
            units = counters[google]["units"]
            print(
                f"  whole backfill: {whole + first:.1f} s ({stored} messages stored; Gmail "
                f"{units} quota units, {sizes[google] / (whole + first):.1f} Gmail messages/s "
                f"against a quota bound of 20/s; 429s: {throttled})",
                flush=True,
            )
        finally:
            daemon.stop()
            _ = started
    finally:
        for handle in handles:
            handle.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,30000")
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--first-only", action="store_true", help="stop at the first item")
    args = parser.parse_args()
    for size in [int(s) for s in args.sizes.split(",") if s]:
        with tempfile.TemporaryDirectory(prefix="rapportd-onboarding-") as tmp:
            run_size(size, args.latency_ms, args.first_only, Path(tmp), args.seed)


if __name__ == "__main__":
    main()
