"""Request and response models of /escalations: the action bodies (each its update's fields
minus the actor, workflows/inputs.py, so a limit is written once; the class name is the schema's
name in the OpenAPI document) and the list's items. What the workflow's queries answer is in
workflows/views.py."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from api.schemas import Body
from workflows import inputs

# --- action bodies ------------------------------------------------------------------------------
# Each is its update's fields minus the actor (workflows/inputs.py), so a limit is written once;
# the class name is the schema's name in the OpenAPI document.


class ConsultAnswerBody(inputs.ConsultAnswerFields):
    pass


class AcknowledgeBody(Body):
    """Empty: acknowledging takes no parameters."""


class NoteBody(inputs.AddNoteFields):
    pass


class InfoRequestBody(inputs.InfoRequestFields):
    pass


class AnswersBody(inputs.AnswerQuestionsFields):
    pass


class CustomerContactBody(inputs.CustomerContactFields):
    pass


class ProposalBody(inputs.ProposalFields):
    pass


class DecisionBody(inputs.DecisionFields):
    pass


class ResolveBody(inputs.ResolveCaseFields):
    pass


class CallbackBody(inputs.CallbackPromiseFields):
    pass


class CallbackDoneBody(inputs.CallbackDoneFields):
    pass


class ReassignBody(inputs.ReassignFields):
    # the API finds the person in the directory; the update carries them whole (`to`)
    assignee: inputs.Name = Field(
        description="Person id of the specialist who takes the case over (422 for anyone "
        "else); they must acknowledge it within their team's window",
        examples=["p-specialist-2"],
    )


class ChaseBody(inputs.ChaseOwnerFields):
    pass


class ContributionBody(inputs.ContributionRequestFields):
    pass


class ContributionAnswerBody(inputs.ContributionAnswerFields):
    pass


class SeverityBody(inputs.SeverityChangeFields):
    pass


class ReasonBody(inputs.ReasonFields):
    pass


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
