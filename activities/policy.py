"""Policy loading: the API reads the live version from the store (seeded from the policy file on
first start), validates it and starts every case with a self-contained copy of it (holidays
expanded), which the workflow pins for the case's life."""

from __future__ import annotations

import time
import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import holidays

from core.report_store.policies import PolicyVersions
from workflows.policy import Policy

HOLIDAY_YEARS_AHEAD = 2


def read_policy(path: Path, today: date | None = None) -> Policy:
    """Read and validate a policy file; expand public holidays into each calendar."""
    with open(path, "rb") as f:
        return expand_holidays(Policy.model_validate(tomllib.load(f)), today)


def parse_policy(text: str, today: date | None = None) -> Policy:
    """Validate a policy's TOML text (tomllib.TOMLDecodeError, a ValueError, or pydantic's
    ValidationError when it is not one); expand public holidays into each calendar."""
    return expand_holidays(Policy.model_validate(tomllib.loads(text)), today)


def expand_holidays(policy: Policy, today: date | None = None) -> Policy:
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


class LivePolicy:
    """The live version in the policy store, as the API and the workers read it: seeded from the
    policy file when the store holds no version yet, re-read at most every `refresh_s` seconds
    (a change that goes live reaches every process within that time), parsed once per version."""

    def __init__(self, versions: PolicyVersions, seed_path: Path, refresh_s: float = 2.0) -> None:
        self.versions = versions
        self.path = seed_path
        self.refresh_s = refresh_s
        self._checked = -1e18
        self._cache: tuple[tuple, Policy, dict] | None = None

    def seed(self) -> None:
        """Store the file's policy as the live version unless the store holds one already."""
        if self.versions.live() is not None:
            return
        text = self.path.read_text()
        policy = parse_policy(text)  # a file that is not a valid policy is never stored
        self.versions.seed(policy.version, text, datetime.now(UTC))

    def get_with_json(self) -> tuple[Policy, dict]:
        """The live policy and its JSON form (computed once per version: it travels with each
        start). Raises like `parse_policy` when the seed file is invalid, OSError when it is
        unreadable."""
        now = time.monotonic()
        if self._cache is not None and now - self._checked < self.refresh_s:
            return self._cache[1], self._cache[2]
        live = self.versions.live()
        if live is None:
            self.seed()
            live = self.versions.live()
            if live is None:
                raise ValueError("the policy store holds no live version")
        key = (live.version, live.digest, date.today().year)
        if self._cache is None or self._cache[0] != key:
            policy = parse_policy(live.text or "")
            self._cache = (key, policy, policy.model_dump(mode="json"))
        self._checked = now
        return self._cache[1], self._cache[2]

    def get(self) -> Policy:
        return self.get_with_json()[0]
