"""Updates racing each other on the real server: one wins, the others fail cleanly, and the
history stays replayable (no failed workflow task)."""

import asyncio

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

from tests.conftest import run_worker
from tests.workflows.fakes import World
from tests.workflows.helpers import (
    EXECUTIVE,
    HELPLINE,
    MANAGER,
    SPECIALIST,
    request,
    start,
    terminate_started,
    wait_for,
    wait_until,
)
from tests.workflows.test_escalation import always_open
from tests.workflows.test_ownership import SKY
from workflows.escalation import EscalationWorkflow as W
from workflows.inputs import Acknowledge, ConsultAnswer, Decision, Proposal, ReassignCase
from workflows.models import Actor, Remedy


async def test_racing_approvals_apply_once_and_leave_a_clean_history(dev_env):
    world = World()
    world.policy_edit = always_open
    async with run_worker(dev_env.client, [W], world.activities()) as tq:
        try:
            for _ in range(3):
                h = await start(dev_env.client, tq, policy_edit=world.policy_edit, req=request(600))
                await wait_for(h, lambda v: v.stage == "helpline_consult")
                await h.execute_update(
                    W.consult_answer,
                    ConsultAnswer(actor=HELPLINE, resolves=False, answer="specialist"),
                )
                await wait_for(h, lambda v: v.assignee is not None)
                await h.execute_update(W.acknowledge, Acknowledge(actor=SPECIALIST))
                await h.execute_update(
                    W.propose, Proposal(actor=SPECIALIST, remedy=Remedy(kind="refund", amount=600))
                )
                results = await asyncio.gather(
                    *[
                        h.execute_update(
                            W.decide,
                            Decision(
                                actor=EXECUTIVE if i % 2 else MANAGER,
                                decision="approve" if i % 3 else "reject",
                            ),
                        )
                        for i in range(20)
                    ],
                    return_exceptions=True,
                )
                wins = [r for r in results if not isinstance(r, BaseException)]
                losses = [r for r in results if isinstance(r, BaseException)]
                assert len(wins) == 1, results
                for err in losses:
                    assert isinstance(err, WorkflowUpdateFailedError), repr(err)
                    assert isinstance(err.cause, ApplicationError) and err.cause.type == "Conflict"
                await wait_for(h, lambda v: v.stage in ("specialist", "follow_up"))
                history = await h.fetch_history()
                failed = [
                    e
                    for e in history.events
                    if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
                ]
                assert not failed, failed
                decided = [
                    i
                    for i in (await h.query(W.timeline)).items
                    if i.action in ("approval_granted", "approval_rejected")
                ]
                assert len(decided) == 1
                await Replayer(
                    workflows=[W], data_converter=pydantic_data_converter
                ).replay_workflow(history)
        finally:
            await terminate_started()


async def test_a_reassignment_made_while_the_case_is_routed_stands(dev_env):
    """Routing reads the customer's past first (an activity: updates land meanwhile); a manager
    names the owner before routing answers: the manager's choice stands, and the new owner
    (not the routed one) is told of the transfer."""
    world = World(history_delay_s=2)
    world.policy_edit = always_open
    async with run_worker(dev_env.client, [W], world.activities()) as tq:
        try:
            h = await start(dev_env.client, tq, policy_edit=world.policy_edit, req=request(600))
            await wait_for(h, lambda v: v.stage == "helpline_consult")
            answered = await h.start_update(  # its answer waits for the routing
                W.consult_answer,
                ConsultAnswer(actor=HELPLINE, resolves=False, answer="go up"),
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
            )
            await wait_until(lambda: bool(world.history_asked))  # routing is under way
            v = await h.execute_update(
                W.reassign, ReassignCase(actor=MANAGER, to=SKY, reason="knows the customer")
            )
            assert v.assignee == SKY.id
            assert (await answered.result()).assignee == SKY.id  # routing has answered
            assert (await h.query(W.state)).assignee == SKY.id
            sky = Actor(**SKY.model_dump(include=set(Actor.model_fields)))
            await h.execute_update(W.acknowledge, Acknowledge(actor=sky))
            assert "transferred" in world.events(to=SKY.name)
            assert "transferred" not in world.events(to=SPECIALIST.name)
            await Replayer(workflows=[W], data_converter=pydantic_data_converter).replay_workflow(
                await h.fetch_history()
            )
        finally:
            await terminate_started()
