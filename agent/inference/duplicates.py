"""The same message stored twice counts once.

Archives and some providers hold one message several times under different ids: a sent
message filed in "Sent" and in "All documents", a copy re-imported with a new Message-ID, or
a copy whose Date was written in the wrong time zone (the same minute, whole hours apart).
Two stored messages are one when they have the same Message-ID, or when they have the same
author, the same recipients, the same subject and the same new text (whitespace and case
aside) and were sent minutes apart, or a whole number of half hours apart within a day (a
time-zone slip).

Pure: :func:`duplicate_copies` maps each extra copy to the copy that is kept (the earliest).
"""

from __future__ import annotations

import hashlib
import re
from collections import defaultdict
from collections.abc import Sequence

from rapportd.agent.inference.types import Msg

NEAR_SECONDS = 15 * 60  # copies written minutes apart
ZONE_SLIP_SECONDS = 26 * 3600  # copies a time-zone slip apart
SLIP_STEP = 30 * 60
SLIP_TOLERANCE = 120


def _fingerprint(m: Msg) -> tuple[str, ...]:
    body = re.sub(r"\s+", " ", m.text).strip().lower()
    subject = re.sub(r"\s+", " ", m.subject).strip().lower()
    return (
        m.sender,
        ",".join(sorted(set(m.recipients))),
        subject,
        hashlib.sha1(body.encode()).hexdigest(),
        "1" if body else "0",
    )


def _same_send(a: Msg, b: Msg, has_body: bool) -> bool:
    delta = abs((a.sent_at - b.sent_at).total_seconds())
    if delta <= NEAR_SECONDS:
        return True
    if not has_body or delta > ZONE_SLIP_SECONDS:
        return False
    off = delta % SLIP_STEP
    return min(off, SLIP_STEP - off) <= SLIP_TOLERANCE


def duplicate_copies(msgs: Sequence[Msg]) -> dict[int, int]:
    """``{copy id: kept id}`` for every extra copy in ``msgs`` (see the module docstring)."""
    kept_for: dict[int, int] = {}
    by_rfc: dict[str, Msg] = {}
    groups: dict[tuple[str, ...], list[Msg]] = defaultdict(list)
    for m in sorted(msgs, key=lambda x: (x.sent_at, x.id)):
        if m.rfc822_id and m.rfc822_id in by_rfc:
            kept_for[m.id] = by_rfc[m.rfc822_id].id
            continue
        if m.rfc822_id:
            by_rfc[m.rfc822_id] = m
        key = _fingerprint(m)
        twin = next((k for k in groups[key] if _same_send(k, m, key[-1] == "1")), None)
        if twin is not None:
            kept_for[m.id] = twin.id
        else:
            groups[key].append(m)
    return kept_for
