"""The daemon: one process with some of the roles scheduler, worker and web.

``rapportd run`` starts all three (the embedded set-up); ``rapportd worker`` /
``scheduler`` / ``web`` start one each (the distributed set-up). Same code, other settings.

Shutdown (SIGTERM / SIGINT, or :meth:`Daemon.stop`): the scheduler stops ticking and
frees its lock; in-flight syncs stop at their next batch boundary (committed batches stay)
and every sync lease this process holds is released; the workers finish the message in
hand and the broker requeues what they had prefetched; the web server closes.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import FrameType
from typing import Any

import dramatiq
from sqlalchemy import Engine
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.routing import BaseRoute

from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.db import check_schema, open_store, session_factory, unreachable
from rapportd.connectors.sync import lease
from rapportd.jobs import runtime
from rapportd.jobs.actors import enqueuer
from rapportd.jobs.broker import queue_depth, setup_broker
from rapportd.jobs.locks import named_lock
from rapportd.jobs.metrics import metrics_registry, metrics_route
from rapportd.jobs.push import SyncTrigger, push_routes
from rapportd.jobs.push_auth import GmailPushAuth
from rapportd.jobs.recovery import Heartbeat
from rapportd.jobs.runtime import Parts, Runtime
from rapportd.jobs.scheduler import Scheduler

log = get_logger(__name__)

ROLES = ("scheduler", "worker", "web")


@dataclass
class DaemonOptions:
    roles: set[str] = field(default_factory=lambda: set(ROLES))
    workers: int | None = None  # threads; None: settings.workers
    tick_seconds: float = 2.0
    grace_seconds: float | None = None  # None: the scheduler's defaults (10 min)
    lease_seconds: float = 60.0
    web_host: str | None = None
    web_port: int | None = None  # 0: any free port
    stop_timeout: float = 30.0


class Daemon:
    def __init__(
        self,
        settings: Settings,
        options: DaemonOptions | None = None,
        *,
        parts: Parts | None = None,
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.options = options or DaemonOptions()
        unknown = self.options.roles - set(ROLES)
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)}")
        self.engine = engine or open_store(settings, check=False)
        self.factory = session_factory(self.engine)
        self.parts = parts or Parts.real()
        self.stop_event = threading.Event()
        self.broker: dramatiq.Broker | None = None
        self.worker: dramatiq.Worker | None = None
        self.scheduler: Scheduler | None = None
        self.runtime: Runtime | None = None
        self.web_server: Any = None
        self.web_url = ""
        self._threads: list[threading.Thread] = []
        self._stopped = False
        self.heartbeat: Heartbeat | None = None

    # ------------------------------------------------------------------ start
    def start(self) -> Daemon:
        try:
            check_schema(self.engine)  # refuse an old (or missing) schema, naming the command
        except (OperationalError, InterfaceError) as exc:
            raise unreachable(self.settings, exc) from None
        self.broker = setup_broker(self.settings)
        enqueue = enqueuer(self.broker)
        self.runtime = Runtime(
            settings=self.settings,
            engine=self.engine,
            session_factory=self.factory,
            parts=self.parts,
            enqueue=enqueue,
            lease_seconds=self.options.lease_seconds,
        )
        runtime.install(self.runtime)
        # this process's heartbeat: recovery frees the leases of holders that stop beating
        self.heartbeat = Heartbeat(self.factory, self.runtime.holder, self.runtime.now).start()
        roles = self.options.roles
        if "worker" in roles:
            threads = self.options.workers or self.settings.workers
            self.worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=250)
            self.worker.start()
            log.info("workers_started", threads=threads, broker=_safe(self.settings.broker))
        if "scheduler" in roles:
            lock = named_lock(self.settings, self.engine, "scheduler", ttl=30)
            self.scheduler = Scheduler(
                self.factory,
                self.settings,
                lock,
                enqueue=enqueue,
                ready_operations=self.parts.ready_operations,
                interval=self.options.tick_seconds,
                grace=(
                    timedelta(seconds=self.options.grace_seconds)
                    if self.options.grace_seconds is not None
                    else None
                ),
            )
            self._threads.append(self.scheduler.thread(self.stop_event))
        if "web" in roles:
            self._start_web(enqueue)
        return self

    def extra_routes(self, enqueue: Any) -> list[BaseRoute]:
        """/metrics and the push endpoints, mounted into the web app."""
        assert self.broker is not None
        broker = self.broker
        registry = metrics_registry(self.factory, lambda: queue_depth(broker))
        trigger = SyncTrigger(self.factory, enqueue)
        gmail_auth = GmailPushAuth.from_settings(self.settings.google)
        routes = push_routes(self.factory, trigger, enqueue=enqueue, gmail_auth=gmail_auth)
        return [metrics_route(registry), *routes]

    def _start_web(self, enqueue: Any) -> None:
        import uvicorn

        from rapportd.agent.web.app import create_app
        from rapportd.agent.web.throttle import uvicorn_proxy_options

        app = create_app(self.settings, self.factory, extra_routes=self.extra_routes(enqueue))
        host = self.options.web_host or self.settings.web_host
        port = self.settings.web_port if self.options.web_port is None else self.options.web_port
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        port = sock.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            **uvicorn_proxy_options(self.settings.web_trusted_proxies),
        )
        server = uvicorn.Server(config)
        self.web_server = server
        t = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="web", daemon=True)
        t.start()
        self._threads.append(t)
        deadline = time.monotonic() + 20
        while not server.started and t.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not server.started:
            raise RuntimeError(f"the web server did not start on {host}:{port}")
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.web_url = self.settings.base_url or f"http://{shown}:{port}"
        log.info("web_started", url=self.web_url)

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        started = self.runtime is not None  # a start that failed early has nothing to report
        if started:
            log.info("daemon_stopping")
        self.stop_event.set()
        if self.scheduler is not None:
            self.scheduler.wake.set()
        if self.runtime is not None:
            self.runtime.stopping.set()
        if self.worker is not None:
            self.worker.stop(timeout=int(self.options.stop_timeout * 1000))
        if self.runtime is not None:
            released = lease.release_all(self.factory, self.runtime.holder)
            if released:
                log.info("leases_released", count=released)
        if self.web_server is not None:
            self.web_server.should_exit = True
        for t in self._threads:
            t.join(timeout=self.options.stop_timeout)
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self.broker is not None:
            self.broker.close()
        runtime.uninstall()
        self.engine.dispose()
        if started:
            log.info("daemon_stopped")

    # ------------------------------------------------------------------ foreground
    def serve_forever(self, *, signals: Sequence[int] = (signal.SIGTERM, signal.SIGINT)) -> None:
        """Run until SIGTERM / SIGINT, then stop gracefully (a second signal exits at once)."""

        def handler(signum: int, _frame: FrameType | None) -> None:
            if self.stop_event.is_set():
                raise SystemExit(128 + signum)
            log.info("signal_received", signal=signal.Signals(signum).name)
            self.stop_event.set()

        previous = {s: signal.signal(s, handler) for s in signals}
        try:
            while not self.stop_event.wait(0.5):
                pass
        finally:
            self.stop()
            for s, h in previous.items():
                signal.signal(s, h)


def _safe(url: str) -> str:
    from rapportd.agent.core.settings import mask_url_password

    return mask_url_password(url)
