"""Suggestions that never contradict each other (pure).

What the rules propose is filtered here before anything is planned:

- nobody is written to who is the owner (any of the owner's addresses) or automated;
- one suggestion per person at a time, the most useful one: a reply owed beats a promise
  follow-up, which beats a thank-you, a nudge, a reconnect hold and a check-in (between two
  thank-yous, the later meeting's: it is the one the person has in mind); a person who
  already has an open suggestion gets no second one;
- two proposals that would say the same thing to the same people (the same request found
  in two copies of a thread, say) are one.

Promise holds are the owner's own working time, not a message to anyone: they are kept
apart from the one-per-person rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from rapportd.agent.suggest.proposal import Proposal
from rapportd.agent.suggest.snapshot import Snapshot

PRIORITY = (
    "reply_needed",
    "promise_follow_up",
    "thank_you",
    "nudge",
    "reconnect_hold",
    "check_in",
)
PERSONAL_KINDS = frozenset(PRIORITY)


def person_key(contact_id: int | None, to: Sequence[Sequence[str]], dedupe_key: str) -> str:
    """Who a suggestion is about: its contact, else its first recipient."""
    if contact_id is not None:
        return f"contact:{contact_id}"
    return f"address:{str(to[0][0]).lower()}" if to else f"key:{dedupe_key}"


def _person(p: Proposal) -> str:
    return person_key(p.contact_id, p.to, p.dedupe_key)


def _said(p: Proposal) -> tuple[str, ...]:
    quoted = str(p.reasons.get("quoted") or p.reasons.get("request") or p.reasons.get("promise"))
    norm = re.sub(r"\W+", " ", quoted).strip().lower()
    return (p.kind, ",".join(sorted(e.lower() for e, _ in p.to)), norm)


def _rank(p: Proposal) -> tuple[int, float, float, str]:
    """Lower is more useful: the kind's priority, the score, then the later occasion (a
    thank-you's meeting end), then the key (so the choice never depends on input order)."""
    ended = p.reasons.get("ended_at")
    later = -datetime.fromisoformat(ended).timestamp() if isinstance(ended, str) else 0.0
    return (PRIORITY.index(p.kind), -p.score, later, p.dedupe_key)


def coherent(
    proposals: Sequence[Proposal],
    snap: Snapshot,
    *,
    open_keys: Mapping[str, Iterable[str]] | None = None,
) -> list[Proposal]:
    """The proposals worth planning (see the module docstring). ``open_keys`` maps the
    :func:`person_key` of people with open suggestions to those suggestions' dedupe keys:
    such a person keeps what they have and gets nothing new."""
    mine = snap.owner_addresses
    out: list[Proposal] = []
    for p in proposals:
        to = tuple((e, n) for e, n in p.to if e.lower() not in mine)
        if p.to and not to:
            continue  # only the owner would receive it
        if any((c := snap.contact_for(e)) is not None and c.is_automated for e, _ in to):
            continue
        out.append(p if to == p.to else replace(p, to=to))
    seen: set[tuple[str, ...]] = set()
    unique = []
    for p in sorted(out, key=lambda p: (-p.score, p.dedupe_key)):
        said = _said(p)
        if p.kind in PERSONAL_KINDS and said[2] != "none" and said in seen:
            continue
        seen.add(said)
        unique.append(p)
    busy = {k: set(v) for k, v in (open_keys or {}).items()}
    best: dict[str, Proposal] = {}
    kept = []
    for p in unique:
        if p.kind not in PERSONAL_KINDS:
            kept.append(p)
            continue
        key = _person(p)
        if key in busy and p.dedupe_key not in busy[key]:
            continue
        other = best.get(key)
        if other is None or _rank(p) < _rank(other):
            best[key] = p
    kept.extend(best.values())
    return sorted(kept, key=lambda p: p.dedupe_key)
