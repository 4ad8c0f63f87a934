"""The message broker, chosen by ``settings.broker``.

``embedded``
    dramatiq's in-memory :class:`~dramatiq.brokers.stub.StubBroker`, consumed by an
    in-process :class:`dramatiq.Worker` (threads). No service needed; a crash loses the
    queue, which is fine because the queue only wakes work up: the scheduler re-derives
    what is due from the database.
``redis://…`` / ``rediss://…``
    :class:`~dramatiq.brokers.redis.RedisBroker` (namespace ``rapportd``).
``amqp://…`` / ``amqps://…``
    :class:`~dramatiq.brokers.rabbitmq.RabbitmqBroker` with publisher confirms.

Retries: only transient errors retry (:func:`is_transient`), with exponential back-off
(or the provider's ``Retry-After``, passed on as :class:`dramatiq.Retry` ``delay``).
Results are not kept.
"""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import (
    AgeLimit,
    Callbacks,
    Pipelines,
    Retries,
    ShutdownNotifications,
    TimeLimit,
    TimeLimitExceeded,
)
from sqlalchemy.exc import OperationalError

from rapportd.agent.core.errors import ConfigError, RetryLater
from rapportd.agent.core.settings import Settings, mask_url_password

MAX_RETRIES = 6
MIN_BACKOFF_MS = 2_000
MAX_BACKOFF_MS = 10 * 60_000
REDIS_NAMESPACE = "rapportd"


def is_transient(exc: BaseException) -> bool:
    """Worth another try later: rate limits, dropped connections, a busy database, a timeout."""
    return isinstance(exc, RetryLater | dramatiq.Retry | TimeLimitExceeded | OperationalError)


def should_retry(retries: int, exc: BaseException) -> bool:
    """dramatiq's ``retry_when``: transient errors, a bounded number of times."""
    return retries < MAX_RETRIES and is_transient(exc)


def middleware() -> list[Any]:
    return [
        AgeLimit(),
        TimeLimit(),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(
            max_retries=MAX_RETRIES,
            min_backoff=MIN_BACKOFF_MS,
            max_backoff=MAX_BACKOFF_MS,
            retry_when=should_retry,
        ),
    ]


# Per million Redis commands, how many also requeue the messages a dead worker had taken
# (its heartbeat older than a minute). dramatiq's default, 1,000, is one command in a
# thousand: with a few idle workers polling every few seconds, a plan or analysis held by a
# killed worker waited many minutes (a distributed test saw an owner analysed and never
# planned within three minutes). One in a hundred costs a short Lua script now and then.
REDIS_MAINTENANCE_CHANCE = 10_000


def make_broker(url: str) -> dramatiq.Broker:
    """A new broker for ``url`` (``embedded`` or a redis/amqp URL), not yet global."""
    if url == "embedded":
        return StubBroker(middleware=middleware(), fail_fast_default=False)
    if url.startswith(("redis://", "rediss://")):
        from dramatiq.brokers.redis import RedisBroker

        return RedisBroker(
            url=url,
            namespace=REDIS_NAMESPACE,
            middleware=middleware(),
            maintenance_chance=REDIS_MAINTENANCE_CHANCE,
        )
    if url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=url, confirm_delivery=True, middleware=middleware())
    raise ValueError(f"unknown broker {url!r}")


def check_reachable(broker: dramatiq.Broker, url: str) -> None:
    """Connect once now, so an unreachable broker is one line naming the setting at start-up
    (not a traceback from a worker thread later)."""
    if isinstance(broker, StubBroker):
        return
    pika_log = logging.getLogger("pika")
    level = pika_log.level
    pika_log.setLevel(logging.CRITICAL)  # pika logs each failed attempt as an error
    try:
        if hasattr(broker, "client"):  # Redis
            broker.client.ping()
        else:  # RabbitMQ: opening the connection is the check
            _ = broker.connection  # type: ignore[attr-defined]
    except Exception as exc:
        text = str(exc).strip() or (repr(exc.args[0]) if exc.args else type(exc).__name__)
        reason = text.splitlines()[0]
        raise ConfigError(
            f"setting broker (RAPPORTD_BROKER): cannot reach the broker at "
            f"{mask_url_password(url)}: {reason}"
        ) from None
    finally:
        pika_log.setLevel(level)


def setup_broker(settings: Settings) -> dramatiq.Broker:
    """Make the broker the settings name, make it dramatiq's global one, declare the actors."""
    from rapportd.jobs.actors import declare_actors

    broker = make_broker(settings.broker)
    check_reachable(broker, settings.broker)
    dramatiq.set_broker(broker)
    declare_actors(broker)
    return broker


def queue_depth(broker: dramatiq.Broker) -> dict[str, int]:
    """Messages waiting per queue (delay queues included), for /metrics. Best effort."""
    depths: dict[str, int] = {}
    queues = sorted(broker.get_declared_queues() | broker.get_declared_delay_queues())
    if isinstance(broker, StubBroker):
        for name in queues:
            depths[name] = broker.queues[name].qsize()
        return depths
    try:
        from dramatiq.brokers.redis import RedisBroker

        if isinstance(broker, RedisBroker):
            for name in queues:
                depths[name] = int(broker.client.llen(f"{broker.namespace}:{name}"))
            return depths
    except ImportError:  # pragma: no cover - extras are declared
        pass
    try:
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        if isinstance(broker, RabbitmqBroker):
            for name in queues:
                depths[name] = int(broker.get_queue_message_counts(name)[0])
    except ImportError:  # pragma: no cover
        pass
    return depths
