"""Templates per kind and stage, the owner's style, and the LLM drafter with its fallbacks."""

from __future__ import annotations

import json

import httpx
import pytest

from rapportd.agent.core.settings import load_settings
from rapportd.agent.suggest.draft_checks import problems, sentences
from rapportd.agent.suggest.drafting import LLMDrafter, compose, render_template
from rapportd.agent.suggest.style import Style, learn_style

SENT = [
    "Hello Bob,\n\nSure, Thursday works.\n\nCheers,\nOlivia Owner\nHead of Sales, Acme",
    "Hello Jo,\n\nAttached.\n\nCheers,\nOlivia Owner\nHead of Sales, Acme",
    "Hi Max,\n\nThanks!\n\nBest,\nOlivia",
]
CTX = {
    "first_name": "Jane",
    "meeting_title": "Quote review",
    "meeting_date": "Tuesday 11 June",
    "meeting_day": "Tuesday",
    "stage": "respect",
}


def test_learn_style_picks_most_common_habits() -> None:
    st = learn_style(SENT, "Olivia Owner")
    assert st.greeting == "Hello"
    assert st.sign_off == "Cheers,"
    assert st.signature == "Olivia Owner\nHead of Sales, Acme"


def test_learn_style_defaults_without_mail() -> None:
    st = learn_style([], "Olivia Owner")
    assert (st.greeting, st.sign_off, st.signature) == ("Hi", "Best,", "Olivia")


def test_an_owner_who_does_not_sign_is_not_given_a_guessed_name() -> None:
    # real mail (an executive's sent items): short notes, no name at the end of any
    unsigned = ["fyi", "Attached are my edits.", "Is Jeff available?", "per my voicemail"] * 3
    assert learn_style(unsigned, "Steven J Kean").signature == ""
    # the same owner when most messages end with a name, or too few messages to tell
    signed = [f"{t}\nSteve" for t in unsigned[:6]] + unsigned[:4]
    assert learn_style(signed, "Steven J Kean").signature == "Steven"  # no block: the guess
    assert learn_style(unsigned[:3], "Steven J Kean").signature == "Steven"


def test_template_uses_real_context_and_style() -> None:
    st = learn_style(SENT, "Olivia Owner")
    d = render_template("thank_you", CTX, st)
    assert d.subject == "Thank you — Quote review"
    assert d.body.startswith("Hello Jane,\n")
    assert st.tone == "casual"  # short notes signed "Cheers,"
    assert "Tuesday" in d.body and "“Quote review”" in d.body
    plain = render_template("thank_you", CTX, Style())
    assert "Tuesday 11 June" in plain.body and "“Quote review”" in plain.body
    assert d.body.rstrip().endswith("Cheers,\nOlivia Owner\nHead of Sales, Acme")


def test_tone_changes_the_check_in_and_topic_is_named() -> None:
    ctx = {"first_name": "Sam", "topic": "Lisbon office", "silence_words": "six weeks"}
    casual = render_template("check_in", {**ctx, "tone": "casual"}, Style())
    plain = render_template("check_in", {**ctx, "tone": "plain"}, Style())
    assert casual.body != plain.body
    assert "“Lisbon office”" in casual.body and "“Lisbon office”" in plain.body
    assert casual.subject == "Lisbon office"
    bare = render_template("check_in", {"first_name": "Sam", "silence_words": "six weeks"}, Style())
    assert "“" not in bare.body and bare.subject and "None" not in bare.body


def test_check_ins_of_a_batch_share_no_sentence() -> None:
    bodies = [
        render_template(
            "check_in",
            {"first_name": n, "variant": i, "tone": tone, "silence_words": "five weeks"},
            Style(),
        ).body
        for tone in ("casual", "plain")
        for i, n in enumerate(["Ana", "Ben", "Cy", "Di", "Ed", "Flo"])
    ]
    for tone_bodies in (bodies[:6], bodies[6:]):
        seen: set[str] = set()
        for body in tone_bodies:
            mine = set(sentences(body))
            assert mine and not (mine & seen)
            seen |= mine


REPLY_CTX = {
    "first_name": "Jane",
    "promise_text": "I'll send the revised quote by Friday",
    "promised": "the revised quote",
    "ask": "about the revised quote",
    "due_date": "Friday 12 June",
    "due_day": "Friday",
    "new_date": "Tuesday",
    "reply_by": "Thursday",
    "asked_on": "Monday 8 June",
    "overdue": True,
    "their_promise": True,
}


@pytest.mark.parametrize("kind", ["promise_follow_up", "reply_needed", "nudge"])
@pytest.mark.parametrize("variant", [0, 1, 2, 3])
def test_reply_templates_name_the_thing_and_keep_thread_subject(kind: str, variant: int) -> None:
    d = render_template(kind, {**REPLY_CTX, "variant": variant}, Style(), subject="Re: Quote")
    assert d.subject == "Re: Quote"
    assert "the revised quote" in d.body
    assert problems(d.body) == []  # no placeholder, no quoted first-person sentence
    assert "I'll send the revised quote" not in d.body
    if kind != "nudge":
        assert ("Tuesday" if kind == "promise_follow_up" else "Thursday") in d.body


@pytest.mark.parametrize("variant", [0, 1])
def test_a_promise_on_track_agrees_with_a_plural_object(variant: int) -> None:
    ctx = {**REPLY_CTX, "overdue": False, "variant": variant}
    plural = render_template(
        "promise_follow_up", {**ctx, "promised": "the travel plans", "it": "them"}, Style()
    )
    single = render_template("promise_follow_up", {**ctx, "it": "it"}, Style())
    assert "the travel plans are " in plural.body and "the travel plans is " not in plural.body
    assert "the revised quote is " in single.body


def test_reply_needed_without_a_phrase_names_the_message_date() -> None:
    ctx = {**REPLY_CTX, "ask": "", "topic": ""}
    d = render_template("reply_needed", ctx, Style())
    assert "Monday 8 June" in d.body and "Thursday" in d.body and problems(d.body) == []
    assert d.subject == "Your message"


def test_thank_you_to_several_people_greets_them_by_name_with_next_step() -> None:
    ctx = {
        **CTX,
        "names": ["Jane", "Raj"],
        "next_step": "the revised quote",
        "next_step_by": "Friday",
    }
    d = render_template("thank_you", ctx, Style())
    assert d.body.startswith("Hi Jane and Raj,\n")
    assert "As agreed, you'll have the revised quote by Friday." in d.body
    assert "I'll follow up on what we discussed" not in d.body


def test_hold_template_has_summary() -> None:
    d = render_template(
        "promise_hold",
        {"promise_text": "send the deck", "first_name": "Jane", "due_date": "Friday"},
        Style(),
    )
    assert d.subject == "Hold: send the deck (Jane)"  # whom it is for, in the calendar too
    assert "Friday" in d.body
    d = render_template("promise_hold", {"promise_text": "I shall talk to him on Monday."}, Style())
    assert d.subject == "Hold: I shall talk to him on Monday"  # a title, not a sentence


def _llm_settings() -> object:
    return load_settings(
        drafter="llm", llm={"base_url": "http://llm.test/v1", "model": "m", "api_key": "sk-x"}
    )


def test_llm_drafter_used_when_answer_is_good() -> None:
    seen: dict[str, object] = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"] = str(request.url)
        seen["auth"] = request.headers.get("authorization")
        seen["body"] = json.loads(request.content)
        text = (
            "Hi Jane,\n\nThanks for Tuesday — the quote review was really useful.\n\nBest,\nOlivia"
        )
        return httpx.Response(200, json={"choices": [{"message": {"content": text}}]})

    settings = _llm_settings()
    llm = LLMDrafter(settings.llm, transport=httpx.MockTransport(handler))  # type: ignore[attr-defined]
    d = compose("thank_you", CTX, Style(), settings, llm=llm)  # type: ignore[arg-type]
    assert d.drafter == "llm" and "quote review was really useful" in d.body
    assert d.subject == "Thank you — Quote review"  # subject stays the template's
    assert seen["url"] == "http://llm.test/v1/chat/completions"
    assert seen["auth"] == "Bearer sk-x"
    assert "Quote review" in json.dumps(seen["body"])  # same context as the template


@pytest.mark.parametrize("failure", ["500", "timeout", "too_long", "too_short", "garbage"])
def test_llm_drafter_falls_back_to_template(failure: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if failure == "500":
            return httpx.Response(500, json={"error": "boom"})
        if failure == "timeout":
            raise httpx.ReadTimeout("slow", request=request)
        if failure == "garbage":
            return httpx.Response(200, json={"nothing": []})
        text = "x" * 5000 if failure == "too_long" else "ok"
        return httpx.Response(200, json={"choices": [{"message": {"content": text}}]})

    settings = _llm_settings()
    llm = LLMDrafter(settings.llm, transport=httpx.MockTransport(handler))  # type: ignore[attr-defined]
    d = compose("thank_you", CTX, Style(), settings, llm=llm)  # type: ignore[arg-type]
    assert d.drafter == "template"
    assert d == render_template("thank_you", CTX, Style())


def test_template_drafter_never_calls_llm() -> None:
    settings = load_settings(llm={"base_url": "http://llm.test/v1", "model": "m"})
    calls = []
    llm = LLMDrafter(
        settings.llm,
        transport=httpx.MockTransport(lambda r: calls.append(r) or httpx.Response(500)),
    )
    assert compose("thank_you", CTX, Style(), settings, llm=llm).drafter == "template"
    assert calls == []
