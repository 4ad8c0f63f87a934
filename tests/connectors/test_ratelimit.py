"""The limiter never spends more than the limit in any sliding window, shared across workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.agent.core.errors import CursorExpired, PermanentError, ReconsentNeeded, RetryLater
from rapportd.agent.store.db import session_factory
from rapportd.connectors.errors import from_oauth, from_status
from rapportd.connectors.ratelimit import DbLimiter, MemoryLimiter


class FakeTime:
    def __init__(self) -> None:
        self.t = 1000.0

    def clock(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=1, max_value=300), min_size=1, max_size=60))
def test_memory_limiter_sliding_window(spends: list[int]) -> None:
    ft = FakeTime()
    lim = MemoryLimiter(clock=ft.clock, sleep=ft.sleep)
    log = []
    for units in spends:
        lim.acquire("b", units, 600, 60.0)
        log.append((ft.t, units))
    for t, _ in log:
        assert sum(u for s, u in log if t - 60 < s <= t) <= 600


def test_db_limiter_shares_the_budget(sqlite_engine: Any) -> None:
    now = [datetime(2026, 1, 1, tzinfo=UTC)]

    def sleep(s: float) -> None:
        now[0] += timedelta(seconds=s)

    sessions = session_factory(sqlite_engine)
    a = DbLimiter(sessions, clock=lambda: now[0], sleep=sleep)
    b = DbLimiter(sessions, clock=lambda: now[0], sleep=sleep)  # another worker process
    spent = []
    for i in range(40):
        (a if i % 2 else b).acquire("gmail:1", 250, 6000, 60.0)
        spent.append((now[0], 250))
    for t, _ in spent:
        assert sum(u for s, u in spent if t - timedelta(seconds=60) < s <= t) <= 6000
    assert now[0] - datetime(2026, 1, 1, tzinfo=UTC) >= timedelta(seconds=60)  # it had to wait
    a.pause("gmail:1", 5)
    before = now[0]
    b.acquire("gmail:1", 1, 6000, 60.0)
    assert now[0] - before >= timedelta(seconds=5)


def test_error_translation() -> None:
    assert isinstance(from_status(429, b"{}", retry_after="7"), RetryLater)
    assert from_status(429, b"{}", retry_after="7").retry_after == 7  # type: ignore[attr-defined]
    body = b'{"error": {"code": 403, "errors": [{"reason": "userRateLimitExceeded"}]}}'
    assert isinstance(from_status(403, body), RetryLater)
    assert isinstance(
        from_status(403, b'{"error": {"errors": [{"reason": "forbidden"}]}}'), PermanentError
    )
    assert isinstance(from_status(410, b'{"error": {"code": "syncStateNotFound"}}'), CursorExpired)
    assert isinstance(from_status(404, b"{}"), type(from_status(404, b"{}")))
    assert isinstance(from_oauth({"error": "invalid_grant"}), ReconsentNeeded)
    assert isinstance(from_oauth({"error": "interaction_required"}), ReconsentNeeded)
    assert isinstance(from_status(503, b"not json"), RetryLater)
