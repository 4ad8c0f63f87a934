"""Drift: an established rhythm of conversations, broken by an unusual silence."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.agent.inference.drift import assess_drift, conversations, quiet_spells
from rapportd.agent.inference.people import owner_profile
from rapportd.agent.inference.timeline import Interaction, build_timeline
from rapportd.agent.inference.types import Meeting, Participant

from .helpers import OWNER, at

C = "sam@client.example"


def mail(day: float, thread: str) -> Interaction:
    return Interaction(C, at(day), "received", 1.0, 1, 50, 0, thread)


def meeting(day: float) -> Interaction:
    return Interaction(C, at(day), "meeting", 1.5, 1, 0, 0, "")


def thread(
    start: float, thread_id: str, replies: int = 4, spacing: float = 1.5
) -> list[Interaction]:
    """One e-mail exchange whose replies come days apart (as real threads do)."""
    return [mail(start + i * spacing, thread_id) for i in range(replies)]


def test_the_replies_of_a_thread_are_one_conversation() -> None:
    items = thread(0, "a", replies=5, spacing=2.0) + thread(30, "b")
    convs = conversations(items)
    assert [c.size for c in convs] == [5, 4]
    assert quiet_spells(convs) == [30 - 8.0]


def test_a_burst_is_not_a_rhythm() -> None:
    # five busy threads within ten days, then two months of silence: no rhythm was ever seen
    items = [x for i in range(5) for x in thread(2 * i, f"t{i}")]
    d = assess_drift(items, now=at(75))
    assert not d.drifting and "no established rhythm" in d.reason
    assert d.conversations <= 5  # overlapping exchanges even merge into one


def test_a_broken_weekly_rhythm_drifts() -> None:
    items = [x for i in range(12) for x in thread(7 * i, f"w{i}", replies=2, spacing=0.3)]
    last = 7 * 11 + 0.3
    assert not assess_drift(items, now=at(last + 12)).drifting  # twelve days: not yet
    d = assess_drift(items, now=at(last + 30))
    assert d.drifting and d.typical_quiet_days is not None and d.typical_quiet_days < 8


def test_someone_who_always_goes_quiet_for_weeks_is_not_drifting_yet() -> None:
    # bursts 60 days apart: a 40-day silence is normal for them, 110 days is not
    items = [x for b in (0, 60, 120, 180) for i in range(3) for x in thread(b + 3 * i, f"{b}-{i}")]
    last = max(i.at for i in items)
    days_after = (last - at(0)).total_seconds() / 86400
    assert not assess_drift(items, now=at(days_after + 40)).drifting
    assert not assess_drift(items, now=at(days_after + 90)).drifting  # < 2 usual spells
    assert assess_drift(items, now=at(days_after + 110)).drifting


def test_weekly_meetings_keep_a_relationship_alive() -> None:
    items = [x for i in range(6) for x in thread(10 * i, f"m{i}")]
    items += [meeting(60 + 7 * k) for k in range(8)]
    assert not assess_drift(items, now=at(60 + 7 * 7 + 5)).drifting


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.floats(min_value=0.2, max_value=40.0), min_size=1, max_size=25),
    later=st.floats(min_value=0.0, max_value=200.0),
)
def test_silence_only_ever_makes_drift_more_likely(gaps: list[float], later: float) -> None:
    days, items = 0.0, []
    for i, g in enumerate(gaps):
        days += g
        items.append(mail(days, f"t{i % 3}"))
    first = assess_drift(items, now=at(days + 1))
    second = assess_drift(items, now=at(days + 1 + later))
    assert second.conversations == first.conversations
    assert (not first.drifting) or second.drifting


def test_the_organiser_of_a_meeting_took_part_in_it() -> None:
    # Graph lists the organiser apart from the attendees
    profile = owner_profile([OWNER])
    mt = Meeting(
        id=1,
        start=at(3),
        end=at(3) + timedelta(hours=1),
        organizer=C,
        attendees=(Participant(OWNER, is_self=True, response="accepted"),),
    )
    timeline = build_timeline([], [mt], profile, {C: C}, now=at(10))
    assert [i.kind for i in timeline[C]] == ["meeting"]


def test_a_one_way_correspondence_never_drifts() -> None:
    sent = [Interaction(C, at(7 * i), "sent", 1.0, 1, 50, 0, f"s{i}") for i in range(10)]
    d = assess_drift(sent, now=at(200))
    assert not d.drifting and "one-way" in d.reason
