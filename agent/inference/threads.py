"""Threads that wait: for the owner's reply, or for someone else's reply to the owner; and
reply latencies both ways (used by strength).

A thread is the provider's thread id; without one, the chain of In-Reply-To ids up to its
first message. Only personal mail counts: bulk and automated messages never make a thread
wait, and the owner's own notes to self are ignored.

waiting for the owner
    the last personal message came from a real person (not automated), the owner is among
    its recipients, it went to few people (at most :data:`MAX_AUDIENCE`), and it asks
    something (a question mark) or the owner has not written in the thread at all (a
    "thanks, got it" at the end of a conversation the owner took part in waits for nobody).
the owner waits
    the last message is the owner's, to at least one real person, and it asks something
    (a question mark, or the detector found a request in it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from rapportd.agent.inference.people import is_owner, message_signals
from rapportd.agent.inference.types import Msg, OwnerProfile

MAX_AUDIENCE = 5


@dataclass(frozen=True, slots=True)
class ThreadState:
    thread_id: str
    waiting: Literal["owner", "them"]
    since: datetime
    age_days: float
    subject: str
    last_message_id: int
    people: tuple[str, ...]  # the addresses the reply is owed to / expected from
    asks: bool  # the last message asks something explicitly

    def as_dict(self) -> dict[str, object]:
        return {
            "thread_id": self.thread_id,
            "waiting": self.waiting,
            "since": self.since.isoformat(),
            "age_days": round(self.age_days, 1),
            "subject": self.subject,
            "message_id": self.last_message_id,
            "people": list(self.people),
            "asks": self.asks,
        }


def thread_key(m: Msg, root_of: Mapping[str, str]) -> str:
    if m.thread_id:
        return m.thread_id
    if m.in_reply_to and m.in_reply_to in root_of:
        return root_of[m.in_reply_to]
    return m.rfc822_id or f"msg:{m.id}"


def group_threads(msgs: Sequence[Msg]) -> dict[str, list[Msg]]:
    """Messages per thread, oldest first."""
    ordered = sorted(msgs, key=lambda m: m.send_order)
    root_of: dict[str, str] = {}
    threads: dict[str, list[Msg]] = defaultdict(list)
    for m in ordered:
        k = thread_key(m, root_of)
        if m.rfc822_id:
            root_of[m.rfc822_id] = k
        threads[k].append(m)
    return dict(threads)


def _personal(m: Msg, automated: Callable[[str], bool], profile: OwnerProfile) -> bool:
    if m.direction == "self" or message_signals(m):
        return False
    return not (m.direction == "in" and (automated(m.sender) or is_owner(m.sender, profile)))


def thread_states(
    msgs: Sequence[Msg],
    profile: OwnerProfile,
    *,
    now: datetime,
    automated: Collection[str] = frozenset(),
    owner_requests: Collection[int] = frozenset(),
    threads: Mapping[str, list[Msg]] | None = None,
) -> list[ThreadState]:
    """Threads waiting for the owner or for someone else, oldest wait first. ``threads``:
    ``group_threads(msgs)`` when the caller has it already."""
    is_auto = automated.__contains__
    out: list[ThreadState] = []
    for tid, items in (group_threads(msgs) if threads is None else threads).items():
        personal = [m for m in items if _personal(m, is_auto, profile) and m.sent_at <= now]
        if not personal:
            continue
        last = personal[-1]
        age = (now - last.sent_at).total_seconds() / 86400.0
        asks = "?" in last.text
        if last.direction == "in":
            to_owner = any(is_owner(r, profile) for r in last.recipients)
            started_by_them = not any(m.direction == "out" for m in personal)
            if to_owner and len(last.recipients) <= MAX_AUDIENCE and (asks or started_by_them):
                out.append(
                    ThreadState(
                        tid, "owner", last.sent_at, age, last.subject, last.id, (last.sender,), asks
                    )
                )
        elif last.direction == "out":
            people = tuple(
                r for r in last.recipients if not is_owner(r, profile) and not is_auto(r)
            )
            if people and (asks or last.id in owner_requests):
                out.append(
                    ThreadState(tid, "them", last.sent_at, age, last.subject, last.id, people, asks)
                )
    out.sort(key=lambda t: t.since)
    return out


def reply_latencies(
    msgs: Sequence[Msg],
    profile: OwnerProfile,
    contact_of: Mapping[str, str],
    *,
    threads: Mapping[str, list[Msg]] | None = None,
) -> dict[str, tuple[list[float], list[float]]]:
    """Per contact key: (hours the owner took to answer them, hours they took to answer the
    owner). A reply is the next message in the thread from the other side. ``threads``:
    ``group_threads(msgs)`` when the caller has it already."""
    out: dict[str, tuple[list[float], list[float]]] = defaultdict(lambda: ([], []))
    for items in (group_threads(msgs) if threads is None else threads).values():
        prev: Msg | None = None
        for m in items:
            if m.direction == "self" or message_signals(m):
                continue
            if prev is not None and prev.direction != m.direction:
                hours = (m.sent_at - prev.sent_at).total_seconds() / 3600.0
                if m.direction == "out" and prev.sender in contact_of:
                    if prev.sender in m.recipients:
                        out[contact_of[prev.sender]][0].append(hours)
                elif m.direction == "in" and m.sender in contact_of and m.sender in prev.recipients:
                    out[contact_of[m.sender]][1].append(hours)
            prev = m
    return dict(out)
