"""The dramatiq actors: thin. Each unpacks an id, calls its function in
:mod:`rapportd.jobs.tasks` with this process's :class:`~rapportd.jobs.runtime.Runtime`,
and counts the outcome. Retry policy by error class lives in :mod:`rapportd.jobs.broker`.

Actors are declared on a given broker by :func:`declare_actors` (called by
:func:`rapportd.jobs.broker.setup_broker`), so that importing this module never creates
dramatiq's default broker and a test can use its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dramatiq

from rapportd.agent.core.errors import RetryLater
from rapportd.agent.core.logs import get_logger
from rapportd.jobs import runtime, tasks
from rapportd.jobs.metrics import TASK_SECONDS, TASKS

log = get_logger(__name__)


@dataclass(frozen=True)
class ActorSpec:
    name: str
    fn: Callable[[runtime.Runtime, int], str]
    queue: str
    time_limit_s: int
    priority: int


SPECS: tuple[ActorSpec, ...] = (
    ActorSpec(tasks.WRITE, tasks.run_operation, "outbox", 120, 0),
    ActorSpec(tasks.PLAN, tasks.run_plan, "analysis", 300, 10),
    ActorSpec(tasks.ANALYSE, tasks.run_analysis, "analysis", 600, 10),
    # after analysis and plan: a worker serves the owners' analyses first and fetches more
    # mail after (back-pressure: FIFO with syncs let 50 owners' news outrun the analyses, and
    # the queue grew without bound in the 50-owner soak)
    ActorSpec(tasks.SYNC, tasks.run_sync, "sync", 1800, 20),
    ActorSpec(tasks.FATES, tasks.run_fates, "maintenance", 300, 30),
    ActorSpec(tasks.REFRESH, tasks.run_refresh, "maintenance", 60, 30),
    ActorSpec(tasks.RENEW_PUSH, tasks.run_renew_push, "maintenance", 60, 30),
    ActorSpec(tasks.ENSURE_PUSH, tasks.run_ensure_push, "maintenance", 60, 30),
)
BY_NAME = {spec.name: spec for spec in SPECS}
QUEUES = tuple(sorted({spec.queue for spec in SPECS}))


def _wrap(spec: ActorSpec) -> Callable[[int], None]:
    def perform(item_id: int) -> None:
        rt = runtime.current()
        with TASK_SECONDS.labels(spec.name).time():
            try:
                outcome = spec.fn(rt, int(item_id))
            except RetryLater as exc:
                # expected (a rate limit, an outage): one WARNING line, no traceback; the
                # queue retries it with back-off (dramatiq logs a Retry at INFO)
                TASKS.labels(spec.name, "retry").inc()
                log.warning("task_retry_later", actor=spec.name, item_id=item_id, error=str(exc))
                delay = int(exc.retry_after * 1000) if exc.retry_after is not None else None
                raise dramatiq.Retry(str(exc), delay=delay) from None
            except dramatiq.Retry:
                TASKS.labels(spec.name, "retry").inc()
                raise
            except BaseException:
                TASKS.labels(spec.name, "failed").inc()
                raise
        TASKS.labels(spec.name, outcome).inc()

    perform.__name__ = spec.name
    perform.__qualname__ = spec.name
    return perform


def declare_actors(broker: dramatiq.Broker) -> dict[str, dramatiq.Actor[Any, Any]]:
    """Declare every actor on ``broker`` (idempotent per broker)."""
    declared: dict[str, dramatiq.Actor[Any, Any]] = {}
    for spec in SPECS:
        if spec.name in broker.actors:
            declared[spec.name] = broker.actors[spec.name]
            continue
        decorate = dramatiq.actor(
            actor_name=spec.name,
            queue_name=spec.queue,
            priority=spec.priority,
            broker=broker,
            time_limit=spec.time_limit_s * 1000,
        )
        declared[spec.name] = decorate(_wrap(spec))
    return declared


def enqueuer(broker: dramatiq.Broker) -> Callable[..., None]:
    """``enqueue(actor_name, item_id)``: send a message that carries only the id."""

    def enqueue(actor_name: str, item_id: int, *, delay_ms: int | None = None) -> None:
        broker.get_actor(actor_name).send_with_options(args=(int(item_id),), delay=delay_ms)

    return enqueue
