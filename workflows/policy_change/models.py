"""The contracts of a policy change: the stored version as the API and activities see it, the
workflow's input, its updates and its status. One pydantic model per argument (fields may be
added with defaults; never renamed)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from workflows.models import Actor


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VersionState(StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    LIVE = "live"
    RETIRED = "retired"
    REJECTED = "rejected"


# Which state may follow which (the store refuses any other move).
STATE_MOVES: dict[VersionState, tuple[VersionState, ...]] = {
    VersionState.DRAFT: (VersionState.IN_REVIEW,),
    VersionState.IN_REVIEW: (VersionState.APPROVED, VersionState.REJECTED),
    VersionState.APPROVED: (VersionState.SCHEDULED, VersionState.LIVE),
    VersionState.SCHEDULED: (VersionState.LIVE, VersionState.SCHEDULED),  # or a new time
    VersionState.LIVE: (VersionState.RETIRED,),
    VersionState.RETIRED: (),
    VersionState.REJECTED: (),
}


class StoredVersion(Model):
    """One stored version of the policy (its text is immutable once out of draft)."""

    seq: int = Field(description="Order of creation; never re-used")
    version: str = Field(
        description="The policy's own `version`; never re-used", examples=["2026.12"]
    )
    digest: str = Field(description="SHA-256 of the text (hex)")
    author: str = Field(description="Person id of who wrote it ('config' for the seeded file)")
    note: str = Field("", description="The change note: what changes and why")
    state: VersionState = Field(
        description="draft, in_review, approved, scheduled, live, retired or rejected"
    )
    based_on: str | None = Field(None, description="The live version the draft was written against")
    change_id: str | None = Field(None, description="Workflow id of its PolicyChangeWorkflow")
    go_live_at: datetime | None = Field(None, description="When an approved change goes live")
    created_at: datetime = Field(description="When the draft was written")
    updated_at: datetime = Field(description="Its last change of text or state")
    live_at: datetime | None = Field(None, description="When it went live")
    retired_at: datetime | None = Field(None, description="When a newer version replaced it")
    text: str | None = Field(None, description="The policy as TOML (left out of lists)")


class VersionMove(Model):
    """Activity argument: move a stored version from one of `from_states` to `to`."""

    version: str
    to: VersionState
    from_states: list[VersionState]
    change_id: str | None = None
    go_live_at: datetime | None = None
    at: datetime | None = Field(None, description="Workflow time of the move (recorded)")


class ChangeStart(Model):
    """The input of PolicyChangeWorkflow (workflow id `policy-change-<version>`)."""

    version: str
    proposer: Actor
    author: str | None = Field(None, description="Person id of who wrote the draft (four eyes)")
    note: str = ""
    approvers: list[str] = Field(
        min_length=1, description="Roles that must each approve (from the live policy's [change])"
    )
    go_live_at: datetime | None = Field(None, description="None: at once when approved")
    reminder_every_h: float = Field(24, gt=0)
    signature: str | None = None


class ChangeDecision(Model):
    """An approver's decision (update `decide_change`)."""

    actor: Actor
    decision: Literal["approve", "reject"]
    comment: str = Field(min_length=1, max_length=2000)
    signature: str | None = None


class ChangeSchedule(Model):
    """Move the go-live time (update `schedule_change`); None: at once when approved."""

    actor: Actor
    go_live_at: datetime | None
    signature: str | None = None


class DecisionRecord(Model):
    role: str = Field(description="The approver role decided for", examples=["executive"])
    by: str = Field(description="Person id", examples=["p-executive"])
    by_name: str = Field(description="Person name", examples=["Eve Executive"])
    decision: Literal["approve", "reject"] = Field(description="approve or reject")
    comment: str = Field(description="Why", examples=["Breaches fall by a third"])
    at: datetime = Field(description="When")


class ChangeStatus(Model):
    """What the change workflow holds (query `status`, and the answer of every update)."""

    version: str = Field(description="The version under change", examples=["2026.12"])
    state: VersionState = Field(description="Its state in the store, as the change last moved it")
    proposer: str = Field(description="Person id of who proposed it", examples=["p-manager"])
    note: str = Field(description="The change note")
    approvers: list[str] = Field(description="Roles that must each approve")
    decisions: list[DecisionRecord] = Field(description="Every decision, oldest first")
    waiting_for: list[str] = Field(description="Approver roles that have not decided yet")
    go_live_at: datetime | None = Field(
        description="When it goes live once approved; null: at once"
    )
    reminders_sent: int = Field(0, description="Reminder rounds sent to undecided approvers")
    live_at: datetime | None = Field(None, description="When it went live")


class SimulationStart(Model):
    """The input of SimulationWorkflow (workflow id `policy-simulation-<id>`): replay the cases
    opened in [since, until) under `version` and under `against` (the live version)."""

    id: str
    version: str
    against: str
    since: datetime
    until: datetime
    signature: str | None = None


class SimulationDone(Model):
    id: str
    state: Literal["done", "failed"]
    cases: int = 0
