"""Sync throughput against the sandbox with real quotas and added latency.

    .venv/bin/python benchmarks/sync.py --provider google --messages 10000
    .venv/bin/python benchmarks/sync.py --provider microsoft --messages 10000 --delta 100

Builds a generated mailbox (messages spread over a year, 30 % sent by the owner, some bulk),
serves it from the sandbox with every HTTP round trip slowed by ``--latency-ms`` and the
provider's default limits enforced (Gmail 6,000 units/min/user; Graph 4 concurrent requests
and 10,000 requests per 10 minutes per mailbox), connects the account through the real OAuth
flow, runs a backfill into a fresh SQLite store through ``sync_account`` (quota limiter in the
database, as in production), then adds ``--delta`` messages and runs a delta sync.

Printed per phase: messages, seconds, messages/s, quota units per message (Gmail), HTTP
requests per message, 429s seen by the server, and whether any error reached the sync result.
The Gmail quota-bound rate is units-per-minute / 60 / 5 (messages.get costs 5 units), i.e.
20 messages/s at 6,000 units/min. A short run can beat it: the sliding window starts empty,
so the first minute's 6,000 units are spent at once.

Latency note: the sandbox serves the parts of a Google batch one after another, so the
latency of a batch round trip is spread over its parts (latency / parts per part); every
other request gets the full latency.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rapportd.agent.store.db import make_engine, session_factory, upgrade
from rapportd.connectors.sandbox.faults import Fault
from rapportd.connectors.sandbox.server import running_sandbox
from rapportd.connectors.sandbox.state import Sandbox
from rapportd.connectors.sync.account import sync_account
from tests.connectors.conftest import connect
from tests.connectors.world import MS_OWNER, OWNER, PEOPLE, raw_message, settings_for


def build(provider: str, count: int, seed: int = 7) -> tuple[Sandbox, str]:
    import random

    sb = Sandbox(seed=seed)
    address = OWNER if provider == "google" else MS_OWNER
    sb.add_account(provider, address)  # type: ignore[arg-type]
    box = sb.mailbox(address)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    for i in range(count):
        other = rng.choice(PEOPLE)
        out = rng.random() < 0.3
        when = now - timedelta(days=rng.uniform(0.1, 360), seconds=i)
        raw = raw_message(
            address if out else other,
            other if out else address,
            f"Note {i}",
            f"Hello {i},\nI will send the draft by Friday.\n\n> earlier text\n" * 3,
            when,
            extra={"List-Id": "<n.list.example>"} if rng.random() < 0.1 else None,
        )
        box.add_message(raw)
    return sb, address


def add_latency(sb: Sandbox, provider: str, latency_ms: int, batch: int) -> None:
    if provider == "google":
        per_part = max(1, latency_ms // batch)
        sb.faults.add(Fault("latency", endpoint="gmail.users.messages.get", latency_ms=per_part))
        for ep in (
            "gmail.users.messages.list",
            "gmail.users.history.list",
            "gmail.users.getProfile",
        ):
            sb.faults.add(Fault("latency", endpoint=ep, latency_ms=latency_ms))
    else:
        sb.faults.add(Fault("latency", endpoint="graph.*", latency_ms=latency_ms))


def counters(sb: Sandbox, address: str) -> dict[str, Any]:
    data: dict[str, Any] = sb.mailbox(address).counters.as_json()
    return data


def measure(
    label: str, sb: Sandbox, address: str, run: Any, messages: int, quota_per_min: int
) -> dict[str, Any]:
    before = counters(sb, address)
    t0 = time.monotonic()
    error = ""
    try:
        result = run()
    except Exception as exc:  # reported, not hidden
        result, error = getattr(exc, "sync_result", None), f"{type(exc).__name__}: {exc}"
    seconds = time.monotonic() - t0
    after = counters(sb, address)
    units = after["units"] - before["units"]
    calls = after["total_calls"] - before["total_calls"]
    http = calls - sum(
        after["calls"].get(k, 0) - before["calls"].get(k, 0)
        for k in after["calls"]
        if k == "gmail.users.messages.get"
    )
    statuses = {
        k: after["statuses"].get(k, 0) - before["statuses"].get(k, 0) for k in after["statuses"]
    }
    fetched = result.fetched if result is not None else 0
    row = {
        "phase": label,
        "messages": fetched,
        "seconds": round(seconds, 1),
        "msg_per_s": round(fetched / seconds, 1) if seconds else 0.0,
        "units_per_msg": round(units / fetched, 2) if fetched else 0.0,
        "http_requests_per_msg": round(http / fetched, 3) if fetched else 0.0,
        "api_calls_per_msg": round(calls / fetched, 3) if fetched else 0.0,
        "server_429": statuses.get("429", 0),
        "error_in_result": error or "none",
    }
    row["other_statuses"] = {k: v for k, v in statuses.items() if k not in ("200", "204") and v}
    if quota_per_min and fetched:
        bound = quota_per_min / 60 / 5  # messages/s when every message costs one messages.get
        row["quota_bound_msg_per_s"] = round(bound, 1)
        row["share_of_quota_bound"] = f"{100 * row['msg_per_s'] / bound:.0f} %"
    return row


def run_provider(provider: str, count: int, delta: int, latency_ms: int) -> list[dict[str, Any]]:
    sb, address = build(provider, count)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["RAPPORTD_DATA_DIR"] = tmp
        engine = make_engine(f"sqlite:///{tmp}/bench.sqlite3")
        upgrade(engine)
        sessions = session_factory(engine)
        with running_sandbox(sb, tls=provider == "microsoft") as handle:
            settings = settings_for(handle.base_url, handle.ca_file)
            account_id = connect(settings, sessions, provider, address)
            add_latency(sb, provider, latency_ms, settings.sync.gmail_batch_size)
            streams = ["gmail"] if provider == "google" else ["graph_inbox", "graph_sentitems"]
            quota = sb.quota.config.gmail_units_per_minute if provider == "google" else 0
            rows = [
                measure(
                    "backfill",
                    sb,
                    address,
                    lambda: sync_account(sessions, account_id, settings, streams=streams),
                    count,
                    quota,
                )
            ]
            box = sb.mailbox(address)
            now = datetime.now(UTC)
            for i in range(delta):
                box.add_message(
                    raw_message(PEOPLE[i % 4], address, f"New {i}", "Fresh text\n", now)
                )
            rows.append(
                measure(
                    f"delta +{delta}",
                    sb,
                    address,
                    lambda: sync_account(sessions, account_id, settings, streams=streams),
                    delta,
                    0,
                )
            )
        engine.dispose()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--provider", choices=["google", "microsoft", "both"], default="both")
    parser.add_argument("--messages", type=int, default=10000)
    parser.add_argument("--delta", type=int, default=100)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    providers = ["google", "microsoft"] if args.provider == "both" else [args.provider]
    for provider in providers:
        print(f"== {provider}: {args.messages} messages, {args.latency_ms} ms latency")
        for row in run_provider(provider, args.messages, args.delta, args.latency_ms):
            print("  " + "  ".join(f"{k}={v}" for k, v in row.items()), flush=True)


if __name__ == "__main__":
    main()
