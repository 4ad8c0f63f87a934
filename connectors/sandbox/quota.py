"""Quotas, enforced like the real services.

Gmail counts *units* per user per minute, by method (PROVIDERS.md); the sandbox uses a
sliding 60-second window in sandbox time. Going over answers 429 (default) or 403
``userRateLimitExceeded``, as Google does. Graph allows ``graph_concurrency`` requests in
flight per mailbox and ``graph_requests_per_10min`` requests per 10 minutes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

# Gmail quota units per method (developers.google.com/gmail/api/reference/quota).
GMAIL_UNITS = {
    "gmail.users.getProfile": 1,
    "gmail.users.messages.list": 5,
    "gmail.users.messages.get": 5,
    "gmail.users.messages.modify": 5,
    "gmail.users.messages.delete": 10,
    "gmail.users.threads.get": 10,
    "gmail.users.threads.list": 10,
    "gmail.users.labels.list": 1,
    "gmail.users.labels.get": 1,
    "gmail.users.settings.sendAs.list": 1,
    "gmail.users.history.list": 2,
    "gmail.users.drafts.create": 10,
    "gmail.users.drafts.update": 15,
    "gmail.users.drafts.list": 5,
    "gmail.users.drafts.get": 5,
    "gmail.users.drafts.delete": 10,
    "gmail.users.drafts.send": 100,
    "gmail.users.watch": 100,
    "gmail.users.stop": 50,
}


def gmail_units(endpoint: str) -> int:
    return GMAIL_UNITS.get(endpoint, 1 if endpoint.startswith("gmail.") else 0)


@dataclass
class QuotaConfig:
    gmail_units_per_minute: int = 6000
    gmail_window_seconds: float = 60.0  # the "minute" (shorter in tests that need seconds)
    gmail_over_quota: str = "429"  # or "403" (userRateLimitExceeded)
    calendar_requests_per_minute: int = 600
    graph_concurrency: int = 4
    graph_requests_per_10min: int = 10000

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class QuotaMeter:
    """Sliding windows per account. Not locked itself: callers hold ``sandbox.lock``."""

    config: QuotaConfig = field(default_factory=QuotaConfig)
    _gmail: dict[str, deque[tuple[float, int]]] = field(default_factory=dict)
    _calendar: dict[str, deque[float]] = field(default_factory=dict)
    _graph: dict[str, deque[float]] = field(default_factory=dict)
    in_flight: dict[str, int] = field(default_factory=dict)

    def update(self, data: dict[str, Any]) -> None:
        for key, value in data.items():
            if not hasattr(self.config, key):
                raise ValueError(f"unknown quota setting {key!r}")
            setattr(self.config, key, type(getattr(self.config, key))(value))

    def charge_gmail(self, account: str, units: int, now: float) -> float | None:
        """Spend ``units``; None if allowed, else seconds until enough units free up."""
        span = self.config.gmail_window_seconds
        window = self._gmail.setdefault(account, deque())
        while window and window[0][0] <= now - span:
            window.popleft()
        used = sum(u for _, u in window)
        if used + units > self.config.gmail_units_per_minute:
            return max(0.0, window[0][0] + span - now) if window else span
        window.append((now, units))
        return None

    def gmail_used(self, account: str, now: float) -> int:
        span = self.config.gmail_window_seconds
        return sum(u for t, u in self._gmail.get(account, ()) if t > now - span)

    def charge_calendar(self, account: str, now: float) -> float | None:
        window = self._calendar.setdefault(account, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.config.calendar_requests_per_minute:
            return max(0.0, window[0] + 60 - now)
        window.append(now)
        return None

    def charge_graph(self, account: str, now: float) -> float | None:
        """One Graph request (the 10-minute window); None if allowed."""
        window = self._graph.setdefault(account, deque())
        while window and window[0] <= now - 600:
            window.popleft()
        if len(window) >= self.config.graph_requests_per_10min:
            return max(0.0, window[0] + 600 - now)
        window.append(now)
        return None

    def enter(self, account: str) -> bool:
        """Start a Graph request; False if ``graph_concurrency`` are already in flight."""
        if self.in_flight.get(account, 0) >= self.config.graph_concurrency:
            return False
        self.in_flight[account] = self.in_flight.get(account, 0) + 1
        return True

    def leave(self, account: str) -> None:
        self.in_flight[account] = max(0, self.in_flight.get(account, 0) - 1)
