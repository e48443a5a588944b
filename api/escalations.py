"""/escalations: open, read and list escalations (the actions on a case are in api/actions.py).
Thin handlers: parse the request, check the caller against the access table (api.auth.require),
call the Temporal gateway (api.gateway) and answer. The process itself lives in the workflow; the
API shares only its pure opening (workflows/opening.py, through api/intake/service.py, which the
console's intake form calls too) to answer a new case at once.
"""

from __future__ import annotations

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Query, Response

from api import gateway, visibility
from api.auth import access_doc, require
from api.deps import AppSettings, CurrentPolicyFile, IdempotencyKey, IdParam, TemporalClient
from api.intake import service as intake
from api.schemas import EscalationPage, error_responses
from core.directory import DirectoryEntry
from workflows.access import Action
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
    return await gateway.query_state(client, escalation_id)


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
    return await gateway.query_timeline(client, escalation_id)


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
    return await gateway.query_handover(client, escalation_id)


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
