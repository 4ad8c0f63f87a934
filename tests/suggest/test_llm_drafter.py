"""The optional LLM drafter against a stub OpenAI-compatible HTTP server (a real socket):
it gets the facts and the owner's own messages to that person as style examples, and its
answer is used only when it passes the same checks as the templates."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from rapportd.agent.core.settings import Settings, load_settings
from rapportd.agent.suggest.drafting import compose, render_template
from rapportd.agent.suggest.style import Style

CTX = {
    "first_name": "Jane",
    "promise_text": "I'll send the revised quote by Friday",
    "promised": "the revised quote",
    "it": "it",
    "overdue": True,
    "new_date": "Tuesday",
}
EXAMPLES = ["Jane - numbers attached, shout if anything looks odd. O.", "Jane - all good. O."]


class Stub:
    """What the server answers next, and what it was asked."""

    def __init__(self) -> None:
        self.answer = ""
        self.requests: list[dict[str, Any]] = []


@pytest.fixture
def stub() -> Iterator[tuple[Stub, str]]:
    state = Stub()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append({"path": self.path, "body": body})
            out = json.dumps(
                {"choices": [{"message": {"role": "assistant", "content": state.answer}}]}
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def _settings(url: str) -> Settings:
    return load_settings(drafter="llm", llm={"base_url": url, "model": "stub", "api_key": ""})


def test_default_settings_never_use_the_llm() -> None:
    assert load_settings().drafter != "llm"


def test_llm_answer_used_and_given_style_examples(stub: tuple[Stub, str]) -> None:
    state, url = stub
    state.answer = (
        "Hi Jane,\n\nSorry — the revised quote is running late. You'll have it Tuesday.\n\n"
        "Best,\nOlivia"
    )
    d = compose("promise_follow_up", CTX, Style(), _settings(url), subject="Re: Quote",
                examples=EXAMPLES)  # fmt: skip
    assert d.drafter == "llm" and "running late" in d.body and d.subject == "Re: Quote"
    [req] = state.requests
    assert req["path"] == "/v1/chat/completions" and req["body"]["model"] == "stub"
    prompt = req["body"]["messages"][-1]["content"]
    assert all(e in prompt for e in EXAMPLES)  # the owner's own words to this person
    assert "the revised quote" in prompt and "Tuesday" in prompt  # the same facts
    assert "I'll send the revised quote by Friday" not in prompt  # never the quote itself


@pytest.mark.parametrize(
    "answer",
    [
        "Hi Jane,\n\nAs promised, here it is: [attach or paste]\n\nBest,\nOlivia",
        "Hi Jane,\n\nI promised you “I'll send the revised quote by Friday”; sorry.\n\nBest,\nOlivia",
        "Hi jane.doe,\n\nThe revised quote is late, you'll have it Tuesday.\n\nBest,\nOlivia",
        "Dear Sir,\n\nThe revised quote is late, you'll have it Tuesday.\n\nBest,\nOlivia",
    ],
    ids=["placeholder", "quoted-first-person", "local-part-name", "wrong-greeting"],
)
def test_llm_answer_failing_the_checks_falls_back_to_template(
    stub: tuple[Stub, str], answer: str
) -> None:
    state, url = stub
    state.answer = answer
    d = compose("promise_follow_up", CTX, Style(), _settings(url), subject="Re: Quote")
    assert len(state.requests) == 1
    assert d.drafter == "template"
    assert d == render_template("promise_follow_up", CTX, Style(), subject="Re: Quote")
