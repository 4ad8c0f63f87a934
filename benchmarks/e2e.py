"""End to end against the sandbox: how long from a message arriving to its draft, and how
fast the daemon drains a backlog.

    .venv/bin/python benchmarks/e2e.py [--trials 3] [--poll 20] [--accounts 20] [--days 30]
        [--threads 1,2,4] [--processes 1,2 [--process-threads 2] [--postgres URL]
        [--redis URL]] [--skip-latency] [--skip-throughput]

latency
    ``rapportd run`` (a subprocess: scheduler, workers, web) on one generated owner. After
    the first cycle, a request ("could you send me … by Friday?", dated 6 days back so that
    it is already owed an answer) lands in the sandbox from the owner's most frequent inbox
    correspondent that rapportd should answer now: a person per the world's truth (never an
    automated or bulk sender, which rapportd rightly ignores), not flagged automated by the
    daemon's analysis and without an open suggestion (rapportd holds one per person, so each
    trial has its own sender). We time until a draft in its thread appears in the sandbox.
    ``poll``: the account's sync interval (``--poll`` seconds, jittered) finds it, delivered
    at a random phase of it; ``push``: the real path — the daemon opened a Gmail watch on
    the sandbox (``google.push_topic``), the sandbox's Pub/Sub stand-in pushes the change to
    the daemon's ``/push/gmail`` with the OIDC token Pub/Sub would sign, and the daemon
    checks it and syncs (jobs/push.py, jobs/push_auth.py).
throughput
    ``--accounts`` Google accounts (one per generated owner), a fresh SQLite store and
    ``rapportd run --threads N`` for N in ``--threads`` (1, 2, 4): time from the daemon's
    start until every account's first sync (every stream) is complete, and messages stored
    per second.
throughput, distributed (``--processes 1,2``; needs PostgreSQL and Redis)
    The same workload on a throwaway PostgreSQL database (created on the ``--postgres``
    server, dropped afterwards) and Redis (``--redis``: a database number of its own, empty
    at the start or named in the URL; rapportd's keys in it deleted afterwards, and before
    in a named one), with one ``rapportd scheduler`` and P ``rapportd worker --threads T``
    processes (T: ``--process-threads``), timed from the processes' start.

Each throughput line also gives the CPU seconds each process used until the end, the
benchmark's own (the sandbox's threads), PostgreSQL's and Redis's servers' (every client's,
not only ours), how busy the machine's CPUs were, and how long the rapportd processes'
threads were ready to run but waited for a CPU (/proc/PID/task/*/schedstat): what limits
the scaling.

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
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.vault import generate_key
from rapportd.agent.demo.world import (
    add_owner,
    connect_google_with_tokens,
    make_world,
    sandbox_settings,
    settings_env,
)
from rapportd.agent.store.db import make_engine, session_factory, upgrade
from rapportd.agent.store.models import (
    Account,
    Contact,
    ContactIdentity,
    Message,
    PushSubscription,
    Suggestion,
    SyncRun,
)
from rapportd.agent.suggest.coherence import PERSONAL_KINDS
from rapportd.agent.suggest.planner import OPEN_STATUSES
from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
from rapportd.connectors.sandbox.server import start_sandbox

RAPPORTD = str(Path(sys.executable).with_name("rapportd"))
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379"


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


def daemon_env(settings: Any) -> dict[str, str]:
    """The environment of a ``rapportd`` subprocess for ``settings`` (and nothing else of
    ours: RAPPORTD_* of the caller dropped)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
    env.update(settings_env(settings), RAPPORTD_LOG_LEVEL="WARNING")
    # the owner's quiet hours would defer the write to the morning: none here
    env["RAPPORTD_SUGGESTIONS__QUIET_HOURS"] = "00:00-00:00"
    # ... and the daily cap of drafts would stop the trials after the first few
    env["RAPPORTD_SUGGESTIONS__DRAFTS_PER_ACCOUNT_PER_DAY"] = "1000"
    return env


class Process:
    """``rapportd ARGS…`` in a subprocess with ``env``, its output in ``log``."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.name = log.stem
        self.out = log.open("wb")
        self.proc = subprocess.Popen(
            [RAPPORTD, *args], env=env, stdout=self.out, stderr=subprocess.STDOUT
        )

    def tail(self) -> str:
        self.out.flush()
        return Path(self.out.name).read_text(errors="replace")[-3000:]

    def cpu_seconds(self) -> float:
        """User + system CPU seconds it has used so far (0 once it has exited)."""
        return process_cpu_seconds(self.proc.pid)

    def cpu_wait_seconds(self) -> float:
        """Seconds its threads (those alive now) were ready to run but waited for a CPU."""
        total = 0
        for task in Path(f"/proc/{self.proc.pid}/task").glob("*/schedstat"):
            try:
                total += int(task.read_text().split()[1])
            except (OSError, IndexError, ValueError):
                continue
        return total / 1e9

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.out.close()


class Daemon(Process):
    """``rapportd run`` (scheduler, workers, web in one process) for a store and sandbox."""

    def __init__(self, settings: Any, threads: int, port: int, log: Path) -> None:
        args = ["run", "--threads", str(threads), "--port", str(port)]
        super().__init__(args, daemon_env(settings), log)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` from /proc (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is fields[0]
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def service_cpu(names: tuple[str, ...]) -> dict[int, float]:
    """CPU seconds used so far by each process (pid) whose command name is one of
    ``names`` (the PostgreSQL and Redis servers: shared with whatever else uses them)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm in names:
                out[int(entry.name)] = process_cpu_seconds(int(entry.name))
    return out


def cpu_since(before: dict[int, float], now: dict[int, float]) -> float:
    """CPU seconds the processes of ``now`` used since ``before`` (a process that ended
    meanwhile is not counted; one that started meanwhile is, from its start)."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in now.items())


def machine_cpu() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return float(sum(values) - idle), float(sum(values))


class CpuMeter:
    """What the CPUs did between ``__init__`` and :meth:`read`: the machine's busy share,
    this process's CPU seconds (the sandbox's threads, and the benchmark's polling of the
    store), and PostgreSQL's and Redis's servers'."""

    def __init__(self) -> None:
        self.machine = machine_cpu()
        self.own = time.process_time()
        self.postgres = service_cpu(("postgres",))
        self.redis = service_cpu(("redis-server",))

    def read(self) -> dict[str, float]:
        busy, total = machine_cpu()
        return {
            "machine_busy": (busy - self.machine[0]) / max(total - self.machine[1], 1.0),
            "sandbox_cpu": time.process_time() - self.own,
            "postgres_cpu": cpu_since(self.postgres, service_cpu(("postgres",))),
            "redis_cpu": cpu_since(self.redis, service_cpu(("redis-server",))),
        }


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


def inbox_senders(sandbox: Any, address: str) -> dict[str, tuple[int, str]]:
    """Per sender address: how many INBOX messages of ``address`` it sent, and a From
    header to write as (display name and address, as the sender writes them)."""
    counts: dict[str, tuple[int, str]] = {}
    with sandbox.lock:
        for m in sandbox.accounts[address].mailbox.messages.values():
            header = m.header("From") or ""
            sender = parseaddr(header)[1].lower()
            if "INBOX" in m.labels and sender:
                n, _ = counts.get(sender, (0, header))
                counts[sender] = (n + 1, header)
    return counts


def analysed(factory: sessionmaker[Session]) -> bool:
    with factory() as s:
        done = s.scalar(select(func.count(Contact.id)).where(Contact.analysed_at.is_not(None)))
        return bool(done)


def not_answerable_now(factory: sessionmaker[Session], addresses: list[str]) -> dict[str, str]:
    """Those of ``addresses`` that rapportd would not draft a new reply to now, and why:
    their contact is flagged automated by the daemon's analysis, or already has an open
    suggestion (one per person at a time: ``agent/suggest/coherence.py``)."""
    with factory() as s:
        rows = s.execute(
            select(ContactIdentity.address, Contact.id, Contact.is_automated)
            .join(Contact, Contact.id == ContactIdentity.contact_id)
            .where(ContactIdentity.address.in_(addresses))
        ).all()
        busy = set(
            s.scalars(
                select(Suggestion.contact_id).where(
                    Suggestion.status.in_(OPEN_STATUSES), Suggestion.kind.in_(PERSONAL_KINDS)
                )
            )
        )
    out = {}
    for address, contact_id, automated in rows:
        if automated:
            out[address] = "flagged automated by the analysis"
        elif contact_id in busy:
            out[address] = "has an open suggestion already"
    return out


def pick_sender(
    sandbox: Any,
    address: str,
    owner_truth: dict[str, Any],
    factory: sessionmaker[Session],
    used: set[str],
) -> tuple[str, str]:
    """The sender of the next trial's request: the owner's most frequent inbox correspondent
    that rapportd should answer now. A person per the generated world's truth: the most
    frequent sender overall is, on some days, a notifier (GitHub) that rapportd rightly never
    answers, and a trial from it timed out. Not flagged automated by the daemon's analysis,
    and without an open suggestion (rapportd holds one per person; so each trial has its own
    sender, ``used``). Returns (the From header to write as, a description of the pick)."""
    people = {
        e.lower(): c for c in owner_truth["contacts"] if not c["automated"] for e in c["emails"]
    }
    counts = inbox_senders(sandbox, address)
    candidates = sorted(
        (a for a in counts if a in people and a not in used), key=lambda a: (-counts[a][0], a)
    )
    blocked = not_answerable_now(factory, candidates)
    for sender in candidates:
        if sender in blocked:
            continue
        used.add(sender)
        how = (
            f"{sender} ({people[sender]['category']}, {counts[sender][0]} inbox messages; "
            "a person per the world's truth)"
        )
        return counts[sender][1], how
    raise SystemExit(
        f"no sender left that rapportd would answer now in {address}'s world: "
        f"{len(candidates)} people unused, {len(blocked)} of them blocked ({blocked})"
    )


def skipped_senders(sandbox: Any, address: str, owner_truth: dict[str, Any]) -> str:
    """The inbox senders more frequent than every person: automated per the truth."""
    automated = {e.lower() for c in owner_truth["contacts"] if c["automated"] for e in c["emails"]}
    counts = inbox_senders(sandbox, address)
    ranked = sorted(counts, key=lambda a: (-counts[a][0], a))
    top = []
    for sender in ranked:
        if sender not in automated:
            break
        top.append(f"{sender} ({counts[sender][0]})")
    return ", ".join(top) or "none"


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
            wait(lambda: analysed(factory), 120)  # the first cycle's analysis
            time.sleep(3)  # let the first cycle's plans and writes pass
            print(
                "  automated senders more frequent than any person (never picked): "
                + skipped_senders(sandbox, address, world.owner)
            )
            used: set[str] = set()
            n = 0
            for mode in ("poll", "push"):
                if mode == "push":  # until now the watch's topic had no subscriber
                    subscribe_pubsub(handle.control_url, web)
                for _ in range(trials):
                    n += 1
                    sender, how = pick_sender(sandbox, address, world.owner, factory, used)
                    print(f"  {mode} trial {len(results[mode]) + 1} from {how}")
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
                    print(f"    draft after {results[mode][-1]:.2f}s")
                    # past the push debounce (5 s), and a random phase of the poll cycle
                    time.sleep(6 + (random.uniform(0, poll) if mode == "poll" else 0))
        finally:
            daemon.stop()
    finally:
        handle.stop()
    return results


def sync_began(factory: sessionmaker[Session]) -> bool:
    with factory() as s:
        return s.scalar(select(SyncRun.id).limit(1)) is not None


@contextmanager
def throwaway_database(server_url: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of ``server_url`` (its URL), dropped
    afterwards (with whatever connections are left)."""
    admin = make_engine(server_url, isolation_level="AUTOCOMMIT")
    name = f"rapportd_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def delete_own_keys(broker_url: str) -> None:
    """Delete rapportd's keys (namespace ``rapportd``: queues, acks, heartbeats) in the
    Redis database of ``broker_url``, and nothing else."""
    import redis

    from rapportd.jobs.broker import REDIS_NAMESPACE

    client = redis.Redis.from_url(broker_url)
    try:
        keys = list(client.scan_iter(match=f"{REDIS_NAMESPACE}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextmanager
def own_redis_database(server_url: str) -> Iterator[str]:
    """The broker URL of a Redis database (number) of this run's own. When ``server_url``
    names one (``redis://host:port/N``), that one, taken as dedicated: rapportd's keys in it
    are deleted first. Else one of 1-15 that holds no key at all, picked at random (as the
    distributed tests pick theirs; 0 is the default the load tests use). rapportd's keys in
    it are deleted afterwards; never FLUSHDB."""
    import redis

    base = server_url.rstrip("/")
    if base.rsplit("/", 1)[-1].isdigit() and base.count("/") > 2:
        url = base
        delete_own_keys(url)
    else:
        for n in random.sample(range(1, 16), 15):
            url = f"{base}/{n}"
            client = redis.Redis.from_url(url)
            try:
                empty = client.dbsize() == 0
            finally:
                client.close()
            if empty:
                break
        else:
            raise SystemExit(
                f"no empty Redis database (1-15) at {server_url}: name a dedicated one, "
                "e.g. --redis redis://127.0.0.1:6379/15"
            )
    try:
        yield url
    finally:
        delete_own_keys(url)


Launch = Callable[[Any, Path], list[Process]]


def launch_run(threads: int) -> Launch:
    """``rapportd run --threads N``: scheduler, workers and web in one process."""

    def launch(settings: Any, logs: Path) -> list[Process]:
        return [Daemon(settings, threads, free_port(), logs / "run.log")]

    return launch


def launch_distributed(processes: int, threads: int) -> Launch:
    """One ``rapportd scheduler`` and ``processes`` × ``rapportd worker --threads N`` (no
    web process: nothing here needs it)."""

    def launch(settings: Any, logs: Path) -> list[Process]:
        env = daemon_env(settings)
        procs = [Process(["scheduler"], env, logs / "scheduler.log")]
        for i in range(processes):
            args = ["worker", "--threads", str(threads)]
            procs.append(Process(args, env, logs / f"worker{i + 1}.log"))
        return procs

    return launch


def throughput(
    accounts: int, days: int, work: Path, name: str, launch: Launch, **store_settings: Any
) -> dict[str, Any]:
    """Connect ``accounts`` generated Google accounts to a fresh store (``store_settings``:
    its database and broker; default SQLite and the embedded broker), start the
    processes of ``launch`` and time until every account's first sync is complete."""
    world = make_world(seed=22, days=days, owners=accounts)
    sandbox = sandbox_from_scenario(world.scenario, f"bench-throughput-{name}")
    handle = start_sandbox(sandbox)
    logs = work / f"tp-{name}"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        settings = sandbox_settings(
            handle.base_url, None, logs, encryption_key=generate_key(), **store_settings
        )
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
        factory = session_factory(engine)
        for owner in world.truth["owners"]:
            oid = add_owner(factory, owner)
            connect_google_with_tokens(sandbox, factory, settings, oid, owner["accounts"]["google"])
        meter = CpuMeter()
        started = time.monotonic()
        procs = launch(settings, logs)
        try:
            # time from the processes' start (their imports take ~1-2 s of it) to all synced
            try:
                first_sync = wait(lambda: sync_began(factory), 120, step=0.1)
                wait(lambda: synced_completely(factory, accounts), 600, step=0.1)
            except TimeoutError:
                for p in procs:
                    sys.stderr.write(f"--- {p.name}\n{p.tail()}\n")
                raise
            drained = time.monotonic() - started
            cpu = {p.name: p.cpu_seconds() for p in procs}
            cpu_wait = {p.name: p.cpu_wait_seconds() for p in procs}
            usage = meter.read()
        finally:
            for p in procs:
                p.stop()
        with factory() as s:
            messages = int(s.scalar(select(func.count()).select_from(Message)) or 0)
            n_accounts = int(s.scalar(select(func.count()).select_from(Account)) or 0)
        calls = len(sandbox.log)
        engine.dispose()
    finally:
        handle.stop()
    return {
        "accounts": n_accounts,
        "messages": messages,
        "seconds": drained,
        "first_sync": first_sync,
        "messages_per_s": messages / drained,
        "api_calls": calls,
        "cpu": cpu,
        "cpu_wait": cpu_wait,
        **usage,
    }


def report(label: str, r: dict[str, Any]) -> None:
    cpu = ", ".join(f"{name} {seconds:.1f}" for name, seconds in r["cpu"].items())
    waits = ", ".join(f"{name} {seconds:.1f}" for name, seconds in r["cpu_wait"].items())
    capacity = r["seconds"] * (os.cpu_count() or 1)
    ours = sum(r["cpu"].values()) + r["sandbox_cpu"] + r["postgres_cpu"] + r["redis_cpu"]
    print(
        f"{label}: {r['messages']} messages of {r['accounts']} accounts "
        f"drained in {r['seconds']:.1f}s = {r['messages_per_s']:.0f} msg/s "
        f"({r['api_calls']} API calls; first sync began at {r['first_sync']:.1f}s: "
        f"{r['messages'] / (r['seconds'] - r['first_sync']):.0f} msg/s from then)\n"
        f"    CPU s: {cpu}; sandbox+benchmark {r['sandbox_cpu']:.1f}; "
        f"postgres (all clients) {r['postgres_cpu']:.1f}; redis {r['redis_cpu']:.1f}; "
        f"all of these {100 * ours / capacity:.0f}% of the machine's {os.cpu_count()} CPUs, "
        f"which were {100 * r['machine_busy']:.0f}% busy\n"
        f"    s ready to run but waiting for a CPU (all threads): {waits}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=3)
    parser.add_argument("--poll", type=int, default=20, help="sync interval (s) for 'poll'")
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument(
        "--threads", default="1,2,4", help="worker thread counts for throughput (default 1,2,4)"
    )
    parser.add_argument(
        "--processes",
        default="",
        help="worker process counts for distributed throughput, e.g. 1,2 (default: none)",
    )
    parser.add_argument(
        "--process-threads", type=int, default=2, help="threads of each worker process"
    )
    parser.add_argument("--postgres", default=POSTGRES_URL, help="PostgreSQL server URL")
    parser.add_argument("--redis", default=REDIS_URL, help="Redis server URL")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args()
    thread_counts = [int(t) for t in args.threads.split(",") if t.strip()]
    process_counts = [int(p) for p in args.processes.split(",") if p.strip()]
    with tempfile.TemporaryDirectory(prefix="rapportd-e2e-") as tmp:
        work = Path(tmp)
        if not args.skip_latency:
            print(
                "latency: seconds from a request landing in the owner's Gmail inbox (sandbox) "
                "to rapportd's draft reply in its thread\n"
                "  (delta sync -> analysis -> plan -> draft written to the sandbox); one "
                f"generated owner, {args.days} days of mail, `rapportd run --threads 2`, SQLite\n"
                f"  poll: found by the account's periodic sync (every {args.poll}s, jittered; "
                "delivered at a random phase of it)\n"
                "  push: the daemon's Gmail watch -> Pub/Sub push with OIDC -> /push/gmail -> sync"
            )
            res = latency(args.trials, args.poll, args.days, work)
            for mode, values in res.items():
                print(
                    f"{mode:>5}: median {statistics.median(values):.2f}s "
                    f"min {min(values):.2f}s max {max(values):.2f}s (n={len(values)})"
                )
        if args.skip_throughput:
            return
        intro = (
            f"throughput: {args.accounts} Google accounts ({args.days} days of mail each) "
            "in a fresh store; seconds from the processes' start (incl. their ~1-2 s of "
            "imports)\n  until every account's first sync of every stream is complete; "
            "messages stored / seconds. CPU seconds of each process over that time."
        )
        print(intro)
        if thread_counts:
            print("embedded: SQLite, `rapportd run --threads N` (one process)")
        for threads in thread_counts:
            r = throughput(args.accounts, args.days, work, f"run{threads}", launch_run(threads))
            report(f"threads={threads}", r)
        if process_counts:
            print(
                "distributed: a throwaway PostgreSQL database, Redis (a database number of "
                "its own), one `rapportd scheduler`\n  and P × `rapportd worker --threads "
                f"{args.process_threads}` processes"
            )
        for processes in process_counts:
            with (
                throwaway_database(args.postgres) as database_url,
                own_redis_database(args.redis) as broker_url,
            ):
                r = throughput(
                    args.accounts,
                    args.days,
                    work,
                    f"workers{processes}",
                    launch_distributed(processes, args.process_threads),
                    database_url=database_url,
                    broker=broker_url,
                )
            report(
                f"worker processes={processes} (x{args.process_threads} threads; Redis "
                f"database {broker_url.rsplit('/', 1)[-1]})",
                r,
            )


if __name__ == "__main__":
    main()
