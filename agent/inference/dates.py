"""Due-date resolution: turn "by Friday", "EOD tomorrow", "within 48 hours" into a deadline.

``resolve_due(text, sent_at, tz)`` finds the deadline phrases in a sentence, resolves each
against the send time *in the sender's time zone*, and returns the one that most likely
carries the deadline (phrases after "by / before / until / due / within" win; among equals
the later date wins, so "tonight ... and send it tomorrow" gives tomorrow).

Conventions (docs/INFERENCE-DETECT.md repeats them):

- a bare weekday ("Friday", "by Fri", "Friday's review") is the next such day strictly
  after the send day; "this Friday" may be today; "next Friday" is the Friday of next
  (Monday-based) week; "before Thursday" means Thursday;
- "today", "tonight", "this afternoon", "after lunch", "now" -> the send day;
  "in the morning" sent before 05:00 -> the same day; "tomorrow (morning)" -> next day;
- "EOD" / "COB" / "end of (the) day" -> 17:00 of the day named next to it (else today);
- "end of (the) week", "EOW", "this week", "later this week" -> Friday of this week;
  "next week", "end of next week", "sometime next week" -> Friday of next week;
  "early next week" -> Tuesday of next week; on a Saturday or Sunday "this week" is the
  coming week and "end of next week" the Friday of the week after it;
- "before / by the weekend" -> Friday of this week; "this / over the / at the weekend" ->
  Sunday of this week; "next weekend" -> Sunday of next week ("last weekend" is no date);
- "end of (the) month" / "this month" -> its last day; "next month" -> last day of next;
  "end of (the) year" -> 31 December; "end of Q1..Q4 / the quarter" -> the quarter's last day;
- "within / in N hours" -> send time + N hours; "within / in N days|weeks" -> + N days|weeks;
  "N business|working days" -> N weekdays later, skipping public holidays of the zone's country
  (``holidays`` package) when the zone names one;
- "the 12th" -> the next 12th strictly after the send day; dates without a year -> the next
  occurrence on or after the send day (parsed by ``dateparser``; numeric dates are M/D in
  America/* zones and D/M elsewhere);
- holiday names ("before Thanksgiving", "by Christmas") -> that holiday in the zone's country;
- a date alone resolves to 23:59 local (the whole day counts); a stated time of day is kept.

Everything is pure and total: unknown zones fall back to UTC, nothing raises.
"""

from __future__ import annotations

import calendar
import contextlib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

MAX_INPUT = 2000  # a sentence longer than this is cut: dates live in sentences, not novels

WEEKDAYS = {
    "monday": 0, "mon": 0, "tuesday": 1, "tue": 1, "tues": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
}  # fmt: skip
_FULL_DAYS = r"monday|tuesday|wednesday|thursday|friday|saturday|sunday"
_ABBR_DAYS = r"mon|tues?|wed|thu(?:rs?)?|fri|sat|sun"
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fourteen": 14, "fifteen": 15, "twenty": 20, "thirty": 30, "forty-eight": 48,
    "twenty-four": 24, "seventy-two": 72, "couple of": 2, "a couple of": 2, "few": 3,
    "a few": 3,
}  # fmt: skip
_NUM = r"\d{1,3}|a couple of|couple of|a few|few|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|fifteen|twenty-four|twenty|thirty|forty-eight|seventy-two"
_DEADLINE_PREP = re.compile(
    r"\b(?:by|before|until|till|til|no later than|due|within|latest|deadline)\b[\s\w,]{0,12}$",
    re.I,
)

EOD_HOUR = 17
MORNING_HOUR = 12
END_OF_DAY = time(23, 59)


@dataclass(frozen=True)
class DueDate:
    """A resolved deadline: ``at`` is aware (in the sender's zone); ``text`` the phrase used."""

    at: datetime
    text: str
    rule: str
    has_time: bool = False

    @property
    def day(self) -> date:
        return self.at.date()


@dataclass(frozen=True)
class _Cand:
    start: int
    end: int
    day: date
    rule: str
    clock: time | None = None
    exact: datetime | None = None


def zone(tz: str) -> ZoneInfo:
    """The ZoneInfo for ``tz``; UTC when the name is empty or unknown."""
    try:
        return ZoneInfo(tz or "UTC")
    except Exception:
        return ZoneInfo("UTC")


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    table: dict[str, str] = {}
    for name in ("zone1970.tab", "zone.tab"):
        path = Path("/usr/share/zoneinfo") / name
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            if line.startswith("#"):
                continue
            cols = line.split("\t")
            if len(cols) >= 3:
                table.setdefault(cols[2], cols[0].split(",")[0])
    return table


_FALLBACK_COUNTRY = {
    "America/New_York": "US", "America/Chicago": "US", "America/Denver": "US",
    "America/Los_Angeles": "US", "Europe/London": "GB", "Europe/Berlin": "DE",
    "Europe/Paris": "FR", "Asia/Tokyo": "JP", "Australia/Sydney": "AU", "Asia/Kolkata": "IN",
}  # fmt: skip


def country_for_zone(tz: str) -> str | None:
    """ISO country code of an IANA zone (from the system's zone.tab), or None (UTC, Etc/...)."""
    return _zone_countries().get(tz) or _FALLBACK_COUNTRY.get(tz)


@lru_cache(maxsize=64)
def _holidays(country: str | None, year: int) -> dict[date, str]:
    if not country:
        return {}
    try:
        import holidays

        return dict(holidays.country_holidays(country, years=[year, year + 1]).items())
    except Exception:
        return {}


def add_business_days(start: date, n: int, tz: str = "UTC") -> date:
    """``n`` working days after ``start``: skips weekends and the zone's public holidays."""
    country = country_for_zone(tz)
    day = start
    n = max(0, min(n, 3650))
    while n > 0:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in _holidays(country, day.year):
            n -= 1
    return day


def _next_weekday(today: date, wd: int, *, strictly_after: bool = True) -> date:
    delta = (wd - today.weekday()) % 7
    if delta == 0 and strictly_after:
        delta = 7
    return today + timedelta(days=delta)


def _week_day(today: date, wd: int, weeks_ahead: int) -> date:
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(days=7 * weeks_ahead + wd)


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _num(word: str) -> int:
    word = word.lower().strip()
    if word.isdigit():
        return int(word)
    return _NUMBERS.get(word, 1)


def _clock(hour: str, minute: str | None, ampm: str | None) -> time | None:
    h, m = int(hour), int(minute or 0)
    ampm = (ampm or "").lower().replace(".", "")
    if ampm.startswith("p") and h < 12:
        h += 12
    if ampm.startswith("a") and h == 12:
        h = 0
    if not (0 <= h < 24 and 0 <= m < 60):
        return None
    return time(h, m)


# --- the rules: (name, compiled pattern, resolver(match, local_now, tz) -> date/clock/exact) ----

_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("within_hours", re.compile(rf"\b(?:within|in)\s+(?:the\s+next\s+)?({_NUM})\s*(?:hours?|hrs?|h)\b", re.I)),
    ("business_days", re.compile(rf"\b({_NUM})\s+(?:business|working|work)\s+days?\b", re.I)),
    ("within_days", re.compile(rf"\b(?:within|in)\s+(?:the\s+next\s+)?({_NUM})\s+(days?|weeks?|months?)\b", re.I)),
    ("eod", re.compile(r"\b(?:eod|cob|eob|close of (?:business|play)|end of (?:the\s+)?(?:business\s+)?day)\b", re.I)),
    ("before_weekend", re.compile(r"\b(?:before|by|until|till|ahead of) (?:the |this )?weekend\b", re.I)),
    ("next_weekend", re.compile(r"\bnext weekend\b", re.I)),
    ("weekend", re.compile(r"\b(?:this|over the|during the|on the|at the|over this) weekend\b", re.I)),
    ("early_next_week", re.compile(r"\bearly next week\b", re.I)),
    ("next_week", re.compile(r"\b(?:end of (?:the\s+)?next week|next week)\b", re.I)),
    ("this_week", re.compile(r"\b(?:end of (?:the\s+|this\s+)?week|eow|this week|later this week|end of play friday)\b", re.I)),
    ("month_end", re.compile(r"\b(?:end of (?:the\s+|this\s+)?month|eom|this month|month[- ]end)\b", re.I)),
    ("next_month", re.compile(r"\b(?:end of (?:the\s+)?next month|next month)\b", re.I)),
    ("year_end", re.compile(r"\b(?:end of (?:the\s+|this\s+)?year|year[- ]end|eoy)\b", re.I)),
    ("quarter_end", re.compile(r"\bend of (?:(q[1-4])|(?:the|this)\s+quarter)\b", re.I)),
    ("month_name_end", re.compile(rf"\b(?:(?:the\s+)?end of|late)\s+({_MONTHS})\b", re.I)),
    ("tomorrow", re.compile(r"\b(?:tomorrow|tmrw|tmr|tmw|tomorow|2morrow)(?:'s)?\b", re.I)),
    ("today", re.compile(r"\b(?:today(?:'s)?|tonight|this (?:morning|afternoon|evening|arvo)|later today|after lunch|right now|now|asap today)\b", re.I)),
    ("in_the_morning", re.compile(r"\bin the morning\b", re.I)),
    ("weekday", re.compile(rf"\b(?:(this|next|coming)\s+)?({_FULL_DAYS})(?:'s)?\b", re.I)),
    ("weekday_abbr", re.compile(rf"(?:\b(by|on|before|until|till|due|this|next)\s+|\()({_ABBR_DAYS})\b\.?(?!\w)", re.I)),
    ("ordinal_day", re.compile(r"\bthe\s+(\d{1,2})(?:st|nd|rd|th)\b(?!\s+of\s)", re.I)),
    ("iso_date", re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")),
    ("month_day", re.compile(rf"\b(?:({_MONTHS})\.?\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?|(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?({_MONTHS})\.?(?:,?\s+(\d{{4}}))?)\b", re.I)),
    ("numeric_date", re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{2,4}))?(?![\d/])")),
    ("holiday", re.compile(r"\b(thanksgiving|christmas(?: eve)?|xmas|new year(?:'s)?(?: day| eve)?|easter|labou?r day|memorial day|independence day|boxing day)\b", re.I)),
]  # fmt: skip

_CLOCK = re.compile(
    r"\b(?:at|by|before|until|around|@)?\s*(\d{1,2})(?::(\d{2}))?\s*(a\.?m\.?|p\.?m\.?)(?!\w)"
    r"|\b(noon|midday|midnight)\b",
    re.I,
)
_PART_OF_DAY = re.compile(r"\b(morning|afternoon|arvo|evening|night|lunch(?:time)?)\b", re.I)


def _parse_explicit(phrase: str, now: datetime, tz: str) -> date | None:
    """An explicit calendar date via dateparser (future-preferring, zone-aware order)."""
    try:
        import dateparser

        order = "MDY" if tz.startswith("America/") else "DMY"
        settings = {
            "PREFER_DATES_FROM": "future",
            "RELATIVE_BASE": now.replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0),
            "DATE_ORDER": order,
            "REQUIRE_PARTS": ["day", "month"],
        }
        parsed = dateparser.parse(phrase, languages=["en"], settings=settings)
    except Exception:
        return None
    return parsed.date() if parsed else None


def _explicit_without_year(month: int, day: int, today: date) -> date | None:
    for year in (today.year, today.year + 1):
        try:
            d = date(year, month, day)
        except ValueError:
            continue
        if d >= today:
            return d
    return None


def _candidates(text: str, now: datetime, tz: str) -> list[_Cand]:
    today = now.date()
    found: list[_Cand] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match[str], day: date | None, rule: str, exact: datetime | None = None) -> None:
        if day is None:
            return
        s, e = m.span()
        if any(s < te and ts < e for ts, te in taken):
            return
        taken.append((s, e))
        found.append(_Cand(s, e, day, rule, exact=exact))

    for name, pattern in _RULES:
        for m in pattern.finditer(text):
            g = m.groups()
            if name == "within_hours":
                exact = now + timedelta(hours=min(_num(g[0]), 24 * 366))
                add(m, exact.date(), name, exact)
            elif name == "business_days":
                add(m, add_business_days(today, _num(g[0]), tz), name)
            elif name == "within_days":
                n, unit = _num(g[0]), g[1].lower()
                days = n * (7 if unit.startswith("week") else 30 if unit.startswith("month") else 1)
                exact = now + timedelta(days=min(days, 3650))
                add(m, exact.date(), name)
            elif name == "eod":
                add(m, today, name)
            elif name == "before_weekend":
                friday = _week_day(today, 4, 0)
                add(m, friday if friday >= today else _week_day(today, 4, 1), name)
            elif name == "next_weekend":
                add(m, _week_day(today, 6, 1), name)
            elif name == "weekend":
                add(m, _week_day(today, 6, 0), name)
            elif name == "early_next_week":
                add(m, _week_day(today, 1, 1), name)
            elif name == "next_week":
                # Said on a weekend, "this week" / "end of the week" already mean the coming
                # week; "end of next week" is the one after it (a bare "next week" is not).
                later = today.weekday() >= 5 and m.group(0).lower().startswith("end")
                add(m, _week_day(today, 4, 2 if later else 1), name)
            elif name == "this_week":
                friday = _week_day(today, 4, 0)
                add(m, friday if friday >= today else _week_day(today, 4, 1), name)
            elif name == "month_end":
                add(m, _month_end(today.year, today.month), name)
            elif name == "next_month":
                y, mo = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
                add(m, _month_end(y, mo), name)
            elif name == "year_end":
                add(m, date(today.year, 12, 31), name)
            elif name == "quarter_end":
                q = int(g[0][1]) if g[0] else (today.month - 1) // 3 + 1
                end = _month_end(today.year, q * 3)
                add(m, end if end >= today else _month_end(today.year + 1, q * 3), name)
            elif name == "month_name_end":
                parsed = _parse_explicit(f"1 {g[0]}", now, tz)
                if parsed is not None:
                    end = _month_end(today.year, parsed.month)
                    add(m, end if end >= today else _month_end(today.year + 1, parsed.month), name)
            elif name == "tomorrow":
                add(m, today + timedelta(days=1), name)
            elif name == "today":
                add(m, today, name)
            elif name == "in_the_morning":
                add(m, today if now.hour < 5 else today + timedelta(days=1), name)
            elif name in ("weekday", "weekday_abbr"):
                mod, wd = (g[0] or "").lower(), WEEKDAYS[g[1].lower()]
                if mod == "next":
                    day = _week_day(today, wd, 1)
                elif mod == "this":
                    day = _next_weekday(today, wd, strictly_after=False)
                else:
                    day = _next_weekday(today, wd)
                add(m, day, "weekday")
            elif name == "ordinal_day":
                n = int(g[0])
                day_found: date | None = None
                for k in range(1, 14):
                    y, mo = divmod(today.month - 1 + k - 1, 12)
                    try:
                        d = date(today.year + y, mo + 1, n)
                    except ValueError:
                        continue
                    if d > today:
                        day_found = d
                        break
                add(m, day_found, name)
            elif name == "iso_date":
                with contextlib.suppress(ValueError):
                    add(m, date(int(g[0]), int(g[1]), int(g[2])), name)
            elif name == "month_day":
                parsed = _parse_explicit(m.group(0), now, tz)
                if parsed is not None and not (g[2] or g[5]):
                    fixed = _explicit_without_year(parsed.month, parsed.day, today)
                    parsed = fixed or parsed
                add(m, parsed, name)
            elif name == "numeric_date":
                a, b = int(g[0]), int(g[1])
                month, day_n = (a, b) if tz.startswith("America/") else (b, a)
                if g[2]:
                    year = int(g[2]) + (2000 if len(g[2]) == 2 else 0)
                    with contextlib.suppress(ValueError):
                        add(m, date(year, month, day_n), name)
                elif 1 <= month <= 12:
                    add(m, _explicit_without_year(month, day_n, today), name)
            elif name == "holiday":
                add(m, _holiday_date(g[0], today, tz), name)
    return found


def _holiday_date(name: str, today: date, tz: str) -> date | None:
    key = name.lower().replace("xmas", "christmas").replace("'s", "")
    key = key.replace("labour", "labor")
    table = _holidays(country_for_zone(tz) or "US", today.year)
    matches = sorted(d for d, n in table.items() if key.split()[0] in n.lower() and d >= today)
    if key.startswith("christmas eve"):
        return next((d - timedelta(days=1) for d in matches), date(today.year, 12, 24))
    if matches:
        return matches[0]
    if key.startswith("christmas"):
        return date(today.year, 12, 25)
    if key.startswith("new year"):
        return date(today.year + 1, 1, 1)
    return None


def _time_near(text: str, cand: _Cand, rule: str) -> time | None:
    """A time of day written next to a day phrase ("EOD tomorrow", "9am Monday")."""
    if rule == "eod":
        return time(EOD_HOUR)
    window = text[max(0, cand.start - 14) : cand.end + 14]
    m = _CLOCK.search(window)
    if m:
        if m.group(4):
            word = m.group(4).lower()
            return time(0, 0) if word == "midnight" else time(12)
        return _clock(m.group(1), m.group(2), m.group(3))
    p = _PART_OF_DAY.search(window)
    if p:
        word = p.group(1).lower()
        return {"morning": time(MORNING_HOUR), "lunch": time(13), "lunchtime": time(13)}.get(
            word, time(17) if word in ("afternoon", "arvo") else END_OF_DAY
        )
    return None


def resolve_due(phrase_or_sentence: str, sent_at: datetime, tz: str = "UTC") -> DueDate | None:
    """The deadline stated in a sentence, resolved against ``sent_at`` in zone ``tz``; or None."""
    try:
        return _resolve(phrase_or_sentence, sent_at, tz)
    except Exception:  # total by contract: a date we cannot read is no date
        return None


def _resolve(text: str, sent_at: datetime, tz: str) -> DueDate | None:
    if not isinstance(text, str) or not text.strip():
        return None
    text = text[:MAX_INPUT]
    zi = zone(tz)
    if sent_at.tzinfo is None:
        sent_at = sent_at.replace(tzinfo=ZoneInfo("UTC"))
    now = sent_at.astimezone(zi)
    cands = _candidates(text, now, tz)
    # Merge: an "eod" next to a day phrase belongs to that day.
    eods = [c for c in cands if c.rule == "eod"]
    days = [c for c in cands if c.rule != "eod"]
    eod_days: list[_Cand] = []
    for e in eods:
        near = [d for d in days if abs(d.start - e.end) <= 3 or abs(e.start - d.end) <= 3]
        if near:
            cands.remove(e)
            eod_days.extend(near)
    chosen = _choose(text, cands)
    if chosen is None:
        clock_m = _CLOCK.search(text)
        if not clock_m:
            return None
        clock = (
            (time(12) if (clock_m.group(4) or "").lower() != "midnight" else time(0))
            if clock_m.group(4)
            else _clock(clock_m.group(1), clock_m.group(2), clock_m.group(3))
        )
        if clock is None:
            return None
        at = datetime.combine(now.date(), clock, tzinfo=zi)
        if at <= now:
            at += timedelta(days=1)
        return DueDate(at=at, text=clock_m.group(0).strip(), rule="clock", has_time=True)
    phrase = text[chosen.start : chosen.end]
    if chosen.exact is not None:
        return DueDate(at=chosen.exact, text=phrase, rule=chosen.rule, has_time=True)
    clock = time(EOD_HOUR) if chosen in eod_days else _time_near(text, chosen, chosen.rule)
    at = datetime.combine(chosen.day, clock or END_OF_DAY, tzinfo=zi)
    if at < now and chosen.day == now.date():
        at = datetime.combine(chosen.day, END_OF_DAY, tzinfo=zi)
    return DueDate(at=at, text=phrase, rule=chosen.rule, has_time=clock is not None)


def _choose(text: str, cands: list[_Cand]) -> _Cand | None:
    if not cands:
        return None

    def score(c: _Cand) -> tuple[int, date, int]:
        deadline = 1 if _DEADLINE_PREP.search(text[max(0, c.start - 30) : c.start]) else 0
        return (deadline, c.day, c.start)

    return max(cands, key=score)
