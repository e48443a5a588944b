"""/escalations: open, read, list and drive escalations. Thin handlers over the workflow handle;
the process itself (stages, authority, SLA clocks) lives in the workflow.

Workflow calls use the workflow's registered names (type "EscalationWorkflow", queries "state"
and "timeline", one update per action) so the API process never imports the workflow class; it
shares the pure opening functions (workflows/opening.py) to answer a new case at once.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import re
import secrets
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, Header, Path, Query, Response
from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.converter import decode_typed_search_attributes
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.auth import CurrentPerson, actor_of, require_roles
from api.deps import AppSettings, CurrentPolicyFile, TemporalClient
from api.errors import Conflict, Invalid, NotFound
from api.policy import policy_with_json
from api.schemas import (
    AcknowledgeBody,
    ConsultAnswerBody,
    CustomerContactBody,
    DecisionBody,
    EscalationPage,
    EscalationSummary,
    InfoRequestBody,
    NoteBody,
    ProposalBody,
    ReasonBody,
    ResolveBody,
    SeverityBody,
    error_responses,
)
from api.temporal_errors import temporal_errors
from core.directory import DirectoryEntry
from workflows import opening
from workflows import search_attributes as sa
from workflows.models import (
    STAFF_ROLES,
    WORKFLOW_VERSION,
    Acknowledge,
    AddNote,
    ConsultAnswer,
    CustomerContact,
    Decision,
    EscalationRequest,
    EscalationView,
    InfoRequest,
    Proposal,
    Reason,
    ResolveCase,
    Severity,
    SeverityChange,
    Stage,
    StartEscalation,
    Timeline,
)

log = structlog.get_logger("api")

router = APIRouter(prefix="/escalations", tags=["escalations"])

WORKFLOW_TYPE = "EscalationWorkflow"
QUERY_TIMEOUT_S = 10.0
UPDATE_TIMEOUT_S = 30.0
START_TIMEOUT_S = 10.0
ID_RE = re.compile(r"^E-[0-9A-Za-z-]{1,64}$")
# Visibility filter values: no quotes, backslashes or control characters (never escaped, refused)
SAFE_VALUE = r"^[^'\"\\\x00-\x1f]{1,128}$"

IdParam = Annotated[
    str,
    Path(description="Escalation id, e.g. `E-3F2A9C0B7D1E4A55`", examples=["E-3F2A9C0B7D1E4A55"]),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=256,
        description="Any unique string per intended action. A retry with the same key returns "
        "the first result instead of acting twice.",
    ),
]


def workflow_id(escalation_id: str) -> str:
    return f"escalation-{escalation_id}"


def checked_id(escalation_id: str) -> str:
    if not ID_RE.match(escalation_id):
        raise NotFound(f"No escalation {escalation_id[:80]}.")
    return escalation_id


def escalation_id_for(key: str | None) -> str:
    """Deterministic for an idempotency key (E- + 16 upper-case hex of its SHA-256), else random."""
    if key is None:
        return "E-" + secrets.token_hex(8).upper()
    return "E-" + hashlib.sha256(key.encode()).hexdigest()[:16].upper()


def _timeout(s: float) -> timedelta:
    return timedelta(seconds=s)


async def query_state(handle: WorkflowHandle, escalation_id: str) -> EscalationView:
    async with temporal_errors(escalation_id):
        return await asyncio.wait_for(
            handle.query("state", result_type=EscalationView,
                         rpc_timeout=_timeout(QUERY_TIMEOUT_S)),
            QUERY_TIMEOUT_S + 1,
        )


def _provisional_view(
    escalation_id: str, req: EscalationRequest, opened_at: datetime
) -> EscalationView:
    """A repeated open whose state cannot be read right now (worker busy or down)."""
    return EscalationView(
        id=escalation_id, stage="triage", severity=None, urgency=None, customer=req.customer,
        channel=req.channel, category=req.category, summary=req.summary, trigger=req.trigger,
        avoidable=None, requested_remedy=req.requested_remedy, granted_remedy=None,
        assigned_team=None, assignee=None, pending_approval=None, clocks=[], next_deadline=None,
        promise_at=None, resolved_at_tier=None, external_ref=req.external_ref,
        policy_version=None, opened_at=opened_at, updated_at=opened_at,
    )


# --- open ---------------------------------------------------------------------------------------


@router.post(
    "",
    status_code=201,
    response_model=EscalationView,
    summary="Open an escalation",
    description=(
        "Triages the case, starts its workflow and returns its state after triage.\n\n"
        "**Idempotency.** With an `Idempotency-Key` header (or, without one, the body's "
        "`external_ref`) the escalation id is derived from the key: `E-` followed by the first 16 "
        "hex digits (upper case) of its SHA-256. The first request answers **201** (with a "
        "`Location` header); every retry with the same key answers **200** with the same "
        "escalation, and never starts a second workflow (also for concurrent retries, and also "
        "after the case is closed). Re-using an `Idempotency-Key` with a *different* body is "
        "**409**. Without a key the id is random.\n\n"
        "**Triage happens here**, with the policy in force (the copy the workflow is started "
        "with): the answer already shows the severity, the SLA clocks, `promise_at` and the "
        "tier-1 decision (stage `helpline_consult`, or `resolved` when tier 1 granted the "
        "remedy), whether or not a worker is running; the workflow holds the same state and "
        "takes it from there (notifications, help-line consult). The clocks count from the "
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
    person: Annotated[DirectoryEntry, Depends(require_roles("system", "agent"))],
    client: TemporalClient,
    settings: AppSettings,
    policy_file: CurrentPolicyFile,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    key = idempotency_key or body.external_ref
    escalation_id = escalation_id_for(key)
    request_sha = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    policy, policy_json = await policy_with_json(policy_file)
    now = datetime.now(timezone.utc)
    start = StartEscalation(id=escalation_id, request=body, opened_by=actor_of(person),
                            policy=policy_json, opened_at=now, version=WORKFLOW_VERSION)
    opened = opening.open_case(policy, start, now)  # what the workflow will hold
    initial = TypedSearchAttributes([  # listed and filterable before the first workflow task
        SearchAttributePair(key, value)
        for key, value in opening.search_attributes(opened).items() if value is not None
    ])
    created = True
    async with temporal_errors(escalation_id):
        try:
            handle = await asyncio.wait_for(
                client.start_workflow(
                    WORKFLOW_TYPE,
                    start,
                    id=workflow_id(escalation_id),
                    task_queue=settings.task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    memo={
                        "customer_name": body.customer.name,
                        "summary": body.summary,
                        "request_sha256": request_sha,
                        "idempotency": "header" if idempotency_key else (
                            "external_ref" if key else "none"),
                        "opened_at": now.isoformat(),
                        "opened_by": person.id,
                    },
                    search_attributes=initial,
                    static_summary=f"{body.customer.name}: {body.summary}"[:200],
                    rpc_timeout=_timeout(START_TIMEOUT_S),
                ),
                START_TIMEOUT_S + 1,
            )
        except WorkflowAlreadyStartedError:
            created = False
            handle = client.get_workflow_handle(workflow_id(escalation_id))
            if idempotency_key:
                desc = await asyncio.wait_for(
                    handle.describe(rpc_timeout=_timeout(QUERY_TIMEOUT_S)), QUERY_TIMEOUT_S + 1
                )
                memo = await desc.memo()
                if memo.get("request_sha256") not in (None, request_sha):
                    raise Conflict(
                        "This Idempotency-Key was already used to open a different escalation "
                        f"({escalation_id}); use a new key for a new escalation."
                    ) from None
    log.info("escalation_opened" if created else "escalation_open_repeated",
             escalation_id=escalation_id, by=person.id)
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"/escalations/{escalation_id}"
    if created:
        return opening.view(opened, policy, now)
    try:  # an older case: its state is there, the worker only has to answer
        return await query_state(handle, escalation_id)
    except Exception as e:  # noqa: BLE001 - the case exists; answer with what we know
        log.warning("state_not_ready", escalation_id=escalation_id, error=type(e).__name__)
        return _provisional_view(escalation_id, body, now)


# --- read ---------------------------------------------------------------------------------------


@router.get(
    "/{escalation_id}",
    response_model=EscalationView,
    summary="Live state of an escalation",
    description="Stage, severity, SLA clocks, owner, pending approval, remedy and the next "
    "deadline, straight from the workflow (a Temporal query). Works on closed cases too.",
    responses=error_responses(401, 404, 503),
)
async def get_escalation(
    escalation_id: IdParam, _: CurrentPerson, client: TemporalClient
) -> EscalationView:
    checked_id(escalation_id)
    return await query_state(client.get_workflow_handle(workflow_id(escalation_id)), escalation_id)


@router.get(
    "/{escalation_id}/timeline",
    response_model=Timeline,
    summary="Audit trail of an escalation",
    description="Who did what and when, oldest first: every action, SLA warning and breach, "
    "reminder, authority raise and failed notification.",
    responses=error_responses(401, 404, 503),
)
async def get_timeline(
    escalation_id: IdParam, _: CurrentPerson, client: TemporalClient
) -> Timeline:
    checked_id(escalation_id)
    handle = client.get_workflow_handle(workflow_id(escalation_id))
    async with temporal_errors(escalation_id):
        return await asyncio.wait_for(
            handle.query("timeline", result_type=Timeline, rpc_timeout=_timeout(QUERY_TIMEOUT_S)),
            QUERY_TIMEOUT_S + 1,
        )


# --- list ---------------------------------------------------------------------------------------

SafeValue = Annotated[str | None, Query(pattern=SAFE_VALUE)]


def _q(value: str) -> str:
    # SAFE_VALUE already refused quotes and backslashes; this is a second line of defence.
    if not re.match(SAFE_VALUE, value):
        raise Invalid("filter values may not contain quotes, backslashes or control characters")
    return f"'{value}'"


def visibility_query(clauses: list[str]) -> str:
    base = [f"WorkflowType = '{WORKFLOW_TYPE}'", "ExecutionStatus != 'ContinuedAsNew'"]
    return " AND ".join(base + clauses)


def _decode_token(token: str | None) -> bytes:
    if not token:
        return b""
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("page_token: not a token this API handed out") from None


def _iso(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


# Advanced visibility (Elasticsearch, Temporal Cloud) takes ORDER BY; the SQL visibility of the
# dev server and of SQL-backed clusters refuses it, and already lists running workflows first,
# newest first (then closed ones by close time). Remembered per process after the first refusal.
_order_by = {"supported": True}


async def list_page(client: Client, query: str, page_size: int, token: bytes) -> Any:
    """One page of visibility results, newest first; raw WorkflowExecutionInfo protos."""

    async def call(q: str) -> Any:
        return await asyncio.wait_for(
            client.workflow_service.list_workflow_executions(
                ListWorkflowExecutionsRequest(namespace=client.namespace, page_size=page_size,
                                              next_page_token=token, query=q),
                timeout=_timeout(QUERY_TIMEOUT_S),
            ),
            QUERY_TIMEOUT_S + 1,
        )

    if _order_by["supported"]:
        try:
            return await call(query + " ORDER BY StartTime DESC")
        except RPCError as e:
            if e.status != RPCStatusCode.INVALID_ARGUMENT or "order by" not in e.message.lower():
                raise
            _order_by["supported"] = False
            log.info("visibility_without_order_by", reason=e.message)
    return await call(query)


async def decode_memo(client: Client, info: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, payload in info.memo.fields.items():
        try:
            [out[name]] = await client.data_converter.decode([payload])
        except Exception:  # noqa: BLE001 - a memo we cannot read is left out, not a failure
            continue
    return out


async def summary_of(client: Client, info: Any) -> EscalationSummary:
    attrs = decode_typed_search_attributes(info.search_attributes)
    memo = await decode_memo(client, info)
    wid = info.execution.workflow_id
    return EscalationSummary(
        id=wid.removeprefix("escalation-"),
        stage=attrs.get(sa.STAGE),
        severity=attrs.get(sa.SEVERITY),
        customer_id=attrs.get(sa.CUSTOMER_ID),
        customer_tier=attrs.get(sa.CUSTOMER_TIER),
        customer_name=memo.get("customer_name"),
        summary=memo.get("summary"),
        trigger=attrs.get(sa.TRIGGER),
        avoidable=attrs.get(sa.AVOIDABLE),
        assigned_team=attrs.get(sa.ASSIGNED_TEAM),
        assignee=attrs.get(sa.ASSIGNEE),
        sla_due_at=attrs.get(sa.SLA_DUE_AT),
        sla_breached=attrs.get(sa.SLA_BREACHED),
        resolved_at_tier=attrs.get(sa.RESOLVED_AT_TIER),
        policy_version=attrs.get(sa.POLICY_VERSION),
        channel=attrs.get(sa.CHANNEL),
        opened_at=_iso(memo.get("opened_at"))
        or (info.start_time.ToDatetime(tzinfo=timezone.utc)
            if info.HasField("start_time") else None),
        closed_at=info.close_time.ToDatetime(tzinfo=timezone.utc)
        if info.HasField("close_time") else None,
        status=WorkflowExecutionStatus(info.status).name.lower()
        if info.status else "unknown",
    )


@router.get(
    "",
    response_model=EscalationPage,
    summary="List and filter escalations",
    description=(
        "Newest first, from Temporal's visibility store (search attributes), so it is cheap "
        "and can lag the live state by a moment. Filters combine with AND. Filter values may "
        "not contain quotes or backslashes (422). Page with `page_token` = the previous "
        "answer's `next_page_token`."
    ),
    responses=error_responses(401, 422, 503),
)
async def list_escalations(
    _: CurrentPerson,
    client: TemporalClient,
    stage: Annotated[Stage | None, Query(description="Only this stage")] = None,
    severity: Annotated[Severity | None, Query(description="Only this severity")] = None,
    customer_id: Annotated[SafeValue, Query(description="Only this customer")] = None,
    breached: Annotated[bool | None, Query(description="true: only cases with a breached SLA "
                                                       "clock; false: only cases without")] = None,
    assignee: Annotated[SafeValue, Query(description="Only cases owned by this person id")] = None,
    assigned_team: Annotated[SafeValue, Query(description="Only this specialist team")] = None,
    trigger: Annotated[SafeValue, Query(description="Only this trigger")] = None,
    status: Annotated[
        Literal["open", "ended"] | None,
        Query(description="open: workflow still running; ended: closed or cancelled"),
    ] = None,
    page_size: Annotated[int, Query(ge=1, le=100, description="Items per page")] = 20,
    page_token: Annotated[
        str | None, Query(max_length=4096, description="next_page_token of the previous page")
    ] = None,
) -> EscalationPage:
    clauses: list[str] = []
    for name, value in (
        ("EscalationStage", stage), ("Severity", severity), ("CustomerId", customer_id),
        ("Assignee", assignee), ("AssignedTeam", assigned_team), ("Trigger", trigger),
    ):
        if value is not None:
            clauses.append(f"`{name}` = {_q(value)}")  # backticks: `Trigger` is an SQL word
    if breached is True:
        clauses.append("`SlaBreached` = true")
    elif breached is False:
        clauses.append("(`SlaBreached` = false OR `SlaBreached` IS NULL)")
    if status == "open":
        clauses.append("ExecutionStatus = 'Running'")
    elif status == "ended":
        clauses.append("ExecutionStatus != 'Running'")
    token_bytes = _decode_token(page_token)
    async with temporal_errors():
        try:
            resp = await list_page(client, visibility_query(clauses), page_size, token_bytes)
        except RPCError as e:
            # A token we did not hand out (or one from another query) is refused by the
            # visibility store as INVALID_ARGUMENT, or by the dev server's SQL store as UNKNOWN
            # ("invalid character ... looking for beginning of value"): bad input, not an outage.
            if token_bytes and e.status in (RPCStatusCode.INVALID_ARGUMENT,
                                            RPCStatusCode.UNKNOWN):
                raise Invalid("page_token: not a token this API handed out for this query, or "
                              "it has expired; start again without page_token") from None
            raise
    items = [await summary_of(client, info) for info in resp.executions]
    token = (
        base64.urlsafe_b64encode(resp.next_page_token).decode().rstrip("=")
        if resp.next_page_token else None
    )
    return EscalationPage(items=items, next_page_token=token)


# --- actions ------------------------------------------------------------------------------------


async def act(
    client: Client,
    escalation_id: str,
    update: str,
    arg: Any,
    person: DirectoryEntry,
    idempotency_key: str | None,
) -> EscalationView:
    """Run one workflow update; its result is the escalation after the action."""
    checked_id(escalation_id)
    handle = client.get_workflow_handle(workflow_id(escalation_id))
    update_id = None
    if idempotency_key:
        digest = hashlib.sha256(f"{person.id}\x00{idempotency_key}".encode()).hexdigest()[:32]
        update_id = f"{update}-{digest}"
    async with temporal_errors(escalation_id):
        view = await asyncio.wait_for(
            handle.execute_update(
                update, arg, id=update_id, result_type=EscalationView,
                rpc_timeout=_timeout(UPDATE_TIMEOUT_S),
            ),
            UPDATE_TIMEOUT_S + 1,
        )
    log.info("escalation_action", escalation_id=escalation_id, action=update, by=person.id)
    return view


def _action_doc(summary: str, who: str, more: str = "") -> dict[str, Any]:
    return {
        "summary": summary,
        "description": (
            f"**Who:** {who}.\n\n{more}\n\nReturns the escalation after the action. An "
            "`Idempotency-Key` header makes a retry return the first result instead of acting "
            "twice."
        ).replace("\n\n\n\n", "\n\n"),
        "response_model": EscalationView,
        "responses": error_responses(401, 403, 404, 409, 413, 422, 503),
    }


@router.post(
    "/{escalation_id}/consult-answer",
    **_action_doc("Help line answers a consult", "helpline",
                  "`resolves: true` settles the case at the help line; `false` sends it on to "
                  "a specialist, and the answer comes once the case is routed: it names the "
                  "`assignee` (or the manager when nobody fits). 409 unless the case is in "
                  "`helpline_consult`."),
)
async def consult_answer(
    escalation_id: IdParam,
    body: ConsultAnswerBody,
    person: Annotated[DirectoryEntry, Depends(require_roles("helpline"))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = ConsultAnswer(actor=actor_of(person), **body.model_dump())
    return await act(client, escalation_id, "consult_answer", arg, person, idempotency_key)


@router.post(
    "/{escalation_id}/acknowledge",
    **_action_doc("Specialist takes ownership", "specialist",
                  "Body `{}` or none. Stops the first-response clock."),
)
async def acknowledge(
    escalation_id: IdParam,
    person: Annotated[DirectoryEntry, Depends(require_roles("specialist"))],
    client: TemporalClient,
    body: AcknowledgeBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = Acknowledge(actor=actor_of(person))
    return await act(client, escalation_id, "acknowledge", arg, person, idempotency_key)


@router.post(
    "/{escalation_id}/notes",
    **_action_doc("Add a note", ", ".join(STAFF_ROLES),
                  "Captured information, kept in the timeline."),
)
async def add_note(
    escalation_id: IdParam,
    body: NoteBody,
    person: Annotated[DirectoryEntry, Depends(require_roles(*STAFF_ROLES))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = AddNote(actor=actor_of(person), text=body.text)
    return await act(client, escalation_id, "add_note", arg, person, idempotency_key)


@router.post(
    "/{escalation_id}/info-requests",
    **_action_doc("Ask the customer for information", "specialist",
                  "The customer is asked on their preferred channel; the SLA clocks pause until "
                  "`POST /escalations/{id}/customer-contact`."),
)
async def request_info(
    escalation_id: IdParam,
    body: InfoRequestBody,
    person: Annotated[DirectoryEntry, Depends(require_roles("specialist"))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = InfoRequest(actor=actor_of(person), question=body.question)
    return await act(client, escalation_id, "request_info", arg, person, idempotency_key)


@router.post(
    "/{escalation_id}/customer-contact",
    **_action_doc("The customer replied or checked in", "system, agent",
                  "Resumes paused SLA clocks. During follow-up, `still_broken: true` reopens "
                  "the case."),
)
async def customer_contact(
    escalation_id: IdParam,
    body: CustomerContactBody,
    person: Annotated[DirectoryEntry, Depends(require_roles("system", "agent"))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = CustomerContact(actor=actor_of(person), **body.model_dump())
    return await act(client, escalation_id, "customer_contact", arg, person, idempotency_key)


@router.post(
    "/{escalation_id}/proposals",
    **_action_doc("Propose a remedy", "specialist",
                  "Within the specialist's authority (and not on a sign-off trigger) the "
                  "remedy is granted and the case resolved; otherwise it waits for sign-off in "
                  "`executive_signoff`."),
)
async def propose(
    escalation_id: IdParam,
    body: ProposalBody,
    person: Annotated[DirectoryEntry, Depends(require_roles("specialist"))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = Proposal(actor=actor_of(person), remedy=body.remedy)
    return await act(client, escalation_id, "propose", arg, person, idempotency_key)


@router.post(
    "/{escalation_id}/approvals",
    **_action_doc("Approve or reject a proposed remedy", "supervisor, manager, executive",
                  "The caller's authority limit must cover the pending approval's "
                  "`required_authority` (403 otherwise, and the escalation is unchanged). 409 "
                  "when nothing awaits approval."),
)
async def decide(
    escalation_id: IdParam,
    body: DecisionBody,
    person: Annotated[
        DirectoryEntry, Depends(require_roles("supervisor", "manager", "executive"))
    ],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    # No query first: the workflow's update validator refuses (403 authority, 409 nothing
    # pending or wrong stage) before anything is written, and a query would cost a round trip
    # to the worker and the dev server's CPU on every approval (bench/README, run (8)).
    arg = Decision(actor=actor_of(person), decision=body.decision, comment=body.comment)
    return await act(client, escalation_id, "decide", arg, person, idempotency_key)


@router.post(
    "/{escalation_id}/resolve",
    **_action_doc("Resolve the case with an outcome", "specialist",
                  "The customer is told the outcome; follow-up check-ins start."),
)
async def resolve(
    escalation_id: IdParam,
    body: ResolveBody,
    person: Annotated[DirectoryEntry, Depends(require_roles("specialist"))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = ResolveCase(actor=actor_of(person), outcome=body.outcome)
    return await act(client, escalation_id, "resolve", arg, person, idempotency_key)


@router.post(
    "/{escalation_id}/reopen",
    **_action_doc("Reopen a resolved case", "system, agent, manager",
                  "Back to a specialist; 409 when the case is not resolved or in follow-up."),
)
async def reopen(
    escalation_id: IdParam,
    person: Annotated[DirectoryEntry, Depends(require_roles("system", "agent", "manager"))],
    client: TemporalClient,
    body: ReasonBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = Reason(actor=actor_of(person), reason=body.reason if body else "")
    return await act(client, escalation_id, "reopen", arg, person, idempotency_key)


@router.post(
    "/{escalation_id}/cancel",
    **_action_doc("Cancel the escalation", "operator, manager",
                  "Final: the case takes no more actions (409 afterwards)."),
)
async def cancel(
    escalation_id: IdParam,
    person: Annotated[DirectoryEntry, Depends(require_roles("operator", "manager"))],
    client: TemporalClient,
    body: ReasonBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = Reason(actor=actor_of(person), reason=body.reason if body else "")
    return await act(client, escalation_id, "cancel", arg, person, idempotency_key)


@router.post(
    "/{escalation_id}/severity",
    **_action_doc("Change the severity", "supervisor, manager, executive",
                  "Re-targets the SLA clocks on the new severity's targets (keeping the business "
                  "time already used). Beyond the contract. 409 once resolved (reopen instead) "
                  "or when the severity is unchanged."),
)
async def change_severity(
    escalation_id: IdParam,
    body: SeverityBody,
    person: Annotated[DirectoryEntry, Depends(require_roles("supervisor", "manager", "executive"))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = SeverityChange(actor=actor_of(person), severity=body.severity, reason=body.reason)
    return await act(client, escalation_id, "change_severity", arg, person, idempotency_key)
