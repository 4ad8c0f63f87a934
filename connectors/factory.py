"""Build the connector for an Account row, and keep its (encrypted) tokens up to date."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from rapportd.agent.core.errors import ConfigError
from rapportd.agent.core.records import Connector
from rapportd.agent.core.settings import Settings
from rapportd.agent.core.vault import vault_from_settings
from rapportd.agent.store.models import Account
from rapportd.connectors.ratelimit import DbLimiter, Limiter, MemoryLimiter
from rapportd.connectors.tokens import dump_blob, google_credentials, load_blob

_MEMORY = MemoryLimiter()


def limiter_for(session: Session | None, owner_id: int | None) -> Limiter:
    """The quota limiter: in the database (shared by every worker) when a session is given."""
    if session is None:
        return _MEMORY
    return DbLimiter(sessionmaker(bind=session.get_bind()), owner_id=owner_id)


def connector_for(
    account: Account, settings: Settings, session: Session | None = None
) -> Connector:
    """The Google or Microsoft connector for ``account`` (tokens decrypted with the vault)."""
    vault = vault_from_settings(settings)
    data = load_blob(vault, account.token_blob)
    limiter = limiter_for(session, account.owner_id)
    if account.provider == "google":
        from rapportd.connectors.google import GoogleConnector

        return GoogleConnector(
            settings,
            google_credentials(settings, data),
            account.address,
            aliases=list(account.aliases or []),
            limiter=limiter,
            bucket=f"google:{account.id}",
        )
    if account.provider == "microsoft":
        from rapportd.connectors.microsoft import MicrosoftConnector

        return MicrosoftConnector(
            settings,
            data,
            account.address,
            aliases=list(account.aliases or []),
            limiter=limiter,
            bucket=f"microsoft:{account.id}",
        )
    raise ConfigError(f"account {account.id}: unknown provider {account.provider!r}")


def save_tokens(
    factory: sessionmaker[Session], account_id: int, connector: Any, settings: Settings
) -> None:
    """Store the tokens ``connector`` may have refreshed (re-encrypted), after a sync or a
    write: a rotated refresh token must not be lost."""
    token_data = getattr(connector, "token_data", None)
    if not callable(token_data):
        return
    with factory() as session, session.begin():
        account = session.get(Account, account_id)
        if account is not None:
            store_tokens(account, token_data(), settings)


def store_tokens(account: Account, data: dict[str, Any], settings: Settings) -> bool:
    """Re-encrypt and store ``data`` on ``account`` when it differs; True if it changed."""
    vault = vault_from_settings(settings)
    if account.token_blob:
        try:
            if load_blob(vault, account.token_blob) == data:
                return False
        except ConfigError:
            pass
    account.token_blob = dump_blob(vault, data)
    return True
