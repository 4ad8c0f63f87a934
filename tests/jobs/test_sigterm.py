"""End to end, embedded: `rapportd run` as a subprocess is sent SIGTERM in the middle of a
sync, then started again. Nothing may be lost (every message of the sandbox stored) and
nothing doubled (unique provider ids; exactly one draft/hold per tag in the sandbox)."""

from __future__ import annotations

import signal
from pathlib import Path

from sqlalchemy import select

from rapportd.agent.store.models import Account, SyncRun

from .e2e import assert_one_item_per_tag, outcome, wait_for, wait_settled
from .embedded_run import embedded_run, stop


def test_sigterm_mid_sync_then_restart_loses_and_doubles_nothing(tmp_path: Path) -> None:
    with embedded_run(tmp_path, seed=11, name="sigterm") as run:
        slow = run.slow_message_reads()  # the backfill takes a few seconds
        first = run.start("first")
        wait_for(run.mid_sync, 40, "the first sync to be under way")
        assert stop(first, signal.SIGTERM) == 0
        with run.factory() as s:
            account = s.get(Account, run.account_id)
            assert account is not None
            assert account.sync_lease_owner is None  # released on the way out
            assert account.last_sync_at is None or account.consecutive_errors == 0
            runs = list(s.execute(select(SyncRun.fetched, SyncRun.finished_at)))
        assert runs and all(finished is not None for _f, finished in runs)
        stored_before = len(outcome(run.sandbox, run.factory).messages & run.originals)
        assert 0 < stored_before < len(run.originals), "the SIGTERM did not land mid-sync"
        with run.sandbox.lock:
            run.sandbox.faults.remove(slow.id)

        second = run.start("second")
        try:
            wait_settled(run.factory, 60, "the restarted daemon to settle")
        except AssertionError:
            run.dump()
            raise
        finally:
            stop(second, signal.SIGTERM)
        out = outcome(run.sandbox, run.factory)
    missing = run.originals - out.messages
    assert not missing, (
        f"{len(missing)} of {len(run.originals)} messages lost: {sorted(missing)[:5]}"
    )
    assert_one_item_per_tag(out)  # nothing doubled
