"""Which streams of an owner's accounts have not finished a full pass yet, and why.

An owner is analysed only when every stream (Gmail and Google Calendar; the Outlook inbox,
sent items and calendar) of every syncable account finished its backfill
(``SyncCursor.last_verified_complete_at``): a plan made on half a mailbox (the calendar
synced, the mail not) would act on half the evidence. The accounts page and
``rapportd accounts list`` show what is awaited: "waiting for Gmail to finish (retrying:
<reason>)".
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rapportd.agent.records import PROVIDER_STREAMS, STREAM_NAMES
from rapportd.agent.store.models import Account, SyncCursor

SYNCABLE = ("ok", "error")


@dataclass(frozen=True)
class StreamWait:
    account_id: int
    address: str
    stream: str
    retrying: str = ""  # the reason its last pass failed ("" while it simply runs)

    @property
    def text(self) -> str:
        name = STREAM_NAMES.get(self.stream, self.stream)
        reason = f" (retrying: {self.retrying})" if self.retrying else ""
        return f"waiting for {name} to finish{reason}"


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
                out.append(StreamWait(account.id, account.address, stream, retrying))
    return out


def waiting_text(waits: list[StreamWait]) -> str:
    """One line for an account: what it waits for, "" when every stream is complete."""
    return "; ".join(w.text for w in waits)
