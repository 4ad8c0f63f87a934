"""The effective suggestion settings of one owner: ``settings.suggestions`` overlaid with the
owner's own overrides in ``Owner.preferences["suggestions"]`` (same keys)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from rapportd.agent.core.errors import ConfigError
from rapportd.agent.core.settings import Settings, SuggestionSettings, parse_hours_range

DRAFT_KINDS = frozenset({"thank_you", "promise_follow_up", "reply_needed", "nudge", "check_in"})
HOLD_KINDS = frozenset({"promise_hold", "reconnect_hold", "prep_hold"})  # prep: agent/brief/prep.py


@dataclass(frozen=True)
class SuggestConfig:
    """Everything the rules and the planner need to know, already parsed."""

    kinds: frozenset[str]
    drafts_per_account_per_day: int
    quiet_hours: tuple[int, int]  # minutes after midnight, may wrap midnight
    working_hours: tuple[int, int]
    working_days: frozenset[int]
    thank_you_window_hours: int
    reply_after_business_days: int
    hold_minutes: int
    pause_after_ignored: int
    large_meeting_size: int
    timezone: str = "UTC"
    org_domains: frozenset[str] = frozenset()

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def owner_overrides(preferences: dict[str, Any] | None) -> dict[str, Any]:
    raw = (preferences or {}).get("suggestions") or {}
    return {k: v for k, v in raw.items() if k in SuggestionSettings.model_fields}


def effective_config(
    settings: Settings,
    *,
    preferences: dict[str, Any] | None = None,
    timezone: str = "",
    org_domains: list[str] | tuple[str, ...] = (),
) -> SuggestConfig:
    """Merge the owner's overrides over the settings; a bad override is a ConfigError."""
    base = settings.suggestions.model_dump()
    base.update(owner_overrides(preferences))
    try:
        merged = SuggestionSettings(**base)
    except ValidationError as exc:
        raise ConfigError(f"owner suggestion preferences: {exc.errors()[0]['msg']}") from None
    tz = timezone or settings.default_timezone
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        tz = settings.default_timezone
    domains = {d.lower().lstrip("@") for d in [*settings.owner_domains, *org_domains] if d}
    return SuggestConfig(
        kinds=frozenset(merged.kinds),
        drafts_per_account_per_day=merged.drafts_per_account_per_day,
        quiet_hours=parse_hours_range(merged.quiet_hours),
        working_hours=parse_hours_range(merged.working_hours),
        working_days=frozenset(merged.working_days),
        thank_you_window_hours=merged.thank_you_window_hours,
        reply_after_business_days=merged.reply_after_business_days,
        hold_minutes=merged.hold_minutes,
        pause_after_ignored=merged.pause_after_ignored,
        large_meeting_size=merged.large_meeting_size,
        timezone=tz,
        org_domains=frozenset(domains),
    )
