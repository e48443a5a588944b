"""/reports: counts across escalations. `GET /reports/summary` from Temporal's visibility store;
`GET /reports/<name>` the report store's reports as JSON or CSV (the console draws them as
charts, /console/reports; /reports/charts redirects there). Thin handlers over
api/reports/service.py, which the console calls too."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import access_doc, require
from api.deps import IsoTime, TemporalClient, time_window
from api.reports import service
from api.reports.schemas import ReportRows, SummaryReport
from api.reports.service import Filtered, Format, Store
from api.schemas import error_responses
from core.directory import DirectoryEntry
from core.report_store import queries as q
from workflows.access import Action

router = APIRouter(prefix="/reports", tags=["reports"])

Reader = Annotated[DirectoryEntry, Depends(require(Action.REPORTS))]
IntervalParam = Annotated[Literal["day", "week"], Query(description="Period of each row")]


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
    return await service.summary(client, since, until)


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
    return await service.answer(request, store, "volume", f, format, interval)


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
    return await service.answer(request, store, "avoidable", f, format, interval)


def _simple(name: str, summary: str, action: Action = Action.REPORTS) -> None:
    """A report without an interval: one route, its reader dependency from the access table."""

    async def route(
        request: Request,
        store: Store,
        f: Filtered,
        format: Format = None,
        _: DirectoryEntry = Depends(require(action)),  # noqa: B008 - the access table's row
    ) -> Response:
        return await service.answer(request, store, name, f, format)

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
