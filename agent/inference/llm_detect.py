"""Optional detector through an OpenAI-compatible chat endpoint; never required.

``detect_with(settings, text, ...)`` is the one entry point callers use: it runs the local
rule detector unless ``settings.detector == "llm"`` and an endpoint is configured, and falls
back to the local detector on any error, time-out or unreadable answer (logged, never
raised). The model only sees the new text (quotes and signature stripped locally first) and
answers JSON; due dates it gives are checked against the local resolver's conventions only
as far as being a real date on or after the send day.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

import httpx

from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.mailtext import split_reply
from rapportd.agent.core.settings import LLMSettings, Settings
from rapportd.agent.inference.commitments import Detected, detect
from rapportd.agent.inference.dates import resolve_due, zone

log = get_logger(__name__)
MAX_PROMPT_CHARS = 8000

SYSTEM_PROMPT = """You find commitments and requests in ONE email written by its sender.
commitment: the sender (I/we) promises to do something in the future.
request: the sender asks the recipient to do something or to provide information.
Ignore: conditional offers ("if you want, I can"), hedges ("I'll try", "maybe"), declines,
things already done (past tense), promises by third parties, social or rhetorical questions,
signatures, disclaimers, boilerplate ("let me know if you have any questions").
Resolve due dates against the send time given, in the sender's time zone; weekday names mean
the next such day; "by the 12th" means the next 12th; "EOD" means that day.
Answer ONLY JSON: {"items": [{"kind": "commitment"|"request", "text": "<the sentence>",
"due": "YYYY-MM-DD" or null}]}"""


class LLMDetectError(Exception):
    """The endpoint failed or answered something unusable (caller falls back)."""


def detect_llm(
    text: str,
    *,
    sent_at: datetime,
    tz: str,
    llm: LLMSettings,
    sender: str = "",
    recipients: Iterable[str] = (),
    subject: str = "",
    already_stripped: bool = False,
    transport: httpx.BaseTransport | None = None,
) -> list[Detected]:
    """Ask the endpoint; raises :class:`LLMDetectError` on any failure."""
    body = text if already_stripped else split_reply(text)[0]
    local = sent_at.astimezone(zone(tz))
    user = (
        f"Sent: {local.strftime('%A %Y-%m-%d %H:%M')} ({tz})\nSubject: {subject}\n\n"
        f"{body[:MAX_PROMPT_CHARS]}"
    )
    payload = {
        "model": llm.model,
        "temperature": 0,
        "response_format": {"type": "json_object"},
        "messages": [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": user},
        ],
    }
    headers = {"Content-Type": "application/json"}
    key = llm.api_key.get_secret_value()
    if key:
        headers["Authorization"] = f"Bearer {key}"
    url = llm.base_url.rstrip("/") + "/chat/completions"
    try:
        with httpx.Client(timeout=llm.timeout_seconds, transport=transport) as client:
            resp = client.post(url, json=payload, headers=headers)
            resp.raise_for_status()
            content = resp.json()["choices"][0]["message"]["content"]
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise LLMDetectError(f"endpoint failed: {type(exc).__name__}") from exc
    return _parse(content, sent_at=sent_at, tz=tz, sender=sender, recipients=recipients)


def _parse(
    content: Any, *, sent_at: datetime, tz: str, sender: str, recipients: Iterable[str]
) -> list[Detected]:
    try:
        data = json.loads(content) if isinstance(content, str) else content
        raw_items = data["items"]
        if not isinstance(raw_items, list):
            raise TypeError("items is not a list")
    except (ValueError, KeyError, TypeError) as exc:
        raise LLMDetectError(f"unreadable answer: {type(exc).__name__}") from exc
    by = sender or "sender"
    to = ", ".join(r for r in recipients if r) or "recipient"
    local_day = sent_at.astimezone(zone(tz)).date()
    out: list[Detected] = []
    for raw in raw_items[:50]:
        if not isinstance(raw, dict) or raw.get("kind") not in ("commitment", "request"):
            continue
        sentence = str(raw.get("text") or "")[:600]
        due_at, due_text = _due(raw.get("due"), sentence, sent_at, tz, local_day)
        out.append(
            Detected(
                kind=raw["kind"],
                by=by,
                to=to,
                text=sentence,
                due=due_at,
                due_text=due_text,
                confidence=0.8,
                reasons={"rule": "llm"},
            )
        )
    return out


def _due(
    value: object, sentence: str, sent_at: datetime, tz: str, local_day: date
) -> tuple[datetime | None, str]:
    if isinstance(value, str):
        try:
            day = date.fromisoformat(value[:10])
        except ValueError:
            day = None
        if day is not None and day >= local_day:
            return datetime.combine(day, time(23, 59), tzinfo=zone(tz)), value[:10]
    resolved = resolve_due(sentence, sent_at, tz)
    return (resolved.at, resolved.text) if resolved else (None, "")


def detect_with(
    settings: Settings,
    text: str,
    *,
    sent_at: datetime,
    tz: str = "UTC",
    sender: str = "",
    recipients: Iterable[str] = (),
    subject: str = "",
    already_stripped: bool = False,
    transport: httpx.BaseTransport | None = None,
) -> list[Detected]:
    """The configured detector (local by default); the LLM one falls back to local on error."""
    recipients = tuple(recipients)
    kwargs: dict[str, Any] = {
        "sent_at": sent_at,
        "tz": tz,
        "sender": sender,
        "recipients": recipients,
        "subject": subject,
        "already_stripped": already_stripped,
    }
    if settings.detector == "llm" and settings.llm.enabled:
        try:
            return detect_llm(text, llm=settings.llm, transport=transport, **kwargs)
        except LLMDetectError as exc:
            log.warning("llm_detect_fallback", reason=str(exc))
        except Exception as exc:  # a detector must never break analysis
            log.warning("llm_detect_fallback", reason=type(exc).__name__)
    return detect(text, **kwargs)
