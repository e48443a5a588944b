"""Pydantic contracts of the escalation process: the vocabulary (severities, triggers, tiers),
people, the request that opens a case, and the workflow's state. The workflow's input and update
payloads are in workflows/inputs.py, what its queries answer in workflows/views.py. Pure data:
no I/O here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from workflows.access import STAFF_ROLES, Role  # noqa: F401  (re-exported)
from workflows.stages import FINAL_STAGES, Stage  # noqa: F401  (re-exported)

Severity = Literal["P1", "P2", "P3", "P4"]
Urgency = Literal["immediate", "high", "normal", "low"]
Channel = Literal["email", "sms", "phone", "chat", "social"]
CustomerTier = Literal["standard", "gold", "vip"]
Trigger = Literal[
    "customer_request",
    "policy_exception",
    "out_of_scope",
    "repeat_contact",
    "legal_threat",
    "social_media_threat",
    "regulator_threat",
    "technical_fault",
]
# Guided capture (workflows/capture.py): answers keyed by the policy's question ids
AnswerKey = Annotated[str, StringConstraints(min_length=1, max_length=40)]
AnswerText = Annotated[str, StringConstraints(max_length=2_000)]
Answers = Annotated[dict[AnswerKey, AnswerText], Field(max_length=20)]

RemedyKind = Literal["refund", "goodwill_credit", "fee_waiver", "replacement", "other"]
Tier = Literal["tier1", "helpline", "specialist", "executive"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- people -------------------------------------------------------------------------------------


class Person(Model):
    """A member of staff or a calling system, as the directory knows them."""

    id: str = Field(description="Stable person id", examples=["p-spec-1"])
    name: str = Field(description="Display name", examples=["Sam Specialist"])
    role: Role = Field(description="What the person may do")
    authority_limit: float = Field(0, ge=0, description="Money they may grant or approve")
    team: str | None = Field(None, description="Specialist team, calendar owner")
    email: str | None = None
    phone: str | None = None
    chat: str | None = Field(None, description="Handle on the staff chat tool")
    channels: list[Channel] = Field(
        default=["chat", "email"],
        description="Staff notification channels, in order of preference",
    )
    calendar: str | None = Field(
        None, description="Working-hours calendar name in the policy (quiet hours)"
    )


class Actor(Model):
    """Who performs an action (set by the API from the caller's token)."""

    id: str
    name: str
    role: Role
    authority_limit: float = 0
    team: str | None = Field(None, description="The specialist team the person belongs to")
    # Optional with a default: histories recorded before sign-in through OIDC still replay
    subject: str | None = Field(
        None, description="The identity provider's subject (sub) of a person signed in by OIDC"
    )


# --- the request that opens an escalation -------------------------------------------------------


class Contact(Model):
    email: str | None = Field(
        None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", examples=["ada@example.com"]
    )
    phone: str | None = Field(
        None, max_length=32, pattern=r"^\+?[0-9 ()\-]{5,31}$", examples=["+44 20 7946 0000"]
    )
    preferred_channel: Channel = Field("email", description="Where the customer wants to hear back")


class Customer(Model):
    id: str = Field(min_length=1, max_length=128, examples=["C-1001"])
    name: str = Field(min_length=1, max_length=256, examples=["Ada Lovelace"])
    tier: CustomerTier = "standard"
    contact: Contact = Field(default_factory=Contact)


class Remedy(Model):
    kind: RemedyKind = Field(examples=["refund"])
    amount: float = Field(0, ge=0, le=1_000_000_000, examples=[40.0])
    currency: str = Field("GBP", pattern=r"^[A-Z]{3}$", examples=["GBP"])
    description: str = Field("", max_length=2000, examples=["Duplicate charge for March"])


class EscalationRequest(Model):
    customer: Customer
    channel: Channel = Field(description="Where the customer contacted us", examples=["phone"])
    category: str = Field(min_length=1, max_length=64, examples=["billing"])
    summary: str = Field(min_length=1, max_length=500, examples=["Charged twice for March"])
    details: str = Field("", max_length=20_000, description="Free text captured by the frontline")
    trigger: Trigger = Field(examples=["customer_request"])
    requested_remedy: Remedy | None = None
    external_ref: str | None = Field(None, max_length=128, examples=["CRM-778812"])
    answers: Answers = Field(
        default_factory=dict,
        description="Answers to the policy's capture questions for this category, by question "
        "id (`GET /policy/capture?category=`); typed as each question says (number, money: "
        "digits; date: YYYY-MM-DD; choice: one of its choices). An agent must answer the "
        "required ones; a system may leave them to the frontline, and the case is then not "
        "transferred to a specialist until they are given (`POST /escalations/{id}/answers`)",
        examples=[{"invoice_number": "INV-2026-0311", "amount_disputed": "40.00"}],
    )
    checklist: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list,
        max_length=10,
        description="The de-escalation checklist's steps the agent ticked (their ids)",
        examples=[["acknowledged_upset", "asked_outcome"]],
    )


class TextReading(Model):
    """What the text analysis (an activity: core/quality) read in what a customer wrote."""

    source: Literal["intake"] = Field("intake", description="Which text: the captured details")
    angry: bool = Field(description="The words read angry (by the policy's `min_anger`)")
    anger_score: float = Field(ge=0, le=1, description="0 calm to 1 furious", examples=[0.97])
    sentiment: Literal["negative", "neutral", "positive"] = Field(
        description="The words' overall tone"
    )
    threats: list[str] = Field(
        default_factory=list, description="Threat language found (legal, regulator, social_media)"
    )
    evidence: list[str] = Field(
        default_factory=list, description="The words that read as a threat, quoted"
    )
    language: str | None = Field(None, description="ISO 639-1 code of the text's language")
    trigger: Trigger | None = Field(None, description="The trigger the text suggests")
    trigger_confidence: float = Field(0.0, ge=0, le=1, description="0 to 1")
    category: str | None = Field(None, description="The category the text suggests")
    category_confidence: float = Field(0.0, ge=0, le=1, description="0 to 1")
    analyser: str = Field("", description="Which analyser read it, with its model version")


# --- state ------------------------------------------------------------------------------------


class Clock(Model):
    """An SLA clock measured in business seconds on a calendar; pausable."""

    name: Literal["first_response", "resolution"]
    calendar: str = Field(description="Calendar name the clock counts on")
    target_s: float = Field(description="Business seconds allowed")
    consumed_s: float = Field(0, description="Business seconds used before the current run")
    running_since: datetime | None = None
    due_at: datetime | None = Field(None, description="When it breaches if it keeps running")
    paused: bool = False
    stopped_at: datetime | None = Field(None, description="Met (or no longer relevant) at")
    warned_fractions: list[float] = Field(default_factory=list)
    warned_at: datetime | None = None
    breached: bool = False
    breached_at: datetime | None = None


class PendingApproval(Model):
    remedy: Remedy
    required_authority: float
    level: Role = Field(description="The authority level currently asked (role)")
    since: datetime
    due_at: datetime | None = Field(None, description="When the approval moves one level up")
    proposed_by: str
    proposed_by_id: str | None = Field(None, description="Person id of the proposer (four eyes)")
    reminders_sent: int = 0


class TimelineEntry(Model):
    at: datetime
    actor: str
    role: str
    action: str
    stage: str
    detail: str = ""


class KbMatch(Model):
    slug: str
    title: str
    score: float
    snippet: str = ""


class PastCase(Model):
    """One of the customer's earlier escalations, as the report store's `customer_history`
    answers it and the case keeps it."""

    escalation_id: str
    opened_at: datetime
    trigger: str
    stage: str
    resolved_tier: str | None = None
    outcome: str | None = None
    root_cause: str | None = None
    granted_amount: float | None = None
    currency: str | None = None


class CustomerRecord(Model):
    """The customer's past year, read once per case for the goodwill budget, the approvers and
    the handover. `known` False: the report store could not be read (the budget is unknown)."""

    known: bool
    since: datetime
    count: int = Field(0, description="Escalations in the window (may exceed the list)")
    goodwill_granted: dict[str, float] = Field(
        default_factory=dict, description="Remedies granted in the window, per currency"
    )
    escalations: list[PastCase] = Field(default_factory=list, description="Newest first")


class CustomerFeedback(Model):
    """A customer's answer to a check-in (the signed feedback link, issue 22)."""

    key: str = Field("", description="The check-in answered (its link's key)")
    score: int = Field(ge=1, le=5, description="How the resolution went, 1 (bad) to 5 (good)")
    comment: str = Field("", max_length=5_000)
    still_broken: bool = False
    at: datetime


class Callback(Model):
    """A promise to call the customer back at a time (issue 22): the promiser is reminded before
    it; not recorded done by the promised time (and the policy's grace) is a breach of promise."""

    number: int = Field(description="1, 2, ... on the case")
    at: datetime = Field(description="The time promised to the customer")
    note: str = ""
    promised_by: str = Field(description="Who promised (name); reminded before it")
    promised_by_id: str
    promised_by_role: str
    remind_at: datetime = Field(description="When the promiser is reminded (business hours)")
    reminded: bool = False
    done_at: datetime | None = None
    done_by: str | None = None
    missed: bool = Field(False, description="Not done in time: a breach of promise")


class Contribution(Model):
    """A question to another team, with its own deadline carved from the case's remaining
    resolution time (issue 22)."""

    number: int
    team: str
    question: str
    asked_by: str
    asked_at: datetime
    due_at: datetime = Field(description="Never after the resolution clock's due time")
    capped: bool = Field(False, description="The deadline is the resolution clock's due time")
    answer: str | None = None
    answered_by: str | None = None
    answered_at: datetime | None = None
    breached: bool = Field(False, description="Not answered by its deadline")


class EscalationState(Model):
    """Everything the workflow knows; carried across continue-as-new."""

    id: str
    stage: Stage = Stage.TRIAGE
    request: EscalationRequest
    opened_by: Actor
    severity: Severity | None = None
    urgency: Urgency | None = None
    avoidable: bool | None = None
    triage_rule: int | None = Field(
        None, description="The policy's triage rule that matched (1-based; None: the default)"
    )
    triage_reason: str | None = Field(None, description="Why triage chose severity and urgency")
    granted_remedy: Remedy | None = None
    proposal: Remedy | None = None
    assigned_team: str | None = None
    assignee: str | None = None
    assignee_name: str | None = None
    acknowledged: bool = False
    ack_due_at: datetime | None = None
    consult_due_at: datetime | None = None
    previous_assignees: list[str] = Field(default_factory=list)
    pending_approval: PendingApproval | None = None
    clocks: list[Clock] = Field(default_factory=list)
    promise_at: datetime | None = None
    resolved_at_tier: Tier | None = None
    outcome: str | None = None
    authority_level: int = Field(
        0,
        description="The lowest sign-off level a proposal goes to (index into the policy's "
        "levels): raised one step by each SLA breach, and to the level an unanswered approval "
        "was moved to",
    )
    waiting_on_customer: bool = False
    opening_rules: int = Field(
        0, description="StartEscalation.opening_rules of the case (kept across continue-as-new)"
    )
    customer_record: CustomerRecord | None = Field(
        None, description="The customer's past year (read by the workflow; None: not yet)"
    )
    direct_to_manager: bool = Field(
        False,
        description="A threat or P1 sent straight to the escalated-accounts manager at the "
        "opening (no tier 1, no help line)",
    )
    consult_answer: str | None = None
    customer_message: str | None = Field(
        None, description="What the customer was told when the help line resolved the case"
    )
    kb_matches: list[KbMatch] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="The latest notes, whole")
    notes_count: int = Field(0, description="Notes added in all")
    timeline_elided: int = Field(0, description="Timeline entries dropped from the middle")
    carried: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Messages and CRM events still being retried when the case continued as "
        "new (outbox items): the next run sends them on, with the same idempotency keys",
    )
    check_ins_done: int = 0
    links_sent: list[str] = Field(
        default_factory=list,
        description="Keys of the check-ins sent with a feedback link (the answers accepted)",
    )
    callbacks: list[Callback] = Field(default_factory=list, description="Promised callbacks")
    contributions: list[Contribution] = Field(
        default_factory=list, description="Questions to other teams"
    )
    reopen_count: int = 0
    root_cause: str | None = Field(
        None, description="The root-cause category recorded at resolution (the policy's list)"
    )
    feedback: list[CustomerFeedback] = Field(
        default_factory=list, description="The customer's answers to check-ins, oldest first"
    )
    resolved_at: datetime | None = None
    policy_version: str | None = None
    opened_at: datetime
    updated_at: datetime
    stage_entered_at: datetime | None = Field(
        None, description="When the current stage was entered (the report store's stage visits)"
    )
    timeline: list[TimelineEntry] = Field(default_factory=list)
    transfer_held_at: datetime | None = Field(
        None, description="Since when the transfer waits for required capture answers"
    )
    escalation_asked_at: datetime | None = Field(
        None, description="When the customer last asked for the case to be escalated"
    )
    escalation_asks: int = 0
    reading: TextReading | None = Field(
        None, description="The text analysis of the captured summary and details (new cases)"
    )
