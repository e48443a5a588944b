"""Promised callbacks on the time-skipping server (and, on the dev server, open promises
carried across continue-as-new): the reminder counts the promiser's business
hours back from the promised time (across Christmas, a weekend and the Boxing Day holiday), a
callback not recorded done is a breach of promise raised to the manager, one done in time is
not, and the Temporal UI's details list the open ones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError

from tests.workflows.fakes import World
from tests.workflows.helpers import (
    AGENT,
    LONDON,
    SPECIALIST,
    actions,
    demo_policy,
    request,
    skip_to_christmas_eve,
    start,
    wait_for,
)
from tests.workflows.test_escalation import always_open, running, to_specialist
from workflows import opening
from workflows.escalation import EscalationWorkflow
from workflows.escalation.visibility import details
from workflows.inputs import CallbackDone, CallbackPromise, ContributionRequest
from workflows.models import Callback, EscalationState

W = EscalationWorkflow


@pytest.fixture
def world():
    return World()


def london(d: datetime, hh: int, mm: int) -> datetime:
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=LONDON)


async def test_a_callback_after_christmas_is_reminded_on_christmas_eve_then_missed(
    fresh_ts_env, world
):
    env = fresh_ts_env
    eve = await skip_to_christmas_eve(env)  # 24 Dec 16:00 London
    # the next working morning: 25 Dec and the Boxing Day holiday, and a weekend, come between
    after = eve.date() + timedelta(days=1)
    async with running(env, world) as tq:
        h = await start(env.client, tq, policy_edit=world.policy_edit, req=request(600))
        await wait_for(h, lambda v: v.stage in ("helpline_consult", "specialist"))
        cal = demo_policy(eve.date()).calendars["uk_office"]
        while after.weekday() >= 5 or after in cal.holidays:
            after += timedelta(days=1)
        at = london(after, 9, 10)
        v = await h.execute_update(
            W.promise_callback, CallbackPromise(actor=AGENT, at=at, note="Confirm the refund")
        )
        [cb] = v.callbacks
        # 15 business minutes before 09:10 on the next working day: 10 minutes of that morning,
        # 5 of Christmas Eve's (the office closes at 17:30)
        assert cb.remind_at == london(eve, 17, 25)
        assert v.next_deadline is not None and v.next_deadline <= at

        with pytest.raises(WorkflowUpdateFailedError) as refused:  # not in the agent's hours
            await h.execute_update(
                W.promise_callback, CallbackPromise(actor=AGENT, at=london(eve, 20, 0))
            )
        assert "business hours" in str(refused.value.cause)

        await env.sleep(at + timedelta(minutes=11) - eve)
        timeline = (await h.query(W.timeline)).items
        reminder = next(i for i in timeline if i.action == "callback_reminder")
        missed = next(i for i in timeline if i.action == "callback_missed")
        assert timedelta(0) <= reminder.at - london(eve, 17, 25) < timedelta(seconds=2)
        assert timedelta(0) <= missed.at - (at + timedelta(minutes=10)) < timedelta(seconds=2)
        assert "breach of promise" in missed.detail
        v = await h.query(W.state)
        assert v.callbacks[0].missed and v.callbacks[0].reminded
        events = [(d.event, d.recipient_name) for d in world.deliveries]
        assert ("callback_reminder", "Alex Agent") in events
        assert ("callback_missed", "Morgan Manager") in events

        # done late: recorded, the breach stays
        v = await h.execute_update(W.callback_done, CallbackDone(actor=AGENT, number=1))
        assert v.callbacks[0].done_at is not None and v.callbacks[0].missed


async def test_a_callback_done_in_time_is_neither_reminded_nor_missed(fresh_ts_env, world):
    env = fresh_ts_env
    eve = await skip_to_christmas_eve(env)
    async with running(env, world) as tq:
        h = await start(env.client, tq, policy_edit=world.policy_edit, req=request(600))
        await wait_for(h, lambda v: v.stage in ("helpline_consult", "specialist"))
        at = london(eve, 17, 0)
        await h.execute_update(W.promise_callback, CallbackPromise(actor=AGENT, at=at))
        await env.sleep(timedelta(minutes=30))
        v = await h.execute_update(W.callback_done, CallbackDone(actor=AGENT, number=1))
        assert v.callbacks[0].done_at is not None
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(W.callback_done, CallbackDone(actor=AGENT, number=1))
        assert "already recorded done" in str(refused.value.cause)
        await env.sleep(timedelta(hours=2))
        actions = [i.action for i in (await h.query(W.timeline)).items]
        assert "callback_done" in actions
        assert "callback_reminder" not in actions and "callback_missed" not in actions
        assert not (await h.query(W.state)).callbacks[0].missed


def test_the_current_details_list_open_and_missed_callbacks():

    now = datetime(2026, 12, 2, 10, tzinfo=LONDON)
    policy = demo_policy(now.date())
    s = EscalationState(
        id="E-1", request=request(600), opened_by=AGENT, opened_at=now, updated_at=now
    )
    opening.triage(s, policy, now)
    cb = dict(promised_by="Alex Agent", promised_by_id="p-agent", promised_by_role="agent")
    s.callbacks = [
        Callback(number=1, at=now + timedelta(hours=1), remind_at=now, **cb),
        Callback(number=2, at=now, remind_at=now, missed=True, **cb),
    ]
    assert "promises: callback 1 2026-12-02 11:00 (Alex Agent); 1 MISSED" in details(s)


async def test_open_promises_are_watched_across_continue_as_new(dev_env, world):
    def quick(policy) -> None:
        always_open(policy)
        policy.callback_reminder_min = 0.05  # 3 s
        policy.callback_grace_min = 0.05

    world.policy_edit = quick
    async with running(dev_env, world) as tq:
        h = await start(
            dev_env.client, tq, policy_edit=quick, req=request(600), continue_as_new_after_events=25
        )
        await to_specialist(h)
        at = datetime.now(UTC) + timedelta(seconds=8)
        await h.execute_update(W.promise_callback, CallbackPromise(actor=AGENT, at=at))
        ask = ContributionRequest(
            actor=SPECIALIST, team="technical-specialists", question="?", within_h=0.002
        )
        await h.execute_update(W.request_contribution, ask)
        latest = dev_env.client.get_workflow_handle(h.id)
        first = dev_env.client.get_workflow_handle(h.id, run_id=h.first_execution_run_id)
        v = await wait_for(latest, lambda v: v.callbacks and v.callbacks[0].missed, timeout=30)
        assert v.contributions[0].breached
        last = (await first.fetch_history()).events[-1]
        assert last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
        tl = await actions(latest)
        assert tl.index("continued_as_new") < tl.index("callback_reminder")
        assert "callback_missed" in tl and "contribution_breached" in tl
