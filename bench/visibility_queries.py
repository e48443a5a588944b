"""How long the console's visibility queries take on the server alone: each query `--n` times
through `ListWorkflowExecutions` (no memo decoding, no API), against a dev server holding a
bench run's kept store. The queries are built by the API's own `api.visibility`.

    .venv/bin/python -m bench --only console --keep-data --results-dir /tmp/console-keep
    flags=$(.venv/bin/python -c \\
        "from workflows.search_attributes import cli_flags; print(*cli_flags())")
    .venv/bin/temporal server start-dev --headless --port 7399 --ui-port 7398 \\
        --db-filename bench/out/<run>/data/temporal.sqlite $flags &
    .venv/bin/python -m bench.visibility_queries --address 127.0.0.1:7399
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time

from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client

from api.visibility import filter_clauses, visibility_query
from workflows import search_attributes as sa

FLAGS = ", ".join(f"'{f}'" for f in (sa.AT_RISK, sa.UNDELIVERED, sa.AWAITING_ACK))
ATTENTION_IN = f"`{sa.ATTENTION.name}` IN ({FLAGS})"


def queries() -> dict[str, str]:
    open_ = filter_clauses(status="open")
    return {
        "board as one OR (before 12-03)": visibility_query(
            [*open_, f"(`SlaBreached` = true OR {ATTENTION_IN})"]
        ),
        "board: breached": visibility_query(filter_clauses(status="open", breached=True)),
        "board: flagged": visibility_query([*open_, ATTENTION_IN]),
        "sign-off (approvals)": visibility_query(
            filter_clauses(status="open", stage="executive_signoff")
        ),
        "own cases (manager)": visibility_query(
            filter_clauses(status="open", assignee="p-manager")
        ),
        "sign-off, open by status": visibility_query(
            [
                *filter_clauses(stage="executive_signoff"),
                "ExecutionStatus = 'Running'",
            ]
        ),
        "list (open)": visibility_query(open_),
    }


async def main(address: str, n: int, page: int) -> None:
    client = await Client.connect(address)
    print(f"| query | matches | p50 | p95 |  ({n} each, pages of {page})")
    print("|---|---|---|---|")
    for name, query in queries().items():
        times = []
        for _ in range(n):
            start = time.perf_counter()
            await client.workflow_service.list_workflow_executions(
                ListWorkflowExecutionsRequest(
                    namespace=client.namespace, page_size=page, query=query
                )
            )
            times.append(time.perf_counter() - start)
        times.sort()
        matches = (await client.count_workflows(query)).count
        p50, p95 = statistics.median(times), times[max(0, int(0.95 * n) - 1)]
        print(f"| {name} | {matches} | {p50 * 1000:.1f} ms | {p95 * 1000:.1f} ms |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", default="127.0.0.1:7399")
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--page", type=int, default=50, help="page size (the console's)")
    args = parser.parse_args()
    asyncio.run(main(args.address, args.n, args.page))
    os._exit(0)  # as worker.main: skip finalisation races with the SDK's runtime threads
