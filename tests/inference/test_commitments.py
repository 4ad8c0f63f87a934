"""The local detector: promises, requests and the near-misses that are neither.

Sentences here are not taken from benchmarks/data/detect_eval.jsonl."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.agent.inference.commitments import classify_sentence, detect
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


def items(text: str, model: object = "shipped") -> list[tuple[str, str, float]]:
    found = detect(
        text,
        sent_at=SENT,
        tz="America/New_York",
        already_stripped=True,
        model=model,  # type: ignore[arg-type]
    )
    return [(i.kind, str(i.reasons["rule"]), i.confidence) for i in found]


@pytest.mark.parametrize("model", ["shipped", None])
@pytest.mark.parametrize(
    "text",
    [
        "Forwarding the signed lease now.",
        "I'm sending you the invoice herewith.",
        "Attached are the floor plans, as promised.",
        "Here is the quote you asked for.",
        "Here you go, the spreadsheet is attached.",
    ],
)
def test_a_delivery_made_in_the_message_is_no_promise(text: str, model: object) -> None:
    assert not [i for i in items(text, model) if i[0] == "commitment"]


@pytest.mark.parametrize("model", ["shipped", None])
def test_progressive_promise_without_delivery_marker_stays(model: object) -> None:
    assert [k for k, *_ in items("I'm sending the contract over tomorrow.", model)] == [
        "commitment"
    ]


@pytest.mark.parametrize("model", ["shipped", None])
@pytest.mark.parametrize(
    "text",
    [
        "When I can, you'll get the photos from me.",
        "When I can you'll get the photos from me.",
        "Within a few days you'll receive the figures from us.",
        "You'll have my notes by Friday.",
        "You will get our answer next week.",
    ],
)
def test_you_will_get_it_from_me_is_the_senders_promise(text: str, model: object) -> None:
    assert [k for k, *_ in items(text, model)] == ["commitment"]


@pytest.mark.parametrize("model", ["shipped", None])
def test_ask_followed_by_dependent_promise_keeps_the_ask(model: object) -> None:
    assert [k for k, *_ in items("Prepare the memo and I'll countersign it.", model)] == ["request"]


@pytest.mark.parametrize("model", ["shipped", None])
@pytest.mark.parametrize(
    "text",
    [
        "The draft is in the shared folder, let me know what you think.",
        "Let me know your thoughts.",
        "Please let me know if this looks ok.",
        "Any feedback is welcome.",
    ],
)
def test_courtesy_invitations_are_weak_asks(text: str, model: object) -> None:
    found = items(text, model)
    assert found and all(k == "request" and r == "courtesy" and c <= 0.5 for k, r, c in found)


@pytest.mark.parametrize("model", ["shipped", None])
def test_courtesy_with_a_deadline_is_an_explicit_ask(model: object) -> None:
    found = items("Let me know what you think by Friday.", model)
    assert [(k, r) for k, r, _ in found] == [("request", "let_me_know")]
    assert found[0][2] >= 0.6


@pytest.mark.parametrize(
    "text",
    [
        "Are you free on Saturday?",  # bare question
        "Let's grab a coffee sometime.",  # proposal
        "I'd like to meet your new team.",
    ],
)
def test_weak_asks_sit_below_every_explicit_ask(text: str) -> None:
    explicit = [
        "Could you send me the minutes?",
        "Please sign the form.",
        "I need your approval.",
        "Review the attached draft.",
    ]
    weak = [c for k, _, c in items(text) + items(text, None) if k == "request"]
    strong = [c for t in explicit for k, _, c in items(t) + items(t, None) if k == "request"]
    assert weak and strong and max(weak) <= 0.5 < 0.6 <= min(strong)


@pytest.mark.parametrize(
    "text",
    [
        "Maria - please print and have signed.",  # a name, then an imperative "please print"
        "Dana, get back to the vendor on this.",  # a name, then an imperative
        "If you get a spare minute, can you give me a ring about the lease?",
        "If you have the numbers handy, could you forward them to Pat?",
    ],
)
def test_asks_behind_a_vocative_or_a_condition_are_requests(text: str) -> None:
    items = detect(text, sent_at=SENT, already_stripped=True, model=None)
    assert [
        (i.kind, i.reasons["rule"] in ("please", "modal_you", "imperative")) for i in items
    ] == [("request", True)]


@pytest.mark.parametrize(
    "text",
    [
        "Please print this e-mail and keep it for your files.",
        "If you would like to unsubscribe, you can do so at any time.",
        "If you would prefer a paper statement, you can change it online.",
    ],
)
def test_notices_are_not_explicit_asks(text: str) -> None:
    items = detect(text, sent_at=SENT, already_stripped=True, model=None)
    assert items == []


def test_a_leading_name_before_a_statement_is_no_ask() -> None:
    for text in ("Dana, I think the draft is fine.", "Houston, we have a problem."):
        assert detect(text, sent_at=SENT, already_stripped=True, model=None) == []


def test_a_report_sentence_opening_with_a_verb_like_word_is_no_command() -> None:
    """From a real status report: "Present" is an adjective here, "Call volumes" a noun."""
    for text in (
        "Present were over a dozen Republican senators, including Minority Leader Lott.",
        "Call volumes were up again this week.",
    ):
        assert [k for k, _ in kinds(text) if k == "request"] == [], text
    assert [k for k, _ in kinds("Present the numbers at the board meeting.")] == ["request"]


@pytest.mark.parametrize(
    "text",
    [
        "I am in London right now and I shall attend the RISK conference this week.",
        "I will fly to Denver on Monday.",
        "We'll stay at the Hilton until Friday.",
        "I'm going to take some time off next week.",
        "Baby, I'm going to San Francisco on Aug 14 (Sunday) returning Wednesday.",
        "I'm going to the conference on Monday.",
        "Jeff and I will have a follow up call with the governor on Monday.",
        "We will meet with the board on Friday.",
        # states, not deeds
        "We will have a limited opportunity to take advantage of that realization.",
        "I don't think they will be combined into one, but I'll know more tomorrow.",
        "I'm sure we'll have something we'll need to talk about.",
    ],
)
def test_the_writers_own_plans_are_no_promises(text: str) -> None:
    """Seen in a real mailbox: where the writer will be is nothing anyone waits for."""
    assert [k for k, _ in kinds(text) if k == "commitment"] == []


@pytest.mark.parametrize(
    "text",
    [
        "I'm going to send the deck on Monday.",
        "I will have the draft to you by Friday.",
        "I will have a call set up with them by Friday.",
    ],
)
def test_going_to_a_verb_and_having_a_thing_ready_stay_promises(text: str) -> None:
    assert "commitment" in [k for k, _ in kinds(text)]


def test_a_character_the_charset_lost_is_no_question_mark() -> None:
    """Real mail shows a lost non-breaking space as "?" inside words."""
    text = "This list is made?up of?people that I know?and trust.? Can you call me?"
    items = detect(text, sent_at=SENT, already_stripped=True)
    assert [i.text for i in items if i.reasons.get("rule") != "model"] == ["Can you call me?"]


def test_a_lotus_notes_reply_to_line_is_no_ask() -> None:
    assert classify_sentence("Please respond to kevinscott") == []
    assert classify_sentence("Please respond to Jim's question.") != []


def test_an_offer_of_help_is_no_ask() -> None:
    """ "Let me know what I can do to help" offers; nobody owes an answer to it."""
    assert kinds("Let me know what I can do to help.") == []
    assert classify_sentence("Let us know how we can assist.") == []  # no rule reads an ask
