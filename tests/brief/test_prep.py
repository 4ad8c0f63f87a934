"""Prep holds: the slot (never over busy time), which meetings get one under the owner's
setting, and the planner creating, moving and removing them through the outbox."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from suggest.builders import NOW as STORE_NOW
from suggest.builders import Store

from rapportd.agent.brief.prep import (
    PrepHoldSettings,
    prep_settings,
    prep_slot,
    prep_targets,
)
from rapportd.agent.core.errors import ConfigError
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.models import OutboxOperation, Suggestion
from rapportd.agent.suggest.planner import plan_owner

from .helpers import NOW, H, World

M = timedelta(minutes=1)
ON = PrepHoldSettings(enabled=True)


def test_slot_just_before_the_meeting() -> None:
    start = NOW + 20 * H
    assert prep_slot([], start, 15, now=NOW) == (start - 15 * M, start)


def test_slot_steps_back_over_busy_time_and_gives_up() -> None:
    start = NOW + 20 * H
    busy = [(start - 30 * M, start)]  # a meeting right before
    assert prep_slot(busy, start, 15, now=NOW) == (start - 45 * M, start - 30 * M)
    full = [(start - 3 * H, start)]
    assert prep_slot(full, start, 15, now=NOW) is None
    # never before the owner can see it
    assert prep_slot([], NOW + 20 * M, 15, now=NOW) is None


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 200), st.integers(5, 90)).map(
            lambda t: (NOW + 20 * H - t[0] * M, NOW + 20 * H - t[0] * M + t[1] * M)
        ),
        max_size=6,
    ),
    st.integers(5, 60),
)
def test_a_slot_never_overlaps_busy_time(
    busy: list[tuple[datetime, datetime]], minutes: int
) -> None:
    start = NOW + 20 * H
    slot = prep_slot(busy, start, minutes, now=NOW)
    if slot is not None:
        assert slot[1] - slot[0] == minutes * M and slot[1] <= start
        assert start - slot[0] <= timedelta(hours=2)
        assert all(not (b0 < slot[1] and slot[0] < b1) for b0, b1 in busy)


def test_setting_off_by_default_and_checked() -> None:
    assert prep_settings(None).enabled is False
    with pytest.raises(ConfigError):
        prep_settings({"prep_holds": {"kinds": ["weekly"]}})
    with pytest.raises(ConfigError):
        prep_settings({"prep_holds": {"minutes": 1}})


def test_targets_follow_the_setting() -> None:
    w = World()
    w.contact("jane@client.test", "Jane Doe")
    small = w.meeting(NOW + 20 * H, ["jane@client.test"], summary="Pricing")
    big = w.meeting(NOW + 23 * H, ["jane@client.test", "sam@client.test"], summary="Board prep")
    rec = w.meeting(NOW + 26 * H, ["jane@client.test"], summary="Weekly", is_recurring=True)
    w.meeting(NOW + 60 * H, ["jane@client.test"], summary="Too far")
    w.meeting(NOW + 21 * H, ["bob@acme.test"], summary="Internal")
    snap = w.snap()
    assert prep_targets(snap, NOW, PrepHoldSettings()) == []  # off
    assert [t.meeting.id for t in prep_targets(snap, NOW, ON)] == [small.id, big.id, rec.id]
    three = PrepHoldSettings(enabled=True, min_size=3)
    assert [t.meeting.id for t in prep_targets(snap, NOW, three)] == [big.id]
    one_off = PrepHoldSettings(enabled=True, kinds=["one_off"])
    assert rec.id not in [t.meeting.id for t in prep_targets(snap, NOW, one_off)]
    [t] = [t for t in prep_targets(snap, NOW, ON) if t.meeting.id == small.id]
    assert t.title == "Prep: Pricing" and "Jane Doe" in t.description
    assert t.slot == (small.start - 15 * M, small.start)


def test_two_prep_holds_never_share_a_slot() -> None:
    w = World()
    a = w.meeting(NOW + 20 * H, ["jane@client.test"], summary="A")
    b = w.meeting(a.start + 15 * M, ["sam@client.test"], summary="B")  # inside A's hour
    targets = prep_targets(w.snap(), NOW, ON)
    slots = [t.slot for t in targets]
    assert all(
        not (x[0] < y[1] and y[0] < x[1]) for i, x in enumerate(slots) for y in slots[i + 1 :]
    )
    busy = [(m.start, m.end) for m in (a, b)]
    assert all(not (s0 < b1 and b0 < s1) for s0, s1 in slots for b0, b1 in busy)


# --------------------------------------------------------------------------- planner + outbox
def _holds(store: Store) -> list[Suggestion]:
    return list(
        store.session.scalars(
            select(Suggestion).where(
                Suggestion.owner_id == store.owner_id, Suggestion.kind == "prep_hold"
            )
        )
    )


def _ops(store: Store, s: Suggestion) -> list[tuple[str, str]]:
    return [
        (o.op, o.state)
        for o in store.session.scalars(
            select(OutboxOperation)
            .where(OutboxOperation.suggestion_id == s.id)
            .order_by(OutboxOperation.id)
        )
    ]


def test_planner_creates_moves_and_removes_prep_holds(store: Store, settings: Settings) -> None:
    store.contact("jane@client.test", "Jane Doe")
    ev = store.event(STORE_NOW + 20 * H, attendees=["jane@client.test"], summary="Pricing")
    plan_owner(store.session, store.owner_id, now=STORE_NOW, settings=settings)
    assert _holds(store) == []  # off by default
    store.owner.preferences = {"prep_holds": {"enabled": True, "minutes": 20}}
    store.session.flush()
    plan_owner(store.session, store.owner_id, now=STORE_NOW, settings=settings)
    [s] = _holds(store)
    assert (s.hold_start, s.hold_end) == (ev.start_at - 20 * M, ev.start_at)
    assert s.status == "pending" and "Jane Doe" in s.body and s.event_id == ev.id
    assert _ops(store, s) == [("create_hold", "pending")]
    # a second plan changes nothing
    plan_owner(store.session, store.owner_id, now=STORE_NOW, settings=settings)
    assert _ops(store, s) == [("create_hold", "pending")]
    # the hold is written; then the meeting moves: the old one goes (if untouched), a new one
    op = store.session.scalars(
        select(OutboxOperation).where(OutboxOperation.suggestion_id == s.id)
    ).one()
    op.state, op.provider_item_id = "written", "item1"
    s.status = "written"
    ev.start_at, ev.end_at = ev.start_at + 2 * H, ev.end_at + 2 * H
    store.session.flush()
    plan_owner(store.session, store.owner_id, now=STORE_NOW, settings=settings)
    [s] = _holds(store)
    assert s.hold_end == ev.start_at
    assert _ops(store, s) == [
        ("create_hold", "written"),
        ("delete_hold", "pending"),
        ("create_hold", "pending"),
    ]
    # cancelled: the pending hold is called off
    ev.status = "cancelled"
    store.session.flush()
    plan_owner(store.session, store.owner_id, now=STORE_NOW, settings=settings)
    [s] = _holds(store)
    assert s.status == "moot" and "cancelled" in s.reasons["moot"]
    assert _ops(store, s)[-1] == ("create_hold", "expired")


def test_an_accepted_prep_hold_is_the_owners(store: Store, settings: Settings) -> None:
    store.contact("jane@client.test", "Jane Doe")
    ev = store.event(STORE_NOW + 20 * H, attendees=["jane@client.test"], summary="Pricing")
    store.owner.preferences = {"prep_holds": {"enabled": True}}
    plan_owner(store.session, store.owner_id, now=STORE_NOW, settings=settings)
    [s] = _holds(store)
    s.status = "accepted"
    ev.start_at, ev.end_at = ev.start_at + H, ev.end_at + H
    store.session.flush()
    plan_owner(store.session, store.owner_id, now=STORE_NOW, settings=settings)
    [s] = _holds(store)
    assert s.status == "accepted" and _ops(store, s) == [("create_hold", "pending")]


def test_other_holds_of_the_same_plan_keep_clear_of_a_prep_hold(
    store: Store, settings: Settings
) -> None:
    """A promise hold planned in the same pass as a prep hold never takes its slot: the prep
    hold has only the hours before its meeting, the promise hold has days (in the sandbox
    world a promise hold once sat over a prep hold written in the same cycle)."""
    jane = store.contact("jane@client.test", "Jane Doe")
    meeting = STORE_NOW + 29 * H  # Thursday 15:00
    store.event(meeting, attendees=["jane@client.test"], summary="Pricing")
    store.event(STORE_NOW + 2 * H, minutes=26 * 60, summary="Offsite")  # busy until Thu 14:00
    sent = store.message(
        STORE_NOW - 24 * H, sender=store.owner.email, to=["jane@client.test"], text="Sure."
    )
    store.commitment(sent, due=meeting + 2 * H, contact=jane)
    store.owner.preferences = {"prep_holds": {"enabled": True, "minutes": 20}}
    store.session.flush()
    plan_owner(store.session, store.owner_id, now=STORE_NOW, settings=settings)
    live = [
        s
        for s in store.session.scalars(
            select(Suggestion).where(
                Suggestion.owner_id == store.owner_id, Suggestion.hold_start.is_not(None)
            )
        )
        if s.status in ("proposed", "pending")
    ]
    [prep] = [s for s in live if s.kind == "prep_hold"]
    assert (prep.hold_start, prep.hold_end) == (meeting - 20 * M, meeting)
    [promise] = [s for s in live if s.kind == "promise_hold"]
    assert promise.hold_end is not None and promise.hold_start is not None
    assert not (promise.hold_start < prep.hold_end and prep.hold_start < promise.hold_end)


def test_the_owner_counts_once_listed_or_not() -> None:
    """Graph leaves the organizer out of the attendees: a one-guest meeting is still two."""
    from dataclasses import replace

    w = World()
    m = w.meeting(NOW + 20 * H, ["jane@client.test"])
    w.meetings[-1] = replace(m, attendees=tuple(p for p in m.attendees if not p.is_self))
    assert len(prep_targets(w.snap(), NOW, ON)) == 1
    assert prep_targets(w.snap(), NOW, PrepHoldSettings(enabled=True, min_size=3)) == []
