"""What the sync's store writer tells the analysis, in the batch's own transaction: which
contacts have new data (``Contact.dirty``) and that the owner is due for analysis.

Kept apart from :mod:`.analyse` so that storing a batch needs nothing of the analysis itself.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rapportd.agent.core import clock
from rapportd.agent.store.models import Contact, ContactIdentity, Owner


def mark_dirty(session: Session, owner_id: int, addresses: Iterable[str]) -> int:
    """Flag the contacts behind ``addresses`` for re-analysis; called by the connectors'
    store writer after storing messages or events. Unknown addresses need nothing: the next
    analysis finds them and creates their contacts. Returns how many contacts were flagged."""
    addrs = sorted({a.strip().lower() for a in addresses if a and a.strip()})
    flagged = 0
    for i in range(0, len(addrs), 500):
        chunk = addrs[i : i + 500]
        ids = select(ContactIdentity.contact_id).where(
            ContactIdentity.owner_id == owner_id, ContactIdentity.address.in_(chunk)
        )
        result = session.execute(
            update(Contact)
            .where(Contact.owner_id == owner_id, Contact.id.in_(ids), Contact.dirty.is_(False))
            .values(dirty=True)
            .execution_options(synchronize_session=False)
        )
        flagged += int(getattr(result, "rowcount", 0) or 0)
    mark_due(session, owner_id)
    return flagged


def mark_due(session: Session, owner_id: int) -> None:
    """The owner's analysis is due now (something was stored or deleted); a due time
    already earlier stays."""
    now = clock.now()
    session.execute(
        update(Owner)
        .where(Owner.id == owner_id)
        .where((Owner.analysis_due_at.is_(None)) | (Owner.analysis_due_at > now))
        .values(analysis_due_at=now)
        .execution_options(synchronize_session=False)
    )
