"""The console's date-time inputs: a `datetime-local` value is a wall-clock time in the reader's
zone, which `static/console.js` sends beside it as `tz` (without the script: UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from api.errors import Invalid


def local_time(text: str, tz: str, end_of_day: bool = False) -> datetime | None:
    """A `datetime-local` or `date` input in the reader's zone. Empty: None."""
    text = text.strip()
    if not text:
        return None
    try:
        zone: Any = ZoneInfo(tz) if tz else UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise Invalid(f"{text[:40]!r} is not a date and time") from None
    if at.tzinfo is None:
        at = at.replace(tzinfo=zone)
    return at + timedelta(days=1) if end_of_day else at
