"""An in-memory Connector (the agent/core/records.Connector protocol) for the outbox tests.

It keeps drafts and holds like a mailbox and a calendar would, lets a test play the person
("sent it", "edited it", "deleted it", "confirmed / moved / deleted the hold"), and has a
crash switch: ``crash_at`` names points ("before_create", "after_create", "before_delete",
"after_delete") where it raises :class:`Crash` (a BaseException, like a killed process).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import datetime

from rapportd.agent.core.errors import Conflict, NotFound, NotOurs
from rapportd.agent.core.records import (
    CursorState,
    DraftSpec,
    HoldSpec,
    ItemState,
    SyncBatch,
    draft_hash,
    hold_hash,
)


class Crash(BaseException):
    """A simulated process death."""


@dataclass
class FakeDraft:
    id: str
    spec: DraftSpec
    status: str = "draft"  # draft | sent | deleted


@dataclass
class FakeHold:
    id: str
    spec: HoldSpec
    status: str = "tentative"  # tentative | confirmed | cancelled


@dataclass
class FakeConnector:
    provider: str = "fake"
    streams: tuple[str, ...] = ()
    drafts: dict[str, FakeDraft] = field(default_factory=dict)
    holds: dict[str, FakeHold] = field(default_factory=dict)
    crash_at: set[str] = field(default_factory=set)
    fail_next: list[Exception] = field(default_factory=list)
    create_delay: float = 0.0
    calls: list[str] = field(default_factory=list)
    busy_slots: list[tuple[datetime, datetime]] = field(default_factory=list)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- helpers -----------------------------------------------------------------------
    def _point(self, name: str) -> None:
        if name in self.crash_at:
            self.crash_at.discard(name)  # crash once, like a process that is restarted
            raise Crash(name)

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    def live_drafts(self, tag: str | None = None) -> list[FakeDraft]:
        return [
            d
            for d in self.drafts.values()
            if d.status == "draft" and (tag is None or d.spec.tag == tag)
        ]

    def live_holds(self, tag: str | None = None) -> list[FakeHold]:
        return [
            h
            for h in self.holds.values()
            if h.status != "cancelled" and (tag is None or h.spec.tag == tag)
        ]

    def _draft_state(self, d: FakeDraft) -> ItemState:
        return ItemState(
            provider_id=d.id,
            exists=d.status != "deleted",
            content_hash=draft_hash(d.spec),
            thread_id=d.spec.thread_id,
            status=d.status,
            tag=d.spec.tag,
        )

    def _hold_state(self, h: FakeHold) -> ItemState:
        return ItemState(
            provider_id=h.id,
            exists=h.status != "cancelled",
            content_hash=hold_hash(h.spec),
            status=h.status,
            tag=h.spec.tag,
            start=h.spec.start,
            end=h.spec.end,
        )

    # --- the person ------------------------------------------------------------------
    def person_edits(self, tag: str, body: str) -> None:
        d = self.live_drafts(tag)[0]
        d.spec = replace(d.spec, body=body)

    def person_sends(self, tag: str, body: str | None = None) -> None:
        d = self.live_drafts(tag)[0]
        if body is not None:
            d.spec = replace(d.spec, body=body)
        d.status = "sent"

    def person_deletes_draft(self, tag: str) -> None:
        self.live_drafts(tag)[0].status = "deleted"

    def person_confirms(self, tag: str) -> None:
        self.live_holds(tag)[0].status = "confirmed"

    def person_moves(self, tag: str, start: datetime, end: datetime) -> None:
        h = self.live_holds(tag)[0]
        h.spec = replace(h.spec, start=start, end=end)

    def person_deletes_hold(self, tag: str) -> None:
        self.live_holds(tag)[0].status = "cancelled"

    # --- Connector protocol ----------------------------------------------------------
    def sync(self, stream: str, state: CursorState | None) -> Iterator[SyncBatch]:
        return iter(())

    def find_draft(self, tag: str) -> ItemState | None:
        self.calls.append("find_draft")
        self._maybe_fail()
        found = self.live_drafts(tag)
        return self._draft_state(found[0]) if found else None

    def create_draft(self, spec: DraftSpec) -> ItemState:
        self.calls.append("create_draft")
        self._maybe_fail()
        self._point("before_create")
        if self.create_delay:
            time.sleep(self.create_delay)
        with self._lock:
            d = FakeDraft(id=f"d{next(self._ids)}", spec=spec)
            self.drafts[d.id] = d
        self._point("after_create")
        return self._draft_state(d)

    # Hooks that run just before a write, after the outbox looked: a person acting in between.
    before_write: list[Callable[[], None]] = field(default_factory=list)

    def _person_in_between(self) -> None:
        while self.before_write:
            self.before_write.pop(0)()

    def _check_hash(self, current: str, expected_hash: str | None) -> None:
        if expected_hash is not None and current != expected_hash:
            raise Conflict("changed by the person since rapportd wrote it")

    def _check_ours(self, on_item: str, tag: str) -> None:
        if on_item != tag:
            raise NotOurs(f"carries {on_item!r}, not {tag!r}")

    def update_draft(
        self, provider_id: str, spec: DraftSpec, *, expected_hash: str | None = None
    ) -> ItemState:
        self.calls.append("update_draft")
        self._maybe_fail()
        self._person_in_between()
        d = self.drafts.get(provider_id)
        if d is None or d.status != "draft":
            raise NotFound(provider_id)
        self._check_ours(d.spec.tag, spec.tag)
        self._check_hash(draft_hash(d.spec), expected_hash)
        d.spec = spec
        return self._draft_state(d)

    def delete_draft(self, provider_id: str, *, tag: str, expected_hash: str | None = None) -> None:
        self.calls.append("delete_draft")
        self._maybe_fail()
        self._point("before_delete")
        self._person_in_between()
        d = self.drafts.get(provider_id)
        if d is None or d.status != "draft":
            raise NotFound(provider_id)
        self._check_ours(d.spec.tag, tag)
        self._check_hash(draft_hash(d.spec), expected_hash)
        d.status = "deleted"
        self._point("after_delete")

    def draft_state(self, provider_id: str, tag: str) -> ItemState:
        self.calls.append("draft_state")
        self._maybe_fail()
        d = self.drafts.get(provider_id)
        if d is None:
            return ItemState(provider_id=provider_id, exists=False, status="deleted")
        return self._draft_state(d)

    def find_hold(self, tag: str) -> ItemState | None:
        self.calls.append("find_hold")
        self._maybe_fail()
        found = self.live_holds(tag)
        return self._hold_state(found[0]) if found else None

    def create_hold(self, spec: HoldSpec) -> ItemState:
        self.calls.append("create_hold")
        self._maybe_fail()
        self._point("before_create")
        if self.create_delay:
            time.sleep(self.create_delay)
        with self._lock:
            h = FakeHold(id=f"h{next(self._ids)}", spec=spec)
            self.holds[h.id] = h
        self._point("after_create")
        return self._hold_state(h)

    def confirm_hold(self, provider_id: str, *, tag: str) -> ItemState:
        self.calls.append("confirm_hold")
        self._maybe_fail()
        h = self.holds.get(provider_id)
        if h is None or h.status == "cancelled":
            raise NotFound(provider_id)
        self._check_ours(h.spec.tag, tag)
        h.status = "confirmed"
        return self._hold_state(h)

    def delete_hold(self, provider_id: str, *, tag: str, expected_hash: str | None = None) -> None:
        self.calls.append("delete_hold")
        self._maybe_fail()
        self._point("before_delete")
        self._person_in_between()
        h = self.holds.get(provider_id)
        if h is None or h.status == "cancelled":
            raise NotFound(provider_id)
        self._check_ours(h.spec.tag, tag)
        self._check_hash(hold_hash(h.spec), expected_hash)
        h.status = "cancelled"
        self._point("after_delete")

    def hold_state(self, provider_id: str, tag: str) -> ItemState:
        self.calls.append("hold_state")
        self._maybe_fail()
        h = self.holds.get(provider_id)
        if h is None:
            return ItemState(provider_id=provider_id, exists=False, status="cancelled")
        return self._hold_state(h)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        return [(s, e) for s, e in self.busy_slots if s < end and e > start]
