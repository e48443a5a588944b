"""Policy loading: the API reads and validates the policy file and starts every case with a
self-contained copy of it (holidays expanded), which the workflow pins for the case's life."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import holidays

from workflows.policy import Policy

HOLIDAY_YEARS_AHEAD = 2


def read_policy(path: Path, today: date | None = None) -> Policy:
    """Read and validate a policy file; expand public holidays into each calendar."""
    with open(path, "rb") as f:
        policy = Policy.model_validate(tomllib.load(f))
    year = (today or date.today()).year
    years = range(year - 1, year + HOLIDAY_YEARS_AHEAD + 1)
    for cal in policy.calendars.values():
        if cal.holiday_country:
            public = holidays.country_holidays(
                cal.holiday_country, subdiv=cal.holiday_subdivision, years=years
            )
            cal.holidays = sorted(set(cal.holidays) | set(public.keys()))
    return policy


class PolicyFile:
    """The policy file, read again only when it changed (or the year turned: holidays)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cache: tuple[tuple, Policy, dict] | None = None

    def _load(self, path: Path) -> tuple[Policy, dict]:
        st = path.stat()
        key = (str(path), st.st_mtime_ns, st.st_size, date.today().year)
        if self._cache is None or self._cache[0] != key:
            policy = read_policy(path)
            self._cache = (key, policy, policy.model_dump(mode="json"))
        return self._cache[1], self._cache[2]

    def get(self, path: Path | None = None) -> Policy:
        return self._load(path or self.path)[0]

    def get_with_json(self) -> tuple[Policy, dict]:
        """The policy and its JSON form (computed once per version: it travels with each start)."""
        return self._load(self.path)
