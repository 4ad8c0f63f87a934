"""Each rule on hand-built timelines, with the cases where it must stay silent."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from rapportd.agent.core.settings import Settings
from rapportd.agent.suggest.config import effective_config
from rapportd.agent.suggest.planner import RULES
from rapportd.agent.suggest.proposal import Proposal
from rapportd.agent.suggest.snapshot import load_snapshot

from .builders import NOW, Store

H = timedelta(hours=1)
D = timedelta(days=1)


def run(
    store: Store, kind: str, settings: Settings, now: datetime = NOW, **prefs: object
) -> list[Proposal]:
    store.session.flush()
    owner = store.owner
    if prefs:
        owner.preferences = {"suggestions": prefs}
    cfg = effective_config(
        settings,
        preferences=owner.preferences,
        timezone=owner.timezone,
        org_domains=owner.org_domains,
    )
    snap = load_snapshot(store.session, owner, cfg, now=now)
    return RULES[kind](snap, now)


# --- thank_you ---------------------------------------------------------------------------


def test_thank_you_after_external_meeting(store: Store, settings: Settings) -> None:
    store.contact("jane@client.test", "Jane Doe", stage="trust")
    ev = store.event(
        NOW - 5 * H, attendees=["jane@client.test", "bob@acme.test"], summary="Quote review"
    )
    [p] = run(store, "thank_you", settings)
    assert p.event_id == ev.id
    assert [e for e, _ in p.to] == ["jane@client.test"]  # colleagues are not thanked
    assert p.context["meeting_title"] == "Quote review"
    assert p.context["first_name"] == "Jane"
    assert "Quote review" in p.reasons["why"]
    assert p.dedupe_key.startswith("thank_you:")


@pytest.mark.parametrize(
    "change",
    [
        "declined",
        "cancelled",
        "internal",
        "large",
        "recurring",
        "too_late",
        "not_yet_over",
        "already_wrote",
    ],
)
def test_thank_you_negative_cases(store: Store, settings: Settings, change: str) -> None:
    kwargs: dict[str, object] = {"attendees": ["jane@client.test"]}
    start = NOW - 5 * H
    if change == "declined":
        kwargs["self_response"] = "declined"
    elif change == "cancelled":
        kwargs["status"] = "cancelled"
    elif change == "internal":
        kwargs["attendees"] = ["bob@acme.test", "carl@acme.test"]
    elif change == "large":
        kwargs["attendees"] = [f"p{i}@client.test" for i in range(9)]
    elif change == "recurring":
        kwargs["recurring"] = True
    elif change == "too_late":
        start = NOW - 50 * H  # window is 48 h after the end
    elif change == "not_yet_over":
        start = NOW - 0.5 * H
    store.event(start, **kwargs)  # type: ignore[arg-type]
    if change == "already_wrote":
        store.message(
            NOW - 2 * H, sender=store.owner.email, to=["jane@client.test"], subject="Thanks!"
        )
    assert run(store, "thank_you", settings) == []


def test_thank_you_window_is_configurable(store: Store, settings: Settings) -> None:
    store.event(NOW - 30 * H, attendees=["jane@client.test"])
    assert len(run(store, "thank_you", settings)) == 1
    assert run(store, "thank_you", settings, thank_you_window_hours=24) == []


def test_thank_you_internal_contact_flag(store: Store, settings: Settings) -> None:
    store.contact("partner@other.test", "Pat", internal=True)
    store.event(NOW - 5 * H, attendees=["partner@other.test"])
    assert run(store, "thank_you", settings) == []


# --- promise_hold ------------------------------------------------------------------------


def test_promise_hold_in_free_working_slot_before_due(store: Store, settings: Settings) -> None:
    m = store.message(NOW - 2 * D, sender=store.owner.email, to=["jane@client.test"])
    due = NOW + 2 * D + 7 * H  # Friday 17:00
    store.commitment(m, due=due)
    # the owner is busy Thursday and Friday 09:00-13:00 except a declined and a transparent event
    for day in (1, 2):
        base = (NOW + day * D).replace(hour=9)
        store.event(base, 240, attendees=["x@client.test"])
    store.event((NOW + 2 * D).replace(hour=13), 60, self_response="declined")
    store.event((NOW + 2 * D).replace(hour=14), 60, transparency="transparent")
    [p] = run(store, "promise_hold", settings)
    assert p.hold_start is not None and p.hold_end is not None
    assert p.hold_end - p.hold_start == timedelta(minutes=60)
    assert p.hold_end <= due
    assert p.hold_start >= NOW
    assert p.hold_start.hour >= 9 and p.hold_end.hour <= 17
    for day in (1, 2):  # never on top of a busy block
        base = (NOW + day * D).replace(hour=9)
        assert not (p.hold_start < base + 4 * H and p.hold_end > base)


def test_promise_hold_sized_by_setting(store: Store, settings: Settings) -> None:
    m = store.message(NOW - D, sender=store.owner.email, to=["jane@client.test"])
    store.commitment(m, due=NOW + 3 * D)
    [p] = run(store, "promise_hold", settings, hold_minutes=120)
    assert p.hold_start is not None and p.hold_end - p.hold_start == timedelta(minutes=120)  # type: ignore[operator]


@pytest.mark.parametrize(
    "case", ["kept", "past_due", "no_due", "theirs", "request", "fully_booked"]
)
def test_promise_hold_negative(store: Store, settings: Settings, case: str) -> None:
    m = store.message(NOW - D, sender=store.owner.email, to=["jane@client.test"])
    due: datetime | None = NOW + 2 * D
    kw: dict[str, object] = {}
    if case == "kept":
        kw["state"] = "kept"
    elif case == "past_due":
        due = NOW - H
    elif case == "no_due":
        due = None
    elif case == "theirs":
        kw["direction"] = "to_owner"
    elif case == "request":
        kw["kind"] = "request"
    elif case == "fully_booked":
        store.event(
            NOW, minutes=int((due - NOW).total_seconds() // 60) + 60, attendees=["x@client.test"]
        )  # type: ignore[operator]
    store.commitment(m, due=due, **kw)  # type: ignore[arg-type]
    assert run(store, "promise_hold", settings) == []


# --- promise_follow_up -------------------------------------------------------------------


def test_follow_up_when_due_is_near_or_past(store: Store, settings: Settings) -> None:
    m = store.message(
        NOW - 5 * D, sender=store.owner.email, to=["jane@client.test"], subject="Quote", thread="tq"
    )
    reply = store.message(
        NOW - 4 * D,
        sender="jane@client.test",
        to=[store.owner.email],
        subject="Re: Quote",
        thread="tq",
    )
    store.commitment(m, due=NOW - H, state="late")
    [p] = run(store, "promise_follow_up", settings)
    assert p.reply_to_message_id == reply.id  # in the promise's thread, answering the latest
    assert p.context["overdue"] is True
    assert "revised quote" in p.context["promise_text"]


@pytest.mark.parametrize("case", ["far", "kept", "void", "stale"])
def test_follow_up_negative(store: Store, settings: Settings, case: str) -> None:
    m = store.message(NOW - 5 * D, sender=store.owner.email, to=["jane@client.test"])
    due = {"far": NOW + 3 * D, "stale": NOW - 40 * D}.get(case, NOW - H)
    state = case if case in ("kept", "void") else "open"
    store.commitment(m, due=due, state=state)
    assert run(store, "promise_follow_up", settings) == []


# --- reply_needed ------------------------------------------------------------------------


def test_reply_needed_after_business_days(store: Store, settings: Settings) -> None:
    # asked Friday 09:00; 2 business days later is Tuesday 09:00 (weekend does not count)
    friday = datetime(2024, 6, 7, 9, 0, tzinfo=NOW.tzinfo)
    m = store.message(
        friday, sender="jane@client.test", to=[store.owner.email], subject="Can you?", thread="tr"
    )
    store.commitment(m, kind="request", direction="to_owner", text="Could you share the slides?")
    assert (
        run(store, "reply_needed", settings, now=datetime(2024, 6, 11, 8, 0, tzinfo=NOW.tzinfo))
        == []
    )
    [p] = run(store, "reply_needed", settings, now=datetime(2024, 6, 11, 9, 30, tzinfo=NOW.tzinfo))
    assert p.reply_to_message_id == m.id
    assert p.reasons["business_days"] == 2
    assert (
        run(
            store,
            "reply_needed",
            settings,
            now=datetime(2024, 6, 11, 9, 30, tzinfo=NOW.tzinfo),
            reply_after_business_days=3,
        )
        == []
    )


def test_reply_needed_uses_owner_time_zone(session, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    st = Store(session, email="tokyo@acme.test", timezone="Asia/Tokyo")
    # Friday 23:30 UTC is already Saturday in Tokyo: counting starts on Monday there
    sent = datetime(2024, 6, 7, 23, 30, tzinfo=NOW.tzinfo)
    m = st.message(sent, sender="jane@client.test", to=[st.owner.email], thread="tz")
    st.commitment(m, kind="request", direction="to_owner")
    # Tuesday 20:00 UTC = Wednesday 05:00 Tokyo: Mon and Tue are done → 2 business days
    assert (
        len(run(st, "reply_needed", settings, now=datetime(2024, 6, 11, 16, 0, tzinfo=NOW.tzinfo)))
        == 1
    )
    assert (
        run(st, "reply_needed", settings, now=datetime(2024, 6, 10, 16, 0, tzinfo=NOW.tzinfo)) == []
    )


def test_reply_needed_evidence_follows_the_newest_mail_not_the_last_row(
    store: Store, settings: Settings
) -> None:
    # a recent-first sync stores the ask (newest) before an older message of the same
    # thread: the older row, stored last, must not count as "new mail in the thread"
    ask = store.message(NOW - 6 * D, sender="jane@client.test", to=[store.owner.email])
    store.commitment(ask, kind="request", direction="to_owner", text="Could you share the slides?")
    [before] = run(store, "reply_needed", settings)
    store.message(NOW - 9 * D, sender="jane@client.test", to=[store.owner.email])
    [after_older] = run(store, "reply_needed", settings)
    assert after_older.evidence == before.evidence
    # a newer message from her in the thread is a new fact: a dismissed ask may return
    store.message(NOW - 5 * D, sender="jane@client.test", to=[store.owner.email])
    [after_newer] = run(store, "reply_needed", settings)
    assert after_newer.evidence != before.evidence


@pytest.mark.parametrize("case", ["answered", "replied_in_thread", "own_request"])
def test_reply_needed_negative(store: Store, settings: Settings, case: str) -> None:
    m = store.message(NOW - 6 * D, sender="jane@client.test", to=[store.owner.email], thread="tr")
    if case == "replied_in_thread":
        store.message(NOW - 5 * D, sender=store.owner.email, to=["jane@client.test"], thread="tr")
    kw = {
        "kind": "request",
        "direction": "to_owner",
        "state": "answered" if case == "answered" else "open",
    }
    if case == "own_request":
        kw["direction"] = "by_owner"
    store.commitment(m, **kw)  # type: ignore[arg-type]
    assert run(store, "reply_needed", settings) == []


# --- nudge -------------------------------------------------------------------------------


def test_nudge_when_their_promise_is_late(store: Store, settings: Settings) -> None:
    m = store.message(NOW - 6 * D, sender="jane@client.test", to=[store.owner.email], thread="tn")
    store.commitment(m, direction="to_owner", text="I'll send the signed contract", due=NOW - 2 * D)
    [p] = run(store, "nudge", settings)
    assert p.to[0][0] == "jane@client.test"
    assert p.context["their_promise"] is True


def test_nudge_for_owner_question_waiting(store: Store, settings: Settings) -> None:
    store.message(NOW - 40 * D, sender="jane@client.test", to=[store.owner.email], thread="old")
    m = store.message(NOW - 7 * D, sender=store.owner.email, to=["jane@client.test"], thread="tq2")
    store.commitment(m, kind="request", direction="by_owner", text="Which date suits you?")
    [p] = run(store, "nudge", settings)
    assert p.context["their_promise"] is False
    assert p.to[0][0] == "jane@client.test"


def test_no_nudge_where_the_mailbox_shows_no_answers(store: Store, settings: Settings) -> None:
    """An archive of sent mail alone holds no answers: silence there is no evidence."""
    m = store.message(NOW - 7 * D, sender=store.owner.email, to=["jane@client.test"], thread="tq3")
    store.commitment(m, kind="request", direction="by_owner", text="Which date suits you?")
    assert run(store, "nudge", settings) == []


@pytest.mark.parametrize(
    ("text", "wanted"),
    [
        ("Please review and let me know of any revisions.", True),
        ("Could you send me the orders?", True),
        ("Maureen - please schedule.", False),  # a deed, not an answer
        ("Please print and have signed.", False),
        ("Please forward this to Michael.", False),
    ],
)
def test_nudge_only_for_asks_answered_by_mail(
    store: Store, settings: Settings, text: str, wanted: bool
) -> None:
    store.message(NOW - 40 * D, sender="jane@client.test", to=[store.owner.email], thread="old")
    m = store.message(NOW - 7 * D, sender=store.owner.email, to=["jane@client.test"], thread="ta")
    store.commitment(m, kind="request", direction="by_owner", text=text, rule="please")
    assert len(run(store, "nudge", settings)) == (1 if wanted else 0)


@pytest.mark.parametrize("case", ["not_late_yet", "kept", "they_wrote", "question_recent"])
def test_nudge_negative(store: Store, settings: Settings, case: str) -> None:
    if case == "question_recent":
        m = store.message(
            NOW - 1 * D, sender=store.owner.email, to=["jane@client.test"], thread="tn"
        )
        store.commitment(m, kind="request", direction="by_owner")
    else:
        m = store.message(
            NOW - 6 * D, sender="jane@client.test", to=[store.owner.email], thread="tn"
        )
        due = NOW - 2 * H if case == "not_late_yet" else NOW - 2 * D
        store.commitment(
            m, direction="to_owner", due=due, state="kept" if case == "kept" else "open"
        )
        if case == "they_wrote":
            store.message(NOW - D, sender="jane@client.test", to=[store.owner.email], thread="tn")
    assert run(store, "nudge", settings) == []


# --- check_in / reconnect_hold -----------------------------------------------------------


def test_check_in_for_unusual_silence_with_stage_tone(store: Store, settings: Settings) -> None:
    last = NOW - 40 * D
    c = store.contact(
        "sam@friend.test", "Sam Lee", stage="bond", overdue=1.8, last=last, strength=0.3
    )
    store.message(
        last,
        sender="sam@friend.test",
        to=[store.owner.email],
        subject="Re: Lisbon trip",
        thread="ts",
    )
    [p] = run(store, "check_in", settings)
    assert p.contact_id == c.id
    assert p.context["stage"] == "bond" and p.context["topic"] == "Lisbon trip"
    assert p.dedupe_key == f"check_in:{c.id}:{last:%Y-%m-%d}"
    assert run(store, "reconnect_hold", settings) == []  # not a strong tie


def test_check_in_topic_comes_from_an_exchange_with_them_not_a_circular(
    store: Store, settings: Settings
) -> None:
    last = NOW - 40 * D
    store.contact("sam@friend.test", "Sam Lee", stage="bond", overdue=1.8, last=last)
    store.message(
        last - 5 * D, sender=store.owner.email, to=["sam@friend.test"], subject="Lisbon trip"
    )
    # later: a third person's news digest to a list with Sam and the owner on it
    store.message(
        last,
        sender="desk@corp.test",
        to=[store.owner.email, "sam@friend.test", *(f"p{i}@corp.test" for i in range(8))],
        subject="Energy Issues",
        thread="digest",
    )
    store.message(
        last - D,
        sender="other@corp.test",
        to=["sam@friend.test", store.owner.email],
        subject="Budget review",
        thread="cc",
    )  # someone else writing to Sam, the owner copied: not an exchange between the two
    [p] = run(store, "check_in", settings)
    assert p.context["topic"] == "Lisbon trip"


@pytest.mark.parametrize("case", ["not_overdue", "automated", "few_interactions", "never"])
def test_check_in_negative(store: Store, settings: Settings, case: str) -> None:
    store.contact(
        "sam@friend.test",
        overdue=0.4 if case == "not_overdue" else 2.0,
        automated=case == "automated",
        count=1 if case == "few_interactions" else 10,
        last=None if case == "never" else NOW - 40 * D,
    )
    assert run(store, "check_in", settings) == []


def test_reconnect_hold_for_strong_tie(store: Store, settings: Settings) -> None:
    store.contact(
        "ann@old.test", "Ann", stage="trust", strength=0.9, overdue=2.0, last=NOW - 60 * D
    )
    [p] = run(store, "reconnect_hold", settings)
    assert p.hold_start is not None and p.hold_start > NOW
    assert p.hold_start.weekday() < 5 and 9 <= p.hold_start.hour < 17


def test_all_rules_return_stable_keys(store: Store, settings: Settings) -> None:
    store.event(NOW - 5 * H, attendees=["jane@client.test"])
    store.contact(
        "ann@old.test", "Ann", stage="trust", strength=0.9, overdue=2.0, last=NOW - 60 * D
    )
    first = {p.dedupe_key: p.evidence for k in RULES for p in run(store, k, settings)}
    second = {p.dedupe_key: p.evidence for k in RULES for p in run(store, k, settings)}
    assert first == second and len(first) == 3


def test_thank_you_counts_an_external_organizer_missing_from_attendees(
    store: Store, settings: Settings
) -> None:
    ev = store.event(NOW - 5 * H, attendees=[], summary="Their sync")
    ev.organizer, ev.organizer_is_self = "emile@delta.test", False
    [p] = run(store, "thank_you", settings)
    assert p.to[0][0] == "emile@delta.test"


def test_no_nudge_once_they_wrote_anywhere_since(store: Store, settings: Settings) -> None:
    """An answer often comes in another thread; the owner's "Re:" to them shows they wrote."""
    store.message(NOW - 40 * D, sender="jane@client.test", to=[store.owner.email], thread="old")
    m = store.message(NOW - 7 * D, sender=store.owner.email, to=["jane@client.test"], thread="tq")
    store.commitment(m, kind="request", direction="by_owner", text="Could you resend the CV?")
    assert len(run(store, "nudge", settings)) == 1
    store.message(
        NOW - 2 * D,
        sender=store.owner.email,
        to=["jane@client.test"],
        subject="RE: Moving forward",
        thread="other",
    )
    assert run(store, "nudge", settings) == []
