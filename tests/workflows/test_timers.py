"""A workflow task that cancels a timer which fired while the task was with the worker is refused
by the time-skipping server ("invalid history builder state for action"). Mostly the task then
fails and runs again; now and then the server strands the run for good (temporalio/sdk-java#3088:
a CI run's contributions test, the simulator's weeks). An update or signal moving a deadline that
is just due does exactly that, so `workflows.timers` leaves a timer about to fire alone."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow

from tests.conftest import run_worker

with workflow.unsafe.imports_passed_through():
    from workflows import timers


@activity.defn
async def slow_step() -> None:
    await asyncio.sleep(1)  # server time runs on while the workflow task is out


@workflow.defn(sandboxed=False)
class MovedDeadline:
    """A deadline, and a signal that moves it in a task slowed by a local activity (as the case's
    routing and knowledge-base look-ups are)."""

    def __init__(self) -> None:
        self.moved = False

    @workflow.signal
    def move(self) -> None:
        self.moved = True

    @workflow.run
    async def run(self) -> str:
        deadline = timers.Timer(10, "the deadline")
        await workflow.wait_condition(lambda: self.moved or deadline.done())
        await workflow.execute_local_activity(
            slow_step, start_to_close_timeout=timedelta(seconds=10)
        )
        deadline.cancel()  # fired on the server meanwhile: cancelling it would stall the run
        # a case goes on waiting (completing in this task would be refused for the fire it has
        # not seen, as any server refuses it)
        await workflow.sleep(60)
        return "moved" if self.moved else "due"


async def test_a_deadline_moved_just_before_it_fires_does_not_stall_the_run(fresh_ts_env):
    env = fresh_ts_env
    async with run_worker(env.client, [MovedDeadline], [slow_step]) as tq:
        handle = await env.client.start_workflow(MovedDeadline.run, id="moved", task_queue=tq)
        await env.sleep(timedelta(seconds=9.7))
        await handle.signal(MovedDeadline.move)
        assert await asyncio.wait_for(handle.result(), timeout=30) == "moved"
        events = [e async for e in handle.fetch_history_events()]
    kinds = [e.WhichOneof("attributes") for e in events]
    assert "workflow_task_failed_event_attributes" not in kinds  # the refused completion
    assert "timer_fired_event_attributes" in kinds
    assert "timer_canceled_event_attributes" not in kinds
