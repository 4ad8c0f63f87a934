"""Load: the distributed set-up (PostgreSQL + Redis, one scheduler, N worker processes) on
many owners with a Gmail and an Outlook account each, while the sandbox delivers new mail
and its clock moves on (tokens expire and are refreshed). Checked from the outside:

- nothing lost: every delivered message ends up in the store; no duplicate draft or hold;
- the queue drains once deliveries stop, and every account was synced again after its
  last delivery (no account starves; the worst delivery-to-store lag is reported);
- quotas respected: the sandbox never had to throttle rapportd (no 429/403 that was not an
  injected fault) and no Gmail mailbox spent more than its units per minute;
- memory flat: the workers' resident memory at the end is close to the middle of the run.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rapportd.agent.core.vault import generate_key
from rapportd.agent.demo.world import settings_env
from rapportd.agent.store.models import Account, Message, SyncRun

from . import harness as H

RAPPORTD = str(Path(sys.executable).with_name("rapportd"))
FIGURES: dict[str, Any] = {}


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def queue_depth(broker_url: str) -> int:
    from rapportd.jobs.actors import declare_actors
    from rapportd.jobs.broker import make_broker
    from rapportd.jobs.broker import queue_depth as depth

    broker = make_broker(broker_url)
    declare_actors(broker)
    try:
        return sum(depth(broker).values())
    finally:
        broker.close()


def flush(broker_url: str) -> None:
    from rapportd.jobs.actors import declare_actors
    from rapportd.jobs.broker import make_broker

    broker = make_broker(broker_url)
    declare_actors(broker)
    broker.flush_all()  # type: ignore[attr-defined]
    broker.close()


def new_mail(sandbox: Any, address: str, sender: str, n: int) -> str:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = address
    msg["Subject"] = f"Load test note {n}"
    msg["Date"] = format_datetime(sandbox.clock.now())
    msg["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    msg.set_content(f"Hello, note number {n}. Could you send me the figures by Friday?\n")
    account = sandbox.account(address)
    folder = "inbox" if account.provider == "microsoft" else None
    stored = sandbox.mailbox(address).add_message(
        msg.as_bytes(),
        labels=["INBOX", "UNREAD"],
        folder=folder,
        internal_date_ms=sandbox.clock.now_ms(),
    )
    return str(stored.id)


def quota_breaches(sandbox: Any) -> tuple[int, int]:
    """(throttled calls that were not injected faults, worst Gmail units in any 60 s)."""
    with sandbox.lock:
        log = list(sandbox.log)
    throttled = sum(1 for e in log if e.status in (429, 403) and not e.fault)
    worst = 0
    by_account: dict[str, list[tuple[float, int]]] = defaultdict(list)
    for e in log:
        if e.endpoint.startswith("gmail.") and e.units:
            by_account[e.account].append((e.start, e.units))
    for calls in by_account.values():
        calls.sort()
        lo, total = 0, 0
        for t, units in calls:
            total += units
            while calls[lo][0] < t - 60:
                total -= calls[lo][1]
                lo += 1
            worst = max(worst, total)
    return throttled, worst


def soak(
    tmp: Path,
    pg_url: str,
    redis_url: str,
    *,
    owners: int,
    workers: int,
    ticks: int,
    tick_seconds: float,
    per_tick: int,
    days: int,
    drain_timeout: float,
) -> dict[str, Any]:
    data, truth = H.scenario(seed=71, days=days, owners=owners)
    flush(redis_url)
    started = time.monotonic()
    procs: list[subprocess.Popen[bytes]] = []
    with H.rig(
        tmp,
        data,
        truth,
        microsoft=True,
        database_url=pg_url,
        broker=redis_url,
        encryption_key=generate_key(),
        workers=2,
        sync={"interval_seconds": 5},
    ) as r:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORTD_")}
        env.update(settings_env(r.settings), RAPPORTD_LOG_LEVEL="WARNING")
        logs = tmp / "logs"
        logs.mkdir()

        def start(name: str, *args: str) -> subprocess.Popen[bytes]:
            out = (logs / f"{name}.log").open("wb")
            p = subprocess.Popen([RAPPORTD, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
            procs.append(p)
            return p

        rng = random.Random(7)
        addresses = [a for o in truth["owners"] for a in o["accounts"].values()]
        senders = [c["email"] for o in truth["owners"] for c in o["contacts"][:5]]
        delivered: dict[str, tuple[str, float]] = {}
        rss: dict[int, list[int]] = defaultdict(list)
        try:
            start("scheduler", "scheduler", "--interval", "0.5")
            pool = [
                start(f"worker{i}", "worker", "--threads", "2", "--lease-seconds", "10")
                for i in range(workers)
            ]
            for tick in range(ticks):
                for _ in range(per_tick):
                    address = rng.choice(addresses)
                    pid = new_mail(r.sandbox, address, rng.choice(senders), len(delivered))
                    delivered[pid] = (address, time.time())
                r.sandbox.clock.advance(timedelta(hours=1))
                for p in pool:
                    rss[p.pid].append(rss_kb(p.pid))
                time.sleep(tick_seconds)
                assert all(p.poll() is None for p in procs), f"a process died at tick {tick}"
            last_delivery = time.time()
            deadline = time.monotonic() + drain_timeout

            def missing() -> set[str]:
                with r.factory() as s:
                    rows = s.execute(
                        select(Message.provider_id, Account.address).join(
                            Account, Account.id == Message.account_id
                        )
                    )
                    have = {(a, H_internal(p, a, r.sandbox)) for p, a in rows}
                return {pid for pid, (a, _t) in delivered.items() if (a, pid) not in have}

            depths = [queue_depth(redis_url)]
            while time.monotonic() < deadline and (missing() or depths[-1]):
                time.sleep(1.0)
                depths.append(queue_depth(redis_url))
            lost = missing()
            # syncs keep being enqueued every interval: "drained" = the queue was seen empty
            depth = min(depths)
            FIGURES["queue_depth_at_stop"] = depths[0]
            with r.factory() as s:
                syncs = dict(
                    s.execute(
                        select(SyncRun.account_id, func.count()).group_by(SyncRun.account_id)
                    ).all()
                )
                accounts = {a.id: a for a in s.scalars(select(Account))}
                created = {
                    (a, H_internal(p, a, r.sandbox)): c
                    for p, a, c in s.execute(
                        select(Message.provider_id, Account.address, Message.created_at).join(
                            Account, Account.id == Message.account_id
                        )
                    )
                }
                synced_after = sum(
                    1
                    for a in accounts.values()
                    if a.last_sync_at and a.last_sync_at.timestamp() >= last_delivery - 30
                )
                statuses = sorted({a.status for a in accounts.values()})
                not_ok = [
                    f"{a.provider} {a.status}: {a.status_reason or a.last_error}"[:300]
                    for a in accounts.values()
                    if a.status != "ok"
                ]
        except BaseException:
            for f in sorted(logs.iterdir()):
                sys.stderr.write(f"--- {f.name}\n{f.read_text()[-2000:]}\n")
            raise
        finally:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
            keep = os.environ.get("RAPPORTD_TEST_LOAD_LOGS")
            if keep:  # keep the processes' logs for a look after the run
                import shutil

                shutil.copytree(logs, keep, dirs_exist_ok=True)
        lags = [
            created[(a, pid)].timestamp() - t
            for pid, (a, t) in delivered.items()
            if (a, pid) in created
        ]
        throttled, worst_units = quota_breaches(r.sandbox)
        series = [v for v in rss.values() if len(v) >= 3]
        growth = (
            max(
                (max(v[-max(1, len(v) // 3) :]) - max(v[len(v) // 3 : 2 * len(v) // 3] or v))
                for v in series
            )
            if series
            else 0
        )
        return {
            "owners": owners,
            "accounts": len(accounts),
            "workers": workers,
            "delivered": len(delivered),
            "lost": len(lost),
            "duplicates": len(H.duplicates(r.sandbox)),
            "queue_depth_end": depth,
            "queue_depth_when_deliveries_stopped": FIGURES.get("queue_depth_at_stop"),
            "min_syncs_per_account": min(syncs.get(a, 0) for a in accounts),
            "accounts_synced_after_last_delivery": synced_after,
            "worst_lag_s": round(max(lags), 1) if lags else None,
            "throttled_by_sandbox": throttled,
            "worst_gmail_units_per_min": worst_units,
            "rss_growth_kb": growth,
            "rss_end_kb": max((v[-1] for v in series), default=0),
            "statuses": statuses,
            "not_ok": not_ok,
            "seconds": round(time.monotonic() - started, 1),
        }


def H_internal(provider_id: str, address: str, sandbox: Any) -> str:
    """The sandbox's id of a stored message (Graph ids encode it)."""
    from rapportd.connectors.sandbox.graph_ids import decode_message_id

    if "@" in address and sandbox.account(address).provider == "google":
        return provider_id
    try:
        return decode_message_id(provider_id)[0]
    except ValueError:
        return provider_id


def check(figures: dict[str, Any]) -> None:
    print("LOAD", figures)
    FIGURES.update(figures)
    H.record("load", **figures)
    for key in ("lost", "duplicates", "queue_depth_end", "throttled_by_sandbox"):
        assert figures[key] == 0, (key, figures)
    assert figures["min_syncs_per_account"] >= 2, figures
    assert figures["accounts_synced_after_last_delivery"] == figures["accounts"], figures
    assert figures["worst_gmail_units_per_min"] <= 6000, figures
    assert figures["rss_growth_kb"] < 60_000, ("worker memory keeps growing", figures)
    assert figures["statuses"] == ["ok"], figures


@pytest.mark.postgres
@pytest.mark.redis
def test_load_small(tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    check(
        soak(
            tmp_path,
            postgres_url,
            redis_url,
            owners=5,
            workers=2,
            ticks=8,
            tick_seconds=2.0,
            per_tick=4,
            days=20,
            drain_timeout=90,
        )
    )


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.redis
def test_load_soak(tmp_path: Path, postgres_url: str, redis_url: str) -> None:
    """50 owners x 2 accounts, 4 workers, 72 simulated hours (sizes can be lowered with
    RAPPORTD_TEST_LOAD_OWNERS / RAPPORTD_TEST_LOAD_TICKS for a quicker look)."""
    owners = int(os.environ.get("RAPPORTD_TEST_LOAD_OWNERS", "50"))
    ticks = int(os.environ.get("RAPPORTD_TEST_LOAD_TICKS", "72"))
    check(
        soak(
            tmp_path,
            postgres_url,
            redis_url,
            owners=owners,
            workers=4,
            ticks=ticks,
            tick_seconds=2.5,
            per_tick=10,
            days=30,
            drain_timeout=300,
        )
    )
