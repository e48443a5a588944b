"""/escalations/{id}/operator/...: the operators' levers on a case's workflow, in place of the
Temporal UI's write actions (the UI through /temporal is read-only, api/console/temporal_ui.py).
Each is audited on the case's timeline: cancel is the case's own update; a retry of a stuck
activity and a reset are server calls the workflow cannot see, so the API makes the call and
then records it with the update `record_operator_action` (decision 0054).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.auth import access_doc, action_doc, actor_of, require
from api.cases import service as cases
from api.deps import IdempotencyKey, IdParam, TemporalClient
from api.operator import service
from api.operator.schemas import OperatorReason, PendingActivities, RetryActivityBody
from api.schemas import error_responses
from core.directory import DirectoryEntry
from workflows.access import Action
from workflows.inputs import Reason
from workflows.views import EscalationView

router = APIRouter(prefix="/escalations", tags=["operator"])


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
    return PendingActivities(items=await service.pending_activities(client, escalation_id))


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
    return await cases.run_update(
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
    return await service.retry_activity(
        client, escalation_id, person, body.activity_id, body.reason, idempotency_key
    )


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
    return await service.reset(client, escalation_id, person, body.reason, idempotency_key)
