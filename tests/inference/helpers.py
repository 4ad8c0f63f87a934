"""Small builders of inference records for the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from rapportd.agent.inference.types import Msg

T0 = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
OWNER = "me@acme.com"
_ids = count(1)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def msg(
    days: float,
    sender: str,
    recipients: tuple[str, ...] | list[str],
    *,
    direction: str | None = None,
    **kw: Any,
) -> Msg:
    if direction is None:
        direction = "out" if sender == OWNER else "in"
    return Msg(
        id=next(_ids),
        sent_at=at(days),
        sender=sender,
        recipients=tuple(recipients),
        direction=direction,  # type: ignore[arg-type]
        **kw,
    )
