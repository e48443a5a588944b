"""The weekly digest's figures and text (activity ``weekly_digest_text``), from the report store:
the week just ended against the week before: volume, avoidable share, SLA breaches, the top
triggers and root causes."""

from __future__ import annotations

import asyncio
from collections import Counter

from temporalio import activity

from core.report_store import ReportStore
from core.report_store import queries as q
from workflows.digest_week import DigestText, DigestWeek

TOP = 3


def _figures(store: ReportStore, f: q.Filters) -> dict:
    triggers: Counter[str] = Counter()
    for row in q.volume(store, f, "week"):
        triggers[row["trigger"]] += row["escalations"]
    causes = {r["root_cause"]: r["cases"] for r in q.root_causes(store, f)}
    return {**q.summary(store, f), "triggers": triggers, "causes": causes}


def _share(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.0%}"


def _change(now: int, before: int) -> str:
    return f"{now - before:+d}"


def digest_text(store: ReportStore, week: DigestWeek) -> DigestText:
    this = _figures(store, q.Filters(since=week.since, until=week.until))
    last = _figures(store, q.Filters(since=week.previous, until=week.since))
    start = week.since.date().isoformat()
    lines = [
        f"Escalations opened in the week of {start} (against the week before):",
        "",
        f"- Volume: {this['escalations']} ({_change(this['escalations'], last['escalations'])};"
        f" {last['escalations']} the week before)",
        f"- Avoidable share: {_share(this['avoidable_share'])}"
        f" ({_share(last['avoidable_share'])} the week before)",
        f"- SLA breaches: {this['breaches']} ({_change(this['breaches'], last['breaches'])};"
        f" {last['breaches']} the week before)",
        "",
        "Top triggers:",
    ]
    for trigger, n in this["triggers"].most_common(TOP) or [("none", 0)]:
        lines.append(f"- {trigger}: {n} ({last['triggers'].get(trigger, 0)} the week before)")
    lines += ["", "Top root causes:"]
    causes = sorted(this["causes"].items(), key=lambda kv: (-kv[1], kv[0]))[:TOP]
    for cause, n in causes or [("none recorded", 0)]:
        lines.append(f"- {cause}: {n} ({last['causes'].get(cause, 0)} the week before)")
    return DigestText(
        subject=f"Escalations, week of {start}: {this['escalations']} opened, "
        f"{_share(this['avoidable_share'])} avoidable, {this['breaches']} SLA breaches",
        body="\n".join(lines) + "\n",
    )


class DigestActivities:
    def __init__(self, store: ReportStore) -> None:
        self._store = store

    @activity.defn(name="weekly_digest_text")
    async def weekly_digest_text(self, week: DigestWeek) -> DigestText:
        return await asyncio.to_thread(digest_text, self._store, week)
