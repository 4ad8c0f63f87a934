"""Commitments and requests in the new text of a message (the local, rule-based detector).

``detect(text, sent_at=..., tz=...)`` returns what the *sender* of the message promised
("I'll send the deck by Friday") and what the sender asked of the recipients ("Could you
confirm by Monday?"). Promises made *to the owner* are simply commitments whose ``by`` is the
sender of an incoming message; requests *of the owner* are requests in incoming mail.

Steps: strip quotes and signature (:func:`rapportd.agent.core.mailtext.split_reply`) unless the
caller already did; drop the greeting; split into sentences and clauses
(:mod:`.sentences`); ask the rules (:mod:`.detect_rules`) about each clause; score the
sentence with the shipped intent model (:mod:`.intent_model`: p(request), p(commitment),
p(broad)); combine them (:func:`decide_flags`, :func:`demoted`: a rule hit survives unless the
model finds it unlikely -- a vetoed ask may stay as a weak ask when the broad head still leans
yes --, the model alone adds an item only when it is confident (a request then is a weak ask),
and a model-only commitment needs a first-person sentence); resolve the deadline of each item
(:func:`.dates.resolve_due`). The rules give the kind, the clause and the exclusions
(conditionals, hedges, declines, past tense, third parties, social questions, boilerplate),
which are also features of the model; every result carries the rule name and the model's
scores in ``reasons``. Pure, total and bounded: at most ``MAX_TEXT_CHARS`` of new text are
read; sentence verdicts are cached (signatures and boilerplate repeat across a mailbox).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Literal

from rapportd.agent.core.mailtext import split_reply, strip_greeting
from rapportd.agent.inference import detect_rules as rules
from rapportd.agent.inference.dates import DueDate, resolve_due
from rapportd.agent.inference.intent_model import IntentModel, features, shipped_model
from rapportd.agent.inference.sentences import split_clauses, split_sentences

Kind = Literal["commitment", "request"]
MAX_TEXT_CHARS = 20_000
MAX_ITEMS = 50

_BASE_CONFIDENCE = {
    "first_person_future": 0.85, "subjectless_future": 0.7, "let_me": 0.7, "i_can_by": 0.65,
    "you_get_from_me": 0.75, "progressive_future": 0.65, "assignee_me": 0.7,
    "polite_ask": 0.9, "modal_you": 0.88, "please": 0.85, "reminder": 0.75, "let_me_know": 0.8,
    "need_from_you": 0.75, "lets": 0.6, "imperative": 0.7, "assignment": 0.6, "question": 0.6,
    "assignee_you": 0.7, "appreciated": 0.75, "proposal": 0.6, "courtesy": 0.6,
}  # fmt: skip
# Used when a model file carries no thresholds (calibrated values live in the JSON).
DEFAULT_THRESHOLDS = {
    "request_rule": 0.3, "request_model": 0.7, "request_demote": 0.7, "commitment_rule": 0.3,
    "commitment_model": 0.8,
}  # fmt: skip
SHIPPED: Literal["shipped"] = "shipped"
# Action-item notation ("Draft SOW (me, by Fri)") is unambiguous and absent from the
# model's training mail: the model does not veto it.
# "You'll get X from me" is as unambiguous, and rare in the training mail.
_NO_VETO = ("assignee_me", "assignee_you", "you_get_from_me")
# Confidence bands of requests (docs/INFERENCE-DETECT.md, "Confidence bands"): an explicit ask
# ("could you", "please", "let me know", "I need your", an imperative) is reported at
# >= EXPLICIT_ASK_MIN; a weak ask -- a bare question ("Are you around this weekend?"), a
# proposal ("let's grab lunch", "I'd like to meet"), a courtesy invitation ("let me know what
# you think") or the model's guess without a rule -- at <= WEAK_ASK_MAX, so that confidence
# alone separates them.
WEAK_ASK_RULES = frozenset({"question", "proposal", "lets", "courtesy", "model"})
EXPLICIT_ASK_MIN = 0.6
WEAK_ASK_MAX = 0.5
# a character the mail's charset lost, shown as "?" inside words or after a full stop
_LOST_CHAR = re.compile(r"(?<=[A-Za-z])\?(?=[A-Za-z])|(?<=[.!])\?(?=\s|$)")
# Exclusions the model may not overrule on its own (see intent_model.exclusions). A request
# the model adds alone is a weak ask (the product never acts on it), so only what is never an
# ask blocks it: a social or rhetorical question, an attachment note, thanks or wishes, and a
# first-person future (the writer's own plan or promise, judged by the rules).
_BLOCKED = {
    "request": frozenset({"EXCL:social", "EXCL:pleasantry", "EXCL:has_head"}),
    "commitment": frozenset(
        {"EXCL:boiler", "EXCL:has_head", "EXCL:head_refused", "EXCL:neg", "EXCL:cond"}
    ),
}


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
    model: IntentModel | Literal["shipped"] | None = SHIPPED,
) -> list[Detected]:
    """Commitments and requests in ``text`` (a whole body unless ``already_stripped``).

    ``model``: the intent model to combine with the rules (default: the shipped one; None =
    rules only, as before the model existed)."""
    if not isinstance(text, str) or not text.strip():
        return []
    body = text if already_stripped else split_reply(text)[0]
    body = strip_greeting(body[:MAX_TEXT_CHARS])
    # a character the mail's charset lost shows as "?" inside words ("made?up of?people"):
    # no question mark
    body = _LOST_CHAR.sub(" ", body)
    by = sender or "sender"
    to = ", ".join(r for r in recipients if r) or "recipient"
    chosen = shipped_model() if model == SHIPPED else model
    found: list[Detected] = []
    for sentence in split_sentences(body):
        for kind, rule, clause, p in analyse_sentence(sentence, chosen):
            due = resolve_due(clause, sent_at, tz)
            found.append(_item(kind, rule, sentence, clause, due, by, to, p))
        if len(found) >= MAX_ITEMS:
            break
    return found


@lru_cache(maxsize=65_536)
def analyse_sentence(
    sentence: str, model: IntentModel | None
) -> tuple[tuple[Kind, str, str, float | None], ...]:
    """``(kind, rule, clause, p)`` per item of one sentence: the rules' hits, kept or vetoed by
    the model, plus what the model alone is confident about (rule ``"model"``)."""
    hits = classify_sentence(sentence)
    if model is None:
        return tuple((k, r, c, None) for k, r, c in hits)
    feats = features(sentence, hits)
    p_request, p_commit, p_broad = model.all_scores(feats)
    out: list[tuple[Kind, str, str, float | None]] = []
    for kind in ("request", "commitment"):
        hit = next((h for h in hits if h[0] == kind), None)
        # A rule's ask is judged by the precise request model; an ask the rules did not see
        # by the broad one (weak band).
        p = p_commit if kind == "commitment" else (p_request if hit else p_broad)
        if not decide_flags(kind, feats, p, model.thresholds) and not _ask_then_promise(hit, hits):
            if kind == "request" and hit is not None and demoted(p_broad, model.thresholds):
                # An ask the precise model doubts (a notice's "please log in", a third
                # party's task) stays, as a weak ask the product does not act on.
                out.append(("request", "model", hit[2], p_broad))
            continue
        if (
            hit is None
            and kind == "commitment"
            and rules.performs_delivery(rules.normalise(sentence))
        ):
            continue  # the model may not turn a delivery made now into a promise
        rule, clause = (hit[1], hit[2]) if hit else ("model", sentence)
        out.append((kind, rule, clause, p))
    return tuple(out)


def demoted(p_broad: float, thresholds: Mapping[str, float]) -> bool:
    """Whether a rule's ask that the precise model vetoed is kept as a weak ask."""
    return p_broad >= {**DEFAULT_THRESHOLDS, **thresholds}["request_demote"]


def decide_flags(
    kind: str, feats: Sequence[str], p: float, thresholds: Mapping[str, float]
) -> bool:
    """Whether ``kind`` is reported for a sentence with features ``feats`` and model score ``p``.

    A rule hit is kept when ``p >= <kind>_rule`` (the model vetoes what real mail shows to be
    unlikely); without a rule hit the model must reach ``<kind>_model`` and the sentence must
    not be one the rules deliberately refuse (for a request: a social question, an attachment
    note, thanks or wishes, a first-person future; for a promise: boilerplate, a hedged/negated/conditional future or
    a state, or any sentence where the rules saw a first-person future and turned it down,
    e.g. "Send me X and I'll ..."); a commitment needs a first-person sentence (the sender is
    the one who promises), and a request a sentence the rules do not read as a promise."""
    t = {**DEFAULT_THRESHOLDS, **thresholds}
    if f"RULE:{kind}" in feats:
        if any(f"RULE:{kind}:{r}" in feats for r in _NO_VETO):
            return True
        return p >= t[f"{kind}_rule"]
    blocked = _BLOCKED[kind]
    if any(f in blocked for f in feats):
        return False
    if kind == "commitment" and "CUE:first" not in feats:
        return False
    if kind == "request" and "RULE:commitment" in feats:
        return False  # a promise
    if (
        kind == "request"
        and "EXCL:neg" in feats
        and "CUE:first" in feats
        and "CUE:you" not in feats
    ):
        return False  # the writer about themselves: "I won't be able to join on Friday."
    return p >= t[f"{kind}_model"]


def classify_sentence(sentence: str) -> list[tuple[Kind, str, str]]:
    """``(kind, rule, clause)`` for each kind found in a sentence (at most one per kind)."""
    sentence = rules.without_vocative(sentence)
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
        if c_rule and rules.GOING_TO_PLACE.search(raw):
            c_rule = None  # "I'm going to San Francisco on Aug 14": a trip, not a promise
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


def _ask_then_promise(
    hit: tuple[Kind, str, str] | None, hits: Sequence[tuple[Kind, str, str]]
) -> bool:
    """ "Draft the reply and I'll sign it": an imperative whose promise the rules judged
    conditional on it. The model, which reads the promise, may not veto the ask."""
    if hit is None or hit[0] != "request" or hit[1] not in ("imperative", "please"):
        return False
    if any(h[0] == "commitment" for h in hits):
        return False
    return bool(rules.ASK_THEN_PROMISE.match(rules.normalise(hit[2])))


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
    kind: Kind,
    rule: str,
    sentence: str,
    clause: str,
    due: DueDate | None,
    by: str,
    to: str,
    p: float | None = None,
) -> Detected:
    base = _BASE_CONFIDENCE.get(rule, 0.6)
    if p is not None and rule not in _NO_VETO:
        base = p if rule == "model" else max((base + p) / 2, 0.5)
    confidence = base + (0.05 if due else 0.0)
    if sentence.rstrip().endswith("?") and kind == "request":
        confidence += 0.03
    if kind == "request":
        confidence = min(confidence, 1.0)
        if rule in WEAK_ASK_RULES:
            confidence = 0.2 + 0.3 * confidence  # the weak band: 0.20-0.50
        else:
            confidence = max(confidence, EXPLICIT_ASK_MIN)
    reasons: dict[str, object] = {"rule": rule, "clause": clause}
    if p is not None:
        reasons["p_model"] = round(p, 3)
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
