"""The weekly digest's contracts and its week arithmetic (pure; imported by the workflow passed
through the sandbox, whose ZoneInfo instances datetime does not take as a tzinfo)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import Field

from workflows.models import Model

WORKFLOW_ID = "weekly-digest"


class DigestInput(Model):
    timezone: str = Field("UTC", description="The help line's time zone: where weeks begin")


class DigestWeek(Model):
    """The week just ended, [since, until), and the one before, [previous, since)."""

    previous: datetime
    since: datetime
    until: datetime


class DigestText(Model):
    subject: str
    body: str


def weeks_before(now: datetime, timezone: str) -> DigestWeek:
    """The Monday-to-Monday week (local time) before the one `now` falls in, and the one before."""
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    monday = today - timedelta(days=today.weekday())

    def start(d: date) -> datetime:
        return datetime.combine(d, time(0), tzinfo=tz)

    return DigestWeek(
        previous=start(monday - timedelta(days=14)),
        since=start(monday - timedelta(days=7)),
        until=start(monday),
    )
