"""What the sandbox counts: the request log and per-mailbox counters (re-exported by
``state``). Tests read them through the control API (``/_sandbox/log``, ``/_sandbox/stats``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LogEntry:
    """One API call as the server saw it. ``start``/``end`` are POSIX seconds on the
    process's clock (:func:`rapportd.agent.core.clock.epoch_seconds`: the wall clock unless the
    run holds it; not the sandbox's own clock, which tests move by days), so overlapping
    calls of one account can be found and compared with the product's sync runs."""

    start: float
    end: float
    method: str
    path: str
    endpoint: str
    account: str
    status: int
    units: int = 0
    fault: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "start": self.start,
            "end": self.end,
            "method": self.method,
            "path": self.path,
            "endpoint": self.endpoint,
            "account": self.account,
            "status": self.status,
            "units": self.units,
            "fault": self.fault,
        }


@dataclass
class Counters:
    """Per-mailbox counts: calls by endpoint, by status, and quota units spent."""

    calls: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    units: int = 0
    units_by_endpoint: dict[str, int] = field(default_factory=dict)

    def count(self, endpoint: str, status: int, units: int) -> None:
        self.calls[endpoint] = self.calls.get(endpoint, 0) + 1
        self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        if units:
            self.units += units
            self.units_by_endpoint[endpoint] = self.units_by_endpoint.get(endpoint, 0) + units

    def as_json(self) -> dict[str, Any]:
        return {
            "calls": dict(self.calls),
            "total_calls": sum(self.calls.values()),
            "statuses": dict(self.statuses),
            "units": self.units,
            "units_by_endpoint": dict(self.units_by_endpoint),
        }
