"""Interaction histories from the sandbox scenario generator (connectors/sandbox/generator.py).

Each owner's mail (raw RFC 822 in the scenario) and held meetings become per-person
interaction times; people come from the generator's ground truth (one person may write from
several addresses), automated senders are left out, as rapportd itself does.
"""

from __future__ import annotations

import email
from collections import defaultdict
from datetime import datetime, timedelta
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

import numpy as np

from rapportd.agent.inference.cadence import to_days

OWNERS, DAYS, SEED = 2, 730, 11


def owner_history(scenario: dict[str, Any], owner: dict[str, Any]) -> dict[str, list[float]]:
    mine = {a.lower() for a in owner["addresses"]}
    accounts = {a.lower() for a in owner["accounts"].values()}
    person = {}
    for c in owner["contacts"]:
        if not c["automated"]:
            for e in c["emails"]:
                person[e.lower()] = c["email"].lower()
    history: dict[str, list[float]] = defaultdict(list)
    seen: set[str] = set()
    for m in scenario["messages"]:
        if m["account"].lower() not in accounts:
            continue
        msg = email.message_from_string(m["raw"])
        mid = msg.get("Message-ID", "")
        if mid and mid in seen:
            continue
        seen.add(mid)
        try:
            at = parsedate_to_datetime(msg["Date"])
        except (TypeError, ValueError):
            continue
        sender = next((a.lower() for _, a in getaddresses([msg.get("From", "")]) if a), "")
        rcpts = {a.lower() for _, a in getaddresses(msg.get_all("To", []) + msg.get_all("Cc", []))}
        if sender in mine:
            people = {person[r] for r in rcpts if r in person}
        elif sender in person and rcpts & mine:
            people = {person[sender]}
        else:
            people = set()
        for p in people:
            history[p].append(to_days(at))
    now = datetime.fromisoformat(scenario["now"].replace("Z", "+00:00"))
    for e in scenario["events"]:
        if e["account"].lower() not in accounts or e.get("status") == "cancelled":
            continue
        start = datetime.fromisoformat(e["start"])
        if start > now:
            continue
        for a in e.get("attendees", []):
            addr = a.get("email", "").lower()
            if addr in person and a.get("response") != "declined":
                history[person[addr]].append(to_days(start))
    return {c: sorted(ts) for c, ts in history.items()}


def sandbox_histories() -> list[tuple[dict[str, list[float]], list[float]]]:
    from rapportd.connectors.sandbox.generator import generate

    scenario, truth = generate(OWNERS, DAYS, SEED)
    now = datetime.fromisoformat(truth["now"].replace("Z", "+00:00"))
    start = to_days(now - timedelta(days=DAYS))
    cuts = [start + float(d) for d in np.arange(300.0, DAYS - 30.0, 45.0)]
    return [(owner_history(scenario, o), cuts) for o in truth["owners"]]
