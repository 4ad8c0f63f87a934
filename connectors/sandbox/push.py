"""Push channels' shared state and the delivery worker.

Both providers can push changes to an HTTP endpoint instead of being polled:

- Gmail: ``users.watch`` publishes ``{"emailAddress", "historyId"}`` to a Cloud Pub/Sub
  topic on every mailbox change, and Pub/Sub POSTs each message to the push endpoint of
  every subscription of that topic (:mod:`pubsub`).
- Microsoft Graph: a subscription (``POST /v1.0/subscriptions``) makes Graph POST change
  notifications to the subscriber's ``notificationUrl`` (:mod:`graph_subscriptions`).

Neither service pushes inside the request that caused the change: pushes leave later, from
Google's or Microsoft's machines, and are retried when the endpoint fails. The sandbox
mirrors that with one :class:`Deliverer` per sandbox: a daemon thread (started on the
first push, gone again after a minute idle) that takes jobs from a queue and POSTs them
with httpx, never holding ``sandbox.lock``, so the receiver may call the sandbox back at
once. Every delivery is recorded (:class:`DeliveryRecord`, ``GET /_sandbox/pubsub/deliveries``).
Tests wait for the queue with ``sandbox.flush_deliveries()``.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from rapportd.connectors.sandbox.state import EventListener, MailListener, Sandbox

TIMEOUT = 5.0  # seconds per attempt
BACKOFF = (0.2, 0.5)  # sleeps between the (at most 3) attempts
IDLE_EXIT = 60.0  # the worker thread ends after this long without work
PUBSUB_ACK = frozenset({102, 200, 201, 202, 204})  # what Pub/Sub counts as an ack
_TOKEN_QUERY = re.compile(r"(?<=[?&]token=)[^&#]*")


def mask_endpoint(url: str) -> str:
    """``url`` with any ``token=`` query value replaced by ``***`` (for the delivery log)."""
    return _TOKEN_QUERY.sub("***", url)


# --------------------------------------------------------------------------- channel state
@dataclass
class GmailWatch:
    """One mailbox's ``users.watch`` (a second watch call replaces it)."""

    address: str
    topic: str
    label_ids: frozenset[str]
    behavior: str  # include | exclude (meaningful only with label_ids)
    expiration: datetime


@dataclass
class PubSubSubscription:
    """A push subscription of the Pub/Sub stand-in."""

    name: str
    topic: str
    push_endpoint: str
    audience: str  # "" when the push is not authenticated
    service_account: str


@dataclass
class GraphSubscription:
    """A Graph change-notification subscription (owned by one account)."""

    id: str
    address: str
    resource: str  # as the subscriber wrote it (Graph echoes it back)
    target: str  # "messages" | "events"
    folder: str | None  # mail folder of a folder resource, None for all mail / events
    change_types: frozenset[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expiration: datetime
    immutable_ids: bool  # created with Prefer: IdType="ImmutableId"
    application_id: str
    created_at: datetime


@dataclass
class DeliveryRecord:
    endpoint: str  # masked
    kind: str  # pubsub | graph | graph-lifecycle
    status: int | str  # the last HTTP status, or the error's class name
    attempts: int
    at: datetime  # sandbox time when the delivery ended

    def as_json(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "kind": self.kind,
            "status": self.status,
            "attempts": self.attempts,
            "at": self.at.isoformat(),
        }


@dataclass
class Job:
    """One POST to make. ``headers`` is called in the worker, right before sending (so a
    signed token is fresh and signing never happens under the sandbox lock)."""

    url: str
    kind: str
    body: dict[str, Any]
    headers: Callable[[], dict[str, str]]
    ok: Callable[[int], bool]
    future: Future[int | str] = field(default_factory=Future)


# --------------------------------------------------------------------------- delivery
class Deliverer:
    """A queue and a lazily started daemon thread that POSTs its jobs, with retries."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.records: list[DeliveryRecord] = []
        self._queue: queue.Queue[Job] = queue.Queue()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._pending = 0
        self._thread: threading.Thread | None = None

    def submit(self, job: Job) -> Future[int | str]:
        """Queue ``job``; its future resolves to the final status once it was attempted."""
        with self._lock:
            self._pending += 1
            self._queue.put(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, daemon=True, name="rapportd-sandbox-push"
                )
                self._thread.start()
        return job.future

    def flush(self, timeout: float = 10) -> None:
        """Wait until every submitted job was attempted (TimeoutError otherwise)."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, timeout):
                raise TimeoutError(f"{self._pending} push deliveries still pending")

    def _run(self) -> None:
        with httpx.Client(timeout=TIMEOUT, trust_env=False) as client:
            while True:
                try:
                    job = self._queue.get(timeout=IDLE_EXIT)
                except queue.Empty:
                    with self._lock:
                        if self._queue.empty():
                            self._thread = None
                            return
                    continue
                try:
                    self._deliver(client, job)
                finally:
                    with self._idle:
                        self._pending -= 1
                        self._idle.notify_all()

    def _deliver(self, client: httpx.Client, job: Job) -> None:
        status: int | str = "NotAttempted"
        attempts = 0
        for attempts in range(1, len(BACKOFF) + 2):
            try:
                resp = client.post(job.url, json=job.body, headers=job.headers())
                status = resp.status_code
                if job.ok(status):
                    break
            except Exception as exc:  # connection refused, timeout, a bad URL...
                status = type(exc).__name__
            if attempts <= len(BACKOFF):
                time.sleep(BACKOFF[attempts - 1])
        record = DeliveryRecord(
            mask_endpoint(job.url), job.kind, status, attempts, self.sandbox.now()
        )
        with self._lock:
            self.records.append(record)
        job.future.set_result(status)

    def snapshot(self) -> list[DeliveryRecord]:
        with self._lock:
            return list(self.records)

    def clear(self) -> None:
        with self._lock:
            self.records.clear()


def is_2xx(status: int) -> bool:
    return 200 <= status < 300


def is_pubsub_ack(status: int) -> bool:
    return status in PUBSUB_ACK


# --------------------------------------------------------------------------- per sandbox
class PushState:
    """Everything push-related of one sandbox (``sandbox.push_state``). Read and changed
    under ``sandbox.lock`` like the rest of the world, except :attr:`deliverer`."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.deliverer = Deliverer(sandbox)
        self.watches: dict[str, GmailWatch] = {}  # account address -> its watch
        self.pubsub: dict[str, PubSubSubscription] = {}  # subscription name -> it
        self.graph: dict[str, GraphSubscription] = {}  # subscription id -> it
        self.pubsub_seq = 0  # subscription names
        self.message_seq = 0  # Pub/Sub message ids


def push_state(sandbox: Sandbox) -> PushState:
    """The sandbox's push state, made on first use."""
    with sandbox.lock:
        if sandbox.push_state is None:
            sandbox.push_state = PushState(sandbox)
        return sandbox.push_state


def listen_mail(sandbox: Sandbox, listener: MailListener) -> None:
    """Add ``listener`` to the sandbox's mail listeners (once)."""
    with sandbox.lock:
        if listener not in sandbox.mail_listeners:
            sandbox.mail_listeners.append(listener)


def listen_events(sandbox: Sandbox, listener: EventListener) -> None:
    """Add ``listener`` to the sandbox's event listeners (once)."""
    with sandbox.lock:
        if listener not in sandbox.event_listeners:
            sandbox.event_listeners.append(listener)
