"""Back to work at once after a crash (issue 16): `rapportd run` (embedded) is killed with
SIGKILL in the middle of its first backfill, then started again. The queue died with the
process, the scheduler had pushed the account's ``next_sync_at`` a grace ahead and the
dead process still holds the sync lease: the restarted daemon must take the work back
within 30 seconds (not after the lease or the grace), then lose and double nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from rapportd.agent.store.db import make_engine, session_factory, upgrade
from rapportd.agent.store.models import Account, SyncRun
from rapportd.agent.vault import generate_key
from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
from rapportd.connectors.sandbox.server import running_sandbox
from rapportd.jobs.demo_world import (
    add_owner,
    connect_google_with_tokens,
    make_world,
    sandbox_settings,
    settings_env,
)

from .e2e import (
    assert_one_item_per_tag,
    original_message_ids,
    outbox_summary,
    outcome,
    wait_for,
    wait_settled,
)

RAPPORTD = str(Path(sys.executable).with_name("rapportd"))


def test_kill9_mid_backfill_then_restart_resumes_within_30_s(tmp_path: Path) -> None:
    world = make_world(seed=12, days=45)
    sandbox = sandbox_from_scenario(world.scenario, "kill9")
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

        def start(name: str) -> subprocess.Popen[bytes]:
            out = (logs / f"{name}.log").open("wb")
            return subprocess.Popen(
                # a grace far longer than the test: the restart must not wait for it
                [RAPPORTD, "run", "--port", "0", "--grace", "900"],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

        def runs() -> int:
            with factory() as s:
                return int(s.scalar(select(func.count()).select_from(SyncRun)) or 0)

        def mid_sync() -> bool:
            with factory() as s:
                return bool(
                    s.scalar(
                        select(func.count())
                        .select_from(SyncRun)
                        .where(SyncRun.finished_at.is_(None), SyncRun.fetched > 0)
                    )
                )

        with sandbox.lock:
            slow = sandbox.faults.add_json(
                {"kind": "latency", "endpoint": "gmail.users.messages.*", "latency_ms": 20}
            )
        first = start("first")
        try:
            wait_for(mid_sync, 40, "the first sync to be under way")
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        with factory() as s:
            account = s.get(Account, account_id)
            assert account is not None
            assert account.sync_lease_owner is not None  # the dead process still holds it
            assert account.last_verified_complete_at is None  # killed mid-backfill
        before = runs()
        with sandbox.lock:
            sandbox.faults.remove(slow.id)

        second = start("second")
        restarted = time.monotonic()
        try:
            wait_for(lambda: runs() > before, 30, "the restarted daemon to resume the sync")
            resumed = time.monotonic() - restarted
            wait_settled(factory, 90, "the restarted daemon to settle")
        except AssertionError:
            sys.stderr.write(f"outbox: {outbox_summary(factory)}\n")
            for f in sorted(logs.iterdir()):
                sys.stderr.write(f"--- {f.name}\n{f.read_text(errors='replace')[-3000:]}\n")
            raise
        finally:
            second.send_signal(signal.SIGTERM)
            try:
                second.wait(30)
            except subprocess.TimeoutExpired:
                second.kill()
        out = outcome(sandbox, factory)
        with factory() as s:
            account = s.get(Account, account_id)
            assert account is not None and account.last_verified_complete_at is not None
    print(f"kill -9 -> sync resumed after {resumed:.1f} s")  # the figure in RELIABILITY.md
    assert resumed < 30
    missing = originals - out.messages
    assert not missing, f"{len(missing)} of {len(originals)} messages lost: {sorted(missing)[:5]}"
    assert_one_item_per_tag(out)
    engine.dispose()
