"""What the escalation workflow answers to queries: the live view of a case (the contract's
escalation response), its timeline, and the handover packet. Pure data, built by
`workflows.opening.view` and `workflows.packet.handover`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from workflows.models import (
    Callback,
    Channel,
    Contribution,
    Customer,
    CustomerFeedback,
    CustomerTier,
    EscalationRequest,
    KbMatch,
    PastCase,
    Remedy,
    Role,
    Severity,
    Stage,
    TextReading,
    Tier,
    TimelineEntry,
    Trigger,
    Urgency,
)


class ClockView(BaseModel):
    name: str
    due_at: datetime | None
    paused: bool
    warned_at: datetime | None
    breached: bool
    met_at: datetime | None = None
    remaining_business_s: float | None = None


class CustomerContext(BaseModel):
    """What an approver weighs besides the amount: who the customer is to us."""

    tier: CustomerTier = Field(description="The customer's value tier")
    past_escalations: int | None = Field(
        description="Escalations in the rolling year before this one (null: unknown)"
    )
    goodwill_granted: float | None = Field(
        description="Remedies already granted in that year, in the policy's currency (null: "
        "unknown)"
    )
    goodwill_left: float | None = Field(
        None, description="What is left of the yearly goodwill budget (null: unknown or none)"
    )


class PendingApprovalView(BaseModel):
    remedy: Remedy
    required_authority: float
    level: Role
    since: datetime
    due_at: datetime | None
    customer: CustomerContext | None = Field(
        None, description="The customer's value, past escalations and goodwill already given"
    )


class EndedOutside(BaseModel):
    """How a case's workflow ended outside the process (read from Temporal, not the workflow)."""

    status: str = Field(
        description="The workflow's status: terminated, timed_out, failed or canceled",
        examples=["terminated"],
    )
    at: datetime | None = Field(None, description="When it ended")
    by: str | None = Field(None, description="The identity Temporal recorded, when it says")
    reason: str | None = Field(None, description="The reason or failure Temporal recorded")
    stage: str | None = Field(None, description="The stage the process had reached")


class EscalationView(BaseModel):
    """The live state of an escalation (the contract's escalation response)."""

    id: str
    stage: Stage
    severity: Severity | None
    urgency: Urgency | None
    triage_rule: int | None = Field(
        None, description="The policy's triage rule that matched (1-based; null: the default)"
    )
    triage_reason: str | None = Field(
        None,
        description='Why triage chose severity and urgency, e.g. "triage rule 1 matched on '
        'trigger legal_threat: P1, urgency immediate"',
    )
    round_the_clock: bool = Field(
        False,
        description="Staff deadlines and messages ignore business and quiet hours (a P1, or "
        "urgency immediate)",
    )
    customer: Customer
    channel: Channel
    category: str
    summary: str
    trigger: Trigger
    avoidable: bool | None
    requested_remedy: Remedy | None
    granted_remedy: Remedy | None
    proposal: Remedy | None = None
    assigned_team: str | None
    assignee: str | None
    pending_approval: PendingApprovalView | None
    clocks: list[ClockView]
    next_deadline: datetime | None
    promise_at: datetime | None = Field(
        description="The earliest time an agent may honestly promise the customer a resolution"
    )
    resolved_at_tier: Tier | None
    outcome: str | None = None
    root_cause: str | None = Field(None, description="Recorded at resolution (policy's list)")
    feedback: list[CustomerFeedback] = Field(
        default_factory=list, description="The customer's answers to check-ins, oldest first"
    )
    callbacks: list[Callback] = Field(
        default_factory=list, description="Callbacks promised to the customer, with reminders"
    )
    contributions: list[Contribution] = Field(
        default_factory=list,
        description="Questions to other teams, each with a deadline inside the resolution clock",
    )
    feedback_open_until: datetime | None = Field(
        None, description="After the last check-in: until when its feedback link is awaited"
    )
    waiting_on_customer: bool = False
    external_ref: str | None = None
    kb_matches: list[KbMatch] = Field(
        default_factory=list,
        description="Knowledge-base articles matching the case, found when the help line was "
        "asked (they reach the help line with the request and the agent with the answer)",
    )
    policy_version: str | None
    opened_at: datetime
    updated_at: datetime
    ended_outside: EndedOutside | None = Field(
        None,
        description="Set when the workflow ended outside the process (stage `terminated`): "
        "e.g. terminated by someone with direct Temporal access; null otherwise",
    )
    missing_answers: list[str] = Field(
        default_factory=list,
        description="The policy's required capture questions not answered yet (their ids): "
        "the case is not transferred to a specialist until they are "
        "(`POST /escalations/{id}/answers`)",
        examples=[["invoice_number"]],
    )
    transfer_held_since: datetime | None = Field(
        None, description="Since when the transfer to a specialist waits for those answers"
    )
    reading: TextReading | None = Field(
        None,
        description="What the text analysis read in the captured summary and details (anger, "
        "threat language, language, a suggested trigger and category); null until read, and "
        "for cases opened before it existed",
    )
    escalation_asked_at: datetime | None = Field(
        None,
        description='When the customer last asked for escalation ("I want this escalated"); '
        "the escalated-accounts manager was sent the request and its reason",
    )


class CapturedAnswer(BaseModel):
    question: str = Field(description="The policy's question", examples=["How much is in dispute?"])
    answer: str = Field(examples=["600.00"])


class ChecklistStep(BaseModel):
    step: str = Field(
        description="A step of the de-escalation checklist",
        examples=["Asked what they want to happen next, and repeated it back"],
    )
    done: bool = Field(description="Ticked by the agent")


class Timeline(BaseModel):
    items: list[TimelineEntry]
    elided: int = Field(
        0,
        description="Entries left out between the opening and the latest (a case keeps "
        "its first and its latest entries)",
    )


class ClockCalendar(BaseModel):
    clock: str
    calendar: str = Field(description="The policy's calendar name the clock counts on")
    timezone: str | None = None
    target_s: float = Field(description="Business seconds allowed")


class TeamHours(BaseModel):
    team: str = Field(description="A team of the policy", examples=["technical-specialists"])
    calendar: str = Field(
        description="The policy's calendar name the team works on", examples=["uk_office"]
    )
    timezone: str | None = Field(None, description="The calendar's time zone")


class Handover(BaseModel):
    """What a person taking the case over needs beyond the live state (the "handover" query):
    what the frontline captured, the help line's answer, knowledge-base matches, notes, and the
    business hours each clock counts on."""

    details: str
    triage_rule: int | None = None
    triage_reason: str | None = None
    consult_answer: str | None
    kb_matches: list[KbMatch]
    notes: list[str]
    assignee_name: str | None
    acknowledged: bool
    calendars: list[ClockCalendar]
    # the warm-transfer packet (issue 22): everything so the customer never repeats themselves
    request: EscalationRequest | None = Field(
        None, description="Everything captured at the opening, as the frontline sent it"
    )
    opened_by: str | None = Field(None, description="Who opened the case")
    opened_at: datetime | None = None
    severity: Severity | None = None
    urgency: Urgency | None = None
    consult_question: str | None = Field(
        None, description="What the help line was asked (null: the case skipped the help line)"
    )
    customer_message: str | None = Field(
        None, description="What the customer was told when the help line resolved the case"
    )
    notes_count: int = Field(0, description="Notes added in all (the latest are in `notes`)")
    customer: CustomerContext | None = Field(
        None, description="The customer's value, past escalations and goodwill already given"
    )
    previous_escalations: list[PastCase] = Field(
        default_factory=list,
        description="The customer's escalations of the past year and their outcomes, newest "
        "first (empty: none, or the history could not be read: see `customer`)",
    )
    answers: list[CapturedAnswer] = Field(
        default_factory=list,
        description="The answers to the policy's capture questions, in the policy's order",
    )
    checklist: list[ChecklistStep] = Field(
        default_factory=list, description="The de-escalation checklist and what was ticked"
    )
    team_hours: list[TeamHours] = Field(
        default_factory=list,
        description="Each team's business hours in the case's policy: a contribution's deadline "
        "counts on its team's (round the clock on a P1 or an immediate case)",
    )
    callback_grace_min: float | None = Field(
        None, description="Minutes after a promised callback's time before it is missed"
    )
