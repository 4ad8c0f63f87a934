"""Quiet hours, business days and free slots in the owner's time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.agent.suggest.timeutil import (
    add_business_days,
    business_days_elapsed,
    free_slots,
    in_quiet_hours,
    quiet_end,
)

PARIS = ZoneInfo("Europe/Paris")
WEEK = (0, 1, 2, 3, 4)
WORK = (9 * 60, 17 * 60 + 30)


def test_quiet_hours_wrap_midnight_in_owner_zone() -> None:
    quiet = (21 * 60, 7 * 60)
    at = datetime(2024, 6, 12, 20, 30, tzinfo=UTC)  # 22:30 in Paris
    assert in_quiet_hours(at, quiet, PARIS)
    assert quiet_end(at, quiet, PARIS) == datetime(2024, 6, 13, 5, 0, tzinfo=UTC)  # 07:00 Paris
    early = datetime(2024, 6, 13, 3, 0, tzinfo=UTC)  # 05:00 Paris
    assert quiet_end(early, quiet, PARIS) == datetime(2024, 6, 13, 5, 0, tzinfo=UTC)
    noon = datetime(2024, 6, 13, 10, 0, tzinfo=UTC)
    assert quiet_end(noon, quiet, PARIS) == noon


def test_business_days_skip_weekends() -> None:
    fri = datetime(2024, 6, 7, 15, 0, tzinfo=UTC)
    assert add_business_days(fri, 1, WEEK, ZoneInfo("UTC")) == datetime(
        2024, 6, 10, 15, 0, tzinfo=UTC
    )
    assert (
        business_days_elapsed(fri, datetime(2024, 6, 11, 15, 0, tzinfo=UTC), WEEK, ZoneInfo("UTC"))
        == 2
    )
    assert (
        business_days_elapsed(fri, datetime(2024, 6, 11, 14, 0, tzinfo=UTC), WEEK, ZoneInfo("UTC"))
        == 1
    )


intervals = st.lists(
    st.tuples(st.integers(0, 7 * 24 * 4), st.integers(1, 16)).map(
        lambda t: (
            datetime(2024, 6, 10, tzinfo=UTC) + timedelta(minutes=15 * t[0]),
            datetime(2024, 6, 10, tzinfo=UTC) + timedelta(minutes=15 * (t[0] + t[1])),
        )
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(busy=intervals, minutes=st.sampled_from([30, 60, 90]), start_offset=st.integers(0, 72 * 60))
def test_free_slots_are_free_and_in_working_hours(
    busy: list[tuple[datetime, datetime]], minutes: int, start_offset: int
) -> None:
    start = datetime(2024, 6, 10, tzinfo=UTC) + timedelta(minutes=start_offset)
    end = start + timedelta(days=5)
    slots = list(
        free_slots(
            busy,
            start=start,
            end=end,
            minutes=minutes,
            working_hours=WORK,
            working_days=WEEK,
            tz=PARIS,
        )
    )
    for s, e in slots:
        assert e - s == timedelta(minutes=minutes) and start <= s and e <= end
        local_s, local_e = s.astimezone(PARIS), e.astimezone(PARIS)
        assert local_s.weekday() in WEEK and local_s.date() == local_e.date()
        assert local_s.hour * 60 + local_s.minute >= WORK[0]
        assert local_e.hour * 60 + local_e.minute <= WORK[1]
        assert local_s.minute % 30 == 0
        assert all(not (s < be and e > bs) for bs, be in busy)
