"""A manager's reassignment on the time-skipping server: the new owner's acknowledgement
window restarts on their team's business hours (across Christmas, a weekend and the Boxing Day
holiday) and, unacknowledged, the case is re-routed as after any transfer."""

from __future__ import annotations

import pytest

from core.directory import load_directory
from core.settings import CONFIG_DIR
from tests.workflows.fakes import World
from tests.workflows.helpers import (
    MANAGER,
    demo_policy,
    request,
    skip_to_christmas_eve,
    start,
    wait_for,
)
from tests.workflows.test_escalation import running, to_specialist
from workflows.business_hours import add_business_seconds
from workflows.escalation import EscalationWorkflow
from workflows.inputs import ChaseOwner, ReassignCase

W = EscalationWorkflow
_sky = load_directory(CONFIG_DIR / "people.demo.toml").by_id("p-specialist-2")
assert _sky is not None
SKY = _sky.as_person()  # as the API sends it


@pytest.fixture
def world():
    return World()


async def test_reassignment_restarts_the_acknowledgement_window_over_christmas(fresh_ts_env, world):
    env = fresh_ts_env
    eve = await skip_to_christmas_eve(env)
    async with running(env, world) as tq:
        h = await start(env.client, tq, policy_edit=world.policy_edit, req=request(600))
        v = await to_specialist(h)  # acknowledged by Sam Specialist
        assert v.assignee == "p-specialist"
        # 19:45: a quarter of an hour before the billing team's evening close
        await env.sleep(eve.replace(hour=19, minute=45) - await env.get_current_time())
        v = await h.execute_update(W.reassign, ReassignCase(actor=MANAGER, to=SKY, reason="leave"))
        assert v.assignee == "p-specialist-2"
        calendar = demo_policy(eve.date()).calendars["uk_extended"]  # the billing team's hours
        now = v.updated_at
        due = add_business_seconds(calendar, now, 30 * 60)
        assert due.date() > eve.date()  # the window runs over the holiday, not through it
        chased = await h.execute_update(W.chase, ChaseOwner(actor=MANAGER, message="news?"))
        assert chased.assignee == "p-specialist-2"
        await env.sleep(due - now)
        v = await wait_for(h, lambda v: v.assignee not in ("p-specialist-2", None))
        timeline = (await h.query(W.timeline)).items
        by_manager = [i for i in timeline if i.action == "reassigned" and i.role == "manager"]
        by_process = [i for i in timeline if i.action == "reassigned" and i.role == "system"]
        assert len(by_manager) == 1 and len(by_process) == 1
        assert (
            by_process[0].at >= due and "Sky Specialist did not acknowledge" in by_process[0].detail
        )
        assert ("transferred", "Sky Specialist") in [
            (d.event, d.recipient_name) for d in world.deliveries
        ]
        assert ("chased", "Sky Specialist") in [
            (d.event, d.recipient_name) for d in world.deliveries
        ]
