"""Triage explains itself (the matching rule and why: state, case view, handover, timeline),
and urgency `immediate` puts staff deadlines and messages on the wall clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import run_worker
from tests.workflows.fakes import World
from tests.workflows.helpers import (
    request,
    skip_to,
    skip_to_office_hours,
    start,
    terminate_started,
    wait_for,
    wait_until,
)
from workflows.escalation import EscalationWorkflow
from workflows.policy import Policy

W = EscalationWorkflow


@pytest.fixture
def world():
    return World()


async def test_the_case_keeps_which_triage_rule_matched_and_why(fresh_ts_env, world):
    env = fresh_ts_env
    await skip_to_office_hours(env)
    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            h = await start(env.client, tq, req=request(400, trigger="repeat_contact"))
            v = await wait_for(h, lambda v: v.stage == "helpline_consult")
            # demo policy: threats, vip, technical_fault, then repeat_contact (the 4th rule)
            assert (v.severity, v.urgency, v.triage_rule) == ("P3", "high", 4)
            assert v.triage_reason == (
                "triage rule 4 matched on trigger repeat_contact: P3, urgency high"
            )
            assert not v.round_the_clock
            handover = await h.query(W.handover)
            assert (handover.triage_rule, handover.triage_reason) == (4, v.triage_reason)
            tl = (await h.query(W.timeline)).items
            triaged = next(e for e in tl if e.action == "triaged")
            assert triaged.detail.endswith(v.triage_reason)
        finally:
            await terminate_started()


async def test_a_case_no_rule_matches_says_it_took_the_policys_default(fresh_ts_env, world):
    env = fresh_ts_env
    await skip_to_office_hours(env)

    def no_catch_all(p: Policy) -> None:
        p.triage = [r for r in p.triage if r.categories or r.triggers or r.tiers]

    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            h = await start(
                env.client, tq, req=request(400, category="delivery"), policy_edit=no_catch_all
            )
            v = await wait_for(h, lambda v: v.stage == "helpline_consult")
            assert (v.severity, v.triage_rule) == ("P3", None)
            assert v.triage_reason.startswith("no triage rule matched: the policy's default P3")
        finally:
            await terminate_started()


async def test_urgency_immediate_runs_on_the_wall_clock_like_a_p1(fresh_ts_env, world):
    """A P2 triaged `immediate` opened at 20:00: the help line is told at once (not held for
    their working hours) and the consult window is ten wall-clock minutes."""
    env = fresh_ts_env
    office = await skip_to_office_hours(env)
    await skip_to(env, office + timedelta(hours=10))  # 20:00

    def fault_is_immediate(p: Policy) -> None:
        for rule in p.triage:
            if rule.triggers == ["technical_fault"]:
                rule.urgency = "immediate"

    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            h = await start(
                env.client,
                tq,
                req=request(400, trigger="technical_fault"),
                policy_edit=fault_is_immediate,
            )
            v = await wait_for(h, lambda v: v.stage == "helpline_consult")
            assert (v.severity, v.urgency, v.round_the_clock) == ("P2", "immediate", True)
            assert v.next_deadline - v.opened_at == timedelta(minutes=10)
            await wait_until(lambda: "consult_requested" in world.events("Harper Helpline"))
            assert all(d.urgent for d in world.deliveries if d.event == "consult_requested")
        finally:
            await terminate_started()
