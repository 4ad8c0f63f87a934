"""Distributed: PostgreSQL + Redis (or RabbitMQ), a scheduler and two worker processes
(`rapportd scheduler` / `rapportd worker` with env settings) sync 3 sandbox accounts and
write back; one worker is SIGKILLed in the middle of a sync. The run must converge to what
the embedded daemon (SQLite, in-process) makes of the same world: the same stored
messages and events, the same suggestions, exactly one draft/hold per suggestion; and the
sandbox's request log must show no two syncs of one account at once."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from rapportd.agent.store.db import make_engine, session_factory, upgrade
from rapportd.agent.store.models import Account, SyncRun
from rapportd.agent.vault import generate_key
from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
from rapportd.connectors.sandbox.server import running_sandbox
from rapportd.jobs.daemon import Daemon, DaemonOptions
from rapportd.jobs.demo_world import (
    World,
    add_owner,
    connect_google_with_tokens,
    make_world,
    sandbox_settings,
    settings_env,
)

from .e2e import (
    Outcome,
    assert_one_item_per_tag,
    log_entries,
    original_event_ids,
    original_message_ids,
    outbox_summary,
    outcome,
    settle_state,
    sync_overlaps,
    sync_runs,
    wait_for,
    wait_settled,
)

RAPPORTD = str(Path(sys.executable).with_name("rapportd"))
SEED, OWNERS, DAYS = 5, 3, 45
Originals = tuple[set[tuple[str, str]], set[tuple[str, str]]]


@pytest.fixture(scope="module")
def world() -> World:
    return make_world(seed=SEED, days=DAYS, owners=OWNERS)


@pytest.fixture(scope="module")
def embedded(world: World, tmp_path_factory: pytest.TempPathFactory) -> Outcome:
    """The reference: the same world through the embedded daemon (SQLite, one process)."""
    data = tmp_path_factory.mktemp("embedded")
    sandbox = sandbox_from_scenario(world.scenario, "embedded")
    with running_sandbox(sandbox) as handle:
        settings = sandbox_settings(handle.base_url, None, data, workers=3)
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
        factory = session_factory(engine)
        for owner in world.truth["owners"]:
            oid = add_owner(factory, owner)
            connect_google_with_tokens(sandbox, factory, settings, oid, owner["accounts"]["google"])
        daemon = Daemon(settings, DaemonOptions(roles={"scheduler", "worker"}, tick_seconds=0.3))
        daemon.start()
        try:
            wait_settled(factory, 180, "the embedded run to settle")
        finally:
            daemon.stop()
        out = outcome(sandbox, factory)
    engine.dispose()
    assert_one_item_per_tag(out)
    return out


def _flush(broker_url: str) -> None:
    from rapportd.jobs.actors import declare_actors
    from rapportd.jobs.broker import make_broker

    b = make_broker(broker_url)
    declare_actors(b)
    b.flush_all()  # type: ignore[attr-defined]
    b.close()


class Processes:
    """`rapportd` subprocesses with their output in log files; all stopped at the end."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.procs: list[subprocess.Popen[bytes]] = []
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}.log").open("wb")
        p = subprocess.Popen([RAPPORTD, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.procs.append(p)
        return p

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def dump(self) -> str:
        return "".join(
            f"--- {f.name}\n{f.read_text(errors='replace')[-3000:]}\n"
            for f in sorted(self.logs.iterdir())
        )


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
    procs = Processes(env, tmp_path / "logs")
    yield procs
    procs.stop()


def run_distributed(
    world: World, tmp_path: Path, database_url: str, broker_url: str, procs: Processes
) -> tuple[Outcome, list[str], Originals]:
    sandbox = sandbox_from_scenario(world.scenario, "distributed")
    addresses = [o["accounts"]["google"] for o in world.truth["owners"]]
    originals = (
        original_message_ids(sandbox, addresses),
        original_event_ids(sandbox, addresses),
    )
    _flush(broker_url)
    with running_sandbox(sandbox) as handle:
        settings = sandbox_settings(
            handle.base_url,
            None,
            tmp_path / "data",
            database_url=database_url,
            broker=broker_url,
            encryption_key=generate_key(),
            workers=2,
        )
        engine = make_engine(database_url)
        upgrade(engine)
        factory = session_factory(engine)
        for owner in world.truth["owners"]:
            oid = add_owner(factory, owner)
            connect_google_with_tokens(sandbox, factory, settings, oid, owner["accounts"]["google"])
        procs.env.update(settings_env(settings), RAPPORTD_LOG_LEVEL="WARNING")
        # Slow every sync call a little, so that the kill lands inside a sync.
        with sandbox.lock:
            slow = sandbox.faults.add_json(
                {"kind": "latency", "endpoint": "gmail.users.messages.*", "latency_ms": 15}
            )
        try:
            procs.start("scheduler", "scheduler", "--interval", "0.3", "--grace", "6")
            victim = procs.start("worker1", "worker", "--threads", "2", "--lease-seconds", "3")
            victim_holder = f"{socket.gethostname()}:{victim.pid}"

            def victim_syncing() -> bool:
                with factory() as s:
                    leased = s.scalar(
                        select(Account.id).where(Account.sync_lease_owner == victim_holder)
                    )
                    return leased is not None and (
                        s.scalar(
                            select(SyncRun.id).where(
                                SyncRun.account_id == leased, SyncRun.fetched > 0
                            )
                        )
                        is not None
                    )

            wait_for(victim_syncing, 60, "the first worker to be in the middle of a sync")
            procs.start("worker2", "worker", "--threads", "2", "--lease-seconds", "3")
            victim.send_signal(signal.SIGKILL)
            victim.wait(10)
            killed_at = time.time()
            with sandbox.lock:
                sandbox.faults.remove(slow.id)
            wait_settled(factory, 180, "the run to converge")
        except BaseException:
            from rapportd.jobs.demo import stage

            sys.stderr.write(f"stage: {stage(factory)}\noutbox: {outbox_summary(factory)}\n")
            sys.stderr.write(f"settle state: {settle_state(factory)}\n")
            sys.stderr.write(procs.dump())
            raise
        finally:
            procs.stop()
        out = outcome(sandbox, factory)
        problems = sync_overlaps(log_entries(sandbox), sync_runs(factory), killed_at=killed_at)
    engine.dispose()
    return out, problems, originals


def check_converged(out: Outcome, reference: Outcome, originals: Originals) -> None:
    assert_one_item_per_tag(out)
    # Same store: every message and event the sandbox held is stored (drafts and holds
    # written during a run come back with later syncs, depending on timing: only the
    # originals are comparable) ...
    messages, events = originals
    assert out.messages & messages == reference.messages & messages == messages
    assert out.events & events == reference.events & events == events
    # ... the same suggestions, and as many drafts/holds of each kind in each mailbox (the
    # tags also hash the evidence, which can name a message a later sync brought in).
    assert out.dedupe_keys == reference.dedupe_keys
    assert per_mailbox(out) == per_mailbox(reference)


def per_mailbox(out: Outcome) -> dict[str, dict[str, int]]:
    return {
        address: dict(sorted(Counter(tag.split(":", 1)[0] for tag in tags.elements()).items()))
        for address, tags in out.items.items()
    }


@pytest.mark.xdist_group("distributed")  # one at a time: each runs several processes
@pytest.mark.postgres
@pytest.mark.redis
def test_distributed_redis_converges_after_a_worker_is_killed(
    world: World,
    embedded: Outcome,
    tmp_path: Path,
    postgres_url: str,
    redis_url: str,
    processes: Processes,
) -> None:
    # A Redis database of its own: a run flushes its queues and must not eat (or feed)
    # another run's messages.
    url = redis_url.rsplit("/", 1)[0] + f"/{random.randint(1, 15)}"
    out, problems, originals = run_distributed(world, tmp_path, postgres_url, url, processes)
    assert not problems, "\n".join(problems)
    check_converged(out, embedded, originals)


@pytest.mark.xdist_group("distributed")
@pytest.mark.postgres
@pytest.mark.rabbitmq
def test_distributed_rabbitmq_converges_after_a_worker_is_killed(
    world: World,
    embedded: Outcome,
    tmp_path: Path,
    postgres_url: str,
    rabbitmq_url: str,
    processes: Processes,
) -> None:
    out, problems, originals = run_distributed(
        world, tmp_path, postgres_url, rabbitmq_url, processes
    )
    assert not problems, "\n".join(problems)
    check_converged(out, embedded, originals)
