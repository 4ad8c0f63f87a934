"""The local detector: promises, requests and the near-misses that are neither.

Sentences here are not taken from benchmarks/data/detect_eval.jsonl."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapportd.agent.inference.commitments import detect
from rapportd.agent.inference.sentences import split_sentences

SENT = datetime(2024, 4, 10, 9, 30, tzinfo=ZoneInfo("America/New_York"))  # Wed 10 Apr 2024


def kinds(text: str) -> list[tuple[str, str | None]]:
    items = detect(text, sent_at=SENT, tz="America/New_York", already_stripped=True)
    return [(i.kind, i.due.date().isoformat() if i.due else None) for i in items]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I'll get the budget sheet to you by Thursday.", [("commitment", "2024-04-11")]),
        ("We will deliver the mockups early next week.", [("commitment", "2024-04-16")]),
        ("will circulate the notes tmrw", [("commitment", "2024-04-11")]),
        ("Let me run this by legal and get back to you Monday.", [("commitment", "2024-04-15")]),
        ("Could you send over the draft lease by the 15th?", [("request", "2024-04-15")]),
        ("Please sign page 4 and return it EOD.", [("request", "2024-04-10")]),
        ("Would you mind checking the totals?", [("request", None)]),
        ("Let me know which option you prefer.", [("request", None)]),
        ("What's the login for the staging server?", [("request", None)]),
        ("I'll need your passport number by Friday.", [("request", "2024-04-12")]),
    ],
)
def test_positives(text: str, expected: list[tuple[str, str | None]]) -> None:
    assert kinds(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "If the client agrees, I'll draft the amendment.",  # conditional
        "I'll try to have a look tonight.",  # hedge
        "I might send the photos later.",  # hedge
        "I won't be able to join on Friday.",  # decline
        "I sent the report on Monday.",  # past
        "I've already booked the flights.",  # past
        "Karen will send the invoice tomorrow.",  # third party
        "How was the wedding?",  # social question
        "Can you believe the weather today?",  # rhetorical
        "Please find attached the April statement.",  # boilerplate
        "Let me know if you have any questions.",  # boilerplate
        "I'll be on vacation next week.",  # a state, not an action
        "Happy to chat if it helps.",  # offer
    ],
)
def test_near_misses(text: str) -> None:
    assert kinds(text) == []


def test_quoted_promises_and_signature_are_ignored() -> None:
    body = (
        "Thanks, noted.\n\nBest,\nAna\n\nAna Ruiz\nCall me: +1 555 0100\nI'll reply within 24 hours.\n\n"
        "On Tue, Apr 9, 2024 at 3:00 PM Bo <bo@x.example> wrote:\n> I will send the deck by Friday.\n"
        "> Could you confirm the room?\n"
    )
    assert detect(body, sent_at=SENT, tz="America/New_York") == []


def test_by_and_to_and_reasons() -> None:
    items = detect(
        "Hi Bo,\n\nI'll send the contract by Friday.\n\nThanks,\nAna",
        sent_at=SENT,
        tz="America/New_York",
        sender="ana@x.example",
        recipients=("bo@y.example", "cc@y.example"),
    )
    assert len(items) == 1
    item = items[0]
    assert item.kind == "commitment" and item.by == "ana@x.example"
    assert item.to == "bo@y.example, cc@y.example"
    assert item.text == "I'll send the contract by Friday."
    assert item.due is not None and item.due.date() == date(2024, 4, 12)
    assert item.due_text == "Friday" and item.reasons["rule"] == "first_person_future"
    assert 0 < item.confidence <= 1
    anonymous = detect("Can you call me?", sent_at=SENT)
    assert anonymous[0].by == "sender" and anonymous[0].to == "recipient"


def test_bullets_and_action_item_notes() -> None:
    body = "Next steps:\n- Draft the SOW (me, by Fri)\n- Share access (you)\n- Book travel (Lee)"
    assert kinds(body) == [("commitment", "2024-04-12"), ("request", None)]


def test_request_with_conditional_promise_after_it() -> None:
    assert kinds("Send me the file and I'll take a look.") == [("request", None)]


def test_sentences_without_punctuation() -> None:
    assert split_sentences("ok\nwill send tmrw\n\nthanks") == ["ok", "will send tmrw", "thanks"]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_detect_is_total(text: str) -> None:
    for item in detect(text, sent_at=SENT, tz="Europe/Paris"):
        assert item.kind in ("commitment", "request")
        assert 0 <= item.confidence <= 1
