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
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rapportd.agent.demo.world import settings_env

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


# Opens a fresh rig (sandbox + store) of the scenario under test in the given folder.
OpenRig = Callable[[Path], AbstractContextManager[H.Rig]]


def scenario_rig(data: dict[str, Any], truth: dict[str, Any], ms: bool) -> OpenRig:
    return lambda tmp: H.rig(tmp, data, truth, microsoft=ms)


def clean_run(tmp: Path, open_rig: OpenRig, now: datetime) -> Any:
    with open_rig(tmp) as r:
        for _ in range(CYCLES):
            assert H.run_cycle(r, now).errors == []
        return H.fingerprint(r.factory), H.mailbox_items(r.sandbox)


def _driver(
    r: H.Rig,
    now: datetime,
    progress: Path,
    crash: str = "",
    env_extra: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
    env.update(settings_env(r.settings), RAPPORTD_LOG_LEVEL="WARNING", **(env_extra or {}))
    args = {
        "now": now.isoformat(),
        "cycles": CYCLES,
        "progress": str(progress),
        "crash": crash,
        "trace": not crash,
    }
    return subprocess.Popen(
        [sys.executable, str(DRIVER), json.dumps(args)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def check_after_kill(r: H.Rig, where: str) -> None:
    assert H.duplicates(r.sandbox) == {}, f"duplicate items after a kill at {where}"
    assert H.cursor_ahead(r) == [], f"cursor ahead of its data after a kill at {where}"


@dataclass
class CrashRun:
    fingerprint: dict[str, Counter[tuple[Any, ...]]]
    items: Counter[str]  # the mailboxes' drafts and holds (H.mailbox_items)
    kills: int  # SIGKILLs that landed (a process that finished first was not killed)
    tried: int  # kill points and moments tried (the rest of the plan, after the run was done, not)
    # where the kills at random moments landed: "cycle <n>, after <last point passed>"
    landed: Counter[str] = field(default_factory=Counter)


def landed_at(out: bytes) -> str:
    """Where a traced driver was when it was killed, from its output."""
    cycle, last = "?", "start"
    for line in out.decode(errors="replace").splitlines():
        if line.startswith("cycle "):
            cycle, last = line.split()[1], "start"
        elif line.startswith("point "):
            last = line.split()[1]
    return f"cycle {cycle}, after {last}"


def crash_run(
    tmp: Path,
    open_rig: OpenRig,
    now: datetime,
    kills: list[str | float],
    env_extra: dict[str, str] | None = None,
    check: Callable[[H.Rig], None] | None = None,
) -> CrashRun:
    """Run to completion through ``kills`` (named points, or seconds after start);
    ``check(rig)`` at the end, before the rig closes."""
    with open_rig(tmp) as r:
        progress = tmp / "progress"
        killed_total = 0
        landed: Counter[str] = Counter()
        tried = 0
        for kill in kills:
            tried += 1
            if isinstance(kill, str):
                proc = _driver(r, now, progress, kill, env_extra)
                out, _ = proc.communicate(timeout=300)
            else:
                proc = _driver(r, now, progress, env_extra=env_extra)
                try:
                    out, _ = proc.communicate(timeout=kill)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                    out, _ = proc.communicate(timeout=60)
            killed = proc.returncode == -signal.SIGKILL
            if killed and not isinstance(kill, str):
                landed[landed_at(out)] += 1
            if not killed:
                assert proc.returncode == 0, out.decode()[-3000:]
            FIGURES["kills"] = FIGURES.get("kills", 0) + int(killed)
            killed_total += int(killed)
            FIGURES["kill_attempts"] = FIGURES.get("kill_attempts", 0) + 1
            check_after_kill(r, str(kill))
            if progress.exists() and progress.read_text() == str(CYCLES):
                break  # done: the rest of the plan has nothing left to interrupt
        proc = _driver(r, now, progress, env_extra=env_extra)
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out.decode()[-3000:]
        assert progress.read_text() == str(CYCLES)
        check_after_kill(r, "the end")
        if check is not None:
            check(r)
        return CrashRun(
            H.fingerprint(r.factory), H.mailbox_items(r.sandbox), killed_total, tried, landed
        )


def check_seed(tmp: Path, seed: int, days: int, plans: list[list[str | float]], ms: bool) -> None:
    data, truth = H.scenario(seed=seed, days=days)
    now = datetime.now(UTC).replace(microsecond=0)
    started = time.monotonic()
    open_rig = scenario_rig(data, truth, ms)
    clean_fp, clean_items = clean_run(tmp / "clean", open_rig, now)
    FIGURES["clean_seconds"] = int(time.monotonic() - started)
    for i, plan in enumerate(plans):
        run = crash_run(tmp / f"crash{i}", open_rig, now, plan)
        diff = H.differences(run.fingerprint, clean_fp)
        if diff:
            print("DIFF", plan, json.dumps(diff, default=str, indent=1))
        assert diff == {}, plan
        assert run.items == clean_items, plan
        FIGURES["runs"] = FIGURES.get("runs", 0) + 1
        H.record(
            "crash",
            seed=seed,
            plan=plan,
            kills=run.kills,
            tried=len(plan),
            items=len(run.items),
            duplicates=0,
            lost=0,
            rows=sum(sum(c.values()) for c in run.fingerprint.values()),
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


# --------------------------------------------------------------------------- a real archive
# Steven Kean's mailbox of the Enron sample (benchmarks/realmail.py builds it), replayed as of
# 2001-03-30: 677 messages, 504 within the 365-day sync window and 173 older (recorded as
# skipped), and three drafts written (a reply and two check-ins) — real mail nobody here wrote.
ARCHIVE_AS_OF = datetime(2001, 3, 30, 18, tzinfo=UTC)
ARCHIVE_OWNER: dict[str, Any] = {
    "accounts": {"google": "steven.kean@enron.com"},
    "name": "Steven J Kean",
    "timezone": "America/Chicago",
    "org_domains": [],
}
ARCHIVE_KILLS = 20
ARCHIVE_SEED = 2026


def shared_data(name: str) -> Path | None:
    """``shared/data/<name>`` beside the checkout or a folder above it (the public data
    the benchmarks read is not in the repository), or None."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / name
        if candidate.is_dir():
            return candidate
    return None


def kean_archive(target: Path) -> list[Any]:
    """The Kean mailbox as ``rapportd replay`` reads it (ArchiveMessage, oldest first)."""
    import importlib.util

    from rapportd.connectors.sandbox.archive import read_archive

    sample = shared_data("enron-sample")
    if sample is None:
        pytest.skip("shared/data/enron-sample is absent (public data, see docs/REPLAY.md)")
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "realmail.py"
    spec = importlib.util.spec_from_file_location("realmail", script)
    assert spec is not None and spec.loader is not None
    realmail = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(realmail)
    realmail.build_archive(target, sample)
    archive = read_archive([target], owner=ARCHIVE_OWNER["accounts"]["google"], as_of=ARCHIVE_AS_OF)
    return list(archive.messages)


def each_message_once(r: H.Rig) -> tuple[int, int]:
    """Every message of the archive is in the store exactly once, as a message or as a
    skip record with its reason; (stored, skipped)."""
    from sqlalchemy import select

    from rapportd.agent.store.models import Message, SkippedItem

    with r.sandbox.lock:
        mailbox = r.sandbox.mailbox(ARCHIVE_OWNER["accounts"]["google"])
        archive = {m.id for m in mailbox.messages.values() if "DRAFT" not in m.labels}
    with r.factory() as s:
        stored = Counter(s.scalars(select(Message.provider_id)))
        skipped = Counter(
            pid
            for pid, reason in s.execute(select(SkippedItem.provider_id, SkippedItem.reason))
            if reason
        )
    seen = stored + skipped
    lost = archive - set(seen)
    doubled = {pid: n for pid, n in seen.items() if n > 1}
    assert not lost, f"{len(lost)} of {len(archive)} archive messages lost"
    assert not doubled, f"stored more than once: {doubled}"
    assert set(seen) == archive, set(seen) - archive
    return sum(stored.values()), sum(skipped.values())


@pytest.mark.slow
def test_crash_random_moments_replayed_archive(tmp_path: Path) -> None:
    """kill -9 at 20 random moments (seeded) of a replayed real archive, restarted each time
    until done: every message stored exactly once, no duplicate draft in the mailbox
    (checked after every kill), and the store equal to a clean run's.

    A moment is drawn over the length of a whole run; a restart goes on where the killed one
    was, so the kills of one replay land further and further on (start-up, sync, analysis,
    planning, write-back). A replay that ends before its next moment is compared and a new
    one starts, until 20 kills have landed."""
    messages = kean_archive(tmp_path / "archive")
    open_rig: OpenRig = lambda tmp: H.archive_rig(tmp, messages, ARCHIVE_OWNER, ARCHIVE_AS_OF)  # noqa: E731
    with open_rig(tmp_path / "clean") as r:
        started = time.monotonic()
        for _ in range(CYCLES):
            assert H.run_cycle(r, ARCHIVE_AS_OF).errors == []
        span = time.monotonic() - started + 1.0  # + a driver's start-up
        clean_fp, clean_items = H.fingerprint(r.factory), H.mailbox_items(r.sandbox)
    assert clean_items, "the clean replay wrote nothing: no write for a kill to double"
    rng = random.Random(ARCHIVE_SEED)
    kills, moments, rows, replays = 0, 0, 0, 0
    landed: Counter[str] = Counter()
    counts: list[tuple[int, int]] = []
    while kills < ARCHIVE_KILLS:
        assert replays < 3 * ARCHIVE_KILLS, f"only {kills} kills landed in {replays} replays"
        plan: list[str | float] = [
            round(rng.uniform(0.3, span), 2) for _ in range(ARCHIVE_KILLS - kills)
        ]
        run = crash_run(
            tmp_path / f"crash{replays}",
            open_rig,
            ARCHIVE_AS_OF,
            plan,
            env_extra=H.ARCHIVE_ENV,
            check=lambda r: counts.append(each_message_once(r)),
        )
        diff = H.differences(run.fingerprint, clean_fp)
        assert diff == {}, json.dumps(diff, default=str, indent=1)
        assert run.items == clean_items
        replays += 1
        kills += run.kills
        moments += run.tried
        landed += run.landed
        rows += sum(sum(c.values()) for c in run.fingerprint.values())
    stored, skipped = counts[-1]
    print(
        f"archive: {len(messages)} messages ({stored} stored, {skipped} recorded as skipped), "
        f"{len(clean_items)} drafts/holds; {kills} kills landed ({moments} moments drawn, "
        f"{replays} replays; moments up to {span:.1f} s): {dict(sorted(landed.items()))}; "
        f"{rows} store rows compared: 0 lost, 0 duplicates, 0 differing"
    )
    H.record(
        "crash_archive",
        messages=len(messages),
        stored=stored,
        skipped=skipped,
        items=len(clean_items),
        kills=kills,
        moments=moments,
        replays=replays,
        landed=dict(landed),
        rows=rows,
        lost=0,
        duplicates=0,
    )
