"""Words made from what was said: the thing promised, what an ask is about, real topics."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rapportd.agent.suggest.draft_checks import (
    local_part_names,
    placeholders,
    problems,
    quoted_first_person,
    sentences,
    subject_as_topic,
)
from rapportd.agent.suggest.phrasing import (
    ask_phrase,
    day_phrase,
    join_names,
    meeting_title,
    names_someone,
    promised_object,
    pronoun,
    span_words,
    their_object,
    topic_of,
)


@pytest.mark.parametrize(
    ("text", "obj"),
    [
        ("I'll send the revised pricing by Thursday", "the revised pricing"),
        ("Expect the API docs from me by the end of the week.", "the API docs"),
        ("I can have the final report ready for you by Friday.", "the final report"),
        ("I will send you my comments tomorrow.", "my comments"),
        ("I'll review the contract and get back to you", "my comments on the contract"),
        ("I will get back to you on the Q3 budget next week", "an answer on the Q3 budget"),
        ("Let me check and come back to you by the end of the month.", "an answer"),
        ("I'll put together a proposal for the board by Monday.", "a proposal for the board"),
        ("We will have the term sheet to you by Friday.", "the term sheet"),
        ("I'll send you our travel plans tomorrow.", "the travel plans"),
        # no deliverable: a plan, a pronoun, a call
        ("Baby, I'm going to San Francisco on Aug 14 returning Wednesday.", ""),
        ("I'll send it over tomorrow", ""),
        ("I'll call you tomorrow", ""),
    ],
)
def test_promised_object(text: str, obj: str) -> None:
    assert promised_object(text) == obj


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        (
            "Please tell me in a couple of days if we should include the analytics module.",
            "whether we should include the analytics module",
        ),
        ("Could you send me the photos from the weekend?", "about the photos from the weekend"),
        (
            "Can you confirm by Tuesday that the numbers look right to you?",
            "whether the numbers look right to me",
        ),
        ("What are your thoughts on the new org chart?", "about the new org chart"),
        ("Are you coming?", ""),
        (
            "Please let me know whether you are joining the offsite.",
            "whether I am joining the offsite",
        ),
        ("Let us know if you can make it to my talk.", "whether I can make it to your talk"),
        (
            "Tell me if I was right about your numbers.",
            "whether you were right about my numbers",
        ),
        ("Let me know if you're around.", "whether I'm around"),
    ],
)
def test_ask_phrase_turns_the_askers_words_round(text: str, phrase: str) -> None:
    assert ask_phrase(text) == phrase


def test_owner_question_keeps_the_owners_words() -> None:
    assert ask_phrase("Can you confirm that the numbers look right to you?", flip=False) == (
        "whether the numbers look right to you"
    )


@pytest.mark.parametrize(
    ("subject", "topic"),
    [
        ("Long time no see", ""),
        ("Dinner on Saturday?", ""),
        ("Re: Lunch next week", ""),
        ("Weekend plans", ""),
        ("CONFIDENTIAL - DO NOT DISTRIBUTE", ""),
        ("Hi", ""),
        ("", ""),
        ("Re: Partnership idea", "Partnership idea"),
        ("[EXT] PRJ-204: Pricing review", "Pricing review"),
        ("FW: Pricing review", ""),  # a forward is someone else's mail passed on
        ("Dow Jones Reports that PG&E Buys Forward for 5.6 cents for two years", ""),
        ("EBR - Public Affairs - Nov. 6", ""),
        ("California Power Crisis Update (No. 10)", "California Power Crisis Update"),
        ("Re: 2001 budget", "2001 budget"),
    ],
)
def test_topic_of(subject: str, topic: str) -> None:
    assert topic_of(subject) == topic


def test_meeting_title_drops_invitation_noise_and_person_titles() -> None:
    raw = "Invitation: Delta Foods: quarterly review @ Tue Dec 1, 2pm (EST) (a@b.com)"
    assert meeting_title(raw) == "Delta Foods: quarterly review"
    assert names_someone("Call with Sofia García", ["Sofia García", "Yusuf Garcia"])
    assert not names_someone("Delta Foods: quarterly review", ["Émile Adeyemi"])


def test_small_words() -> None:
    tz = ZoneInfo("America/New_York")
    now = datetime(2026, 12, 3, 15, tzinfo=UTC)  # a Thursday
    assert day_phrase(datetime(2026, 12, 7, 15, tzinfo=UTC), now, tz) == "Monday"
    assert day_phrase(datetime(2026, 12, 15, 15, tzinfo=UTC), now, tz) == "Tuesday 15 December"
    assert day_phrase(datetime(2026, 12, 3, 22, tzinfo=UTC), now, tz) == "the end of today"
    assert day_phrase(datetime(2026, 12, 4, 3, tzinfo=UTC), now, tz) == "the end of today"  # NY
    assert day_phrase(datetime(2026, 12, 4, 15, tzinfo=UTC), now, tz) == "tomorrow"
    assert span_words(35) == "five weeks" and span_words(70) == "a couple of months"
    assert join_names(["Ana", "Ben", "Cy"]) == "Ana, Ben and Cy"
    assert pronoun("the API docs") == "them" and pronoun("the pricing sheet") == "it"
    assert their_object("an answer on X") == "your answer on X"
    assert their_object("my comments on X") == "your comments on X"


# --- the checks ---------------------------------------------------------------------------


def test_checks_find_what_the_issue_found() -> None:
    bad = (
        "Hi henrik.weber,\n\nI promised you “I'll send the revised pricing by Thursday”. "
        "It's been a while since we last spoke about Long time no see.\n\n[your answer]\n\nBest,\nYusuf"
    )
    to = [["henrik.weber@kestrel-air.example", "henrik.weber@kestrel-air.example"]]
    assert placeholders(bad) == ["[your answer]"]
    assert quoted_first_person(bad) == ["I'll send the revised pricing by Thursday"]
    assert set(local_part_names(bad, to)) == {
        "henrik.weber",
        "henrik.weber@kestrel-air.example",
    }
    assert subject_as_topic(bad, ["Re: Long time no see"]) == ["Long time no see"]
    assert len(problems(bad, to, subjects=["Long time no see"])) == 5


def test_checks_pass_a_good_draft() -> None:
    good = (
        "Hi Henrik,\n\nThanks for asking about the Q3 numbers — I'll come back to you by "
        "Thursday.\n\nBest,\nYusuf"
    )
    to = [["henrik.weber@kestrel-air.example", "Henrik Weber"]]
    assert problems(good, to, known_names=["Henrik Weber"], subjects=["Q3 numbers"]) == []
    assert sentences(good) == [
        "Thanks for asking about the Q3 numbers — I'll come back to you by Thursday."
    ]


@given(
    st.text(
        alphabet=st.characters(blacklist_characters='[]{}<>“”"', blacklist_categories=("Cs",)),
        max_size=200,
    )
)
def test_plain_text_without_brackets_or_quotes_has_no_placeholder_or_quote(text: str) -> None:
    assert (
        placeholders(
            text.replace("TODO", "").replace("TBD", "").replace("XXX", "").replace("FIXME", "")
        )
        == []
    )
    assert quoted_first_person(text) == []
