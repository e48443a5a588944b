"""SLA clocks on business hours: start, pause, resume, stop, re-target, next event. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from workflows.business_hours import add_business_seconds, business_seconds_between
from workflows.models import Clock
from workflows.policy import CalendarSpec


def start(name, calendar: str, spec: CalendarSpec, target_s: float, now: datetime) -> Clock:
    return Clock(
        name=name,
        calendar=calendar,
        target_s=target_s,
        running_since=now,
        due_at=add_business_seconds(spec, now, target_s),
    )


def used(clock: Clock, spec: CalendarSpec, now: datetime) -> float:
    """Business seconds consumed so far."""
    extra = business_seconds_between(spec, clock.running_since, now) if clock.running_since else 0
    return clock.consumed_s + extra


def remaining(clock: Clock, spec: CalendarSpec, now: datetime) -> float:
    return max(0.0, clock.target_s - used(clock, spec, now))


def pause(clock: Clock, spec: CalendarSpec, now: datetime) -> None:
    if clock.paused or clock.stopped_at or clock.running_since is None:
        return
    clock.consumed_s = used(clock, spec, now)
    clock.running_since = None
    clock.paused = True
    clock.due_at = None


def resume(clock: Clock, spec: CalendarSpec, now: datetime) -> None:
    if not clock.paused or clock.stopped_at:
        return
    clock.paused = False
    clock.running_since = now
    clock.due_at = add_business_seconds(spec, now, max(0.0, clock.target_s - clock.consumed_s))


def stop(clock: Clock, spec: CalendarSpec, now: datetime) -> None:
    if clock.stopped_at:
        return
    clock.consumed_s = used(clock, spec, now)
    clock.running_since = None
    clock.paused = False
    clock.stopped_at = now


def rebase(
    clock: Clock,
    calendar: str,
    spec_old: CalendarSpec,
    spec_new: CalendarSpec,
    target_s: float,
    now: datetime,
) -> None:
    """Move a clock to another calendar and/or target, keeping the business time used."""
    if clock.stopped_at:
        return
    running = clock.running_since is not None
    clock.consumed_s = used(clock, spec_old, now)
    clock.calendar = calendar
    clock.target_s = target_s
    if running:
        clock.running_since = now
        clock.due_at = add_business_seconds(spec_new, now, max(0.0, target_s - clock.consumed_s))


@dataclass(frozen=True)
class ClockEvent:
    at: datetime
    clock: str
    kind: Literal["warning", "breach"]
    fraction: float = 1.0


def next_event(clock: Clock, spec: CalendarSpec, fractions: list[float]) -> ClockEvent | None:
    """The next warning or breach of a running clock, or None."""
    if clock.stopped_at or clock.breached or clock.running_since is None or clock.due_at is None:
        return None
    for f in fractions:
        if f in clock.warned_fractions:
            continue
        at = add_business_seconds(
            spec, clock.running_since, max(0.0, f * clock.target_s - clock.consumed_s)
        )
        return ClockEvent(at, clock.name, "warning", f)
    return ClockEvent(clock.due_at, clock.name, "breach")
