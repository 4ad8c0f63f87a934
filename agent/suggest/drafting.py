"""Drafting: the words of a draft or a hold, from Jinja templates or an optional LLM.

Templates live in ``templates/`` (package data): ``<kind>.<stage>.jinja`` wins over
``<kind>.jinja``. Drafts start with a ``Subject:`` line, holds with ``Summary:``. The LLM
drafter (``settings.drafter = "llm"``, off by default) gets the same facts, the template's
draft as a model and up to three of the owner's own messages to that person as style
examples; its answer must pass the checks of :mod:`draft_checks` (no placeholder, no quoted
first-person sentence, no address-made name, the template's greeting) and be of a sane
length, else the template's draft is used.
Nothing here sends anything.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jinja2

from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import LLMSettings, Settings
from rapportd.agent.suggest.draft_checks import problems
from rapportd.agent.suggest.phrasing import join_names
from rapportd.agent.suggest.style import Style

log = get_logger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
MIN_LLM_CHARS = 20
MAX_LLM_CHARS = 1500
MAX_EXAMPLES = 3  # the owner's own messages to this person shown as style examples
EXAMPLE_CHARS = 800
PRIVATE_FACTS = frozenset({"promise_text", "last_topic", "variant"})  # quotes and plumbing


def _clip(text: str) -> str:
    text = text.strip()
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


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
    names = [str(n) for n in ctx.get("names") or [] if n]
    ctx["greeting"] = style.greet(
        join_names(names) if len(names) > 1 else str(ctx.get("first_name") or "")
    )
    ctx.setdefault("tone", style.tone)
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
        self,
        kind: str,
        context: dict[str, Any],
        style: Style,
        model_draft: Draft,
        examples: Sequence[str] = (),
    ) -> str | None:
        """The LLM's body for this draft, or None (error, time-out, or an answer that fails
        the checks of :mod:`draft_checks` or that the template's draft passes and it does not)."""
        facts = {
            k: v
            for k, v in context.items()
            if k not in PRIVATE_FACTS and isinstance(v, str | int | float | bool | list) and v != ""
        }
        greeting = model_draft.body.strip().splitlines()[0] if model_draft.body.strip() else ""
        shown = "\n\n".join(
            f"Example {i + 1}:\n{_clip(t)}" for i, t in enumerate(list(examples)[:MAX_EXAMPLES])
        )
        prompt = (
            f"Write the body of a short plain-text email of kind '{kind}' that the owner could "
            f"send as written. Start with the greeting {greeting!r} and end with "
            f"{style.sign_off!r} and the signature {style.signature!r}. Use only these facts; "
            "no placeholders or brackets, no quotation of earlier mail, no subject line. "
            f"Facts: {json.dumps(facts, ensure_ascii=False, default=str)}\n"
            + (f"How the owner writes to this person:\n{shown}\n" if shown else "")
            + f"A template version for reference:\n{model_draft.body}"
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
        found = problems(text, known_names=[str(context.get("first_name") or "")])
        if found or (greeting and not text.startswith(greeting)):
            log.warning(
                "llm_draft_rejected", kind=kind, problems=len(found), greeting=bool(greeting)
            )
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
    examples: Sequence[str] = (),
) -> Draft:
    """The words of a suggestion: the template's, or the LLM's when configured and usable."""
    draft = render_template(kind, context, style, subject=subject)
    if is_hold or settings.drafter != "llm" or not settings.llm.enabled:
        return draft
    own = llm is None
    drafter = llm or LLMDrafter(settings.llm)
    try:
        body = drafter.body(kind, context, style, draft, examples)
    finally:
        if own:
            drafter.close()
    if body is None:
        return draft
    return Draft(subject=draft.subject, body=body, drafter="llm")
