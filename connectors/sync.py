"""Sync one account: every stream once (backfill or delta), each batch + cursor in one transaction.

The connector yields :class:`SyncBatch` es; each is persisted by
:func:`rapportd.connectors.store_writer.persist` in its own transaction together with its
cursor and the stream's :class:`SyncRun` counters, so a crash between two batches resumes
at the last committed cursor with nothing lost and nothing twice.

- An expired cursor (the connector raises CursorExpired despite handling it itself, e.g.
  a resumed backfill page token that is no longer valid) restarts the stream from scratch
  once: the full re-sync converges (upserts by provider id; the closing reconciliation marks
  what the provider no longer has as deleted).
- ReconsentNeeded marks the account ``needs_reconsent`` (with the reason), ends every
  stream and is re-raised: nothing loops on a revoked grant.
- Any other error of a stream is recorded on its SyncRun and the account; the other
  streams still run; the first error is raised at the end with ``.sync_result`` attached.
- Two workers never sync one account at once: a lease on the account row.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent import clock
from rapportd.agent.errors import CursorExpired, ReconsentNeeded, RetryLater
from rapportd.agent.logs import get_logger
from rapportd.agent.records import Connector
from rapportd.agent.settings import Settings
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, SyncCursor, SyncRun
from rapportd.connectors import store_writer
from rapportd.connectors.aliases import refresh_aliases

log = get_logger(__name__)
Progress = Callable[[str, int, int | None], None]
LEASE = timedelta(minutes=15)


@dataclass
class StreamResult:
    stream: str
    kind: str = "delta"  # backfill | delta | resync (a run's kind: also recent)
    fetched: int = 0
    upserted: int = 0
    deleted: int = 0
    skipped: int = 0
    requests: int = 0
    quota_units: int = 0
    complete: bool = False
    error: str = ""


@dataclass
class SyncResult:
    account_id: int
    streams: dict[str, StreamResult] = field(default_factory=dict)
    changed_addresses: set[str] = field(default_factory=set)

    @property
    def news(self) -> bool:
        return any(s.upserted or s.deleted for s in self.streams.values())

    @property
    def fetched(self) -> int:
        return sum(s.fetched for s in self.streams.values())

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.streams.values())

    @property
    def quota_units(self) -> int:
        return sum(s.quota_units for s in self.streams.values())


def _lease_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _take_lease(sessions: sessionmaker[Session], account_id: int) -> None:
    now = clock.now()
    me = _lease_owner()
    with transaction(sessions) as session:
        taken = session.execute(
            update(Account)
            .where(
                Account.id == account_id,
                or_(
                    Account.sync_lease_until.is_(None),
                    Account.sync_lease_until < now,
                    Account.sync_lease_owner == me,
                ),
            )
            .values(sync_lease_owner=me, sync_lease_until=now + LEASE)
        ).rowcount
    if not taken:
        raise RetryLater(f"account {account_id} is being synced by another worker", retry_after=30)


def _release_lease(sessions: sessionmaker[Session], account_id: int) -> None:
    with transaction(sessions) as session:
        session.execute(
            update(Account)
            .where(Account.id == account_id, Account.sync_lease_owner == _lease_owner())
            .values(sync_lease_owner=None, sync_lease_until=None)
        )


def _mark_reconsent(sessions: sessionmaker[Session], account_id: int, reason: str) -> None:
    with transaction(sessions) as session:
        account = session.get(Account, account_id)
        if account is not None:
            account.status = "needs_reconsent"
            account.status_reason = (
                "The provider revoked rapportd's access; connect the account again. " + reason
            )[:1000]
            account.next_sync_at = None
    log.warning("sync.needs_reconsent", account_id=account_id)


def _sync_stream(
    sessions: sessionmaker[Session],
    account_id: int,
    connector: Connector,
    stream: str,
    result: StreamResult,
    progress: Progress | None,
    changed: set[str],
    *,
    until_recent: bool = False,
) -> bool:
    """One pass of ``stream`` (its own SyncRun). ``until_recent``: stop, as a finished run
    of kind ``recent``, after the batch that completes the stream's recent window (the next
    pass goes on from the cursor stored with it). True when it stopped so."""
    with transaction(sessions) as session:
        state = store_writer.load_cursor(session, account_id, stream)
        result.kind = "delta" if state is not None and state.phase == "delta" else "backfill"
        account = session.get(Account, account_id)
        assert account is not None
        run = SyncRun(
            owner_id=account.owner_id, account_id=account_id, stream=stream, kind=result.kind
        )
        session.add(run)
        session.flush()
        run_id = run.id
    restarted = stopped = False
    run_kind = ""
    base = replace(result)
    error: BaseException | None = None
    try:
        while True:
            try:
                for batch in connector.sync(stream, state):
                    with transaction(sessions) as session:
                        account = session.get(Account, account_id)
                        assert account is not None
                        applied = store_writer.persist(session, account, batch)
                        run = session.get(SyncRun, run_id)
                        assert run is not None
                        if batch.resync:
                            run.kind = result.kind = "resync"
                        result.fetched += len(batch.messages) + len(batch.events)
                        result.upserted += applied.upserted
                        result.deleted += applied.deleted
                        result.skipped += applied.skipped
                        result.requests += batch.requests
                        result.quota_units += batch.quota_units
                        result.complete = result.complete or batch.complete
                        # this run's own share (a stream's two passes share one result)
                        run.fetched = result.fetched - base.fetched
                        run.upserted = result.upserted - base.upserted
                        run.deleted = result.deleted - base.deleted
                        run.skipped = result.skipped - base.skipped
                        run.requests = result.requests - base.requests
                        run.quota_units = result.quota_units - base.quota_units
                    changed |= applied.addresses
                    if progress is not None:
                        progress(stream, result.fetched, batch.provider_total)
                    if until_recent and batch.recent_complete:
                        stopped = True
                        run_kind = "recent"
                        break
                break
            except CursorExpired:
                if restarted:
                    raise
                restarted, state = True, None
                result.kind = "resync"
                log.info("sync.cursor_expired", account_id=account_id, stream=stream)
                with transaction(sessions) as session:
                    store_writer.reset_cursor(session, account_id, stream)
    except BaseException as exc:
        error = exc
        result.error = f"{type(exc).__name__}: {exc}"[:500]
        raise
    finally:
        with transaction(sessions) as session:
            run = session.get(SyncRun, run_id)
            if run is not None:
                run.finished_at = clock.now()
                run.status = "error" if error is not None else "ok"
                run.error = result.error
                run.kind = run_kind or result.kind
            account = session.get(Account, account_id)
            # a pass stopped from outside (shutdown, a lost lease: BaseExceptions) did not
            # fail: nothing to show
            if account is not None and (error is None or isinstance(error, Exception)):
                store_writer.note_stream(session, account, stream, _reason(error))
    return stopped


def _recent_pending(
    sessions: sessionmaker[Session], account_id: int, streams: Sequence[str], settings: Settings
) -> list[str]:
    """The streams whose recent window is not in yet (none without such a window)."""
    if not settings.sync.recent_window_days:
        return []
    with sessions() as session:
        done = set(
            session.scalars(
                select(SyncCursor.stream).where(
                    SyncCursor.account_id == account_id,
                    or_(
                        SyncCursor.recent_complete_at.is_not(None),
                        SyncCursor.last_verified_complete_at.is_not(None),
                    ),
                )
            )
        )
    return [s for s in streams if s not in done]


def _reason(error: BaseException | None) -> str:
    """What the accounts page shows for a failing stream: the provider's words."""
    if error is None:
        return ""
    return (str(error) or type(error).__name__)[:500]


def _save_tokens(
    sessions: sessionmaker[Session], account_id: int, connector: Any, settings: Settings
) -> None:
    token_data = getattr(connector, "token_data", None)
    if token_data is None:
        return
    from rapportd.connectors.factory import store_tokens

    with transaction(sessions) as session:
        account = session.get(Account, account_id)
        if account is not None:
            store_tokens(account, token_data(), settings)


def sync_account(
    session_factory: sessionmaker[Session],
    account_id: int,
    settings: Settings,
    *,
    streams: Sequence[str] | None = None,
    progress: Progress | None = None,
    connector: Connector | None = None,
    lease_held: bool = False,
    on_recent: Callable[[SyncResult], None] | None = None,
) -> SyncResult:
    """Run every stream of the account once; see the module docstring for the rules.

    ``lease_held``: the caller already holds the account's sync lease (as ``host:pid``)
    and renews and releases it itself (rapportd.jobs does, with a short expiry, so that a
    killed worker's accounts are free again within seconds); this function then neither
    takes nor releases it.

    ``on_recent(result)`` is called once the recent window (``sync.recent_days``) of every
    stream that had not finished it is in, before the rest of the backfills."""
    with transaction(session_factory) as session:
        account = session.get(Account, account_id)
        if account is None:
            raise LookupError(f"no account {account_id}")
        if account.status == "needs_reconsent":
            raise ReconsentNeeded(f"account {account.address} needs to be connected again")
        owned = connector is None
        if connector is None:
            from rapportd.connectors.factory import connector_for

            connector = connector_for(account, settings, session)
    if not lease_held:
        _take_lease(session_factory, account_id)
    result = SyncResult(account_id)
    first_error: BaseException | None = None
    names = list(streams or connector.streams)
    try:
        refresh_aliases(session_factory, account_id, connector)  # first sync, then daily
        # Recent first: every stream's recent window (a run of kind "recent" each), then
        # (``on_recent``: the owner may be analysed for the window's kinds meanwhile) the
        # rest of every stream, going on from the cursor stored with its window.
        pending = _recent_pending(session_factory, account_id, names, settings)
        finished: set[str] = set()
        reached = False
        for phase in ("recent", "rest"):
            for stream in names:
                if phase == "recent" and stream not in pending:
                    continue
                if stream in finished:
                    continue  # done (or failed) in the first phase: once per sync
                stream_result = result.streams.setdefault(stream, StreamResult(stream))
                try:
                    stopped = _sync_stream(
                        session_factory,
                        account_id,
                        connector,
                        stream,
                        stream_result,
                        progress,
                        result.changed_addresses,
                        until_recent=phase == "recent",
                    )
                    reached = reached or stopped
                    if not stopped:
                        finished.add(stream)
                except ReconsentNeeded as exc:
                    _mark_reconsent(session_factory, account_id, str(exc))
                    exc.sync_result = result
                    raise
                except Exception as exc:
                    finished.add(stream)
                    log.warning(
                        "sync.stream_failed", account_id=account_id, stream=stream, error=str(exc)
                    )
                    first_error = first_error or exc
            if phase == "recent" and reached and on_recent is not None:
                on_recent(result)
    finally:
        try:
            _save_tokens(session_factory, account_id, connector, settings)
        finally:
            _finish(session_factory, account_id, first_error, settings)
            if not lease_held:
                _release_lease(session_factory, account_id)
            if owned and hasattr(connector, "close"):
                connector.close()
    if first_error is not None:
        first_error.sync_result = result  # type: ignore[attr-defined]
        raise first_error
    return result


def _finish(
    sessions: sessionmaker[Session],
    account_id: int,
    error: BaseException | None,
    settings: Settings,
) -> None:
    now = clock.now()
    with transaction(sessions) as session:
        account = session.get(Account, account_id)
        if account is None:
            return
        account.last_sync_at = now
        if error is None:
            account.consecutive_errors = 0
            account.last_error = ""
            if account.status == "error":
                account.status, account.status_reason = "ok", ""
        else:
            account.consecutive_errors += 1
            account.last_error = f"{type(error).__name__}: {error}"[:1000]
        if account.status != "needs_reconsent":
            base = settings.sync.interval_seconds
            wait = min(base * 2 ** min(account.consecutive_errors, 6), 6 * 3600)
            account.next_sync_at = now + timedelta(seconds=wait)
