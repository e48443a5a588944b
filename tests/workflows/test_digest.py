"""The weekly digest: the workflow on the time-skipping server e-mails each manager the week just
ended against the week before, from a report store holding the hand-computed data set (moved to
the two weeks before today); the worker's schedule for it is created once."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio import activity
from temporalio.client import Client

from activities.digest import DigestActivities
from core.report_store import ReportStore
from core.settings import Settings
from tests.conftest import run_worker
from tests.report_store.data import ALL
from worker.schedules import DIGEST_SCHEDULE_ID, ensure_digest_schedule
from workflows.digest import WeeklyDigestWorkflow
from workflows.digest_week import DigestInput, weeks_before
from workflows.messages import Delivery, DeliveryReceipt, PeopleQuery, PeopleResult
from workflows.models import Person


def shifted(value: Any, by: timedelta) -> Any:
    """A copy of `value` with every datetime in it moved by `by`."""
    if isinstance(value, datetime):
        return value + by
    if isinstance(value, list):
        return [shifted(v, by) for v in value]
    if isinstance(value, BaseModel):
        return value.model_copy(
            update={k: shifted(getattr(value, k), by) for k in type(value).model_fields}
        )
    return value


def test_the_weeks_are_monday_to_monday_in_the_help_line_s_zone():
    week = weeks_before(datetime(2026, 7, 13, 7, 0, tzinfo=UTC), "Europe/London")  # Mon 08:00 BST
    assert week.since.isoformat() == "2026-07-06T00:00:00+01:00"
    assert week.until.isoformat() == "2026-07-13T00:00:00+01:00"
    assert week.previous.isoformat() == "2026-06-29T00:00:00+01:00"


async def test_the_digest_reaches_each_manager_once(ts_env, tmp_path):
    week = weeks_before(await ts_env.get_current_time(), "Europe/London")
    # the data set's second week (from Monday 12 January) becomes the week just ended
    by = timedelta(days=(week.since.date() - date(2026, 1, 12)).days)
    store = ReportStore(f"sqlite:///{tmp_path / 'reports.sqlite'}")
    store.write([shifted(f, by) for f in ALL])
    sent: list[Delivery] = []

    @activity.defn(name="find_people")
    async def find_people(q: PeopleQuery) -> PeopleResult:
        assert q.roles == ["manager"]
        return PeopleResult(
            people=[
                Person(id="p-m1", name="Morgan Manager", role="manager", email="m1@x.example"),
                Person(id="p-m2", name="No Mail", role="manager"),
            ]
        )

    @activity.defn(name="deliver")
    async def deliver(d: Delivery) -> DeliveryReceipt:
        sent.append(d)
        return DeliveryReceipt(channel=d.channel, idempotency_key=d.idempotency_key or "")

    acts = [find_people, deliver, DigestActivities(store).weekly_digest_text]
    async with run_worker(ts_env.client, workflows=[WeeklyDigestWorkflow], activities=acts) as tq:
        n = await ts_env.client.execute_workflow(
            WeeklyDigestWorkflow.run,
            DigestInput(timezone="Europe/London"),
            id=f"digest-{tq}",
            task_queue=tq,
        )
    store.close()
    assert n == 1
    [mail] = sent
    start = week.since.date().isoformat()
    assert mail.address == "m1@x.example" and mail.channel == "email"
    assert mail.idempotency_key == f"weekly-digest:{start}:p-m1"
    assert mail.subject == (
        f"Escalations, week of {start}: 2 opened, 100% avoidable, 1 SLA breaches"
    )
    assert mail.body == (
        f"Escalations opened in the week of {start} (against the week before):\n"
        "\n"
        "- Volume: 2 (-1; 3 the week before)\n"
        "- Avoidable share: 100% (67% the week before)\n"
        "- SLA breaches: 1 (+0; 1 the week before)\n"
        "\n"
        "Top triggers:\n"
        "- customer_request: 1 (2 the week before)\n"
        "- repeat_contact: 1 (0 the week before)\n"
        "\n"
        "Top root causes:\n"
        "- none recorded: 0 (0 the week before)\n"
    )


@pytest.mark.real_calendars  # the schedule's zone goes to the server: an IANA zone
async def test_the_schedule_is_created_once(dev_env):
    client: Client = dev_env.client
    handle = client.get_schedule_handle(DIGEST_SCHEDULE_ID)
    try:
        await handle.delete()  # left by a worker another test started
    except Exception:  # noqa: BLE001 - none there
        pass
    settings = Settings(demo=True, task_queue="digest-schedule-test")
    try:
        assert await ensure_digest_schedule(client, settings) is True
        assert await ensure_digest_schedule(client, settings) is False
        spec = (await handle.describe()).schedule.spec
        assert spec.time_zone_name == "Europe/London"
        [cal] = spec.calendars
        assert [r.start for r in cal.day_of_week] == [1] and [r.start for r in cal.hour] == [8]
    finally:
        await handle.delete()
