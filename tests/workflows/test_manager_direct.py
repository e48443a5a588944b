"""Threats and P1s go straight to the escalated-accounts manager with a first response in
wall-clock minutes, not through tier 1 and the help-line queue (time-skipping server)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import run_worker
from tests.workflows.fakes import World
from tests.workflows.helpers import (
    actions,
    request,
    skip_to,
    skip_to_christmas_eve,
    start,
    terminate_started,
    wait_for,
    wait_until,
)
from workflows.escalation import EscalationWorkflow
from workflows.models import Customer
from workflows.policy import Policy

W = EscalationWorkflow


@pytest.fixture
def world():
    return World()


async def test_a_legal_threat_on_a_holiday_night_goes_to_the_manager_within_minutes(
    fresh_ts_env, world
):
    """Christmas Eve at 22:00, then a bank holiday and a weekend: the manager is asked at once
    and has 15 wall-clock minutes; missed, the case goes to a specialist and the first-response
    clock is breached."""
    env = fresh_ts_env
    eve = await skip_to_christmas_eve(env)
    await skip_to(env, eve + timedelta(hours=6))  # 22:00
    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            h = await start(env.client, tq, req=request(40, trigger="legal_threat"))
            v = await wait_for(h, lambda v: v.assignee is not None)
            # a 40 GBP refund tier 1 could grant, but a threat is not settled by the frontline
            assert (v.stage, v.severity, v.assignee) == ("specialist", "P1", "p-manager")
            assert v.assigned_team == "escalations-management" and v.granted_remedy is None
            first = next(c for c in v.clocks if c.name == "first_response")
            assert first.due_at - v.opened_at == timedelta(minutes=15)
            assert v.next_deadline == first.due_at
            tl = (await h.query(W.timeline)).items
            declined = next(e for e in tl if e.action == "tier1_declined")
            assert declined.detail.startswith(
                "trigger legal_threat: straight to the escalated-accounts manager"
            )
            assert "consult_requested" not in [e.action for e in tl]
            await wait_until(lambda: "transferred" in world.events("Morgan Manager"))
            assert world.events("Harper Helpline") == []
            await env.sleep(timedelta(minutes=16))
            v = await wait_for(h, lambda v: v.assignee not in (None, "p-manager"))
            assert v.assigned_team == "billing-specialists"
            assert next(c for c in v.clocks if c.name == "first_response").breached
            assert "reassigned" in await actions(h)
        finally:
            await terminate_started()


async def test_a_p1_by_severity_goes_to_the_manager_too(fresh_ts_env, world):
    env = fresh_ts_env

    def vip_is_p1(p: Policy) -> None:
        for rule in p.triage:
            if rule.tiers == ["vip"]:
                rule.severity = "P1"

    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            vip = Customer(id="C-9", name="Vera Vip", tier="vip")
            h = await start(env.client, tq, req=request(400, customer=vip), policy_edit=vip_is_p1)
            v = await wait_for(h, lambda v: v.assignee is not None)
            assert (v.severity, v.assignee) == ("P1", "p-manager")
            tl = (await h.query(W.timeline)).items
            assert any(
                e.action == "tier1_declined" and e.detail.startswith("severity P1") for e in tl
            )
        finally:
            await terminate_started()
