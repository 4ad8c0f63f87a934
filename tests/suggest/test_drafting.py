"""Templates per kind and stage, the owner's style, and the LLM drafter with its fallbacks."""

from __future__ import annotations

import json

import httpx
import pytest

from rapportd.agent.settings import load_settings
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


def test_template_uses_real_context_and_style() -> None:
    st = learn_style(SENT, "Olivia Owner")
    d = render_template("thank_you", CTX, st)
    assert d.subject == "Thank you — Quote review"
    assert d.body.startswith("Hello Jane,\n")
    assert "Tuesday 11 June" in d.body and "“Quote review”" in d.body
    assert d.body.rstrip().endswith("Cheers,\nOlivia Owner\nHead of Sales, Acme")


def test_stage_changes_the_template() -> None:
    st = Style()
    warm = render_template(
        "check_in", {"first_name": "Sam", "stage": "bond", "last_topic": "Lisbon"}, st
    )
    formal = render_template(
        "check_in", {"first_name": "Sam", "stage": "acknowledge", "last_topic": "Lisbon"}, st
    )
    plain = render_template(
        "check_in", {"first_name": "Sam", "stage": "respect", "last_topic": "Lisbon"}, st
    )
    assert len({warm.body, formal.body, plain.body}) == 3
    assert "Lisbon" in warm.body and "Lisbon" in formal.body


@pytest.mark.parametrize("kind", ["promise_follow_up", "reply_needed", "nudge"])
def test_reply_templates_quote_the_promise_and_keep_thread_subject(kind: str) -> None:
    ctx = {
        "first_name": "Jane",
        "promise_text": "send the revised quote",
        "due_date": "Friday",
        "overdue": True,
        "their_promise": True,
    }
    d = render_template(kind, ctx, Style(), subject="Re: Quote")
    assert d.subject == "Re: Quote"
    assert "send the revised quote" in d.body


def test_hold_template_has_summary() -> None:
    d = render_template(
        "promise_hold",
        {"promise_text": "send the deck", "first_name": "Jane", "due_date": "Friday"},
        Style(),
    )
    assert d.subject.startswith("Hold: send the deck")
    assert "Friday" in d.body


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
