"""Fulfilment: kept / late / open for promises, answered / unanswered for requests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from rapportd.agent.inference.commitments import Detected
from rapportd.agent.inference.dates import resolve_due
from rapportd.agent.inference.fulfilment import assess
from rapportd.agent.inference.types import Meeting, Msg, Participant

T0 = datetime(2024, 4, 10, 14, 0, tzinfo=UTC)  # Wed
ANA, BO = "ana@x.example", "bo@y.example"


def origin(text: str, sender: str = ANA, to: str = BO, kind: str = "") -> tuple[Msg, Detected]:
    """The message and the item found in it. Built by hand (not by the detector, which is
    judged elsewhere) so these tests pin fulfilment alone; the due date comes from dates."""
    msg = Msg(id=1, sent_at=T0, sender=sender, recipients=(to,), thread_id="t1", text=text)
    kind = kind or ("request" if text.rstrip().endswith("?") else "commitment")
    due = resolve_due(text, T0, "UTC")
    item = Detected(
        kind=kind,  # type: ignore[arg-type]
        by=sender,
        to=to,
        text=text,
        due=due.at if due else None,
        due_text=due.text if due else "",
        confidence=0.9,
    )
    return msg, item


def later(
    i: int,
    hours: float,
    sender: str,
    to: str,
    text: str = "",
    attach: bool = False,
    thread: str = "t1",
) -> Msg:
    return Msg(
        id=i,
        sent_at=T0 + timedelta(hours=hours),
        sender=sender,
        recipients=(to,),
        thread_id=thread,
        text=text,
        has_attachments=attach,
    )


def test_kept_by_attachment_on_time() -> None:
    msg, item = origin("I'll send the pricing deck by Friday.")
    f = assess(
        item, msg, [later(2, 20, ANA, BO, "Here you go.", attach=True)], now=T0 + timedelta(days=5)
    )
    assert f.state == "kept" and f.evidence_id == 2 and f.reasons["on_time"] is True


def test_kept_by_matching_phrase_in_another_thread() -> None:
    msg, item = origin("I'll send the pricing deck by Friday.")
    reply = later(3, 100, ANA, BO, "As promised, the pricing deck is below.", thread="t9")
    f = assess(item, msg, [reply], now=T0 + timedelta(days=6))
    assert f.state == "kept" and f.reasons["on_time"] is False


def test_unrelated_mail_does_not_keep_it_and_it_goes_late() -> None:
    msg, item = origin("I'll send the pricing deck by Friday.")
    noise = [
        later(2, 5, BO, ANA, "Thanks!"),
        later(3, 6, ANA, "z@z.example", "attached", attach=True),
    ]
    assert assess(item, msg, noise, now=T0 + timedelta(days=1)).state == "open"
    assert assess(item, msg, noise, now=T0 + timedelta(days=4)).state == "late"


def test_meeting_keeps_a_promise_to_call() -> None:
    msg, item = origin("I'll call you on Monday to go over the numbers.")
    meeting = Meeting(
        id=7,
        start=T0 + timedelta(days=5),
        end=T0 + timedelta(days=5, hours=1),
        attendees=(Participant(ANA), Participant(BO)),
    )
    f = assess(item, msg, [], now=T0 + timedelta(days=6), meetings=[meeting])
    assert f.state == "kept" and f.reasons["meeting"] == 7


def test_request_answered_or_not() -> None:
    msg, item = origin("Could you confirm the headcount by Friday?")
    assert assess(item, msg, [], now=T0 + timedelta(days=3)).state == "unanswered"
    own_followup = later(2, 2, ANA, BO, "Bump")
    assert assess(item, msg, [own_followup], now=T0 + timedelta(days=1)).state == "unanswered"
    answer = later(3, 30, BO, ANA, "12 people.")
    f = assess(item, msg, [own_followup, answer], now=T0 + timedelta(days=3))
    assert f.state == "answered" and f.evidence_id == 3 and f.reasons["on_time"] is True


def test_messages_in_the_future_are_not_seen() -> None:
    msg, item = origin("Could you confirm the headcount?")
    answer = later(3, 30, BO, ANA, "12 people.")
    assert assess(item, msg, [answer], now=T0 + timedelta(hours=1)).state == "unanswered"


# --- delivery detection (issue 7) ---------------------------------------------------------


def test_a_sentence_that_performs_the_delivery_is_kept_by_its_own_message() -> None:
    for text in ("Sending over the deck now.", "Attached is the deck, as promised."):
        msg, item = origin(text, kind="commitment")
        f = assess(item, msg, [], now=T0 + timedelta(days=3))
        assert f.state == "kept" and f.evidence_id == 1 and f.reasons["performed_in_message"]
    msg, item = origin("I'm sending the deck tomorrow.", kind="commitment")
    assert assess(item, msg, [], now=T0 + timedelta(hours=1)).state == "open"


def test_an_attachment_in_the_thread_keeps_a_promise_without_a_sending_verb() -> None:
    msg, item = origin("I'll follow up with the deck within two weeks.")
    reply = later(2, 50, ANA, BO, "Sending over the deck now.", attach=True)
    f = assess(item, msg, [reply], now=T0 + timedelta(days=4))
    assert f.state == "kept" and f.evidence_id == 2 and f.reasons["same_thread"] is True


def test_a_generic_delivery_in_another_thread_is_not_evidence() -> None:
    msg, item = origin("I'll get the pricing sheet to you by Friday.")
    other = later(2, 30, ANA, BO, "Done, see attached.", attach=True, thread="t7")
    assert assess(item, msg, [other], now=T0 + timedelta(days=4)).state == "late"
    named = later(3, 40, ANA, BO, "The pricing sheet you wanted.", attach=True, thread="t8")
    f = assess(item, msg, [other, named], now=T0 + timedelta(days=4))
    assert f.state == "kept" and f.evidence_id == 3


def test_a_promise_to_get_back_is_kept_by_getting_back() -> None:
    msg, item = origin("I'll look into it and let you know tomorrow.")
    answer = later(2, 70, ANA, BO, "Getting back to you as promised: all confirmed.")
    f = assess(item, msg, [answer], now=T0 + timedelta(days=5))
    assert f.state == "kept" and f.reasons["on_time"] is False


def test_only_a_small_meeting_keeps_a_promise_to_call_and_only_a_promise_to_call() -> None:
    people = (Participant(ANA), Participant(BO))
    crowd = people + tuple(Participant(f"p{i}@z.example") for i in range(10))
    small = Meeting(id=7, start=T0 + timedelta(days=1), end=T0 + timedelta(days=1, hours=1))
    msg, item = origin("I'll call you on Monday to go over the numbers.")
    all_hands = Meeting(id=8, start=small.start, end=small.end, attendees=crowd)
    assert assess(item, msg, [], now=T0 + timedelta(days=6), meetings=[all_hands]).state == "late"
    msg, item = origin("You'll get my notes from the call by Friday.")
    one_to_one = Meeting(id=9, start=small.start, end=small.end, attendees=people)
    assert assess(item, msg, [], now=T0 + timedelta(days=6), meetings=[one_to_one]).state == "late"


def test_mail_about_something_else_does_not_answer_a_request() -> None:
    msg, item = origin("Could you send me the revised proposal by Friday?", sender=BO, to=ANA)
    unrelated = later(2, 20, ANA, BO, "Lunch next week?", thread="t5")
    assert assess(item, msg, [unrelated], now=T0 + timedelta(days=3)).state == "unanswered"
    about_it = later(3, 22, ANA, BO, "The revised proposal is on its way.", thread="t6")
    assert assess(item, msg, [about_it], now=T0 + timedelta(days=3)).state == "answered"
    in_thread = later(4, 21, ANA, BO, "Yes.")
    f = assess(item, msg, [unrelated, in_thread], now=T0 + timedelta(days=3))
    assert f.state == "answered" and f.evidence_id == 4


def test_a_reply_filed_in_a_thread_of_its_own_answers_by_its_subject() -> None:
    # mail whose client or archive dropped In-Reply-To/References gets a thread of its own;
    # "RE: <the ask's subject>" to the asker is still the answer, in whatever words
    msg, item = origin("Could you destroy the materials and confirm by email?", sender=BO, to=ANA)
    msg = replace(msg, subject="Return of Confidential Materials")
    answer = replace(
        later(2, 1, ANA, BO, "I have no docs on this transaction.", thread="t7"),
        subject="Re: Return of Confidential Materials",
    )
    f = assess(item, msg, [answer], now=T0 + timedelta(days=3))
    assert f.state == "answered" and f.evidence_id == 2 and f.reasons["same_thread"] is True
    # not when it went to someone else, not without the reply prefix, not for an empty subject
    elsewhere = replace(answer, recipients=("z@z.example",))
    retitled = replace(answer, subject="Return of Confidential Materials")
    for other in (elsewhere, retitled):
        assert assess(item, msg, [other], now=T0 + timedelta(days=3)).state == "unanswered"
    blank = replace(msg, subject="")
    assert assess(
        item, blank, [replace(answer, subject="Re:")], now=T0 + timedelta(days=3)
    ).state == ("unanswered")
