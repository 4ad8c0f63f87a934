"""Generate realistic sandbox scenarios: a year (or ``days``) of each owner's mail and
calendars, and the ground truth a test can score rapportd's inferences against.

``generate(owners, days, seed, now=...)`` returns ``(scenario, ground_truth)``: the
scenario is the JSON the sandbox loads (docs/SANDBOX.md), the ground truth says, per owner,
who each contact is (category, rhythm, fading, automated), which sentences are promises
and requests (due date, kept, answered) and which events are meetings with whom.

Deterministic: everything comes from ``random.Random`` seeded with ``seed`` and the owner's
index, and time comes from the scenario's ``now``, never from the wall clock.

CLI: ``rapportd sandbox generate --owners N --days D --seed S OUT``
(``rapportd.agent.cli.sandbox``).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rapportd.connectors.sandbox.gen_bulk import bulk_mail
from rapportd.connectors.sandbox.gen_events import (
    client_meetings,
    personal_events,
    recurring_meetings,
)
from rapportd.connectors.sandbox.gen_people import Person, make_cast, make_owner
from rapportd.connectors.sandbox.gen_threads import contact_times, person_thread
from rapportd.connectors.sandbox.gen_world import World

DEFAULT_NOW = "2026-11-24T12:00:00Z"
PLANNED_DAYS = 30  # how far past "now" the calendars already hold events


def parse_now(now: str | datetime) -> datetime:
    if isinstance(now, datetime):
        return now.astimezone(UTC) if now.tzinfo else now.replace(tzinfo=UTC)
    return datetime.fromisoformat(now.replace("Z", "+00:00")).astimezone(UTC)


def _contact_truth(w: World, p: Person) -> dict[str, Any]:
    seen = [w.last_seen[e] for e in p.emails if e in w.last_seen]
    last = max(seen) if seen else None
    expected = None
    if last is not None and p.rhythm.kind != "none":
        expected = (last + timedelta(days=p.rhythm.mean_gap_days)).date().isoformat()
    return {
        "email": p.email,
        "emails": list(p.emails),
        "name": p.name,
        "category": p.category,
        "automated": p.automated,
        "internal": p.internal,
        "timezone": p.timezone,
        "accounts": [w.account_address(a) for a in p.accounts],
        "rhythm": {"kind": p.rhythm.kind, "mean_gap_days": p.rhythm.mean_gap_days},
        "fading": p.fading,
        "last_contact": last.astimezone(UTC).isoformat() if last else None,
        "expected_next": expected,
    }


def generate_owner(seed: int, index: int, days: int, now: datetime) -> World:
    """Mail, events and truth of one owner (``index``) for ``days`` ending at ``now``."""
    rng = random.Random(f"rapportd-sandbox:{seed}:{index}")
    owner = make_owner(rng, index)
    w = World(rng, owner, now - timedelta(days=days), now, now + timedelta(days=PLANNED_DAYS))
    w.cast = make_cast(rng, owner, days)
    for p in w.cast:
        if p.automated:
            bulk_mail(w, p)
            continue
        for t0 in contact_times(w, p):
            person_thread(w, p, t0)
    by_cat: dict[str, list[Person]] = {}
    for p in w.cast:
        by_cat.setdefault(p.category, []).append(p)
    recurring_meetings(w, by_cat["colleague"])
    client_meetings(w, by_cat["client"], by_cat["colleague"])
    personal_events(w, by_cat["friend"], by_cat["family"])
    return w


def generate(
    owners: int = 1, days: int = 365, seed: int = 0, now: str | datetime = DEFAULT_NOW
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The scenario (sandbox JSON) and its ground truth, both plain JSON-able dicts."""
    when = parse_now(now)
    scenario: dict[str, Any] = {
        "version": 1,
        "now": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "accounts": [],
        "oauth_clients": [],
        "messages": [],
        "events": [],
        "faults": [],
        "quota": {
            "gmail_units_per_minute": 6000,
            "graph_concurrency": 4,
            "graph_requests_per_10min": 10000,
        },
        "history_horizon_hours": 168,
    }
    truth: dict[str, Any] = {
        "version": 1,
        "now": scenario["now"],
        "seed": seed,
        "days": days,
        "owners": [],
    }
    for index in range(owners):
        w = generate_owner(seed, index, days, when)
        o = w.owner
        scenario["accounts"] += [
            {
                "provider": "google",
                "address": o.gmail,
                "display_name": o.name,
                "timezone": o.timezone,
                "owner": o.key,
                "aliases": [],
            },
            {
                "provider": "microsoft",
                "address": o.work,
                "display_name": o.name,
                "timezone": o.timezone,
                "owner": o.key,
                "aliases": list(o.aliases),
            },
        ]
        scenario["messages"] += w.messages
        scenario["events"] += w.events
        contacts = [_contact_truth(w, p) for p in w.cast]
        truth["owners"].append(
            {
                "owner": o.key,
                "name": o.name,
                "timezone": o.timezone,
                "org_domains": [o.org_domain],
                "addresses": [o.gmail, o.work, *o.aliases],
                "accounts": {"google": o.gmail, "microsoft": o.work},
                "contacts": contacts,
                "commitments": w.commitments,
                "meetings": w.meetings,
                "drifting": [c["email"] for c in contacts if c["fading"]],
                "counts": {"messages": len(w.messages), "events": len(w.events)},
            }
        )
    return scenario, truth


def write(out: Path, owners: int, days: int, seed: int, now: str = DEFAULT_NOW) -> dict[str, int]:
    """Write ``out/scenario.json`` and ``out/ground_truth.json``; returns counts."""
    scenario, truth = generate(owners, days, seed, now)
    out.mkdir(parents=True, exist_ok=True)
    (out / "scenario.json").write_text(json.dumps(scenario, ensure_ascii=False), "utf-8")
    (out / "ground_truth.json").write_text(json.dumps(truth, ensure_ascii=False, indent=1), "utf-8")
    return {
        "accounts": len(scenario["accounts"]),
        "messages": len(scenario["messages"]),
        "events": len(scenario["events"]),
        "commitments": sum(len(o["commitments"]) for o in truth["owners"]),
    }
