"""The reports' work, called by their router (api/reports/router.py) and by the console's charts
(api/console/reports.py): the summary counted on Temporal's visibility store (no workflow
queries), and the report store's reports (core/report_store) as JSON or CSV rows.

`summary` stays on Temporal's visibility store, as the contract describes it: it counts open
cases per stage, which the store is not the authority on, and it answers for cases that predate
the store (docs/decisions/0010-report-store.md).
"""

from __future__ import annotations

import asyncio
import csv
import io
import statistics
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from temporalio.client import Client
from temporalio.converter import decode_typed_search_attributes

from api.deps import IsoTime, time_window
from api.reports.schemas import ReportRows, SummaryReport
from api.temporal_errors import temporal_errors
from api.visibility import OPEN, count, decode_memo, list_page, visibility_query
from core.report_store import ReportStore
from core.report_store import queries as q
from workflows import search_attributes as sa
from workflows.models import Channel, Severity, Tier, Trigger
from workflows.stages import OPEN_STAGES

MEDIAN_SAMPLE = 5_000


def _as_utc(value: datetime) -> datetime:
    """A time without an offset is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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


async def summary(client: Client, since: datetime | None, until: datetime | None) -> SummaryReport:
    """The visibility counts over the escalations opened in [since, until)."""
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


async def get_store(request: Request) -> ReportStore:
    return request.app.state.report_store


Store = Annotated[ReportStore, Depends(get_store)]


# A text cell starting with one of these runs as a formula in a spreadsheet (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A cell as written to CSV: text that a spreadsheet would read as a formula gets a leading
    single quote; numbers (negative ones too) are written as the numbers they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


async def filters(
    since: Annotated[
        IsoTime | None,
        Query(description="Opened at or after (ISO 8601; no offset: UTC)"),
    ] = None,
    until: Annotated[IsoTime | None, Query(description="Opened before (ISO 8601)")] = None,
    team: Annotated[str | None, Query(max_length=128, description="Assigned team")] = None,
    severity: Annotated[Severity | None, Query()] = None,
    trigger: Annotated[Trigger | None, Query()] = None,
    channel: Annotated[Channel | None, Query(description="Where the customer came from")] = None,
) -> q.Filters:
    since, until = time_window(since, until)
    return q.Filters(since, until, team, severity, trigger, channel)


Filtered = Annotated[q.Filters, Depends(filters)]
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(description="csv: the rows as text/csv (as does `Accept: text/csv`)"),
]


async def answer(
    request: Request,
    store: ReportStore,
    name: str,
    f: q.Filters,
    fmt: str | None,
    interval: str | None = None,
) -> Response:
    args = (interval,) if interval else ()
    rows = await asyncio.to_thread(q.REPORTS[name], store, f, *args)
    columns = list(q.COLUMNS[name])
    wants_csv = fmt == "csv" or (
        fmt is None and "text/csv" in request.headers.get("accept", "").lower()
    )
    if wants_csv:
        out = io.StringIO()
        # RFC 4180 line ends: the writer then quotes a cell holding a bare carriage return too
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows({k: csv_cell(v) for k, v in row.items()} for row in rows)
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    applied = {
        k: str(getattr(f, k))
        for k in ("team", "severity", "trigger", "channel")
        if getattr(f, k) is not None
    }
    body = ReportRows(
        report=name,
        since=f.since,
        until=f.until,
        interval=interval,  # type: ignore[arg-type]
        filters=applied,
        columns=columns,
        rows=rows,
    )
    return JSONResponse(body.model_dump(mode="json"))
