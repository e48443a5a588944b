"""Issue 22's defects, on the time-skipping server: the help line's consult window on its
business hours, what the customer is told when the help line resolves, the tier-1 message, and
the staff fallback and undelivered-message paths."""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import pytest

from tests.conftest import run_worker
from tests.workflows.fakes import World
from tests.workflows.helpers import (
    LONDON,
    actions,
    request,
    skip_to,
    skip_to_christmas_eve,
    skip_to_office_hours,
    start,
    terminate_started,
    wait_for,
)
from workflows import search_attributes as sa
from workflows.escalation import EscalationWorkflow

W = EscalationWorkflow


@asynccontextmanager
async def running(env, world):
    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            yield tq
        finally:
            await terminate_started()


async def timeline_with(h, action: str, timeout: float = 15):
    """The timeline once it holds `action`."""
    found: list = []

    async def has() -> bool:
        found[:] = (await h.query(W.timeline)).items
        return any(e.action == action for e in found)

    deadline = asyncio.get_running_loop().time() + timeout
    while not await has():
        assert asyncio.get_running_loop().time() < deadline, f"no {action} on the timeline"
        await asyncio.sleep(0.05)
    return found


@pytest.fixture
def world():
    return World()


async def test_consult_window_counts_the_help_lines_hours_across_holidays_and_a_weekend(
    fresh_ts_env, world
):
    """Before: ten wall-clock minutes, so a consult asked at 17:25 on Christmas Eve timed out
    at 17:35 and went to a specialist unread. Now five minutes are left that evening and the
    other five come when the help line opens again: after Christmas, the weekend and the Boxing
    Day substitute, on Tuesday 29 December at 09:05."""
    env = fresh_ts_env
    eve = await skip_to_christmas_eve(env)  # 16:00 London
    at = eve + timedelta(minutes=85)  # 17:25
    await skip_to(env, at)
    async with running(env, world) as tq:
        h = await start(env.client, tq, req=request(400))
        v = await wait_for(h, lambda v: v.stage == "helpline_consult")
        # the minutes left that evening (a little less than five: the server's clock ran on)
        due = datetime(eve.year, 12, 29, 9, 5, tzinfo=LONDON) + (v.opened_at - at)
        assert v.next_deadline == due
        await skip_to(env, datetime(eve.year, 12, 28, 12, tzinfo=LONDON))
        v = await wait_for(h, lambda v: True)
        assert v.stage == "helpline_consult"
        assert "consult_timed_out" not in await actions(h)
        await skip_to(env, due + timedelta(minutes=1))
        v = await wait_for(h, lambda v: v.stage == "specialist" and v.assignee is not None)
        tl = (await h.query(W.timeline)).items
        timed_out = next(e for e in tl if e.action == "consult_timed_out")
        assert due <= timed_out.at < due + timedelta(seconds=5)  # the durable timer
        assert "help line's hours" in timed_out.detail
        # the help line's list of waiting consults is a stage filter: the case has left it
        desc = await h.describe()
        assert desc.typed_search_attributes.get(sa.STAGE) == "specialist"


async def test_a_consult_request_held_overnight_is_dropped_once_the_consult_timed_out(
    fresh_ts_env, world
):
    """A case opened under the old rules (ten wall-clock minutes) still running: its consult
    times out at night; the help line's message, held for their working hours, is dropped in
    the morning instead of asking them about a case that has gone to a specialist."""
    env = fresh_ts_env
    office = await skip_to_office_hours(env)  # 10:00 on a working day
    await skip_to(env, office + timedelta(hours=10))  # 20:00, outside everybody's hours
    async with running(env, world) as tq:
        h = await start(env.client, tq, req=request(400), opening_rules=0)
        await wait_for(h, lambda v: v.stage == "helpline_consult")
        await env.sleep(timedelta(minutes=11))
        await wait_for(h, lambda v: v.stage == "specialist")
        await env.sleep(timedelta(hours=14))  # past 09:00 the next morning
        tl = await timeline_with(h, "notification_dropped")
        dropped = [e for e in tl if e.action == "notification_dropped"]
        assert "consult_requested to Harper Helpline" in dropped[0].detail
    assert "consult_requested" not in world.events("Harper Helpline")
