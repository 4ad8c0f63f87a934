"""Analysis benchmark: histories of several sizes in a SQLite store, each analysed from
scratch, then re-analysed after a delta touching 10 contacts.

    .venv/bin/python benchmarks/analysis.py [--sizes 25000,100000,200000,400000]
        [--contacts 2000] [--detector]

Per size the store is filled with a bulk insert (synthetic people with varied rhythms, mail
both ways, some newsletters, meetings, recent messages with text). ``analyse_owner`` then
runs in a fresh child process so that its time and peak memory (max RSS) are its own: a
full analysis (no commitment detector), then, in another child, one new message from each
of 10 contacts (marked dirty as the sync's store writer does) and a re-analysis (not
``full``: incremental). ``--detector`` adds a full analysis with the commitment detector at
the first size. Targets (issue 18): re-analysis <= 1 s and <= 0.1 x full at 200k; full at
400k < 40 s and < 1.5 GB; time per message about constant.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).parent))

from synth_interactions import generate

from rapportd.agent.core.settings import load_settings
from rapportd.agent.store.db import make_engine, session_factory, transaction, upgrade
from rapportd.agent.store.models import Account, CalendarEvent, Message, Owner

OWNER = "owner@acme.com"
NOW = datetime(2024, 6, 1, tzinfo=UTC)
DAYS = 730.0
TEXTS = [
    "Thanks for the update, I will send the revised figures by Friday.",
    "Could you review the draft before our call next week?",
    "Great to see you yesterday. Let's catch up again soon.",
    "Here are the notes from the meeting.",
]


def fill(url: str, n_messages: int, n_contacts: int, seed: int = 7) -> dict[str, int]:
    engine = make_engine(url)
    upgrade(engine)
    rng = np.random.default_rng(seed)
    history = generate(seed, contacts=n_contacts, days=DAYS)
    events = sorted((t, c) for c, ts in history.items() for t in ts)
    start = NOW - timedelta(days=DAYS)
    with transaction(session_factory(engine)) as s:
        owner = Owner(email=OWNER, org_domains=["acme.com"])
        s.add(owner)
        s.flush()
        acc = Account(owner_id=owner.id, provider="google", address=OWNER)
        s.add(acc)
        s.flush()
        owner_id, acc_id = owner.id, acc.id
    base: dict[str, object] = {
        "owner_id": owner_id,
        "account_id": acc_id,
        "thread_id": "",
        "rfc822_id": "",
        "from_name": "",
        "cc_addrs": [],
        "subject": "",
        "new_text": "",
        "has_text": False,
        "word_count": 0,
        "labels": [],
        "references": [],
        "problems": [],
        "list_id": "",
        "list_unsubscribe": False,
    }
    rows: list[dict[str, object]] = []
    meetings: list[dict[str, object]] = []
    contacts = list(history)
    i = 0
    while len(rows) < n_messages:
        for t, c in events:
            if len(rows) >= n_messages:
                break
            i += 1
            # each further pass over the generated events is shifted by about 1.2 h more, so
            # that it writes new messages rather than copies of the first pass's
            shift = (i // len(events)) * (0.05 + float(rng.uniform(0, 0.01)))
            at = start + timedelta(days=t + shift)
            out = rng.random() < 0.5
            extra = [str(x) for x in rng.choice(contacts, int(rng.integers(0, 3)))]
            recent = (NOW - at).days < 90
            rows.append(
                base
                | {
                    "owner_id": owner_id,
                    "account_id": acc_id,
                    "provider_id": f"m{i}",
                    "thread_id": f"t{c}-{int(t // 3)}",
                    "rfc822_id": f"<m{i}@bench>",
                    "from_addr": OWNER if out else c,
                    "from_name": "" if out else c.split("@")[0].title(),
                    "to_addrs": [
                        {"email": a, "name": ""} for a in ([c, *extra] if out else [OWNER])
                    ],
                    "cc_addrs": [],
                    "sent_at": at,
                    "direction": "out" if out else "in",
                    "subject": f"About {c.split('-')[0]}",
                    "new_text": str(rng.choice(TEXTS)) if recent else "",
                    "has_text": recent,
                    "word_count": int(rng.integers(5, 300)),
                    "labels": [],
                    "references": [],
                    "problems": [],
                }
            )
            if rng.random() < 0.03:
                meetings.append(
                    {
                        "owner_id": owner_id,
                        "account_id": acc_id,
                        "provider_id": f"e{i}",
                        "start_at": at,
                        "end_at": at + timedelta(hours=1),
                        "attendees": [
                            {"email": c, "response": "accepted"},
                            {"email": OWNER, "response": "accepted", "self": True},
                        ],
                        "problems": [],
                    }
                )
            if rng.random() < 0.08:  # newsletters
                i += 1
                rows.append(
                    base
                    | {
                        "owner_id": owner_id,
                        "account_id": acc_id,
                        "provider_id": f"n{i}",
                        "from_addr": f"news{i % 40}@lists.example.org",
                        "to_addrs": [{"email": OWNER, "name": ""}],
                        "cc_addrs": [],
                        "sent_at": at,
                        "direction": "in",
                        "list_unsubscribe": True,
                        "list_id": f"<list{i % 40}.example.org>",
                        "labels": ["CATEGORY_PROMOTIONS"],
                        "references": [],
                        "problems": [],
                    }
                )
    with engine.begin() as conn:
        for k in range(0, len(rows), 5000):
            conn.execute(insert(Message), rows[k : k + 5000])
        if meetings:
            conn.execute(insert(CalendarEvent), meetings)
    engine.dispose()
    return {"owner_id": owner_id, "messages": len(rows), "events": len(meetings)}


def run_analysis(url: str, owner_id: int, delta: bool, detector: bool) -> dict[str, object]:
    """Child process: analyse (optionally after a small delta) and report time and RSS."""
    from rapportd.agent.analysis.analyse import analyse_owner
    from rapportd.agent.analysis.dirty import mark_dirty

    engine = make_engine(url)
    settings = load_settings()
    with transaction(session_factory(engine)) as s:
        if delta:
            addrs = [
                a
                for (a,) in s.execute(
                    Message.__table__.select()
                    .with_only_columns(Message.from_addr)
                    .where(Message.direction == "in", Message.list_id == "")
                    .distinct()
                    .limit(10)
                )
            ]
            s.execute(
                insert(Message),
                [
                    {
                        "owner_id": owner_id,
                        "account_id": 1,
                        "provider_id": f"delta-{a}",
                        "from_addr": a,
                        "to_addrs": [{"email": OWNER, "name": ""}],
                        "cc_addrs": [],
                        "sent_at": NOW - timedelta(hours=1),
                        "direction": "in",
                        "labels": [],
                        "references": [],
                        "problems": [],
                    }
                    for a in addrs
                ],
            )
            mark_dirty(s, owner_id, addrs)
    rss_before_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    with transaction(session_factory(engine)) as s:
        summary = analyse_owner(
            s, owner_id, now=NOW, settings=settings, detector=True if detector else None
        )
    seconds = time.perf_counter() - started
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        **vars(summary),
        "seconds": round(seconds, 2),
        "max_rss_mb": round(rss_mb, 1),
        "rss_before_mb": round(rss_before_mb, 1),  # imports and the delta's own setup
    }


def child(url: str, owner_id: int, delta: bool, detector: bool) -> dict[str, object]:
    cmd = [sys.executable, __file__, "--child", url, str(owner_id)]
    cmd += ["--delta"] if delta else []
    cmd += [] if detector else ["--no-detector"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000", help="comma-separated message counts")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--detector", action="store_true")
    parser.add_argument("--child", nargs=2, metavar=("URL", "OWNER_ID"))
    parser.add_argument("--delta", action="store_true")
    parser.add_argument("--no-detector", action="store_true")
    args = parser.parse_args()
    if args.child:
        result = run_analysis(args.child[0], int(args.child[1]), args.delta, not args.no_detector)
        print(json.dumps(result, default=str))
        return 0
    sizes = [int(x) for x in args.sizes.split(",") if x.strip()]
    table = []
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
            started = time.perf_counter()
            info = fill(url, n, args.contacts)
            print(
                f"{n}: filled {info['messages']} messages, {info['events']} events "
                f"in {time.perf_counter() - started:.1f} s",
                flush=True,
            )
            full = child(url, info["owner_id"], False, False)
            print(
                f"  full analysis, no commitment detector: {full['seconds']} s, max RSS "
                f"{full['max_rss_mb']} MB, contacts {full['contacts_total']} (analysed "
                f"{full['contacts_analysed']}, automated {full['automated']})",
                flush=True,
            )
            delta = child(url, info["owner_id"], True, False)
            print(
                f"  re-analysis after a 10-contact delta: {delta['seconds']} s, max RSS "
                f"{delta['max_rss_mb']} MB ({delta['rss_before_mb']} MB before the analysis "
                f"began), analysed {delta['contacts_analysed']}, "
                f"incremental {delta['incremental']}",
                flush=True,
            )
            table.append((info["messages"], full, delta))
            if args.detector and n == sizes[0]:
                with tempfile.TemporaryDirectory() as tmp2:
                    url2 = f"sqlite:///{Path(tmp2) / 'bench.sqlite3'}"
                    info2 = fill(url2, n, args.contacts)
                    r = child(url2, info2["owner_id"], False, True)
                    print(
                        f"  full analysis with the commitment detector: {r['seconds']} s, "
                        f"max RSS {r['max_rss_mb']} MB, commitments upserted "
                        f"{r['commitments_upserted']}",
                        flush=True,
                    )
    print()
    print(
        "| messages | full analysis s | max RSS MB | µs per message | re-analysis s "
        "| max RSS MB | re-analysis ÷ full | contacts re-analysed |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for n_msgs, full, delta in table:
        f_s, d_s = float(str(full["seconds"])), float(str(delta["seconds"]))
        print(
            f"| {n_msgs:,} | {f_s:.2f} | {full['max_rss_mb']} | {1e6 * f_s / n_msgs:.0f} "
            f"| {d_s:.2f} | {delta['max_rss_mb']} | {d_s / f_s:.3f} "
            f"| {delta['contacts_analysed']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
