"""Suggestions never contradict each other: one per person, never to the owner, never twice."""

from __future__ import annotations

from datetime import timedelta

from rapportd.agent.core.settings import Settings
from rapportd.agent.suggest.coherence import coherent, person_key
from rapportd.agent.suggest.config import effective_config
from rapportd.agent.suggest.planner import RULES, propose
from rapportd.agent.suggest.proposal import Proposal
from rapportd.agent.suggest.snapshot import Snapshot, load_snapshot

from .builders import NOW, Store

D = timedelta(days=1)


def snapshot(store: Store, settings: Settings) -> Snapshot:
    store.session.flush()
    o = store.owner
    cfg = effective_config(
        settings, preferences=o.preferences, timezone=o.timezone, org_domains=o.org_domains
    )
    return load_snapshot(store.session, o, cfg, now=NOW)


def proposal(
    kind: str, key: str, to: str, contact: int | None, score: float, **reasons: str
) -> Proposal:
    return Proposal(
        kind=kind,
        dedupe_key=key,
        evidence="e",
        title=kind,
        reasons=dict(reasons),
        account_id=1,
        to=((to, ""),),
        contact_id=contact,
        score=score,
    )


def test_one_per_person_by_usefulness(store: Store, settings: Settings) -> None:
    snap = snapshot(store, settings)
    ps = [
        proposal("check_in", "c1", "ann@x.test", 7, 0.9),
        proposal("reconnect_hold", "r1", "ann@x.test", 7, 0.6),
        proposal("nudge", "n1", "bob@x.test", 8, 0.6, quoted="Which date?"),
        proposal("reply_needed", "q1", "bob@x.test", 8, 0.5, request="Can you call?"),
        proposal("promise_hold", "h1", "bob@x.test", 8, 0.9),  # the owner's own time: kept
    ]
    kept = {p.dedupe_key for p in coherent(ps, snap)}
    assert kept == {"r1", "q1", "h1"}


def test_of_two_thank_yous_for_one_person_the_later_meeting_s(
    store: Store, settings: Settings
) -> None:
    """Met twice in two days: the thank-you is for the meeting the person has in mind (the
    demo's guest was thanked for the day before's review rather than that afternoon's
    kickoff, as "thank_you:…" keys sorted)."""
    snap = snapshot(store, settings)
    earlier = (NOW - 1.5 * D).isoformat()
    later = (NOW - timedelta(hours=2)).isoformat()
    ps = [
        proposal("thank_you", "thank_you:a-review", "ann@x.test", 7, 0.8, ended_at=earlier),
        proposal("thank_you", "thank_you:z-kickoff", "ann@x.test", 7, 0.8, ended_at=later),
    ]
    assert [p.dedupe_key for p in coherent(ps, snap)] == ["thank_you:z-kickoff"]
    assert [p.dedupe_key for p in coherent(ps[::-1], snap)] == ["thank_you:z-kickoff"]


def test_never_to_the_owner_and_never_said_twice(store: Store, settings: Settings) -> None:
    store.owner.identity = {"addresses": ["o.alias@acme.test"]}
    snap = snapshot(store, settings)
    ps = [
        proposal("reply_needed", "a", "o.alias@acme.test", None, 0.9, request="x"),
        proposal("nudge", "b", "jane@client.test", None, 0.7, quoted="Which date suits you?"),
        proposal("nudge", "c", "jane@client.test", None, 0.6, quoted="Which date suits you ?"),
    ]
    kept = coherent(ps, snap)
    assert [p.dedupe_key for p in kept] == ["b"]


def test_a_person_with_an_open_suggestion_gets_nothing_new(
    store: Store, settings: Settings
) -> None:
    snap = snapshot(store, settings)
    ps = [proposal("reply_needed", "new", "ann@x.test", 7, 0.9, request="x")]
    busy = {person_key(7, [["ann@x.test", ""]], "old"): {"old"}}
    assert coherent(ps, snap, open_keys=busy) == []
    busy_same = {person_key(7, [["ann@x.test", ""]], "new"): {"new"}}
    assert [p.dedupe_key for p in coherent(ps, snap, open_keys=busy_same)] == ["new"]


def test_the_rules_on_a_busy_snapshot_give_one_per_person(store: Store, settings: Settings) -> None:
    store.contact(
        "ann@old.test", "Ann", stage="trust", strength=0.9, overdue=2.0, last=NOW - 60 * D
    )
    snap = snapshot(store, settings)
    kept = coherent(propose(snap, NOW, list(RULES)), snap)
    people = [
        person_key(p.contact_id, p.to, p.dedupe_key) for p in kept if p.kind != "promise_hold"
    ]
    assert len(people) == len(set(people))
    assert {p.kind for p in kept} == {"reconnect_hold"}
