"""The pure brief builder on hand-built snapshots: which meetings get a brief, who is coming,
facts with their evidence (never from quoted text), topics and the one thing to say."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.agent.brief.build import build_briefs, in_own_words, meetings_to_brief
from rapportd.agent.brief.text import as_text

from .helpers import NOW, OWNER, D, H, World

JANE = "jane@client.test"
QUOTED_REPLY = (
    "Sounds good, see you then.\n\n"
    "-----Original Message-----\n"
    "From: Jane Doe\n"
    "Sent: Monday, June 10, 2024 9:00 AM\n"
    "To: Olivia Owner\n"
    "Subject: Proposal\n\n"
    "I will send you the signed contract by Friday.\n"
)


def one(world: World) -> object:
    [brief] = build_briefs(world.snap(), NOW)
    return brief


@pytest.mark.parametrize(
    ("change", "briefed"),
    [
        ({}, True),
        ({"self_response": "declined"}, False),
        ({"status": "cancelled"}, False),
        ({"all_day": True}, False),
        ({"is_recurring": True}, True),  # a weekly call with a client is worth a brief too
        ({"rapportd_tag": "rpdabc"}, False),
    ],
)
def test_which_meetings_get_a_brief(change: dict[str, object], briefed: bool) -> None:
    w = World()
    w.meeting(NOW + 18 * H, [JANE], **change)
    assert bool(build_briefs(w.snap(), NOW)) is briefed


def test_internal_and_large_meetings_get_no_brief() -> None:
    w = World()
    w.meeting(NOW + 18 * H, ["bob@acme.test"])
    w.meeting(NOW + 19 * H, [f"p{i}@client.test" for i in range(9)])
    assert build_briefs(w.snap(), NOW) == []


def test_window_day_and_id() -> None:
    w = World()
    later = w.meeting(NOW + 20 * H, [JANE], summary="Second")
    first = w.meeting(NOW + 17 * H, [JANE], summary="First")
    far = w.meeting(NOW + 3 * D, [JANE], summary="Next week")
    past = w.meeting(NOW - 3 * H, [JANE], summary="Earlier today")
    snap = w.snap()
    # default: from now to the end of tomorrow, in order of start
    assert [m.id for m in meetings_to_brief(snap, NOW)] == [first.id, later.id]
    assert [m.id for m in meetings_to_brief(snap, NOW, day=date(2024, 6, 12))] == [past.id]
    assert [m.id for m in meetings_to_brief(snap, NOW, meeting_id=far.id)] == [far.id]


def test_attendee_lines() -> None:
    w = World()
    w.contact(JANE, "Doe, Jane", stage="trust", typical_gap_days=9.4)
    w.meeting(
        NOW + 18 * H,
        [(JANE, "Doe, Jane"), ("sam.lee@gmail.com", "LEE, SAM"), ("bob@acme.test", "Bob")],
    )
    brief = one(w)
    jane, sam = brief.attendees  # type: ignore[attr-defined]
    assert jane.name == "Jane Doe" and jane.organisation == "client.test"
    assert jane.stage == "trust"
    assert "every 9 days" in jane.rhythm and "3 days ago" in jane.rhythm
    assert jane.line.startswith("Jane Doe · client.test · stage: trust · usually in touch")
    # a stranger on a public mail service: no organisation claimed, no rhythm invented
    assert sam.name == "Sam Lee" and sam.organisation == "personal address"
    assert sam.rhythm == "" and sam.first_meeting
    assert "no mail with them yet" in sam.line


def test_facts_both_ways_with_evidence() -> None:
    w = World()
    w.contact(JANE, "Jane Doe")
    w.meeting(NOW + 18 * H, [JANE])
    mine = w.message(
        NOW - 4 * D, OWNER, [JANE], "Hi Jane,\n\nI'll send you the revised quote by Friday.\n"
    )
    w.promise(mine, "I'll send you the revised quote by Friday.", due_at=NOW + 2 * D)
    theirs = w.message(
        NOW - 2 * D,
        JANE,
        [OWNER],
        "Olivia,\n\nCould you send me the delivery schedule? I will send the signed NDA "
        "tomorrow.\n\nJane",
        thread="t2",
    )
    w.promise(theirs, "Could you send me the delivery schedule?", kind="request", rule="polite_ask")
    w.promise(theirs, "I will send the signed NDA tomorrow.", due_at=NOW - D)
    brief = one(w)
    promised, asked, their = (
        brief.of_kind("owner_promised"),  # type: ignore[attr-defined]
        brief.of_kind("they_asked"),  # type: ignore[attr-defined]
        brief.of_kind("they_promised"),  # type: ignore[attr-defined]
    )
    assert [f.text for f in promised] == ["I'll send you the revised quote by Friday."]
    assert promised[0].evidence.message_id == mine.id and not promised[0].done
    assert asked[0].evidence.message_id == theirs.id and asked[0].who == JANE
    assert their[0].evidence.sentence == "I will send the signed NDA tomorrow."
    # the one thing to say: the owner's own open promise comes first
    assert "revised quote" in brief.suggestion.text  # type: ignore[attr-defined]
    assert brief.suggestion.evidence.message_id == mine.id  # type: ignore[attr-defined]
    text = as_text(brief)  # type: ignore[arg-type]
    assert "<m" in text and "You promised them" in text and "They asked you" in text


def test_quoted_and_forwarded_sentences_are_never_facts() -> None:
    w = World()
    w.contact(JANE, "Jane Doe")
    w.meeting(NOW + 18 * H, [JANE])
    reply = w.message(NOW - D, JANE, [OWNER], QUOTED_REPLY)
    # a detector error: a promise read from the quoted part of Jane's reply
    w.promise(reply, "I will send you the signed contract by Friday.")
    brief = one(w)
    assert brief.facts == ()  # type: ignore[attr-defined]
    assert not in_own_words(reply, "I will send you the signed contract by Friday.")
    assert in_own_words(reply, "sounds good, see you   then.")


def test_a_fact_needs_its_author() -> None:
    """A promise to the owner must be in the attendee's own mail, a promise of the owner's in
    the owner's; a message by someone else is no evidence about them."""
    w = World()
    w.contact(JANE, "Jane Doe")
    w.meeting(NOW + 18 * H, [JANE])
    other = w.message(NOW - D, "carl@other.test", [OWNER], "Jane will send the contract Monday.")
    w.promise(other, "Jane will send the contract Monday.", by=JANE)
    assert one(w).facts == ()  # type: ignore[attr-defined]


def test_done_items_show_their_evidence_and_old_ones_drop() -> None:
    w = World()
    w.contact(JANE, "Jane Doe")
    w.meeting(NOW + 18 * H, [JANE])
    asked = w.message(NOW - 5 * D, OWNER, [JANE], "I will send the figures.")
    sent = w.message(NOW - 4 * D, OWNER, [JANE], "Here are the figures, as promised.")
    kept = w.promise(asked, "I will send the figures.", state="kept")
    old = w.message(NOW - 60 * D, OWNER, [JANE], "I will call you next week.", thread="t9")
    w.promise(old, "I will call you next week.", state="kept")
    [brief] = build_briefs(w.snap(), NOW, resolved_by={kept.id: sent.id})
    [fact] = brief.of_kind("owner_promised")
    assert fact.done and fact.resolved_by is not None
    assert fact.resolved_by.message_id == sent.id
    assert "[done]" in as_text(brief)


def test_small_talk_questions_are_not_asks() -> None:
    w = World()
    w.contact(JANE, "Jane Doe")
    w.meeting(NOW + 18 * H, [JANE])
    msg = w.message(NOW - D, JANE, [OWNER], "How was the trip? Please confirm the room.")
    w.promise(msg, "How was the trip?", kind="request", rule="question")
    w.promise(msg, "Please confirm the room.", kind="request", rule="polite_ask")
    assert [f.text for f in one(w).facts] == ["Please confirm the room."]  # type: ignore[attr-defined]


def test_topics_are_recent_real_threads() -> None:
    w = World()
    w.contact(JANE, "Jane Doe")
    w.meeting(NOW + 18 * H, [JANE])
    for i, subject in enumerate(["Budget", "Site visit", "Pricing", "Old thing"]):
        w.message(
            NOW - (i + 1) * D,
            JANE,
            [OWNER],
            f"Hi Olivia,\n\nThe {subject.lower()} numbers look right to me now.\n\nJane",
            subject=f"RE: {subject}",
            thread=f"t{i}",
        )
    w.message(NOW - 0.5 * D, JANE, [OWNER], "FYI", subject="Fwd: newsletter", thread="tf")
    w.message(
        NOW - 0.2 * D,
        "news@client.test",
        [OWNER],
        "Our weekly digest is out and full of news.",
        subject="Digest",
        thread="tn",
        is_automated=True,
    )
    brief = one(w)
    topics = brief.topics  # type: ignore[attr-defined]
    assert [t.subject for t in topics] == ["Budget", "Site visit", "Pricing"]
    assert topics[0].evidence.sentence == "The budget numbers look right to me now."
    assert brief.suggestion.text.startswith("Pick up where you left off: “Budget”")  # type: ignore[attr-defined]


def test_suggestion_order() -> None:
    w = World()
    m = w.meeting(NOW + 18 * H, [JANE])
    # nothing known: a first conversation
    assert "first conversation" in one(w).suggestion.text  # type: ignore[attr-defined]
    # in touch before, nothing open, no topic: no claim that this is a first meeting
    w.contact(JANE, "Jane Doe")
    assert "what has changed" in one(w).suggestion.text  # type: ignore[attr-defined]
    # a past meeting nobody wrote about since: a thank-you is owed
    w.meeting(NOW - 2 * D, [JANE], summary="Plant tour")
    assert "Plant tour" in one(w).suggestion.text  # type: ignore[attr-defined]
    # their question beats the thank-you
    q = w.message(NOW - 3 * D, JANE, [OWNER], "Could you tell me the launch date?")
    w.promise(q, "Could you tell me the launch date?", kind="request", rule="polite_ask")
    assert "launch date" in one(w).suggestion.text  # type: ignore[attr-defined]
    assert m.id == one(w).meeting_id  # type: ignore[attr-defined]


_LINES = st.sampled_from(
    [
        "I will send you the deck tomorrow.",
        "Could you confirm the date?",
        "Thanks for the call.",
        "We agreed on the price.",
    ]
)


@settings(max_examples=40, deadline=None)
@given(own=st.lists(_LINES, min_size=1, max_size=3), quoted=st.lists(_LINES, max_size=3))
def test_every_fact_lies_in_its_authors_own_words(own: list[str], quoted: list[str]) -> None:
    """Whatever the detector claims, a shown fact's sentence is in its message's own text."""
    w = World()
    w.contact(JANE, "Jane Doe")
    w.meeting(NOW + 18 * H, [JANE])
    body = "\n".join(own)
    if quoted:
        body += "\n\n-----Original Message-----\nFrom: Olivia\nSubject: x\n\n" + "\n".join(quoted)
    msg = w.message(NOW - D, JANE, [OWNER], body)
    for line in {*own, *quoted}:
        kind = "request" if line.endswith("?") else "commitment"
        w.promise(msg, line, kind=kind, rule="polite_ask" if kind == "request" else "")
    [brief] = build_briefs(w.snap(), NOW)
    for e in brief.evidence():
        assert in_own_words(next(m for m in w.messages if m.id == e.message_id), e.sentence)
    shown = {f.text for f in brief.facts}
    assert shown <= set(own)


def test_stale_open_items_header_lines_and_answered_threads_drop() -> None:
    w = World()
    w.contact(JANE, "Jane Doe")
    w.meeting(NOW + 18 * H, [JANE])
    old = w.message(
        NOW - 40 * D, JANE, [OWNER], "I will send the draft in the morning.", thread="a"
    )
    w.promise(old, "I will send the draft in the morning.", due_at=NOW - 39 * D)
    hdr = w.message(NOW - D, JANE, [OWNER], "Please respond to jane\nSee the list.", thread="b")
    w.promise(hdr, "Please respond to jane", kind="request", rule="polite_ask")
    asked = w.message(NOW - 3 * D, JANE, [OWNER], "Could you send the price list?", thread="c")
    w.promise(asked, "Could you send the price list?", kind="request", rule="polite_ask")
    assert [f.text for f in one(w).facts] == ["Could you send the price list?"]  # type: ignore[attr-defined]
    # the owner wrote in that thread since: the ask is no longer shown as unanswered
    w.message(NOW - 2 * D, OWNER, [JANE], "Here it is.", thread="c")
    assert one(w).facts == ()  # type: ignore[attr-defined]


def test_no_rhythm_claimed_from_one_interaction() -> None:
    w = World()
    w.contact(JANE, "Jane Doe", interaction_count=3, typical_gap_days=26.0)
    w.meeting(NOW + 18 * H, [JANE])
    [a] = one(w).attendees  # type: ignore[attr-defined]
    assert a.rhythm == "last in touch 3 days ago (3 interactions)"


def test_a_topic_quotes_the_first_paragraph_not_a_pasted_article() -> None:
    w = World()
    w.contact(JANE, "Jane Doe")
    w.meeting(NOW + 18 * H, [JANE])
    w.message(
        NOW - D,
        OWNER,
        [JANE],
        "see below.\n\nFederal price limits backfire\nSome generators withhold power rather "
        "than abide by rate caps\nA. Writer, Staff Writer\n",
        subject="Article",
    )
    [topic] = one(w).topics  # type: ignore[attr-defined]
    assert topic.evidence.sentence == "see below."
