"""Request and response models of /policy/versions (the policy itself is
`workflows.policy.Policy`; a stored version, a change's status are the change workflow's own
models in workflows/policy_change/models.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from workflows.policy_change.models import ChangeStatus, StoredVersion

EXAMPLE_NOTE = "P3 resolution 24 h -> 20 h; billing team hours extended to 20:00"


class DraftRequest(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=200_000,
        description="The whole policy as TOML, with a `version` no stored version has",
        examples=['version = "2026.12"\ntitle = "..."\n# the rest of config/policy.toml'],
    )
    note: str = Field(
        "", max_length=2000, description="What changes and why", examples=[EXAMPLE_NOTE]
    )


class DraftEdit(BaseModel):
    text: str = Field(min_length=1, max_length=200_000, description="The draft's new text")
    note: str | None = Field(None, max_length=2000, description="A new note (None: keep)")


class ProposeRequest(BaseModel):
    go_live_at: datetime | None = Field(
        None,
        description="When the change goes live once every approver has approved (ISO 8601); "
        "null: at once when approved",
        examples=["2026-12-14T06:00:00Z"],
    )


class DecisionRequest(BaseModel):
    decision: Literal["approve", "reject"] = Field(description="approve or reject")
    comment: str = Field(min_length=1, max_length=2000, examples=["Figures look right"])


class ScheduleRequest(BaseModel):
    go_live_at: datetime | None = Field(
        description="The new go-live time; null: at once when approved",
        examples=["2026-12-15T06:00:00Z"],
    )


class VersionList(BaseModel):
    items: list[StoredVersion] = Field(description="Every version, newest first (no texts)")


class VersionDetail(BaseModel):
    version: StoredVersion = Field(description="The stored version, with its text")
    against: str | None = Field(description="The version the diff compares with")
    diff: str = Field(description="Unified diff (difflib) from `against` to this version")
    change: ChangeStatus | None = Field(
        description="Its change workflow: decisions, who is still to decide, go-live time"
    )
    simulation: dict[str, Any] | None = Field(
        None, description="Its latest finished simulation against the live version (the report)"
    )


class MigrationRequest(BaseModel):
    """Which cases in flight move to the version: the filters of `GET /escalations` (AND)."""

    stage: str | None = Field(None, examples=["specialist"])
    severity: Literal["P1", "P2", "P3", "P4"] | None = Field(None, description="Severity")
    customer_id: str | None = Field(None, description="Customer id", examples=["C-1001"])
    assignee: str | None = Field(None, description="Assignee (person id)")
    assigned_team: str | None = Field(None, description="Assigned specialist team")
    trigger: str | None = Field(None, description="Trigger", examples=["legal_threat"])
    breached: bool | None = Field(None, description="Cases with (true) or without a breach")
    limit: int = Field(100, ge=1, le=500, description="At most this many cases per call")
    reason: str = Field("", max_length=2000, examples=["P2 resolution target raised to 20 h"])


class MigrationRefusal(BaseModel):
    id: str = Field(description="Escalation id", examples=["E-3F2A9C0B7D1E4A55"])
    error: str = Field(examples=["conflict"])
    detail: str = Field(examples=["its stage specialist is with team x, which version y lacks"])


class MigrationResult(BaseModel):
    version: str = Field(description="The version the cases moved to", examples=["2026.12"])
    migrated: list[str] = Field(description="Ids of the cases now under the version")
    refused: list[MigrationRefusal] = Field(description="Cases left as they were, and why")
    more: bool = Field(description="More open cases matched than `limit`: call again")


class SimulationRequest(BaseModel):
    since: datetime = Field(
        description="Replay the cases opened from here (ISO 8601)",
        examples=["2026-11-02T00:00:00Z"],
    )
    until: datetime = Field(
        description="... up to here (excluded)", examples=["2026-11-09T00:00:00Z"]
    )


class SimulationView(BaseModel):
    id: str = Field(description="The simulation's id")
    version: str = Field(description="The version simulated", examples=["2026.12"])
    against: str = Field(description="The live version it is compared with")
    since: datetime = Field(description="Cases opened from here ...")
    until: datetime = Field(description="... up to here (excluded)")
    state: Literal["running", "done", "failed"] = Field(description="running, done or failed")
    cases_done: int = Field(description="Cases replayed so far (under both versions)")
    report: dict[str, Any] | None = Field(
        None,
        description="When done: `live` and `draft` figures side by side (SLA met, breached and "
        "compliance per clock, team and severity; breaches; resolved at each tier; sign-offs per "
        "authority level; goodwill granted; peak open cases per team; `unknowable` cases) and "
        "`cannot_know`: what a replay of recorded human actions cannot know",
    )
    requested_by: str = Field(description="Person id of who started it")
    started_at: datetime = Field(description="When it started")
    finished_at: datetime | None = Field(None, description="When it finished")
