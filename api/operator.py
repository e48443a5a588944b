"""/escalations/{id}/operator/...: the operators' levers on a case's workflow, in place of the
Temporal UI's write actions (the UI through /temporal is read-only, api/console/temporal_ui.py).
Each is audited on the case's timeline: cancel is the case's own update; a retry of a stuck
activity and a reset are server calls the workflow cannot see, so the API makes the call and
then records it with the update `record_operator_action` (decision 0054).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.api.workflowservice.v1 import (
    GetWorkflowExecutionHistoryRequest,
    ResetActivityRequest,
    ResetWorkflowExecutionRequest,
)
from temporalio.client import Client, WorkflowExecutionStatus

from api import gateway
from api.actions import action_doc
from api.auth import access_doc, actor_of, require
from api.deps import IdempotencyKey, IdParam, TemporalClient
from api.errors import Conflict, Invalid
from api.schemas import Body, error_responses
from api.temporal_errors import temporal_errors
from core.directory import DirectoryEntry
from workflows.access import Action
from workflows.inputs import OperatorRecord, Reason
from workflows.stages import Stage
from workflows.views import EscalationView

router = APIRouter(prefix="/escalations", tags=["operator"])
Why = Field(min_length=1, max_length=5_000, description="Why (kept in the timeline)")


class OperatorReason(Body):
    reason: str = Why


class RetryActivityBody(Body):
    reason: str = Why
    activity_id: str | None = Field(
        None,
        max_length=200,
        description="The pending activity to retry (GET .../operator/activities); may be left "
        "out when exactly one is pending",
    )


class PendingActivity(BaseModel):
    activity_id: str = Field(description="Its id in the workflow (name it to retry it)")
    activity_type: str = Field(description="What it does", examples=["customer_history"])
    state: str = Field(description="scheduled, started, cancel_requested or paused")
    attempt: int = Field(description="The attempt running or next to run (1 = the first)")
    last_failure: str | None = Field(None, description="The last attempt's failure message")
    next_attempt_at: str | None = Field(
        None, description="When the next attempt runs, while it waits on its retry backoff"
    )


class PendingActivities(BaseModel):
    items: list[PendingActivity] = Field(description="The workflow's pending activities")


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
    return await gateway.run_update(
        client, escalation_id, Action.RECORD_OPERATOR_ACTION, u, person.id, key
    )


@router.get(
    "/{escalation_id}/operator/activities",
    response_model=PendingActivities,
    summary="The case's pending activities (operators)",
    description=f"{access_doc(Action.RETRY_ACTIVITY)}\n\nWhat the workflow is waiting on: "
    "each pending activity with its attempt and last failure, to pick one to retry.",
    responses=error_responses(401, 403, 404, 503),
)
async def list_activities(
    escalation_id: IdParam,
    _: Annotated[DirectoryEntry, Depends(require(Action.RETRY_ACTIVITY))],
    client: TemporalClient,
) -> PendingActivities:
    return PendingActivities(items=await pending_activities(client, escalation_id))


@router.post(
    "/{escalation_id}/operator/cancel",
    **action_doc(
        Action.CANCEL,
        "Cancel the case, with a reason (operators)",
        "As `POST /escalations/{id}/cancel`, with a reason required (422 without one): the "
        "timeline's `cancelled` entry names the operator and the reason, the customer is told.",
    ),
)
async def operator_cancel(
    escalation_id: IdParam,
    body: OperatorReason,
    person: Annotated[DirectoryEntry, Depends(require(Action.CANCEL))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = Reason(actor=actor_of(person), reason=body.reason)
    return await gateway.run_update(
        client, escalation_id, Action.CANCEL, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/operator/retry-activity",
    **action_doc(
        Action.RETRY_ACTIVITY,
        "Retry a stuck activity now (operators)",
        "Resets the pending activity's attempts and, if it waits for its next retry, runs it "
        "at once (Temporal's ResetActivity). `activity_id` names it (GET "
        ".../operator/activities); without one, the only pending activity. 409 when none is "
        "pending, 422 when several are and none is named (or the named one is not pending). "
        "Recorded on the timeline as `activity_retried` with the reason.",
    ),
)
async def retry_activity(
    escalation_id: IdParam,
    body: RetryActivityBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.RETRY_ACTIVITY))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    pending = await pending_activities(client, escalation_id)
    if not pending:
        raise Conflict(f"Escalation {escalation_id} has no pending activity to retry.")
    chosen = [a for a in pending if body.activity_id in (None, a.activity_id)]
    if not chosen:
        raise Invalid(f"activity_id: no pending activity {body.activity_id[:80]!r}.")  # type: ignore[index]
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
    detail = f"{a.activity_type} ({a.activity_id}, attempt {a.attempt}) retried now: {body.reason}"
    u = OperatorRecord(actor=actor_of(person), action="activity_retried", detail=detail)
    return await record(client, escalation_id, person, u, idempotency_key)


async def last_good_task(client: Client, escalation_id: str) -> tuple[str, int]:
    """(run id, event id) of the latest run's last completed workflow task."""
    handle = gateway.handle_for(client, escalation_id)
    desc = await gateway.bounded(handle.describe(), gateway.QUERY_TIMEOUT_S)
    if desc.status == WorkflowExecutionStatus.COMPLETED or (
        (await gateway.query_state(client, escalation_id)).stage in (Stage.CLOSED, Stage.CANCELLED)
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


@router.post(
    "/{escalation_id}/operator/reset",
    **action_doc(
        Action.RESET_WORKFLOW,
        "Reset the workflow to its last good task (operators)",
        "Temporal's ResetWorkflowExecution to the latest run's last completed workflow task: a "
        "new run replays the case up to there (its timeline included) and goes on from it; "
        "signals and updates after that point are applied again. For a workflow stuck on a "
        "failing task (a bad deploy) and for one that ended outside the process (stage "
        "`terminated`), which runs again. Recorded on the new run's timeline as "
        "`workflow_reset` with the reason. 409 when the run has no completed task, or when the "
        "case ended through the process (closed or cancelled: reopen it instead).",
    ),
)
async def reset(
    escalation_id: IdParam,
    body: OperatorReason,
    person: Annotated[DirectoryEntry, Depends(require(Action.RESET_WORKFLOW))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    async with temporal_errors(escalation_id):
        run_id, event_id = await last_good_task(client, escalation_id)
        if not event_id:
            raise Conflict(f"Escalation {escalation_id} has no completed workflow task.")
        answer = await gateway.bounded(
            client.workflow_service.reset_workflow_execution(
                ResetWorkflowExecutionRequest(
                    namespace=client.namespace,
                    workflow_execution=_execution(escalation_id, run_id),
                    reason=f"{person.id}: {body.reason}"[:1000],
                    workflow_task_finish_event_id=event_id,
                    # a retry with the same key resets once
                    request_id=idempotency_key or str(uuid.uuid4()),
                    identity=f"{person.id} via API",
                ),
                timeout=gateway.rpc_timeout(gateway.QUERY_TIMEOUT_S),
            ),
            gateway.QUERY_TIMEOUT_S,
        )
    detail = f"reset to event {event_id} of run {run_id} (new run {answer.run_id}): {body.reason}"
    u = OperatorRecord(actor=actor_of(person), action="workflow_reset", detail=detail)
    return await record(client, escalation_id, person, u, idempotency_key)
