"""Read the recorded cases of a period from the report store and replay them under two policies,
side by side."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy import select

from core.policy_sim.engine import CANNOT_KNOW, Recorded, report, simulate
from core.report_store import ReportStore, utc
from core.report_store.schema import cases, events
from workflows.policy import Policy

BATCH = 2000


def recorded(store: ReportStore, since: datetime, until: datetime) -> Iterator[Recorded]:
    """The cases opened in [since, until), with their timelines, in batches of BATCH cases."""
    cols = (
        cases.c.escalation_id,
        cases.c.opened_at,
        cases.c.category,
        cases.c.trigger,
        cases.c.customer_tier,
        cases.c.channel,
        cases.c.team,
        cases.c.requested_amount,
    )
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(*cols)
            .where(cases.c.opened_at >= since, cases.c.opened_at < until)
            .order_by(cases.c.opened_at, cases.c.escalation_id)
        ).all()
        for i in range(0, len(rows), BATCH):
            chunk = rows[i : i + BATCH]
            timeline: dict[str, list[tuple[datetime, str, str, str]]] = {r[0]: [] for r in chunk}
            for eid, at, action, role, detail in conn.execute(
                select(
                    events.c.escalation_id,
                    events.c.at,
                    events.c.action,
                    events.c.role,
                    events.c.detail,
                )
                .where(events.c.escalation_id.in_(list(timeline)))
                .order_by(events.c.escalation_id, events.c.seq)
            ):
                when: datetime = at  # type: ignore[assignment]
                timeline[str(eid)].append((utc(when), str(action), str(role), str(detail)))
            for r in chunk:
                yield Recorded(
                    id=r[0],
                    opened_at=utc(r[1]),
                    category=r[2],
                    trigger=r[3],
                    tier=r[4],
                    channel=r[5],
                    team=r[6],
                    requested_amount=r[7],
                    events=timeline[r[0]],
                )


def side_by_side(
    store: ReportStore,
    live: Policy,
    draft: Policy,
    since: datetime,
    until: datetime,
    horizon: datetime,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """Replay every case opened in [since, until) under both policies (human actions at their
    recorded times, up to `horizon`): {"live": figures, "draft": figures, "cannot_know"}."""
    out_live, out_draft = [], []
    for n, case in enumerate(recorded(store, since, until), 1):
        out_live.append(simulate(live, case, horizon))
        out_draft.append(simulate(draft, case, horizon))
        if progress is not None and n % 500 == 0:
            progress(n)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "live": report(live, out_live),
        "draft": report(draft, out_draft),
        "cannot_know": CANNOT_KNOW,
    }
