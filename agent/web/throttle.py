"""Password guessing costs the guesser: failed sign-ins are counted and, past a limit, refused
before the password is even checked.

Three sliding windows (15 minutes by default), each with its own limit:

- one client address and one e-mail: 5 failures (a person mistyping stops here briefly);
- one client address, any e-mail: 30 (one machine trying many accounts);
- one e-mail, any address: 100 (many machines guessing one account's password).

A refused attempt answers 429 with ``Retry-After``. A successful sign-in clears the first
window for that address and e-mail. Counters live in the web process's memory: a restart
forgets them, and several web processes count separately (see docs/SECURITY.md).

The client address is the TCP peer's (:func:`client_address`). ``X-Forwarded-For`` is
believed only when the peer is one of ``web_trusted_proxies`` (empty by default): uvicorn
is started with ``proxy_headers`` and ``forwarded_allow_ips`` from that setting and
nothing else, so a client cannot pick a new address for each guess.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


def client_address(request: Any) -> str:
    """The address the throttle counts: the peer uvicorn reports (which is the forwarded
    client only behind a configured trusted proxy)."""
    client = getattr(request, "client", None)
    return str(client.host) if client is not None and client.host else "?"


def uvicorn_proxy_options(trusted: list[str]) -> dict[str, Any]:
    """uvicorn's proxy settings from ``web_trusted_proxies``: proxy headers off unless
    proxies are configured (uvicorn otherwise trusts 127.0.0.1 by default)."""
    return {"proxy_headers": bool(trusted), "forwarded_allow_ips": ",".join(trusted) or ""}


WINDOW_SECONDS = 15 * 60
LIMITS = {"pair": 5, "client": 30, "email": 100}
MAX_KEYS = 50_000


@dataclass
class LoginThrottle:
    window: float = WINDOW_SECONDS
    limits: dict[str, int] = field(default_factory=lambda: dict(LIMITS))
    clock: Callable[[], float] = time.monotonic
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @staticmethod
    def _keys(client: str, email: str) -> list[tuple[str, str]]:
        email = email.strip().lower()
        return [("pair", f"{client}|{email}"), ("client", client), ("email", email)]

    def retry_after(self, client: str, email: str) -> int:
        """Seconds until this client may try this e-mail again; 0 when it may now."""
        now = self.clock()
        wait = 0.0
        with self._lock:
            for key in self._keys(client, email):
                times = self._recent(key, now)
                if len(times) >= self.limits[key[0]]:
                    wait = max(wait, times[0] + self.window - now)
        return math.ceil(wait) if wait > 0 else 0

    def failed(self, client: str, email: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) > MAX_KEYS:  # forget quiet keys
                self._failures = {k: v for k, v in self._failures.items() if self._recent(k, now)}
            for key in self._keys(client, email):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, client: str, email: str) -> None:
        with self._lock:
            self._failures.pop(self._keys(client, email)[0], None)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times
