"""Is a relationship drifting? A judgement over *conversations*, not single messages.

Why not the cadence model's overdue score alone: that score measures the silence against
the gaps between *episodes* (interactions more than half a day apart), and the replies of
one e-mail thread are spread over days. A contact whose whole history is one busy week of
back-and-forth then has a "typical gap" of a day or two, and every later week of silence
looks wildly overdue. A careful person would say instead: "we had no rhythm yet".

So this module counts conversations and the quiet spells between them:

conversation
    the interactions of one exchange: every message of a thread (while its replies come
    less than :data:`THREAD_PAUSE_DAYS` apart) and anything else within
    :data:`JOIN_DAYS` of it; a meeting is a conversation too.
quiet spell
    the time from the end of one conversation to the start of the next (overlapping
    conversations leave no spell).
established rhythm
    a two-way relationship (they wrote to the owner or met them at least once) and at least :data:`MIN_CONVERSATIONS` conversations spread over at least
    :data:`MIN_SPAN_DAYS` (four weeks): a burst of mail in one fortnight, however busy, is
    not a rhythm. Two bursts are, but then the quiet spell between them is the one to beat.
drifting
    an established rhythm and a silence (now minus the last interaction) longer than
    :data:`TYPICAL_FACTOR` times the median quiet spell, :data:`LONGEST_FACTOR` times the
    longest quiet spell ever seen with this person, and at least :data:`MIN_SILENCE_DAYS`
    (three weeks: a shorter silence is never worth a nudge to the owner).
    Someone who has always gone quiet for two months now and then is not drifting after
    six weeks; someone you wrote to every fortnight is after five.

These are rules a person would state for any mailbox; none depends on a data set. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median

from rapportd.agent.inference.timeline import Interaction

DAY = 86400.0
THREAD_PAUSE_DAYS = 14.0  # a reply in the same thread after this long starts a new conversation
JOIN_DAYS = 1.0  # interactions this close belong to the same conversation anyway
MIN_CONVERSATIONS = 4
MIN_SPAN_DAYS = 28.0
TYPICAL_FACTOR = 2.0
LONGEST_FACTOR = 1.5
MIN_SILENCE_DAYS = 21.0


@dataclass(frozen=True, slots=True)
class Conversation:
    start: datetime
    end: datetime
    size: int


@dataclass(frozen=True)
class Drift:
    drifting: bool
    reason: str
    conversations: int
    span_days: float
    silence_days: float
    typical_quiet_days: float | None = None
    longest_quiet_days: float | None = None
    threshold_days: float | None = None

    def as_dict(self) -> dict[str, object]:
        def r(x: float | None) -> float | None:
            return None if x is None else round(x, 1)

        return {
            "drifting": self.drifting,
            "reason": self.reason,
            "conversations": self.conversations,
            "span_days": r(self.span_days),
            "silence_days": r(self.silence_days),
            "typical_quiet_days": r(self.typical_quiet_days),
            "longest_quiet_days": r(self.longest_quiet_days),
            "threshold_days": r(self.threshold_days),
        }


def _days(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds() / DAY


def conversations(interactions: Sequence[Interaction]) -> list[Conversation]:
    """Group interactions (any order) into conversations, oldest first."""
    items = sorted(interactions, key=lambda i: i.at)
    convs: list[list[Interaction]] = []
    open_thread: dict[str, int] = {}  # thread id -> index of its current conversation
    for x in items:
        idx: int | None = None
        if x.kind != "meeting" and x.thread_id and x.thread_id in open_thread:
            j = open_thread[x.thread_id]
            if _days(convs[j][-1].at, x.at) <= THREAD_PAUSE_DAYS:
                idx = j
        if idx is None and convs and _days(convs[-1][-1].at, x.at) <= JOIN_DAYS:
            idx = len(convs) - 1
        if idx is None:
            convs.append([x])
            idx = len(convs) - 1
        else:
            convs[idx].append(x)
        if x.kind != "meeting" and x.thread_id:
            open_thread[x.thread_id] = idx
    out = [Conversation(c[0].at, max(i.at for i in c), len(c)) for c in convs]
    return sorted(out, key=lambda c: c.start)


def quiet_spells(convs: Sequence[Conversation]) -> list[float]:
    """Days between the end of everything so far and the start of the next conversation."""
    out: list[float] = []
    latest_end: datetime | None = None
    for c in convs:
        if latest_end is not None and c.start > latest_end:
            out.append(_days(latest_end, c.start))
        latest_end = c.end if latest_end is None else max(latest_end, c.end)
    return out


def assess_drift(interactions: Sequence[Interaction], *, now: datetime) -> Drift:
    """Whether the relationship behind ``interactions`` (personal ones, up to ``now``) drifts."""
    past = [i for i in interactions if i.at <= now]
    if not past:
        return Drift(False, "no interaction yet", 0, 0.0, 0.0)
    if not any(i.kind != "sent" for i in past):
        # only the owner ever wrote (a list, a cold prospect): there is no relationship to drift
        return Drift(False, "one-way: they never wrote or met", 0, 0.0, 0.0)
    convs = conversations(past)
    first = min(i.at for i in past)
    last = max(i.at for i in past)
    span = _days(first, last)
    silence = max(0.0, _days(last, now))
    spells = quiet_spells(convs)
    if len(convs) < MIN_CONVERSATIONS or span < MIN_SPAN_DAYS or not spells:
        return Drift(
            False,
            f"no established rhythm yet ({len(convs)} conversations over {span:.0f} days)",
            len(convs),
            span,
            silence,
        )
    typical = float(median(spells))
    longest = max(spells)
    threshold = max(TYPICAL_FACTOR * typical, LONGEST_FACTOR * longest, MIN_SILENCE_DAYS)
    drifting = silence > threshold
    reason = (
        f"silent {silence:.0f} days; quiet spells are usually {typical:.0f} days "
        f"(longest {longest:.0f})"
    )
    return Drift(drifting, reason, len(convs), span, silence, typical, longest, threshold)
