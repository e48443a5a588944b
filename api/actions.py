"""/escalations/{id}/...: the actions people take on a case. Each is one workflow update (its
registered name is the `workflows.access.Action` value); the answer is the escalation after it.
Who may act, and on which stage, comes from the access table (workflows/access.py); finer
refusals (authority against the amount, nothing pending) come from the update's validator.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from api import gateway
from api.auth import access_doc, actor_of, get_directory, require
from api.deps import IdempotencyKey, IdParam, TemporalClient
from api.errors import Invalid
from api.schemas import (
    AcknowledgeBody,
    CallbackBody,
    CallbackDoneBody,
    ChaseBody,
    ConsultAnswerBody,
    ContributionAnswerBody,
    ContributionBody,
    CustomerContactBody,
    DecisionBody,
    InfoRequestBody,
    NoteBody,
    ProposalBody,
    ReasonBody,
    ReassignBody,
    ResolveBody,
    SeverityBody,
    error_responses,
)
from core.directory import DirectoryEntry
from workflows.access import Action
from workflows.inputs import (
    Acknowledge,
    AddNote,
    CallbackDone,
    CallbackPromise,
    ChaseOwner,
    ConsultAnswer,
    ContributionAnswer,
    ContributionRequest,
    CustomerContact,
    Decision,
    InfoRequest,
    Proposal,
    Reason,
    ReassignCase,
    ResolveCase,
    SeverityChange,
)
from workflows.models import Person
from workflows.views import EscalationView

router = APIRouter(prefix="/escalations", tags=["escalations"])


def _action_doc(action: Action, summary: str, more: str = "") -> dict[str, Any]:
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
    **_action_doc(
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
    **_action_doc(
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
    **_action_doc(Action.ADD_NOTE, "Add a note", "Captured information, kept in the timeline."),
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
    "/{escalation_id}/info-requests",
    **_action_doc(
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
    **_action_doc(
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
    **_action_doc(
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
    **_action_doc(
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
    **_action_doc(
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
    **_action_doc(
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
    **_action_doc(
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
    **_action_doc(
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


@router.post(
    "/{escalation_id}/callbacks",
    **_action_doc(
        Action.PROMISE_CALLBACK,
        "Promise the customer a callback",
        "An agent, or the case's owner (a specialist on another's case: 403), promises to call "
        "the customer back at `at`. The promiser is reminded the policy's "
        "`callback_reminder_min` business minutes before (their team's hours; the frontline "
        "office's for agents; wall clock on P1); not recorded done within "
        "`callback_grace_min` after `at`, it is recorded as missed (`callback_missed`, a "
        "breach of promise) and the manager is told. 422 for a time in the past, more than 30 "
        "days out, or outside the promiser's business hours. The case's `callbacks` list it "
        "with its number.",
    ),
)
async def promise_callback(
    escalation_id: IdParam,
    body: CallbackBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.PROMISE_CALLBACK))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = CallbackPromise(actor=actor_of(person), at=body.at, note=body.note)
    return await gateway.run_update(
        client, escalation_id, Action.PROMISE_CALLBACK, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/callbacks/{number}/done",
    **_action_doc(
        Action.CALLBACK_DONE,
        "Record a promised callback as done",
        "Done by its time (and grace) keeps the promise; after it, the callback stays recorded "
        "as missed and the call is recorded late. 409 when already recorded done; 422 for a "
        "number the case does not have.",
    ),
)
async def callback_done(
    escalation_id: IdParam,
    number: Annotated[
        int, Path(ge=1, le=10_000, description="The callback's number", examples=[1])
    ],
    person: Annotated[DirectoryEntry, Depends(require(Action.CALLBACK_DONE))],
    client: TemporalClient,
    body: CallbackDoneBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = CallbackDone(actor=actor_of(person), number=number, note=body.note if body else "")
    return await gateway.run_update(
        client, escalation_id, Action.CALLBACK_DONE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/reassign",
    **_action_doc(
        Action.REASSIGN,
        "Reassign the case to another specialist",
        "The escalated-accounts manager moves the case to `assignee` (a specialist in the "
        "directory; 422 otherwise, 409 when they already own it). The new owner is told as on "
        "a transfer and must acknowledge within their team's window (the window restarts; "
        "unacknowledged, the case is re-routed as usual); the SLA clocks move to the new "
        "team's hours. Recorded as `reassigned` by the manager.",
    ),
)
async def reassign(
    escalation_id: IdParam,
    body: ReassignBody,
    request: Request,
    person: Annotated[DirectoryEntry, Depends(require(Action.REASSIGN))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    to = get_directory(request).by_id(body.assignee)
    if to is None or to.role != "specialist":
        raise Invalid(f"assignee: {body.assignee[:80]} is not a specialist in the directory")
    new_owner = Person.model_validate(to.model_dump(exclude={"token_hmac"}))
    arg = ReassignCase(actor=actor_of(person), to=new_owner, reason=body.reason)
    return await gateway.run_update(
        client, escalation_id, Action.REASSIGN, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/chase",
    **_action_doc(
        Action.CHASE,
        "Chase the case's owner",
        "A staff message to the owner (the assignee) on their channels, recorded as "
        "`owner_chased`. 409 while the case has no owner.",
    ),
)
async def chase(
    escalation_id: IdParam,
    body: ChaseBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.CHASE))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = ChaseOwner(actor=actor_of(person), message=body.message)
    return await gateway.run_update(
        client, escalation_id, Action.CHASE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/contributions",
    **_action_doc(
        Action.REQUEST_CONTRIBUTION,
        "Ask another team for a contribution",
        "Only the case's owner (403 for anyone else). The team's specialists are asked "
        "`question`; they have `within_h` business hours on their own calendar, never beyond "
        "the resolution clock's due time (the deadline is capped there, and pulled in if that "
        "due time moves earlier). Unanswered by then, the contribution is breached "
        "(`contribution_breached`): the team's supervisors and the owner are told. Several may "
        "be open; the case's `contributions` list them. 422 for an unknown team or the case's "
        "own; 409 when the resolution clock has no time left.",
    ),
)
async def request_contribution(
    escalation_id: IdParam,
    body: ContributionBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.REQUEST_CONTRIBUTION))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = ContributionRequest(actor=actor_of(person), **body.model_dump())
    return await gateway.run_update(
        client, escalation_id, Action.REQUEST_CONTRIBUTION, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/contributions/{number}/answer",
    **_action_doc(
        Action.ANSWER_CONTRIBUTION,
        "Answer a contribution asked of your team",
        "A specialist of the team asked (403 for another team's) or a supervisor. The case's "
        "owner is told. 409 when already answered; 422 for a number the case does not have. "
        "An answer after the deadline is recorded late; the breach stays.",
    ),
)
async def answer_contribution(
    escalation_id: IdParam,
    number: Annotated[int, Path(ge=1, le=10_000, description="The contribution's number")],
    body: ContributionAnswerBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.ANSWER_CONTRIBUTION))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = ContributionAnswer(actor=actor_of(person), number=number, answer=body.answer)
    return await gateway.run_update(
        client, escalation_id, Action.ANSWER_CONTRIBUTION, arg, person.id, idempotency_key
    )
