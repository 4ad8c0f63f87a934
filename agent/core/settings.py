"""rapportd's settings, read once at start-up.

Sources, highest priority first:

1. environment variables ``RAPPORTD_<NAME>`` (nested: ``RAPPORTD_GOOGLE__CLIENT_ID``);
2. a TOML file: ``RAPPORTD_CONFIG`` if set, else ``rapportd.toml`` in the user's config dir
   when it exists (``config/rapportd.toml`` in the source tree documents every default);
3. the defaults below.

A wrong value stops start-up with :class:`SettingsError`, whose message is one line naming
the setting and the reason.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings import SettingsError as PydanticSettingsError

from rapportd.agent.core.errors import ConfigError

APP_NAME = "rapportd"

SUGGESTION_KINDS = (
    "thank_you",
    "promise_hold",
    "promise_follow_up",
    "reply_needed",
    "nudge",
    "check_in",
    "reconnect_hold",
)


class SettingsError(ConfigError):
    """A setting is wrong; the message is one line that names it and says why."""


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)) / "rapportd.toml"


class GoogleSettings(BaseModel):
    """Google endpoints and OAuth client. Point ``api_root`` at the sandbox to test."""

    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    api_root: str = "https://www.googleapis.com/"
    gmail_root: str = "https://gmail.googleapis.com/"
    auth_uri: str = "https://accounts.google.com/o/oauth2/auth"
    token_uri: str = "https://oauth2.googleapis.com/token"
    redirect_uri: str = "http://127.0.0.1:8765/accounts/oauth/google/callback"
    quota_units_per_minute: int = Field(default=6000, ge=1)
    # Gmail push (a Cloud Pub/Sub push subscription posting to /push/gmail) acts only when
    # it proves itself: by ``push_token`` in the endpoint URL, by a Google-signed OIDC token
    # for ``push_audience``, or both (then both must hold). With neither, push is refused.
    push_token: SecretStr = SecretStr("")
    push_audience: str = ""
    push_service_account: str = ""
    push_certs_url: str = "https://www.googleapis.com/oauth2/v1/certs"
    # The Pub/Sub topic Gmail watches publish to ("projects/<project>/topics/<topic>"); set,
    # rapportd opens a watch per Gmail account and renews it daily. Empty: polling only.
    push_topic: str = ""

    @field_validator("push_topic")
    @classmethod
    def _topic(cls, value: str) -> str:
        if value and not re.fullmatch(r"projects/[^/\s]+/topics/[^/\s]+", value):
            raise ValueError(
                f"{value!r} is not a topic name like 'projects/my-project/topics/gmail'"
            )
        return value

    @model_validator(mode="after")
    def _push_identity(self) -> GoogleSettings:
        if self.push_service_account and not self.push_audience:
            raise ValueError(
                "push_service_account is checked inside the OIDC token: set push_audience too"
            )
        token = self.push_token.get_secret_value()
        if token and len(token) < 16:
            raise ValueError("push_token must be at least 16 characters (it is a password)")
        return self


class MicrosoftSettings(BaseModel):
    """Microsoft identity platform and Graph endpoints."""

    client_id: str = ""
    client_secret: SecretStr = SecretStr("")
    authority_host: str = "https://login.microsoftonline.com"
    tenant: str = "common"
    graph_base_url: str = "https://graph.microsoft.com/v1.0"
    redirect_uri: str = "http://127.0.0.1:8765/accounts/oauth/microsoft/callback"
    ca_file: str = ""
    max_concurrency: int = Field(default=4, ge=1, le=4)
    requests_per_10_minutes: int = Field(default=10000, ge=1)
    # Graph change notifications to <base_url>/push/graph (Graph checks the address at once
    # and needs https unless it is this machine). Off: polling only.
    push_notifications: bool = False


class LLMSettings(BaseModel):
    """An optional OpenAI-compatible endpoint for detection and drafting."""

    base_url: str = ""
    model: str = ""
    api_key: SecretStr = SecretStr("")
    timeout_seconds: float = Field(default=20.0, gt=0)

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)


class SyncSettings(BaseModel):
    backfill_days: int = Field(default=365, ge=1, le=3650)
    text_days: int = Field(default=90, ge=0, le=3650)
    max_text_chars: int = Field(default=20000, ge=100)
    interval_seconds: int = Field(default=300, ge=5)
    gmail_batch_size: int = Field(default=50, ge=1, le=100)
    graph_batch_size: int = Field(default=20, ge=1, le=20)
    # "Recent first": each stream of a new account syncs its last ``recent_days`` first; once
    # that window of every stream of every account of the owner is complete, the owner is
    # analysed and planned for the kinds such a window supports (replies owed, promises,
    # thank-yous, promise holds), then the rest of the backfill follows. 0: no such window
    # (nothing is analysed before the whole backfill, as before).
    recent_days: int = Field(default=14, ge=0, le=365)

    @property
    def recent_window_days(self) -> int:
        """The recent window in days, 0 when there is none (off, or as long as the whole
        backfill: then the first window is the backfill itself)."""
        return self.recent_days if 0 < self.recent_days < self.backfill_days else 0


class SuggestionSettings(BaseModel):
    kinds: list[str] = Field(default_factory=lambda: list(SUGGESTION_KINDS))
    drafts_per_account_per_day: int = Field(default=10, ge=0)
    quiet_hours: str = "21:00-07:00"
    working_hours: str = "09:00-17:30"
    working_days: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4])
    thank_you_window_hours: int = Field(default=48, ge=1)
    reply_after_business_days: int = Field(default=2, ge=1)
    hold_minutes: int = Field(default=60, ge=15, le=480)
    pause_after_ignored: int = Field(default=5, ge=1)
    large_meeting_size: int = Field(default=8, ge=2)

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SUGGESTION_KINDS))
        if unknown:
            raise ValueError(f"unknown kind(s) {unknown}; known: {list(SUGGESTION_KINDS)}")
        return value

    @field_validator("quiet_hours", "working_hours")
    @classmethod
    def _hours_range(cls, value: str) -> str:
        parse_hours_range(value)
        return value

    @field_validator("working_days")
    @classmethod
    def _weekdays(cls, value: list[int]) -> list[int]:
        if not value or any(d < 0 or d > 6 for d in value):
            raise ValueError("weekdays are numbers 0 (Monday) to 6 (Sunday), at least one")
        return value


class ClockSettings(BaseModel):
    """Hold rapportd's clock (:mod:`rapportd.agent.core.clock`) at an instant.

    ``as_of``: an ISO 8601 instant with its offset (``2001-07-30T18:00:00Z``); empty: the
    machine's clock. The held clock ticks on from there. ``anchor``: the wall-clock instant
    at which the clock shows ``as_of`` (empty: when the process starts), so that processes
    of one distributed set-up, given the same pair, agree."""

    as_of: str = ""
    anchor: str = ""

    @field_validator("as_of", "anchor")
    @classmethod
    def _instant(cls, value: str) -> str:
        if value.strip():
            parse_instant(value)
        return value.strip()

    @model_validator(mode="after")
    def _anchor_needs_as_of(self) -> ClockSettings:
        if self.anchor and not self.as_of:
            raise ValueError("clock.anchor is only read with clock.as_of")
        return self

    def instants(self) -> tuple[datetime | None, datetime | None]:
        """(as_of, anchor) as aware datetimes; None where empty."""
        return (
            parse_instant(self.as_of) if self.as_of else None,
            parse_instant(self.anchor) if self.anchor else None,
        )


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant with an offset (``Z`` allowed) as an aware UTC datetime;
    raises ValueError with a one-line reason."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(
            f"{value!r} is not an ISO 8601 instant such as '2001-07-30T18:00:00Z'"
        ) from None
    if when.tzinfo is None:
        raise ValueError(f"{value!r} needs a UTC offset, e.g. '2001-07-30T18:00:00Z'")
    return when.astimezone(UTC)


def parse_hours_range(value: str) -> tuple[int, int]:
    """``"09:00-17:30"`` -> minutes after midnight ``(540, 1050)``; raises ValueError."""
    try:
        start, end = value.split("-")
        minutes = []
        for part in (start, end):
            hh, mm = part.strip().split(":")
            h, m = int(hh), int(mm)
            if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m):
                raise ValueError
            minutes.append(h * 60 + m)
    except ValueError:
        raise ValueError(f"{value!r} is not a range like '09:00-17:30'") from None
    return minutes[0], minutes[1]


class Settings(BaseSettings):
    """Everything rapportd can be told. See config/rapportd.toml for the documented defaults."""

    model_config = SettingsConfigDict(
        env_prefix="RAPPORTD_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_default=True,
    )

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = ""
    broker: str = "embedded"
    workers: int = Field(default=4, ge=1, le=256)
    encryption_key: SecretStr = SecretStr("")
    encryption_key_file: str = ""
    old_encryption_keys: list[SecretStr] = Field(default_factory=list)
    secret_key: SecretStr = SecretStr("")
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8765, ge=1, le=65535)
    base_url: str = ""
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (addresses or
    # CIDR blocks). Empty: none, the TCP peer is the client (the sign-in throttle keys on it).
    web_trusted_proxies: list[str] = Field(default_factory=list)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    owner_domains: list[str] = Field(default_factory=list)
    default_timezone: str = "UTC"
    detector: Literal["local", "llm"] = "local"
    drafter: Literal["template", "llm"] = "template"
    redis_lock_url: str = ""

    google: GoogleSettings = Field(default_factory=GoogleSettings)
    microsoft: MicrosoftSettings = Field(default_factory=MicrosoftSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    sync: SyncSettings = Field(default_factory=SyncSettings)
    suggestions: SuggestionSettings = Field(default_factory=SuggestionSettings)
    clock: ClockSettings = Field(default_factory=ClockSettings)

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:/// or postgresql+psycopg:// URL")
        return value

    @field_validator("broker")
    @classmethod
    def _broker(cls, value: str) -> str:
        if value != "embedded" and not value.startswith(
            ("redis://", "rediss://", "amqp://", "amqps://")
        ):
            raise ValueError("must be 'embedded', a redis:// URL or an amqp:// URL")
        return value

    @field_validator("default_timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long
            raise ValueError(f"{value!r} is not an IANA time zone such as 'Europe/Paris'") from None
        return value

    @field_validator("owner_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        cleaned = [d.strip().lower().lstrip("@") for d in value if d.strip()]
        for d in cleaned:
            if "." not in d or " " in d:
                raise ValueError(f"{d!r} is not a domain such as 'example.com'")
        return cleaned

    @model_validator(mode="after")
    def _graph_push_address(self) -> Settings:
        if not self.microsoft.push_notifications:
            return self
        url = urlsplit(self.base_url)
        local = url.hostname in ("127.0.0.1", "localhost", "::1")
        if url.scheme != "https" and not (url.scheme == "http" and local):
            raise ValueError(
                "microsoft.push_notifications needs base_url: the https address Graph posts "
                "change notifications to (http only on this machine)"
            )
        return self

    @property
    def push_url(self) -> str:
        """Where providers post notifications: ``<base_url>/push/<provider>`` base."""
        return self.base_url.rstrip("/") + "/push"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'rapportd.sqlite3'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml_path = _config_file()
        if toml_path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
        return tuple(sources)


def _config_file() -> Path | None:
    explicit = os.environ.get("RAPPORTD_CONFIG")
    if explicit:
        return Path(explicit)
    default = default_config_file()
    return default if default.exists() else None


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    loc = ".".join(str(p) for p in first["loc"]) or "settings"
    env = "RAPPORTD_" + "__".join(str(p) for p in first["loc"]).upper()
    msg = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        msg = "unknown setting"
    more = f" (and {len(error.errors()) - 1} more)" if len(error.errors()) > 1 else ""
    if not first["loc"]:  # a rule across settings: its message names them
        return f"settings: {msg}{more}"
    return f"setting {loc} ({env}): {msg}{more}"


def _describe_source(error: Exception) -> str:
    """pydantic-settings' own error (it could not even read a value) as one line."""
    found = re.search(r'field "(\w+)"', str(error))
    name = found.group(1) if found else "settings"
    return (
        f"setting {name} (RAPPORTD_{name.upper()}): not valid JSON "
        """(list settings are written as JSON, e.g. '["a", "b"]')"""
    )


def load_settings(**overrides: Any) -> Settings:
    """Read and validate settings; raise :class:`SettingsError` with a one-line reason."""
    path = _config_file()
    if path is not None:
        if not path.exists():
            raise SettingsError(f"setting RAPPORTD_CONFIG: file {path} does not exist")
        try:
            with path.open("rb") as fh:
                tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"config file {path}: not valid TOML ({exc})") from None
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    except PydanticSettingsError as exc:  # a list/dict setting that is not JSON
        raise SettingsError(_describe_source(exc)) from None


def apply_clock(settings: Settings) -> None:
    """Hold the process's clock as the ``clock`` settings say (every process entry calls
    this at start-up). Empty ``as_of``: the clock is left as it is (the machine's clock,
    unless the program embedding rapportd holds it)."""
    from rapportd.agent.core import clock

    as_of, anchor = settings.clock.instants()
    if as_of is not None:
        clock.configure(as_of, anchor)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return load_settings()


def masked(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets shown as ``'********'`` (or empty)."""

    def walk(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return "********" if value.get_secret_value() else ""
        if isinstance(value, BaseModel):
            return {k: walk(getattr(value, k)) for k in type(value).model_fields}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    data = walk(settings)
    data["database_url"] = mask_url_password(settings.effective_database_url)
    data["broker"] = mask_url_password(settings.broker)
    return data


def mask_url_password(url: str) -> str:
    """``url`` with its password (if any) shown as ``********``."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":********@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url
