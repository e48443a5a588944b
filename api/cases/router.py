"""/escalations: open, read and list escalations, and every action people take on a case (the
operators' levers are api/operator/). Thin handlers: parse the request, check the caller against
the access table (api.auth.require), call the case's service (api/cases/service.py, which the
console's case pages call too) and answer. The process itself lives in the workflow; the API
shares only its pure opening (workflows/opening.py, through api/intake/service.py, which the
console's intake form calls too) to answer a new case at once.

Each action is one workflow update (its registered name is the `workflows.access.Action`
value); the answer is the escalation after it. Who may act, and on which stage, comes from the
access table (workflows/access.py); finer refusals (authority against the amount, nothing
pending) come from the update's validator.
"""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api import gateway, visibility
from api.auth import access_doc, action_doc, actor_of, get_directory, require
from api.cases import service
from api.cases.schemas import (
    AcknowledgeBody,
    AnswersBody,
    CallbackBody,
    CallbackDoneBody,
    ChaseBody,
    ConsultAnswerBody,
    ContributionAnswerBody,
    ContributionBody,
    CustomerContactBody,
    DecisionBody,
    EscalationPage,
    InfoRequestBody,
    NoteBody,
    ProposalBody,
    ReasonBody,
    ReassignBody,
    ResolveBody,
    SeverityBody,
)
from api.deps import AppSettings, CurrentPolicyFile, IdempotencyKey, IdParam, TemporalClient
from api.errors import Invalid
from api.intake import service as intake
from api.schemas import error_responses
from core.directory import DirectoryEntry
from workflows.access import Action
from workflows.inputs import (
    Acknowledge,
    AddNote,
    AnswerQuestions,
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
from workflows.models import EscalationRequest, Severity, Stage
from workflows.views import EscalationView, Handover, Timeline

log = structlog.get_logger("api")

router = APIRouter(prefix="/escalations", tags=["escalations"])

Reader = Annotated[DirectoryEntry, Depends(require(Action.READ))]
SafeValue = Annotated[str | None, Query(pattern=gateway.SAFE_VALUE)]


# --- open ---------------------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=EscalationView,
    summary="Open an escalation",
    description=(
        f"{access_doc(Action.OPEN)}\n\n"
        "Triages the case, starts its workflow and returns its state after triage.\n\n"
        "**Idempotency.** With an `Idempotency-Key` header (or, without one, the body's "
        "`external_ref`) the escalation id is derived from the key *and the caller*: `E-` "
        "followed by the first 16 hex digits (upper case) of the SHA-256 of "
        "`<caller's person id>\\0<key>`, so keys are scoped to the caller (another caller "
        "using the same key opens its own case, and cannot pre-empt yours). The first request "
        "answers **201** (with a `Location` header); every retry by the same caller with the "
        "same key answers **200** with the same escalation, and never starts a second workflow "
        "(also for concurrent retries, and also after the case is closed). Re-using a key "
        "(header or `external_ref`) with a *different* body is **409**. Without a key the id "
        "is random. A retry whose case state cannot be read at that moment is **503** with "
        "`Retry-After` (the case exists; retry).\n\n"
        "**Triage happens here**, with the policy in force (the copy the workflow is started "
        "with): the answer already shows the severity, the SLA clocks, `promise_at` and the "
        "tier-1 decision (stage `helpline_consult`; `tier1_exception` when tier 1 may grant "
        "the remedy and the workflow checks it against the customer's goodwill budget for the "
        "year, then `resolved` or `helpline_consult`; `specialist` when a threat or P1 goes "
        "straight to the escalated-accounts manager), whether or not a worker is running; the "
        "workflow holds the same state and takes it from there (notifications, help-line "
        "consult). The clocks count from the "
        "moment the request was accepted. A retry answers the live state. If the policy file "
        "cannot be read the answer is 503 and nothing is started. "
        "`GET /escalations/{id}` shows the live state."
    ),
    responses={
        200: {"model": EscalationView, "description": "Already opened with this key"},
        **error_responses(401, 403, 409, 413, 422, 503),
    },
)
async def open_escalation(
    body: EscalationRequest,
    person: Annotated[DirectoryEntry, Depends(require(Action.OPEN))],
    client: TemporalClient,
    settings: AppSettings,
    policy_file: CurrentPolicyFile,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    view, created = await intake.open_case(
        client, settings, policy_file, body, person, idempotency_key
    )
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/escalations/{view.id}"
    return view


HANDOVER_EXAMPLE = {
    "details": "Two identical charges on 3 March",
    "triage_rule": 5,
    "triage_reason": "triage rule 5 matched on category billing: P3, urgency normal",
    "consult_answer": "Above tier-1 authority: needs a billing specialist",
    "kb_matches": [
        {"slug": "duplicate-charge", "title": "Duplicate charges", "score": 1.0, "snippet": ""}
    ],
    "notes": ["Customer has the bank statement"],
    "assignee_name": "Sam Specialist",
    "acknowledged": False,
    "calendars": [
        {"clock": "first_response", "calendar": "uk_extended", "timezone": "Europe/London",
         "target_s": 14400.0}
    ],
    "request": {
        "customer": {"id": "C-1001", "name": "Ada Lovelace", "tier": "standard",
                     "contact": {"email": "ada@example.com", "phone": None,
                                 "preferred_channel": "email"}},
        "channel": "phone", "category": "billing", "summary": "Charged twice for March",
        "details": "Two identical charges on 3 March", "trigger": "customer_request",
        "requested_remedy": {"kind": "refund", "amount": 600.0, "currency": "GBP",
                             "description": "Refund both charges"},
        "external_ref": "CRM-778812",
    },
    "opened_by": "Alex Agent",
    "opened_at": "2026-12-01T10:00:00Z",
    "severity": "P3",
    "urgency": "normal",
    "consult_question": "billing: Charged twice for March",
    "customer_message": None,
    "notes_count": 1,
    "customer": {"tier": "standard", "past_escalations": 1, "goodwill_granted": 30.0,
                 "goodwill_left": 120.0},
    "previous_escalations": [
        {"escalation_id": "E-3F2A9C1B7D6E5F40", "opened_at": "2026-06-01T09:12:00Z",
         "trigger": "customer_request", "stage": "closed", "resolved_tier": "tier1",
         "outcome": "Granted refund 30 GBP at tier 1", "root_cause": None,
         "granted_amount": 30.0, "currency": "GBP"}
    ],
}  # fmt: skip


# --- read ---------------------------------------------------------------------------------------


@router.get(
    "/{escalation_id}",
    response_model=EscalationView,
    summary="Live state of an escalation",
    description=f"{access_doc(Action.READ)}\n\n"
    "Stage, severity, SLA clocks, owner, pending approval, remedy and the next "
    "deadline, straight from the workflow (a Temporal query). Works on closed cases too.",
    responses=error_responses(401, 404, 503),
)
async def get_escalation(
    escalation_id: IdParam, _: Reader, client: TemporalClient
) -> EscalationView:
    return await service.query_state(client, escalation_id)


@router.get(
    "/{escalation_id}/timeline",
    response_model=Timeline,
    summary="Audit trail of an escalation",
    description=f"{access_doc(Action.READ)}\n\n"
    "Who did what and when, oldest first: every action, SLA warning and breach, "
    "reminder, authority raise and failed notification.",
    responses=error_responses(401, 404, 503),
)
async def get_timeline(escalation_id: IdParam, _: Reader, client: TemporalClient) -> Timeline:
    return await service.query_timeline(client, escalation_id)


@router.get(
    "/{escalation_id}/handover",
    response_model=Handover,
    summary="Warm-transfer handover packet",
    description=f"{access_doc(Action.READ)}\n\n"
    "Everything a person taking the case over needs, so the customer never repeats "
    "themselves: what the frontline captured at the opening (`request`), the triage rule and "
    "why, the help line's question and answer, knowledge-base matches, notes, the business "
    "hours each clock counts on, and the customer's value, past escalations of the year and "
    "their outcomes (`customer`, `previous_escalations`). The assignee gets the same packet "
    "in the transfer message.",
    responses={
        200: {"content": {"application/json": {"example": HANDOVER_EXAMPLE}}},
        **error_responses(401, 404, 503),
    },
)
async def get_handover(escalation_id: IdParam, _: Reader, client: TemporalClient) -> Handover:
    return await service.query_handover(client, escalation_id)


@router.get(
    "",
    response_model=EscalationPage,
    summary="List and filter escalations",
    description=(
        f"{access_doc(Action.READ)}\n\n"
        "Newest first, from Temporal's visibility store (search attributes), so it is cheap "
        "and can lag the live state by a moment. Filters combine with AND. Filter values may "
        "not contain quotes or backslashes (422). Page with `page_token` = the previous "
        "answer's `next_page_token`."
    ),
    responses=error_responses(401, 422, 503),
)
async def list_escalations(
    _: Reader,
    client: TemporalClient,
    stage: Annotated[Stage | None, Query(description="Only this stage")] = None,
    severity: Annotated[Severity | None, Query(description="Only this severity")] = None,
    customer_id: Annotated[SafeValue, Query(description="Only this customer")] = None,
    breached: Annotated[
        bool | None,
        Query(description="true: only cases with a breached SLA clock; false: only cases without"),
    ] = None,
    assignee: Annotated[SafeValue, Query(description="Only cases owned by this person id")] = None,
    assigned_team: Annotated[SafeValue, Query(description="Only this specialist team")] = None,
    trigger: Annotated[SafeValue, Query(description="Only this trigger")] = None,
    status: Annotated[
        Literal["open", "ended"] | None,
        Query(description="open: workflow still running; ended: closed, cancelled or terminated"),
    ] = None,
    page_size: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
    page_token: Annotated[
        str | None, Query(max_length=4096, description="next_page_token of the previous page")
    ] = None,
) -> EscalationPage:
    clauses = visibility.filter_clauses(
        stage=stage,
        severity=severity,
        customer_id=customer_id,
        breached=breached,
        assignee=assignee,
        assigned_team=assigned_team,
        trigger=trigger,
        status=status,
    )
    return await visibility.list_cases(client, clauses, page_size, page_token)


# --- actions -------------------------------------------------------------------------------------


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
    return await service.run_update(
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
    return await service.run_update(
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
    return await service.run_update(
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
    return await service.run_update(
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
    return await service.run_update(
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
    return await service.run_update(
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
    return await service.run_update(
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
    return await service.run_update(
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
    return await service.run_update(
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
    return await service.run_update(
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
    return await service.run_update(
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
    return await service.run_update(
        client, escalation_id, Action.CHANGE_SEVERITY, arg, person.id, idempotency_key
    )


# --- following the case through: callbacks, reassign and chase, contributions ----------


@router.post(
    "/{escalation_id}/callbacks",
    **action_doc(
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
    return await service.run_update(
        client, escalation_id, Action.PROMISE_CALLBACK, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/callbacks/{number}/done",
    **action_doc(
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
    return await service.run_update(
        client, escalation_id, Action.CALLBACK_DONE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/reassign",
    **action_doc(
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
    new_owner = to.as_person()
    arg = ReassignCase(actor=actor_of(person), to=new_owner, reason=body.reason)
    return await service.run_update(
        client, escalation_id, Action.REASSIGN, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/chase",
    **action_doc(
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
    return await service.run_update(
        client, escalation_id, Action.CHASE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/contributions",
    **action_doc(
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
    return await service.run_update(
        client, escalation_id, Action.REQUEST_CONTRIBUTION, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/contributions/{number}/answer",
    **action_doc(
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
    return await service.run_update(
        client, escalation_id, Action.ANSWER_CONTRIBUTION, arg, person.id, idempotency_key
    )
