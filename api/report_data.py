"""/reports/<name>: the reports over the report store (core/report_store), as JSON or CSV. The
console draws them as charts (/console/reports; /reports/charts redirects there).

`GET /reports/summary` (api/reports.py) stays on Temporal's visibility store, as the contract
describes it: it counts open cases per stage, which the store is not the authority on, and it
answers for cases that predate the store (docs/decisions/0010-report-store.md).
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from api.auth import access_doc, require
from api.deps import IsoTime, time_window
from api.schemas import error_responses
from core.directory import DirectoryEntry
from core.report_store import ReportStore
from core.report_store import queries as q
from workflows.access import Action
from workflows.models import Channel, Severity, Trigger

router = APIRouter(prefix="/reports", tags=["reports"])


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


async def get_store(request: Request) -> ReportStore:
    return request.app.state.report_store


Store = Annotated[ReportStore, Depends(get_store)]
Reader = Annotated[DirectoryEntry, Depends(require(Action.REPORTS))]


# A text cell starting with one of these runs as a formula in a spreadsheet (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A cell as written to CSV: text that a spreadsheet would read as a formula gets a leading
    single quote; numbers (negative ones too) are written as the numbers they are."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


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
IntervalParam = Annotated[Literal["day", "week"], Query(description="Period of each row")]


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


CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "model": ReportRows,
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "The rows (JSON), or the same rows as CSV with a header line",
    },
    **error_responses(401, 403, 422),
}


def _doc(name: str, action: Action = Action.REPORTS) -> str:
    text = (q.REPORTS[name].__doc__ or "").strip().replace("\n    ", " ")
    return (
        f"{text}\n\nOver the escalations *opened* in `[since, until)` that match the filters, "
        "from the report store. Columns: "
        + ", ".join(f"`{c}`" for c in q.COLUMNS[name])
        + ".\n\n"
        + access_doc(action)
    )


@router.get(
    "/volume",
    summary="Escalations per day or week, by trigger",
    responses=CSV_DOC,
    description=_doc("volume"),
    response_model=ReportRows,
)
async def volume(
    _: Reader,
    request: Request,
    store: Store,
    f: Filtered,
    format: Format = None,
    interval: IntervalParam = "day",
) -> Response:
    return await answer(request, store, "volume", f, format, interval)


@router.get(
    "/avoidable",
    summary="Avoidable share over time",
    responses=CSV_DOC,
    description=_doc("avoidable"),
    response_model=ReportRows,
)
async def avoidable(
    _: Reader,
    request: Request,
    store: Store,
    f: Filtered,
    format: Format = None,
    interval: IntervalParam = "week",
) -> Response:
    return await answer(request, store, "avoidable", f, format, interval)


def _simple(name: str, summary: str, action: Action = Action.REPORTS) -> None:
    """A report without an interval: one route, its reader dependency from the access table."""

    async def route(
        request: Request,
        store: Store,
        f: Filtered,
        format: Format = None,
        _: DirectoryEntry = Depends(require(action)),  # noqa: B008 - the access table's row
    ) -> Response:
        return await answer(request, store, name, f, format)

    route.__name__ = name.replace("-", "_")
    router.get(
        f"/{name}",
        summary=summary,
        description=_doc(name, action),
        responses=CSV_DOC,
        response_model=ReportRows,
    )(route)


_simple("resolution", "Where cases were resolved")
_simple("sla", "SLA compliance per clock, team and severity")
_simple("stages", "Time spent in each stage (p50, p90)")
_simple("approvals", "Approvals by level and goodwill granted")
_simple("feedback", "Customer feedback scores")
_simple("root-causes", "Root causes")
_simple("coaching", "Avoidable escalations per agent and trigger", Action.REPORTS_COACHING)


@router.get("/charts", include_in_schema=False)
async def charts(request: Request) -> RedirectResponse:
    """The old charts page, which asked for a token: the charts are in the console now
    (api/console/reports.py, its session), and old links land there."""
    query = request.url.query
    return RedirectResponse("/console/reports" + (f"?{query}" if query else ""), status_code=301)
