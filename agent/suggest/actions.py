"""What a person can do with a suggestion, from the review page or the CLI.

Actions change rows and enqueue outbox operations; the provider write happens later in
:func:`rapportd.agent.suggest.outbox.process_operation`. The caller owns the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent import clock
from rapportd.agent.errors import Conflict, NotFound
from rapportd.agent.store.models import Owner, Suggestion
from rapportd.agent.suggest.config import HOLD_KINDS
from rapportd.agent.suggest.feedback import (
    KindStatus,
    add_feedback,
    kind_status,
    person_edited,
    resume_kind,
)
from rapportd.agent.suggest.planner import retire, write_op
from rapportd.agent.suggest.queue import create_op, draft_payload, enqueue

__all__ = [
    "KindStatus",
    "accept",
    "dismiss",
    "edit",
    "get_suggestion",
    "kind_status",
    "list_suggestions",
    "resume_kind",
    "snooze",
]

FINISHED = ("sent", "sent_edited", "dismissed", "moot", "expired")


def _now(now: datetime | None) -> datetime:
    return now or clock.now()


def list_suggestions(
    session: Session,
    owner_id: int,
    *,
    status: str | Sequence[str] | None = None,
    kind: str | None = None,
) -> list[Suggestion]:
    """The owner's suggestions, newest first; ``status`` may be one status or several."""
    q = select(Suggestion).where(Suggestion.owner_id == owner_id)
    if status:
        q = q.where(Suggestion.status.in_([status] if isinstance(status, str) else list(status)))
    if kind:
        q = q.where(Suggestion.kind == kind)
    return list(session.scalars(q.order_by(Suggestion.created_at.desc(), Suggestion.id.desc())))


def get_suggestion(session: Session, owner_id: int, suggestion_id: int) -> Suggestion:
    """One suggestion of this owner; another owner's id is simply not found."""
    s = session.get(Suggestion, suggestion_id)
    if s is None or s.owner_id != owner_id:
        raise NotFound(f"no suggestion {suggestion_id}")
    return s


def _live(s: Suggestion, verb: str) -> None:
    if s.status in FINISHED:
        raise Conflict(f"suggestion {s.id} is already {s.status}; cannot {verb} it")


def _timezone(session: Session, owner_id: int) -> str:
    owner = session.get(Owner, owner_id)
    return owner.timezone if owner is not None else "UTC"


def accept(
    session: Session,
    owner_id: int,
    suggestion_id: int,
    *,
    source: str = "web",
    now: datetime | None = None,
) -> Suggestion:
    """Accept: a hold is confirmed in the calendar; a draft not yet written is written now
    (the owner asked, so caps and quiet hours do not hold it back)."""
    now = _now(now)
    s = get_suggestion(session, owner_id, suggestion_id)
    if s.status == "accepted":
        return s
    _live(s, "accept")
    op = create_op(session, s)
    if (
        op is None or op.state not in ("pending", "writing", "written")
    ) and s.account_id is not None:
        write_op(session, s, now=now, timezone=_timezone(session, owner_id), ready_at=now)
    elif op is not None and op.state == "pending" and op.ready_at > now:
        op.ready_at = now  # the owner asked: no more waiting for snooze or quiet hours
    if s.kind in HOLD_KINDS and s.account_id is not None:
        enqueue(session, s, "confirm_hold", now=now)
    s.status = "accepted"
    s.snoozed_until = None
    s.updated_at = now
    add_feedback(session, s, "accepted", now=now, source=source)
    return s


def edit(
    session: Session,
    owner_id: int,
    suggestion_id: int,
    *,
    body: str,
    subject: str | None = None,
    source: str = "web",
    now: datetime | None = None,
) -> Suggestion:
    """Change a draft's words; the mailbox copy is updated through the outbox. Refused with
    :class:`Conflict` when the person already changed the draft in their mailbox."""
    now = _now(now)
    s = get_suggestion(session, owner_id, suggestion_id)
    _live(s, "edit")
    if s.kind in HOLD_KINDS:
        raise Conflict("a hold is changed in the calendar, not here")
    op = create_op(session, s)
    if person_edited(op):
        raise Conflict("this draft was already changed in the mailbox; edit it there")
    s.body = body if body.endswith("\n") else body + "\n"
    if subject is not None:
        s.subject = subject
    s.updated_at = now
    reasons = dict(s.reasons or {})
    reasons["edited_by"] = source
    s.reasons = reasons
    payload = draft_payload(session, s)
    if op is not None and op.state in ("pending", "failed"):
        op.payload = payload
    elif op is not None and op.state in ("writing", "written"):
        enqueue(session, s, "update_draft", now=now, payload=payload)
    return s


def snooze(
    session: Session,
    owner_id: int,
    suggestion_id: int,
    *,
    until: datetime,
    source: str = "web",
    now: datetime | None = None,
) -> Suggestion:
    """Put off a suggestion; one not yet written waits until ``until`` to be written."""
    now = _now(now)
    if until.tzinfo is None:
        raise ValueError("snooze needs an aware datetime")
    s = get_suggestion(session, owner_id, suggestion_id)
    _live(s, "snooze")
    op = create_op(session, s)
    if op is not None and op.state in ("pending", "failed"):
        op.ready_at = max(op.ready_at, until)
    s.status = "snoozed"
    s.snoozed_until = until
    s.updated_at = now
    add_feedback(
        session, s, "snoozed", now=now, source=source, details={"until": until.isoformat()}
    )
    return s


def dismiss(
    session: Session,
    owner_id: int,
    suggestion_id: int,
    *,
    source: str = "web",
    now: datetime | None = None,
) -> Suggestion:
    """Dismiss: an unwritten op is cancelled, a written draft or hold is removed (unless the
    person already changed it in the mailbox)."""
    now = _now(now)
    s = get_suggestion(session, owner_id, suggestion_id)
    if s.status == "dismissed":
        return s
    _live(s, "dismiss")
    retire(session, s, "dismissed", now=now, final="dismissed")
    add_feedback(session, s, "dismissed", now=now, source=source)
    return s
