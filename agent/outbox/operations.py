"""The outbox: every write into a mailbox or calendar is an ``OutboxOperation`` row, and
this module moves one row through its state machine.

::

    pending ──claim──► writing ──ok──► written ──fate──► sent | sent_edited | dismissed
       ▲                 │  │                      │      confirmed | moved (holds)
       │   RetryLater /  │  └─ lease expired       └─ moot/expiry/dismiss ──► expired | dismissed
       └── failed ◄──────┘     (crash): reclaimed
           (attempts, last_error, ready_at = back-off)

    Transient errors (RetryLater, a provider or network error) back off and retry; bad data
    (BadData: e.g. a recipient address the mail format refuses), a permanent provider
    error and a ValueError-like fault fail the op for good with the error recorded.

    skipped: an update/delete/confirm that must not happen (the person edited or sent the
    item, it is already gone, or the item at that id does not carry rapportd's tag itself:
    ``last_error`` then starts with "not ours").

Exactly one item per suggestion, across retries, crashes and racing workers:

1. a worker *claims* the row with one conditional UPDATE (pending/failed and ready, or
   writing with an expired lease) that sets ``lease_owner``/``lease_until``; a second
   worker's UPDATE matches no row and it walks away;
2. before creating, it asks the provider for an item carrying the tag
   (``find_draft`` / ``find_hold``) and adopts it if there is one (a crash after the
   create but before the record); the connector checks the tag on the item itself, never
   trusting the provider's filter, and every update/confirm/delete checks it again;
3. it records ``provider_item_id`` and ``written_hash`` only while it still holds the lease.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.errors import (
    BadData,
    Conflict,
    NotFound,
    NotOurs,
    PermanentError,
    ProviderError,
    ReconsentNeeded,
    RetryLater,
)
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.records import Connector, ItemState, draft_hash, hold_hash
from rapportd.agent.outbox.queue import draft_spec, hold_spec
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account, OutboxOperation, Suggestion
from rapportd.agent.suggest.feedback import apply_fate, note_state

log = get_logger(__name__)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 8
DEFER = timedelta(seconds=60)
RECONSENT_WAIT = timedelta(hours=1)

StepHook = Callable[[str], None]


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(3600, 30 * 2 ** max(0, attempts - 1)))


def _ready_clause(now: datetime) -> Any:
    return or_(
        and_(
            OutboxOperation.state.in_(("pending", "failed")),
            OutboxOperation.ready_at <= now,
            OutboxOperation.attempts < MAX_ATTEMPTS,
        ),
        and_(
            OutboxOperation.state == "writing",
            or_(OutboxOperation.lease_until.is_(None), OutboxOperation.lease_until < now),
        ),
    )


def ready_operations(
    session: Session, *, now: datetime, limit: int = 100, owner_id: int | None = None
) -> list[int]:
    """Ids of the ops a worker may take now (including ones whose worker died mid-write);
    ``owner_id`` narrows them to one owner's."""
    query = select(OutboxOperation.id).where(_ready_clause(now))
    if owner_id is not None:
        query = query.where(OutboxOperation.owner_id == owner_id)
    return list(
        session.scalars(query.order_by(OutboxOperation.ready_at, OutboxOperation.id).limit(limit))
    )


@dataclass
class _Job:
    op_id: int
    op: str
    tag: str
    payload: dict[str, Any]
    account: Account
    create_state: str = ""  # the state of the suggestion's create op (for follow-up ops)
    item_id: str = ""  # the written item's provider id
    written_hash: str = ""


@dataclass
class _Result:
    state: str  # written | skipped
    item: ItemState | None = None
    written_hash: str = ""
    note: str = ""
    create_state: str | None = None  # new state for the create op
    fate_state: ItemState | None = None  # what the mailbox showed, for apply_fate


class _Defer(Exception):
    """The op cannot run yet (its create op is still being written)."""


def _claim(factory: sessionmaker[Session], op_id: int, me: str, now: datetime) -> _Job | str:
    with transaction(factory) as session:
        res = session.execute(
            update(OutboxOperation)
            .where(OutboxOperation.id == op_id, _ready_clause(now))
            .values(
                state="writing",
                lease_owner=me,
                lease_until=now + LEASE,
                attempts=OutboxOperation.attempts + 1,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if res.rowcount != 1:
            row = session.get(OutboxOperation, op_id)
            return row.state if row is not None else "missing"
        op = session.get(OutboxOperation, op_id)
        assert op is not None
        session.refresh(op)
        account = session.get(Account, op.account_id)
        assert account is not None
        job = _Job(op.id, op.op, op.tag, dict(op.payload or {}), account)
        if not op.op.startswith("create_"):
            create = _create_op(session, op)
            if create is not None:
                job.create_state = create.state
                job.item_id = create.provider_item_id
                job.written_hash = create.written_hash
        session.expunge(account)
        return job


def _create_op(session: Session, op: OutboxOperation) -> OutboxOperation | None:
    name = "create_hold" if op.op.endswith("_hold") else "create_draft"
    return session.scalars(
        select(OutboxOperation).where(
            OutboxOperation.owner_id == op.owner_id,
            OutboxOperation.tag == op.tag,
            OutboxOperation.op == name,
        )
    ).first()


def _perform(job: _Job, conn: Connector, step: StepHook) -> _Result:
    if job.op == "create_draft":
        spec = draft_spec(job.tag, job.payload)
        found = conn.find_draft(job.tag)
        if found is None or not found.exists:
            step("before_write")
            found = conn.create_draft(spec)
            step("after_write")
        return _Result("written", found, draft_hash(spec))
    if job.op == "create_hold":
        hspec = hold_spec(job.tag, job.payload)
        found = conn.find_hold(job.tag)
        if found is None or not found.exists:
            step("before_write")
            found = conn.create_hold(hspec)
            step("after_write")
        return _Result("written", found, hold_hash(hspec))
    # follow-up ops need the item their create op wrote
    if job.create_state in ("pending", "writing", "failed"):
        if job.op.startswith("delete_") and job.create_state in ("pending", "failed"):
            return _Result(
                "written",
                note="cancelled before it was written",
                create_state=job.payload.get("final", "expired"),
            )
        raise _Defer
    if job.create_state != "written" or not job.item_id:
        return _Result(
            "skipped", note=f"nothing to act on (create op {job.create_state or 'missing'})"
        )
    is_hold = job.op.endswith("_hold")
    now_state = (
        conn.hold_state(job.item_id, job.tag) if is_hold else conn.draft_state(job.item_id, job.tag)
    )
    gone = not now_state.exists or now_state.status in ("deleted", "cancelled")
    if not gone and now_state.status != "sent" and now_state.tag != job.tag:
        raise NotOurs(
            f"item {job.item_id} carries {now_state.tag or 'no rapportd tag'!r}, not {job.tag!r}"
        )
    touched = bool(now_state.content_hash and now_state.content_hash != job.written_hash)
    if (
        gone
        or (not is_hold and now_state.status == "sent")
        or (is_hold and now_state.status == "confirmed" and job.op != "confirm_hold")
    ):
        return _Result("skipped", note="the person already acted on it", fate_state=now_state)
    if job.op == "confirm_hold":
        step("before_write")
        item = conn.confirm_hold(job.item_id, tag=job.tag)
        step("after_write")
        return _Result("written", item, create_state="confirmed")
    if touched:
        return _Result("skipped", note="edited by the person; left in place", fate_state=now_state)
    # The connector re-checks the hash at the moment of writing (``expected_hash``), which
    # closes the window between the look above and the write: an edit made in between
    # raises Conflict and the item is left as the person has it.
    expected = job.written_hash or None
    if job.op == "update_draft":
        spec = draft_spec(job.tag, job.payload)
        step("before_write")
        try:
            item = conn.update_draft(job.item_id, spec, expected_hash=expected)
        except Conflict:
            return _Result("skipped", note="edited by the person; left in place")
        step("after_write")
        return _Result("written", item, draft_hash(spec))
    if job.op in ("delete_draft", "delete_hold"):
        step("before_write")
        try:
            with contextlib.suppress(NotFound):
                if is_hold:
                    conn.delete_hold(job.item_id, tag=job.tag, expected_hash=expected)
                else:
                    conn.delete_draft(job.item_id, tag=job.tag, expected_hash=expected)
        except Conflict:
            return _Result("skipped", note="edited by the person; left in place")
        step("after_write")
        return _Result("written", create_state=job.payload.get("final", "expired"))
    raise PermanentError(f"unknown outbox op {job.op!r}")


def _record(
    factory: sessionmaker[Session], job: _Job, me: str, now: datetime, result: _Result
) -> str:
    with transaction(factory) as session:
        op = session.get(OutboxOperation, job.op_id)
        if op is None or op.lease_owner != me or op.state != "writing":
            return (
                op.state if op is not None else "missing"
            )  # lost the lease: the other worker records
        op.state = result.state
        op.lease_owner = None
        op.lease_until = None
        op.last_error = result.note
        op.updated_at = now
        s = session.get(Suggestion, op.suggestion_id)
        assert s is not None
        if op.op.startswith("create_") and result.item is not None:
            op.provider_item_id = result.item.provider_id
            op.provider_thread_id = result.item.thread_id
            op.written_hash = result.written_hash
            op.written_at = now
            op.web_link = result.item.web_link or op.web_link
            if s.status in ("proposed", "pending", "accepted"):
                s.status = "written" if s.status != "accepted" else "accepted"
            return op.state
        create = _create_op(session, op)
        if create is None:
            return op.state
        if result.fate_state is not None:
            if create.state == "written":
                apply_fate(session, create, s, result.fate_state, now=now)
            else:
                note_state(create, result.fate_state, now=now, edited=True)
        if op.op == "update_draft" and result.state == "written":
            create.written_hash = result.written_hash
            if result.item is not None and result.item.provider_id:
                create.provider_item_id = result.item.provider_id
            if result.item is not None and result.item.web_link:
                create.web_link = result.item.web_link  # Gmail: an update is a new message
            note_state(
                create, result.item or ItemState(create.provider_item_id), now=now, edited=False
            )
        if result.create_state is not None and create.state in ("written", "pending", "failed"):
            create.state = result.create_state
        elif result.create_state is not None and create.state == "writing":
            # the create was claimed meanwhile: delete once it is recorded
            op.state, op.ready_at = "pending", now + DEFER
        if op.op == "confirm_hold" and result.state == "written":
            s.status = "accepted"
        return op.state


def _fail(
    factory: sessionmaker[Session],
    job: _Job,
    me: str,
    now: datetime,
    exc: BaseException,
    *,
    permanent: bool,
    wait: timedelta | None = None,
    count: bool = True,
) -> str:
    with transaction(factory) as session:
        op = session.get(OutboxOperation, job.op_id)
        if op is None or op.lease_owner != me:
            return op.state if op is not None else "missing"
        op.lease_owner = None
        op.lease_until = None
        op.updated_at = now
        if not count:
            op.attempts = max(0, op.attempts - 1)
            op.state = "pending"
            op.ready_at = now + (wait or DEFER)
            return op.state
        op.state = "failed"
        op.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if permanent:
            op.attempts = max(op.attempts, MAX_ATTEMPTS)
        op.ready_at = now + (wait or backoff(op.attempts))
        return op.state


def process_operation(
    session_factory: sessionmaker[Session],
    op_id: int,
    connector_factory: Callable[[Account], Connector],
    *,
    now: datetime,
    worker: str | None = None,
    on_step: StepHook | None = None,
) -> str:
    """Run one op (if it is ready and nobody else holds it); return its new state.

    ``on_step`` is called with ``"claimed"``, ``"before_write"``, ``"after_write"`` and
    ``"recorded"``; tests raise from it to simulate a crash at that point.
    """
    me = worker or uuid.uuid4().hex
    step: StepHook = on_step or (lambda _name: None)
    claimed = _claim(session_factory, op_id, me, now)
    if isinstance(claimed, str):
        return claimed
    job = claimed
    step("claimed")
    try:
        conn = connector_factory(job.account)
        result = _perform(job, conn, step)
    except _Defer:
        return _fail(
            session_factory, job, me, now, RuntimeError("waiting"), permanent=False, count=False
        )
    except RetryLater as exc:
        wait = timedelta(seconds=exc.retry_after) if exc.retry_after else None
        log.info("outbox_retry_later", op_id=op_id, error=str(exc))
        return _fail(session_factory, job, me, now, exc, permanent=False, wait=wait)
    except ReconsentNeeded as exc:
        return _fail(session_factory, job, me, now, exc, permanent=False, wait=RECONSENT_WAIT)
    except (PermanentError, Conflict) as exc:
        log.warning("outbox_permanent_error", op_id=op_id, error=str(exc))
        return _fail(session_factory, job, me, now, exc, permanent=True)
    except NotFound as exc:
        result = _Result("skipped", note=f"gone: {exc}")
    except NotOurs as exc:  # never touch an item that does not carry our tag itself
        log.warning("outbox_not_ours", op_id=op_id, op=job.op, error=str(exc))
        result = _Result("skipped", note=f"not ours, left in place: {exc}"[:2000])
    except (ProviderError, OSError) as exc:
        return _fail(session_factory, job, me, now, exc, permanent=False)
    except BadData as exc:  # what we would write is refused (an address the format rejects)
        log.warning("outbox_bad_data", op_id=op_id, error=str(exc))
        return _fail(session_factory, job, me, now, exc, permanent=True)
    except (ValueError, TypeError, LookupError, AttributeError, UnicodeError) as exc:
        # A fault in what is being written that retrying will not mend (found on real mail:
        # the email library's InvalidHeaderDefect, a ValueError). Fail the op with its
        # reason, never leave it in ``writing`` to be reclaimed and fail again each time its
        # lease runs out. Infrastructure errors (the database, the broker's time limit) are
        # not caught here: the queue's retry policy decides about those.
        log.error("outbox_unexpected_error", op_id=op_id, error=f"{type(exc).__name__}: {exc}")
        return _fail(session_factory, job, me, now, exc, permanent=True)
    state = _record(session_factory, job, me, now, result)
    step("recorded")
    log.info("outbox_op_done", op_id=op_id, op=job.op, state=state)
    return state
