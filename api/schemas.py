"""Request and response models of the HTTP API only (the workflow's own contracts live in
workflows/models.py, inputs.py and views.py). Action bodies carry no actor: the API adds it
from the caller's token."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.errors import ErrorBody
from workflows.models import Remedy, Severity


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- action bodies ------------------------------------------------------------------------------


class ConsultAnswerBody(Body):
    resolves: bool = Field(
        description="True if the answer settles the case at the help line; false to escalate "
        "to a specialist",
        examples=[False],
    )
    answer: str = Field(
        min_length=1,
        max_length=20_000,
        description="The help line's answer: advice to the frontline agent, relayed to the "
        "agent who opened the case; never sent to the customer word for word",
        examples=["Duplicate charges above 50 GBP need a billing specialist."],
    )
    customer_message: str | None = Field(
        None,
        min_length=1,
        max_length=5_000,
        description="With `resolves: true`: what the customer is told, as the frontline agent "
        "confirmed it. Without it the customer gets the policy's `helpline_resolved` message",
        examples=["We have refunded the duplicate charge; it will show within 3 working days."],
    )


class AcknowledgeBody(Body):
    """Empty: acknowledging takes no parameters."""


class NoteBody(Body):
    text: str = Field(
        min_length=1,
        max_length=20_000,
        description="Information captured about the case",
        examples=["Customer confirmed both charges on the statement dated 3 March."],
    )


class InfoRequestBody(Body):
    question: str = Field(
        min_length=1,
        max_length=5_000,
        description="What the customer is asked; the SLA clocks pause until they reply",
        examples=["Please send the last four digits of the card that was charged."],
    )


class CustomerContactBody(Body):
    message: str = Field(
        min_length=1,
        max_length=20_000,
        description="What the customer said",
        examples=["Card ending 4242. Still seeing two charges."],
    )
    still_broken: bool = Field(
        False,
        description="At a follow-up check-in: true if the problem came back (reopens the case)",
        examples=[False],
    )


class ProposalBody(Body):
    remedy: Remedy = Field(
        description="The remedy the specialist proposes; above their authority it needs sign-off",
        examples=[
            {
                "kind": "refund",
                "amount": 600,
                "currency": "GBP",
                "description": "Refund both March charges",
            }
        ],
    )


class DecisionBody(Body):
    decision: Literal["approve", "reject"] = Field(
        description="Approve the pending remedy (the case is resolved) or reject it (back to "
        "the specialist)",
        examples=["approve"],
    )
    comment: str = Field(
        "", max_length=5_000, description="Why", examples=["Long-standing customer."]
    )


class ResolveBody(Body):
    outcome: str = Field(
        min_length=1,
        max_length=5_000,
        description="What was done for the customer",
        examples=["Duplicate charge refunded; customer informed by e-mail."],
    )
    root_cause: str | None = Field(
        None,
        max_length=64,
        description="The root-cause category, one of the policy's `root_causes` (`GET /policy`; "
        "422 for any other); counted in reports. Optional, so callers of the first contract "
        "keep working",
        examples=["billing_error"],
    )
    avoidable: bool | None = Field(
        None,
        description="Whether the trigger was avoidable after all (overrides triage's verdict "
        "in the case and the `Avoidable` search attribute); omit to keep triage's",
        examples=[True],
    )


class CallbackBody(Body):
    at: datetime = Field(
        description="When the customer will be called back, with a time zone; within the "
        "promiser's business hours and the next 30 days (422 otherwise)",
        examples=["2026-12-07T10:30:00Z"],
    )
    note: str = Field(
        "", max_length=2_000, description="What the call is for", examples=["Confirm the refund"]
    )


class CallbackDoneBody(Body):
    note: str = Field(
        "", max_length=2_000, description="How the call went", examples=["Customer happy"]
    )


class ReassignBody(Body):
    assignee: str = Field(
        min_length=1,
        max_length=128,
        description="Person id of the specialist who takes the case over (422 for anyone "
        "else); they must acknowledge it within their team's window",
        examples=["p-specialist-2"],
    )
    reason: str = Field(
        "", max_length=5_000, description="Why (kept in the timeline)", examples=["Sam is off"]
    )


class ChaseBody(Body):
    message: str = Field(
        min_length=1,
        max_length=5_000,
        description="The staff message the owner gets (kept in the timeline)",
        examples=["Customer called twice today; please update them by noon."],
    )


class ContributionBody(Body):
    team: str = Field(
        min_length=1,
        max_length=128,
        description="Another team of the policy (`GET /policy` teams; 422 for the case's own)",
        examples=["technical-specialists"],
    )
    question: str = Field(
        min_length=1,
        max_length=5_000,
        description="What the team is asked",
        examples=["Was the second charge caused by the payment-gateway retry on 3 March?"],
    )
    within_h: float = Field(
        4,
        gt=0,
        le=24 * 30,
        description="Business hours the team has, on its own calendar; the deadline is capped "
        "at the resolution clock's due time (a nested budget)",
        examples=[4],
    )


class ContributionAnswerBody(Body):
    answer: str = Field(
        min_length=1,
        max_length=20_000,
        description="The team's answer (the owner is told)",
        examples=["Yes: the gateway retried; the second charge is reversed automatically."],
    )


class SeverityBody(Body):
    severity: Severity = Field(description="The new severity", examples=["P1"])
    reason: str = Field(
        "",
        max_length=5_000,
        description="Why (kept in the timeline)",
        examples=["Customer has gone to the press."],
    )


class ReasonBody(Body):
    reason: str = Field(
        "",
        max_length=5_000,
        description="Why (kept in the timeline)",
        examples=["Customer reports the fault is back."],
    )


# --- list ---------------------------------------------------------------------------------------


class EscalationSummary(BaseModel):
    """One escalation as the Temporal visibility store knows it (no workflow query per item,
    so a list is cheap; fields the workflow has not set yet are null)."""

    id: str = Field(description="Public escalation id", examples=["E-3F2A9C0B7D1E4A55"])
    stage: str | None = Field(None, description="Current stage", examples=["specialist"])
    severity: str | None = Field(None, description="P1 (worst) to P4", examples=["P2"])
    customer_id: str | None = Field(None, description="Customer id", examples=["C-1001"])
    customer_tier: str | None = Field(None, description="standard, gold or vip", examples=["gold"])
    customer_name: str | None = Field(None, description="Customer name", examples=["Ada Lovelace"])
    summary: str | None = Field(
        None, description="One-line summary", examples=["Charged twice for March"]
    )
    trigger: str | None = Field(
        None, description="Why it was escalated", examples=["customer_request"]
    )
    avoidable: bool | None = Field(None, description="Whether the trigger class is avoidable")
    assigned_team: str | None = Field(
        None, description="Specialist team", examples=["billing-specialists"]
    )
    assignee: str | None = Field(None, description="Person id of the owner", examples=["p-spec-1"])
    sla_due_at: datetime | None = Field(None, description="Next SLA deadline")
    sla_breached: bool | None = Field(None, description="True once any SLA clock breached")
    resolved_at_tier: str | None = Field(
        None, description="tier1, helpline, specialist or executive", examples=["specialist"]
    )
    policy_version: str | None = Field(
        None, description="Policy pinned at the start", examples=["2026.11-demo"]
    )
    channel: str | None = Field(
        None, description="Where the customer contacted us", examples=["phone"]
    )
    opened_at: datetime | None = Field(None, description="When the escalation was opened")
    closed_at: datetime | None = Field(
        None, description="When the workflow ended (closed or cancelled), else null"
    )
    status: str = Field(
        description="Workflow execution status: running, completed, canceled, "
        "terminated, failed, timed_out",
        examples=["running"],
    )
    pending_level: str | None = Field(
        None,
        description="The level a pending approval is asked of (supervisor, manager, executive); "
        "null when nothing awaits sign-off",
        examples=["executive"],
    )
    pending_authority: float | None = Field(
        None,
        description="The authority a pending approval needs (the amount, in the policy's "
        "currency); null when nothing awaits sign-off",
        examples=[600.0],
    )
    attention: list[str] = Field(
        default_factory=list,
        description="What the escalated-accounts manager should look at: `at_risk` (a running "
        "clock past 75 % of its target), `undelivered` (a message no channel delivered), "
        "`awaiting_ack` (transferred, not yet acknowledged)",
        examples=[["at_risk"]],
    )


class EscalationPage(BaseModel):
    items: list[EscalationSummary] = Field(description="Newest first")
    next_page_token: str | None = Field(
        None, description="Pass as page_token for the next page; null on the last page"
    )


# --- reports ------------------------------------------------------------------------------------


class SummaryReport(BaseModel):
    since: datetime | None = Field(None, description="Window start (opened at or after)")
    until: datetime | None = Field(None, description="Window end (opened before)")
    total: int = Field(description="Escalations opened in the window", examples=[42])
    by_trigger: dict[str, int] = Field(
        description="Escalations per trigger",
        examples=[{"customer_request": 30, "legal_threat": 2}],
    )
    avoidable_share: float | None = Field(
        description="Share (0..1) of triaged escalations whose trigger is avoidable; null when "
        "none was triaged",
        examples=[0.62],
    )
    resolved_at: dict[str, int] = Field(
        description="Resolved escalations per tier", examples=[{"tier1": 9, "executive": 1}]
    )
    sla_compliance: float | None = Field(
        description="Share (0..1) of resolved escalations resolved within their resolution "
        "clock; null when none was resolved",
        examples=[0.9],
    )
    median_time_to_resolution_s: float | None = Field(
        description="Median wall-clock seconds from opening to resolution (up to the "
        "5,000 most recently opened resolved cases); null when none",
        examples=[5400.0],
    )
    open_by_stage: dict[str, int] = Field(
        description="Escalations still running, per stage", examples=[{"specialist": 4}]
    )


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each listed error code with the one error shape."""
    text = {
        401: "No token, or an unknown token",
        403: "The caller's role or authority is too low",
        404: "Unknown escalation",
        409: "The action does not fit the escalation's stage (or the case is closed)",
        413: "Body larger than 1 MiB",
        422: "Invalid body or parameter (the detail names the field)",
        429: "This token's request budget is spent (per API process); retry after "
        "`Retry-After` seconds",
        503: "Temporal is unreachable or too slow; retry after `Retry-After` seconds",
    }
    if 401 in codes:  # every authenticated route has a request budget per token
        codes = tuple(sorted({*codes, 429}))
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}


# --- OpenAPI: documentation of the shared models ------------------------------------------------
# The workflow's pydantic contracts (workflows/models.py, views.py, policy.py) are the API's
# response bodies too. Fields they leave undocumented are described here so /docs reads as the
# manual; a description set on the model itself always wins.

SHARED_FIELD_DOCS: dict[str, dict[str, str]] = {
    "Handover": {
        "details": "Free text the frontline captured at the opening",
        "triage_rule": "The policy's triage rule that matched (1-based; null: the default)",
        "triage_reason": "Why triage chose severity and urgency",
        "consult_answer": "The help line's answer (advice to the frontline), if any",
        "kb_matches": "Knowledge-base articles matching the case",
        "notes": "The latest notes, whole",
        "assignee_name": "Who has the case now",
        "acknowledged": "Whether the owner has taken the case (acknowledged)",
        "calendars": "The business hours each SLA clock counts on",
        "opened_at": "When the case was opened",
        "severity": "P1 (worst) to P4",
        "urgency": "immediate, high, normal or low",
    },
    "ClockCalendar": {
        "clock": "The SLA clock: first_response or resolution",
        "timezone": "The calendar's time zone",
    },
    "KbMatch": {
        "slug": "The article's id in the knowledge base",
        "title": "The article's title",
        "score": "How well it matches (higher is better)",
        "snippet": "The matching passage",
    },
    "PastCase": {
        "escalation_id": "The earlier escalation's id",
        "opened_at": "When it was opened",
        "trigger": "Why it was escalated",
        "stage": "Where it is now (closed, follow_up, ...)",
        "resolved_tier": "Where it was resolved: tier1, helpline, specialist or executive",
        "outcome": "What was done for the customer",
        "root_cause": "The root-cause category recorded at resolution",
        "granted_amount": "The remedy granted, if any",
        "currency": "The granted amount's currency",
    },
    "EscalationView": {
        "id": "Public escalation id (the workflow id is `escalation-<id>`)",
        "stage": "Where the case is: triage, tier1_exception, helpline_consult, specialist, "
        "executive_signoff, resolved, follow_up, closed or cancelled",
        "severity": "P1 (worst) to P4, from the policy's triage rules; null before triage",
        "urgency": "immediate, high, normal or low; null before triage",
        "customer": "The customer as captured when the case was opened",
        "channel": "Where the customer contacted us",
        "category": "Problem category (drives triage, the tier-1 catalogue and routing)",
        "summary": "One-line summary",
        "trigger": "Why the case was escalated",
        "avoidable": "Whether the trigger class is avoidable under the policy; null before triage",
        "requested_remedy": "What the customer asked for, if anything",
        "granted_remedy": "What was granted (tier 1, a specialist or a sign-off), if anything",
        "proposal": "The specialist's latest proposed remedy, if any",
        "assigned_team": "Specialist team the case was routed to",
        "assignee": "Person id of the current owner",
        "pending_approval": "The remedy waiting for sign-off, the authority it needs and until "
        "when the current level has to decide; null when nothing waits",
        "clocks": "SLA clocks (first_response, resolution) on business hours",
        "next_deadline": "The earliest upcoming deadline of any kind (SLA clock, consult "
        "window, acknowledgement, approval)",
        "resolved_at_tier": "Where the case was resolved: tier1, helpline, specialist or "
        "executive; null while unresolved",
        "outcome": "What was done for the customer, once resolved",
        "waiting_on_customer": "True while the SLA clocks are paused for the customer's reply",
        "external_ref": "The caller's own reference (e.g. the CRM ticket)",
        "policy_version": "Version of the policy pinned for the life of the case",
        "opened_at": "When the case was opened",
        "updated_at": "When anything last changed",
    },
    "Callback": {
        "note": "What the call is for",
        "promised_by_id": "Person id of the promiser",
        "promised_by_role": "The promiser's role",
        "reminded": "The promiser was reminded",
        "done_at": "When the call was recorded done (null: not yet)",
        "done_by": "Who recorded it done",
    },
    "Contribution": {
        "number": "1, 2, ... on the case",
        "team": "The team asked (a team of the policy)",
        "question": "What the team is asked",
        "asked_by": "The case's owner who asked (name)",
        "asked_at": "When it was asked",
        "answer": "The team's answer (null: not yet)",
        "answered_by": "Who answered (name)",
        "answered_at": "When it was answered",
    },
    "CustomerFeedback": {
        "comment": "The customer's own words",
        "still_broken": "The customer said the problem is back",
        "at": "When the answer was recorded",
    },
    "ClockView": {
        "name": "first_response or resolution",
        "due_at": "When the clock breaches if it keeps running",
        "paused": "True while waiting on the customer",
        "warned_at": "When the last warning (policy fraction) was sent",
        "breached": "True once the clock ran out",
        "met_at": "When the clock was stopped because its target was met",
        "remaining_business_s": "Business seconds left; null once met",
    },
    "PendingApprovalView": {
        "remedy": "The proposed remedy",
        "required_authority": "Authority limit an approver needs (policy currency)",
        "level": "Role currently asked to decide (supervisor, manager, executive)",
        "since": "When the proposal was made",
        "due_at": "When a reminder goes out or the approval moves one level up",
    },
    "Customer": {"tier": "standard, gold or vip", "contact": "How to reach the customer"},
    "Contact": {"preferred_channel": "Where the customer wants to hear back"},
    "EscalationRequest": {
        "customer": "Who the escalation is for (id and name required)",
        "requested_remedy": "What the customer asks for; small refunds, credits and fee "
        "waivers are granted at tier 1 at once",
        "trigger": "Why the frontline escalates",
        "category": "Problem category, e.g. billing",
        "summary": "One line",
        "external_ref": "Your own reference; without an Idempotency-Key it makes retries "
        "return the same escalation",
    },
    "Remedy": {
        "kind": "refund, goodwill_credit, fee_waiver, replacement or other",
        "amount": "Money, in `currency`",
        "currency": "ISO 4217 code (the policy's currency)",
        "description": "Free text",
    },
    "Timeline": {"items": "Entries, oldest first"},
    "TimelineEntry": {
        "at": "When",
        "actor": "Who (name; `workflow` for automatic steps)",
        "role": "The actor's role",
        "action": "What happened, e.g. approval_granted",
        "stage": "Stage at the time",
        "detail": "Free text",
    },
    "Policy": {
        "title": "Human title",
        "currency": "Currency of every amount",
        "signed_off_by": "Stakeholders who signed this version off",
        "tier1_limit": "Tier 1's authority (money)",
        "tier1_catalogue": "Remedies tier 1 may grant, with caps",
        "consult_window_min": "Minutes the help line has to answer a consult",
        "helpline_calendar": "Calendar of the help line",
        "avoidable_triggers": "Trigger classes counted as avoidable",
        "triage": "Severity/urgency rules, first match wins",
        "default_severity": "Severity when no rule matches",
        "default_urgency": "Urgency when no rule matches",
        "sla": "SLA targets per severity and tier",
        "warning_fractions": "Fractions of a clock at which warnings go out",
        "calendars": "Business-hours calendars by name",
        "teams": "Specialist teams",
        "signoff": "Sign-off rules and authority ladder",
        "follow_up_h": "Hours after resolution of each customer check-in",
    },
    "SignOff": {"name": "Who", "role": "Their role", "date": "When they signed off"},
    "SignoffLevel": {
        "role": "Approver role at this level",
        "authority_limit": "Money this level may approve",
    },
    "SignoffRules": {
        "reminder_every_min": "Minutes between reminders to approvers",
        "reminders_before_raise": "Reminders before the approval moves up a level",
    },
    "SlaTarget": {
        "severity": "Severity this target applies to",
        "tier": "Customer tier, or * for any",
    },
    "Team": {
        "name": "Team name",
        "calendar": "Business-hours calendar",
        "authority_limit": "Money the team's specialists may grant",
        "acknowledge_within_min": "Minutes to acknowledge before the case is reassigned",
    },
    "TriageRule": {
        "categories": "Matching categories (empty: any)",
        "triggers": "Matching triggers (empty: any)",
        "tiers": "Matching customer tiers (empty: any)",
        "severity": "Severity given",
        "urgency": "Urgency given",
    },
    "ExceptionEntry": {"kind": "Remedy kind", "max_amount": "Largest amount tier 1 may grant"},
    "CalendarSpec": {
        "holiday_subdivision": "Region for the holidays package, e.g. ENG",
        "always_open": "Open around the clock (e.g. the 24x7 calendar)",
    },
}

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def finish_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Describe undocumented shared-model fields; make every 422 use the one error shape."""
    components = schema.get("components", {}).get("schemas", {})
    for model, docs in SHARED_FIELD_DOCS.items():
        props = components.get(model, {}).get("properties", {})
        for field, text in docs.items():
            if field in props and not props[field].get("description"):
                props[field]["description"] = text
    for ops in schema.get("paths", {}).values():
        for op in ops.values():
            resp = op.get("responses", {}).get("422")
            if resp is not None:
                resp["content"] = {"application/json": {"schema": _ERROR_REF}}
                resp["description"] = "Invalid body or parameter (the detail names the field)"
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    _local_times(components)
    _operations_endpoints(schema.get("paths", {}))
    return schema


_LOCAL_TIME = {
    "type": "string",
    "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
    "description": "Local wall-clock time (HH:MM[:SS]) in the calendar's own time zone",
    "examples": ["09:00:00"],
}


def _local_times(node: Any) -> None:
    """pydantic documents `datetime.time` as JSON Schema `format: time`, which is RFC 3339's
    full-time and requires an offset ("09:00:00Z"); our business-hours times are naive local
    times ("09:00:00"). Document what is actually sent."""
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, value in list(children):
        if isinstance(value, dict) and value.get("format") == "time":
            node[key] = {**{k: v for k, v in value.items() if k != "format"}, **_LOCAL_TIME}
        else:
            _local_times(value)


def _operations_endpoints(paths: dict[str, Any]) -> None:
    """/metrics answers Prometheus text, not JSON; /readyz's 503 carries the one error shape."""
    metrics = paths.get("/metrics", {}).get("get", {}).get("responses", {}).get("200")
    if metrics is not None:
        metrics["content"] = {
            "text/plain": {
                "schema": {"type": "string", "description": "Prometheus text exposition format"}
            }
        }
    not_ready = paths.get("/readyz", {}).get("get", {}).get("responses", {}).get("503")
    if not_ready is not None:
        not_ready["content"] = {"application/json": {"schema": _ERROR_REF}}
