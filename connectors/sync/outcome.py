"""What a sync's end writes on the account row, in one place: success, failure (counted
once, with the back-off), a shutdown (due again at once), a revoked grant.

Errors, by kind (:func:`error_kind`):

- transient (``retry_later``, ``database``, ``timeout``, a ``bug`` we do not know): the
  account keeps its status; ``consecutive_errors`` grows and the next sync backs off
  (:mod:`.backoff`, never sooner than the provider's ``Retry-After``);
- ``reconsent``: the account is ``needs_reconsent`` with the provider's reason and is not
  synced again until it is connected again;
- ``permanent`` / ``bad_data``: the account is in ``error`` with the reason (shown on the
  accounts page); it is still tried on the back-off, and the next success clears it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.errors import (
    BadData,
    Conflict,
    CursorExpired,
    NotFound,
    PermanentError,
    ReconsentNeeded,
    RetryLater,
)
from rapportd.agent.core.logs import get_logger
from rapportd.agent.store.models import Account
from rapportd.connectors.sync.backoff import next_sync_at

log = get_logger(__name__)

RECONSENT_REASON = "The provider revoked rapportd's access; connect the account again. "


class Interrupted(BaseException):
    """The process is shutting down: the sync stops at the next batch boundary.

    A BaseException so that no ``except Exception`` inside a part swallows it."""


class LeaseLost(BaseException):
    """Our sync lease expired and someone else may hold it: stop at once."""


def error_kind(exc: BaseException) -> str:
    """A short, stable name for an error, for the account row and the metrics."""
    table: list[tuple[type[BaseException], str]] = [
        (ReconsentNeeded, "reconsent"),
        (RetryLater, "retry_later"),
        (CursorExpired, "cursor_expired"),
        (NotFound, "not_found"),
        (Conflict, "conflict"),
        (PermanentError, "permanent"),
        (BadData, "bad_data"),
        (Interrupted, "interrupted"),
        (LeaseLost, "lease_lost"),
    ]
    for cls, name in table:
        if isinstance(exc, cls):
            return name
    if type(exc).__name__ == "TimeLimitExceeded":
        return "timeout"
    if type(exc).__name__ == "OperationalError":
        return "database"
    return "bug"


def _update(factory: sessionmaker[Session], account_id: int, **values: Any) -> None:
    with factory() as session, session.begin():
        session.execute(
            update(Account)
            .where(Account.id == account_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def succeeded(
    factory: sessionmaker[Session], account_id: int, *, now: datetime, interval: float
) -> None:
    """Every stream ran: errors cleared, an account in ``error`` is ``ok`` again, and the
    next sync is an interval on (jittered). One statement: no moment where one is recorded
    without the other."""
    recovered = Account.status == "error"
    _update(
        factory,
        account_id,
        consecutive_errors=0,
        last_error="",
        last_sync_at=now,
        next_sync_at=next_sync_at(now, interval),
        status=case((recovered, "ok"), else_=Account.status),
        status_reason=case((recovered, ""), else_=Account.status_reason),
    )


def failed(
    factory: sessionmaker[Session],
    account_id: int,
    exc: BaseException,
    *,
    errors_before: int,
    now: datetime,
    interval: float,
) -> str:
    """Record a failed sync once; returns its kind."""
    kind = error_kind(exc)
    errors = errors_before + 1
    values: dict[str, Any] = {
        "consecutive_errors": errors,
        "last_error": f"{kind}: {exc}"[:2000],
        "next_sync_at": next_sync_at(
            now, interval, errors, retry_after=getattr(exc, "retry_after", None)
        ),
    }
    if kind == "reconsent":
        values.update(_revoked_values(exc))
        log.warning("sync.needs_reconsent", account_id=account_id)
    elif kind in ("permanent", "bad_data"):
        values.update(status="error", status_reason=str(exc)[:2000])
    _update(factory, account_id, **values)
    return kind


def _revoked_values(exc: BaseException) -> dict[str, Any]:
    return {
        "status": "needs_reconsent",
        "status_reason": (RECONSENT_REASON + str(exc))[:2000],
        "next_sync_at": None,
    }


def revoked(factory: sessionmaker[Session], account_id: int, exc: BaseException) -> None:
    """The provider refused the grant outside a sync (a token refresh, a fate check, a push
    channel's start or renewal): the account waits for the owner to connect it again, not
    for a sync."""
    _update(factory, account_id, **_revoked_values(exc))
    log.warning("account.needs_reconsent", account_id=account_id)


def interrupted(
    factory: sessionmaker[Session],
    account_id: int,
    *,
    now: datetime,
    synced_before: datetime | None,
) -> None:
    """Stopped by a shutdown: due again at once (a restarted worker resumes from the stored
    cursors); a partial sync does not count as one (nothing analyses half a backfill)."""
    _update(factory, account_id, next_sync_at=now, last_sync_at=synced_before)
