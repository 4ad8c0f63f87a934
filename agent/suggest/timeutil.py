"""Time arithmetic in the owner's time zone: quiet hours, business days, free slots.

All functions take and return aware datetimes; the owner's wall clock is only used to
decide *which* instants count (a working day, a working hour, a quiet hour).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOT_STEP = timedelta(minutes=30)


def _minutes(dt: datetime) -> int:
    return dt.hour * 60 + dt.minute


def in_range(minute: int, rng: tuple[int, int]) -> bool:
    """Whether a minute of the day falls in ``rng``; a range may wrap midnight (21:00-07:00)."""
    start, end = rng
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


def in_quiet_hours(at: datetime, quiet: tuple[int, int], tz: ZoneInfo) -> bool:
    return in_range(_minutes(at.astimezone(tz)), quiet)


def quiet_end(at: datetime, quiet: tuple[int, int], tz: ZoneInfo) -> datetime:
    """The first instant at or after ``at`` that is outside the quiet hours."""
    if not in_quiet_hours(at, quiet, tz):
        return at
    local = at.astimezone(tz)
    end_h, end_m = divmod(quiet[1], 60)
    candidate = datetime.combine(local.date(), time(end_h % 24, end_m), tz)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(end_h % 24, end_m), tz)
    return candidate.astimezone(UTC)


def local_day_bounds(at: datetime, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The owner's calendar day around ``at``, as UTC instants [start, end)."""
    day = at.astimezone(tz).date()
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def add_business_days(
    start: datetime, days: int, working_days: Iterable[int], tz: ZoneInfo
) -> datetime:
    """``start`` moved forward by ``days`` working days at the same wall-clock time.

    A start on a non-working day counts from the beginning of the next working day, so a
    request sent on Saturday with a 2-day threshold is due on Tuesday at 00:00 (owner's time),
    not on Monday.
    """
    wd = frozenset(working_days)
    local = start.astimezone(tz)
    if local.weekday() not in wd:
        d = local.date()
        while d.weekday() not in wd:
            d += timedelta(days=1)
        local = datetime.combine(d, time(0), tz)
    d = local.date()
    left = days
    while left > 0:
        d += timedelta(days=1)
        if d.weekday() in wd:
            left -= 1
    return datetime.combine(d, local.timetz().replace(tzinfo=None), tz).astimezone(UTC)


def business_days_elapsed(
    start: datetime, now: datetime, working_days: Iterable[int], tz: ZoneInfo
) -> int:
    """How many whole working days have passed between ``start`` and ``now``."""
    n = 0
    while n < 400 and add_business_days(start, n + 1, working_days, tz) <= now:
        n += 1
    return n


def merge_intervals(
    intervals: Iterable[tuple[datetime, datetime]],
) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for s, e in sorted(i for i in intervals if i[1] > i[0]):
        if out and s <= out[-1][1]:
            if e > out[-1][1]:
                out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _ceil_to_step(at: datetime, tz: ZoneInfo) -> datetime:
    """``at`` rounded up to the owner's 30-minute grid (09:00, 09:30, ...)."""
    local = at.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    step = SLOT_STEP.total_seconds()
    offset = (local - midnight).total_seconds()
    steps = -(-offset // step)  # ceiling division
    return (midnight + timedelta(seconds=steps * step)).astimezone(UTC)


def free_slots(
    busy: Iterable[tuple[datetime, datetime]],
    *,
    start: datetime,
    end: datetime,
    minutes: int,
    working_hours: tuple[int, int],
    working_days: Iterable[int],
    tz: ZoneInfo,
) -> Iterator[tuple[datetime, datetime]]:
    """Slots of ``minutes`` on a 30-minute grid, inside working hours on working days, that
    overlap no busy interval, between ``start`` and ``end``; earliest first."""
    wd = frozenset(working_days)
    length = timedelta(minutes=minutes)
    merged = merge_intervals(busy)
    at = _ceil_to_step(start, tz)
    while at + length <= end:
        local = at.astimezone(tz)
        if local.weekday() not in wd:
            at = datetime.combine(local.date() + timedelta(days=1), time(0), tz).astimezone(UTC)
            continue
        m0 = _minutes(local)
        if m0 < working_hours[0]:
            h, m = divmod(working_hours[0], 60)
            at = _ceil_to_step(datetime.combine(local.date(), time(h, m), tz), tz)
            continue
        slot_end_local = (at + length).astimezone(tz)
        end_minute = _minutes(slot_end_local) if slot_end_local.date() == local.date() else 24 * 60
        if end_minute > working_hours[1] or end_minute == 0:
            at = datetime.combine(local.date() + timedelta(days=1), time(0), tz).astimezone(UTC)
            continue
        clash = next((b for b in merged if b[0] < at + length and b[1] > at), None)
        if clash is None:
            yield at, at + length
            at += SLOT_STEP
        else:
            at = _ceil_to_step(clash[1], tz) if clash[1] > at else at + SLOT_STEP
