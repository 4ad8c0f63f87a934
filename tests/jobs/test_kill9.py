"""Back to work at once after a crash (issue 16): `rapportd run` (embedded) is killed with
SIGKILL in the middle of its first backfill, then started again. The queue died with the
process, the scheduler had pushed the account's ``next_sync_at`` a grace ahead and the
dead process still holds the sync lease: the restarted daemon must take the work back
within 30 seconds (not after the lease or the grace), then lose and double nothing."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from rapportd.agent.store.models import Account

from .e2e import assert_one_item_per_tag, outcome, wait_for, wait_settled
from .embedded_run import embedded_run, stop

GRACE = "900"  # a grace far longer than the test: the restart must not wait for it


def test_kill9_mid_backfill_then_restart_resumes_within_30_s(tmp_path: Path) -> None:
    with embedded_run(tmp_path, seed=12, name="kill9") as run:
        slow = run.slow_message_reads()
        first = run.start("first", "--grace", GRACE)
        wait_for(run.mid_sync, 40, "the first sync to be under way")
        stop(first, signal.SIGKILL, timeout=10)
        with run.factory() as s:
            account = s.get(Account, run.account_id)
            assert account is not None
            assert account.sync_lease_owner is not None  # the dead process still holds it
            assert account.last_verified_complete_at is None  # killed mid-backfill
        before = run.sync_runs()
        with run.sandbox.lock:
            run.sandbox.faults.remove(slow.id)

        second = run.start("second", "--grace", GRACE)
        restarted = time.monotonic()
        try:
            wait_for(lambda: run.sync_runs() > before, 30, "the restarted daemon to resume")
            resumed = time.monotonic() - restarted
            wait_settled(run.factory, 90, "the restarted daemon to settle")
        except AssertionError:
            run.dump()
            raise
        finally:
            stop(second, signal.SIGTERM)
        out = outcome(run.sandbox, run.factory)
        with run.factory() as s:
            account = s.get(Account, run.account_id)
            assert account is not None and account.last_verified_complete_at is not None
    print(f"kill -9 -> sync resumed after {resumed:.1f} s")  # the figure in RELIABILITY.md
    assert resumed < 30
    missing = run.originals - out.messages
    assert not missing, (
        f"{len(missing)} of {len(run.originals)} messages lost: {sorted(missing)[:5]}"
    )
    assert_one_item_per_tag(out)
