"""Benchmark of the provider sandbox: load a generated 1-year scenario, then serve a Gmail
backfill (messages.list + batched messages.get format=metadata, 50 per batch) through
googleapiclient built from the bundled discovery document.

    .venv/bin/python benchmarks/sandbox.py [--owners 2] [--days 365] [--batch 50] [--workers 1]

Prints the figures. The per-user Gmail quota is lifted for the run (a real 6,000 units/min
would cap a backfill at 1,200 messages a minute; the quota itself is tested elsewhere).
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

from rapportd.connectors.sandbox.clients import google_credentials, google_service
from rapportd.connectors.sandbox.generator import generate
from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
from rapportd.connectors.sandbox.server import running_sandbox

HEADERS = [
    "From",
    "To",
    "Cc",
    "Subject",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "List-Id",
    "List-Unsubscribe",
    "Precedence",
    "Auto-Submitted",
]
SCOPES = ["https://www.googleapis.com/auth/gmail.readonly"]


def list_all(gmail: Any, q: str) -> list[str]:
    ids: list[str] = []
    request = gmail.users().messages().list(userId="me", q=q, maxResults=500)
    while request is not None:
        page = request.execute()
        ids += [m["id"] for m in page.get("messages", [])]
        request = gmail.users().messages().list_next(request, page)
    return ids


def fetch_batched(gmail: Any, ids: list[str], size: int) -> int:
    got = 0
    errors = 0

    def done(_rid: str, response: Any, exc: Exception | None) -> None:
        nonlocal got, errors
        if exc is None and response.get("payload"):
            got += 1
        else:
            errors += 1

    for i in range(0, len(ids), size):
        batch = gmail.new_batch_http_request(callback=done)
        for mid in ids[i : i + size]:
            batch.add(
                gmail.users()
                .messages()
                .get(userId="me", id=mid, format="metadata", metadataHeaders=HEADERS)
            )
        batch.execute()
    if errors:
        raise RuntimeError(f"{errors} batch parts failed")
    return got


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--owners", type=int, default=2)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument(
        "--workers", type=int, default=1, help="parallel clients, each syncing its own account"
    )
    args = parser.parse_args()

    t0 = time.perf_counter()
    scenario, _ = generate(args.owners, args.days, seed=0)
    t_gen = time.perf_counter() - t0
    t0 = time.perf_counter()
    sandbox = sandbox_from_scenario(scenario, "generated")
    t_load = time.perf_counter() - t0
    sandbox.quota.update({"gmail_units_per_minute": 10**9})
    google = sorted(
        (a for a in sandbox.accounts.values() if a.provider == "google"),
        key=lambda a: -len(a.mailbox.messages),
    )[: max(1, args.workers)]

    figures: dict[str, Any] = {
        "owners": args.owners,
        "days": args.days,
        "scenario_messages": len(scenario["messages"]),
        "scenario_events": len(scenario["events"]),
        "generate_s": round(t_gen, 3),
        "load_s": round(t_load, 3),
        "load_messages_per_s": round(len(scenario["messages"]) / t_load),
    }
    with running_sandbox(sandbox) as handle:
        results: dict[str, dict[str, float]] = {}

        def sync(address: str) -> None:
            access, refresh = sandbox.issue_tokens(address, SCOPES)
            gmail = google_service(
                "gmail",
                handle.base_url,
                google_credentials(handle.base_url, access, refresh, SCOPES),
            )
            start = time.perf_counter()
            ids = list_all(gmail, f"newer_than:{args.days}d")
            listed = time.perf_counter()
            got = fetch_batched(gmail, ids, args.batch)
            end = time.perf_counter()
            results[address] = {
                "messages": got,
                "list_s": listed - start,
                "get_s": end - listed,
                "total_s": end - start,
            }

        started = time.perf_counter()
        threads = [threading.Thread(target=sync, args=(a.address,)) for a in google]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
    total = sum(r["messages"] for r in results.values())
    figures.update(
        {
            "accounts_synced": len(results),
            "messages_fetched": total,
            "batch_size": args.batch,
            "wall_s": round(wall, 3),
            "messages_per_s": round(total / wall),
            "per_account": {a: {k: round(v, 3) for k, v in r.items()} for a, r in results.items()},
        }
    )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
