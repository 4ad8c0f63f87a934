"""Keep ``Account.aliases`` in step with the provider's list of the owner's addresses.

``sync_account`` calls :func:`refresh_aliases` before its streams. It asks the connector
(:meth:`~rapportd.agent.core.records.Connector.own_addresses`: Gmail send-as, Graph
proxyAddresses) on an account's first sync and then at most once a day
(``Account.aliases_checked_at``), so a new alias is known before the mail that uses it is
read. What it stores:

- ``Account.aliases``: every address the provider listed except the account's own, lower
  case, sorted. An empty answer (the scope was not granted, 403/404) keeps what was there.
- ``Account.display_name``: the name the provider keeps for the primary address, when it
  has one.
- When the list changed, the contacts behind the added and removed addresses are flagged
  and the owner's analysis is due (:func:`rapportd.agent.analysis.dirty.mark_dirty`): who counts as the owner moved.

A provider error (throttled past the client's retries, a revoked grant, a refusal other
than 403) is logged and the sync goes on; the next sync asks again.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.analysis.dirty import mark_dirty
from rapportd.agent.core import clock
from rapportd.agent.core.errors import ProviderError
from rapportd.agent.core.logs import get_logger
from rapportd.agent.core.records import Connector, OwnAddress
from rapportd.agent.store.db import transaction
from rapportd.agent.store.models import Account

log = get_logger(__name__)
REFRESH_EVERY = timedelta(days=1)


def refresh_aliases(sessions: sessionmaker[Session], account_id: int, connector: Connector) -> bool:
    """Read and store the provider's addresses of the owner when due; True if they changed."""
    now = clock.now()
    with transaction(sessions) as session:
        account = session.get(Account, account_id)
        if account is None:
            return False
        checked = account.aliases_checked_at
        if checked is not None and now - checked < REFRESH_EVERY:
            return False
    try:
        found = connector.own_addresses()
    except ProviderError as exc:
        log.warning(
            "aliases.refresh_failed",
            account_id=account_id,
            error_kind=type(exc).__name__,
            error=str(exc),
        )
        return False
    with transaction(sessions) as session:
        account = session.get(Account, account_id)
        if account is None:
            return False
        account.aliases_checked_at = now
        return _store(session, account, found)


def _store(session: Session, account: Account, found: list[OwnAddress]) -> bool:
    if not found:  # the provider would not say: what we knew still holds
        return False
    own = account.address.lower()
    primary = next((a for a in found if a.primary), None)
    if primary is not None and primary.name and primary.name != account.display_name:
        account.display_name = primary.name[:200]
    new = sorted({a.address for a in found} - {own})
    old = sorted({str(x).lower() for x in account.aliases or []})
    if new == old:
        return False
    account.aliases = new
    changed = set(new) ^ set(old)
    mark_dirty(session, account.owner_id, changed)
    log.info(
        "aliases.changed",
        account_id=account.id,
        added=sorted(set(new) - set(old)),
        removed=sorted(set(old) - set(new)),
        sources=sorted({a.source for a in found}),
    )
    return True
