"""/reports: counts across escalations from Temporal's visibility store (no workflow queries),
through the gateway (api/gateway.py)."""

from __future__ import annotations

import asyncio
import statistics
from datetime import UTC, datetime
from typing import Annotated, get_args

from fastapi import APIRouter, Depends, Query
from temporalio.client import Client
from temporalio.converter import decode_typed_search_attributes

from api.auth import access_doc, require
from api.deps import IsoTime, TemporalClient, time_window
from api.schemas import SummaryReport, error_responses
from api.temporal_errors import temporal_errors
from api.visibility import OPEN, count, decode_memo, list_page, visibility_query
from core.directory import DirectoryEntry
from workflows import search_attributes as sa
from workflows.access import Action
from workflows.models import Tier, Trigger
from workflows.stages import OPEN_STAGES

router = APIRouter(prefix="/reports", tags=["reports"])

MEDIAN_SAMPLE = 5_000
Reader = Annotated[DirectoryEntry, Depends(require(Action.REPORTS))]


def _as_utc(value: datetime) -> datetime:
    """A time without an offset is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else _as_utc(value)


def _rfc3339(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


async def _median_resolution_s(client: Client, window: list[str]) -> float | None:
    query = visibility_query(window + ["`ResolvedAt` IS NOT NULL"])
    durations: list[float] = []
    token = b""
    while len(durations) < MEDIAN_SAMPLE:
        resp = await list_page(client, query, min(1000, MEDIAN_SAMPLE - len(durations)), token)
        for info in resp.executions:
            resolved = decode_typed_search_attributes(info.search_attributes).get(sa.RESOLVED_AT)
            if resolved is None:
                continue
            memo = await decode_memo(client, info)
            try:
                opened = datetime.fromisoformat(memo["opened_at"])
            except (KeyError, TypeError, ValueError):
                opened = info.start_time.ToDatetime(tzinfo=UTC)
            took = _as_utc(resolved) - _as_utc(opened)
            durations.append(max(0.0, took.total_seconds()))
        token = resp.next_page_token
        if not token:
            break
    return statistics.median(durations) if durations else None


@router.get(
    "/summary",
    response_model=SummaryReport,
    summary="Escalation summary report",
    description=(
        "Counts over the escalations *opened* in `[since, until)` (both optional, ISO 8601; a "
        "time without an offset is UTC): per trigger, the avoidable share, where cases were "
        "resolved (tier1 / helpline / specialist / executive), SLA compliance (resolved within "
        "the resolution clock, over resolved cases that have that flag), median time to "
        "resolution and the open cases per stage. Computed from Temporal's visibility store, "
        "so it may lag live state by a moment.\n\n" + access_doc(Action.REPORTS)
    ),
    responses=error_responses(401, 403, 422, 503),
)
async def summary(
    _: Reader,
    client: TemporalClient,
    since: Annotated[
        IsoTime | None,
        Query(description="Opened at or after (ISO 8601)", examples=["2026-01-01T00:00:00Z"]),
    ] = None,
    until: Annotated[
        IsoTime | None,
        Query(description="Opened before (ISO 8601)", examples=["2026-02-01T00:00:00Z"]),
    ] = None,
) -> SummaryReport:
    since, until = time_window(since, until)
    window: list[str] = []
    if since:
        window.append(f"StartTime >= '{_rfc3339(since)}'")
    if until:
        window.append(f"StartTime < '{_rfc3339(until)}'")

    def q(*clauses: str) -> str:
        return visibility_query(window + list(clauses))

    triggers = get_args(Trigger)
    tiers = get_args(Tier)
    open_stages = [s.value for s in OPEN_STAGES]
    queries = (
        [q()]
        + [q(f"`Trigger` = '{t}'") for t in triggers]
        + [q("`Avoidable` = true"), q("`Avoidable` = false")]
        + [q(f"`ResolvedAtTier` = '{t}'") for t in tiers]
        + [q("`ResolvedWithinSla` = true"), q("`ResolvedWithinSla` = false")]
        + [q(OPEN, f"`EscalationStage` = '{s}'") for s in open_stages]
    )
    async with temporal_errors():
        counts, median = await asyncio.gather(
            asyncio.gather(*(count(client, query) for query in queries)),
            _median_resolution_s(client, window),
        )
    it = iter(counts)
    total = next(it)
    by_trigger = {t: next(it) for t in triggers}
    avoidable, unavoidable = next(it), next(it)
    resolved_at = {t: next(it) for t in tiers}
    within, outside = next(it), next(it)
    open_by_stage = {s: next(it) for s in open_stages}
    return SummaryReport(
        since=since,
        until=until,
        total=total,
        by_trigger=by_trigger,
        avoidable_share=avoidable / (avoidable + unavoidable) if avoidable + unavoidable else None,
        resolved_at=resolved_at,
        sla_compliance=within / (within + outside) if within + outside else None,
        median_time_to_resolution_s=median,
        open_by_stage=open_by_stage,
    )
