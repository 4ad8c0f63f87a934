"""`rapportd run` (embedded) as a subprocess against a sandbox world, for the tests that
stop it mid-sync (SIGTERM, SIGKILL) and start it again: the world, the store, the daemon's
environment and log files, and the questions those tests ask of the store."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
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
from rapportd.agent.store.models import SyncRun
from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
from rapportd.connectors.sandbox.server import running_sandbox

from .e2e import original_message_ids, outbox_summary

RAPPORTD = str(Path(sys.executable).with_name("rapportd"))


@dataclass
class EmbeddedRun:
    sandbox: Any
    engine: Engine
    factory: sessionmaker[Session]
    account_id: int
    originals: set[tuple[str, str]]  # the sandbox's messages before the run
    env: dict[str, str]
    logs: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """`rapportd run --port 0 ARGS…`, its output in ``logs/NAME.log``."""
        out = (self.logs / f"{name}.log").open("wb")
        proc = subprocess.Popen(
            [RAPPORTD, "run", "--port", "0", *args],
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        return proc

    def slow_message_reads(self, latency_ms: int = 20) -> Any:
        """Slow Gmail's message calls so that a backfill lasts a few seconds; returns the
        fault (``sandbox.faults.remove(fault.id)`` ends it)."""
        with self.sandbox.lock:
            return self.sandbox.faults.add_json(
                {"kind": "latency", "endpoint": "gmail.users.messages.*", "latency_ms": latency_ms}
            )

    def sync_runs(self) -> int:
        with self.factory() as s:
            return int(s.scalar(select(func.count()).select_from(SyncRun)) or 0)

    def mid_sync(self) -> bool:
        """A sync has fetched something and not finished."""
        with self.factory() as s:
            return bool(
                s.scalar(
                    select(func.count())
                    .select_from(SyncRun)
                    .where(SyncRun.finished_at.is_(None), SyncRun.fetched > 0)
                )
            )

    def dump(self) -> None:
        """The outbox and the daemons' logs, on stderr (when a wait timed out)."""
        sys.stderr.write(f"outbox: {outbox_summary(self.factory)}\n")
        for f in sorted(self.logs.iterdir()):
            sys.stderr.write(f"--- {f.name}\n{f.read_text(errors='replace')[-3000:]}\n")


def stop(proc: subprocess.Popen[bytes], signum: int, timeout: float = 30) -> int | None:
    """Send ``signum``; kill if it has not exited within ``timeout``. Its exit code."""
    if proc.poll() is None:
        proc.send_signal(signum)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)
        return None


@contextmanager
def embedded_run(tmp_path: Path, *, seed: int, name: str, days: int = 45) -> Iterator[EmbeddedRun]:
    """A generated world in a running sandbox, its owner connected to a migrated store in
    ``tmp_path``; every daemon started through the run is killed at the end."""
    world = make_world(seed=seed, days=days)
    sandbox = sandbox_from_scenario(world.scenario, name)
    originals = original_message_ids(sandbox, [world.owner["accounts"]["google"]])
    with running_sandbox(sandbox) as handle:
        settings = sandbox_settings(
            handle.base_url, None, tmp_path / "data", encryption_key=generate_key(), workers=2
        )
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
        factory = session_factory(engine)
        owner_id = add_owner(factory, world.owner)
        account_id = connect_google_with_tokens(
            sandbox, factory, settings, owner_id, world.owner["accounts"]["google"]
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
        env.update(settings_env(settings), RAPPORTD_LOG_LEVEL="WARNING")
        logs = tmp_path / "logs"
        logs.mkdir()
        run = EmbeddedRun(sandbox, engine, factory, account_id, originals, env, logs)
        try:
            yield run
        finally:
            for proc in run.procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(5)
            engine.dispose()
