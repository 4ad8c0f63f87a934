"""Suggestion benchmark: precision and recall of plan_owner on generated sandbox scenarios.

    .venv/bin/python benchmarks/suggestions.py [--seeds 7 8 9] [--days 120] [--json]

For each seed: generate a scenario (connectors/sandbox/generator.py), serve it with the
sandbox, connect the Google and Outlook accounts through the real OAuth flows, sync them,
run the analysis, then ``plan_owner`` at the scenario's "now". The expected suggestions
are derived from ``ground_truth.json`` (an oracle that knows the true promises, requests,
meetings, rhythms and fading contacts) and compared with what rapportd proposed.

Matching rules (what a perfect rapportd should propose at ``now``; see docs/SUGGESTIONS.md):

- ``thank_you`` — an external, held (not declined / cancelled), non-recurring meeting with
  fewer than 8 people that ended in the last 48 h, when the owner has not written to any
  *external* attendee since it started (writing to a colleague who was there is not
  thanking the client). Key: meeting start (UTC, minute) + title.
- ``promise_hold`` — an owner promise not delivered by ``now`` whose due time is in
  ``(now, now + 14 days]``. Key: the RFC 822 id of the message that made the promise.
- ``promise_follow_up`` — an owner promise not delivered by ``now`` whose due time is at
  most a day ahead and at most 30 days past.
- ``reply_needed`` — a request to the owner that the owner did not answer in its thread,
  asked 2+ business days (owner's working days and zone) and at most 30 days ago.
- ``nudge`` — someone's promise to the owner, not delivered, due 1+ business day and at most
  30 days ago; or an owner's request unanswered for 3+ business days (none are generated).
- ``reconnect`` (``check_in`` and ``reconnect_hold`` are one class, keyed by the contact's
  address) — **wanted** when the contact's true rhythm is regular (weekly ... quarterly) and
  the silence since the last real contact (a message, or a held meeting of fewer than 8
  people) is longer than 1.6 x the true mean gap (the longest gap the generator's rhythm
  makes), and at least 3 threads with them had started by then (a rhythm one could have
  seen: one gap is not a rhythm). A *fading* contact that does not meet this yet (faded too recently, or too
  little history to tell) is **optional**: a suggestion for it is neither right nor wrong.
  Irregular (bursty) contacts are never wanted (long quiet spells are their rhythm), but
  one silent for over 1.6 x its true mean gap is optional: the generator's label says "not
  drifting", yet the silence is longer than anything its visible history showed, and a
  person reading the mailbox could fairly call it drifting.

Optional items are left out of both precision and recall. Due dates are the end of the
due day in the *writer's* time zone (the owner's for owner promises, the contact's for
theirs), like the detector resolves them.

Target: precision >= 0.9 at recall >= 0.8 (over all seeds, all kinds).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.parser import HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.settings import Settings
from rapportd.agent.store.db import make_engine, session_factory, transaction, upgrade
from rapportd.agent.store.models import CalendarEvent, Commitment, Contact, Message, Suggestion
from rapportd.agent.suggest.timeutil import business_days_elapsed

WORKDAYS = (0, 1, 2, 3, 4)
THANK_WINDOW = timedelta(hours=48)
LARGE = 8
STALE = timedelta(days=30)


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _due(text: str | None, tz: ZoneInfo) -> datetime | None:
    if not text:
        return None
    if "T" in text:
        return _dt(text)
    # a date: due at the end of that day in the owner's zone
    return datetime.fromisoformat(text).replace(hour=23, minute=59, tzinfo=tz)


REGULAR = ("weekly", "biweekly", "monthly", "quarterly")
MAX_JITTER = 1.6  # the generator's longest regular gap, as a multiple of the mean gap
MIN_THREADS = 3  # a rhythm one could have seen: three conversations before the silence


def expected(
    truth_owner: dict[str, Any], scenario: dict[str, Any], now: datetime
) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """What a perfect rapportd would suggest at ``now`` (wanted, optional), from the truth."""
    tz = ZoneInfo(truth_owner["timezone"])
    mine = {a.lower() for a in truth_owner["addresses"]}
    out: set[tuple[str, str]] = set()
    optional: set[tuple[str, str]] = set()
    ends = {e.get("id") or e.get("event_id"): e for e in scenario["events"]}
    zone_of = {
        e.lower(): c["timezone"] for c in truth_owner["contacts"] for e in c.get("emails", [])
    }
    mail = _parsed(scenario)
    sent = [x for x in mail if x.sender in mine]
    for m in truth_owner["meetings"]:
        if not m["external"] or m["declined"] or m["cancelled"] or m["recurring"]:
            continue
        if len(m["attendees"]) + 1 >= LARGE:
            continue
        start = _dt(m["start"])
        ev = ends.get(m["event_id"], {})
        end = _dt(ev["end"]) if isinstance(ev.get("end"), str) else start + timedelta(hours=1)
        if not (end <= now <= end + THANK_WINDOW):
            continue
        org = tuple("@" + d.lower() for d in truth_owner.get("org_domains", []))
        others = {a.lower() for a in m["attendees"] if not a.lower().endswith(org)}
        wrote = any(start <= x.at <= now and others & x.recipients for x in sent)
        if not wrote:
            out.add(
                ("thank_you", f"{start.astimezone(ZoneInfo('UTC')):%Y-%m-%dT%H:%M}|{m['summary']}")
            )
    for c in truth_owner["commitments"]:
        sent_at = _dt(c["sent_at"])
        if sent_at > now:
            continue
        writer_tz = tz if c["owner_is_author"] else ZoneInfo(zone_of.get(c["by"].lower(), "UTC"))
        due = _due(c.get("due"), writer_tz)
        delivered = bool(c.get("delivered_at")) and _dt(c["delivered_at"]) <= now
        answered = c.get("answered") is True  # the owner replied in the request's thread
        if c["kind"] == "commitment" and c["owner_is_author"] and not delivered and due:
            if now < due <= now + timedelta(days=14):
                out.add(("promise_hold", c["message_id"]))
            if due - timedelta(days=1) <= now and now - due <= STALE:
                out.add(("promise_follow_up", c["message_id"]))
        elif c["kind"] == "request" and not c["owner_is_author"]:
            if (
                not answered
                and now - sent_at <= STALE
                and business_days_elapsed(sent_at, now, WORKDAYS, tz) >= 2
            ):
                out.add(("reply_needed", c["message_id"]))
        elif c["kind"] == "commitment" and not c["owner_is_author"] and due and not delivered:
            if business_days_elapsed(due, now, WORKDAYS, tz) >= 1 and now - due <= STALE:
                out.add(("nudge", c["message_id"]))
        elif (
            c["kind"] == "request"
            and c["owner_is_author"]
            and (
                not answered
                and now - sent_at <= STALE
                and business_days_elapsed(sent_at, now, WORKDAYS, tz) >= 3
            )
        ):
            out.add(("nudge", c["message_id"]))
    for contact in truth_owner["contacts"]:
        if contact["automated"]:
            continue
        key = ("reconnect", contact["email"].lower())
        last = _last_contact(contact, truth_owner["meetings"], now)
        gap = float(contact["rhythm"]["mean_gap_days"])
        if last is None or gap <= 0:
            continue
        emails = {e.lower() for e in contact.get("emails", [contact["email"]])}
        seen = _threads_before(mail, emails, last) >= MIN_THREADS
        silent = now - last > timedelta(days=MAX_JITTER * gap)
        if contact["rhythm"]["kind"] in REGULAR and seen and silent:
            out.add(key)
        elif contact["fading"] or silent:
            optional.add(key)
    return out, optional


def _last_contact(
    contact: dict[str, Any], meetings: list[dict[str, Any]], now: datetime
) -> datetime | None:
    """The last message with the contact, or held small meeting they were invited to."""
    emails = {e.lower() for e in contact.get("emails", [contact["email"]])}
    times = [_dt(contact["last_contact"])] if contact.get("last_contact") else []
    for m in meetings:
        if m["cancelled"] or m["declined"] or len(m["attendees"]) + 1 >= LARGE:
            continue
        start = _dt(m["start"])
        if start <= now and emails & {a.lower() for a in m["attendees"]}:
            times.append(start)
    return max(times) if times else None


@dataclass(frozen=True)
class _Mail:
    sender: str
    recipients: frozenset[str]
    at: datetime
    root: str  # the first message id of its thread


def _parsed(scenario: dict[str, Any]) -> list[_Mail]:
    """Headers of the scenario's raw messages (the truth lists no threads per contact)."""
    out = []
    parser = HeaderParser()
    for entry in scenario["messages"]:
        h = parser.parsestr(entry["raw"], headersonly=True)
        sender = getaddresses([str(h.get("From", ""))])
        rcpts = getaddresses([str(x) for k in ("To", "Cc") for x in h.get_all(k, [])])
        refs = str(h.get("References", "")).split()
        out.append(
            _Mail(
                sender=(sender[0][1] if sender else "").lower(),
                recipients=frozenset(a.lower() for _, a in rcpts if a),
                at=parsedate_to_datetime(str(h["Date"])),
                root=refs[0] if refs else str(h.get("Message-ID", "")),
            )
        )
    return out


def _threads_before(mail: list[_Mail], emails: set[str], until: datetime) -> int:
    """How many threads with the contact had started by ``until``."""
    starts: dict[str, datetime] = {}
    for x in mail:
        if x.sender in emails or emails & x.recipients:
            starts[x.root] = min(starts.get(x.root, x.at), x.at)
    return sum(1 for t in starts.values() if t <= until)


def predicted(session: Session, owner_id: int) -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for s in session.scalars(select(Suggestion).where(Suggestion.owner_id == owner_id)):
        if s.kind in ("check_in", "reconnect_hold"):
            c = session.get(Contact, s.contact_id) if s.contact_id else None
            out.add(("reconnect", (c.primary_address if c else "?").lower()))
        elif s.kind == "thank_you":
            ev = session.get(CalendarEvent, s.event_id) if s.event_id else None
            if ev is not None and ev.start_at is not None:
                out.add(("thank_you", f"{ev.start_at:%Y-%m-%dT%H:%M}|{ev.summary}"))
        else:
            c2 = session.get(Commitment, s.commitment_id) if s.commitment_id else None
            msg = session.get(Message, c2.message_id) if c2 and c2.message_id else None
            out.add((s.kind, msg.rfc822_id if msg else f"?{s.id}"))
    return out


def run_seed(seed: int, days: int, workdir: Path) -> dict[str, Any]:
    from rapportd.agent.analysis.analyse import analyse_owner
    from rapportd.agent.demo.world import add_owner, connect_with_oauth, sandbox_settings
    from rapportd.agent.suggest.planner import plan_owner
    from rapportd.connectors.sandbox.generator import generate
    from rapportd.connectors.sandbox.scenario import sandbox_from_scenario
    from rapportd.connectors.sandbox.server import start_sandbox
    from rapportd.connectors.sync.account import sync_account

    scenario, truth = generate(1, days, seed)
    now = _dt(truth["now"])
    owner = truth["owners"][0]
    sandbox = sandbox_from_scenario(scenario, f"bench seed {seed}")
    plain = start_sandbox(sandbox)
    secure = start_sandbox(sandbox, tls=True)
    timings: dict[str, float] = {}
    try:
        data = workdir / f"seed{seed}"
        settings: Settings = sandbox_settings(plain.base_url, secure.ca_file, data)
        settings = settings.model_copy(
            update={
                "microsoft": settings.microsoft.model_copy(
                    update={
                        "authority_host": secure.base_url,
                        "graph_base_url": secure.base_url + "/v1.0",
                    }
                ),
                "sync": settings.sync.model_copy(
                    update={"backfill_days": days + 5, "text_days": days + 5}
                ),
            }
        )
        engine = make_engine(settings.effective_database_url)
        upgrade(engine)
        factory: sessionmaker[Session] = session_factory(engine)
        owner_id = add_owner(factory, owner)
        accounts = [
            connect_with_oauth(factory, settings, owner_id, "google", owner["accounts"]["google"]),
            connect_with_oauth(
                factory, settings, owner_id, "microsoft", owner["accounts"]["microsoft"]
            ),
        ]
        t = time.monotonic()
        for account_id in accounts:
            sync_account(factory, account_id, settings)
        timings["sync_s"] = time.monotonic() - t
        t = time.monotonic()
        with transaction(factory) as session:
            analyse_owner(session, owner_id, now=now, settings=settings)
        timings["analysis_s"] = time.monotonic() - t
        t = time.monotonic()
        with transaction(factory) as session:
            plan_owner(session, owner_id, now=now, settings=settings)
        timings["plan_s"] = time.monotonic() - t
        with factory() as session:
            pred = predicted(session, owner_id)
        engine.dispose()
    finally:
        plain.stop()
        secure.stop()
    exp, optional = expected({**owner, "days": days}, scenario, now)
    return {
        "seed": seed,
        "expected": sorted(exp),
        "optional": sorted(optional),
        "predicted": sorted(pred),
        **timings,
    }


def score(results: list[dict[str, Any]]) -> dict[str, Any]:
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for r in results:
        exp = {tuple(x) for x in r["expected"]}
        pred = {tuple(x) for x in r["predicted"]} - {tuple(x) for x in r.get("optional", [])}
        for k, _ in pred & exp:
            tp[k] += 1
        for k, _ in pred - exp:
            fp[k] += 1
        for k, _ in exp - pred:
            fn[k] += 1
    kinds = sorted(set(tp) | set(fp) | set(fn))
    per = {k: {"tp": tp[k], "fp": fp[k], "fn": fn[k]} for k in kinds}
    T, F, N = sum(tp.values()), sum(fp.values()), sum(fn.values())
    return {
        "precision": T / (T + F) if T + F else None,
        "recall": T / (T + N) if T + N else None,
        "per_kind": per,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 8, 9])
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    from rapportd.agent.core.logs import configure_logging

    configure_logging("WARNING", "console")
    with tempfile.TemporaryDirectory() as tmp:
        results = [run_seed(s, args.days, Path(tmp)) for s in args.seeds]
    figures = score(results)
    if args.json:
        print(json.dumps({"results": results, **figures}, indent=1, default=str))
    else:
        for r in results:
            print(
                f"seed {r['seed']}: expected {len(r['expected'])}, predicted {len(r['predicted'])}, "
                f"sync {r['sync_s']:.1f}s analysis {r['analysis_s']:.1f}s plan {r['plan_s']:.2f}s"
            )
        for k, v in figures["per_kind"].items():
            print(f"  {k:18s} tp {v['tp']:3d}  fp {v['fp']:3d}  fn {v['fn']:3d}")
        p, rc = figures["precision"], figures["recall"]
        print(
            f"precision {p:.3f}  recall {rc:.3f}" if p is not None and rc is not None else "no data"
        )
    ok = (
        figures["precision"] is not None
        and figures["precision"] >= 0.9
        and (figures["recall"] or 0) >= 0.8
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
