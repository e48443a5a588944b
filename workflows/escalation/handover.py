"""Continue-as-new: a long case hands its state to a new run (Temporal suggests it when the
history grows long). The hand-over never waits on an integration: what is being retried for long
(a failing CRM, a relay that is down) is cancelled and carried to the next run (outbox.py), and
the SLA watcher keeps watching until the new run takes over."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.inputs import StartEscalation

if TYPE_CHECKING:
    from workflows.escalation.workflow import EscalationWorkflow


async def continue_as_new(wf: EscalationWorkflow) -> None:
    await workflow.wait_condition(workflow.all_handlers_finished)
    s = wf.s
    if workflow.patched("carry-on-continue-as-new"):
        wf.handing_over = wf.outbox.handing_over = True
        wf.settle()
        # what finishes soon (dispatches, lookups) is waited for; long retries are not
        await workflow.wait_condition(
            lambda: all(t.done() or t is wf.watcher or t in wf.outbox.retrying for t in wf.tasks)
        )
        for task in list(wf.outbox.retrying):
            task.cancel()
        wf.finished = True
        wf.sla.changed()
        await asyncio.gather(*wf.tasks, return_exceptions=True)
        s.carried = [item.model_dump(mode="json") for item in wf.outbox.carried]
    else:  # the code before the patch waited for everything, retries included
        wf.finished = wf.handing_over = True
        wf.sla.changed()
        wf.settle()
        await asyncio.gather(*wf.tasks, return_exceptions=True)
    wf.record_process(
        "continued_as_new", f"history {workflow.info().get_current_history_length()} events"
    )
    workflow.continue_as_new(
        StartEscalation(
            id=s.id,
            request=s.request,
            opened_by=s.opened_by,
            resume=s,
            policy=wf.policy.model_dump(mode="json"),
            opened_at=s.opened_at,
            continue_as_new_after_events=wf.can_after,
            version=wf.version,
        )
    )
