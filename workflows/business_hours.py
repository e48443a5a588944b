"""Business-hours arithmetic on a calendar (time zone, weekly hours, holidays). Pure functions.

All datetimes are timezone-aware. A calendar's opening intervals are computed per local day, so
daylight-saving changes are honoured. Deadlines land inside opening hours (an interval's end
counts as inside: a deadline of 17:30 on a 09:00-17:30 day is fine).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from workflows.policy import WEEKDAYS, CalendarSpec

MAX_DAYS = 3 * 366  # a calendar open less than this often is a policy error


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _check(at: datetime) -> None:
    if at.tzinfo is None:
        raise ValueError("business-hours arithmetic needs timezone-aware datetimes")


def _day_intervals(
    spec: CalendarSpec, day: date, holidays: frozenset[date]
) -> list[tuple[datetime, datetime]]:
    tz = _zone(spec.timezone)
    if day in holidays:
        return []
    hours = spec.hours.get(WEEKDAYS[day.weekday()])
    if not hours:
        return []
    start = datetime.combine(day, hours[0], tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day, hours[1], tzinfo=tz).astimezone(UTC)
    return [(start, end)]


def _intervals_from(spec: CalendarSpec, at: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Opening intervals that end after `at`, in order (clipped to start at `at`)."""
    holidays = frozenset(spec.holidays)
    day = at.astimezone(_zone(spec.timezone)).date() - timedelta(days=1)
    for _ in range(MAX_DAYS):
        for start, end in _day_intervals(spec, day, holidays):
            if end > at:
                yield max(start, at), end
        day += timedelta(days=1)
    raise ValueError(f"calendar in {spec.timezone} has no opening hours within {MAX_DAYS} days")


def is_open(spec: CalendarSpec, at: datetime) -> bool:
    _check(at)
    if spec.always_open:
        return True
    for start, end in _intervals_from(spec, at):
        return start <= at < end
    return False


def next_open(spec: CalendarSpec, at: datetime) -> datetime:
    """`at` itself if the calendar is open then, else the next opening time."""
    _check(at)
    if spec.always_open:
        return at
    start, _ = next(_intervals_from(spec, at))
    return start


def add_business_seconds(spec: CalendarSpec, start: datetime, seconds: float) -> datetime:
    """The instant when `seconds` of business time have elapsed after `start`."""
    _check(start)
    if seconds < 0:
        raise ValueError("seconds must not be negative")
    if spec.always_open:
        return start + timedelta(seconds=seconds)
    remaining = timedelta(seconds=seconds)
    for s, e in _intervals_from(spec, start):
        if remaining <= e - s:
            return s + remaining
        remaining -= e - s
    raise AssertionError("unreachable")  # _intervals_from raises first


def business_seconds_between(spec: CalendarSpec, a: datetime, b: datetime) -> float:
    """Business seconds in [a, b) (0 if b <= a)."""
    _check(a)
    _check(b)
    if b <= a:
        return 0.0
    if spec.always_open:
        return (b - a).total_seconds()
    total = timedelta()
    for s, e in _intervals_from(spec, a):
        if s >= b:
            break
        total += min(e, b) - s
    return total.total_seconds()


def business_before(spec: CalendarSpec, end: datetime, seconds: float) -> datetime:
    """The latest instant from which `seconds` of business time remain until `end` (a reminder
    "15 business minutes before"): found by bisection over business_seconds_between, at most 60
    days back (the earliest of them when the calendar holds less)."""
    _check(end)
    if spec.always_open:
        return end - timedelta(seconds=seconds)
    lo, hi = end - timedelta(days=60), end
    if business_seconds_between(spec, lo, end) <= seconds:
        return lo
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if business_seconds_between(spec, mid, end) > seconds:
            lo = mid
        else:
            hi = mid
    return hi.replace(microsecond=0)
