"""The customer's feedback link on the time-skipping server: each check-in carries a link that
expires after the policy's window (wall clock: the customer's time, holidays or not), the case
waits that window after the last check-in, closes at once when the last check-in is answered,
and a low rating reopens it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from tests.workflows.helpers import (
    actions,
    request,
    skip_to_christmas_eve,
    start,
    wait_for,
    wait_until,
)
from tests.workflows.test_escalation import running
from workflows.escalation import EscalationWorkflow
from workflows.inputs import FeedbackAnswer
from workflows.models import Actor

W = EscalationWorkflow
CUSTOMER = Actor(id="customer", name="Customer (feedback link)", role="customer")


@pytest.fixture
def world():
    from tests.workflows.fakes import World

    return World()


async def test_the_case_waits_for_the_last_answer_over_christmas_then_closes(fresh_ts_env, world):
    env = fresh_ts_env
    await skip_to_christmas_eve(env)  # 24 Dec 16:00: the window spans Christmas and a weekend
    async with running(env, world) as tq:
        h = await start(env.client, tq, policy_edit=world.policy_edit, req=request(40))
        await wait_for(h, lambda v: v.stage == "follow_up")
        timeline = (await h.query(W.timeline)).items
        resolved_at = next(i.at for i in timeline if i.action == "resolved")
        result = await h.result()
        assert result.stage == "closed" and result.feedback == []
        links = [d.feedback for d in world.deliveries if d.event == "check_in"]
        assert [link.key for link in links if link] == ["0.1", "0.2"]
        # each link lasts the policy's 72 h from its check-in, by the wall clock
        first, last = links[0], links[1]
        assert first and last
        # (tier 1 resolves once the customer's history is read, a moment after the opening)
        assert abs(first.expires_at - (resolved_at + timedelta(hours=24 + 72))) < timedelta(
            seconds=2
        )
        assert abs(last.expires_at - (resolved_at + timedelta(hours=168 + 72))) < timedelta(
            seconds=2
        )
        assert "{feedback_link}" in world.deliveries[-1].body  # the activity signs it in
        closed = (await h.query(W.timeline)).items[-1]
        assert closed.action == "closed"
        assert timedelta(0) <= closed.at - last.expires_at < timedelta(seconds=1)


async def test_an_answer_to_the_last_check_in_closes_at_once_and_is_recorded_once(
    fresh_ts_env, world
):
    env = fresh_ts_env
    async with running(env, world) as tq:
        h = await start(env.client, tq, policy_edit=world.policy_edit, req=request(40))
        await wait_for(h, lambda v: v.stage == "follow_up")
        await env.sleep(timedelta(hours=169))
        await wait_until(lambda: world.events("Ada Lovelace").count("check_in") == 2)
        v = await wait_for(h, lambda v: v.feedback_open_until is not None)
        assert v.next_deadline == v.feedback_open_until
        answer = FeedbackAnswer(actor=CUSTOMER, key="0.2", score=4, comment="All good now")
        v = await h.execute_update(W.customer_feedback, answer)
        assert [(f.key, f.score) for f in v.feedback] == [("0.2", 4)]
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await h.execute_update(W.customer_feedback, answer)
        assert "closed" in str(refused.value.cause)  # the answer closed it at once
        result = await h.result()
        assert result.stage == "closed" and len(result.feedback) == 1
        tl = await actions(h)
        assert tl[-3:] == ["check_in", "feedback_received", "closed"]


async def test_a_low_rating_reopens_one_severity_higher(fresh_ts_env, world):
    env = fresh_ts_env
    async with running(env, world) as tq:
        h = await start(env.client, tq, policy_edit=world.policy_edit, req=request(40))
        await wait_for(h, lambda v: v.stage == "follow_up")
        await env.sleep(timedelta(hours=25))
        await wait_until(lambda: "check_in" in world.events("Ada Lovelace"))
        v = await h.execute_update(
            W.customer_feedback, FeedbackAnswer(actor=CUSTOMER, key="0.1", score=2)
        )
        assert (v.stage, v.severity) == ("specialist", "P2")
        timeline = (await h.query(W.timeline)).items
        reopened = next(i for i in timeline if i.action == "reopened")
        assert reopened.detail == "customer feedback: rated 2/5" and reopened.role == "customer"
        with pytest.raises(WorkflowUpdateFailedError) as refused:  # one answer per check-in
            await h.execute_update(
                W.customer_feedback, FeedbackAnswer(actor=CUSTOMER, key="0.1", score=5)
            )
        assert "already answered" in str(refused.value.cause)
        v = await h.query(W.state)
        assert [(f.key, f.score) for f in v.feedback] == [("0.1", 2)]
