"""End to end, embedded: `rapportd run` as a subprocess is sent SIGTERM in the middle of a
sync, then started again. Nothing may be lost (every message of the sandbox stored) and
nothing doubled (unique provider ids; exactly one draft/hold per tag in the sandbox)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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


def test_sigterm_mid_sync_then_restart_loses_and_doubles_nothing(tmp_path: Path) -> None:
    world = make_world(seed=11, days=45)
    sandbox = sandbox_from_scenario(world.scenario, "sigterm")
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
                [RAPPORTD, "run", "--port", "0"], env=env, stdout=out, stderr=subprocess.STDOUT
            )

        def mid_sync() -> bool:
            with factory() as s:
                return bool(
                    s.scalar(
                        select(func.count())
                        .select_from(SyncRun)
                        .where(SyncRun.finished_at.is_(None), SyncRun.fetched > 0)
                    )
                )

        # Slow the message reads so that the backfill takes a few seconds.
        with sandbox.lock:
            slow = sandbox.faults.add_json(
                {"kind": "latency", "endpoint": "gmail.users.messages.*", "latency_ms": 20}
            )
        first = start("first")
        try:
            wait_for(mid_sync, 40, "the first sync to be under way")
            first.send_signal(signal.SIGTERM)
            assert first.wait(30) == 0
        finally:
            if first.poll() is None:
                first.kill()
        with factory() as s:
            account = s.get(Account, account_id)
            assert account is not None
            assert account.sync_lease_owner is None  # released on the way out
            assert account.last_sync_at is None or account.consecutive_errors == 0
            runs = list(s.execute(select(SyncRun.fetched, SyncRun.finished_at)))
        assert runs and all(finished is not None for _f, finished in runs)
        stored_before = len(outcome(sandbox, factory).messages & originals)
        assert 0 < stored_before < len(originals), "the SIGTERM did not land mid-sync"
        with sandbox.lock:
            sandbox.faults.remove(slow.id)

        second = start("second")
        try:
            wait_settled(factory, 60, "the restarted daemon to settle")
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
    missing = originals - out.messages
    assert not missing, f"{len(missing)} of {len(originals)} messages lost: {sorted(missing)[:5]}"
    assert_one_item_per_tag(out)  # nothing doubled
    engine.dispose()
