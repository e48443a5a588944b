"""Fill the report store from Temporal for cases that predate it (or whose facts were lost):

    python -m core.report_store.rebuild                 # every escalation visibility lists
    python -m core.report_store.rebuild --since 2026-01-01

Lists the escalations through visibility, asks each for its `state` and `timeline` (queries; a
closed case is replayed by a worker, so one must be running) and writes their facts with the
same idempotent write as the worker: running it twice, or over cases the worker already wrote,
changes nothing (a snapshot older than the stored one is ignored).

Stage visits are not rebuilt: the timeline does not say when a case changed stage, and guessed
times would skew the time-in-stage report, so rebuilt cases count in every report but that one.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime

import structlog
from temporalio.client import Client

from api.gateway import decode_memo, list_page, query_state, query_timeline, visibility_query
from core.report_store import ReportStore
from workflows.messages import CaseFacts, CaseSnapshot, ClockFact, FactEvent
from workflows.models import EscalationView, Timeline
from workflows.opening import numbered

log = structlog.get_logger("rebuild")


def facts_of(view: EscalationView, timeline: Timeline, opened_by_id: str) -> CaseFacts:
    opened = next((e for e in timeline.items if e.action == "opened"), None)
    remedy = view.granted_remedy or view.requested_remedy
    return CaseFacts(
        case=CaseSnapshot(
            escalation_id=view.id,
            as_of=view.updated_at,
            events_seen=len(timeline.items) + timeline.elided,
            opened_at=view.opened_at,
            opened_by_id=opened_by_id,
            opened_by_name=opened.actor if opened else opened_by_id,
            channel=view.channel,
            category=view.category,
            trigger=view.trigger,
            customer_tier=view.customer.tier,
            severity=view.severity,
            avoidable=view.avoidable,
            stage=view.stage,
            team=view.assigned_team,
            assignee=view.assignee,
            resolved_tier=view.resolved_at_tier,
            resolved_at=next(
                (e.at for e in reversed(timeline.items) if e.action == "resolved"), None
            ),
            requested_amount=view.requested_remedy.amount if view.requested_remedy else None,
            granted_amount=view.granted_remedy.amount if view.granted_remedy else None,
            currency=remedy.currency if remedy else None,
            reopen_count=sum(e.action == "reopened" for e in timeline.items),
            clocks=[
                ClockFact(
                    name=c.name,
                    due_at=c.due_at,
                    met_at=c.met_at if not c.breached else None,
                    breached=c.breached,
                )
                for c in view.clocks
            ],
        ),
        events=[
            FactEvent(
                seq=i,
                at=e.at,
                actor=e.actor,
                role=e.role,
                action=e.action,
                stage=e.stage,
                detail=e.detail[:500],
            )
            for i, e in numbered(timeline.items, timeline.elided)
        ],
    )


async def rebuild(client: Client, store: ReportStore, clauses: list[str] | None = None) -> int:
    """Write the facts of every escalation the clauses select; returns how many."""
    query = visibility_query(clauses or [])
    token, written = b"", 0
    while True:
        page = await list_page(client, query, 200, token)
        for info in page.executions:
            eid = info.execution.workflow_id.removeprefix("escalation-")
            memo = await decode_memo(client, info)
            view, timeline = await asyncio.gather(
                query_state(client, eid), query_timeline(client, eid)
            )
            facts = facts_of(view, timeline, str(memo.get("opened_by") or "unknown"))
            await asyncio.to_thread(store.write, [facts])
            written += 1
        token = page.next_page_token
        if not token:
            return written


async def _main(since: datetime | None) -> None:
    from core.logging import setup_logging
    from core.settings import get_settings
    from core.temporal import connect

    settings = get_settings()
    setup_logging(settings.log_format, settings.log_level)
    client = await connect(settings)
    store = ReportStore(settings.report_url)
    try:
        clauses = [f"StartTime >= '{since.isoformat()}'"] if since else []
        n = await rebuild(client, store, clauses)
        log.info("report_store_rebuilt", cases=n, store=store.engine.url.render_as_string())
    finally:
        store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--since", type=datetime.fromisoformat, help="started at or after (ISO 8601)")
    asyncio.run(_main(p.parse_args().since))


if __name__ == "__main__":
    main()
