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


class ConsultAnswer(ActionInput):
    resolves: bool
    answer: str = Field(min_length=1, max_length=20_000, description="Advice to the frontline")
    customer_message: str | None = Field(
        None,
        min_length=1,
        max_length=5_000,
        description="What the customer is told when the answer resolves the case (confirmed by "
        "the frontline agent); None: the policy's helpline_resolved message",
    )


class Acknowledge(ActionInput):
    pass


class AddNote(ActionInput):
    text: str = Field(min_length=1, max_length=20_000)


class InfoRequest(ActionInput):
    question: str = Field(min_length=1, max_length=5_000)


class CustomerContact(ActionInput):
    message: str = Field(min_length=1, max_length=20_000)
    still_broken: bool = False


class Proposal(ActionInput):
    remedy: Remedy


class Decision(ActionInput):
    decision: Literal["approve", "reject"]
    comment: str = Field("", max_length=5_000)


class ResolveCase(ActionInput):
    outcome: str = Field(min_length=1, max_length=5_000)
    root_cause: str | None = Field(
        None, max_length=64, description="One of the policy's `root_causes` (None: not given)"
    )
    avoidable: bool | None = Field(
        None, description="Whether the trigger was avoidable after all (None: as triaged)"
    )


class FeedbackAnswer(ActionInput):
    """The customer's answer through a check-in's feedback link (the API verified the link)."""

    key: str = Field(min_length=1, max_length=32, description="The check-in the link names")
    score: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=5_000)
    still_broken: bool = False


class CallbackPromise(ActionInput):
    at: datetime = Field(description="When the customer is called back (the promiser's hours)")
    note: str = Field("", max_length=2_000)


class CallbackDone(ActionInput):
    number: int = Field(ge=1, description="The callback's number on the case")
    note: str = Field("", max_length=2_000)


class ReassignCase(ActionInput):
    to: Person = Field(description="The new owner, as the API found them in the directory")
    reason: str = Field("", max_length=5_000)


class ChaseOwner(ActionInput):
    message: str = Field(min_length=1, max_length=5_000)


class ContributionRequest(ActionInput):
    team: str = Field(min_length=1, max_length=128)
    question: str = Field(min_length=1, max_length=5_000)
    within_h: float = Field(
        4, gt=0, le=24 * 30, description="Business hours the team has (on its own calendar)"
    )


class ContributionAnswer(ActionInput):
    number: int = Field(ge=1)
    answer: str = Field(min_length=1, max_length=20_000)


class SeverityChange(ActionInput):
    severity: Severity
    reason: str = Field("", max_length=5_000)


class AnswerQuestions(ActionInput):
    """The frontline's answers to the policy's capture questions, given after the opening (a
    case a system opened, or one migrated to a version that asks more)."""

    answers: Answers = Field(default_factory=dict)
    checklist: list[Annotated[str, StringConstraints(max_length=40)]] = Field(
        default_factory=list, max_length=10
    )


class EscalationAsk(ActionInput):
    """The customer asks for their case to be escalated ("I want this escalated")."""

    reason: str = Field(min_length=1, max_length=2_000)


class Reason(ActionInput):
    reason: str = Field("", max_length=5_000)


class OperatorRecord(ActionInput):
    """What an operator did to the case's workflow from outside it (an activity retried now,
    the workflow reset), for the timeline: the workflow cannot see those server calls."""

    action: Literal["activity_retried", "workflow_reset"]
    detail: str = Field("", max_length=5_000)
