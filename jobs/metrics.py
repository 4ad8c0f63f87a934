"""Prometheus metrics: what the daemon did (counters) and how the store looks (gauges).

Counters live in the process that does the work (tasks, push endpoints). Gauges that
describe the whole deployment (sync lag per account, outbox states, quota spent, queue
depth) are computed from the database and the broker at scrape time by
:class:`StoreCollector`, so any web process can serve them for all workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rapportd.agent.core.clock import now as clock_now
from rapportd.agent.core.logs import get_logger
from rapportd.agent.store.models import Account, OutboxOperation, QuotaWindow

log = get_logger(__name__)

REGISTRY = CollectorRegistry(auto_describe=True)

TASKS = Counter(
    "rapportd_tasks_total",
    "Tasks run, by actor and outcome.",
    ["actor", "outcome"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "rapportd_errors_total",
    "Errors by kind (retry_later, reconsent, permanent, ...).",
    ["actor", "kind"],
    registry=REGISTRY,
)
TASK_SECONDS = Histogram(
    "rapportd_task_seconds",
    "Time a task took, by actor.",
    ["actor"],
    registry=REGISTRY,
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
PUSH = Counter(
    "rapportd_push_notifications_total",
    "Push notifications received, by provider and result.",
    ["provider", "result"],
    registry=REGISTRY,
)
ENQUEUED = Counter(
    "rapportd_enqueued_total",
    "Messages the scheduler enqueued, by actor.",
    ["actor"],
    registry=REGISTRY,
)


class StoreCollector(Collector):
    """Gauges read from the store (and the broker) at scrape time."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        queue_depth: Callable[[], dict[str, int]] | None = None,
        clock: Callable[[], datetime] = clock_now,
    ) -> None:
        self.factory = factory
        self.queue_depth = queue_depth
        self.clock = clock

    def collect(self) -> Iterator[Any]:
        now = self.clock()
        lag = GaugeMetricFamily(
            "rapportd_sync_lag_seconds",
            "Seconds since the account's last completed sync (-1: never synced).",
            labels=["account", "provider", "status"],
        )
        errors = GaugeMetricFamily(
            "rapportd_account_consecutive_errors",
            "Failed syncs in a row per account.",
            labels=["account"],
        )
        outbox = GaugeMetricFamily(
            "rapportd_outbox_operations", "Outbox operations by state.", labels=["state"]
        )
        quota = GaugeMetricFamily(
            "rapportd_quota_spent",
            "Quota spent in the current window, by bucket.",
            labels=["bucket"],
        )
        try:
            with self.factory() as session:
                for acc in session.execute(
                    select(
                        Account.id,
                        Account.provider,
                        Account.status,
                        Account.last_sync_at,
                        Account.consecutive_errors,
                    )
                ):
                    value = (now - acc.last_sync_at).total_seconds() if acc.last_sync_at else -1.0
                    lag.add_metric([str(acc.id), acc.provider, acc.status], value)
                    errors.add_metric([str(acc.id)], float(acc.consecutive_errors))
                for state, count in session.execute(
                    select(OutboxOperation.state, func.count()).group_by(OutboxOperation.state)
                ):
                    outbox.add_metric([state], float(count))
                latest = (
                    select(QuotaWindow.bucket, func.max(QuotaWindow.window_start).label("w"))
                    .group_by(QuotaWindow.bucket)
                    .subquery()
                )
                for bucket, spent in session.execute(
                    select(QuotaWindow.bucket, QuotaWindow.spent).join(
                        latest,
                        (latest.c.bucket == QuotaWindow.bucket)
                        & (latest.c.w == QuotaWindow.window_start),
                    )
                ):
                    quota.add_metric([bucket], float(spent))
        except Exception as exc:  # a scrape must not take the page down
            log.warning("metrics_store_unavailable", error=str(exc))
        yield from (lag, errors, outbox, quota)
        if self.queue_depth is not None:
            depth = GaugeMetricFamily(
                "rapportd_queue_depth", "Messages waiting per queue.", labels=["queue"]
            )
            try:
                for name, n in self.queue_depth().items():
                    depth.add_metric([name], float(n))
            except Exception as exc:
                log.warning("metrics_queue_unavailable", error=str(exc))
            yield depth


def metrics_registry(
    factory: sessionmaker[Session], queue_depth: Callable[[], dict[str, int]] | None = None
) -> CollectorRegistry:
    """A registry with the process counters and the store gauges."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Forward(REGISTRY))
    registry.register(StoreCollector(factory, queue_depth))
    return registry


class _Forward(Collector):
    def __init__(self, inner: CollectorRegistry) -> None:
        self.inner = inner

    def collect(self) -> Iterator[Any]:
        yield from self.inner.collect()


def metrics_route(registry: CollectorRegistry) -> Route:
    """``GET /metrics`` in Prometheus' text format."""

    def endpoint(_request: Request) -> Response:
        return Response(
            generate_latest(registry), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    return Route("/metrics", endpoint, methods=["GET"])
