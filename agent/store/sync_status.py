"""Which streams of an owner's accounts have not finished a full pass yet, and why.

An owner is analysed for every kind only when every stream (Gmail and Google Calendar; the
Outlook inbox, sent items and calendar) of every syncable account finished its backfill
(``SyncCursor.last_verified_complete_at``): a plan made on half a mailbox (the calendar
synced, the mail not) would act on half the evidence.

Recent first (``sync.recent_days``, issue 18): each stream syncs its last days before the
rest. Once that window of every stream of every syncable account is in
(``SyncCursor.recent_complete_at``), the owner is analysed and planned for the kinds such a
window supports (:data:`WINDOW_KINDS`): the window is complete, never half synced. The
accounts page and ``rapportd accounts list`` show what is awaited: "waiting for Gmail to
finish (retrying: <reason>)", then "last 14 days synced; older history: syncing".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent.core.records import PROVIDER_STREAMS, STREAM_NAMES
from rapportd.agent.store.models import Account, SyncCursor

SYNCABLE = ("ok", "error")
# What a complete recent window supports: replies owed, promises (the owner's and the ones
# owed to them), thank-yous for this week's meetings, promise holds. Check-ins and
# reconnect holds need the contact's history (its rhythm): they wait for the whole backfill.
WINDOW_KINDS = ("reply_needed", "promise_follow_up", "nudge", "thank_you", "promise_hold")
Scope = Literal["full", "recent", "waiting"]


@dataclass(frozen=True)
class StreamWait:
    account_id: int
    address: str
    stream: str
    retrying: str = ""  # the reason its last pass failed ("" while it simply runs)
    recent_done: bool = False  # its recent window is in; the older history is not

    @property
    def name(self) -> str:
        return STREAM_NAMES.get(self.stream, self.stream)

    @property
    def text(self) -> str:
        reason = f" (retrying: {self.retrying})" if self.retrying else ""
        return f"waiting for {self.name} to finish{reason}"


def unfinished_streams(
    session: Session, owner_id: int, *, account_id: int | None = None
) -> list[StreamWait]:
    """The streams of the owner's syncable accounts (or of one account) without a
    finished full pass, in account and stream order."""
    query = select(Account).where(Account.owner_id == owner_id, Account.status.in_(SYNCABLE))
    if account_id is not None:
        query = query.where(Account.id == account_id)
    accounts = list(session.scalars(query.order_by(Account.id)))
    if not accounts:
        return []
    cursors = {
        (c.account_id, c.stream): c
        for c in session.scalars(
            select(SyncCursor).where(SyncCursor.account_id.in_([a.id for a in accounts]))
        )
    }
    out = []
    for account in accounts:
        for stream in PROVIDER_STREAMS.get(account.provider, ()):
            row = cursors.get((account.id, stream))
            if row is None or row.last_verified_complete_at is None:
                retrying = row.last_error if row is not None else ""
                recent = row is not None and row.recent_complete_at is not None
                out.append(StreamWait(account.id, account.address, stream, retrying, recent))
    return out


def sync_scope(session: Session, owner_id: int, *, window_days: int) -> Scope:
    """``full``: every stream finished its backfill (every kind may be planned);
    ``recent``: every stream's recent window of ``window_days`` is in (the window's kinds);
    ``waiting``: at least one stream has not even that (nothing is planned)."""
    waits = unfinished_streams(session, owner_id)
    if not waits:
        return "full"
    if window_days > 0 and all(w.recent_done for w in waits):
        return "recent"
    return "waiting"


def waiting_text(waits: list[StreamWait], *, window_days: int = 0) -> str:
    """One line for an account: what it waits for, "" when every stream is complete."""
    if not waits:
        return ""
    pending = [w for w in waits if not w.recent_done or window_days <= 0]
    if pending:
        return "; ".join(w.text for w in pending)
    text = f"last {window_days} days synced; older history: syncing"
    return text + "".join(f"; {w.name} retrying: {w.retrying}" for w in waits if w.retrying)
