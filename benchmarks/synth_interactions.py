"""A synthetic interaction history for one owner, with known, varied rhythms.

Used by benchmarks/forecast.py (and the cadence tests) whether or not the sandbox scenario
generator exists. Each contact follows one pattern:

weekly, biweekly, monthly, quarterly   log-normal gaps around the period, with reply bursts
bursty                                 clusters of quick exchanges, far apart
fading                                 gaps that grow until the relationship stops
seasonal                               weekly, but silent over year-end and August holidays
churned                                monthly, then stops for good
changing                               weekly, then monthly (a new habit)
poisson                                memoryless, ~20 days apart
oneoff                                 one or two exchanges, then nothing

Times are days from the start (floats); ``to_records`` turns them into the JSONL records the
``rapportd forecast`` command reads.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

PATTERNS: dict[str, float] = {
    "oneoff": 0.22,
    "weekly": 0.08,
    "biweekly": 0.07,
    "monthly": 0.12,
    "quarterly": 0.10,
    "bursty": 0.09,
    "fading": 0.08,
    "seasonal": 0.07,
    "churned": 0.08,
    "changing": 0.04,
    "poisson": 0.05,
}
EPOCH = datetime(2022, 1, 3, tzinfo=UTC)  # a Monday


def _in_holiday(day: float) -> bool:
    d = EPOCH + timedelta(days=day)
    md = (d.month, d.day)
    return md >= (12, 18) or md <= (1, 6) or (7, 20) <= md <= (8, 20)


def _replies(rng: np.random.Generator, at: float, p: float = 0.4) -> list[float]:
    out = [at]
    while rng.random() < p and len(out) < 6:
        out.append(out[-1] + rng.exponential(0.15))
    return out


def _periodic(
    rng: np.random.Generator,
    start: float,
    end: float,
    period: float,
    sigma: float,
    holidays: bool = False,
) -> list[float]:
    times: list[float] = []
    t = start
    while t < end:
        if not (holidays and _in_holiday(t)):
            times.extend(_replies(rng, t))
        t += float(rng.lognormal(np.log(period), sigma))
    return times


def contact_times(rng: np.random.Generator, pattern: str, days: float) -> list[float]:
    start = float(rng.uniform(0, days * 0.75))
    if pattern == "oneoff":
        return _replies(rng, start, 0.5) + (
            [start + rng.uniform(1, 20)] if rng.random() < 0.4 else []
        )
    if pattern in ("weekly", "biweekly", "monthly", "quarterly"):
        period = {"weekly": 7.0, "biweekly": 14.0, "monthly": 30.0, "quarterly": 91.0}[pattern]
        return _periodic(rng, start, days, period, float(rng.uniform(0.15, 0.45)))
    if pattern == "seasonal":
        return _periodic(rng, start, days, float(rng.choice([7.0, 10.0])), 0.25, holidays=True)
    if pattern == "bursty":
        times: list[float] = []
        t = start
        while t < days:
            n = int(rng.integers(3, 10))
            times.extend((t + np.sort(rng.uniform(0, rng.uniform(1, 5), n))).tolist())
            t += float(rng.exponential(rng.uniform(30, 90)))
        return times
    if pattern == "fading":
        times, t, gap = [], start, float(rng.uniform(5, 14))
        while t < days and gap < 200:
            times.extend(_replies(rng, t))
            t += gap * float(rng.lognormal(0, 0.2))
            gap *= float(rng.uniform(1.15, 1.5))
        return times
    if pattern == "churned":
        stop = float(rng.uniform(start, days))
        return [x for x in _periodic(rng, start, days, 30.0, 0.3) if x < stop]
    if pattern == "changing":
        switch = float(rng.uniform(start, days))
        return _periodic(rng, start, switch, 7.0, 0.25) + _periodic(rng, switch, days, 30.0, 0.3)
    if pattern == "poisson":
        times, t = [], start
        while t < days:
            times.extend(_replies(rng, t))
            t += float(rng.exponential(20.0))
        return times
    raise ValueError(pattern)


def generate(seed: int, contacts: int = 150, days: float = 730.0) -> dict[str, list[float]]:
    """``{contact: sorted times in days}`` for one owner."""
    rng = np.random.default_rng(seed)
    names = list(PATTERNS)
    probs = np.array([PATTERNS[n] for n in names])
    out: dict[str, list[float]] = {}
    for i in range(contacts):
        pattern = str(rng.choice(names, p=probs / probs.sum()))
        times = sorted(x for x in contact_times(rng, pattern, days) if 0 <= x < days)
        if times:
            out[f"{pattern}-{i}@example.com"] = times
    return out


def to_records(history: dict[str, list[float]], seed: int = 0) -> list[dict[str, str]]:
    rng = np.random.default_rng(seed)
    kinds = ["sent", "received", "meeting"]
    records = []
    for contact, times in history.items():
        for t in times:
            kind = str(rng.choice(kinds, p=[0.45, 0.45, 0.10]))
            at = (EPOCH + timedelta(days=t)).isoformat()
            records.append({"contact": contact, "at": at, "kind": kind})
    records.sort(key=lambda r: r["at"])
    return records
