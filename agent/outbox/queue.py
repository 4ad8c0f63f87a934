"""Putting writes in the outbox: one ``OutboxOperation`` row per write, keyed by
(owner, tag, op), so asking twice for the same write never makes two rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent.core.records import Address, DraftSpec, HoldSpec
from rapportd.agent.store.models import Message, OutboxOperation, Suggestion
from rapportd.agent.suggest.config import HOLD_KINDS
from rapportd.agent.suggest.proposal import make_tag

CREATE_OPS = ("create_draft", "create_hold")
DELETE_OP = {"create_draft": "delete_draft", "create_hold": "delete_hold"}
OPEN_STATES = ("pending", "writing", "failed")


def tag_of(s: Suggestion) -> str:
    return make_tag(s.owner_id, s.dedupe_key, s.evidence)


def create_op_name(s: Suggestion) -> str:
    return "create_hold" if s.kind in HOLD_KINDS else "create_draft"


def draft_payload(session: Session, s: Suggestion) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "to": [list(x) if isinstance(x, list | tuple) else [str(x), ""] for x in s.to_addrs],
        "subject": s.subject,
        "body": s.body,
    }
    if s.reply_to_message_id is not None:
        msg = session.get(Message, s.reply_to_message_id)
        if msg is not None:
            payload.update(
                reply_to_provider_id=msg.provider_id,
                thread_id=msg.thread_id,
                in_reply_to=msg.rfc822_id,
                references=[*(msg.references or []), msg.rfc822_id]
                if msg.rfc822_id
                else list(msg.references or []),
            )
    return payload


def hold_payload(s: Suggestion, timezone: str) -> dict[str, Any]:
    assert s.hold_start is not None and s.hold_end is not None
    return {
        "summary": s.subject,
        "description": s.body,
        "start": s.hold_start.isoformat(),
        "end": s.hold_end.isoformat(),
        "timezone": timezone,
    }


def draft_spec(tag: str, payload: dict[str, Any]) -> DraftSpec:
    return DraftSpec(
        tag=tag,
        to=[Address.of(e, n) for e, n in payload.get("to", [])],
        subject=str(payload.get("subject", "")),
        body=str(payload.get("body", "")),
        reply_to_provider_id=str(payload.get("reply_to_provider_id", "")),
        thread_id=str(payload.get("thread_id", "")),
        in_reply_to=str(payload.get("in_reply_to", "")),
        references=[str(r) for r in payload.get("references", [])],
    )


def hold_spec(tag: str, payload: dict[str, Any]) -> HoldSpec:
    return HoldSpec(
        tag=tag,
        summary=str(payload["summary"]),
        description=str(payload.get("description", "")),
        start=datetime.fromisoformat(payload["start"]),
        end=datetime.fromisoformat(payload["end"]),
        timezone=str(payload.get("timezone", "UTC")),
    )


def find_op(session: Session, s: Suggestion, op: str) -> OutboxOperation | None:
    return session.scalars(
        select(OutboxOperation).where(
            OutboxOperation.owner_id == s.owner_id,
            OutboxOperation.tag == tag_of(s),
            OutboxOperation.op == op,
        )
    ).first()


def create_op(session: Session, s: Suggestion) -> OutboxOperation | None:
    return find_op(session, s, create_op_name(s))


def enqueue(
    session: Session,
    s: Suggestion,
    op: str,
    *,
    now: datetime,
    payload: dict[str, Any] | None = None,
    ready_at: datetime | None = None,
) -> OutboxOperation:
    """The op row for this write of ``s``; an existing one is re-armed, never duplicated."""
    assert s.account_id is not None, "a suggestion needs an account before it is written"
    row = find_op(session, s, op)
    if row is None:
        row = OutboxOperation(
            owner_id=s.owner_id,
            suggestion_id=s.id,
            account_id=s.account_id,
            op=op,
            tag=tag_of(s),
            state="pending",
            payload=payload or {},
            ready_at=ready_at or now,
            scheduled_at=ready_at or now,
            created_at=now,
        )
        session.add(row)
    elif row.state not in ("pending", "writing"):
        # re-arm a finished or failed op (a second edit, a retried delete)
        row.state = "pending"
        row.attempts = 0
        row.last_error = ""
        row.payload = payload if payload is not None else row.payload
        row.ready_at = row.scheduled_at = ready_at or now
    elif payload is not None and row.state == "pending":
        row.payload = payload
    session.flush()
    return row
