"""Contributions from other teams on the time-skipping server: a deadline on the asked team's
business hours (across Christmas, a weekend and the Boxing Day holiday), capped by the
resolution clock's due time and pulled in when that moves earlier; an answer in time stops it,
no answer is a breach told to the supervisors and the owner."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.workflows.fakes import World
from tests.workflows.helpers import (
    SPECIALIST,
    SUPERVISOR,
    demo_policy,
    request,
    skip_to_christmas_eve,
    start,
)
from tests.workflows.test_escalation import running, to_specialist
from workflows.business_hours import add_business_seconds
from workflows.escalation import EscalationWorkflow
from workflows.inputs import ContributionAnswer, ContributionRequest, SeverityChange
from workflows.models import Actor

W = EscalationWorkflow
TECH = "technical-specialists"


@pytest.fixture
def world():
    return World()


def ask(question: str, within_h: float) -> ContributionRequest:
    return ContributionRequest(actor=SPECIALIST, team=TECH, question=question, within_h=within_h)


async def test_contributions_count_the_teams_hours_inside_the_resolution_clock(fresh_ts_env, world):
    env = fresh_ts_env
    eve = await skip_to_christmas_eve(env)  # 24 Dec 16:00 London
    office = demo_policy(eve.date()).calendars["uk_office"]  # the technical team's hours
    async with running(env, world) as tq:
        h = await start(env.client, tq, policy_edit=world.policy_edit, req=request(600))
        await to_specialist(h)
        v = await h.execute_update(W.request_contribution, ask("Gateway retry?", 2))
        one = v.contributions[0]
        # 1.5 h left on Christmas Eve, then the next working morning (after the holidays)
        assert one.due_at == add_business_seconds(office, one.asked_at, 2 * 3600)
        assert one.due_at - one.asked_at > timedelta(days=4) and not one.capped

        v = await h.execute_update(W.request_contribution, ask("Any fault logged?", 400))
        two = v.contributions[1]
        resolution = next(c for c in v.clocks if c.name == "resolution")
        assert two.capped and two.due_at == resolution.due_at  # the nested budget

        # the resolution clock moves earlier (P2): the capped deadline follows, never after it
        v = await h.execute_update(
            W.change_severity, SeverityChange(actor=SUPERVISOR, severity="P2", reason="press")
        )
        resolution = next(c for c in v.clocks if c.name == "resolution")
        assert resolution.due_at is not None and resolution.due_at < two.due_at
        await env.sleep(timedelta(seconds=1))
        v = await h.query(W.state)
        assert v.contributions[1].due_at == resolution.due_at
        assert v.contributions[0].due_at <= resolution.due_at

        billing = Actor(
            id="p-specialist-2", name="Sky", role="specialist", team="billing-specialists"
        )
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(
                W.answer_contribution, ContributionAnswer(actor=billing, number=1, answer="?")
            )
        assert TECH in str(refused.value.cause)
        tess = Actor(id="p-specialist-tech", name="Tess Technical", role="specialist", team=TECH)
        v = await h.execute_update(
            W.answer_contribution,
            ContributionAnswer(actor=tess, number=1, answer="Yes, reversed automatically"),
        )
        assert v.contributions[0].answered_by == "Tess Technical"

        await env.sleep(
            v.contributions[1].due_at - (await env.get_current_time()) + timedelta(minutes=1)
        )
        timeline = (await h.query(W.timeline)).items
        breached = [i for i in timeline if i.action == "contribution_breached"]
        assert [i.detail.split(":")[0] for i in breached] == ["2"]
        assert breached[0].at >= v.contributions[1].due_at
        assert "contribution_deadline_moved" in [i.action for i in timeline]
        await env.sleep(timedelta(days=4))  # staff messages wait for the recipient's hours
        told = {(d.event, d.recipient_name) for d in world.deliveries}
        assert ("contribution_requested", "Tess Technical") in told
        assert ("contribution_answered", "Sam Specialist") in told
        assert ("contribution_breached", "Sam Specialist") in told
        assert ("contribution_breached", "Sasha Supervisor") in told
        v = await h.query(W.state)
        assert [c.breached for c in v.contributions] == [False, True]
