"""Fill the report store from Temporal for cases that predate it (or whose facts were lost):

    python -m api.reports.rebuild                 # every escalation visibility lists
    python -m api.reports.rebuild --since 2026-01-01

Lists the escalations through visibility, asks each for its `facts` (a query answered by the
workflow's own `facts.all_facts`, so the snapshot is the one the worker writes; a closed case is
replayed by a worker, so one must be running) and writes them with the same idempotent write as
the worker: running it twice, or over cases the worker already wrote, changes nothing (a
snapshot older than the stored one is ignored).

Stage visits are not rebuilt: the timeline does not say when a case changed stage, and guessed
times would skew the time-in-stage report, so rebuilt cases count in every report but that one.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime

import structlog
from temporalio.client import Client

from api.cases.service import query_facts
from api.visibility import list_page, visibility_query
from core.report_store import ReportStore

log = structlog.get_logger("rebuild")


async def rebuild(client: Client, store: ReportStore, clauses: list[str] | None = None) -> int:
    """Write the facts of every escalation the clauses select; returns how many."""
    query = visibility_query(clauses or [])
    token, written = b"", 0
    while True:
        page = await list_page(client, query, 200, token)
        for info in page.executions:
            eid = info.execution.workflow_id.removeprefix("escalation-")
            facts = await query_facts(client, eid)
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
