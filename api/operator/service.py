"""The operators' levers on a case's workflow, in place of the
Temporal UI's write actions (the UI through /temporal is read-only, api/console/temporal_ui.py).
Each is audited on the case's timeline: cancel is the case's own update; a retry of a stuck
activity and a reset are server calls the workflow cannot see, so the API makes the call and
then records it with the update `record_operator_action` (decision 0054).
"""

from __future__ import annotations

import uuid
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    ResetActivityRequest,
    ResetWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus

from api import gateway
from api.auth import actor_of
from api.cases import service as cases
from api.errors import Conflict, Invalid
from api.operator.schemas import PendingActivity
from api.temporal_errors import temporal_errors
from core.directory import DirectoryEntry
from workflows.access import Action
from workflows.inputs import OperatorRecord
from workflows.stages import Stage
from workflows.views import EscalationView


def _execution(escalation_id: str, run_id: str = "") -> WorkflowExecution:
    return WorkflowExecution(workflow_id=gateway.workflow_id(escalation_id), run_id=run_id)


async def pending_activities(client: Client, escalation_id: str) -> list[PendingActivity]:
    handle = gateway.handle_for(client, escalation_id)
    async with temporal_errors(escalation_id):
        desc = await gateway.bounded(handle.describe(), gateway.QUERY_TIMEOUT_S)
    out = []
    for a in desc.raw_description.pending_activities:
        state = PendingActivityState.Name(a.state).removeprefix("PENDING_ACTIVITY_STATE_")
        out.append(
            PendingActivity(
                activity_id=a.activity_id,
                activity_type=a.activity_type.name,
                state=state.lower(),
                attempt=a.attempt,
                last_failure=a.last_failure.message or None if a.HasField("last_failure") else None,
                next_attempt_at=a.next_attempt_schedule_time.ToDatetime().isoformat() + "Z"
                if a.HasField("next_attempt_schedule_time")
                else None,
            )
        )
    return out


async def record(
    client: Client, escalation_id: str, person: DirectoryEntry, u: OperatorRecord, key: Any
) -> EscalationView:
    return await cases.run_update(
        client, escalation_id, Action.RECORD_OPERATOR_ACTION, u, person.id, key
    )


async def retry_activity(
    client: Client,
    escalation_id: str,
    person: DirectoryEntry,
    activity_id: str | None,
    reason: str,
    key: str | None,
) -> EscalationView:
    """Retry the named pending activity (or the only one) now, and record it on the timeline."""
    pending = await pending_activities(client, escalation_id)
    if not pending:
        raise Conflict(f"Escalation {escalation_id} has no pending activity to retry.")
    chosen = [a for a in pending if activity_id in (None, a.activity_id)]
    if not chosen:
        raise Invalid(f"activity_id: no pending activity {activity_id[:80]!r}.")  # type: ignore[index]
    if len(chosen) > 1:
        ids = ", ".join(a.activity_id for a in chosen)
        raise Invalid(f"activity_id: several activities are pending ({ids}); name one.")
    a = chosen[0]
    async with temporal_errors(escalation_id):
        await gateway.bounded(
            client.workflow_service.reset_activity(
                ResetActivityRequest(
                    namespace=client.namespace,
                    execution=_execution(escalation_id),
                    identity=f"{person.id} via API",
                    id=a.activity_id,
                    reset_heartbeat=True,
                ),
                timeout=gateway.rpc_timeout(gateway.QUERY_TIMEOUT_S),
            ),
            gateway.QUERY_TIMEOUT_S,
        )
    detail = f"{a.activity_type} ({a.activity_id}, attempt {a.attempt}) retried now: {reason}"
    u = OperatorRecord(actor=actor_of(person), action="activity_retried", detail=detail)
    return await record(client, escalation_id, person, u, key)


async def last_good_task(client: Client, escalation_id: str) -> tuple[str, int]:
    """(run id, event id) of the latest run's last completed workflow task."""
    handle = gateway.handle_for(client, escalation_id)
    desc = await gateway.bounded(handle.describe(), gateway.QUERY_TIMEOUT_S)
    if desc.status == WorkflowExecutionStatus.COMPLETED or (
        (await cases.query_state(client, escalation_id)).stage in (Stage.CLOSED, Stage.CANCELLED)
    ):
        # closed or cancelled through the process (its last task may still be running): a reset
        # would only end it the same way again
        raise Conflict(
            f"Escalation {escalation_id} ended through the process (closed or cancelled); "
            "reopen it instead."
        )
    last, token = 0, b""
    while True:
        page = await client.workflow_service.get_workflow_execution_history(
            GetWorkflowExecutionHistoryRequest(
                namespace=client.namespace,
                execution=_execution(escalation_id, desc.run_id),
                next_page_token=token,
            ),
            timeout=gateway.rpc_timeout(gateway.QUERY_TIMEOUT_S),
        )
        for e in page.history.events:
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                last = e.event_id
        token = page.next_page_token
        if not token:
            return desc.run_id, last


async def reset(
    client: Client, escalation_id: str, person: DirectoryEntry, reason: str, key: str | None
) -> EscalationView:
    """Reset the workflow to its latest run's last completed task, and record it on the new
    run's timeline."""
    async with temporal_errors(escalation_id):
        run_id, event_id = await last_good_task(client, escalation_id)
        if not event_id:
            raise Conflict(f"Escalation {escalation_id} has no completed workflow task.")
        answer = await gateway.bounded(
            client.workflow_service.reset_workflow_execution(
                ResetWorkflowExecutionRequest(
                    namespace=client.namespace,
                    workflow_execution=_execution(escalation_id, run_id),
                    reason=f"{person.id}: {reason}"[:1000],
                    workflow_task_finish_event_id=event_id,
                    # a retry with the same key resets once
                    request_id=key or str(uuid.uuid4()),
                    identity=f"{person.id} via API",
                ),
                timeout=gateway.rpc_timeout(gateway.QUERY_TIMEOUT_S),
            ),
            gateway.QUERY_TIMEOUT_S,
        )
    detail = f"reset to event {event_id} of run {run_id} (new run {answer.run_id}): {reason}"
    u = OperatorRecord(actor=actor_of(person), action="workflow_reset", detail=detail)
    return await record(client, escalation_id, person, u, key)
