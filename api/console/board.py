"""The figures at the top of the manager's board: what a manager looks for first, each a number,
a small chart and a link to the list (or report) behind it.

Open, breached, at risk and waiting on sign-off are visibility counts with the same clauses as
the case list they link to, so a figure and its list agree. The week's volume and the month's
SLA compliance come from the report store, which also holds the cases that have ended; they link
to the reports page filtered to the same days. Weeks are ISO weeks in UTC and months UTC
calendar months, as the report store buckets them (core/report_store).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import get_args
from urllib.parse import urlencode

from temporalio.client import Client

from api import visibility
from core.report_store import ReportStore
from core.report_store import queries as q
from workflows import search_attributes as sa
from workflows.models import Severity

SEVERITIES: tuple[str, ...] = get_args(Severity)


@dataclass
class Bar:
    label: str
    value: float
    text: str  # the value as read aloud and printed beside the bar


@dataclass
class Figure:
    key: str
    title: str
    value: str  # the headline number, already in words ("12", "87 %", "no data")
    href: str
    detail: str = ""
    bars: list[Bar] = field(default_factory=list)
    scale: float = 0.0  # the value of a full-width bar (0: the largest bar's)
    alarm: bool = False


def cases_link(filters: dict[str, str | bool]) -> str:
    """The open-case list with these filters (the console's query parameters)."""
    words = {k: str(v).lower() if isinstance(v, bool) else v for k, v in filters.items()}
    return "/console/cases?" + urlencode({"status": "open", **words})


def reports_link(since: date, until: date, anchor: str) -> str:
    return f"/console/reports?{urlencode({'since': since, 'until': until})}#{anchor}"


# The list behind each visibility figure: the case list's filters (open cases only).
LISTS: dict[str, dict[str, str | bool]] = {
    "open": {},
    "breached": {"breached": True},
    "at_risk": {"attention": sa.AT_RISK, "breached": False},
    "signoff": {"stage": "executive_signoff"},
}


async def _count(client: Client, filters: dict[str, str | bool]) -> int:
    clauses = visibility.filter_clauses(status="open", **filters)  # type: ignore[arg-type]
    return await visibility.count(client, visibility.visibility_query(clauses))


def _week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def _month_start(d: date) -> date:
    return d.replace(day=1)


def _at(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=UTC)


def _opened(store: ReportStore, since: date, until: date) -> int:
    """Escalations opened from `since` up to and including `until`."""
    f = q.Filters(since=_at(since), until=_at(until + timedelta(days=1)))
    return int(q.summary(store, f)["escalations"])


def _compliance(store: ReportStore, since: date, until: date) -> tuple[int, int]:
    """Clocks met and breached, both clocks, of the cases opened in those days."""
    f = q.Filters(since=_at(since), until=_at(until + timedelta(days=1)))
    rows = q.sla(store, f)
    return sum(r["met"] for r in rows), sum(r["breached"] for r in rows)


def _pct(met: int, breached: int) -> float | None:
    return 100 * met / (met + breached) if met + breached else None


def _share(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)} % of open cases" if whole else "no open cases"


@dataclass(frozen=True)
class StoredFigures:
    """The board's figures that come from the report store, for the UTC day `today`."""

    week: date  # this week's Monday
    month: date  # this month's first day
    opened_this_week: int  # Monday to today, both included
    opened_last_week: int
    clocks_this_month: tuple[int, int]  # (met, breached)
    clocks_last_month: tuple[int, int]


def stored_figures(store: ReportStore, today: date) -> StoredFigures:
    week, month = _week_start(today), _month_start(today)
    last_month = _month_start(month - timedelta(days=1))
    return StoredFigures(
        week,
        month,
        _opened(store, week, today),
        _opened(store, week - timedelta(days=7), week - timedelta(days=1)),
        _compliance(store, month, today),
        _compliance(store, last_month, month - timedelta(days=1)),
    )


async def board_figures(
    client: Client, store: ReportStore, now: datetime | None = None
) -> list[Figure]:
    today = (now or datetime.now(UTC)).astimezone(UTC).date()
    (open_, breached, at_risk, signoff, *by_severity), st = await asyncio.gather(
        asyncio.gather(
            *(_count(client, f) for f in LISTS.values()),
            *(_count(client, {"severity": s}) for s in SEVERITIES),
        ),
        asyncio.to_thread(stored_figures, store, today),
    )
    week, month = st.week, st.month
    this_week, prev_week = st.opened_this_week, st.opened_last_week
    (met, missed), (met_before, missed_before) = st.clocks_this_month, st.clocks_last_month
    pct, pct_before = _pct(met, missed), _pct(met_before, missed_before)

    def share_bar(label: str, n: int) -> list[Bar]:
        rest = max(open_ - n, 0)  # two counts a moment apart
        return [Bar(label, n, str(n)), Bar("other open cases", rest, str(rest))]

    def pct_text(p: float | None) -> str:
        return "–" if p is None else f"{p:.0f} %"

    def clocks(met: int, missed: int) -> str:
        return f"{met} clocks met, {missed} breached" if met + missed else "no clock ended"

    return [
        Figure(
            "open",
            "Open cases",
            str(open_),
            cases_link(LISTS["open"]),
            "by severity",
            [Bar(s, n, str(n)) for s, n in zip(SEVERITIES, by_severity, strict=True)],
        ),
        Figure(
            "breached",
            "Breached",
            str(breached),
            cases_link(LISTS["breached"]),
            _share(breached, open_),
            share_bar("breached", breached),
            open_,
            alarm=breached > 0,
        ),
        Figure(
            "at_risk",
            "At risk",
            str(at_risk),
            cases_link(LISTS["at_risk"]),
            "over 75 % of a clock used; " + _share(at_risk, open_),
            share_bar("at risk", at_risk),
            open_,
        ),
        Figure(
            "signoff",
            "Waiting on sign-off",
            str(signoff),
            cases_link(LISTS["signoff"]),
            _share(signoff, open_),
            share_bar("sign-off", signoff),
            open_,
        ),
        Figure(
            "week",
            "Opened this week",
            str(this_week),
            reports_link(week - timedelta(days=7), today, "volume"),
            f"since Monday {week:%d %b} (UTC); last week {prev_week}",
            [
                Bar("this week so far", this_week, str(this_week)),
                Bar("last week", prev_week, str(prev_week)),
            ],
        ),
        Figure(
            "sla",
            "SLA compliance this month",
            pct_text(pct),
            reports_link(month, today, "sla"),
            f"since {month:%d %b}: {clocks(met, missed)}; last month {pct_text(pct_before)}",
            [
                Bar("this month", pct or 0, pct_text(pct)),
                Bar("last month", pct_before or 0, pct_text(pct_before)),
            ],
            100,
            alarm=pct is not None and pct_before is not None and pct < pct_before,
        ),
    ]
