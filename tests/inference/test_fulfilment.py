"""Fulfilment: kept / late / open for promises, answered / unanswered for requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from rapportd.agent.inference.commitments import detect
from rapportd.agent.inference.fulfilment import assess
from rapportd.agent.inference.types import Meeting, Msg, Participant

T0 = datetime(2024, 4, 10, 14, 0, tzinfo=UTC)  # Wed
ANA, BO = "ana@x.example", "bo@y.example"


def origin(text: str, sender: str = ANA, to: str = BO) -> tuple[Msg, object]:
    msg = Msg(id=1, sent_at=T0, sender=sender, recipients=(to,), thread_id="t1", text=text)
    (item,) = detect(
        text, sent_at=T0, tz="UTC", sender=sender, recipients=(to,), already_stripped=True
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
