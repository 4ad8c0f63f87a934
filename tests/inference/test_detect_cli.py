"""`rapportd detect --jsonl` and the optional LLM detector with its fallback."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import httpx
from typer.testing import CliRunner

from rapportd.agent.cli.detect import run
from rapportd.agent.cli.main import app
from rapportd.agent.core.settings import Settings
from rapportd.agent.inference.commitments import detect
from rapportd.agent.inference.llm_detect import detect_with

LINES = [
    {
        "id": "a",
        "text": "Hi,\n\nI'll send the deck by Friday.\n\nThanks,\nAna",
        "sent_at": "2024-03-13T14:15:00Z",
        "from": "ana@x.example",
        "to": ["bo@y.example"],
        "tz": "America/New_York",
        "extra": 1,
    },
    {"id": "b", "text": "Can you review it?", "sent_at": "2024-03-13T14:15:00+00:00"},
    {"id": "c", "text": "How was the trip?", "sent_at": "2024-03-13"},
]


def test_cli_round_trip_with_errors() -> None:
    stdin = "\n".join(
        [json.dumps(x) for x in LINES]
        + ["{not json", json.dumps({"id": "d", "text": 5, "sent_at": "x"})]
    )
    result = CliRunner().invoke(app, ["detect", "--jsonl"], input=stdin + "\n")
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.output.splitlines()]
    assert [o.get("id") for o in out] == ["a", "b", "c", None, "d"]
    a = out[0]["items"]
    assert a == [
        {
            "kind": "commitment",
            "by": "ana@x.example",
            "to": "bo@y.example",
            "text": "I'll send the deck by Friday.",
            "due": "2024-03-15",
            "confidence": a[0]["confidence"],
        }
    ]
    assert out[1]["items"][0]["kind"] == "request" and out[1]["items"][0]["by"] == "sender"
    assert out[2]["items"] == []
    assert "error" in out[3] and "error" in out[4]


def test_run_counts_errors() -> None:
    out = io.StringIO()
    assert run(io.StringIO('{"id": 1}\n\n[1]\n'), out, detect) == 2
    assert len(out.getvalue().splitlines()) == 2


def _settings(base_url: str = "http://llm.test/v1") -> Settings:
    return Settings(
        detector="llm",
        llm={"base_url": base_url, "model": "m", "api_key": "k", "timeout_seconds": 1},
    )


SENT = datetime(2024, 3, 13, 14, 15, tzinfo=UTC)


def test_llm_detector_used_when_configured() -> None:
    seen: list[dict] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        seen.append(body)
        assert request.headers["Authorization"] == "Bearer k"
        assert "quoted" not in body["messages"][1]["content"]  # quotes stripped before sending
        answer = {
            "items": [
                {"kind": "request", "text": "Send the deck.", "due": "2024-03-15"},
                {"kind": "nonsense", "text": "x"},
            ]
        }
        return httpx.Response(200, json={"choices": [{"message": {"content": json.dumps(answer)}}]})

    items = detect_with(
        _settings(),
        "Send the deck.\n\n> quoted promise I'll do it",
        sent_at=SENT,
        tz="UTC",
        transport=httpx.MockTransport(handler),
    )
    assert seen and seen[0]["model"] == "m"
    assert [(i.kind, i.due.date().isoformat() if i.due else None) for i in items] == [
        ("request", "2024-03-15")
    ]
    assert items[0].reasons["rule"] == "llm"


def test_llm_errors_fall_back_to_local() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"choices": [{"message": {"content": "not json"}}]})

    def server_error(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503)

    for handler in (boom, garbage, server_error):
        items = detect_with(
            _settings(),
            "I'll send it tomorrow.",
            sent_at=SENT,
            tz="UTC",
            transport=httpx.MockTransport(handler),
        )
        assert [(i.kind, i.reasons["rule"]) for i in items] == [
            ("commitment", "first_person_future")
        ]


def test_local_is_default_even_with_endpoint() -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("the endpoint must not be called")

    s = _settings().model_copy(update={"detector": "local"})
    items = detect_with(
        s, "I'll send it tomorrow.", sent_at=SENT, transport=httpx.MockTransport(never)
    )
    assert items and items[0].kind == "commitment"
