"""Due-date resolution: the documented conventions, and properties that must always hold."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rapportd.agent.inference.dates import add_business_days, resolve_due

WED = datetime(2024, 3, 13, 10, 15, tzinfo=ZoneInfo("America/New_York"))  # Wed 13 Mar 2024
FRI = datetime(2024, 6, 7, 16, 40, tzinfo=ZoneInfo("Europe/London"))  # Fri 7 Jun 2024


@pytest.mark.parametrize(
    ("phrase", "sent", "tz", "expected"),
    [
        ("by Friday", WED, "America/New_York", date(2024, 3, 15)),
        ("by Friday", FRI, "Europe/London", date(2024, 6, 14)),  # strictly after the send day
        ("this Friday", FRI, "Europe/London", date(2024, 6, 7)),
        ("next Tuesday", WED, "America/New_York", date(2024, 3, 19)),
        ("before Thursday", WED, "America/New_York", date(2024, 3, 14)),
        ("tomorrow morning", WED, "America/New_York", date(2024, 3, 14)),
        ("EOD", WED, "America/New_York", date(2024, 3, 13)),
        ("COB Thursday", WED, "America/New_York", date(2024, 3, 14)),
        ("end of the week", WED, "America/New_York", date(2024, 3, 15)),
        ("end of next week", WED, "America/New_York", date(2024, 3, 22)),
        ("end of the month", WED, "America/New_York", date(2024, 3, 31)),
        ("end of January", WED, "America/New_York", date(2025, 1, 31)),
        ("within 48 hours", WED, "America/New_York", date(2024, 3, 15)),
        ("5 business days", WED, "America/New_York", date(2024, 3, 20)),
        ("in two weeks", WED, "America/New_York", date(2024, 3, 27)),
        ("by the 12th", WED, "America/New_York", date(2024, 4, 12)),
        ("by the 20th", WED, "America/New_York", date(2024, 3, 20)),
        ("by March 29", WED, "America/New_York", date(2024, 3, 29)),
        ("by 14 June", FRI, "Europe/London", date(2024, 6, 14)),
        ("on 3/20", WED, "America/New_York", date(2024, 3, 20)),
        ("on 20/03", WED, "Europe/London", date(2024, 3, 20)),
        ("2024-04-02", WED, "America/New_York", date(2024, 4, 2)),
        ("by January 1", WED, "America/New_York", date(2025, 1, 1)),
    ],
)
def test_conventions(phrase: str, sent: datetime, tz: str, expected: date) -> None:
    due = resolve_due(phrase, sent, tz)
    assert due is not None, phrase
    assert due.day == expected
    assert due.at.tzinfo is not None


def test_zone_decides_the_day() -> None:
    sent = datetime(2024, 1, 11, 16, 30, tzinfo=UTC)  # Fri 01:30 in Tokyo, Thu in London
    assert resolve_due("tomorrow", sent, "Asia/Tokyo").day == date(2024, 1, 13)  # type: ignore[union-attr]
    assert resolve_due("tomorrow", sent, "Europe/London").day == date(2024, 1, 12)  # type: ignore[union-attr]


def test_business_days_skip_national_holidays() -> None:
    mon = date(2024, 11, 25)  # Thanksgiving is Thu 28 Nov 2024
    assert add_business_days(mon, 3, "America/Los_Angeles") == date(2024, 11, 29)
    assert add_business_days(mon, 3, "UTC") == date(2024, 11, 28)


def test_holiday_name_and_eod_time() -> None:
    sent = datetime(2024, 11, 25, 8, 5, tzinfo=ZoneInfo("America/Los_Angeles"))
    assert resolve_due("before Thanksgiving", sent, "America/Los_Angeles").day == date(2024, 11, 28)  # type: ignore[union-attr]
    eod = resolve_due("EOD tomorrow", sent, "America/Los_Angeles")
    assert eod is not None and eod.at.hour == 17 and eod.day == date(2024, 11, 26)


def test_no_date_no_due() -> None:
    for text in ("as soon as possible", "I'll send it", "", "at some point"):
        assert resolve_due(text, WED, "America/New_York") is None


def test_unknown_zone_falls_back_to_utc() -> None:
    assert resolve_due("tomorrow", WED, "Mars/Olympus") is not None


sent_times = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
zones = st.sampled_from(
    [
        "UTC",
        "America/New_York",
        "Asia/Tokyo",
        "Europe/Berlin",
        "Australia/Sydney",
        "Pacific/Kiritimati",
        "nope",
    ]
)
FUTURE_PHRASES = [
    "tomorrow", "by Friday", "next Monday", "end of next week", "EOD", "within 3 hours",
    "in 2 weeks", "5 business days", "by the 12th", "end of the month", "by March 3",
    "before Thursday", "tonight", "this week", "next month", "end of the year", "in a few days",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200), sent_times, zones)
def test_never_raises(text: str, sent: datetime, tz: str) -> None:
    resolve_due(text, sent, tz)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(FUTURE_PHRASES), sent_times, zones)
def test_future_phrases_never_before_the_send_day(phrase: str, sent: datetime, tz: str) -> None:
    due = resolve_due(f"I'll do it {phrase}.", sent, tz)
    assert due is not None, phrase
    local_day = due.at.tzinfo and sent.astimezone(due.at.tzinfo).date()
    assert due.at.date() >= local_day  # type: ignore[operator]


WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@settings(max_examples=300, deadline=None)
@given(sent_times, st.integers(0, 6), zones)
def test_weekday_is_next_such_day(sent: datetime, wd: int, tz: str) -> None:
    due = resolve_due(f"by {WEEKDAYS[wd]}", sent, tz)
    assert due is not None
    local = sent.astimezone(due.at.tzinfo).date()
    assert due.day.weekday() == wd
    assert local < due.day <= local + timedelta(days=7)
    nxt = resolve_due(f"next {WEEKDAYS[wd]}", sent, tz)
    assert nxt is not None and nxt.day.weekday() == wd
    monday_next = local - timedelta(days=local.weekday()) + timedelta(days=7)
    assert monday_next <= nxt.day < monday_next + timedelta(days=7)


SAT = datetime(2024, 3, 16, 11, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # Sat 16 Mar 2024
MON = datetime(2024, 3, 11, 8, 0, tzinfo=ZoneInfo("Europe/Berlin"))  # Mon 11 Mar 2024


@pytest.mark.parametrize(
    ("phrase", "sent", "expected"),
    [
        ("I'll confirm before the weekend.", WED, date(2024, 3, 15)),  # Friday
        ("done by the weekend", WED, date(2024, 3, 15)),
        ("I can look at it this weekend.", WED, date(2024, 3, 17)),  # Sunday
        ("I'll read it over the weekend.", WED, date(2024, 3, 17)),
        ("over the weekend", SAT, date(2024, 3, 17)),
        ("before the weekend", SAT, date(2024, 3, 22)),  # the weekend has begun: next Friday
        ("next weekend", WED, date(2024, 3, 24)),
        ("by the end of next week", MON, date(2024, 3, 22)),  # the following week's Friday
        ("by end of next week", WED, date(2024, 3, 22)),
        ("by the end of next week", SAT, date(2024, 3, 29)),  # "end of the week" = 22nd
        ("by the end of the week", SAT, date(2024, 3, 22)),
        ("sometime next week", SAT, date(2024, 3, 22)),
    ],
)
def test_weekend_and_next_week(phrase: str, sent: datetime, expected: date) -> None:
    due = resolve_due(phrase, sent, "America/New_York" if sent is WED else "Europe/Berlin")
    assert due is not None and due.at.date() == expected


def test_last_weekend_is_no_deadline() -> None:
    assert resolve_due("It was great to see you last weekend.", WED, "America/New_York") is None
