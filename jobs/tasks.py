"""The plain functions behind the actors. Each one takes ids, reads the truth from the
database, does its step, and records what happened there, so running it twice (or
after a crash) does no harm.

Outcomes are short strings (``"ok"``, ``"busy"``, ``"skipped"``, ``"interrupted"``,
``"error"`` …) returned to the actor, which counts them. A sync records its own outcome on
the account (:mod:`rapportd.connectors.sync`); here its errors only choose what the queue
does:

- transient (:class:`RetryLater`, a bug): re-raised so dramatiq retries with back-off (or
  the provider's ``Retry-After``);
- permanent (:class:`ReconsentNeeded`, :class:`PermanentError`, :class:`BadData`): never
  retried by the queue;
- shutdown: an in-flight sync stops at the next batch, its committed batches stay, its
  lease is released and the account is due again at once, so a restart resumes it.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any

import dramatiq
from sqlalchemy import or_, select, update

from rapportd.agent.core.errors import (
    ReconsentNeeded,
)
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.models import Account, OutboxOperation, Owner, PushSubscription
from rapportd.agent.store.sync_status import Scope, sync_scope
from rapportd.connectors.factory import save_tokens
from rapportd.connectors.sync.outcome import error_kind, revoked
from rapportd.jobs import locks
from rapportd.jobs.metrics import ERRORS
from rapportd.jobs.push_auth import client_state_hash
from rapportd.jobs.runtime import Runtime

log = get_logger(__name__)

# Actor names (also the names messages carry).
SYNC = "sync_account"
ANALYSE = "analyse_owner"
PLAN = "plan_owner"
WRITE = "process_operation"
FATES = "detect_fates"
REFRESH = "refresh_token"
RENEW_PUSH = "renew_push"
ENSURE_PUSH = "ensure_push"

ANALYSIS_GRACE = timedelta(minutes=5)  # how long an enqueued analysis may take to start
# While an owner's older history backfills (recent first), news re-analyses it at most this often.
BACKFILL_REANALYSE = timedelta(minutes=15)


def run_sync(rt: Runtime, account_id: int) -> str:
    """Sync one account (:func:`rapportd.connectors.sync.account.sync_account` owns the
    lease, the batches, the account row's record and back-off); then wake what depends on
    it: the owner's analysis when it is due (the store writer marks it with any news, and an
    analysis may be waiting for this account's streams), and the fate checks of written
    items when the sync brought news."""
    with rt.session_factory() as session:
        account = session.get(Account, account_id)
        if account is None:
            return "gone"
        owner_id = account.owner_id

    def on_recent(partial: Any) -> None:
        # recent first: this account's recent window is in; once every account's is, the
        # owner is analysed for the window's kinds while the rest of the backfill goes on
        # (run_analysis checks the owner's other accounts)
        if getattr(partial, "news", False):
            rt.enqueue(ANALYSE, owner_id)

    try:
        result = rt.parts.sync_account(
            rt.session_factory,
            account_id,
            rt.settings,
            holder=rt.holder,
            lease_seconds=rt.lease_seconds,
            stopping=rt.stopping,
            now=rt.now,
            on_recent=on_recent,
        )
    except BaseException as exc:
        kind = error_kind(exc)
        ERRORS.labels(SYNC, kind).inc()
        log.warning("sync_failed", account_id=account_id, kind=kind, error=str(exc))
        if kind in ("reconsent", "permanent", "bad_data"):
            return kind  # recorded on the account; the queue would only repeat it
        raise
    if result.outcome != "ok":
        if result.outcome == "lease_lost":
            ERRORS.labels(SYNC, "lease_lost").inc()
        return str(result.outcome)
    if _analysis_waiting(rt, owner_id):
        rt.enqueue(ANALYSE, owner_id)
    # what the person did with a draft or hold shows up as news (a sent message, a changed
    # event); a quiet sync has nothing to check, and the scheduler's hourly sweep catches
    # the rest (a draft deleted without any other change)
    if result.news and _has_written_items(rt, account_id):
        rt.enqueue(FATES, account_id)
    return "ok"


def _due_again(rt: Runtime, owner_id: int) -> None:
    now = rt.now()
    with rt.session_factory() as session, session.begin():
        session.execute(
            update(Owner)
            .where(
                Owner.id == owner_id,
                or_(Owner.analysis_due_at.is_(None), Owner.analysis_due_at > now),
            )
            .values(analysis_due_at=now)
            .execution_options(synchronize_session=False)
        )


def _analysis_waiting(rt: Runtime, owner_id: int) -> bool:
    with rt.session_factory() as session:
        owner = session.get(Owner, owner_id)
        return owner is not None and owner.analysis_due_at is not None


def _has_written_items(rt: Runtime, account_id: int) -> bool:
    with rt.session_factory() as session:
        return (
            session.scalar(
                select(OutboxOperation.id)
                .where(OutboxOperation.account_id == account_id, OutboxOperation.state == "written")
                .limit(1)
            )
            is not None
        )


# --------------------------------------------------------------------------- analysis, plan
@contextlib.contextmanager
def owner_lock(rt: Runtime, owner_id: int) -> Iterator[bool]:
    """One analysis or plan of an owner at a time, across processes. Yields False if busy."""
    lock = locks.named_lock(rt.settings, rt.engine, f"owner-{owner_id}", ttl=rt.lease_seconds * 5)
    got = lock.acquire()
    try:
        yield got
    finally:
        if got:
            lock.release()


def _scope(session: Any, rt: Runtime, owner_id: int) -> Scope:
    """How far the owner's first sync got: ``waiting`` while a stream of a syncable account
    has not even its recent window (its backfill is running, was interrupted or keeps
    failing: every stream counts, a finished calendar does not make up for an unfinished
    mailbox); ``recent`` when every stream's recent window is in; ``full`` after every
    backfill."""
    return sync_scope(session, owner_id, window_days=rt.settings.sync.recent_window_days)


def _analysed_within(owner: Owner, now: datetime, span: timedelta) -> bool:
    return owner.analysed_at is not None and now - owner.analysed_at < span


def run_analysis(rt: Runtime, owner_id: int) -> str:
    """Re-analyse an owner's dirty contacts, then plan. Clears ``analysis_due_at`` only if
    no sync marked it again meanwhile."""
    with owner_lock(rt, owner_id) as got:
        if not got:
            # the scheduler's next look covers it: the owner is due now (a due time the
            # scheduler pushed ahead when it sent this message would make news wait out the
            # grace; none at all, the sync's request for it would be lost)
            _due_again(rt, owner_id)
            return "busy"
        now = rt.now()
        with rt.session_factory() as session, session.begin():
            owner = session.get(Owner, owner_id)
            if owner is None:
                return "gone"
            scope = _scope(session, rt, owner_id)
            if scope == "waiting":
                # Half a mailbox would plan on half the evidence (a promise whose delivery
                # is not synced yet looks open). Wait: the end of the recent windows (or of
                # the backfill) enqueues analysis, and analysis_due_at stays set for the
                # scheduler.
                return "waiting_first_sync"
            if scope == "recent" and _analysed_within(owner, now, BACKFILL_REANALYSE):
                # the older history is still coming in, a batch at a time, and each batch
                # marks the owner due: once per BACKFILL_REANALYSE is enough until it ends
                # (its end marks the owner due now, and the full analysis follows)
                assert owner.analysed_at is not None
                owner.analysis_due_at = owner.analysed_at + BACKFILL_REANALYSE
                return "later"
            seen_due = owner.analysis_due_at
            rt.parts.analyse_owner(session, owner_id, now=now, settings=rt.settings)
            session.flush()
            cond = (
                Owner.analysis_due_at.is_(None)
                if seen_due is None
                else Owner.analysis_due_at == seen_due
            )
            session.execute(
                update(Owner)
                .where(Owner.id == owner_id, cond)
                .values(analysis_due_at=None)
                .execution_options(synchronize_session=False)
            )
            session.execute(
                update(Owner)
                .where(Owner.id == owner_id)
                .values(analysed_at=now)
                .execution_options(synchronize_session=False)
            )
    rt.enqueue(PLAN, owner_id)
    return "ok"


def run_plan(rt: Runtime, owner_id: int) -> str:
    """Turn the owner's analysis into suggestions and outbox operations; wake the writers."""
    with owner_lock(rt, owner_id) as got:
        if not got:
            raise dramatiq.Retry("owner busy", delay=2_000)
        now = rt.now()
        with rt.session_factory() as session, session.begin():
            if session.get(Owner, owner_id) is None:
                return "gone"
            scope = _scope(session, rt, owner_id)
            if scope == "waiting":
                return "waiting_first_sync"  # nothing is planned on a half-synced window
            extra: dict[str, Any] = {}
            if scope == "recent":  # the window's kinds only, marked as based on it
                extra["window_days"] = rt.settings.sync.recent_window_days
            rt.parts.plan_owner(session, owner_id, now=now, settings=rt.settings, **extra)
            session.execute(
                update(Owner)
                .where(Owner.id == owner_id)
                .values(planned_at=now)
                .execution_options(synchronize_session=False)
            )
        with rt.session_factory() as session:
            # this owner's ops only: waking every owner's writers on each plan multiplied
            # the queue under load (the scheduler wakes the rest)
            ready = list(rt.parts.ready_operations(session, now=now, owner_id=owner_id))
    for op_id in ready:
        rt.enqueue(WRITE, op_id)
    return "ok"


# --------------------------------------------------------------------------- outbox, feedback
class Connectors:
    """Builds connectors for a task and, afterwards, stores tokens they refreshed
    (re-encrypted), as the sync does: a rotated refresh token must not be lost."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.built: list[tuple[int, Any]] = []

    def __call__(self, account: Account) -> Any:
        # with a session: the quota limiter in the database, shared with the syncs of the
        # same account (a process-local one let writes and syncs together overrun Gmail's
        # quota: 429s in fault-free runs)
        with self.rt.session_factory() as session:
            connector = self.rt.parts.connector_for(account, self.rt.settings, session)
        self.built.append((account.id, connector))
        return connector

    def save_tokens(self) -> None:
        for account_id, connector in self.built:
            save_tokens(self.rt.session_factory, account_id, connector, self.rt.settings)


def run_operation(rt: Runtime, op_id: int) -> str:
    """Write one outbox item (the outbox's own lease and tag make this idempotent)."""
    connectors = Connectors(rt)
    # the lease carries this process's name (host:pid), so that recovery can tell when
    # its holder died and take the op back at once instead of after the 5-minute lease
    worker = f"{rt.holder}#{uuid.uuid4().hex[:12]}"
    try:
        state = rt.parts.process_operation(
            rt.session_factory, op_id, connectors, now=rt.now(), worker=worker
        )
    finally:
        connectors.save_tokens()
    return str(state)


def _usable_account(rt: Runtime, account_id: int) -> Account | None:
    with rt.session_factory() as session:
        account = session.get(Account, account_id)
        if account is None or account.status in ("needs_reconsent", "disabled"):
            return None
        session.expunge(account)
        return account


def _with_connector(rt: Runtime, account: Account, work: Callable[[Any], Any]) -> tuple[str, Any]:
    """``("ok", work(connector))``; ``("reconsent", None)`` when the grant is gone (recorded
    on the account). Tokens the connector refreshed are stored either way."""
    connectors = Connectors(rt)
    try:
        return "ok", work(connectors(account))
    except ReconsentNeeded as exc:
        revoked(rt.session_factory, account.id, exc)
        return "reconsent", None
    finally:
        connectors.save_tokens()


_UNSUPPORTED = object()


def _call(connector: Any, method: str, *args: Any) -> Any:
    """``connector.method(*args)``, or ``_UNSUPPORTED`` for a connector without it."""
    fn = getattr(connector, method, None)
    return fn(*args) if callable(fn) else _UNSUPPORTED


def run_fates(rt: Runtime, account_id: int) -> str:
    """See what the person did with the drafts and holds written into this account."""
    account = _usable_account(rt, account_id)
    if account is None:
        return "skipped"
    outcome, _ = _with_connector(
        rt,
        account,
        lambda c: rt.parts.detect_fates(rt.session_factory, account_id, c, now=rt.now()),
    )
    return outcome


def run_refresh(rt: Runtime, account_id: int) -> str:
    """Keep the grant alive: build the connector with a session, which refreshes and
    re-encrypts the token when it is due (connectors.factory does the refresh)."""
    account = _usable_account(rt, account_id)
    if account is None:
        return "skipped"
    try:
        with rt.session_factory() as session, session.begin():
            attached = session.get(Account, account_id)
            assert attached is not None
            connector = rt.parts.connector_for(attached, rt.settings, session)
            refresh = getattr(connector, "refresh_token", None)
            if callable(refresh):
                refresh()
    except ReconsentNeeded as exc:
        revoked(rt.session_factory, account_id, exc)
        return "reconsent"
    return "ok"


def push_providers(settings: Settings) -> set[str]:
    """The providers whose push channels are configured (polling always runs)."""
    on = set()
    if settings.google.push_topic:
        on.add("google")
    if settings.microsoft.push_notifications:
        on.add("microsoft")
    return on


def run_ensure_push(rt: Runtime, account_id: int) -> str:
    """Open the account's push channels when its provider's push is configured and it has
    none yet (a Gmail watch; Graph subscriptions, which Graph validates against
    /push/graph before answering)."""
    account = _usable_account(rt, account_id)
    if account is None:
        return "skipped"
    if account.provider not in push_providers(rt.settings):
        return "off"
    with rt.session_factory() as session:
        if session.scalar(
            select(PushSubscription.id).where(PushSubscription.account_id == account_id).limit(1)
        ):
            return "exists"
    outcome, channels = _with_connector(rt, account, lambda c: _call(c, "start_push"))
    if outcome != "ok":
        return outcome
    if channels is _UNSUPPORTED:
        return "unsupported"
    with rt.session_factory() as session, session.begin():
        for channel in channels:
            row = session.scalar(
                select(PushSubscription).where(
                    PushSubscription.provider == account.provider,
                    PushSubscription.subscription_id == channel.subscription_id,
                )
            )
            if row is None:
                row = PushSubscription(
                    owner_id=account.owner_id,
                    account_id=account.id,
                    provider=account.provider,
                    subscription_id=channel.subscription_id,
                )
                session.add(row)
            row.resource = channel.resource
            row.expires_at = channel.expires_at
            if channel.client_state:
                row.client_state_hash = client_state_hash(channel.client_state)
    log.info("push_opened", account_id=account_id, channels=len(channels))
    return "ok"


def run_renew_push(rt: Runtime, subscription_id: int) -> str:
    """Renew a push channel before it expires; a channel the provider lost is forgotten, and
    the scheduler opens new ones (ENSURE_PUSH) for an account left with none."""
    with rt.session_factory() as session:
        sub = session.get(PushSubscription, subscription_id)
        if sub is None:
            return "gone"
        account_id, provider_sub_id = sub.account_id, sub.subscription_id
    account = _usable_account(rt, account_id)
    if account is None:
        return "skipped"
    outcome, expires_at = _with_connector(
        rt, account, lambda c: _call(c, "renew_push", provider_sub_id)
    )
    if outcome != "ok":
        return outcome
    if expires_at is _UNSUPPORTED:
        ERRORS.labels(RENEW_PUSH, "unsupported").inc()
        return "unsupported"
    with rt.session_factory() as session, session.begin():
        row = session.get(PushSubscription, subscription_id)
        if row is None:
            return "gone"
        if expires_at is None:
            session.delete(row)
            return "lost"
        if isinstance(expires_at, datetime):
            row.expires_at = expires_at
    return "ok"


def timed(fn: Callable[[], str]) -> tuple[str, float]:
    start = time.perf_counter()
    outcome = fn()
    return outcome, time.perf_counter() - start
