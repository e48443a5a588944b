"""The escalation workflow's input and the payload of each of its updates (one model per
argument, so fields can be added without breaking running workflows). Pure data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from workflows.models import (
    Actor,
    Answers,
    EscalationRequest,
    EscalationState,
    Model,
    Person,
    Remedy,
    Severity,
)

# The texts an action carries, each limit written once: a long text (a note, an answer, what the
# customer said), a line (a question, an outcome, a message), a name (a team, a person id), and a
# reason given for an action, which may be left empty.
Text = Annotated[str, Field(min_length=1, max_length=20_000)]
Line = Annotated[str, Field(min_length=1, max_length=5_000)]
Name = Annotated[str, Field(min_length=1, max_length=128)]
Why = Annotated[str, Field(max_length=5_000)]

WORKFLOW_VERSION = 2  # the only `StartEscalation.version` this code runs (docs/decisions/0002)


class StartEscalation(Model):
    """The workflow's input, built by `workflows.opening.new_case` (the API and the tests)."""

    id: str
    request: EscalationRequest
    opened_by: Actor
    policy: Any = Field(
        description="The policy copy the case runs under, pinned for its life (as the API "
        "triaged it at the opening; on continue-as-new, the same copy)"
    )
    opened_at: datetime = Field(
        description="When the API accepted the request; SLA clocks count from here"
    )
    resume: EscalationState | None = Field(None, description="Set by continue-as-new")
    continue_as_new_after_events: int | None = Field(
        None, description="Force continue-as-new past this history length (tests, operations)"
    )
    signature: str | None = Field(None, description="Set by the API's client; verified by workers")
    opening_rules: int = Field(
        0,
        description="Which opening rules the case was triaged under: 0 before issue 22 (cases "
        "already running keep them on replay), 1 the help line's window on business hours, "
        "threats and P1 straight to the escalated-accounts manager. Set by new_case.",
    )
    version: int = Field(
        WORKFLOW_VERSION,
        description="The workflow behaviour the starter asks for. Only "
        f"{WORKFLOW_VERSION} runs: versions 0 and 1 were retired before any deployment ran "
        "them (docs/decisions/0002); a start asking for another is failed at once.",
    )


class ActionInput(Model):
    """What every action carries: who acts, vouched for by the API's signature (core/signing.py:
    the workers refuse an action the API did not sign for this case)."""

    actor: Actor
    signature: str | None = Field(None, description="Set by the API's client; verified by workers")


# Each action's payload is written once: `<Name>Fields` is what the caller says (the API's body
# is exactly these fields: api/cases/schemas.py), and the update's input adds who acts
# (`ActionInput`) and what the API looked up. The descriptions and examples are the manual's.


class ConsultAnswerFields(Model):
    resolves: bool = Field(
        description="True if the answer settles the case at the help line; false to escalate "
        "to a specialist",
        examples=[False],
    )
    answer: Text = Field(
        description="The help line's answer: advice to the frontline agent, relayed to the "
        "agent who opened the case; never sent to the customer word for word",
        examples=["Duplicate charges above 50 GBP need a billing specialist."],
    )
    customer_message: Line | None = Field(
        None,
        description="With `resolves: true`: what the customer is told, as the frontline agent "
        "confirmed it. Without it the customer gets the policy's `helpline_resolved` message",
        examples=["We have refunded the duplicate charge; it will show within 3 working days."],
    )


class ConsultAnswer(ConsultAnswerFields, ActionInput):
    pass


class Acknowledge(ActionInput):
    pass


class AddNoteFields(Model):
    text: Text = Field(
        description="Information captured about the case",
        examples=["Customer confirmed both charges on the statement dated 3 March."],
    )


class AddNote(AddNoteFields, ActionInput):
    pass


class InfoRequestFields(Model):
    question: Line = Field(
        description="What the customer is asked; the SLA clocks pause until they reply",
        examples=["Please send the last four digits of the card that was charged."],
    )


class InfoRequest(InfoRequestFields, ActionInput):
    pass


class CustomerContactFields(Model):
    message: Text = Field(
        description="What the customer said",
        examples=["Card ending 4242. Still seeing two charges."],
    )
    still_broken: bool = Field(
        False,
        description="At a follow-up check-in: true if the problem came back (reopens the case)",
        examples=[False],
    )


class CustomerContact(CustomerContactFields, ActionInput):
    pass


class ProposalFields(Model):
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


class Proposal(ProposalFields, ActionInput):
    pass


class DecisionFields(Model):
    decision: Literal["approve", "reject"] = Field(
        description="Approve the pending remedy (the case is resolved) or reject it (back to "
        "the specialist)",
        examples=["approve"],
    )
    comment: Why = Field("", description="Why", examples=["Long-standing customer."])


class Decision(DecisionFields, ActionInput):
    pass


class ResolveCaseFields(Model):
    outcome: Line = Field(
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


class ResolveCase(ResolveCaseFields, ActionInput):
    pass


class FeedbackFields(Model):
    score: int = Field(ge=1, le=5, description="1 (bad) to 5 (good)", examples=[4])
    comment: str = Field("", max_length=5_000, examples=["Refund arrived, thank you."])
    still_broken: bool = Field(
        False, description="The problem is back: reopens the case", examples=[False]
    )


class FeedbackAnswer(FeedbackFields, ActionInput):
    """The customer's answer through a check-in's feedback link (the API verified the link)."""

    key: str = Field(min_length=1, max_length=32, description="The check-in the link names")


class CallbackPromiseFields(Model):
    at: datetime = Field(
        description="When the customer will be called back, with a time zone; within the "
        "promiser's business hours and the next 30 days (422 otherwise)",
        examples=["2026-12-07T10:30:00Z"],
    )
    note: str = Field(
        "", max_length=2_000, description="What the call is for", examples=["Confirm the refund"]
    )


class CallbackPromise(CallbackPromiseFields, ActionInput):
    pass


class CallbackDoneFields(Model):
    note: str = Field(
        "", max_length=2_000, description="How the call went", examples=["Customer happy"]
    )


class CallbackDone(CallbackDoneFields, ActionInput):
    number: int = Field(ge=1, description="The callback's number on the case")


class ReasonFields(Model):
    reason: Why = Field(
        "",
        description="Why (kept in the timeline)",
        examples=["Customer reports the fault is back."],
    )


class ReassignFields(Model):
    reason: Why = Field("", description="Why (kept in the timeline)", examples=["Sam is off"])


class ReassignCase(ReassignFields, ActionInput):
    to: Person = Field(description="The new owner, as the API found them in the directory")


class ChaseOwnerFields(Model):
    message: Line = Field(
        description="The staff message the owner gets (kept in the timeline)",
        examples=["Customer called twice today; please update them by noon."],
    )


class ChaseOwner(ChaseOwnerFields, ActionInput):
    pass


class ContributionRequestFields(Model):
    team: Name = Field(
        description="Another team of the policy (`GET /policy` teams; 422 for the case's own)",
        examples=["technical-specialists"],
    )
    question: Line = Field(
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


class ContributionRequest(ContributionRequestFields, ActionInput):
    pass


class ContributionAnswerFields(Model):
    answer: Text = Field(
        description="The team's answer (the owner is told)",
        examples=["Yes: the gateway retried; the second charge is reversed automatically."],
    )


class ContributionAnswer(ContributionAnswerFields, ActionInput):
    number: int = Field(ge=1)


class SeverityChangeFields(Model):
    severity: Severity = Field(description="The new severity", examples=["P1"])
    reason: Why = Field(
        "", description="Why (kept in the timeline)", examples=["Customer has gone to the press."]
    )


class AnswerQuestionsFields(Model):
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


class AnswerQuestions(AnswerQuestionsFields, ActionInput):
    """The frontline's answers to the policy's capture questions, given after the opening (a
    case a system opened, or one migrated to a version that asks more)."""


class EscalationAsk(ActionInput):
    """The customer asks for their case to be escalated ("I want this escalated")."""

    reason: str = Field(min_length=1, max_length=2_000)


class SeverityChange(SeverityChangeFields, ActionInput):
    pass


class Reason(ReasonFields, ActionInput):
    pass


class OperatorRecord(ActionInput):
    """What an operator did to the case's workflow from outside it (an activity retried now,
    the workflow reset), for the timeline: the workflow cannot see those server calls."""

    action: Literal["activity_retried", "workflow_reset"]
    detail: str = Field("", max_length=5_000)
