"""When a live suggestion no longer makes sense (pure): the owner replied by hand, the
meeting was cancelled, the promise was kept, the silence ended."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rapportd.agent.suggest.promise_rules import (
    owner_wrote_in_thread_after,
    they_wrote_in_thread_after,
)
from rapportd.agent.suggest.rules import wrote_to_since
from rapportd.agent.suggest.snapshot import Snapshot

DONE_STATES = frozenset({"kept", "answered", "void"})


@dataclass(frozen=True)
class Live:
    """What moot checks need of a stored suggestion."""

    kind: str
    tag: str
    to_addrs: tuple[str, ...] = ()
    contact_id: int | None = None
    commitment_id: int | None = None
    event_id: int | None = None
    baseline_at: datetime | None = None  # the silence / request the suggestion answers


def moot_reason(live: Live, snap: Snapshot) -> str | None:
    """Why ``live`` is moot now, or None. Unknown facts (an event outside the snapshot's
    window) never make a suggestion moot."""
    if live.kind == "thank_you":
        meeting = next((m for m in snap.meetings if m.id == live.event_id), None)
        if meeting is None:
            return None
        if meeting.deleted or meeting.status == "cancelled":
            return "the meeting was cancelled"
        if meeting.self_response == "declined":
            return "you declined the meeting"
        if wrote_to_since(snap, set(live.to_addrs), meeting.start, ignore_tag=live.tag):
            return "you already wrote to them"
        return None
    if live.kind in ("promise_hold", "promise_follow_up", "reply_needed", "nudge"):
        promise = next((p for p in snap.promises if p.id == live.commitment_id), None)
        if promise is None:
            return "the promise or request is gone"
        if promise.state in DONE_STATES:
            return f"it was {promise.state}"
        if (
            live.kind == "reply_needed"
            and live.baseline_at is not None
            and owner_wrote_in_thread_after(snap, promise.thread_id, live.baseline_at, live.tag)
        ):
            return "you replied"
        if (
            live.kind == "nudge"
            and live.baseline_at is not None
            and any(
                they_wrote_in_thread_after(
                    snap,
                    promise.thread_id,
                    a,
                    live.baseline_at,
                    anywhere=promise.kind == "request",
                )
                for a in live.to_addrs
            )
        ):
            return "they wrote back"
        return None
    if live.kind in ("check_in", "reconnect_hold"):
        contact = snap.contacts.get(live.contact_id) if live.contact_id is not None else None
        if contact is None:
            return None
        last = contact.last_interaction_at
        if last is not None and live.baseline_at is not None and last > live.baseline_at:
            return "you were in touch since"
        return None
    return None
