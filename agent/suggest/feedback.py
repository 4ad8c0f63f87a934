"""Feedback: what the person did with a suggestion, and what rapportd learns from it.

Fates come from the mailbox (:func:`detect_fates`, via ``connector.draft_state`` /
``hold_state``) or from the review page / CLI (actions). Each becomes one ``Feedback`` row
(unique per suggestion and outcome). Outcomes are *positive* (sent, sent_edited, accepted,
confirmed, moved) or *negative* (deleted, dismissed, ignored, expired); ``snoozed`` is
neither. Acceptance rates per kind and per contact scale later suggestions' scores, and a
kind whose last ``pause_after_ignored`` suggestions were all negative is paused until the
owner resumes it (:func:`resume_kind`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.errors import ProviderError
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.records import Connector, ItemState
from rapportd.agent.core.settings import SUGGESTION_KINDS, Settings
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Feedback, OutboxOperation, Owner, Suggestion
from rapportd.agent.suggest.config import effective_config

log = get_logger(__name__)

POSITIVE = frozenset({"sent", "sent_edited", "accepted", "confirmed", "moved"})
NEGATIVE = frozenset({"deleted", "dismissed", "ignored", "expired"})
MIN_SCORE = 0.2  # proposals scaled below this are not made


def add_feedback(
    session: Session,
    s: Suggestion,
    outcome: str,
    *,
    now: datetime,
    source: str = "sync",
    details: dict[str, Any] | None = None,
) -> bool:
    """Record one outcome once; False if it was already recorded."""
    exists = session.scalars(
        select(Feedback.id).where(Feedback.suggestion_id == s.id, Feedback.outcome == outcome)
    ).first()
    if exists is not None:
        return False
    session.add(
        Feedback(
            owner_id=s.owner_id,
            suggestion_id=s.id,
            contact_id=s.contact_id,
            kind=s.kind,
            outcome=outcome,
            source=source,
            details=details or {},
            at=now,
        )
    )
    session.flush()
    return True


def note_state(op: OutboxOperation, state: ItemState, *, now: datetime, edited: bool) -> None:
    """Remember the last seen mailbox state on the create op (actions read it)."""
    payload = dict(op.payload or {})
    payload["last_state"] = {
        "status": state.status,
        "exists": state.exists,
        "content_hash": state.content_hash,
        "edited": edited,
        "checked_at": now.isoformat(),
    }
    op.payload = payload


def person_edited(op: OutboxOperation | None) -> bool:
    return bool(op is not None and (op.payload or {}).get("last_state", {}).get("edited"))


def apply_fate(
    session: Session, op: OutboxOperation, s: Suggestion, state: ItemState, *, now: datetime
) -> str | None:
    """Turn what the mailbox shows for a written item into a fate; returns the outcome."""
    is_hold = op.op == "create_hold"
    edited = bool(state.exists and state.content_hash and state.content_hash != op.written_hash)
    note_state(op, state, now=now, edited=edited)
    outcome: str | None = None
    if not is_hold and state.status == "sent":
        outcome = "sent_edited" if edited else "sent"
        op_state = status = outcome
    elif not state.exists or state.status in ("deleted", "cancelled"):
        outcome, op_state, status = "deleted", "dismissed", "dismissed"
    elif is_hold and state.status == "confirmed":
        outcome = "moved" if edited else "confirmed"
        op_state, status = outcome, "accepted"
    elif is_hold and edited:
        outcome, op_state, status = "moved", "moved", "accepted"
    elif is_hold and s.hold_end is not None and s.hold_end < now:
        outcome, op_state, status = "ignored", "expired", "expired"
    if outcome is None:
        return None
    op.state = op_state
    if s.status not in ("moot",) or outcome in POSITIVE:
        s.status = status
    s.updated_at = now
    add_feedback(session, s, outcome, now=now, details={"status": state.status})
    return outcome


@dataclass
class FateSummary:
    checked: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    errors: int = 0


def detect_fates(
    session_factory: sessionmaker[Session], account_id: int, connector: Connector, *, now: datetime
) -> FateSummary:
    """Ask the mailbox what became of every item rapportd wrote for ``account_id``."""
    summary = FateSummary()
    with transaction(session_factory) as session:
        ops = session.scalars(
            select(OutboxOperation).where(
                OutboxOperation.account_id == account_id,
                OutboxOperation.op.in_(("create_draft", "create_hold")),
                OutboxOperation.state == "written",
            )
        ).all()
        targets = [(op.id, op.op, op.provider_item_id, op.tag) for op in ops]
    for op_id, kind, pid, tag in targets:
        try:
            state = (
                connector.hold_state(pid, tag)
                if kind == "create_hold"
                else connector.draft_state(pid, tag)
            )
        except ProviderError as exc:
            summary.errors += 1
            log.warning("fate_check_failed", op_id=op_id, error=str(exc))
            continue
        with transaction(session_factory) as session:
            op = session.get(OutboxOperation, op_id)
            if op is None or op.state != "written":
                continue  # changed meanwhile (dismissed, deleted)
            s = session.get(Suggestion, op.suggestion_id)
            assert s is not None
            summary.checked += 1
            outcome = apply_fate(session, op, s, state, now=now)
            if outcome:
                summary.outcomes[outcome] = summary.outcomes.get(outcome, 0) + 1
    return summary


# --- learning ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    suggestion_id: int
    kind: str
    contact_id: int | None
    positive: bool
    at: datetime


def verdicts(session: Session, owner_id: int) -> list[Verdict]:
    """One verdict per suggestion with a positive or negative outcome, oldest first."""
    rows = session.execute(
        select(
            Feedback.suggestion_id,
            Feedback.kind,
            Feedback.contact_id,
            Feedback.outcome,
            Feedback.at,
        )
        .where(Feedback.owner_id == owner_id)
        .order_by(Feedback.at, Feedback.id)
    ).all()
    by_s: dict[int, Verdict] = {}
    for sid, kind, cid, outcome, at in rows:
        if outcome not in POSITIVE and outcome not in NEGATIVE:
            continue
        prev = by_s.get(sid)
        positive = outcome in POSITIVE or bool(prev and prev.positive)
        by_s[sid] = Verdict(sid, kind, cid, positive, at)
    return sorted(by_s.values(), key=lambda v: (v.at, v.suggestion_id))


def rate(items: list[Verdict]) -> float:
    """Laplace-smoothed acceptance rate (0.5 with no evidence)."""
    return (sum(v.positive for v in items) + 1) / (len(items) + 2)


def score_factor(all_verdicts: list[Verdict], kind: str, contact_id: int | None) -> float:
    """How much to scale a proposal's score: 1.0 with no history, down to ~0.3 for a kind
    (and a contact) whose suggestions the owner keeps deleting, up to ~1.5 for accepted ones."""
    k = [v for v in all_verdicts if v.kind == kind]
    factor = 0.5 + rate(k)
    if contact_id is not None:
        c = [v for v in k if v.contact_id == contact_id]
        if c:
            factor *= 0.5 + rate(c)
    return factor


@dataclass(frozen=True)
class KindStatus:
    kind: str
    enabled: bool
    paused: bool
    shown: int  # suggestions with a verdict
    accepted: int
    acceptance_rate: float | None
    negative_streak: int
    reason: str = ""


def _resumed_at(owner: Owner, kind: str) -> datetime | None:
    raw = ((owner.preferences or {}).get("suggestions_resumed") or {}).get(kind)
    return datetime.fromisoformat(raw) if raw else None


def kind_status(
    session: Session, owner_id: int, *, settings: Settings | None = None
) -> list[KindStatus]:
    """Per kind: switched on?, paused by feedback?, acceptance rate. For the review page."""
    from rapportd.agent.core.settings import get_settings

    settings = settings or get_settings()
    owner = session.get(Owner, owner_id)
    if owner is None:
        return []
    cfg = effective_config(settings, preferences=owner.preferences, timezone=owner.timezone)
    all_v = verdicts(session, owner_id)
    out = []
    for kind in SUGGESTION_KINDS:
        k = [v for v in all_v if v.kind == kind]
        resumed = _resumed_at(owner, kind)
        streak = 0
        for v in reversed(k):
            if v.positive or (resumed is not None and v.at <= resumed):
                break
            streak += 1
        paused = streak >= cfg.pause_after_ignored
        enabled = kind in cfg.kinds
        reason = ""
        if not enabled:
            reason = "switched off in the settings"
        elif paused:
            reason = f"paused: the last {streak} were deleted or ignored"
        accepted = sum(v.positive for v in k)
        out.append(
            KindStatus(
                kind=kind,
                enabled=enabled,
                paused=paused,
                shown=len(k),
                accepted=accepted,
                acceptance_rate=accepted / len(k) if k else None,
                negative_streak=streak,
                reason=reason,
            )
        )
    return out


def resume_kind(session: Session, owner_id: int, kind: str, *, now: datetime) -> None:
    """Lift a pause: only verdicts after ``now`` count towards the next one."""
    owner = session.get(Owner, owner_id)
    if owner is None:
        return
    prefs = dict(owner.preferences or {})
    resumed = dict(prefs.get("suggestions_resumed") or {})
    resumed[kind] = now.isoformat()
    prefs["suggestions_resumed"] = resumed
    owner.preferences = prefs
