"""Recent first (issue 18): an owner whose every stream has its recent window in, but not its
whole backfill, is analysed and planned for the window's kinds only, each suggestion marked
as based on the window; while even one stream's recent window is not in, nothing is
analysed or planned. Real parts against the sandbox (one owner, a Gmail and an Outlook
account, generated mail and meetings); the backfill is left unfinished the way a shutdown
leaves it (the sync stops at the next batch once the recent windows asked for an analysis).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from rapportd.agent.store.models import Message, Suggestion, SyncCursor
from rapportd.agent.store.sync_status import (
    WINDOW_KINDS,
    sync_scope,
    unfinished_streams,
    waiting_text,
)
from rapportd.connectors.google import client as google_client
from rapportd.connectors.microsoft import client as graph_client
from rapportd.connectors.sandbox.faults import Fault
from rapportd.jobs import tasks
from rapportd.jobs.runtime import Parts, Runtime
from tests.reliability.harness import rig, scenario

WINDOW = 14


class StopOnAnalysis:
    """The queue: records messages; an analysis asked for mid-sync stops that sync (as a
    shutdown would), which leaves the rest of its backfill unfinished."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, int]] = []
        self.rt: Runtime | None = None
        self.stop_syncs = True

    def __call__(self, actor: str, item: int, **_kw: Any) -> None:
        self.sent.append((actor, item))
        if actor == tasks.ANALYSE and self.stop_syncs and self.rt is not None:
            self.rt.stopping.set()


def _suggestions(rt: Runtime, owner_id: int) -> list[Suggestion]:
    with rt.session_factory() as session:
        return list(session.scalars(select(Suggestion).where(Suggestion.owner_id == owner_id)))


def _sync(rt: Runtime, account_id: int) -> str:
    rt.stopping.clear()
    return tasks.run_sync(rt, account_id)


def test_recent_windows_first_then_the_whole_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(google_client, "backoff", lambda *_a, **_k: 0.0)
    monkeypatch.setattr(graph_client, "backoff", lambda *_a, **_k: 0.0)
    data, truth = scenario(11, days=60)
    queue = StopOnAnalysis()
    with rig(tmp_path, data, truth, microsoft=True, sync={"recent_days": WINDOW}) as r:
        rt = Runtime(
            settings=r.settings,
            engine=r.engine,
            session_factory=r.factory,
            parts=Parts.real(),
            enqueue=queue,
        )
        queue.rt = rt
        owner_id = r.owners[0]
        google_id, ms_id = r.accounts

        # 1. Gmail and Google Calendar have their last 14 days; Outlook has nothing yet
        assert _sync(rt, google_id) == "interrupted"
        assert (tasks.ANALYSE, owner_id) in queue.sent
        with rt.session_factory() as session:
            waits = unfinished_streams(session, owner_id, account_id=google_id)
            assert {w.stream for w in waits} == {"gmail", "gcal"}
            assert all(w.recent_done for w in waits)
            assert waiting_text(waits, window_days=WINDOW) == (
                "last 14 days synced; older history: syncing"
            )
            assert sync_scope(session, owner_id, window_days=WINDOW) == "waiting"
        assert tasks.run_analysis(rt, owner_id) == "waiting_first_sync"
        assert tasks.run_plan(rt, owner_id) == "waiting_first_sync"

        # 2. Outlook's mail has its window, its calendar keeps failing: still nothing
        storm = r.sandbox.faults.add(Fault("503", endpoint="graph.events.delta"))
        with pytest.raises(Exception, match="503"):
            queue.stop_syncs = False
            _sync(rt, ms_id)
        queue.stop_syncs = True
        r.sandbox.faults.remove(storm.id)
        with rt.session_factory() as session:
            cursors = {
                c.stream: c
                for c in session.scalars(select(SyncCursor).where(SyncCursor.account_id == ms_id))
            }
            assert cursors["graph_inbox"].recent_complete_at is not None
            assert cursors["graph_calendar"].recent_complete_at is None
            text = waiting_text(
                unfinished_streams(session, owner_id, account_id=ms_id), window_days=WINDOW
            )
            assert "waiting for the Outlook calendar to finish (retrying:" in text
        assert tasks.run_analysis(rt, owner_id) == "waiting_first_sync"
        assert tasks.run_plan(rt, owner_id) == "waiting_first_sync"
        assert _suggestions(rt, owner_id) == []

        # 3. every stream's window is in, no backfill is: the window's kinds are planned
        assert _sync(rt, ms_id) == "interrupted"
        with rt.session_factory() as session:
            assert sync_scope(session, owner_id, window_days=WINDOW) == "recent"
            stored = session.scalar(select(func.count()).select_from(Message)) or 0
        total = sum(len(a.mailbox.messages) for a in r.sandbox.accounts.values())
        assert stored < total  # the older history is not synced yet
        assert tasks.run_analysis(rt, owner_id) == "ok"
        assert tasks.run_plan(rt, owner_id) == "ok"
        first = _suggestions(rt, owner_id)
        assert first, "the window supports some suggestion"
        assert {s.kind for s in first} <= set(WINDOW_KINDS)
        assert all((s.reasons or {}).get("window_days") == WINDOW for s in first)

        # 4. the backfills finish: the full rule, every message once
        queue.stop_syncs = False
        for account_id in (google_id, ms_id):
            assert _sync(rt, account_id) == "ok"
        with rt.session_factory() as session:
            assert sync_scope(session, owner_id, window_days=WINDOW) == "full"
            assert unfinished_streams(session, owner_id) == []
            after = session.scalar(select(func.count()).select_from(Message)) or 0
        assert after > stored  # the older history came (every message once: tests/connectors)
        assert tasks.run_analysis(rt, owner_id) == "ok"
        assert tasks.run_plan(rt, owner_id) == "ok"
        later = {s.id: s for s in _suggestions(rt, owner_id)}
        for s in first:  # what the window planned stays, marked as it was made
            assert later[s.id].reasons.get("window_days") == WINDOW
        for s in later.values():
            if s.id not in {f.id for f in first}:
                assert "window_days" not in (s.reasons or {})
