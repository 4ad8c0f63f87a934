"""What a person can do with a suggestion, from the review page or the CLI.

Actions change rows and enqueue outbox operations; the provider write happens later in
:func:`rapportd.agent.outbox.operations.process_operation`. The caller owns the transaction.

Undo: every action is logged in a :class:`ReviewAction` row with what it changed, and the
writes it enqueues wait :data:`UNDO_WINDOW` (plus a margin) before a worker may take them, so
:func:`undo` can put everything back while nothing has reached the mailbox yet.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rapportd.agent.core import clock
from rapportd.agent.core.errors import Conflict, NotFound
from rapportd.agent.outbox.queue import create_op, draft_payload, enqueue, tag_of
from rapportd.agent.store.models import (
    ACKNOWLEDGED_PREFIX,
    Commitment,
    Contact,
    Feedback,
    Mute,
    OutboxOperation,
    Owner,
    ReviewAction,
    Suggestion,
)
from rapportd.agent.suggest.config import HOLD_KINDS
from rapportd.agent.suggest.feedback import (
    KindStatus,
    add_feedback,
    kind_status,
    person_edited,
    resume_kind,
)
from rapportd.agent.suggest.phrasing import ask_phrase
from rapportd.agent.suggest.planner import retire, write_op

__all__ = [
    "DISMISS_REASONS",
    "MAX_BODY",
    "MAX_SUBJECT",
    "UNDO_WINDOW",
    "EditRefused",
    "KindStatus",
    "accept",
    "batch_after",
    "check_edit",
    "dismiss",
    "edit",
    "get_suggestion",
    "kind_status",
    "list_suggestions",
    "mutes",
    "new_batch",
    "resume_kind",
    "snooze",
    "undo",
    "unmute",
]

FINISHED = ("sent", "sent_edited", "dismissed", "moot", "expired")
# How long an action can be undone; its writes wait this long plus a margin, so that a worker
# never takes one while an undo of it may still run.
UNDO_WINDOW = timedelta(seconds=15)
UNDO_MARGIN = timedelta(seconds=5)
MAX_BODY = 20_000
MAX_SUBJECT = 500
MAX_RECIPIENTS = 50
DISMISS_REASONS = {
    "not_relevant": "Not relevant",
    "already_done": "Already done",
    "wrong_person": "Wrong person",
    "never_for_person": "Never for this person",
}
_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+")
_SUGGESTION_FIELDS = ("status", "snoozed_until", "subject", "body", "to_addrs", "reasons")
_OP_FIELDS = ("state", "payload", "ready_at", "scheduled_at", "attempts", "last_error")


def _now(now: datetime | None) -> datetime:
    return now or clock.now()


def _writes_at(now: datetime) -> datetime:
    """When a write enqueued by an action may happen: after its undo window."""
    return now + UNDO_WINDOW + UNDO_MARGIN


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


# --- the undo log -------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    """A value as JSON keeps it (datetimes as ISO text)."""
    if isinstance(value, datetime):
        return {"__dt__": value.isoformat()}
    return value


def _unplain(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"__dt__"}:
        return datetime.fromisoformat(value["__dt__"])
    return value


def _ops_of(session: Session, s: Suggestion) -> list[OutboxOperation]:
    return list(
        session.scalars(select(OutboxOperation).where(OutboxOperation.suggestion_id == s.id))
    )


@dataclass
class _Log:
    """What an action is about to change, taken before it changes anything."""

    suggestion: dict[str, Any]
    ops: dict[str, dict[str, Any]]
    feedback: list[str]
    mute_id: int | None = None


def _before(session: Session, s: Suggestion) -> _Log:
    session.flush()
    return _Log(
        suggestion={f: _plain(getattr(s, f)) for f in _SUGGESTION_FIELDS},
        ops={
            str(op.id): {f: _plain(getattr(op, f)) for f in _OP_FIELDS}
            for op in _ops_of(session, s)
        },
        feedback=[],
    )


def _log(
    session: Session,
    s: Suggestion,
    verb: str,
    log: _Log,
    *,
    source: str,
    batch: str | None,
    now: datetime,
) -> ReviewAction:
    session.flush()
    now_ops = _ops_of(session, s)
    new_ops = [op.id for op in now_ops if str(op.id) not in log.ops]
    row = ReviewAction(
        owner_id=s.owner_id,
        batch=batch or uuid.uuid4().hex,
        suggestion_id=s.id,
        verb=verb,
        source=source,
        before={
            "suggestion": log.suggestion,
            "ops": log.ops,
            "new_ops": new_ops,
            # what the action left: a later change (a worker took a write) forbids undo
            "after": {str(op.id): op.state for op in now_ops},
            "feedback": log.feedback,
            "mute_id": log.mute_id,
        },
        at=now,
        undo_until=now + UNDO_WINDOW,
    )
    session.add(row)
    session.flush()
    return row


def last_batch(session: Session, owner_id: int, *, now: datetime) -> ReviewAction | None:
    """The owner's most recent action that can still be undone."""
    return session.scalars(
        select(ReviewAction)
        .where(
            ReviewAction.owner_id == owner_id,
            ReviewAction.undone_at.is_(None),
            ReviewAction.undo_until >= now,
        )
        .order_by(ReviewAction.at.desc(), ReviewAction.id.desc())
        .limit(1)
    ).first()


def undo(
    session: Session, owner_id: int, *, batch: str | None = None, now: datetime | None = None
) -> list[Suggestion]:
    """Undo the owner's last action (or the action ``batch``) on every suggestion it touched:
    the writes it enqueued are withdrawn, the rows and feedback are as they were. Refused
    (:class:`Conflict`) when the window has passed or a write already reached the mailbox."""
    now = _now(now)
    if batch is None:
        last = last_batch(session, owner_id, now=now)
        if last is None:
            raise Conflict(
                "nothing to undo: an action can be undone for "
                f"{int(UNDO_WINDOW.total_seconds())} seconds"
            )
        batch = last.batch
    rows = list(
        session.scalars(
            select(ReviewAction).where(
                ReviewAction.owner_id == owner_id,
                ReviewAction.batch == batch,
                ReviewAction.undone_at.is_(None),
            )
        )
    )
    if not rows:
        raise Conflict("nothing to undo")
    if any(r.undo_until < now for r in rows):
        raise Conflict("too late to undo: it is on its way to your mailbox")
    for r in rows:  # look at every op before changing anything
        after = r.before.get("after", {})
        ids = [int(i) for i in after]
        for op in session.scalars(select(OutboxOperation).where(OutboxOperation.id.in_(ids))):
            if op.state != after[str(op.id)] or op.lease_owner is not None:
                raise Conflict("too late to undo: it already reached your mailbox")
    out = []
    for r in sorted(rows, key=lambda r: -r.id):
        s = session.get(Suggestion, r.suggestion_id)
        assert s is not None
        before = r.before
        for op_id in before.get("new_ops", []):
            session.execute(delete(OutboxOperation).where(OutboxOperation.id == op_id))
        for op_id, fields in before.get("ops", {}).items():
            op = session.get(OutboxOperation, int(op_id))
            if op is not None:
                for name, value in fields.items():
                    setattr(op, name, _unplain(value))
        for name, value in before.get("suggestion", {}).items():
            setattr(s, name, _unplain(value))
        s.updated_at = now
        if before.get("feedback"):
            session.execute(
                delete(Feedback).where(
                    Feedback.suggestion_id == s.id,
                    Feedback.outcome.in_(before["feedback"]),
                )
            )
        if before.get("mute_id"):
            session.execute(delete(Mute).where(Mute.id == before["mute_id"]))
        r.undone_at = now
        out.append(s)
    session.flush()
    return out


# --- the actions --------------------------------------------------------------------------


def accept(
    session: Session,
    owner_id: int,
    suggestion_id: int,
    *,
    source: str = "web",
    now: datetime | None = None,
    batch: str | None = None,
) -> Suggestion:
    """Accept: a hold is confirmed in the calendar; a draft not yet written is written (the
    owner asked, so caps and quiet hours do not hold it back) once the undo window passed."""
    now = _now(now)
    s = get_suggestion(session, owner_id, suggestion_id)
    if s.status == "accepted":
        return s
    _live(s, "accept")
    log = _before(session, s)
    op = create_op(session, s)
    ready = _writes_at(now)
    if (
        op is None or op.state not in ("pending", "writing", "written")
    ) and s.account_id is not None:
        write_op(session, s, now=now, timezone=_timezone(session, owner_id), ready_at=ready)
    elif op is not None and op.state == "pending" and op.ready_at > ready:
        op.ready_at = ready  # the owner asked: no more waiting for snooze or quiet hours
    if s.kind in HOLD_KINDS and s.account_id is not None:
        enqueue(session, s, "confirm_hold", now=now, ready_at=ready)
    s.status = "accepted"
    s.snoozed_until = None
    s.updated_at = now
    if add_feedback(session, s, "accepted", now=now, source=source):
        log.feedback.append("accepted")
    _log(session, s, "accept", log, source=source, batch=batch, now=now)
    return s


def promise_to_answer(
    session: Session, owner_id: int, suggestion_id: int, *, now: datetime | None = None
) -> Commitment:
    """Turn a reply-owed acknowledgement ("… I'll come back to you by Thursday") into a
    promise of the owner's, due on the date the draft names: the next plan places a hold to
    do the work before then (``promise_hold``), and the analysis marks it kept when the owner
    writes in the thread again other than with the acknowledgement itself. Asking twice
    gives the same promise."""
    now = _now(now)
    s = get_suggestion(session, owner_id, suggestion_id)
    r = dict(s.reasons or {})
    if s.kind != "reply_needed" or s.commitment_id is None:
        raise Conflict(f"suggestion {s.id} is not a reply owed; there is nothing to promise")
    _live(s, "promise an answer to")
    ask = session.get(Commitment, s.commitment_id)
    if ask is None or ask.owner_id != owner_id:
        raise NotFound(f"the question of suggestion {s.id} is gone")
    key = f"{ACKNOWLEDGED_PREFIX}{ask.dedupe_key}"[:200]
    made = session.scalar(
        select(Commitment).where(Commitment.owner_id == owner_id, Commitment.dedupe_key == key)
    )
    if made is not None:
        return made
    try:
        due = datetime.fromisoformat(str(r["reply_by_at"]))
    except (KeyError, ValueError):
        raise Conflict(f"suggestion {s.id} names no date to answer by") from None
    if due <= now:
        raise Conflict(f"the date suggestion {s.id} promised ({due:%d %b}) has passed")
    made = Commitment(
        owner_id=owner_id,
        dedupe_key=key,
        message_id=ask.message_id,
        contact_id=ask.contact_id,
        kind="commitment",
        direction="by_owner",
        by_addr=ask.to_addr,
        to_addr=ask.by_addr,
        text=_answer_promise(ask.text, due, owner_tz=_timezone(session, owner_id)),
        due_at=due,
        due_text=f"{due:%A %d %B}",
        confidence=1.0,
        state="open",
        thread_id=ask.thread_id,
        reasons={
            "source": "acknowledged",
            "request_id": ask.id,
            "suggestion_id": s.id,
            "ack_tag": tag_of(s),
            "made_at": now.isoformat(),
        },
    )
    session.add(made)
    session.flush()
    s.reasons = {**r, "promise_id": made.id}
    owner = session.get(Owner, owner_id)
    if owner is not None:
        owner.analysis_due_at = now  # the next plan places the hold
    return made


def _answer_promise(question: str, due: datetime, *, owner_tz: str) -> str:
    """The promise in the owner's words, as the acknowledgement put it: "I'll come back to
    you about the Q3 numbers by Friday." """
    about = ask_phrase(question) or "on your question"
    return f"I'll come back to you {about} by {due.astimezone(ZoneInfo(owner_tz)):%A}."


class EditRefused(ValueError):
    """An edit that would lose or break the draft; ``field`` says which one (body, subject, to)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def _split_addresses(text: str) -> list[str]:
    """The comma- (or semicolon-) separated parts of a recipients field, commas inside a
    quoted name ("Lee, Ann" <ann@x.org>) or angle brackets kept."""
    parts: list[str] = []
    current: list[str] = []
    quoted = angle = False
    for ch in text:
        if ch == '"':
            quoted = not quoted
        elif ch == "<" and not quoted:
            angle = True
        elif ch == ">" and not quoted:
            angle = False
        if ch in ",;" and not quoted and not angle:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def parse_recipients(text: str) -> list[list[str]]:
    """``'Ann Lee <ann@x.org>, bob@y.org'`` -> ``[["ann@x.org", "Ann Lee"], ["bob@y.org", ""]]``;
    raises :class:`EditRefused` naming the first part that is not an address (nothing typed
    is dropped quietly)."""
    out: list[list[str]] = []
    for part in _split_addresses(text):
        name, address = parseaddr(part)
        if not _ADDRESS.fullmatch(address or ""):
            raise EditRefused("to", f"“{part}” is not an e-mail address such as ann@example.com.")
        out.append([address.lower(), name.strip()])
    return out


def check_edit(
    body: str, subject: str | None, to: str | None
) -> tuple[str, str | None, list[list[str]] | None]:
    """An edit as it will be written, or :class:`EditRefused` with the field and the reason.
    Nothing is ever lost quietly: a blank text, a text too long, a subject on several lines
    or too long, no recipient or a malformed one are refused, with the typed text kept by the
    caller."""
    if not body.strip():
        raise EditRefused(
            "body", "The text is empty. Write the message, or dismiss the suggestion instead."
        )
    if len(body) > MAX_BODY:
        raise EditRefused(
            "body",
            f"The text is {len(body):,} characters long; a draft holds at most {MAX_BODY:,}.",
        )
    if subject is not None:
        subject = " ".join(subject.split())
        if len(subject) > MAX_SUBJECT:
            raise EditRefused(
                "subject",
                f"The subject is {len(subject):,} characters long; at most {MAX_SUBJECT}.",
            )
    recipients = None
    if to is not None:
        recipients = parse_recipients(to)
        if not recipients:
            raise EditRefused("to", "A draft needs at least one recipient.")
        if len(recipients) > MAX_RECIPIENTS:
            raise EditRefused("to", f"At most {MAX_RECIPIENTS} recipients.")
    return body, subject, recipients


def edit(
    session: Session,
    owner_id: int,
    suggestion_id: int,
    *,
    body: str,
    subject: str | None = None,
    to: str | None = None,
    source: str = "web",
    now: datetime | None = None,
    batch: str | None = None,
) -> Suggestion:
    """Change a draft's words (and subject and recipients); the mailbox copy is updated
    through the outbox. Refused with :class:`EditRefused` (a blank text ...) or
    :class:`Conflict` when the person already changed the draft in their mailbox."""
    now = _now(now)
    body, subject, recipients = check_edit(body, subject, to)
    s = get_suggestion(session, owner_id, suggestion_id)
    _live(s, "edit")
    if s.kind in HOLD_KINDS:
        raise Conflict("a hold is changed in the calendar, not here")
    op = create_op(session, s)
    if person_edited(op):
        raise Conflict("this draft was already changed in the mailbox; edit it there")
    log = _before(session, s)
    s.body = body if body.endswith("\n") else body + "\n"
    if subject is not None:
        s.subject = subject
    if recipients is not None:
        s.to_addrs = recipients
    s.updated_at = now
    reasons = dict(s.reasons or {})
    reasons["edited_by"] = source
    s.reasons = reasons
    payload = draft_payload(session, s)
    if op is not None and op.state in ("pending", "failed"):
        op.payload = payload
    elif op is not None and op.state in ("writing", "written"):
        enqueue(session, s, "update_draft", now=now, payload=payload, ready_at=_writes_at(now))
    _log(session, s, "edit", log, source=source, batch=batch, now=now)
    return s


def snooze(
    session: Session,
    owner_id: int,
    suggestion_id: int,
    *,
    until: datetime,
    source: str = "web",
    now: datetime | None = None,
    batch: str | None = None,
) -> Suggestion:
    """Put off a suggestion. One not yet written waits until ``until``; a written draft the
    person has not touched is removed from the mailbox and written again when it wakes (the
    planner re-arms it); a touched draft, and a hold, stay where they are."""
    now = _now(now)
    if until.tzinfo is None:
        raise ValueError("snooze needs an aware datetime")
    s = get_suggestion(session, owner_id, suggestion_id)
    _live(s, "snooze")
    log = _before(session, s)
    op = create_op(session, s)
    if op is not None and op.state in ("pending", "failed"):
        op.ready_at = max(op.ready_at, until)
    elif (
        op is not None
        and op.state in ("writing", "written")
        and op.op == "create_draft"
        and not person_edited(op)
    ):
        enqueue(
            session,
            s,
            "delete_draft",
            now=now,
            payload={"final": "snoozed"},
            ready_at=_writes_at(now),
        )
    s.status = "snoozed"
    s.snoozed_until = until
    s.updated_at = now
    details = {"until": until.isoformat()}
    if add_feedback(session, s, "snoozed", now=now, source=source, details=details):
        log.feedback.append("snoozed")
    _log(session, s, "snooze", log, source=source, batch=batch, now=now)
    return s


def snooze_removes_draft(session: Session, s: Suggestion) -> bool:
    """Whether a snooze of ``s`` takes its draft out of the mailbox (for the page's words)."""
    op = create_op(session, s)
    return bool(
        op is not None
        and op.op == "create_draft"
        and (op.state in ("writing", "written", "snoozed"))
        and not person_edited(op)
    )


def _mute(session: Session, s: Suggestion, now: datetime) -> int | None:
    """ "Never for this person": no more suggestions of this kind to the contact's address."""
    contact = session.get(Contact, s.contact_id) if s.contact_id is not None else None
    address = (contact.primary_address if contact is not None else "") or next(
        (str(a[0]) for a in s.to_addrs or [] if isinstance(a, list | tuple) and a), ""
    )
    if not address:
        return None
    address = address.lower()
    existing = session.scalars(
        select(Mute).where(
            Mute.owner_id == s.owner_id, Mute.kind == s.kind, Mute.address == address
        )
    ).first()
    if existing is not None:
        return None
    row = Mute(
        owner_id=s.owner_id,
        kind=s.kind,
        address=address,
        contact_id=s.contact_id,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row.id


def dismiss(
    session: Session,
    owner_id: int,
    suggestion_id: int,
    *,
    reason: str = "",
    source: str = "web",
    now: datetime | None = None,
    batch: str | None = None,
) -> Suggestion:
    """Dismiss: an unwritten op is cancelled, a written draft or hold is removed (unless the
    person already changed it in the mailbox). ``reason`` (optional) is one of
    :data:`DISMISS_REASONS`; ``never_for_person`` also mutes that person for this kind."""
    now = _now(now)
    if reason and reason not in DISMISS_REASONS:
        raise ValueError(f"the reason is one of {', '.join(DISMISS_REASONS)}")
    s = get_suggestion(session, owner_id, suggestion_id)
    if s.status == "dismissed":
        return s
    _live(s, "dismiss")
    log = _before(session, s)
    retire(session, s, "dismissed", now=now, final="dismissed", ready_at=_writes_at(now))
    if reason == "never_for_person":
        log.mute_id = _mute(session, s, now)
    details = {"reason": reason} if reason else None
    if add_feedback(session, s, "dismissed", now=now, source=source, details=details):
        log.feedback.append("dismissed")
    _log(session, s, "dismiss", log, source=source, batch=batch, now=now)
    return s


def mutes(session: Session, owner_id: int) -> list[Mute]:
    """The owner's "never for this person" choices, newest first."""
    return list(
        session.scalars(
            select(Mute).where(Mute.owner_id == owner_id).order_by(Mute.created_at.desc())
        )
    )


def unmute(session: Session, owner_id: int, mute_id: int) -> None:
    row = session.get(Mute, mute_id)
    if row is None or row.owner_id != owner_id:
        raise NotFound(f"no mute {mute_id}")
    session.delete(row)
    session.flush()


def new_batch() -> str:
    """An id shared by the actions of one bulk action (undone together)."""
    return uuid.uuid4().hex


def batch_after(session: Session, owner_id: int, *, now: datetime) -> tuple[str, int] | None:
    """The last undoable batch and how many seconds are left to undo it (for the page)."""
    last = last_batch(session, owner_id, now=now)
    if last is None:
        return None
    return last.batch, max(0, int((last.undo_until - now).total_seconds()))
