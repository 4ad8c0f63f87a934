"""Persist one SyncBatch: records, deletions, skipped items and the cursor, in ONE transaction.

The caller owns the transaction (``with transaction(sessions) as session``); everything here
only adds to it, so a crash at any point leaves either all of a batch or none of it, and the
cursor always matches the records it covers. Upserts key on (account_id, provider_id), so
a batch applied twice (after a crash, or by a re-sync) changes nothing the second time.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from rapportd.agent.analysis.dirty import mark_dirty, mark_due
from rapportd.agent.core import clock
from rapportd.agent.core.records import PROVIDER_STREAMS, EventRecord, MessageRecord, SyncBatch
from rapportd.agent.store.models import (
    Account,
    CalendarEvent,
    Message,
    SkippedItem,
    SyncCursor,
)

EVENT_STREAMS = {"gcal", "graph_calendar"}
STREAM_FOLDER = {"graph_inbox": "inbox", "graph_sentitems": "sentitems"}
BULK_PRECEDENCE = {"bulk", "list", "junk"}
AUTOMATED_LOCALPARTS = (
    "noreply",
    "no-reply",
    "donotreply",
    "do-not-reply",
    "mailer-daemon",
    "notifications",
)


@dataclass
class Applied:
    """What one batch changed."""

    upserted: int = 0
    deleted: int = 0
    skipped: int = 0
    addresses: set[str] = field(default_factory=set)


def _message_values(rec: MessageRecord) -> dict[str, Any]:
    sender = rec.sender
    local = sender.email.split("@")[0] if sender else ""
    return {
        "thread_id": rec.thread_id[:300],
        "rfc822_id": rec.rfc822_id[:998],
        "in_reply_to": rec.in_reply_to[:998],
        "references": list(rec.references)[-50:],
        "from_addr": sender.email[:320] if sender else "",
        "from_name": sender.name[:300] if sender else "",
        "to_addrs": [{"email": a.email, "name": a.name} for a in rec.to],
        "cc_addrs": [{"email": a.email, "name": a.name} for a in rec.cc],
        "reply_to": rec.reply_to[:320],
        "sent_at": rec.sent_at,
        "tz_offset_minutes": rec.tz_offset_minutes,
        "subject": rec.subject,
        "direction": rec.direction,
        "labels": sorted(rec.labels),
        "folder": rec.folder[:60],
        "list_id": rec.list_id[:300],
        "list_unsubscribe": rec.list_unsubscribe,
        "precedence": rec.precedence[:30],
        "auto_submitted": rec.auto_submitted[:60],
        "is_bulk": bool(rec.list_id or rec.list_unsubscribe or rec.precedence in BULK_PRECEDENCE),
        "is_automated": bool(
            (rec.auto_submitted and rec.auto_submitted != "no")
            or any(local.startswith(p) for p in AUTOMATED_LOCALPARTS)
        ),
        "has_attachments": rec.has_attachments,
        "size_bytes": rec.size_bytes,
        "problems": list(rec.problems),
        "rapportd_tag": rec.rapportd_tag[:200],
        "deleted": False,
    }


def _text_values(rec: MessageRecord) -> dict[str, Any]:
    return {
        "new_text": rec.new_text,
        "has_text": rec.has_text,
        "text_truncated": rec.text_truncated,
        "word_count": len(rec.new_text.split()),
    }


def _event_values(rec: EventRecord) -> dict[str, Any]:
    return {
        "ical_uid": rec.ical_uid[:1024],
        "series_id": rec.series_id[:1024],
        "original_start_at": rec.original_start_at,
        "start_at": rec.start_at,
        "end_at": rec.end_at,
        "all_day": rec.all_day,
        "timezone": rec.timezone[:64],
        "status": rec.status,
        "summary": rec.summary,
        "organizer": rec.organizer[:320],
        "organizer_is_self": rec.organizer_is_self,
        "attendees": [
            {
                "email": a.email,
                "name": a.name,
                "response": a.response,
                "self": a.is_self,
                "optional": a.optional,
                "organizer": a.is_organizer,
            }
            for a in rec.attendees
        ],
        "self_response": rec.self_response[:20],
        "transparency": rec.transparency[:20],
        "is_recurring": rec.is_recurring,
        "rapportd_tag": rec.rapportd_tag[:200],
        "web_link": rec.web_link,
        "problems": list(rec.problems),
        "deleted": False,
    }


def _assign(row: Any, values: dict[str, Any]) -> bool:
    changed = False
    for key, value in values.items():
        if getattr(row, key) != value:
            setattr(row, key, value)
            changed = True
    return changed


def _message_addresses(row: Message) -> set[str]:
    out = {row.from_addr} if row.from_addr else set()
    out.update(a["email"] for a in [*row.to_addrs, *row.cc_addrs] if a.get("email"))
    return out


def _upsert_messages(
    session: Session, account: Account, records: list[MessageRecord], applied: Applied
) -> None:
    if not records:
        return
    ids = [r.provider_id for r in records]
    existing = {
        m.provider_id: m
        for m in session.scalars(
            select(Message).where(Message.account_id == account.id, Message.provider_id.in_(ids))
        )
    }
    for rec in records:
        values = _message_values(rec)
        if rec.has_text:
            values.update(_text_values(rec))
        row = existing.get(rec.provider_id)
        if row is None:
            row = Message(
                owner_id=account.owner_id, account_id=account.id, provider_id=rec.provider_id
            )
            row.references, row.to_addrs, row.cc_addrs, row.labels, row.problems = (
                [],
                [],
                [],
                [],
                [],
            )
            row.new_text, row.has_text, row.text_truncated, row.word_count = "", False, False, 0
            _assign(row, values)
            session.add(row)
            existing[rec.provider_id] = row
            changed = True
        else:
            changed = _assign(row, values)
        if changed:
            applied.upserted += 1
            applied.addresses |= _message_addresses(row)


def _upsert_events(
    session: Session, account: Account, records: list[EventRecord], applied: Applied
) -> None:
    if not records:
        return
    ids = [r.provider_id for r in records]
    existing = {
        e.provider_id: e
        for e in session.scalars(
            select(CalendarEvent).where(
                CalendarEvent.account_id == account.id, CalendarEvent.provider_id.in_(ids)
            )
        )
    }
    for rec in records:
        values = _event_values(rec)
        row = existing.get(rec.provider_id)
        if row is None:
            row = CalendarEvent(
                owner_id=account.owner_id, account_id=account.id, provider_id=rec.provider_id
            )
            row.attendees, row.problems = [], []
            _assign(row, values)
            session.add(row)
            existing[rec.provider_id] = row
            changed = True
        else:
            changed = _assign(row, values)
        if changed:
            applied.upserted += 1
            applied.addresses |= {a["email"] for a in row.attendees}
            if rec.organizer:
                applied.addresses.add(rec.organizer)


def _scope(account: Account, stream: str) -> Any:
    if stream in EVENT_STREAMS:
        return CalendarEvent, [CalendarEvent.account_id == account.id]
    conditions = [Message.account_id == account.id]
    if stream in STREAM_FOLDER:
        conditions.append(Message.folder == STREAM_FOLDER[stream])
    return Message, conditions


def _mark_deleted(
    session: Session, account: Account, stream: str, ids: Iterable[str], applied: Applied
) -> None:
    ids = list(dict.fromkeys(ids))
    if not ids:
        return
    model, conditions = _scope(account, stream)
    if stream in STREAM_FOLDER:  # a message that left the folder: only this folder's copy
        conditions = conditions[:1] + conditions[1:]
    for start in range(0, len(ids), 500):
        rows = session.scalars(
            select(model).where(
                *conditions,
                model.provider_id.in_(ids[start : start + 500]),
                model.deleted.is_(False),
            )
        ).all()
        for row in rows:
            row.deleted = True
            applied.deleted += 1
            if isinstance(row, Message):
                applied.addresses |= _message_addresses(row)


def _reconcile(session: Session, account: Account, batch: SyncBatch, applied: Applied) -> None:
    """Stored live items of the stream that the provider no longer lists are deleted."""
    assert batch.present_ids is not None
    present = set(batch.present_ids)
    model, conditions = _scope(account, batch.stream)
    if batch.present_window is not None and model is CalendarEvent:
        start, end = batch.present_window
        conditions += [CalendarEvent.start_at >= start, CalendarEvent.start_at < end]
    stored = session.scalars(
        select(model.provider_id).where(*conditions, model.deleted.is_(False))
    ).all()
    gone = [pid for pid in stored if pid not in present]
    _mark_deleted(session, account, batch.stream, gone, applied)


def _skip(session: Session, account: Account, batch: SyncBatch, applied: Applied) -> None:
    """Record the batch's skipped items (a reconcile may bring thousands: the messages
    older than the sync window), looked up 500 at a time."""
    items = list({item.provider_id[:1024]: item for item in batch.skipped}.items())
    for start in range(0, len(items), 500):
        chunk = items[start : start + 500]
        existing = {
            row.provider_id: row
            for row in session.scalars(
                select(SkippedItem).where(
                    SkippedItem.account_id == account.id,
                    SkippedItem.stream == batch.stream,
                    SkippedItem.provider_id.in_([pid for pid, _ in chunk]),
                )
            )
        }
        for pid, item in chunk:
            row = existing.get(pid)
            if row is None:
                session.add(
                    SkippedItem(
                        owner_id=account.owner_id,
                        account_id=account.id,
                        stream=batch.stream,
                        provider_id=pid,
                        reason=item.reason,
                    )
                )
            else:
                row.reason, row.seen_at = item.reason, clock.now()
            applied.skipped += 1


def _unskip(session: Session, account: Account, batch: SyncBatch) -> None:
    """An item stored now is no longer skipped: its old skip record goes."""
    ids = [r.provider_id for r in batch.messages] + [r.provider_id for r in batch.events]
    for start in range(0, len(ids), 500):
        session.execute(
            delete(SkippedItem)
            .where(
                SkippedItem.account_id == account.id,
                SkippedItem.stream == batch.stream,
                SkippedItem.provider_id.in_(ids[start : start + 500]),
            )
            .execution_options(synchronize_session=False)
        )


def save_cursor(session: Session, account: Account, batch: SyncBatch) -> SyncCursor:
    row = session.scalar(
        select(SyncCursor).where(
            SyncCursor.account_id == account.id, SyncCursor.stream == batch.stream
        )
    )
    if row is None:
        row = SyncCursor(owner_id=account.owner_id, account_id=account.id, stream=batch.stream)
        row.generation = 0
        session.add(row)
    if batch.resync:
        row.generation = (row.generation or 0) + 1
        row.backfill_started_at = clock.now()
    if row.backfill_started_at is None and batch.cursor.phase == "backfill":
        row.backfill_started_at = clock.now()
    row.phase = batch.cursor.phase
    row.cursor = batch.cursor.cursor
    row.page_token = batch.cursor.page_token
    return row


def persist(session: Session, account: Account, batch: SyncBatch) -> Applied:
    """Apply ``batch`` and its cursor inside the caller's transaction."""
    applied = Applied()
    _upsert_messages(session, account, batch.messages, applied)
    _upsert_events(session, account, batch.events, applied)
    session.flush()
    _mark_deleted(session, account, batch.stream, batch.deleted, applied)
    if batch.present_ids is not None:
        session.flush()
        _reconcile(session, account, batch, applied)
    _unskip(session, account, batch)
    _skip(session, account, batch, applied)
    cursor = save_cursor(session, account, batch)
    if batch.recent_complete and cursor.recent_complete_at is None:
        # the stream's recent window is in (sync.recent_days): enough for the window's kinds
        cursor.recent_complete_at = clock.now()
    if batch.present_ids is not None or (
        cursor.phase == "delta" and cursor.last_verified_complete_at is None
    ):
        # a full pass of the stream ends here (every connector's backfill ends with the
        # whole id list, resumed or not); a stream found in its delta phase without the mark
        # (a cursor written by an older version) has finished its backfill too
        _stream_complete(session, account, cursor)
    applied.addresses.discard("")
    if applied.addresses:
        mark_dirty(session, account.owner_id, applied.addresses)
    if applied.upserted or applied.deleted:
        mark_due(session, account.owner_id)  # news for the analysis, with the batch
    return applied


def _stream_complete(session: Session, account: Account, cursor: SyncCursor) -> None:
    """The stream finished a full pass; the account is verified complete only when every
    one of its streams has (``PROVIDER_STREAMS``)."""
    now = clock.now()
    cursor.last_verified_complete_at = now
    if cursor.recent_complete_at is None:  # a full pass holds the recent window too
        cursor.recent_complete_at = now
    cursor.last_error, cursor.consecutive_errors = "", 0
    session.flush()
    done = set(
        session.scalars(
            select(SyncCursor.stream).where(
                SyncCursor.account_id == account.id,
                SyncCursor.last_verified_complete_at.is_not(None),
            )
        )
    )
    if set(PROVIDER_STREAMS.get(account.provider, ())) <= done:
        account.last_verified_complete_at = now


def note_stream(session: Session, account: Account, stream: str, error: str) -> None:
    """Record how a pass of ``stream`` ended: ``error`` ("" when it ended well) is what the
    accounts page shows while the stream has not finished ("retrying: …")."""
    row = session.scalar(
        select(SyncCursor).where(SyncCursor.account_id == account.id, SyncCursor.stream == stream)
    )
    if row is None:
        row = SyncCursor(
            owner_id=account.owner_id, account_id=account.id, stream=stream, phase="backfill"
        )
        row.generation, row.consecutive_errors = 0, 0
        session.add(row)
    if error:
        row.last_error = error[:500]
        row.consecutive_errors = (row.consecutive_errors or 0) + 1
    else:
        row.last_error, row.consecutive_errors = "", 0


def load_cursor(session: Session, account_id: int, stream: str) -> Any:
    from rapportd.agent.core.records import CursorState

    row = session.scalar(
        select(SyncCursor).where(SyncCursor.account_id == account_id, SyncCursor.stream == stream)
    )
    if row is None or (row.phase == "backfill" and row.cursor is None and row.page_token is None):
        return None
    phase = "delta" if row.phase == "delta" else "backfill"
    return CursorState(phase, row.cursor, row.page_token)


def reset_cursor(session: Session, account_id: int, stream: str) -> None:
    session.execute(
        update(SyncCursor)
        .where(SyncCursor.account_id == account_id, SyncCursor.stream == stream)
        .values(phase="backfill", cursor=None, page_token=None)
    )
