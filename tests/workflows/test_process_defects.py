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
    HELPLINE,
    LONDON,
    MANAGER,
    SPECIALIST,
    actions,
    request,
    skip_to,
    skip_to_christmas_eve,
    skip_to_office_hours,
    start,
    terminate_started,
    wait_for,
    wait_until,
)
from workflows import search_attributes as sa
from workflows.escalation import EscalationWorkflow
from workflows.inputs import Acknowledge, ConsultAnswer, Decision, Proposal
from workflows.models import Remedy

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


def bodies(world: World, to: str, event: str) -> list[str]:
    return [d.body for d in world.deliveries if d.recipient_name == to and d.event == event]


async def test_a_resolving_answer_is_advice_relayed_to_the_agent_not_sent_to_the_customer(
    fresh_ts_env, world
):
    env = fresh_ts_env
    await skip_to_office_hours(env)
    async with running(env, world) as tq:
        h = await start(env.client, tq, req=request(400))
        await wait_for(h, lambda v: v.stage == "helpline_consult")
        # the help line sees the knowledge base's matches with the request
        await wait_until(lambda: bodies(world, "Harper Helpline", "consult_requested"))
        assert "Duplicate charges" in bodies(world, "Harper Helpline", "consult_requested")[0]
        advice = "Internal: use the billing tool's duplicate-charge reversal, code DC-7"
        v = await h.execute_update(
            W.consult_answer, ConsultAnswer(actor=HELPLINE, resolves=True, answer=advice)
        )
        assert (v.stage, v.resolved_at_tier) == ("resolved", "helpline")
        assert advice not in (v.outcome or "")
        await wait_until(lambda: bodies(world, "Ada Lovelace", "helpline_resolved"))
        await wait_until(lambda: bodies(world, "Alex Agent", "consult_answered"))
    told = [d.body for d in world.deliveries if d.recipient_name == "Ada Lovelace"]
    assert all("DC-7" not in b for b in told)
    relayed = bodies(world, "Alex Agent", "consult_answered")[0]
    assert advice in relayed and "Duplicate charges" in relayed


async def test_a_resolving_answer_tells_the_customer_what_the_agent_confirmed(fresh_ts_env, world):
    env = fresh_ts_env
    await skip_to_office_hours(env)
    async with running(env, world) as tq:
        h = await start(env.client, tq, req=request(400))
        await wait_for(h, lambda v: v.stage == "helpline_consult")
        confirmed = "We have reversed the second March charge; it shows within 3 working days."
        v = await h.execute_update(
            W.consult_answer,
            ConsultAnswer(
                actor=HELPLINE, resolves=True, answer="Reverse it", customer_message=confirmed
            ),
        )
        assert v.outcome == confirmed
        await wait_until(lambda: bodies(world, "Ada Lovelace", "resolved"))
    assert confirmed in bodies(world, "Ada Lovelace", "resolved")[0]
    assert not bodies(world, "Ada Lovelace", "helpline_resolved")


async def test_tier1_grant_sends_the_tier1_granted_message(fresh_ts_env, world):
    env = fresh_ts_env
    await skip_to_office_hours(env)
    async with running(env, world) as tq:
        h = await start(env.client, tq, req=request(40))
        await wait_for(h, lambda v: v.stage == "follow_up")
        await wait_until(lambda: bodies(world, "Ada Lovelace", "tier1_granted"))
    assert "refund 40 GBP" in bodies(world, "Ada Lovelace", "tier1_granted")[0]
    assert not bodies(world, "Ada Lovelace", "resolved")


async def test_a_staff_message_falls_back_to_the_next_channel(fresh_ts_env):
    world = World(failing_channels={"chat"})
    env = fresh_ts_env
    await skip_to_office_hours(env)
    async with running(env, world) as tq:
        h = await start(env.client, tq, req=request(400))
        await wait_for(h, lambda v: v.stage == "helpline_consult")
        tl = await timeline_with(h, "notification_fallback")
    fallback = [e.detail for e in tl if e.action == "notification_fallback"]
    assert any(
        "consult_requested to Harper Helpline: chat failed, sent by email" in d for d in fallback
    )
    sent = [d for d in world.deliveries if d.recipient_name == "Harper Helpline"]
    assert [d.channel for d in sent] == ["email"]


async def test_a_message_no_channel_takes_is_recorded_and_raised_to_the_manager(fresh_ts_env):
    world = World(failing_channels={"email", "sms"})  # every channel the customer has
    env = fresh_ts_env
    await skip_to_office_hours(env)
    async with running(env, world) as tq:
        h = await start(env.client, tq, req=request(400))
        await wait_for(h, lambda v: v.stage == "helpline_consult")
        tl = await timeline_with(h, "notification_failed")
        await wait_until(lambda: bodies(world, "Morgan Manager", "notification_failed"))
    failed = [e.detail for e in tl if e.action == "notification_failed"]
    assert any(d.startswith("opened to Ada Lovelace: no channel delivered") for d in failed)
    assert "opened" in bodies(world, "Morgan Manager", "notification_failed")[0]
    assert [d.channel for d in world.deliveries if d.recipient_name == "Morgan Manager"] == ["chat"]


async def test_an_unanswered_approval_raises_the_level_of_the_cases_next_proposal(
    fresh_ts_env, world
):
    """authority_level's description: raised to the level an unanswered approval was moved to.
    After the raise and a rejection, a proposal the supervisors could sign goes to the managers,
    the level that was told."""
    env = fresh_ts_env
    await skip_to_office_hours(env)
    async with running(env, world) as tq:
        h = await start(env.client, tq, req=request(400))
        await wait_for(h, lambda v: v.stage == "helpline_consult")
        await h.execute_update(
            W.consult_answer, ConsultAnswer(actor=HELPLINE, resolves=False, answer="specialist")
        )
        await wait_for(h, lambda v: v.assignee is not None)
        await h.execute_update(W.acknowledge, Acknowledge(actor=SPECIALIST))
        v = await h.execute_update(
            W.propose, Proposal(actor=SPECIALIST, remedy=Remedy(kind="refund", amount=400))
        )
        assert v.pending_approval.level == "supervisor"
        for _ in range(3):  # two reminders, then the raise
            await env.sleep(timedelta(minutes=61))
        await wait_for(h, lambda v: v.pending_approval.level == "manager")
        await wait_until(lambda: "authority_raised" in world.events("Morgan Manager"))
        await h.execute_update(W.decide, Decision(actor=MANAGER, decision="reject"))
        v = await h.execute_update(
            W.propose, Proposal(actor=SPECIALIST, remedy=Remedy(kind="refund", amount=300))
        )
        assert v.pending_approval.level == "manager"
