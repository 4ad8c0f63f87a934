"""Sync one account, from lease to cursor: every stream once (backfill or delta), each
batch + cursor in one transaction, and the account row's record of how it went.

- **Lease.** Two workers never sync one account at once: :mod:`.lease` (a claim on the
  account row, renewed while the sync runs; an account someone else holds is due again when
  their lease ends, and the result says ``busy``).
- **Batches.** The connector yields :class:`SyncBatch` es; each is persisted by
  :func:`rapportd.connectors.sync.writer.persist` in its own transaction together with its
  cursor and the stream's :class:`SyncRun` counters, so a crash between two batches resumes
  at the last committed cursor with nothing lost and nothing twice. Storing anything marks
  the owner's analysis due (in the same transaction).
- **Recent first.** Every stream's recent window (``sync.recent_days``), then ``on_recent``,
  then the rest of every stream from the cursor stored with its window.
- **Expired cursors.** A connector that raises CursorExpired despite handling it itself
  (e.g. a resumed backfill page token that is no longer valid) restarts the stream from
  scratch once: the full re-sync converges (upserts by provider id; the closing
  reconciliation marks what the provider no longer has as deleted).
- **Errors.** ReconsentNeeded ends every stream (nothing loops on a revoked grant). Any other
  error of a stream is recorded on its SyncRun; the other streams still run; the first error
  is recorded on the account once (:mod:`.outcome`: back-off, status) and raised at the end
  with ``.sync_result`` attached. A shutdown (``stopping``) stops at the next batch
  boundary and leaves the account due at once; a lost lease stops at once.
- **Tokens** the connector refreshed are stored (re-encrypted) whatever happened.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core import clock
from rapportd.agent.core.errors import CursorExpired, ReconsentNeeded
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.records import Connector
from rapportd.agent.core.settings import Settings
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, SyncCursor, SyncRun
from rapportd.connectors.aliases import refresh_aliases
from rapportd.connectors.factory import connector_for, save_tokens
from rapportd.connectors.sync import lease, outcome
from rapportd.connectors.sync import writer as store_writer
from rapportd.connectors.sync.outcome import Interrupted, LeaseLost

log = get_logger(__name__)
Progress = Callable[[str, int, int | None], None]
LEASE_SECONDS = 60.0  # renewed every third of it while the sync runs


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
    # ok | busy (another holder has the lease) | skipped (the account may not sync) |
    # interrupted (shutdown) | lease_lost
    outcome: str = "ok"
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


def sync_account(
    session_factory: sessionmaker[Session],
    account_id: int,
    settings: Settings,
    *,
    streams: Sequence[str] | None = None,
    progress: Progress | None = None,
    connector: Connector | None = None,
    holder: str | None = None,
    lease_seconds: float = LEASE_SECONDS,
    stopping: threading.Event | None = None,
    now: Callable[[], datetime] = clock.now,
    on_recent: Callable[[SyncResult], None] | None = None,
) -> SyncResult:
    """Run every stream of the account once under its lease; see the module docstring.

    ``holder``: the name on the lease (default: this process, :func:`lease.process_holder`);
    ``stopping``: set on shutdown; ``now``: the clock the account row's times are read from.
    ``on_recent(result)`` is called once the recent window (``sync.recent_days``) of every
    stream that had not finished it is in, before the rest of the backfills."""
    with session_factory() as session:
        account = session.get(Account, account_id)
        if account is None:
            raise LookupError(f"no account {account_id}")
        if account.status in ("needs_reconsent", "disabled"):
            return SyncResult(account_id, outcome="skipped")
        errors_before, synced_before = account.consecutive_errors, account.last_sync_at
    holder = holder or lease.process_holder()
    interval = settings.sync.interval_seconds
    with lease.held(session_factory, account_id, holder, ttl=lease_seconds, now=now) as keeper:
        if keeper is None:
            return SyncResult(account_id, outcome="busy")

        def checked(stream: str, done: int, total: int | None) -> None:
            if stopping is not None and stopping.is_set():
                raise Interrupted()
            if keeper.lost.is_set():
                raise LeaseLost()
            if progress is not None and stream:
                progress(stream, done, total)

        result = SyncResult(account_id)
        try:
            checked("", 0, None)
            _run_streams(
                session_factory,
                account_id,
                settings,
                connector,
                streams,
                checked,
                on_recent,
                result,
            )
        except Interrupted:
            outcome.interrupted(session_factory, account_id, now=now(), synced_before=synced_before)
            result.outcome = "interrupted"
            return result
        except LeaseLost:
            result.outcome = "lease_lost"
            return result
        except BaseException as exc:
            outcome.failed(
                session_factory,
                account_id,
                exc,
                errors_before=errors_before,
                now=now(),
                interval=interval,
            )
            if isinstance(exc, Exception):
                exc.sync_result = result  # type: ignore[attr-defined]
            raise
        outcome.succeeded(session_factory, account_id, now=now(), interval=interval)
        return result


def _run_streams(
    session_factory: sessionmaker[Session],
    account_id: int,
    settings: Settings,
    connector: Connector | None,
    streams: Sequence[str] | None,
    progress: Progress,
    on_recent: Callable[[SyncResult], None] | None,
    result: SyncResult,
) -> None:
    """Every stream once (recent windows first); raises the first stream's error at the end."""
    owned = connector is None
    if connector is None:
        with session_factory() as session:
            account = session.get(Account, account_id)
            assert account is not None
            connector = connector_for(account, settings, session)
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
                except ReconsentNeeded:
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
            save_tokens(session_factory, account_id, connector, settings)
        finally:
            if owned and hasattr(connector, "close"):
                connector.close()
    if first_error is not None:
        raise first_error
