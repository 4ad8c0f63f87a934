"""Sentence intent scores from a small linear model shipped as JSON (no pickle, no sklearn).

Why: hand-written rules reach F1 ≈ 0.6 on real Enron sentences because real mail asks and
promises in far more ways than any lexicon lists. A logistic regression over word uni/bigrams
plus the rules' own verdicts and a few cheap cues generalises better, while the rules keep
what a model cannot give: the kind of item, who owes whom, the clause and the due date.

``features(sentence, hits)`` turns a sentence (and the rule hits on it) into feature names;
``IntentModel.all_scores`` gives ``(p_request, p_commitment, p_broad)`` (``scores`` the first
two). The weights file holds, per feature, its idf and one coefficient per head; scoring rebuilds scikit-learn's
``TfidfVectorizer(sublinear_tf=True, norm="l2")`` + ``LogisticRegression`` decision exactly,
in pure Python (a sentence costs a few microseconds). Training lives in
``benchmarks/train_intent.py``; the data it reads is in ``benchmarks/data/`` (see NOTICE there).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

from rapportd.agent.inference import detect_rules as rules

MODEL_PATH = Path(__file__).with_name("intent_model.json")
MAX_TOKENS = 60

_TOKEN = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[?!]")
_DATE_CUE = re.compile(
    r"\b(?:today|tonight|tomorrow|tmrw?|eod|cob|eow|asap|mon(?:day)?|tue(?:s|sday)?|"
    r"wed(?:nesday)?|thu(?:rs|rsday)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?|next week|"
    r"this week|end of|jan(?:uary)?|feb(?:ruary)?|march|april|june|july|aug(?:ust)?|"
    r"sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|morning|afternoon|noon|"
    r"\d{1,2}(?::\d\d)? ?(?:am|pm)|\d{1,2}/\d{1,2}|the \d{1,2}(?:st|nd|rd|th))\b"
)
_PAST = re.compile(
    r"\b(?:i|we)(?:'ve| have| had| already)\b|\b(?:i|we) (?:\w+ed|sent|got|spoke|talked|"
    r"met|told|said|had|was|were|did|made|took|gave|left|wrote|saw|heard|thought|forgot)\b"
)
_LETS = re.compile(
    r"\blet's\b|\bshall we\b|\bwe (?:should|need to|must|have to)\b|\bwhy don't we\b"
)
_EVENT = re.compile(
    r"\b(?:meet|meeting|call|lunch|dinner|breakfast|coffee|drinks?|discuss|discussion|"
    r"get together|conference|session|visit|trip|party|review)\b"
)
_NEED = re.compile(r"\b(?:need|needs|needed|require|requires|asap|urgent)\b")
_YOU = re.compile(r"\b(?:you|your|u|ya|y'all)\b")
_FIRST = re.compile(r"\b(?:i|i'm|i'll|i'd|i've|me|my|we|we'll|we're|us|our)\b")


def features(sentence: str, hits: Iterable[tuple[str, str, str]] = ()) -> list[str]:
    """Feature names of one sentence: word 1-2-grams (digits folded), cues, rule verdicts."""
    s = rules.normalise(sentence)
    toks = _TOKEN.findall(re.sub(r"\d", "0", s))[:MAX_TOKENS]
    padded = ["<s>", *toks, "</s>"]
    out = list(toks)
    out.extend(f"{a} {b}" for a, b in pairwise(padded))
    head = rules.LEADING.sub("", s)
    first = rules._first_word(head)
    cues = {
        "q": s.endswith("?"),
        "you": bool(_YOU.search(s)),
        "first": bool(_FIRST.search(s)),
        "fp_future": bool(rules.FIRST_PERSON_FUTURE.search(s)),
        "modal_you": bool(rules.MODAL_YOU.search(s)),
        "please": bool(rules.PLEASE.search(s)),
        "polite": bool(rules.POLITE_ASK.search(s)),
        "cond": bool(rules.CONDITIONAL.search(s)),
        "neg": bool(rules.NEGATION.search(s)),
        "hedge": bool(rules.HEDGE_BEFORE.search(s)),
        "date": bool(_DATE_CUE.search(s)),
        "past": bool(_PAST.search(s)),
        "boiler": bool(rules.BOILERPLATE.search(s)),
        "verb_start": first in rules.ACTION_VERBS,
        "wh_start": bool(rules.QUESTION_START.match(head)),
        "lets": bool(_LETS.search(s)),
        "need": bool(_NEED.search(s)),
        "event": bool(_EVENT.search(s)) and bool(_DATE_CUE.search(s)),
        "short": len(toks) <= 4,
        "long": len(toks) >= 30,
    }
    out.extend(f"CUE:{name}" for name, on in cues.items() if on)
    out.extend(f"EXCL:{name}" for name in exclusions(s, head))
    kinds = [f"RULE:{kind}:{rule}" for kind, rule, _ in hits]
    out.extend(kinds or ["RULE:none"])
    out.extend(f"RULE:{k}" for k in {h[0] for h in hits})
    return out


def exclusions(s: str, head: str) -> list[str]:
    """What the rules deliberately refuse on a normalised sentence: the model may not add an
    item of that kind on its own (``commitments.decide_flags``) but may still weigh them."""
    out = []
    if s.endswith("?") and rules.SOCIAL_QUESTION.search(head):
        out.append("social")
    if rules.BOILERPLATE.search(s) or rules.CONDITIONAL_INSTRUCTION.search(s):
        out.append("boiler")
    if rules.PLEASANTRY.search(s):
        out.append("pleasantry")  # attachment notes, thanks, wishes: never an ask
    heads = [p.search(s) for p in (rules.FIRST_PERSON_FUTURE, rules.LET_ME, rules.I_CAN_BY)]
    if any(heads):
        out.append("has_head")  # the rules saw a promise form and judged it themselves
    if any(heads) and rules.commitment_head(s, s) is None:
        out.append("head_refused")  # hedged, negated, conditional, a state, past, not an action
    if rules.NEGATION.search(s):
        out.append("neg")
    cond = rules.CONDITIONAL.search(s)
    if cond and not rules.POLITE_IF.search(s[cond.start() :]):
        out.append("cond")
    return out


@dataclass(frozen=True, eq=False)  # hashed by identity: usable as an lru_cache key
class IntentModel:
    """Three logistic regressions over shared tf-idf features: ``request`` (a genuine ask of
    the reader, trained on the hand-verified labels; it keeps or vetoes the rules' asks),
    ``commitment`` (a promise by the writer) and ``broad`` (any ask, proposal or call to
    action, trained on both annotations of the public sentences; it adds the weak-band asks
    the rules do not see). A format-1 file has no ``broad`` column: it equals ``request``."""

    # feature -> (idf, w_request, w_commit, w_broad)
    weights: Mapping[str, tuple[float, float, float, float]]
    bias: tuple[float, float, float]
    thresholds: Mapping[str, float] = field(default_factory=dict)
    meta: Mapping[str, object] = field(default_factory=dict)

    def all_scores(self, feats: Sequence[str]) -> tuple[float, float, float]:
        """``(p_request, p_commitment, p_broad)`` for one sentence's features."""
        z_r = z_c = z_b = norm = 0.0
        for name, count in Counter(feats).items():
            w = self.weights.get(name)
            if w is None:
                continue
            v = (1.0 + math.log(count)) * w[0]
            norm += v * v
            z_r += v * w[1]
            z_c += v * w[2]
            z_b += v * w[3]
        scale = 1.0 / math.sqrt(norm) if norm else 0.0
        return (
            _sigmoid(self.bias[0] + z_r * scale),
            _sigmoid(self.bias[1] + z_c * scale),
            _sigmoid(self.bias[2] + z_b * scale),
        )

    def scores(self, feats: Sequence[str]) -> tuple[float, float]:
        """``(p_request, p_commitment)`` for one sentence's features."""
        p_r, p_c, _ = self.all_scores(feats)
        return p_r, p_c

    def score_sentence(
        self, sentence: str, hits: Iterable[tuple[str, str, str]] = ()
    ) -> tuple[float, float]:
        return self.scores(features(sentence, hits))

    def threshold(self, name: str, default: float = 0.5) -> float:
        return float(self.thresholds.get(name, default))

    def to_json(self) -> dict[str, object]:
        return {
            "format": "rapportd-intent-2",
            "meta": dict(self.meta),
            "bias": [round(b, 6) for b in self.bias],
            "thresholds": dict(self.thresholds),
            "features": {k: [round(x, 5) for x in v] for k, v in sorted(self.weights.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> IntentModel:
        fmt = data.get("format")
        if fmt not in ("rapportd-intent-1", "rapportd-intent-2"):
            raise ValueError("not a rapportd intent model")
        width = 3 if fmt == "rapportd-intent-1" else 4
        feats = data["features"]
        bias = data["bias"]
        if not isinstance(feats, dict) or not isinstance(bias, list) or len(bias) != width - 1:
            raise ValueError("malformed intent model")
        weights: dict[str, tuple[float, float, float, float]] = {}
        for k, v in feats.items():
            if not isinstance(v, list) or len(v) != width:
                raise ValueError(f"malformed intent model feature {k!r}")
            w = [float(x) for x in v]
            weights[str(k)] = (w[0], w[1], w[2], w[3] if width == 4 else w[1])
        b = [float(x) for x in bias]
        thresholds = data.get("thresholds") or {}
        meta = data.get("meta") or {}
        return cls(
            weights=weights,
            bias=(b[0], b[1], b[2] if width == 4 else b[0]),
            thresholds={str(k): float(v) for k, v in dict(thresholds).items()},  # type: ignore[call-overload]
            meta=dict(meta),  # type: ignore[call-overload]
        )


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


@lru_cache(maxsize=1)
def shipped_model() -> IntentModel | None:
    """The model shipped next to this module, or None when the file is missing/unreadable
    (the detector then runs on rules alone)."""
    try:
        return IntentModel.from_json(json.loads(MODEL_PATH.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None
