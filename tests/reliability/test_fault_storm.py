"""Fault storms: the sandbox answers ~10 % of all calls with a fault (429, 403 rate limits,
500/503, dropped connections, latency, expired cursors) across whole cycles of sync,
analysis, planning and write-back. After the storm the store and the mailboxes must be
what a fault-free run of the same scenario gives, and nothing the person sees (account
status, suggestions, outbox states, duplicate drafts) may show the storm except as delay.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from rapportd.agent.store.models import Account, OutboxOperation
from rapportd.connectors.sandbox.faults import Fault

from . import harness as H

# Per call: 2 % 429, 2 % 403 (two kinds), 1.5 % 500, 1.5 % 503, 1 % drop, 1 % latency,
# and a few cursor expiries: ~10 % of all calls.
STORM = [
    ("429", 0.02),
    ("403_rate", 0.01),
    ("403_user_rate", 0.01),
    ("500", 0.015),
    ("503", 0.015),
    ("drop", 0.01),
    ("latency", 0.01),
]
CURSOR_FAULTS = [("expired_sync_token", 0.005), ("stale_history", 0.005)]
FIGURES: dict[str, int] = {}


def storm(sandbox: Any) -> None:
    for kind, rate in STORM:
        sandbox.faults.add(Fault(kind, rate=rate, retry_after=0, latency_ms=100))
    for kind, rate in CURSOR_FAULTS:
        sandbox.faults.add(Fault(kind, rate=rate, count=2))


def faults_fired(sandbox: Any) -> int:
    with sandbox.lock:
        return sum(1 for e in sandbox.log if getattr(e, "fault", ""))


def send_calls(sandbox: Any) -> list[str]:
    """Any call that would send mail (Gmail messages.send / drafts.send, Graph send /
    sendMail): rapportd never sends. (Reading ``settings/sendAs`` sends nothing.)"""
    with sandbox.lock:
        return [e.path for e in sandbox.log if e.path.lower().endswith(("/send", "/sendmail"))]


def calls_made(sandbox: Any) -> int:
    with sandbox.lock:
        return len(sandbox.log)


def run(
    tmp: Path,
    data: dict[str, Any],
    truth: dict[str, Any],
    now: datetime,
    *,
    faults: bool,
    rounds: int,
    microsoft: bool,
) -> tuple[Any, Any, dict[str, Any]]:
    with H.rig(tmp, data, truth, microsoft=microsoft) as r:
        if faults:
            storm(r.sandbox)
        errors = 0
        for _ in range(rounds):
            errors += len(H.run_cycle(r, now).errors)
        if faults:
            r.sandbox.faults.clear()
        final = H.run_cycle(r, now)
        with r.factory() as s:
            visible = {
                "accounts": sorted(
                    (a.address, a.status, a.consecutive_errors) for a in s.scalars(select(Account))
                ),
                "failed_ops": list(
                    s.scalars(select(OutboxOperation.id).where(OutboxOperation.state == "failed"))
                ),
                "errors_during": errors,
                "errors_final": final.errors,
                "faults": faults_fired(r.sandbox),
                "calls": calls_made(r.sandbox),
                "send_calls": send_calls(r.sandbox),
            }
        return H.fingerprint(r.factory), H.mailbox_items(r.sandbox), visible


def check_storm(tmp: Path, seed: int, days: int, rounds: int, microsoft: bool) -> None:
    data, truth = H.scenario(seed=seed, days=days)
    now = datetime.now(UTC).replace(microsecond=0)
    clean_fp, clean_items, clean_seen = run(
        tmp / "clean", data, truth, now, faults=False, rounds=rounds, microsoft=microsoft
    )
    storm_fp, storm_items, seen = run(
        tmp / "storm", data, truth, now, faults=True, rounds=rounds, microsoft=microsoft
    )
    FIGURES["faults"] = FIGURES.get("faults", 0) + seen["faults"]
    FIGURES["calls"] = FIGURES.get("calls", 0) + seen["calls"]
    FIGURES["runs"] = FIGURES.get("runs", 0) + 1
    print(f"storm seed={seed}: {seen['faults']} faults in {seen['calls']} calls")
    assert clean_seen["errors_during"] == 0 and clean_seen["errors_final"] == []
    assert seen["faults"] >= 0.04 * seen["calls"], seen  # the storm really blew
    assert seen["errors_final"] == [], seen["errors_final"]
    assert seen["send_calls"] == [] and clean_seen["send_calls"] == []
    assert seen["accounts"] == clean_seen["accounts"], seen["accounts"]
    assert seen["failed_ops"] == [], "a fault left an outbox item failed"
    diff = H.differences(storm_fp, clean_fp)
    if diff:
        print("DIFF", json.dumps(diff, default=str, indent=1))
    assert diff == {}
    assert storm_items == clean_items  # same drafts and holds, each once
    assert all(n == 1 for n in storm_items.values())
    H.record(
        "storm",
        seed=seed,
        days=days,
        faults=seen["faults"],
        calls=seen["calls"],
        errors_during=seen["errors_during"],
        items=len(storm_items),
        lost=0,
        duplicates=0,
        rows=sum(sum(c.values()) for c in storm_fp.values()),
    )


def test_fault_storm_short(tmp_path: Path) -> None:
    check_storm(tmp_path, seed=31, days=15, rounds=2, microsoft=True)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [41, 42, 43, 44, 45])
def test_fault_storm_long(tmp_path: Path, seed: int) -> None:
    check_storm(tmp_path, seed=seed, days=90, rounds=4, microsoft=True)


def test_an_outage_during_backfill_loses_no_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Gmail answers every messages.get with 503 for a while (longer than the client's own
    retries): the sync stops and resumes later; no message is skipped for good."""
    monkeypatch.setattr("rapportd.connectors.google.client.backoff", lambda *a, **k: 0.0)
    data, truth = H.scenario(seed=33, days=10)
    with H.rig(tmp_path, data, truth) as r:
        address = truth["owners"][0]["accounts"]["google"]
        r.sandbox.faults.add(
            Fault("503", account=address, endpoint="gmail.users.messages.get", count=450)
        )
        report = H.CycleReport()
        for _ in range(6):
            H.sync_all(r, report)
        r.sandbox.faults.clear()
        H.sync_all(r, report)
        with r.sandbox.lock:
            expected = {
                m.id
                for m in r.sandbox.mailbox(address).messages.values()
                if not ({"DRAFT", "SPAM", "TRASH"} & set(m.labels))
            }
        from rapportd.agent.store.models import Message, SkippedItem

        with r.factory() as s:
            stored = set(s.scalars(select(Message.provider_id).where(Message.deleted.is_(False))))
            skipped = list(s.scalars(select(SkippedItem.reason)))
        assert expected - stored == set(), (len(expected - stored), skipped[:2])
