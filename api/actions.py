"""/escalations/{id}/...: the actions people take on a case. Each is one workflow update (its
registered name is the `workflows.access.Action` value); the answer is the escalation after it.
Who may act, and on which stage, comes from the access table (workflows/access.py); finer
refusals (authority against the amount, nothing pending) come from the update's validator.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api import gateway
from api.auth import access_doc, actor_of, require
from api.deps import IdempotencyKey, IdParam, TemporalClient
from api.schemas import (
    AcknowledgeBody,
    AnswersBody,
    ConsultAnswerBody,
    CustomerContactBody,
    DecisionBody,
    InfoRequestBody,
    NoteBody,
    ProposalBody,
    ReasonBody,
    ResolveBody,
    SeverityBody,
    error_responses,
)
from core.directory import DirectoryEntry
from workflows.access import Action
from workflows.inputs import (
    Acknowledge,
    AddNote,
    AnswerQuestions,
    ConsultAnswer,
    CustomerContact,
    Decision,
    InfoRequest,
    Proposal,
    Reason,
    ResolveCase,
    SeverityChange,
)
from workflows.views import EscalationView

router = APIRouter(prefix="/escalations", tags=["escalations"])


def action_doc(action: Action, summary: str, more: str = "") -> dict[str, Any]:
    return {
        "summary": summary,
        "description": (
            f"{access_doc(action)}\n\n{more}\n\nReturns the escalation after the action. An "
            "`Idempotency-Key` header makes a retry return the first result instead of acting "
            "twice."
        ).replace("\n\n\n\n", "\n\n"),
        "response_model": EscalationView,
        "responses": error_responses(401, 403, 404, 409, 413, 422, 503),
    }


@router.post(
    "/{escalation_id}/consult-answer",
    **action_doc(
        Action.CONSULT_ANSWER,
        "Help line answers a consult",
        "`resolves: true` settles the case at the help line; `false` sends it on to "
        "a specialist, and the answer comes once the case is routed: it names the "
        "`assignee` (or the manager when nobody fits). 409 unless the case is in "
        "`helpline_consult`.",
    ),
)
async def consult_answer(
    escalation_id: IdParam,
    body: ConsultAnswerBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.CONSULT_ANSWER))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = ConsultAnswer(actor=actor_of(person), **body.model_dump())
    return await gateway.run_update(
        client, escalation_id, Action.CONSULT_ANSWER, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/acknowledge",
    **action_doc(
        Action.ACKNOWLEDGE,
        "Specialist takes ownership",
        "Body `{}` or none. Stops the first-response clock. The assignee acknowledges; a "
        "specialist of the assigned team may take the case over this way (recorded as "
        "`ownership_taken`); a specialist of another team gets 403.",
    ),
)
async def acknowledge(
    escalation_id: IdParam,
    person: Annotated[DirectoryEntry, Depends(require(Action.ACKNOWLEDGE))],
    client: TemporalClient,
    body: AcknowledgeBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = Acknowledge(actor=actor_of(person))
    return await gateway.run_update(
        client, escalation_id, Action.ACKNOWLEDGE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/notes",
    **action_doc(Action.ADD_NOTE, "Add a note", "Captured information, kept in the timeline."),
)
async def add_note(
    escalation_id: IdParam,
    body: NoteBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.ADD_NOTE))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = AddNote(actor=actor_of(person), text=body.text)
    return await gateway.run_update(
        client, escalation_id, Action.ADD_NOTE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/answers",
    **action_doc(
        Action.ANSWER_QUESTIONS,
        "Answer the policy's capture questions",
        "The answers the policy asks for the case's category (`GET /policy/capture`), given "
        "after the opening: a case a system opened without them, or one moved to a policy "
        "version that asks more. While a required answer is missing the case is not "
        "transferred to a specialist (`missing_answers` lists them); once they are in, a case "
        "held for them goes on. 422 names an answer of the wrong type or an unknown question.",
    ),
)
async def answer_questions(
    escalation_id: IdParam,
    body: AnswersBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.ANSWER_QUESTIONS))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = AnswerQuestions(actor=actor_of(person), **body.model_dump())
    return await gateway.run_update(
        client, escalation_id, Action.ANSWER_QUESTIONS, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/info-requests",
    **action_doc(
        Action.REQUEST_INFO,
        "Ask the customer for information",
        "Only the case's assignee (403 for anyone else). "
        "The customer is asked on their preferred channel; the SLA clocks pause until "
        "`POST /escalations/{id}/customer-contact`.",
    ),
)
async def request_info(
    escalation_id: IdParam,
    body: InfoRequestBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.REQUEST_INFO))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = InfoRequest(actor=actor_of(person), question=body.question)
    return await gateway.run_update(
        client, escalation_id, Action.REQUEST_INFO, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/customer-contact",
    **action_doc(
        Action.CUSTOMER_CONTACT,
        "The customer replied or checked in",
        "Resumes paused SLA clocks. During follow-up, `still_broken: true` reopens the case.",
    ),
)
async def customer_contact(
    escalation_id: IdParam,
    body: CustomerContactBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.CUSTOMER_CONTACT))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = CustomerContact(actor=actor_of(person), **body.model_dump())
    return await gateway.run_update(
        client, escalation_id, Action.CUSTOMER_CONTACT, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/proposals",
    **action_doc(
        Action.PROPOSE,
        "Propose a remedy",
        "Only the case's assignee (403 for anyone else). "
        "Within the specialist's authority (and not on a sign-off trigger) the "
        "remedy is granted and the case resolved; otherwise it waits for sign-off in "
        "`executive_signoff`.",
    ),
)
async def propose(
    escalation_id: IdParam,
    body: ProposalBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.PROPOSE))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = Proposal(actor=actor_of(person), remedy=body.remedy)
    return await gateway.run_update(
        client, escalation_id, Action.PROPOSE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/approvals",
    **action_doc(
        Action.DECIDE,
        "Approve or reject a proposed remedy",
        "The approval is decided at its `level` or above (a supervisor may not decide a "
        "manager-level approval: 403). "
        "The caller's authority limit must cover the pending approval's "
        "`required_authority` (403 otherwise, and the escalation is unchanged). 409 "
        "when nothing awaits approval.",
    ),
)
async def decide(
    escalation_id: IdParam,
    body: DecisionBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.DECIDE))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    # No query first: the update's validator refuses (403 authority, 409 nothing pending or
    # wrong stage) before anything is written; a query would add a round trip on every approval.
    arg = Decision(actor=actor_of(person), decision=body.decision, comment=body.comment)
    return await gateway.run_update(
        client, escalation_id, Action.DECIDE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/resolve",
    **action_doc(
        Action.RESOLVE,
        "Resolve the case with an outcome",
        "Only the case's assignee (403 for anyone else). "
        "The customer is told the outcome; follow-up check-ins start. `root_cause` (one of "
        "the policy's `root_causes`, 422 otherwise) and `avoidable` (the trigger was avoidable "
        "after all) are recorded on the case (`root_cause_recorded` on the timeline) and "
        "counted in reports.",
    ),
)
async def resolve(
    escalation_id: IdParam,
    body: ResolveBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.RESOLVE))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = ResolveCase(actor=actor_of(person), **body.model_dump())
    return await gateway.run_update(
        client, escalation_id, Action.RESOLVE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/reopen",
    **action_doc(
        Action.REOPEN,
        "Reopen a resolved case",
        "Back to a specialist; 409 when the case is not resolved or in follow-up.",
    ),
)
async def reopen(
    escalation_id: IdParam,
    person: Annotated[DirectoryEntry, Depends(require(Action.REOPEN))],
    client: TemporalClient,
    body: ReasonBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = Reason(actor=actor_of(person), reason=body.reason if body else "")
    return await gateway.run_update(
        client, escalation_id, Action.REOPEN, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/cancel",
    **action_doc(
        Action.CANCEL,
        "Cancel the escalation",
        "Final: the case takes no more actions (409 afterwards).",
    ),
)
async def cancel(
    escalation_id: IdParam,
    person: Annotated[DirectoryEntry, Depends(require(Action.CANCEL))],
    client: TemporalClient,
    body: ReasonBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = Reason(actor=actor_of(person), reason=body.reason if body else "")
    return await gateway.run_update(
        client, escalation_id, Action.CANCEL, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/severity",
    **action_doc(
        Action.CHANGE_SEVERITY,
        "Change the severity",
        "Re-targets the SLA clocks on the new severity's targets (keeping the business "
        "time already used). Beyond the contract. 409 once resolved (reopen instead) "
        "or when the severity is unchanged.",
    ),
)
async def change_severity(
    escalation_id: IdParam,
    body: SeverityBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.CHANGE_SEVERITY))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = SeverityChange(actor=actor_of(person), severity=body.severity, reason=body.reason)
    return await gateway.run_update(
        client, escalation_id, Action.CHANGE_SEVERITY, arg, person.id, idempotency_key
    )
