"""The Temporal schedules the worker makes sure exist at start-up (idempotent: one that already
exists is left as it is)."""

from __future__ import annotations

import structlog
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
)

from core.policy import LivePolicy
from core.report_store import ReportStore
from core.settings import Settings
from workflows.digest import WeeklyDigestWorkflow
from workflows.digest_week import WORKFLOW_ID, DigestInput

log = structlog.get_logger("worker")
DIGEST_SCHEDULE_ID = "weekly-digest"


def digest_schedule(settings: Settings, timezone: str) -> Schedule:
    """Mondays 08:00 in the help line's time zone."""
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WeeklyDigestWorkflow.run,
            DigestInput(timezone=timezone),
            id=WORKFLOW_ID,
            task_queue=settings.task_queue,
        ),
        spec=ScheduleSpec(
            calendars=[
                ScheduleCalendarSpec(
                    day_of_week=[ScheduleRange(1)], hour=[ScheduleRange(8)], comment="Mon 08:00"
                )
            ],
            time_zone_name=timezone,
        ),
    )


async def ensure_digest_schedule(client: Client, settings: Settings) -> bool:
    """Create the weekly digest's schedule unless it exists; True when this call created it."""
    store = ReportStore(settings.report_url)  # the live policy version (seeded from the file)
    try:
        policy = LivePolicy(store.policies, settings.policy_path).get()
    finally:
        store.close()
    timezone = policy.calendar(policy.helpline_calendar).timezone
    try:
        await client.create_schedule(DIGEST_SCHEDULE_ID, digest_schedule(settings, timezone))
    except ScheduleAlreadyRunningError:
        return False
    log.info("schedule_created", schedule=DIGEST_SCHEDULE_ID, timezone=timezone)
    return True
