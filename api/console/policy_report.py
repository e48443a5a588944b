"""A simulation report (core/policy_sim/load.py) as the console's side-by-side tables: one row per
figure, the live policy's value beside the draft's, and the difference where it is a number."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Row:
    label: str
    live: str
    draft: str
    change: str = ""


@dataclass(frozen=True)
class Table:
    title: str
    rows: list[Row]


def _num(x: float | None) -> str:
    return "–" if x is None else f"{x:g}"


def _delta(a: float | None, b: float | None, unit: str = "") -> str:
    if a is None or b is None or a == b:
        return "" if a == b else "–"
    return f"{b - a:+g}{unit}"


def _compliance(row: dict[str, Any] | None) -> tuple[str, float | None]:
    if row is None:
        return "–", None
    c = row["compliance"]
    pct = None if c is None else round(c * 100, 1)
    text = f"{_num(pct)} %" if pct is not None else "no clock ended"
    return f"{text} ({row['met']} met, {row['breached']} breached)", pct


def _sla(live: dict[str, Any], draft: dict[str, Any]) -> Table:
    def key(r: dict[str, Any]) -> tuple[str, str, str]:
        return (r["clock"], r["team"] or "frontline and help line", r["severity"] or "?")

    a = {key(r): r for r in live.get("sla", [])}
    b = {key(r): r for r in draft.get("sla", [])}
    rows = []
    for k in sorted(a.keys() | b.keys()):
        (lt, lp), (dt, dp) = _compliance(a.get(k)), _compliance(b.get(k))
        rows.append(Row(f"{k[0]} · {k[1]} · {k[2]}", lt, dt, _delta(lp, dp, " points")))
    return Table("SLA compliance per clock, team and severity", rows)


def _counts(title: str, live: dict[str, float], draft: dict[str, float]) -> Table:
    rows = [
        Row(k, _num(live.get(k, 0)), _num(draft.get(k, 0)), _delta(live.get(k, 0), draft.get(k, 0)))
        for k in sorted(live.keys() | draft.keys())
    ]
    return Table(title, rows or [Row("none", "0", "0")])


def tables(report: dict[str, Any]) -> list[Table]:
    live, draft = report["live"], report["draft"]

    def one(label: str, name: str) -> Row:
        return Row(label, _num(live[name]), _num(draft[name]), _delta(live[name], draft[name]))

    return [
        Table(
            "Cases and breaches",
            [
                one("Cases replayed", "cases"),
                one("Cases the simulation cannot judge (left out below)", "unknowable"),
                one("SLA breaches (all clocks)", "breaches"),
                one("Goodwill granted", "goodwill_granted"),
            ],
        ),
        _sla(live, draft),
        _counts("Escalations resolved at each tier", live["resolved_at"], draft["resolved_at"]),
        _counts("Sign-offs per authority level", live["signoffs"], draft["signoffs"]),
        _counts("Peak open cases per team", live["peak_open"], draft["peak_open"]),
    ]
