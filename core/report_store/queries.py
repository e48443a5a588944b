"""The reports, as queries over the store. Each returns rows (a list of flat dicts, the same
columns whatever the data, so the API can answer JSON or CSV) for the cases *opened* in
`[since, until)` that match the filters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Integer, and_, case, cast, func, literal, select

from core.report_store import ReportStore, utc
from core.report_store.schema import cases, events, stage_visits

Row = dict[str, Any]
Interval = Literal["day", "week"]
TIERS = ("tier1", "helpline", "specialist", "executive")
STAGE_ORDER = (
    "triage",
    "helpline_consult",
    "specialist",
    "executive_signoff",
    "resolved",
    "follow_up",
)


@dataclass(frozen=True)
class Filters:
    since: datetime | None = None
    until: datetime | None = None
    team: str | None = None
    severity: str | None = None
    trigger: str | None = None
    channel: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        c = cases.c
        out: list[ColumnElement[bool]] = []
        if self.since is not None:
            out.append(c.opened_at >= utc(self.since))
        if self.until is not None:
            out.append(c.opened_at < utc(self.until))
        for col, value in (
            (c.team, self.team),
            (c.severity, self.severity),
            (c.trigger, self.trigger),
            (c.channel, self.channel),
        ):
            if value is not None:
                out.append(col == value)
        return out


def _n(expr: ColumnElement[bool]) -> Any:
    """How many rows meet `expr`."""
    return func.sum(case((expr, 1), else_=0))


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _money(v: Any) -> float:
    return round(float(v or 0), 2)


def _int(v: Any) -> int:
    """A SUM over no rows is NULL."""
    return int(v or 0)


def volume(store: ReportStore, f: Filters, interval: Interval = "day") -> list[Row]:
    """Escalations opened per day or week, per trigger."""
    bucket = cases.c.opened_day if interval == "day" else cases.c.opened_week
    q = (
        select(bucket, cases.c.trigger, func.count())
        .where(*f.clauses())
        .group_by(bucket, cases.c.trigger)
        .order_by(bucket, cases.c.trigger)
    )
    with store.engine.connect() as conn:
        return [{"period": p, "trigger": t, "escalations": n} for p, t, n in conn.execute(q)]


def avoidable(store: ReportStore, f: Filters, interval: Interval = "week") -> list[Row]:
    """Per day or week: avoidable, unavoidable and not yet judged; the avoidable share of the
    judged ones."""
    bucket = cases.c.opened_day if interval == "day" else cases.c.opened_week
    q = (
        select(
            bucket,
            func.count(),
            _n(cases.c.avoidable.is_(True)),
            _n(cases.c.avoidable.is_(False)),
        )
        .where(*f.clauses())
        .group_by(bucket)
        .order_by(bucket)
    )
    with store.engine.connect() as conn:
        rows = [(p, _int(n), _int(a), _int(u)) for p, n, a, u in conn.execute(q)]
    return [
        {
            "period": p,
            "escalations": n,
            "avoidable": a,
            "unavoidable": u,
            "avoidable_share": _share(a, a + u),
        }
        for p, n, a, u in rows
    ]


def resolution(store: ReportStore, f: Filters) -> list[Row]:
    """Where resolved cases were resolved; `avoided_further` is how many stopped before the
    specialist (tier 1 and the help line: what the first two steps saved)."""
    q = (
        select(cases.c.resolved_tier, func.count())
        .where(cases.c.resolved_tier.is_not(None), *f.clauses())
        .group_by(cases.c.resolved_tier)
    )
    with store.engine.connect() as conn:
        counts: dict[str, int] = {str(t): _int(n) for t, n in conn.execute(q)}
    total = sum(counts.values())
    return [
        {"tier": t, "cases": counts.get(t, 0), "share": _share(counts.get(t, 0), total)}
        for t in TIERS
    ]


def sla(store: ReportStore, f: Filters) -> list[Row]:
    """Per clock, team and severity: clocks met (stopped in time) and breached; compliance is
    met / (met + breached). Clocks still running unbreached count in neither."""
    out: list[Row] = []
    with store.engine.connect() as conn:
        for clock, met_at, breached in (
            ("first_response", cases.c.fr_met_at, cases.c.fr_breached),
            ("resolution", cases.c.res_met_at, cases.c.res_breached),
        ):
            met = and_(met_at.is_not(None), breached.is_(False))
            q = (
                select(cases.c.team, cases.c.severity, _n(met), _n(breached.is_(True)))
                .where(*f.clauses())
                .group_by(cases.c.team, cases.c.severity)
                .order_by(cases.c.team, cases.c.severity)
            )
            for team, severity, m_, b_ in conn.execute(q):
                m, b = _int(m_), _int(b_)
                if m + b == 0:
                    continue
                out.append(
                    {
                        "clock": clock,
                        "team": team or "",
                        "severity": severity or "",
                        "met": m,
                        "breached": b,
                        "compliance": _share(m, m + b),
                    }
                )
    return out


def _rank(n: int, p: int) -> int:
    """Nearest rank: the smallest rank r (1-based) with r / n >= p / 100."""
    return -(-n * p // 100)


def stages(store: ReportStore, f: Filters) -> list[Row]:
    """Time spent in each stage (visits that ended), p50 and p90 in seconds (nearest rank)."""
    v = stage_visits.c
    clauses = f.clauses()
    found: list[tuple[str, int, float, float]] = []
    with store.engine.connect() as conn:
        if not clauses:
            # Over everything: the two ranks read straight off the (stage, seconds) index.
            ended = select(v.stage, func.count()).where(v.seconds.is_not(None)).group_by(v.stage)
            for stage_, n_ in conn.execute(ended).all():
                stage, n = str(stage_), int(n_)  # type: ignore[call-overload]

                def nth(k: int, stage: str = stage) -> float:
                    q = (
                        select(v.seconds)
                        .where(v.stage == stage, v.seconds.is_not(None))
                        .order_by(v.seconds)
                        .limit(1)
                        .offset(k - 1)
                    )
                    return float(conn.execute(q).scalar_one())

                found.append((stage, n, nth(_rank(n, 50)), nth(_rank(n, 90))))
        else:
            # A filtered share of the cases: their visits are few enough to rank here.
            q = (
                select(v.stage, v.seconds)
                .select_from(stage_visits.join(cases, cases.c.escalation_id == v.escalation_id))
                .where(v.seconds.is_not(None), *clauses)
            )
            per_stage: dict[str, list[float]] = {}
            for name, seconds in conn.execute(q):
                per_stage.setdefault(str(name), []).append(float(seconds))  # type: ignore[arg-type]
            for stage, values in per_stage.items():
                values.sort()
                n = len(values)
                found.append((stage, n, values[_rank(n, 50) - 1], values[_rank(n, 90) - 1]))

    def order(row: tuple[str, int, float, float]) -> int:
        return STAGE_ORDER.index(row[0]) if row[0] in STAGE_ORDER else len(STAGE_ORDER)

    return [
        {"stage": s, "visits": n, "p50_s": p50, "p90_s": p90}
        for s, n, p50, p90 in sorted(found, key=order)
    ]


def approvals(store: ReportStore, f: Filters) -> list[Row]:
    """Sign-off decisions per approver level (role): granted, rejected, and the goodwill granted
    (sum and largest single amount) against what the customers asked for."""
    e = events.c
    granted = e.action == "approval_granted"
    q = (
        select(
            e.role,
            _n(granted),
            _n(e.action == "approval_rejected"),
            func.coalesce(func.sum(case((granted, cases.c.granted_amount))), 0.0),
            func.max(case((granted, cases.c.granted_amount))),
            func.coalesce(func.sum(case((granted, cases.c.requested_amount))), 0.0),
        )
        .select_from(events.join(cases, cases.c.escalation_id == e.escalation_id))
        .where(e.action.in_(("approval_granted", "approval_rejected")), *f.clauses())
        .group_by(e.role)
        .order_by(e.role)
    )
    with store.engine.connect() as conn:
        return [
            {
                "level": role,
                "granted": g,
                "rejected": rj,
                "amount_granted": _money(amount),
                "largest_granted": largest,
                "amount_requested": _money(asked),
            }
            for role, g, rj, amount, largest, asked in conn.execute(q)
        ]


def feedback(store: ReportStore, f: Filters) -> list[Row]:
    """Customer feedback scores given (how many cases per score)."""
    q = (
        select(cases.c.feedback_score, func.count())
        .where(cases.c.feedback_score.is_not(None), *f.clauses())
        .group_by(cases.c.feedback_score)
        .order_by(cases.c.feedback_score)
    )
    with store.engine.connect() as conn:
        return [{"score": s, "cases": n} for s, n in conn.execute(q)]


def root_causes(store: ReportStore, f: Filters) -> list[Row]:
    """Root causes recorded, most frequent first, with how many of those cases were avoidable."""
    n = func.count().label("n")
    q = (
        select(cases.c.root_cause, n, _n(cases.c.avoidable.is_(True)))
        .where(cases.c.root_cause.is_not(None), *f.clauses())
        .group_by(cases.c.root_cause)
        .order_by(n.desc(), cases.c.root_cause)
    )
    with store.engine.connect() as conn:
        return [{"root_cause": r, "cases": c, "avoidable": a} for r, c, a in conn.execute(q)]


def coaching(store: ReportStore, f: Filters) -> list[Row]:
    """Avoidable escalations per opening agent and trigger, most first: who needs coaching on
    which trigger."""
    n = func.count().label("n")
    q = (
        select(cases.c.opened_by_id, cases.c.opened_by_name, cases.c.trigger, n)
        .where(cases.c.avoidable.is_(True), *f.clauses())
        .group_by(cases.c.opened_by_id, cases.c.opened_by_name, cases.c.trigger)
        .order_by(n.desc(), cases.c.opened_by_id, cases.c.trigger)
    )
    with store.engine.connect() as conn:
        return [
            {"agent_id": a, "agent": name, "trigger": t, "avoidable_escalations": c}
            for a, name, t, c in conn.execute(q)
        ]


def summary(store: ReportStore, f: Filters) -> Row:
    """The headline figures of the digest: volume, avoidable share, breaches."""
    q = select(
        func.count(),
        _n(cases.c.avoidable.is_(True)),
        _n(cases.c.avoidable.is_(False)),
        func.coalesce(
            func.sum(cast(cases.c.fr_breached, Integer) + cast(cases.c.res_breached, Integer)),
            literal(0),
        ),
    ).where(*f.clauses())
    with store.engine.connect() as conn:
        total, a_, u_, breaches = conn.execute(q).one()
    a, u = _int(a_), _int(u_)
    return {
        "escalations": _int(total),
        "avoidable": a,
        "avoidable_share": _share(a, a + u),
        "breaches": _int(breaches),
    }


COLUMNS: dict[str, tuple[str, ...]] = {
    "volume": ("period", "trigger", "escalations"),
    "avoidable": ("period", "escalations", "avoidable", "unavoidable", "avoidable_share"),
    "resolution": ("tier", "cases", "share"),
    "sla": ("clock", "team", "severity", "met", "breached", "compliance"),
    "stages": ("stage", "visits", "p50_s", "p90_s"),
    "approvals": (
        "level",
        "granted",
        "rejected",
        "amount_granted",
        "largest_granted",
        "amount_requested",
    ),
    "feedback": ("score", "cases"),
    "root-causes": ("root_cause", "cases", "avoidable"),
    "coaching": ("agent_id", "agent", "trigger", "avoidable_escalations"),
}

REPORTS: dict[str, Callable[..., list[Row]]] = {
    "volume": volume,
    "avoidable": avoidable,
    "resolution": resolution,
    "sla": sla,
    "stages": stages,
    "approvals": approvals,
    "feedback": feedback,
    "root-causes": root_causes,
    "coaching": coaching,
}
