"""The demo calendars' clock for the test stack: `--demo-clock SCENARIO` makes every calendar of
every policy the tests load read, at the machine's real time, as London does at the scenario's
moment (03:00 on a Sunday, a bank holiday, the night the clocks go back). The suite then cannot
pass or fail by the hour it runs: CI runs it under each scenario (docs/decisions/0036).

How: each calendar's time zone is replaced by a zone written for the session, whose wall clock
at real time t is the original zone's wall clock at t + D (D = the scenario's moment - now)
less a whole number of days W; the weekly hours and the holidays are moved back by the same W
days. The zone carries the original zone's offset changes (its daylight-saving transitions)
shifted by D, so the clock change happens in the test session as it would in October.
"""

from __future__ import annotations

import struct
import time
import zoneinfo
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from workflows.policy import WEEKDAYS, CalendarSpec, Policy

LONDON = zoneinfo.ZoneInfo("Europe/London")

# scenario -> the London wall-clock moment the test stack's calendars read now
SCENARIOS: dict[str, datetime] = {
    # staff on duty: a Tuesday morning in June (no holiday near), for the tests that need them
    "on-duty": datetime(2027, 6, 15, 10, 0, tzinfo=LONDON),
    "sunday-night": datetime(2027, 1, 10, 3, 0, tzinfo=LONDON),
    # the Early May bank holiday, a Monday: every demo calendar is closed all day
    "bank-holiday": datetime(2027, 5, 3, 10, 0, tzinfo=LONDON),
    # 90 minutes before the clocks go back (02:00 BST -> 01:00 GMT on Sunday 31 October 2027)
    "clock-change": datetime(2027, 10, 30, 23, 30, tzinfo=LONDON),
}
WINDOW = timedelta(days=800)  # the zone's transitions are written for this long either side


def _transitions(zone: zoneinfo.ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants (UTC) in [start, end) where `zone`'s offset changes, found to the second."""

    def off(t: datetime) -> timedelta | None:
        return t.astimezone(zone).utcoffset()

    found, t, step = [], start, timedelta(hours=6)
    while t < end:
        nxt = t + step
        if off(t) != off(nxt):
            lo, hi = t, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                lo, hi = (mid, hi) if off(mid) == off(lo) else (lo, mid)
            found.append(hi.replace(microsecond=0))
        t = nxt
    return found


def _tzif(transitions: list[tuple[int, int]], first_offset: int) -> bytes:
    """A TZif version 2 file: `transitions` are (UTC seconds, new UTC offset in seconds)."""
    offsets = sorted({first_offset, *(o for _, o in transitions)})
    chars = b"".join(f"<{o:+d}>".encode() + b"\0" for o in offsets)
    desig, pos = {}, 0
    for o in offsets:
        desig[o] = pos
        pos += len(f"<{o:+d}>") + 1
    # the first type is the one in force before the first transition (RFC 8536 3.2)
    types = [first_offset] + [o for o in offsets if o != first_offset]
    index = {o: i for i, o in enumerate(types)}

    def block(width: str) -> bytes:
        head = b"TZif2" + b"\0" * 15
        head += struct.pack(">6l", 0, 0, 0, len(transitions), len(types), len(chars))
        body = b"".join(struct.pack(">" + width, t) for t, _ in transitions)
        body += bytes(index[o] for _, o in transitions)
        body += b"".join(struct.pack(">lbB", o, 0, desig[o]) for o in types)
        return head + body + chars

    return block("l") + block("q") + b"\n\n"  # empty footer: the last type holds after


def shifted_zone_name(scenario: str, zone: str) -> str:
    return f"DemoClock/{scenario}/{zone}"


class DemoClock:
    """One scenario, fixed for the session at `now` (real time)."""

    def __init__(self, scenario: str, zone_dir: Path, now: datetime | None = None) -> None:
        self.scenario = scenario
        self.moment = SCENARIOS[scenario]
        self.now = (now or datetime.fromtimestamp(int(time.time()), UTC)).replace(microsecond=0)
        self.zone_dir = zone_dir
        d = self.moment.astimezone(UTC) - self.now
        # W whole days keep the new zone's offset within a day of UTC
        self.days = round((d + self.moment.utcoffset()) / timedelta(days=1))  # type: ignore[operator]
        self.d = d
        self.rest = d - timedelta(days=self.days)
        self._written: set[str] = set()

    def _zone(self, name: str) -> str:
        new = shifted_zone_name(self.scenario, name)
        if new in self._written:
            return new
        zone = zoneinfo.ZoneInfo(name)
        at = self.now + self.d
        changes = [
            (
                int((t - self.d).timestamp()),
                int((self.rest + t.astimezone(zone).utcoffset()).total_seconds()),  # type: ignore[operator]
            )
            for t in _transitions(zone, at - WINDOW, at + WINDOW)
        ]
        first = int(
            (self.rest + (at - WINDOW).astimezone(zone).utcoffset()).total_seconds()  # type: ignore[operator]
        )
        path = self.zone_dir / new
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_tzif(changes, first))
        self._written.add(new)
        return new

    def calendar(self, spec: CalendarSpec) -> None:
        """Move one calendar (holidays already expanded) onto the scenario's clock, in place."""
        if spec.always_open or spec.timezone.startswith("DemoClock/"):
            return
        spec.timezone = self._zone(spec.timezone)
        # the new zone's date Y is the original's Y + W: its weekday k has weekday k + W's hours
        spec.hours = {
            WEEKDAYS[k]: spec.hours[WEEKDAYS[(k + self.days) % 7]]
            for k in range(7)
            if WEEKDAYS[(k + self.days) % 7] in spec.hours
        }
        spec.holidays = sorted(h - timedelta(days=self.days) for h in spec.holidays)

    def holiday_year(self) -> date:
        """The date whose year the holidays must be expanded around: the scenario's."""
        return self.moment.date()

    def policy(self, policy: Policy) -> Policy:
        for spec in policy.calendars.values():
            self.calendar(spec)
        return policy
