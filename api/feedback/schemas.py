"""Request and response models of /feedback."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from workflows.inputs import FeedbackFields

TOKEN_MAX = 512


# The answer's fields as the update takes them (workflows/inputs.py), minus the check-in and
# the actor, which the link names.
class FeedbackBody(FeedbackFields):
    pass


class FeedbackRequest(FeedbackBody):
    token: str = Field(
        min_length=1, max_length=TOKEN_MAX, description="The token of the check-in's link"
    )


class FeedbackReceipt(BaseModel):
    escalation_id: str = Field(examples=["E-3F2A9C0B7D1E4A55"])
    check_in: str = Field(description="The check-in answered", examples=["0.1"])
    score: int = Field(examples=[4])
    still_broken: bool = Field(examples=[False])
    being_worked_on: bool = Field(
        description="The case is (again) with the team: a low rating or `still_broken` "
        "reopened it, or it was already open",
        examples=[False],
    )
    recorded_at: datetime = Field(description="When the answer was recorded on the case")
