"""Crash safety: a process running whole cycles (crash_driver.py) is SIGKILLed at chosen
points (after a sync batch, inside a transaction before its commit, after analysis or
planning, before/after a provider write, before the write is recorded) and at random
moments, then restarted until it is done. After every kill: no suggestion has two drafts or
holds in the mailbox and no sync cursor is ahead of its data. At the end the store equals
the store of a clean run of the same scenario, and the mailboxes hold the same items.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rapportd.jobs.demo_world import settings_env

from . import harness as H

DRIVER = Path(__file__).with_name("crash_driver.py")
CYCLES = 2
# Named kill points and how often each is reached in one run (1 owner, 2 accounts, 2 cycles):
# the occurrence to kill at is drawn from that range.
POINTS = {
    "sync_batch": 8,
    "commit": 60,
    "analysed": 2,
    "planned": 2,
    "op_claimed": 12,
    "op_before_write": 12,
    "op_after_write": 12,
    "op_recorded": 12,
}
FIGURES: dict[str, int] = {}


def clean_run(
    tmp: Path, data: dict[str, Any], truth: dict[str, Any], now: datetime, ms: bool
) -> Any:
    with H.rig(tmp, data, truth, microsoft=ms) as r:
        for _ in range(CYCLES):
            assert H.run_cycle(r, now).errors == []
        return H.fingerprint(r.factory), H.mailbox_items(r.sandbox)


def _driver(r: H.Rig, now: datetime, progress: Path, crash: str = "") -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
    env.update(settings_env(r.settings), RAPPORTD_LOG_LEVEL="WARNING")
    args = {"now": now.isoformat(), "cycles": CYCLES, "progress": str(progress), "crash": crash}
    return subprocess.Popen(
        [sys.executable, str(DRIVER), json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def check_after_kill(r: H.Rig, where: str) -> None:
    assert H.duplicates(r.sandbox) == {}, f"duplicate items after a kill at {where}"
    assert H.cursor_ahead(r) == [], f"cursor ahead of its data after a kill at {where}"


def crash_run(
    tmp: Path,
    data: dict[str, Any],
    truth: dict[str, Any],
    now: datetime,
    kills: list[str | float],
    ms: bool,
) -> Any:
    """Run to completion through ``kills`` (named points, or seconds after start)."""
    with H.rig(tmp, data, truth, microsoft=ms) as r:
        progress = tmp / "progress"
        killed_total = 0
        for kill in kills:
            if isinstance(kill, str):
                proc = _driver(r, now, progress, kill)
                out, _ = proc.communicate(timeout=300)
                killed = proc.returncode == -signal.SIGKILL
            else:
                proc = _driver(r, now, progress)
                try:
                    out, _ = proc.communicate(timeout=kill)
                    killed = False
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    out, _ = proc.communicate(timeout=60)
                    killed = True
            if not killed:
                assert proc.returncode == 0, out.decode()[-3000:]
            FIGURES["kills"] = FIGURES.get("kills", 0) + int(killed)
            killed_total += int(killed)
            FIGURES["kill_attempts"] = FIGURES.get("kill_attempts", 0) + 1
            check_after_kill(r, str(kill))
            if progress.exists() and progress.read_text() == str(CYCLES):
                break  # done: the rest of the plan has nothing left to interrupt
        proc = _driver(r, now, progress)
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out.decode()[-3000:]
        assert progress.read_text() == str(CYCLES)
        check_after_kill(r, "the end")
        return H.fingerprint(r.factory), H.mailbox_items(r.sandbox), killed_total


def check_seed(tmp: Path, seed: int, days: int, plans: list[list[str | float]], ms: bool) -> None:
    data, truth = H.scenario(seed=seed, days=days)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.monotonic()
    clean_fp, clean_items = clean_run(tmp / "clean", data, truth, now, ms)
    FIGURES["clean_seconds"] = int(time.monotonic() - started)
    for i, plan in enumerate(plans):
        fp, items, killed = crash_run(tmp / f"crash{i}", data, truth, now, plan, ms)
        diff = H.differences(fp, clean_fp)
        if diff:
            print("DIFF", plan, json.dumps(diff, default=str, indent=1))
        assert diff == {}, plan
        assert items == clean_items, plan
        FIGURES["runs"] = FIGURES.get("runs", 0) + 1
        H.record(
            "crash",
            seed=seed,
            plan=plan,
            kills=killed,
            tried=len(plan),
            items=len(items),
            duplicates=0,
            lost=0,
            rows=sum(sum(c.values()) for c in fp.values()),
        )


def test_crash_points_short(tmp_path: Path) -> None:
    """CI: one scenario, a kill at a few points in each phase, restarted to the end."""
    plans: list[list[str | float]] = [
        ["sync_batch:2", "commit:5", "op_after_write:2"],
        ["analysed:1", "op_before_write:3", "op_recorded:1", 2.5],
    ]
    check_seed(tmp_path, seed=51, days=15, plans=plans, ms=False)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(61, 69))
def test_crash_points_long(tmp_path: Path, seed: int) -> None:
    """Many seeds, both providers: every named point (at a random occurrence) and random
    moments, several kills per run."""
    rng = random.Random(seed)
    plans: list[list[str | float]] = []
    for _ in range(4):
        plan: list[str | float] = []
        for _ in range(rng.randint(2, 4)):
            if rng.random() < 0.7:
                point = rng.choice(sorted(POINTS))
                plan.append(f"{point}:{rng.randint(1, POINTS[point])}")
            else:
                plan.append(round(rng.uniform(1.0, 12.0), 2))
        plans.append(plan)
    check_seed(tmp_path, seed=seed, days=45, plans=plans, ms=True)
