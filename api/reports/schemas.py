"""Response models of /reports: the visibility summary and the report store's rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class SummaryReport(BaseModel):
    since: datetime | None = Field(None, description="Window start (opened at or after)")
    until: datetime | None = Field(None, description="Window end (opened before)")
    total: int = Field(description="Escalations opened in the window", examples=[42])
    by_trigger: dict[str, int] = Field(
        description="Escalations per trigger",
        examples=[{"customer_request": 30, "legal_threat": 2}],
    )
    avoidable_share: float | None = Field(
        description="Share (0..1) of triaged escalations whose trigger is avoidable; null when "
        "none was triaged",
        examples=[0.62],
    )
    resolved_at: dict[str, int] = Field(
        description="Resolved escalations per tier", examples=[{"tier1": 9, "executive": 1}]
    )
    sla_compliance: float | None = Field(
        description="Share (0..1) of resolved escalations resolved within their resolution "
        "clock; null when none was resolved",
        examples=[0.9],
    )
    median_time_to_resolution_s: float | None = Field(
        description="Median wall-clock seconds from opening to resolution (up to the "
        "5,000 most recently opened resolved cases); null when none",
        examples=[5400.0],
    )
    open_by_stage: dict[str, int] = Field(
        description="Escalations still running, per stage", examples=[{"specialist": 4}]
    )


class ReportRows(BaseModel):
    report: str = Field(description="Which report", examples=["volume"])
    since: datetime | None = Field(None, description="Opened at or after")
    until: datetime | None = Field(None, description="Opened before")
    interval: Literal["day", "week"] | None = Field(
        None, description="The period of each row (time series only)"
    )
    filters: dict[str, str] = Field(description="The filters applied", examples=[{"team": "x"}])
    columns: list[str] = Field(description="The columns of every row, in order (and of the CSV)")
    rows: list[dict[str, Any]] = Field(description="One object per row, keyed by `columns`")
