"""Strength and stage: documented criteria, monotone in the obvious directions."""

from __future__ import annotations

from datetime import timedelta

from rapportd.agent.inference.strength import STAGES, features, stage, strength
from rapportd.agent.inference.timeline import Interaction

from .helpers import at


def convo(days: int, every: float, *, audience: int = 1, meetings: int = 0) -> list[Interaction]:
    out = []
    t = 0.0
    n = 0
    while t < days:
        kind = "sent" if n % 2 == 0 else "received"
        out.append(Interaction("c", at(t), kind, 1.0 if audience == 1 else 0.1, audience, 80))
        t += every
        n += 1
    for k in range(meetings):
        out.append(Interaction("c", at(k * 30 + 1), "meeting", 1.5, 1))
    return sorted(out, key=lambda i: i.at)


def test_nothing_means_no_stage() -> None:
    f = features([], now=at(0))
    assert stage(f, strength(f).value).name == ""


def test_one_message_is_acknowledge_only() -> None:
    f = features([Interaction("c", at(0), "received", 1.0, 1, 30)], now=at(1))
    st = stage(f, strength(f).value)
    assert st.name == "acknowledge"
    assert st.next_stage == "understanding" and st.missing


def test_long_balanced_regular_relationship_reaches_bond() -> None:
    items = convo(400, 7, meetings=4)
    now = items[-1].at + timedelta(days=2)
    f = features(
        items, now=now, owner_reply_hours=[5, 8], their_reply_hours=[6, 20], overdue_score=0.1
    )
    s = strength(f)
    st = stage(f, s.value)
    assert s.value >= 0.65
    assert st.name == "bond", st.reasons()
    assert set(s.components) == {
        "reciprocity",
        "responsiveness",
        "balance",
        "meetings",
        "volume",
        "length",
        "recency",
    }


def test_stages_are_cumulative_and_in_order() -> None:
    items = convo(120, 7)
    f = features(items, now=items[-1].at, owner_reply_hours=[5], their_reply_hours=[5])
    st = stage(f, strength(f).value)
    reached = STAGES.index(st.name)
    for name in STAGES[: reached + 1]:
        assert any(m.startswith(name + ":") for m in st.met)


def test_broken_promises_block_trust() -> None:
    items = convo(200, 5)
    now = items[-1].at
    good = features(items, now=now, owner_reply_hours=[5], their_reply_hours=[5])
    bad = features(items, now=now, owner_reply_hours=[5], their_reply_hours=[5], promises_late=3)
    assert STAGES.index(stage(good, 0.5).name) >= STAGES.index("trust")
    assert stage(bad, 0.5).name == "respect"
    assert "promises kept at least as often as late" in stage(bad, 0.5).missing


def test_strength_falls_with_silence_and_one_sidedness() -> None:
    items = convo(200, 7)
    recent = features(
        items, now=items[-1].at + timedelta(days=3), owner_reply_hours=[5], their_reply_hours=[5]
    )
    cold = features(
        items,
        now=items[-1].at + timedelta(days=300),
        owner_reply_hours=[5],
        their_reply_hours=[5],
        overdue_score=4,
    )
    assert strength(recent).value > strength(cold).value
    one_sided = [i for i in items if i.kind == "sent"]
    f1 = features(one_sided, now=items[-1].at)
    assert strength(f1).components["reciprocity"] == 0.0
    assert strength(f1).value < strength(recent).value


def test_large_lists_count_little() -> None:
    personal = features(convo(100, 7), now=at(100))
    listy = features(convo(100, 7, audience=30), now=at(100))
    assert strength(listy).value < strength(personal).value
    assert listy.episodes == 0
