"""Faults the sandbox injects: what the real services do on a bad day.

A :class:`Fault` matches calls by account (``"*"`` or an address) and endpoint (a
discovery method id such as ``gmail.users.messages.get``, ``"*"``, or a prefix glob such as
``gmail.*``). It fires on the next ``count`` matching calls (deterministic), or with
probability ``rate`` (random, from the plan's seeded generator; at most ``count`` times if
both are set), or on every matching call if neither is set.

Kinds and what the server does when one fires:

- ``429``: 429 with ``Retry-After: retry_after`` (default 1 s).
- ``403_rate`` / ``403_user_rate``: Google 403 ``rateLimitExceeded`` / ``userRateLimitExceeded``.
- ``500`` / ``503``: a transient server error (503 carries Retry-After when set).
- ``latency``: wait ``latency_ms`` then answer normally.
- ``drop``: send the headers and part of the body, then close the connection.
- ``stale_history``: the mailbox forgets its history (history.list then answers 404).
- ``expired_sync_token``: the mailbox's sync tokens and delta links expire (410).
- ``revoked``: the account's grants are revoked (API 401, refresh ``invalid_grant``).
"""

from __future__ import annotations

import fnmatch
import random
from dataclasses import asdict, dataclass, field
from typing import Any

KINDS = frozenset(
    {
        "429",
        "403_rate",
        "403_user_rate",
        "500",
        "503",
        "latency",
        "drop",
        "stale_history",
        "expired_sync_token",
        "revoked",
    }
)


@dataclass
class Fault:
    kind: str
    account: str = "*"
    endpoint: str = "*"
    count: int | None = None
    rate: float | None = None
    latency_ms: int = 0
    retry_after: float | None = None
    id: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r} (one of {sorted(KINDS)})")
        if self.rate is not None and not 0 <= self.rate <= 1:
            raise ValueError(f"fault rate {self.rate} is not between 0 and 1")
        if self.count is not None and self.count < 0:
            raise ValueError(f"fault count {self.count} is negative")
        self.account = self.account.lower()

    @property
    def exhausted(self) -> bool:
        return self.count is not None and self.fired >= self.count

    def matches(self, account: str, endpoint: str) -> bool:
        if self.account not in ("*", account.lower()):
            return False
        return self.endpoint == "*" or fnmatch.fnmatchcase(endpoint, self.endpoint)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FaultPlan:
    """The active faults. Not locked itself: callers hold ``sandbox.lock``."""

    seed: int = 0
    faults: list[Fault] = field(default_factory=list)
    _next_id: int = 1

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def add(self, fault: Fault) -> Fault:
        fault.id = self._next_id
        self._next_id += 1
        self.faults.append(fault)
        return fault

    def add_json(self, data: dict[str, Any]) -> Fault:
        """Add a fault given as the seed / control API JSON (unknown keys rejected)."""
        allowed = {"kind", "account", "endpoint", "count", "rate", "latency_ms", "retry_after"}
        extra = set(data) - allowed
        if extra:
            raise ValueError(f"unknown fault field(s) {sorted(extra)}")
        if "kind" not in data:
            raise ValueError("fault needs a 'kind'")
        return self.add(Fault(**{k: v for k, v in data.items()}))

    def remove(self, fault_id: int) -> bool:
        before = len(self.faults)
        self.faults = [f for f in self.faults if f.id != fault_id]
        return len(self.faults) != before

    def clear(self) -> None:
        self.faults.clear()

    def fire(self, account: str, endpoint: str) -> list[Fault]:
        """The faults that fire for this call (each counted as fired), in the order added."""
        out = []
        for fault in self.faults:
            if fault.exhausted or not fault.matches(account, endpoint):
                continue
            if fault.rate is not None and self.rng.random() >= fault.rate:
                continue
            fault.fired += 1
            out.append(fault)
        if any(f.exhausted for f in self.faults):
            self.faults = [f for f in self.faults if not f.exhausted]
        return out
