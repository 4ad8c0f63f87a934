"""rapportd's error tree. Provider errors are translated into it once, at the connector
boundary; retry policies (dramatiq, the outbox) decide by class, never by message.

    RapportdError
     ├── ConfigError ............ a setting is wrong; stop start-up (one line)
     ├── BadData ................ an item cannot be used; record the reason, skip it, go on
     ├── ProviderError .......... something a provider answered
     │    ├── RetryLater ........ 429 / 403 rate limit / 5xx / dropped connection (retry_after)
     │    ├── CursorExpired ..... history 404 / sync token 410 / delta 410: full re-sync
     │    ├── ReconsentNeeded ... invalid_grant / interaction_required: stop, tell the person
     │    ├── NotFound .......... the item is gone (deleted by the person)
     │    ├── Conflict .......... it already exists (409), or was changed by the person
     │    ├── NotOurs ........... the item does not carry rapportd's tag: never touch it
     │    └── PermanentError .... 400 / 403 other than rate limits: do not retry
     └── SchemaError ............ the database schema is not the one this code needs
"""

from __future__ import annotations


class RapportdError(Exception):
    """Base of every error rapportd raises on purpose."""


class ConfigError(RapportdError):
    """A setting is wrong. The message names the setting and the reason, in one line."""


class BadData(RapportdError):
    """An item (message, event, seed file) cannot be used; the reason says why."""


class ProviderError(RapportdError):
    """Something a provider answered that is not what we asked for."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RetryLater(ProviderError):
    """Transient: rate limited, overloaded, or the connection dropped."""

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class CursorExpired(ProviderError):
    """The sync cursor is too old; the stream needs a full re-sync."""


class ReconsentNeeded(ProviderError):
    """The grant was revoked or expired for good; the person must connect again."""


class NotFound(ProviderError):
    """The item does not exist (any more)."""


class Conflict(ProviderError):
    """The item already exists, or the person changed it since rapportd wrote it."""


class NotOurs(ProviderError):
    """The item at that id does not carry rapportd's tag (the person's own draft or
    meeting, or a provider that answered a tag filter loosely): it is never adopted,
    changed or removed."""


class PermanentError(ProviderError):
    """A request the provider will never accept as it is; retrying does not help."""


class SchemaError(RapportdError):
    """The database schema is not the one this code needs."""


TRANSIENT: tuple[type[Exception], ...] = (RetryLater,)
