"""The same message stored twice counts once.

Archives and some providers hold one message several times under different ids: a sent
message filed in "Sent" and in "All documents", a copy re-imported with a new Message-ID, or
a copy whose Date was written in the wrong time zone (the same minute, whole hours apart).
Two stored messages are one when they have the same Message-ID, or when they have the same
author, the same recipients, the same subject and the same new text (whitespace and case
aside; one copy may carry a few more closing words than the other) and were sent minutes apart, or a whole number of half hours apart within a day (a
time-zone slip).

Pure: :func:`duplicate_copies` maps each extra copy to the copy that is kept (the earliest;
copies sent at the same instant in the order of :attr:`Msg.send_order`).
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Sequence

from rapportd.agent.inference.types import Msg

NEAR_SECONDS = 15 * 60  # copies written minutes apart
ZONE_SLIP_SECONDS = 26 * 3600  # copies a time-zone slip apart
SLIP_STEP = 30 * 60
SLIP_TOLERANCE = 120
SAME_SHARE = 0.9  # a shorter copy holds at least this share of the longer one


def _key(m: Msg) -> tuple[str, str, str]:
    return (m.sender, ",".join(sorted(set(m.recipients))), _norm(m.subject))


def _norm(text: str) -> str:
    # str.split() splits on exactly the characters re's \s matches; as fast as a join
    return " ".join(text.split()).lower()


def _same_text(a: str, b: str) -> bool:
    """The same words, or one copy a little longer (a sign-off or signature the other
    copy's client kept): the shorter is a prefix holding most of the longer."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return bool(short) and long_.startswith(short) and len(short) >= SAME_SHARE * len(long_)


def _same_send(delta: float, has_body: bool) -> bool:
    """Sent ``delta`` seconds apart: minutes apart, or (with a body to compare) a whole
    number of half hours apart within a day."""
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
    # per key, the kept copies in send order and their send times (seconds): only those sent
    # within a time-zone slip of a message can be its twin, so each looks at a window only
    groups: dict[tuple[str, str, str], list[tuple[Msg, str]]] = defaultdict(list)
    times: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for m in sorted(msgs, key=lambda x: x.send_order):
        if m.rfc822_id and m.rfc822_id in by_rfc:
            kept_for[m.id] = by_rfc[m.rfc822_id].id
            continue
        if m.rfc822_id:
            by_rfc[m.rfc822_id] = m
        text = _norm(m.text)
        key = _key(m)
        group, at = groups[key], times[key]
        sent = m.sent_at.timestamp()
        start = bisect_left(at, sent - max(NEAR_SECONDS, ZONE_SLIP_SECONDS) - 1.0)
        twin = next(
            (
                group[i][0]
                for i in range(start, len(group))
                if _same_send(abs(sent - at[i]), bool(text and group[i][1]))
                and _same_text(group[i][1], text)
            ),
            None,
        )
        if twin is not None:
            kept_for[m.id] = twin.id
        else:
            group.append((m, text))
            at.append(sent)
    return kept_for
