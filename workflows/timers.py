"""Durable waits whose timers are never cancelled in the last moments before they fire.

The time-skipping test server (under the tests and the policy simulator) refuses a workflow task
that cancels a timer which fired while the task was with the worker ("invalid history builder
state for action", temporalio/sdk-java#2606 and #3088) and never hands the task out again: the
run stalls. It happens whenever two deadlines fall on one instant (a contribution capped at the
resolution clock, a stage deadline and its SLA breach) and the first to fire moves the other.
Server time passes while a task is out, so a timer due within `SOON` of the task's own time is
left to fire unheeded instead; later ones are cancelled as before. A real server accepts either,
and a left timer costs one workflow task. Runs recorded before the patch cancel as they did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from temporalio import workflow

PATCH = "timers-due-soon-left-to-fire"
SOON = timedelta(minutes=2)  # far longer than a workflow task takes on a loaded machine


class Timer:
    """A durable timer (`workflow.sleep`) that knows when it is due."""

    def __init__(self, seconds: float, summary: str) -> None:
        self.due = workflow.now() + timedelta(seconds=seconds)
        self.sleep = asyncio.ensure_future(workflow.sleep(seconds, summary=summary))

    def done(self) -> bool:
        return self.sleep.done()

    def cancel(self) -> None:
        """Cancel, unless it is about to fire (then the wait it served ignores it)."""
        if self.sleep.done():
            return
        if self.due - workflow.now() <= SOON and workflow.patched(PATCH):
            return
        self.sleep.cancel()


async def wait(done: Callable[[], bool], seconds: float | None, summary: str) -> bool:
    """Wait until `done()` or for `seconds` (a durable timer; None: no timer). True when the
    condition came, False when the time ran out first."""
    if seconds is None:
        await workflow.wait_condition(done)
        return True
    if not workflow.patched(PATCH):  # as recorded before the patch: the timer is always cancelled
        try:
            await workflow.wait_condition(done, timeout=seconds, timeout_summary=summary)
        except TimeoutError:
            return False
        return True
    timer = Timer(seconds, summary)
    try:
        await workflow.wait_condition(lambda: done() or timer.done())
    except asyncio.CancelledError:
        timer.cancel()
        raise
    # not in `finally`: a run evicted from the worker's cache closes its coroutines outside
    # the workflow's event loop, where there is no workflow time to ask
    timer.cancel()
    return done()
