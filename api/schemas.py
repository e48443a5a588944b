"""Request and response models of the HTTP API only (the workflow's own contracts live in
workflows/models.py, inputs.py and views.py). Action bodies carry no actor: the API adds it
from the caller's token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.errors import ErrorBody
from workflows.models import Answers, Remedy, Severity


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


class AnswersBody(Body):
    answers: Answers = Field(
        default_factory=dict,
        description="Answers to the policy's capture questions for the case's category, by "
        "question id (`GET /policy/capture?category=`); a later answer replaces an earlier one",
        examples=[{"invoice_number": "INV-2026-0311", "amount_disputed": "600.00"}],
    )
    checklist: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list,
        max_length=10,
        description="De-escalation checklist steps done (their ids)",
        examples=[["acknowledged_upset"]],
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
        429: "This token's request budget is spent, or too many unknown tokens came from this "
        "address or with this token's prefix (per API process); retry after `Retry-After` "
        "seconds",
        503: "Temporal is unreachable or too slow; retry after `Retry-After` seconds",
    }
    if 401 in codes:  # every authenticated route: a budget per token, a throttle on failures
        codes = tuple(sorted({*codes, 429}))
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}
