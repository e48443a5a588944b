"""What the customer's status page says, as JSON for a program and the page's own model."""

from __future__ import annotations

from datetime import datetime, time

from pydantic import BaseModel, Field


class DayHours(BaseModel):
    day: str = Field(examples=["Monday"])
    opens: time | None = Field(None, description="None: closed that day", examples=["09:00"])
    closes: time | None = Field(None, description="Closing time, local", examples=["17:30"])


class Hours(BaseModel):
    who: str = Field(description="Whose hours", examples=["Our billing specialists"])
    timezone: str = Field(examples=["Europe/London"])
    round_the_clock: bool = Field(False, description="Open every hour of every day")
    days: list[DayHours] = Field(default_factory=list, description="Monday to Sunday")


class CustomerEntry(BaseModel):
    at: datetime = Field(description="When it happened")
    what: str = Field(description="What happened, in the words meant for the customer")


class CustomerStatus(BaseModel):
    escalation_id: str = Field(examples=["E-3F2A9C0B7D1E4A55"])
    summary: str = Field(examples=["Charged twice for March"])
    stage: str = Field(description="The stage's name", examples=["specialist"])
    where: str = Field(
        description="Where the case stands, in plain words",
        examples=["A specialist in our billing team is working on it."],
    )
    who: str = Field(description="The team that has it (never a person)", examples=["billing"])
    promise_at: datetime | None = Field(None, description="When we promised to resolve it")
    next_answer_by: datetime | None = Field(None, description="When our first answer is due")
    outcome: str | None = Field(None, description="How it was resolved, once it is")
    open: bool = Field(description="Still being worked on (information can be added)")
    resolved: bool = Field(description="Resolved (the customer may say it is still broken)")
    hours: Hours = Field(description="The hours of the team that has the case")
    timeline: list[CustomerEntry] = Field(description="Oldest first")
    link_expires_at: datetime = Field(description="Until when this page's link opens it")
    escalation_asked_at: datetime | None = Field(
        None,
        description="When the customer asked for escalation (shown instead of the button "
        "for an hour: the escalations manager has the request)",
    )
    can_ask_escalation: bool = Field(False, description='The page offers "I want this escalated"')


class AddedInformation(BaseModel):
    model_config = {"extra": "forbid"}

    message: str = Field(min_length=1, max_length=5_000, examples=["The second charge is back."])
    still_broken: bool = Field(
        False, description="After resolution: the problem is back (reopens the case)"
    )


class EscalationAskBody(BaseModel):
    model_config = {"extra": "forbid"}

    reason: str = Field(
        min_length=1,
        max_length=2_000,
        description="Why the customer wants it escalated, in their words",
        examples=["Nobody has called me back in three days."],
    )


class SeverityTargets(BaseModel):
    severity: str = Field(examples=["P3"])
    first_response_h: float = Field(description="Business hours to our first answer")
    resolution_h: float = Field(description="Business hours to resolution")
    round_the_clock: bool = Field(description="Counted on every hour of every day")


class PublicHours(BaseModel):
    channels: list[str] = Field(description="Where a customer may escalate")
    teams: list[Hours] = Field(description="The support team's and each specialist team's hours")
    targets: list[SeverityTargets] = Field(description="Per severity, for every customer tier")
    policy_version: str = Field(description="The live policy these come from")
