"""Prep holds: a short private tentative event before a briefed meeting, whose description is
the brief. Off unless the owner switches it on (``Owner.preferences["prep_holds"]``).

They reuse the suggestion and outbox machinery as one more hold kind, ``prep_hold``: one
Suggestion row per meeting (``prep_hold:<event row id>``, stable when the meeting moves),
written by the outbox as a rapportd-tagged hold, never an edit of the owner's meeting.

- :func:`prep_slot` (pure): the latest free slot of ``minutes`` that ends at the meeting's
  start or earlier (within ``PREP_SEARCH``), overlapping none of the owner's busy time;
  none, and no hold, when there is no such slot.
- :func:`prep_plan` (edge, read before the planner's rules, whose holds keep clear of its
  slots) and :func:`plan_prep_holds` (edge, at the end of planning): create the holds of the
  meetings starting within ``PREP_HORIZON`` (so the evening before at the latest), move a
  hold whose meeting moved (the old one is removed only if untouched: the outbox leaves an
  edited or accepted hold in place) and remove the hold of a meeting that was cancelled,
  declined or is no longer briefed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from rapportd.agent.brief.build import brief_excluded, build_brief
from rapportd.agent.brief.text import as_text
from rapportd.agent.core.errors import ConfigError
from rapportd.agent.store.models import Owner, Suggestion
from rapportd.agent.suggest.proposal import evidence_of
from rapportd.agent.suggest.rules import busy_intervals
from rapportd.agent.suggest.snapshot import MeetingSnap, Snapshot
from rapportd.agent.suggest.timeutil import merge_intervals

KIND = "prep_hold"
PREP_HORIZON = timedelta(hours=36)  # holds exist from the day before the meeting
PREP_SEARCH = timedelta(hours=2)  # how far before the meeting a slot may start
PREP_STEP = timedelta(minutes=5)
MIN_NOTICE = timedelta(minutes=30)  # never a hold that starts before the owner can see it
LIVE = ("proposed", "pending", "written", "snoozed")
MEETING_KINDS = ("one_off", "recurring")


class PrepHoldSettings(BaseModel):
    """The owner's prep-hold setting (``Owner.preferences["prep_holds"]``)."""

    enabled: bool = False
    minutes: int = Field(default=15, ge=5, le=120, description="the hold's length")
    min_size: int = Field(
        default=2, ge=2, le=50, description="fewest attendees, the owner included"
    )
    kinds: list[str] = Field(default_factory=lambda: list(MEETING_KINDS))

    @field_validator("kinds")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(MEETING_KINDS))
        if unknown:
            raise ValueError(f"unknown meeting kind(s) {unknown}; known: {list(MEETING_KINDS)}")
        return value


def prep_settings(preferences: dict[str, Any] | None) -> PrepHoldSettings:
    raw = (preferences or {}).get("prep_holds") or {}
    try:
        return PrepHoldSettings(**raw)
    except (ValidationError, TypeError) as exc:
        raise ConfigError(f"owner prep_holds preferences: {exc}") from None


def wanted(snap: Snapshot, m: MeetingSnap, cfg: PrepHoldSettings) -> bool:
    """Whether this meeting gets a prep hold under the owner's setting."""
    if brief_excluded(snap, m) is not None:
        return False
    # the owner counts once, listed or not (Graph leaves the organizer out of attendees)
    if len([p for p in m.attendees if not p.is_self]) + 1 < cfg.min_size:
        return False
    return ("recurring" if m.is_recurring else "one_off") in cfg.kinds


def prep_slot(
    busy: list[tuple[datetime, datetime]],
    meeting_start: datetime,
    minutes: int,
    *,
    now: datetime,
) -> tuple[datetime, datetime] | None:
    """The latest slot of ``minutes`` ending at ``meeting_start`` or before it (by
    ``PREP_STEP``, at most ``PREP_SEARCH`` earlier) that overlaps no busy interval and starts
    ``MIN_NOTICE`` after ``now`` at the soonest; None when there is none."""
    length = timedelta(minutes=minutes)
    merged = merge_intervals(busy)
    end = meeting_start
    while end - length >= meeting_start - PREP_SEARCH:
        start = end - length
        if start < now + MIN_NOTICE:
            return None
        clash = next((b for b in merged if b[0] < end and start < b[1]), None)
        if clash is None:
            return start, end
        end = min(end - PREP_STEP, clash[0])
    return None


@dataclass(frozen=True)
class PrepTarget:
    meeting: MeetingSnap
    slot: tuple[datetime, datetime]
    description: str
    title: str


def prep_targets(
    snap: Snapshot,
    now: datetime,
    cfg: PrepHoldSettings,
    *,
    current: dict[int, tuple[datetime, datetime]] | None = None,
    resolved_by: dict[int, int] | None = None,
) -> list[PrepTarget]:
    """The prep holds the owner should have now (pure). ``current`` maps a meeting id to the
    slot its live prep hold already has: that slot is not busy time for its own meeting
    (else a written hold would push itself away on every plan)."""
    if not cfg.enabled:
        return []
    current = current or {}
    busy = busy_intervals(snap)
    out: list[PrepTarget] = []
    for m in sorted(snap.meetings, key=lambda x: (x.start, x.id)):
        if not (now < m.start <= now + PREP_HORIZON) or not wanted(snap, m, cfg):
            continue
        mine = current.get(m.id)
        others = [b for b in busy if b != mine] if mine else busy
        slot = prep_slot(others, m.start, cfg.minutes, now=now)
        if slot is None:
            continue
        busy = [b for b in busy if b != mine] + [slot]
        brief = build_brief(snap, m, now, resolved_by=resolved_by or {})
        out.append(
            PrepTarget(
                meeting=m,
                slot=slot,
                description=as_text(brief)
                + "\n\n(A private prep hold rapportd added before your meeting; "
                "nobody is invited.)",
                title=f"Prep: {m.summary or 'meeting'}",
            )
        )
    return out


@dataclass
class PrepSummary:
    created: int = 0
    moved: int = 0
    removed: int = 0
    kept: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PrepPlan:
    """The prep holds the owner should have now, worked out before the planner's other rules
    run so that their holds keep clear of these slots: a prep hold has only the two hours
    before its meeting, a promise or reconnect hold has days to choose from."""

    cfg: PrepHoldSettings
    every: list[Suggestion]  # every prep_hold row of the owner
    targets: dict[int, PrepTarget]  # by meeting (event row) id

    @property
    def slots(self) -> tuple[tuple[datetime, datetime], ...]:
        return tuple(t.slot for t in self.targets.values())


def prep_plan(
    session: Session,
    owner: Owner,
    snap: Snapshot,
    *,
    now: datetime,
    resolved_by: dict[int, int] | None = None,
) -> PrepPlan | None:
    """The owner's :class:`PrepPlan`; None when prep holds are off and none of ours is live
    (no work at all)."""
    from sqlalchemy import select

    cfg = prep_settings(owner.preferences)
    live = select(Suggestion.id).where(
        Suggestion.owner_id == owner.id, Suggestion.kind == KIND, Suggestion.status.in_(LIVE)
    )
    if not cfg.enabled and session.scalar(live.limit(1)) is None:
        return None
    if resolved_by is None and cfg.enabled:
        from rapportd.agent.brief.load import resolved_map

        resolved_by = resolved_map(session, owner.id)
    every = list(
        session.scalars(
            select(Suggestion).where(Suggestion.owner_id == owner.id, Suggestion.kind == KIND)
        )
    )
    current = {
        s.event_id: (s.hold_start, s.hold_end)
        for s in every
        if s.event_id is not None
        and s.status in LIVE
        and s.hold_start is not None
        and s.hold_end is not None
    }
    targets = {
        t.meeting.id: t
        for t in prep_targets(snap, now, cfg, current=current, resolved_by=resolved_by)
    }
    return PrepPlan(cfg, every, targets)


def plan_prep_holds(
    session: Session, snap: Snapshot, plan: PrepPlan, *, now: datetime
) -> PrepSummary:
    """Create, move and remove the owner's prep holds as ``plan`` says (see the module
    docstring)."""
    from rapportd.agent.suggest.planner import retire, write_op

    summary = PrepSummary()
    targets = plan.targets
    rows = {s.event_id: s for s in plan.every if s.event_id is not None}
    known = {m.id: m for m in snap.meetings}
    for s in plan.every:
        if s.status not in LIVE or s.event_id in targets:
            continue
        if s.hold_start is not None and s.hold_start <= now:
            continue  # past: the planner expires it
        reason = _why_remove(snap, s, known.get(s.event_id) if s.event_id else None, plan.cfg)
        if reason is None:
            continue
        s.reasons = {**(s.reasons or {}), "moot": reason}
        retire(session, s, "moot", now=now, final="expired")  # removed only if untouched
        summary.removed += 1
    for eid, t in targets.items():
        s = rows.get(eid)
        evidence = evidence_of(KIND, t.meeting.start, t.meeting.end, t.slot[0], t.slot[1])
        if s is not None and s.status == "accepted":
            summary.kept += 1  # the owner accepted it: theirs now
            continue
        if s is not None and s.status in LIVE and s.evidence == evidence:
            summary.kept += 1
            continue
        if s is not None and s.status in LIVE:
            retire(session, s, "moot", now=now, final="expired")  # removed only if untouched
            summary.moved += 1
        elif s is not None and s.status == "dismissed" and s.evidence == evidence:
            continue  # the owner dismissed this very hold
        elif s is None:
            s = Suggestion(owner_id=snap.owner_id, dedupe_key=f"{KIND}:{eid}", created_at=now)
            session.add(s)
            summary.created += 1
        _fill(s, t, evidence, now)
        session.flush()
        write_op(session, s, now=now, timezone=snap.cfg.timezone)
    session.flush()
    return summary


def _why_remove(
    snap: Snapshot, s: Suggestion, m: MeetingSnap | None, cfg: PrepHoldSettings
) -> str | None:
    """Why a live prep hold with no target now must go (None: leave it)."""
    if not cfg.enabled:
        return "prep holds were switched off"
    if m is None:
        # the event row is gone (its id was cleared), or outside the snapshot's window
        return "the meeting is gone" if s.event_id is None else None
    excluded = brief_excluded(snap, m)
    if excluded in ("cancelled", "declined"):
        return "the meeting was cancelled" if excluded == "cancelled" else "you declined it"
    if not wanted(snap, m, cfg):
        return "the meeting no longer gets a prep hold"
    fits = (
        s.hold_start is not None
        and s.hold_end is not None
        and s.hold_end <= m.start
        and s.hold_start >= m.start - PREP_SEARCH
    )
    return None if fits else "the meeting moved and no free slot is left before it"


def _fill(s: Suggestion, t: PrepTarget, evidence: str, now: datetime) -> None:
    m = t.meeting
    s.kind = KIND
    s.evidence = evidence
    s.title = t.title
    s.subject = t.title
    s.body = t.description
    s.reasons = {
        "why": f"A brief before “{m.summary or 'your meeting'}”, in a free slot just before it.",
        "meeting": m.summary,
        "meeting_start": m.start.isoformat(),
    }
    s.account_id = m.account_id
    s.event_id = m.id
    s.hold_start, s.hold_end = t.slot
    s.to_addrs = []
    s.score = 0.5
    s.snoozed_until = None
    s.status = "proposed"
    s.updated_at = now
