"""Moving a case in flight to another policy version (update `migrate_policy`) on the
time-skipping server: the business time its SLA clocks have used is kept, the rest is re-derived
under the new version, the move is on the timeline; refusals name the reason."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.conftest import run_worker
from tests.workflows.fakes import World
from tests.workflows.helpers import (
    OPERATOR,
    SPECIALIST,
    demo_policy,
    request,
    skip_to_office_hours,
    start,
    terminate_started,
    wait_for,
)
from workflows.business_hours import add_business_seconds, business_seconds_between
from workflows.escalation import EscalationWorkflow as W
from workflows.escalation.migration import PolicyMigration, refusal
from workflows.models import EscalationState
from workflows.policy import Policy


def longer_p2(p: Policy) -> None:
    p.version = "2026.12-p2-20h"
    for t in p.sla:
        if t.severity == "P2" and t.tier == "*":
            t.resolution_h = 20


async def test_migration_mid_sla_keeps_the_business_time_used(fresh_ts_env):
    env, world = fresh_ts_env, World()
    await skip_to_office_hours(env)  # 10:00 London on a working day
    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            h = await start(
                env.client, tq, req=request(None, trigger="technical_fault", category="outage")
            )
            v = await wait_for(h, lambda v: v.severity == "P2")
            old = v.policy_version
            await env.sleep(timedelta(hours=5))  # 5 business hours of the 16 used

            new = demo_policy((await env.get_current_time()).date(), longer_p2)
            u = PolicyMigration(
                actor=OPERATOR, policy=new.model_dump(mode="json"), reason="P2 20 h"
            )
            moved = await h.execute_update(W.migrate_policy, u)
            timeline = (await h.query(W.timeline)).items
        finally:
            await terminate_started()

    opened_at = timeline[0].at
    entry = next(e for e in timeline if e.action == "policy_migrated")
    assert entry.detail == f"{old} -> 2026.12-p2-20h: P2 20 h" and entry.role == "operator"
    assert moved.policy_version == "2026.12-p2-20h"
    cal = new.calendars["uk_office"]
    used = business_seconds_between(cal, opened_at, entry.at)
    assert timedelta(hours=4.9) < timedelta(seconds=used) <= timedelta(hours=5.1)
    resolution = next(c for c in moved.clocks if c.name == "resolution")
    expected = add_business_seconds(cal, entry.at, 20 * 3600 - used)
    assert resolution.due_at is not None and abs(resolution.due_at - expected) < timedelta(
        seconds=1
    )
    # not a clock started afresh under the new target
    assert resolution.due_at < add_business_seconds(cal, entry.at, 20 * 3600) - timedelta(hours=4)


async def test_migration_refusals(fresh_ts_env):
    env, world = fresh_ts_env, World()
    async with run_worker(env.client, [W], world.activities()) as tq:
        try:
            h = await start(env.client, tq, req=request(None, trigger="technical_fault"))
            v = await wait_for(h, lambda v: v.severity == "P2")
            same = demo_policy((await env.get_current_time()).date())
            for actor, kind in ((SPECIALIST, "Forbidden"), (OPERATOR, "Conflict")):
                u = PolicyMigration(actor=actor, policy=same.model_dump(mode="json"))
                with pytest.raises(WorkflowUpdateFailedError) as e:
                    await h.execute_update(W.migrate_policy, u)
                assert e.value.cause.type == kind  # type: ignore[union-attr]
            assert "already runs under version" in str(e.value.cause)
            assert not [
                x for x in (await h.query(W.timeline)).items if x.action == "policy_migrated"
            ]
            assert v.policy_version == same.version
        finally:
            await terminate_started()


def test_a_case_whose_stage_the_new_version_lacks_is_refused():
    old = demo_policy(date(2026, 12, 1))
    new = old.model_copy(deep=True)
    new.version = "2026.12-renamed"
    new.teams[0].name = "billing-and-payments"
    s = EscalationState.model_validate(
        {
            "id": "E-1",
            "request": request(300).model_dump(),
            "opened_by": OPERATOR.model_dump(),
            "opened_at": "2026-12-01T10:00:00Z",
            "updated_at": "2026-12-01T10:00:00Z",
            "stage": "specialist",
            "assigned_team": "billing-specialists",
            "policy_version": old.version,
            "severity": "P3",
        }
    )
    why = refusal(s, old, new)
    assert why is not None and "team billing-specialists" in why and new.version in why
    s.stage = "helpline_consult"  # before routing, the team does not matter yet
    assert refusal(s, old, new) is None
