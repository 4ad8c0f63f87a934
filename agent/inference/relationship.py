"""One contact's whole analysis from its timeline: rhythm, overdue, strength and stage.

Pure glue between cadence, strength and threads, so analysis.py (the impure edge) only
loads, calls :func:`analyse_contact` and stores the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rapportd.agent.inference.cadence import (
    DEFAULT_PARAMS,
    CadenceParams,
    GapPrior,
    Rhythm,
    fit_rhythm,
    from_days,
    to_days,
)
from rapportd.agent.inference.drift import assess_drift
from rapportd.agent.inference.strength import features, stage, strength
from rapportd.agent.inference.timeline import Interaction, personal


@dataclass(frozen=True)
class ContactAnalysis:
    strength: float | None
    stage: str
    typical_gap_days: float | None
    overdue_score: float | None
    next_expected_at: datetime | None
    p_interact_30d: float | None
    first_at: datetime | None
    last_at: datetime | None
    interaction_count: int
    reasons: dict[str, Any] = field(default_factory=dict)
    rhythm: Rhythm | None = None  # the fitted rhythm (its overdue score ages with time)


def personal_times(interactions: Sequence[Interaction]) -> list[float]:
    return [to_days(i.at) for i in personal(interactions)]


def analyse_contact(
    interactions: Sequence[Interaction],
    *,
    now: datetime,
    prior: GapPrior,
    owner_reply_hours: Sequence[float] = (),
    their_reply_hours: Sequence[float] = (),
    promises_kept: int = 0,
    promises_late: int = 0,
    params: CadenceParams = DEFAULT_PARAMS,
) -> ContactAnalysis:
    past = [i for i in interactions if i.at <= now]
    as_of = to_days(now)
    rhythm = fit_rhythm(personal_times(past), as_of + 1e-9, prior, params)
    overdue = rhythm.overdue_score(as_of) if rhythm else 0.0
    f = features(
        past,
        now=now,
        owner_reply_hours=owner_reply_hours,
        their_reply_hours=their_reply_hours,
        overdue_score=overdue,
        promises_kept=promises_kept,
        promises_late=promises_late,
    )
    s = strength(f) if past else None
    st = stage(f, s.value if s else 0.0)
    reasons: dict[str, Any] = {
        "counts": {
            "sent": sum(1 for i in past if i.kind == "sent"),
            "received": sum(1 for i in past if i.kind == "received"),
            "meetings": sum(1 for i in past if i.kind == "meeting"),
            "personal": len(personal(past)),
            "episodes": f.episodes,
        },
        "reply_hours": {
            "owner_median": None if f.owner_reply_hours is None else round(f.owner_reply_hours, 1),
            "their_median": None if f.their_reply_hours is None else round(f.their_reply_hours, 1),
        },
        "talk_share": None if f.talk_share is None else round(f.talk_share, 2),
        "stage": st.reasons(),
    }
    if s is not None:
        reasons["strength"] = s.reasons()
    reasons["drift"] = assess_drift(personal(past), now=now).as_dict()
    if rhythm is not None:
        reasons["rhythm"] = rhythm.reasons(as_of)
    else:
        reasons["rhythm"] = {"note": "no personal interaction yet (only large lists or none)"}
    return ContactAnalysis(
        strength=s.value if s else None,
        stage=st.name,
        typical_gap_days=rhythm.typical_gap_days if rhythm else None,
        overdue_score=overdue if rhythm else None,
        next_expected_at=from_days(rhythm.next_expected()) if rhythm else None,
        p_interact_30d=rhythm.p_interact(as_of, 30.0) if rhythm else None,
        first_at=past[0].at if past else None,
        last_at=past[-1].at if past else None,
        interaction_count=len(past),
        reasons=reasons,
        rhythm=rhythm,
    )
