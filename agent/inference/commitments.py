"""Commitments and requests in the new text of a message (the local, rule-based detector).

``detect(text, sent_at=..., tz=...)`` returns what the *sender* of the message promised
("I'll send the deck by Friday") and what the sender asked of the recipients ("Could you
confirm by Monday?"). Promises made *to the owner* are simply commitments whose ``by`` is the
sender of an incoming message; requests *of the owner* are requests in incoming mail.

Steps: strip quotes and signature (:func:`rapportd.agent.mailtext.split_reply`) unless the
caller already did; drop the greeting; split into sentences and clauses
(:mod:`.sentences`); ask the rules (:mod:`.detect_rules`) about each clause; resolve the
deadline of each hit (:func:`.dates.resolve_due`). Exclusions (conditionals, hedges,
declines, past tense, third parties, social questions, boilerplate) are rules too, and every
result carries the rule names in ``reasons``. Pure, total and bounded: at most
``MAX_TEXT_CHARS`` of new text are read.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from rapportd.agent.inference import detect_rules as rules
from rapportd.agent.inference.dates import DueDate, resolve_due
from rapportd.agent.inference.sentences import split_clauses, split_sentences
from rapportd.agent.mailtext import split_reply, strip_greeting

Kind = Literal["commitment", "request"]
MAX_TEXT_CHARS = 20_000
MAX_ITEMS = 50

_BASE_CONFIDENCE = {
    "first_person_future": 0.85, "subjectless_future": 0.7, "let_me": 0.7, "i_can_by": 0.65,
    "you_get_from_me": 0.75, "progressive_future": 0.65, "assignee_me": 0.7,
    "polite_ask": 0.9, "modal_you": 0.88, "please": 0.85, "reminder": 0.75, "let_me_know": 0.8,
    "need_from_you": 0.75, "lets": 0.6, "imperative": 0.7, "assignment": 0.6, "question": 0.6,
    "assignee_you": 0.7, "appreciated": 0.75, "proposal": 0.6,
}  # fmt: skip


@dataclass(frozen=True)
class Detected:
    """One commitment or request found in a message."""

    kind: Kind
    by: str
    to: str
    text: str  # the sentence as written
    due: datetime | None  # aware, in the sender's zone
    due_text: str
    confidence: float
    reasons: dict[str, object] = field(default_factory=dict, hash=False, compare=False)

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "by": self.by,
            "to": self.to,
            "text": self.text,
            "due": self.due.date().isoformat() if self.due else None,
            "confidence": round(self.confidence, 3),
        }


def detect(
    text: str,
    *,
    sent_at: datetime,
    tz: str = "UTC",
    sender: str = "",
    recipients: Iterable[str] = (),
    subject: str = "",
    already_stripped: bool = False,
) -> list[Detected]:
    """Commitments and requests in ``text`` (a whole body unless ``already_stripped``)."""
    if not isinstance(text, str) or not text.strip():
        return []
    body = text if already_stripped else split_reply(text)[0]
    body = strip_greeting(body[:MAX_TEXT_CHARS])
    by = sender or "sender"
    to = ", ".join(r for r in recipients if r) or "recipient"
    found: list[Detected] = []
    for sentence in split_sentences(body):
        for kind, rule, clause in classify_sentence(sentence):
            due = resolve_due(clause, sent_at, tz)
            found.append(_item(kind, rule, sentence, clause, due, by, to))
        if len(found) >= MAX_ITEMS:
            break
    return found


def classify_sentence(sentence: str) -> list[tuple[Kind, str, str]]:
    """``(kind, rule, clause)`` for each kind found in a sentence (at most one per kind)."""
    norm_sentence = rules.normalise(sentence)
    if rules.is_excluded_sentence(norm_sentence) and not _has_strong_ask(norm_sentence):
        return []
    out: list[tuple[Kind, str, str]] = []
    clauses = split_clauses(sentence)
    assignee = _assignee(norm_sentence)
    if assignee is not None:
        return [(*assignee, sentence)] if assignee[0] else []
    seen: set[str] = set()
    for raw in clauses:
        clause = rules.normalise(raw)
        head = rules.commitment_head(clause, norm_sentence)
        c_rule = head[0] if head else None
        r_rule = rules.request_rule(clause, norm_sentence)
        if c_rule and r_rule and head is not None:
            # The head that opens the clause wins: "Let me check and I'll circle back" is a
            # promise; "Send me the deck and I'll review it" is a request (the promise after
            # it is conditional on the ask being met).
            lead = re.match(
                r"(?:(?:and|so|also|sure|ok|okay|thanks|then|np|yes|yep)[ ,!.]*)*", clause
            )
            if head[1] <= (lead.end() if lead else 0):
                r_rule = None
            else:
                c_rule = None
        if c_rule and "commitment" not in seen:
            out.append(("commitment", c_rule, raw))
            seen.add("commitment")
        if r_rule and "request" not in seen:
            out.append(("request", r_rule, raw))
            seen.add("request")
    return out


def _has_strong_ask(s: str) -> bool:
    return bool(rules.POLITE_ASK.search(s) or rules.MODAL_YOU.search(s)) and not re.search(
        r"let (?:me|us) know if you (?:have|need)", s
    )


def _assignee(s: str) -> tuple[Kind, str] | tuple[None, str] | None:
    """Action-item notes: "Send agenda (me, by Fri)" / "(you, by Mon)" / "(Jen)"."""
    word = re.match(r"[a-z'-]+", s)
    if not word or word.group(0) not in rules.ACTION_VERBS:
        return None
    if rules.ASSIGNEE_ME.search(s):
        return ("commitment", "assignee_me")
    if rules.ASSIGNEE_YOU.search(s):
        return ("request", "assignee_you")
    if rules.ASSIGNEE_OTHER.search(s) and not rules.PLEASE.search(s):
        return (None, "assignee_other")
    return None


def _item(
    kind: Kind, rule: str, sentence: str, clause: str, due: DueDate | None, by: str, to: str
) -> Detected:
    confidence = _BASE_CONFIDENCE.get(rule, 0.6) + (0.05 if due else 0.0)
    if sentence.rstrip().endswith("?") and kind == "request":
        confidence += 0.03
    reasons: dict[str, object] = {"rule": rule, "clause": clause}
    if due:
        reasons["due_rule"] = due.rule
    return Detected(
        kind=kind,
        by=by,
        to=to,
        text=sentence,
        due=due.at if due else None,
        due_text=due.text if due else "",
        confidence=min(0.99, round(confidence, 3)),
        reasons=reasons,
    )
