"""Threads waiting for the owner, threads where the owner waits, reply latencies."""

from __future__ import annotations

from rapportd.agent.inference.people import owner_profile
from rapportd.agent.inference.threads import group_threads, reply_latencies, thread_states

from .helpers import OWNER, at, msg

PROFILE = owner_profile([OWNER])


def test_waiting_for_owner_and_owner_waiting_with_ages() -> None:
    msgs = [
        msg(
            0, "ann@x.com", [OWNER], thread_id="t1", text="Could you send the deck?", subject="Deck"
        ),
        msg(1, OWNER, ["bob@y.com"], thread_id="t2", text="When can we meet?"),
        msg(2, OWNER, ["cy@z.com"], thread_id="t3", text="Thanks, all good."),
        msg(3, "news@shop.com", [OWNER], thread_id="t4", list_id="<l>"),
    ]
    states = {s.thread_id: s for s in thread_states(msgs, PROFILE, now=at(10))}
    assert states["t1"].waiting == "owner" and states["t1"].people == ("ann@x.com",)
    assert round(states["t1"].age_days) == 10 and states["t1"].asks
    assert states["t2"].waiting == "them" and round(states["t2"].age_days) == 9
    assert "t3" not in states  # nothing asked
    assert "t4" not in states  # bulk mail never waits


def test_answered_thread_does_not_wait_and_automated_people_are_ignored() -> None:
    msgs = [
        msg(0, "ann@x.com", [OWNER], thread_id="t1", text="Lunch?"),
        msg(0.5, OWNER, ["ann@x.com"], thread_id="t1", text="Yes, Friday."),
        msg(1, "robot@x.com", [OWNER], thread_id="t2", text="Action?"),
    ]
    states = thread_states(msgs, PROFILE, now=at(2), automated={"robot@x.com"})
    assert states == []


def test_big_lists_do_not_wait_for_the_owner() -> None:
    crowd = [OWNER] + [f"p{i}@x.com" for i in range(9)]
    states = thread_states([msg(0, "ann@x.com", crowd, thread_id="t")], PROFILE, now=at(1))
    assert states == []


def test_threads_without_ids_follow_in_reply_to() -> None:
    a = msg(0, "ann@x.com", [OWNER], rfc822_id="<a@x>")
    b = msg(1, OWNER, ["ann@x.com"], rfc822_id="<b@y>", in_reply_to="<a@x>")
    assert len(group_threads([a, b])) == 1


def test_reply_latencies_both_ways() -> None:
    msgs = [
        msg(0, "ann@x.com", [OWNER], thread_id="t"),
        msg(0.5, OWNER, ["ann@x.com"], thread_id="t"),
        msg(2.5, "ann@x.com", [OWNER], thread_id="t"),
    ]
    lat = reply_latencies(msgs, PROFILE, {"ann@x.com": "ann"})
    assert lat["ann"] == ([12.0], [48.0])


def test_a_closing_thanks_waits_for_nobody() -> None:
    msgs = [
        msg(0, OWNER, ["ann@x.com"], thread_id="t", text="Here is the deck."),
        msg(1, "ann@x.com", [OWNER], thread_id="t", text="Thanks, got it."),
    ]
    assert thread_states(msgs, PROFILE, now=at(3)) == []
