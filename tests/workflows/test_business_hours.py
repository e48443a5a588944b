"""Business-hours arithmetic: examples across weekends, holidays and DST, plus properties."""

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.policy import read_policy
from core.settings import CONFIG_DIR
from workflows.business_hours import (
    add_business_seconds,
    business_seconds_between,
    is_open,
    next_open,
)
from workflows.policy import CalendarSpec

WEEKDAYS_9_1730 = {d: (time(9), time(17, 30)) for d in ("mon", "tue", "wed", "thu", "fri")}
LONDON = CalendarSpec(
    timezone="Europe/London",
    hours=WEEKDAYS_9_1730,
    holidays=[date(2026, 12, 25), date(2026, 12, 28)],
)


def demo_policy():
    return read_policy(CONFIG_DIR / "policy.toml", today=date(2026, 11, 23))


H = 3600


def utc(*a) -> datetime:
    return datetime(*a, tzinfo=UTC)


def test_friday_afternoon_rolls_over_the_weekend():
    # Fri 27 Nov 2026 16:30 London (= UTC in winter) + 2 h -> Mon 10:00
    assert add_business_seconds(LONDON, utc(2026, 11, 27, 16, 30), 2 * H) == utc(2026, 11, 30, 10)


def test_christmas_holidays_and_weekend_are_skipped():
    # Thu 24 Dec 17:00 + 1 h: 30 min on the 24th, then 25th (holiday), weekend, 28th (holiday)
    assert add_business_seconds(LONDON, utc(2026, 12, 24, 17), H) == utc(2026, 12, 29, 9, 30)


@pytest.mark.real_calendars
def test_demo_policy_expands_public_holidays_from_the_holidays_package():
    cal = demo_policy().calendars["uk_office"]
    assert date(2026, 12, 25) in cal.holidays and date(2026, 12, 28) in cal.holidays
    assert date(2027, 3, 26) in cal.holidays  # Good Friday 2027


def test_daylight_saving_change_is_honoured():
    # 30 Mar 2026 is after the spring change: 09:00 London is 08:00 UTC
    assert next_open(LONDON, utc(2026, 3, 30, 6)) == utc(2026, 3, 30, 8)
    assert next_open(LONDON, utc(2026, 3, 27, 18)) == utc(2026, 3, 30, 8)  # Fri eve -> Mon


def test_is_open_and_next_open():
    assert is_open(LONDON, utc(2026, 11, 23, 12))
    assert not is_open(LONDON, utc(2026, 11, 28, 12))  # Saturday
    assert not is_open(LONDON, utc(2026, 11, 23, 17, 30))  # closing instant
    assert next_open(LONDON, utc(2026, 11, 23, 12)) == utc(2026, 11, 23, 12)


def test_always_open_calendar_is_wall_clock():
    always = demo_policy().calendar("24x7")
    start = utc(2026, 12, 25, 23)
    assert add_business_seconds(always, start, 3 * H) == start + timedelta(hours=3)
    assert business_seconds_between(always, start, start + timedelta(hours=5)) == 5 * H


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_business_seconds(LONDON, datetime(2026, 1, 5, 10), 60)


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.floats(min_value=1, max_value=120 * H)


@settings(max_examples=200, deadline=None)
@given(instants, durations)
def test_deadline_never_falls_outside_business_hours(start, seconds):
    due = add_business_seconds(LONDON, start, seconds)
    # the instant just before the deadline is inside opening hours
    assert is_open(LONDON, due - timedelta(microseconds=1))
    assert due > start


@settings(max_examples=200, deadline=None)
@given(instants, durations)
def test_business_time_between_start_and_deadline_is_the_duration(start, seconds):
    due = add_business_seconds(LONDON, start, seconds)
    assert business_seconds_between(LONDON, start, due) == pytest.approx(seconds, abs=1e-3)


@settings(max_examples=150, deadline=None)
@given(instants, durations, st.floats(min_value=0, max_value=1), durations)
def test_pausing_for_d_business_time_moves_the_deadline_by_exactly_d(start, target, frac, pause_s):
    """Pause at p (after some business time), resume after d business seconds: the new deadline
    lies exactly d business seconds after the old one."""
    from workflows import clocks as clk

    c = clk.start("resolution", "x", LONDON, target, start)
    old_due = c.due_at
    paused_at = add_business_seconds(LONDON, start, frac * target)
    clk.pause(c, LONDON, paused_at)
    resumed_at = add_business_seconds(LONDON, paused_at, pause_s)
    clk.resume(c, LONDON, resumed_at)
    d = business_seconds_between(LONDON, paused_at, resumed_at)
    assert business_seconds_between(LONDON, old_due, c.due_at) == pytest.approx(d, abs=1e-3)


@settings(max_examples=150, deadline=None)
@given(instants, instants, instants)
def test_business_time_is_additive(a, b, c):
    a, b, c = sorted([a, b, c])
    total = business_seconds_between(LONDON, a, c)
    parts = business_seconds_between(LONDON, a, b) + business_seconds_between(LONDON, b, c)
    assert total == pytest.approx(parts, abs=1e-3)
