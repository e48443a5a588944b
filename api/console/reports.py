"""/console/reports: the report store's reports as charts, inside the console and its session.

The page is server-rendered (filters, one section per chart, each with its CSV link, which works
as a plain link with the session cookie); `static/reports.js` draws the charts from
`/console/reports/data/<name>` (the same rows as `GET /reports/<name>`, api/reports/service.py). Who
may read them is the access table's REPORTS row; the coaching chart's own row is checked apart.
The old token page, /reports/charts, redirects here (api/reports/router.py).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from api.console.pages import SignedIn, page
from api.errors import Forbidden
from api.reports import service as reports
from core.report_store import queries as q
from workflows.access import Action, role_refusal
from workflows.models import Channel, Severity, Trigger

router = APIRouter(prefix="/console/reports", include_in_schema=False)
PERIOD_DAYS = 84  # twelve weeks, today included

# name, title, unit (what the y axis counts), the access row that guards it
CHARTS: tuple[tuple[str, str, str, Action], ...] = (
    ("volume", "Escalations opened per week, by trigger", "escalations", Action.REPORTS),
    ("avoidable", "Avoidable share of escalations per week", "% of judged cases", Action.REPORTS),
    ("resolution", "Where cases were resolved", "cases", Action.REPORTS),
    ("sla", "SLA compliance per clock and severity", "% of clocks met", Action.REPORTS),
    ("stages", "Time spent in each stage", "hours (p50 and p90)", Action.REPORTS),
    ("approvals", "Approvals by level", "decisions", Action.REPORTS),
    ("root-causes", "Root causes", "cases", Action.REPORTS),
    ("feedback", "Customer feedback scores", "cases", Action.REPORTS),
    (
        "coaching",
        "Avoidable escalations per agent and trigger",
        "escalations",
        Action.REPORTS_COACHING,
    ),
)
ACCESS = {name: action for name, _, _, action in CHARTS}
INTERVAL = {"volume": "week", "avoidable": "week"}
FILTERS = ("team", "severity", "trigger", "channel")


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text) if text else default
    except ValueError:
        return default


def _period(request: Request) -> tuple[date, date]:
    """The page's days, `until` inclusive (the report store's `until` is the next midnight)."""
    today = datetime.now(UTC).date()
    until = _day(request.query_params.get("until"), today)
    since = _day(request.query_params.get("since"), until - timedelta(days=PERIOD_DAYS - 1))
    return (since, until) if since <= until else (until, since)


def _refusal(r: SignedIn, action: Action) -> str | None:
    return role_refusal(action, r.person.role)


@router.get("")
async def reports_page(request: Request, r: SignedIn) -> Response:
    if (why := _refusal(r, Action.REPORTS)) is not None:
        return page(request, "error.html", 403, person=r.person, csrf=r.csrf, error=Forbidden(why))
    since, until = _period(request)
    chosen = {k: request.query_params.get(k, "") for k in FILTERS}
    query = {
        "since": f"{since.isoformat()}T00:00:00Z",
        "until": f"{(until + timedelta(days=1)).isoformat()}T00:00:00Z",
        **{k: v for k, v in chosen.items() if v},
    }

    def data_url(name: str, **extra: str) -> str:
        interval = {"interval": INTERVAL[name]} if name in INTERVAL else {}
        return f"/console/reports/data/{name}?{urlencode({**query, **interval, **extra})}"

    charts = [
        {
            "name": name,
            "title": title,
            "unit": unit,
            "data": data_url(name),
            "csv": data_url(name, format="csv"),
            "refused": _refusal(r, action),
        }
        for name, title, unit, action in CHARTS
    ]
    policy = request.app.state.policy_file.get()
    return page(
        request,
        "reports.html",
        person=r.person,
        csrf=r.csrf,
        since=since,
        until=until,
        chosen=chosen,
        charts=charts,
        choices={
            "team": [t.name for t in policy.teams],
            "severity": get_args(Severity),
            "trigger": get_args(Trigger),
            "channel": get_args(Channel),
        },
    )


@router.get("/data/{name}")
async def report_rows(
    request: Request,
    name: str,
    r: SignedIn,
    f: Annotated[q.Filters, Depends(reports.filters)],
    store: reports.Store,
) -> Response:
    """A report's rows as JSON or CSV (`format=csv`), for the signed-in reader."""
    if name not in ACCESS:
        return Response("No such report.", 404, media_type="text/plain")
    if (why := _refusal(r, ACCESS[name])) is not None:
        raise Forbidden(why)
    fmt = request.query_params.get("format")
    interval = INTERVAL.get(name) and request.query_params.get("interval", INTERVAL[name])
    if interval not in (None, "day", "week"):
        interval = INTERVAL[name]
    return await reports.answer(request, store, name, f, fmt, interval)
