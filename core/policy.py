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
# Bounds checked before a draft's text is parsed: tomllib recurses once per nesting level, so a
# text of 50,000 `[` exhausts the stack (issue 31). A real policy nests 3 deep and is ~20 KB.
MAX_TEXT_CHARS = 200_000
MAX_DEPTH = 32


class PolicyTextError(ValueError):
    """A policy text refused before or after parsing; the message starts with the field."""


def _nesting(text: str) -> int:
    """The deepest nesting of arrays and inline tables, strings and comments skipped."""
    depth = deepest = i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else c
            i += len(quote)
            while i < n and not text.startswith(quote, i):
                i += 2 if (text[i] == "\\" and quote[0] == '"') else 1
            i += len(quote)
            continue
        if c == "#":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth -= 1
        i += 1
    return deepest


def read_policy(path: Path, today: date | None = None) -> Policy:
    """Read and validate a policy file; expand public holidays into each calendar."""
    with open(path, "rb") as f:
        return expand_holidays(Policy.model_validate(tomllib.load(f)), today)


def parse_policy(text: str, today: date | None = None) -> Policy:
    """Validate a policy's TOML text (tomllib.TOMLDecodeError, a ValueError, or pydantic's
    ValidationError when it is not one); expand public holidays into each calendar."""
    if len(text) > MAX_TEXT_CHARS:
        raise PolicyTextError(f"text: at most {MAX_TEXT_CHARS} characters")
    if _nesting(text) > MAX_DEPTH:
        raise PolicyTextError(f"text: arrays and tables nested deeper than {MAX_DEPTH} levels")
    try:
        data = tomllib.loads(text)
    except RecursionError:  # a nesting the scan above missed: still the caller's text
        raise PolicyTextError("text: nested too deeply to read") from None
    return expand_holidays(Policy.model_validate(data), today)


def _holiday_refusal(name: str, country: str, subdivision: str | None) -> str | None:
    """Why the holidays package cannot give this calendar's public holidays (None: it can)."""
    supported = holidays.list_supported_countries()
    where = f"text.calendars.{name}"
    if country not in supported:
        return f"{where}.holiday_country: {country!r} is not a supported ISO country code"
    if subdivision is not None and subdivision not in supported[country]:
        return f"{where}.holiday_subdivision: {subdivision!r} is not a subdivision of {country}"
    return None


def expand_holidays(policy: Policy, today: date | None = None) -> Policy:
    year = (today or date.today()).year
    years = range(year - 1, year + HOLIDAY_YEARS_AHEAD + 1)
    for name, cal in policy.calendars.items():
        if cal.holiday_country:
            if why := _holiday_refusal(name, cal.holiday_country, cal.holiday_subdivision):
                raise PolicyTextError(why)
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
