"""Drafting: the words of a draft or a hold, from Jinja templates or an optional LLM.

Templates live in ``templates/`` (package data): ``<kind>.<stage>.jinja`` wins over
``<kind>.jinja``. Drafts start with a ``Subject:`` line, holds with ``Summary:``. The LLM
drafter (``settings.drafter = "llm"``) gets the same context and the template's draft as a
model; its answer is length-checked and any failure falls back to the template.
Nothing here sends anything.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jinja2

from rapportd.agent.logs import get_logger
from rapportd.agent.settings import LLMSettings, Settings
from rapportd.agent.suggest.style import Style

log = get_logger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
MIN_LLM_CHARS = 20
MAX_LLM_CHARS = 1500

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    trim_blocks=True,
    lstrip_blocks=True,
    autoescape=False,  # plain-text mail, never HTML
    undefined=jinja2.ChainableUndefined,
)


@dataclass(frozen=True)
class Draft:
    subject: str
    body: str
    drafter: str = "template"


def template_name(kind: str, stage: str) -> str:
    candidates = [f"{kind}.{stage}.jinja"] if stage else []
    candidates.append(f"{kind}.jinja")
    for name in candidates:
        if (TEMPLATES / name).exists():
            return name
    raise jinja2.TemplateNotFound(candidates[-1])


def _split_header(text: str, header: str) -> tuple[str, str]:
    lines = text.strip("\n").splitlines()
    if lines and lines[0].startswith(f"{header}:"):
        first = lines[0][len(header) + 1 :].strip()
        rest = "\n".join(lines[1:]).strip("\n")
        return first, rest
    return "", text.strip("\n")


def _tidy(body: str) -> str:
    out: list[str] = []
    for line in body.splitlines():
        line = line.rstrip()
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out).strip() + "\n"


def render_template(
    kind: str, context: dict[str, Any], style: Style, *, subject: str = ""
) -> Draft:
    """A draft (or a hold's summary + description) from the kind's template."""
    ctx = dict(context)
    ctx.setdefault("stage", "")
    ctx["greeting"] = style.greet(str(ctx.get("first_name") or ""))
    ctx["sign_off"] = style.sign_off
    ctx["signature"] = style.signature
    ctx["subject"] = subject
    text = _env.get_template(template_name(kind, str(ctx["stage"]))).render(**ctx)
    header = "Summary" if text.lstrip().startswith("Summary:") else "Subject"
    first, rest = _split_header(text, header)
    if header == "Subject" and subject:
        first = subject  # a reply keeps its thread's subject
    return Draft(subject=first, body=_tidy(rest))


class LLMDrafter:
    """Drafts through an OpenAI-compatible ``/chat/completions`` endpoint."""

    def __init__(self, llm: LLMSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        self.llm = llm
        headers = {"Content-Type": "application/json"}
        key = llm.api_key.get_secret_value()
        if key:
            headers["Authorization"] = f"Bearer {key}"
        self.client = httpx.Client(
            base_url=llm.base_url.rstrip("/") + "/",
            headers=headers,
            timeout=llm.timeout_seconds,
            transport=transport,
        )

    def close(self) -> None:
        self.client.close()

    def body(
        self, kind: str, context: dict[str, Any], style: Style, model_draft: Draft
    ) -> str | None:
        """The LLM's body for this draft, or None (error, time-out, or an unusable answer)."""
        facts = {k: v for k, v in context.items() if isinstance(v, str | int | float | bool | list)}
        prompt = (
            f"Write the body of a short, warm, plain-text email of kind '{kind}'. "
            f"Start with the greeting '{style.greet(str(context.get('first_name') or ''))}' and end "
            f"with '{style.sign_off}' and the signature {style.signature!r}. Do not invent facts; "
            f"no subject line. Facts: {json.dumps(facts, ensure_ascii=False, default=str)}\n"
            f"A template version for reference:\n{model_draft.body}"
        )
        try:
            resp = self.client.post(
                "chat/completions",
                json={
                    "model": self.llm.model,
                    "temperature": 0.3,
                    "max_tokens": 400,
                    "messages": [
                        {
                            "role": "system",
                            "content": "You draft emails the user will review. Never send.",
                        },
                        {"role": "user", "content": prompt},
                    ],
                },
            )
            resp.raise_for_status()
            text = str(resp.json()["choices"][0]["message"]["content"])
        except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
            log.warning("llm_draft_failed", kind=kind, error=type(exc).__name__)
            return None
        _, text = _split_header(text.strip(), "Subject")
        text = text.strip()
        limit = max(MAX_LLM_CHARS, 3 * len(model_draft.body))
        if not (MIN_LLM_CHARS <= len(text) <= limit):
            log.warning("llm_draft_rejected", kind=kind, chars=len(text))
            return None
        return _tidy(text)


def compose(
    kind: str,
    context: dict[str, Any],
    style: Style,
    settings: Settings,
    *,
    subject: str = "",
    llm: LLMDrafter | None = None,
    is_hold: bool = False,
) -> Draft:
    """The words of a suggestion: the template's, or the LLM's when configured and usable."""
    draft = render_template(kind, context, style, subject=subject)
    if is_hold or settings.drafter != "llm" or not settings.llm.enabled:
        return draft
    own = llm is None
    drafter = llm or LLMDrafter(settings.llm)
    try:
        body = drafter.body(kind, context, style, draft)
    finally:
        if own:
            drafter.close()
    if body is None:
        return draft
    return Draft(subject=draft.subject, body=body, drafter="llm")
