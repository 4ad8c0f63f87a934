"""End to end against the sandbox: how long from a message arriving to its draft, and how
fast the daemon drains a backlog.

    .venv/bin/python benchmarks/e2e.py [--trials 3] [--poll 20] [--accounts 20] [--days 30]

latency
    ``rapportd run`` (a subprocess: scheduler, workers, web) on one generated owner. After
    the first cycle, a request from a known contact ("could you send me … by Friday?",
    dated 6 days back so that it is already owed an answer) lands in the sandbox; we time
    until a draft in its thread appears in the sandbox. ``poll``: the account's sync
    interval (``--poll`` seconds, jittered) finds it, delivered at a random phase of it; ``push``: the real path — the daemon
    opened a Gmail watch on the sandbox (``google.push_topic``), the sandbox's Pub/Sub
    stand-in pushes the change to the daemon's ``/push/gmail`` with the OIDC token Pub/Sub
    would sign, and the daemon checks it and syncs (jobs/push.py, jobs/push_auth.py).
throughput
    ``--accounts`` Google accounts (one per generated owner), a fresh SQLite store and
    ``rapportd run --threads N`` for N = 1, 2, 4: time until every account's first sync
    (every stream) is complete, and messages stored per second.

The sandbox runs in this process; the daemon in its own, as in production.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.store.db import make_engine, session_factory, upgrade
from rapportd.agent.store.models import Account, Message, PushSubscription, Suggestion
from rapportd.agent.vault import generate_key
from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
from rapportd.connectors.sandbox.server import start_sandbox
from rapportd.jobs.demo_world import (
    add_owner,
    connect_google_with_tokens,
    make_world,
    sandbox_settings,
    settings_env,
)

RAPPORTD = str(Path(sys.executable).with_name("rapportd"))


def wait(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> float:
    """Seconds until ``predicate`` holds (raises on timeout)."""
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > timeout:
            raise TimeoutError(f"not within {timeout}s")
        time.sleep(step)
    return time.monotonic() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Daemon:
    """``rapportd run`` in a subprocess with the settings of a store and sandbox."""

    def __init__(self, settings: Any, threads: int, port: int, log: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
        env.update(settings_env(settings), RAPPORTD_LOG_LEVEL="WARNING")
        # the owner's quiet hours would defer the write to the morning: none here
        env["RAPPORTD_SUGGESTIONS__QUIET_HOURS"] = "00:00-00:00"
        # ... and the daily cap of drafts would stop the trials after the first few
        env["RAPPORTD_SUGGESTIONS__DRAFTS_PER_ACCOUNT_PER_DAY"] = "1000"
        self.out = log.open("wb")
        self.proc = subprocess.Popen(
            [RAPPORTD, "run", "--threads", str(threads), "--port", str(port)],
            env=env,
            stdout=self.out,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.out.close()


def store(settings: Any) -> sessionmaker[Session]:
    engine = make_engine(settings.effective_database_url)
    upgrade(engine)
    return session_factory(engine)


def synced_completely(factory: sessionmaker[Session], accounts: int) -> bool:
    with factory() as s:
        done = s.scalar(
            select(func.count(Account.id)).where(Account.last_verified_complete_at.is_not(None))
        )
    return int(done or 0) >= accounts


def drafts_in_thread(sandbox: Any, address: str, thread_id: str) -> int:
    with sandbox.lock:
        mb = sandbox.accounts[address].mailbox
        return sum(
            1 for d in mb.drafts.values() if mb.messages[d.message_id].thread_id == thread_id
        )


def known_contact(sandbox: Any, address: str) -> str:
    """The sender who wrote to the owner most often (a person the owner talks to)."""
    counts: dict[str, int] = {}
    with sandbox.lock:
        for m in sandbox.accounts[address].mailbox.messages.values():
            sender = (m.header("From") or "").lower()
            if "INBOX" in m.labels and sender and "noreply" not in sender:
                counts[sender] = counts.get(sender, 0) + 1
    return max(counts, key=lambda k: counts[k])


def deliver_request(sandbox: Any, address: str, sender: str, n: int) -> str:
    """A request to the owner, dated 6 days back; returns its thread id."""
    when = sandbox.now() - timedelta(days=6)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = address
    msg["Subject"] = f"Signed contract {n}"
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(
        "Hi,\n\nCould you send me the signed contract for the Oslo project by Friday? "
        "Legal is waiting on it.\n\nThanks!\n"
    )
    with sandbox.lock:
        stored = sandbox.accounts[address].mailbox.add_message(
            msg.as_bytes(), internal_date_ms=int(when.timestamp() * 1000)
        )
        stored.labels.add("UNREAD")
        return str(stored.thread_id)


PUSH_TOPIC = "projects/rapportd-bench/topics/gmail"
PUSH_AUDIENCE = "https://rapportd.bench/push/gmail"
PUSH_ACCOUNT = "gmail-push@bench.iam.gserviceaccount.com"


def subscribe_pubsub(control: str, web: str) -> None:
    """What one sets up once in Google Cloud: a push subscription of the watch's topic to
    the daemon's /push/gmail, authenticated with an OIDC token (the sandbox signs it as
    Pub/Sub would; the daemon checks it against the sandbox's certificates)."""
    httpx.post(
        f"{control}/pubsub/subscriptions",
        json={
            "topic": PUSH_TOPIC,
            "push_endpoint": f"{web}/push/gmail",
            "audience": PUSH_AUDIENCE,
            "service_account": PUSH_ACCOUNT,
        },
        timeout=10,
    ).raise_for_status()


def watch_opened(factory: sessionmaker[Session]) -> bool:
    with factory() as s:
        return s.scalar(select(func.count(PushSubscription.id))) == 1


def latency(trials: int, poll: int, days: int, work: Path) -> dict[str, list[float]]:
    world = make_world(seed=21, days=days)
    sandbox = sandbox_from_scenario(world.scenario, "bench-latency")
    handle = start_sandbox(sandbox)
    address = world.owner["accounts"]["google"]
    results: dict[str, list[float]] = {"poll": [], "push": []}
    try:
        settings = sandbox_settings(
            handle.base_url,
            None,
            work / "latency",
            encryption_key=generate_key(),
            sync={"interval_seconds": poll},
            google={
                "push_topic": PUSH_TOPIC,
                "push_audience": PUSH_AUDIENCE,
                "push_service_account": PUSH_ACCOUNT,
            },
        )
        factory = store(settings)
        owner_id = add_owner(factory, world.owner)
        connect_google_with_tokens(sandbox, factory, settings, owner_id, address)
        port = free_port()
        daemon = Daemon(settings, 2, port, work / "latency.log")
        web = f"http://127.0.0.1:{port}"
        try:
            wait(lambda: synced_completely(factory, 1), 120)
            wait(lambda: watch_opened(factory), 60)  # the daemon's own users.watch
            time.sleep(3)  # let the first cycle's analysis and writes pass
            sender = known_contact(sandbox, address)
            n = 0
            for mode in ("poll", "push"):
                if mode == "push":  # until now the watch's topic had no subscriber
                    subscribe_pubsub(handle.control_url, web)
                for _ in range(trials):
                    n += 1
                    thread = deliver_request(sandbox, address, sender, n)
                    started = time.monotonic()
                    try:
                        wait(
                            lambda t=thread: drafts_in_thread(sandbox, address, t) > 0,
                            poll * 3 + 60,
                        )
                    except TimeoutError:
                        with factory() as s:
                            kinds = list(s.execute(select(Suggestion.kind, Suggestion.status)))
                        print("no draft appeared; suggestions:", kinds)
                        raise
                    results[mode].append(time.monotonic() - started)
                    print(f"  {mode} trial {len(results[mode])}: {results[mode][-1]:.2f}s")
                    # past the push debounce (5 s), and a random phase of the poll cycle
                    time.sleep(6 + (random.uniform(0, poll) if mode == "poll" else 0))
        finally:
            daemon.stop()
    finally:
        handle.stop()
    return results


def throughput(accounts: int, threads: int, days: int, work: Path) -> dict[str, float]:
    world = make_world(seed=22, days=days, owners=accounts)
    sandbox = sandbox_from_scenario(world.scenario, f"bench-throughput-{threads}")
    handle = start_sandbox(sandbox)
    try:
        settings = sandbox_settings(
            handle.base_url, None, work / f"tp{threads}", encryption_key=generate_key()
        )
        factory = store(settings)
        for owner in world.truth["owners"]:
            oid = add_owner(factory, owner)
            connect_google_with_tokens(sandbox, factory, settings, oid, owner["accounts"]["google"])
        daemon = Daemon(settings, threads, free_port(), work / f"tp{threads}.log")
        started = time.monotonic()
        try:
            # time from the daemon's start (the import takes ~1-2 s of it) to all synced
            wait(lambda: synced_completely(factory, accounts), 600, step=0.1)
            drained = time.monotonic() - started
        finally:
            daemon.stop()
        with factory() as s:
            messages = int(s.scalar(select(func.count()).select_from(Message)) or 0)
            calls = len(sandbox.log)
            n_accounts = int(s.scalar(select(func.count()).select_from(Account)) or 0)
    finally:
        handle.stop()
    return {
        "accounts": n_accounts,
        "messages": messages,
        "seconds": drained,
        "messages_per_s": messages / drained,
        "api_calls": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--poll", type=int, default=20, help="sync interval (s) for 'poll'")
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rapportd-e2e-") as tmp:
        work = Path(tmp)
        if not args.skip_latency:
            print(f"latency: message delivered -> draft in the sandbox (poll every {args.poll}s)")
            res = latency(args.trials, args.poll, args.days, work)
            for mode, values in res.items():
                print(
                    f"{mode:>5}: median {statistics.median(values):.2f}s "
                    f"min {min(values):.2f}s max {max(values):.2f}s (n={len(values)})"
                )
        if not args.skip_throughput:
            print(f"throughput: {args.accounts} accounts, {args.days} days, first sync")
            for threads in (1, 2, 4):
                r = throughput(args.accounts, threads, args.days, work)
                print(
                    f"workers={threads}: {r['messages']} messages of {r['accounts']} accounts "
                    f"drained in {r['seconds']:.1f}s = {r['messages_per_s']:.0f} msg/s "
                    f"({r['api_calls']} API calls)"
                )


if __name__ == "__main__":
    main()
