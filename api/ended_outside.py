"""A case whose workflow ended outside the process: terminated, timed out, failed or cancelled
in Temporal itself (someone with direct Temporal access, a server-side timeout, a bug). The
workflow cannot record that (it no longer runs), and a query replays it only up to its last
task, so it would still answer its open stage. The API reads the workflow's status beside every
state and timeline query and, for such a case, answers stage `terminated` with who, when and
why as Temporal recorded them (`ended_outside`), and a last timeline entry saying so.
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle

from workflows.models import TimelineEntry
from workflows.stages import Stage
from workflows.views import EndedOutside, EscalationView, Timeline

OUTSIDE: dict[WorkflowExecutionStatus, str] = {
    WorkflowExecutionStatus.TERMINATED: "terminated",
    WorkflowExecutionStatus.TIMED_OUT: "timed_out",
    WorkflowExecutionStatus.FAILED: "failed",
    WorkflowExecutionStatus.CANCELED: "canceled",
}
# The same statuses in a visibility query (the list's stage filter `terminated`)
VISIBILITY_CLAUSE = "ExecutionStatus IN ('Terminated', 'TimedOut', 'Failed', 'Canceled')"


def _last_event_facts(event: Any) -> tuple[str | None, str | None]:
    """(identity, reason) from a workflow's closing event, where Temporal records them."""
    if event.HasField("workflow_execution_terminated_event_attributes"):
        a = event.workflow_execution_terminated_event_attributes
        return a.identity or None, a.reason or None
    if event.HasField("workflow_execution_failed_event_attributes"):
        return None, event.workflow_execution_failed_event_attributes.failure.message or None
    if event.HasField("workflow_execution_timed_out_event_attributes"):
        return None, "the workflow's execution timeout passed"
    return None, None


async def ended_outside(
    client: Client, handle: WorkflowHandle[Any, Any], timeout: timedelta
) -> EndedOutside | None:
    """How the case's (latest) run ended outside the process; None while it runs or when it
    ended through the process (completed: closed or cancelled by an action)."""
    desc = await handle.describe(rpc_timeout=timeout)
    status = OUTSIDE.get(desc.status) if desc.status is not None else None
    if status is None:
        return None
    by = reason = None
    history = await client.workflow_service.get_workflow_execution_history_reverse(
        GetWorkflowExecutionHistoryReverseRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=desc.id, run_id=desc.run_id),
            maximum_page_size=1,
        ),
        timeout=timeout,
    )
    if history.history.events:
        by, reason = _last_event_facts(history.history.events[0])
    at = desc.close_time.astimezone(UTC) if desc.close_time else None
    return EndedOutside(status=status, at=at, by=by, reason=reason)


def state(view: EscalationView, ended: EndedOutside | None) -> EscalationView:
    if ended is None or view.stage in (Stage.CLOSED, Stage.CANCELLED):
        return view
    ended = ended.model_copy(update={"stage": view.stage})
    return view.model_copy(
        update={
            "stage": Stage.TERMINATED,
            "ended_outside": ended,
            "next_deadline": None,
            "updated_at": ended.at or view.updated_at,
        }
    )


def timeline(items: Timeline, ended: EndedOutside | None) -> Timeline:
    if ended is None or ended.at is None:
        return items
    last = TimelineEntry(
        at=ended.at,
        actor=ended.by or "unknown (in Temporal)",
        role="outside",
        action="ended_outside",
        stage=Stage.TERMINATED,
        detail=f"workflow {ended.status} outside the service"
        + (f": {ended.reason}" if ended.reason else ""),
    )
    return items.model_copy(update={"items": [*items.items, last]})
