"""How strong a relationship is, and where it stands on the six-step path
Acknowledge -> Understanding -> Acceptance -> Respect -> Trust -> Bond.

Strength is a weighted sum of seven components in [0, 1] (weights in :data:`WEIGHTS`):

reciprocity     2 min(sent, received) / (sent + received), personal-weighted messages
responsiveness  mean over both directions of exp(-median reply hours / 72)
balance         1 - 2 |talk share - 0.5|, talk share = words sent / words exchanged
meetings        1 - exp(-weighted meetings held / 3)
volume          1 - exp(-weighted interactions / 10)
length          ln(1 + span days) / ln(1 + 365), capped at 1
recency         half of 2^(-silence / 90 days) + half of 10^(-overdue score)

The stage is the highest step whose criteria, and those of every step below it, hold
(see :func:`stage_criteria` and docs/INFERENCE.md). Both come with reasons.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from rapportd.agent.inference.cadence import EPISODE_GAP_DAYS
from rapportd.agent.inference.timeline import PERSONAL_WEIGHT, Interaction

STAGES = ("acknowledge", "understanding", "acceptance", "respect", "trust", "bond")
WEIGHTS = {
    "reciprocity": 0.20,
    "responsiveness": 0.15,
    "balance": 0.10,
    "meetings": 0.10,
    "volume": 0.15,
    "length": 0.10,
    "recency": 0.20,
}


@dataclass(frozen=True)
class Features:
    """What strength and stage are computed from; built by :func:`features`."""

    sent: float = 0.0  # personal-weighted messages the owner sent
    received: float = 0.0
    sent_one_to_one: int = 0
    received_one_to_one: int = 0
    words_sent: int = 0
    words_received: int = 0
    meetings: float = 0.0  # weighted meetings held
    small_meetings: int = 0  # meetings with at most 3 others
    weighted_total: float = 0.0
    episodes: int = 0
    span_days: float = 0.0
    silence_days: float = 0.0
    owner_reply_hours: float | None = None  # median
    their_reply_hours: float | None = None
    owner_replies: int = 0
    their_replies: int = 0
    overdue_score: float = 0.0
    promises_kept: int = 0
    promises_late: int = 0

    @property
    def talk_share(self) -> float | None:
        words = self.words_sent + self.words_received
        if words:
            return self.words_sent / words
        msgs = self.sent + self.received
        return self.sent / msgs if msgs else None


def features(
    interactions: Sequence[Interaction],
    *,
    now: datetime,
    owner_reply_hours: Sequence[float] = (),
    their_reply_hours: Sequence[float] = (),
    overdue_score: float = 0.0,
    promises_kept: int = 0,
    promises_late: int = 0,
) -> Features:
    past = [i for i in interactions if i.at <= now]
    if not past:
        return Features()
    sent = [i for i in past if i.kind == "sent"]
    recv = [i for i in past if i.kind == "received"]
    meets = [i for i in past if i.kind == "meeting"]
    personal = sorted((i for i in past if i.weight >= PERSONAL_WEIGHT), key=lambda i: i.at)
    episodes = 0
    last: datetime | None = None
    for i in personal:
        if last is None or (i.at - last).total_seconds() / 86400.0 > EPISODE_GAP_DAYS:
            episodes += 1
        last = i.at
    return Features(
        sent=sum(i.weight for i in sent),
        received=sum(i.weight for i in recv),
        sent_one_to_one=sum(1 for i in sent if i.audience <= 1),
        received_one_to_one=sum(1 for i in recv if i.audience <= 1),
        words_sent=sum(i.words for i in sent),
        words_received=sum(i.words for i in recv),
        meetings=sum(i.weight for i in meets),
        small_meetings=sum(1 for i in meets if i.audience <= 3),
        weighted_total=sum(i.weight for i in past),
        episodes=episodes,
        span_days=(past[-1].at - past[0].at).total_seconds() / 86400.0,
        silence_days=(now - past[-1].at).total_seconds() / 86400.0,
        owner_reply_hours=statistics.median(owner_reply_hours) if owner_reply_hours else None,
        their_reply_hours=statistics.median(their_reply_hours) if their_reply_hours else None,
        owner_replies=len(owner_reply_hours),
        their_replies=len(their_reply_hours),
        overdue_score=overdue_score,
        promises_kept=promises_kept,
        promises_late=promises_late,
    )


@dataclass(frozen=True)
class Strength:
    value: float
    components: dict[str, float] = field(default_factory=dict)

    def reasons(self) -> dict[str, object]:
        return {
            "strength": round(self.value, 3),
            "components": {
                k: {"value": round(v, 3), "weight": WEIGHTS[k]} for k, v in self.components.items()
            },
        }


def strength(f: Features) -> Strength:
    total = f.sent + f.received
    reciprocity = 2 * min(f.sent, f.received) / total if total else 0.0
    sides = [
        math.exp(-h / 72.0) if h is not None else 0.0
        for h in (f.owner_reply_hours, f.their_reply_hours)
    ]
    share = f.talk_share
    comp = {
        "reciprocity": reciprocity,
        "responsiveness": sum(sides) / 2,
        "balance": 1 - 2 * abs(share - 0.5) if share is not None else 0.0,
        "meetings": 1 - math.exp(-f.meetings / 3.0),
        "volume": 1 - math.exp(-f.weighted_total / 10.0),
        "length": min(1.0, math.log1p(f.span_days) / math.log1p(365.0)),
        "recency": 0.5 * 2 ** (-f.silence_days / 90.0) + 0.5 * 10 ** (-f.overdue_score)
        if f.weighted_total
        else 0.0,
    }
    value = sum(WEIGHTS[k] * v for k, v in comp.items())
    return Strength(min(1.0, max(0.0, value)), comp)


@dataclass(frozen=True)
class Criterion:
    text: str
    met: bool


def stage_criteria(f: Features, strength_value: float) -> dict[str, list[Criterion]]:
    """The documented, testable criteria of each stage (all must hold)."""
    share = f.talk_share
    kept_ok = f.promises_kept >= f.promises_late
    return {
        "acknowledge": [
            Criterion("at least one personal interaction", f.episodes >= 1),
        ],
        "understanding": [
            Criterion(
                "a two-way exchange: mail both ways or a meeting held",
                (f.sent > 0 and f.received > 0) or f.meetings > 0,
            ),
        ],
        "acceptance": [
            Criterion("at least 3 separate episodes", f.episodes >= 3),
            Criterion("over at least 14 days", f.span_days >= 14),
            Criterion(
                "reciprocity at least 0.25",
                (f.sent + f.received) > 0
                and 2 * min(f.sent, f.received) / (f.sent + f.received) >= 0.25,
            ),
        ],
        "respect": [
            Criterion(
                "both sides answer within 3 days (median), or a small meeting was held",
                f.small_meetings > 0
                or (
                    f.owner_reply_hours is not None
                    and f.their_reply_hours is not None
                    and f.owner_reply_hours <= 72
                    and f.their_reply_hours <= 72
                ),
            ),
        ],
        "trust": [
            Criterion("over at least 90 days", f.span_days >= 90),
            Criterion("at least 8 episodes", f.episodes >= 8),
            Criterion(
                "at least 3 one-to-one messages each way (or 2 small meetings)",
                (f.sent_one_to_one >= 3 and f.received_one_to_one >= 3) or f.small_meetings >= 2,
            ),
            Criterion("promises kept at least as often as late", kept_ok),
        ],
        "bond": [
            Criterion("over at least 270 days", f.span_days >= 270),
            Criterion("at least 15 episodes", f.episodes >= 15),
            Criterion("strength at least 0.65", strength_value >= 0.65),
            Criterion(
                "a real dialog: talk share between 25 % and 75 %",
                share is not None and 0.25 <= share <= 0.75,
            ),
            Criterion("not gone cold: overdue score below 2", f.overdue_score < 2),
        ],
    }


@dataclass(frozen=True)
class Stage:
    name: str  # "" when not even acknowledged
    met: tuple[str, ...]
    next_stage: str
    missing: tuple[str, ...]

    def reasons(self) -> dict[str, object]:
        return {
            "stage": self.name,
            "met": list(self.met),
            "next": {"stage": self.next_stage, "missing": list(self.missing)}
            if self.next_stage
            else None,
        }


def stage(f: Features, strength_value: float) -> Stage:
    criteria = stage_criteria(f, strength_value)
    reached = ""
    met: list[str] = []
    for name in STAGES:
        items = criteria[name]
        if all(c.met for c in items):
            reached = name
            met.extend(f"{name}: {c.text}" for c in items)
            continue
        missing = tuple(c.text for c in items if not c.met)
        return Stage(reached, tuple(met), name, missing)
    return Stage(reached, tuple(met), "", ())
