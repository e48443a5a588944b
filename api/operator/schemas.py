"""Request and response models of the operators' levers (/escalations/{id}/operator/...)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from api.schemas import Body

Why = Field(min_length=1, max_length=5_000, description="Why (kept in the timeline)")


class OperatorReason(Body):
    reason: str = Why


class RetryActivityBody(Body):
    reason: str = Why
    activity_id: str | None = Field(
        None,
        max_length=200,
        description="The pending activity to retry (GET .../operator/activities); may be left "
        "out when exactly one is pending",
    )


class PendingActivity(BaseModel):
    activity_id: str = Field(description="Its id in the workflow (name it to retry it)")
    activity_type: str = Field(description="What it does", examples=["customer_history"])
    state: str = Field(description="scheduled, started, cancel_requested or paused")
    attempt: int = Field(description="The attempt running or next to run (1 = the first)")
    last_failure: str | None = Field(None, description="The last attempt's failure message")
    next_attempt_at: str | None = Field(
        None, description="When the next attempt runs, while it waits on its retry backoff"
    )


class PendingActivities(BaseModel):
    items: list[PendingActivity] = Field(description="The workflow's pending activities")
