"""Actors on the embedded broker: transient errors retry with back-off, permanent ones do not."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import dramatiq
import pytest
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.errors import PermanentError, RetryLater
from rapportd.agent.store.models import Account
from rapportd.jobs import broker as jobs_broker
from rapportd.jobs import runtime, tasks
from rapportd.jobs.actors import declare_actors, enqueuer

from .helpers import Scripted, add_account, add_owner, make_parts, syncing


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[dramatiq.Broker]:
    monkeypatch.setattr(jobs_broker, "MIN_BACKOFF_MS", 10)
    b = jobs_broker.make_broker("embedded")
    for mw in b.middleware:
        if type(mw).__name__ == "Retries":
            mw.min_backoff = 10  # type: ignore[attr-defined]
            mw.max_backoff = 50  # type: ignore[attr-defined]
    declare_actors(b)
    worker = dramatiq.Worker(b, worker_threads=2, worker_timeout=50)
    worker.start()
    yield b
    worker.stop()
    b.close()


def test_transient_errors_retry_until_the_sync_succeeds(
    stub: dramatiq.Broker, sessions: sessionmaker[Session], make_runtime: Any
) -> None:
    acc = add_account(sessions, add_owner(sessions))
    attempts: list[int] = []

    def flaky(_i: int) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RetryLater("503", retry_after=0.01)

    runtime.install(
        make_runtime(make_parts(sync_account=syncing(Scripted(flaky))), enqueue=enqueuer(stub))
    )
    enqueuer(stub)(tasks.SYNC, acc)
    stub.join("sync", timeout=10_000)  # type: ignore[attr-defined]
    assert len(attempts) == 3
    with sessions() as s:
        row = s.get(Account, acc)
        assert row is not None and row.consecutive_errors == 0 and row.sync_lease_owner is None
        assert row.last_sync_at is not None  # the third attempt synced


def test_permanent_errors_are_recorded_and_not_retried(
    stub: dramatiq.Broker, sessions: sessionmaker[Session], make_runtime: Any
) -> None:
    acc = add_account(sessions, add_owner(sessions))
    attempts: list[int] = []

    def broken(_i: int) -> None:
        attempts.append(1)
        raise PermanentError("400 invalid query")

    runtime.install(
        make_runtime(make_parts(sync_account=syncing(Scripted(broken))), enqueue=enqueuer(stub))
    )
    enqueuer(stub)(tasks.SYNC, acc)
    stub.join("sync", timeout=10_000)  # type: ignore[attr-defined]
    assert len(attempts) == 1
    with sessions() as s:
        row = s.get(Account, acc)
        assert row is not None and row.status == "error" and "400" in row.last_error


def test_an_unexpected_bug_is_not_retried(
    stub: dramatiq.Broker, sessions: sessionmaker[Session], make_runtime: Any
) -> None:
    owner = add_owner(sessions)
    attempts: list[int] = []

    def bug(*_a: Any, **_k: Any) -> None:
        attempts.append(1)
        raise KeyError("oops")

    runtime.install(make_runtime(make_parts(plan_owner=bug), enqueue=enqueuer(stub)))
    enqueuer(stub)(tasks.PLAN, owner)
    stub.join("analysis", timeout=10_000)  # type: ignore[attr-defined]
    assert len(attempts) == 1
    assert len(stub.dead_letters) == 1  # type: ignore[attr-defined]


def test_an_expected_retry_is_logged_without_error_or_traceback(
    stub: dramatiq.Broker,
    sessions: sessionmaker[Session],
    make_runtime: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A RetryLater without Retry-After (an outage after the client's own retries) is
    expected: the queue retries it, nothing is logged as an ERROR with a traceback."""
    acc = add_account(sessions, add_owner(sessions))
    attempts: list[int] = []

    def outage(_i: int) -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise RetryLater("messages.get: HTTP 503 backendError")

    runtime.install(
        make_runtime(make_parts(sync_account=syncing(Scripted(outage))), enqueue=enqueuer(stub))
    )
    with caplog.at_level("DEBUG"):
        enqueuer(stub)(tasks.SYNC, acc)
        stub.join("sync", timeout=10_000)  # type: ignore[attr-defined]
    assert len(attempts) == 3
    loud = [r for r in caplog.records if r.levelno >= 40 or r.exc_info]
    assert loud == [], [r.getMessage() for r in loud]
