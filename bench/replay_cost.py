"""What a sticky-cache miss costs a worker: the CPU of rebuilding a case from its history at its
SLA breach, the escalation beside the raw deadline workflow of section *deadlines*.

    .venv/bin/python -m bench.replay_cost                 # 1,000 rebuilds of each
    py-spy record -o replay.svg -- .venv/bin/python -m bench.replay_cost --n 2000

In section *deadlines* 10,000 cases are open and each worker process caches 250, so a breach
finds its case evicted: the worker is sent the whole history and replays it before the breach's
own work. This measures that rebuild alone, away from the noise of a loaded stack.

It starts the bench's stack (one worker process each side), opens one P4 escalation through the
API with a first-response target of `--target-s` seconds and starts one raw deadline workflow
due as soon, waits until both have fired, and fetches their histories as the server holds them
(the escalation's payloads encrypted). With the stack stopped, it replays `--n` copies of each
history up to the firing's workflow task (what a worker is sent at the breach) in this process,
with the worker's data converter and workflow runner, and prints one JSON line: CPU per rebuild
(process time, so the SDK's Rust core threads count too), events and size of the history.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.worker import Replayer, WorkflowRunner

from bench import scenarios as sc
from bench.api_client import Api
from bench.cli import BENCH_DIR
from bench.raw_worker import workflow_runner as raw_workflow_runner
from bench.raw_workflow import RAW_DEADLINE_WORKFLOW, RawDeadlineInput, RawDeadlineWorkflow
from bench.stack import DEADLINE_CATEGORY, Stack

RAW_TQ = "bench-raw"
WARM_UP = 20  # rebuilds before the measured ones: imports, pydantic's and the SDK's caches


def up_to_first_firing(history: WorkflowHistory) -> WorkflowHistory:
    """The history a worker is sent when the first timer fires: every event up to the workflow
    task started after that TimerFired."""
    events = list(history.events)
    fired = next(
        i for i, e in enumerate(events) if e.event_type == EventType.EVENT_TYPE_TIMER_FIRED
    )
    started = next(
        i
        for i, e in enumerate(events)
        if i > fired and e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED
    )
    return WorkflowHistory(history.workflow_id, events[: started + 1])


async def _history_once_fired(client: Client, workflow_id: str, timeout: float) -> WorkflowHistory:
    """The workflow's history once the task after its first timer has completed."""
    deadline = time.monotonic() + timeout
    while True:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        kinds = [e.event_type for e in history.events]
        if (
            EventType.EVENT_TYPE_TIMER_FIRED in kinds
            and EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
            in kinds[kinds.index(EventType.EVENT_TYPE_TIMER_FIRED) :]
        ):
            return history
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workflow_id}: no timer fired in {timeout:.0f} s")
        await asyncio.sleep(1)


async def capture(target_s: float) -> tuple[WorkflowHistory, WorkflowHistory, dict[str, str]]:
    """(escalation history, raw deadline workflow history, the stack's service environment)."""
    from api.gateway import workflow_id

    out = BENCH_DIR / "out" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ-replay-cost")
    stack = Stack(out, deadline_target_s=target_s, raw_task_queue=RAW_TQ, workers=1)
    await stack.start()
    try:
        # payloads as the server holds them; pydantic only to start the raw workflow
        client = await Client.connect(
            stack.temporal_address, data_converter=pydantic_data_converter
        )
        async with Api(stack.api_url) as api:
            view = await sc.open_escalation(api, 600.0, DEADLINE_CATEGORY)
        raw_id = f"bench-raw-deadline-{uuid.uuid4().hex[:16]}"
        await client.start_workflow(
            RAW_DEADLINE_WORKFLOW,
            RawDeadlineInput(due=time.time() + target_s),
            id=raw_id,
            task_queue=RAW_TQ,
        )
        timeout = target_s + 60
        escalation = await _history_once_fired(client, workflow_id(view["id"]), timeout)
        raw = await _history_once_fired(client, raw_id, timeout)
        env = {k: v for k, v in stack.env().items() if k.startswith("ESCALATIONS_")}
    finally:
        await stack.stop()
        shutil.rmtree(out / "data", ignore_errors=True)
    return up_to_first_firing(escalation), up_to_first_firing(raw), env


async def cpu_per_rebuild(
    history: WorkflowHistory,
    workflows: Sequence[type],
    converter: DataConverter,
    runner: WorkflowRunner,
    n: int,
) -> float:
    """Seconds of this process's CPU per replay of `history`, over `n` copies of it."""
    replayer = Replayer(workflows=workflows, data_converter=converter, workflow_runner=runner)

    async def copies(k: int) -> AsyncIterator[WorkflowHistory]:
        for i in range(k):
            yield WorkflowHistory(f"{history.workflow_id}-{i}", history.events)

    await replayer.replay_workflows(copies(WARM_UP))  # raises if a replay fails
    t0 = time.process_time()
    await replayer.replay_workflows(copies(n))
    return (time.process_time() - t0) / n


async def run(args: argparse.Namespace) -> dict:
    escalation, raw, env = await capture(args.target_s)
    os.environ.update(env)  # the service worker's settings: its payload keys, its runner
    from core.settings import Settings
    from core.temporal import data_converter
    from worker.main import workflow_runner
    from workflows.escalation import EscalationWorkflow

    settings = Settings()
    service_cpu = await cpu_per_rebuild(
        escalation,
        [EscalationWorkflow],
        data_converter(settings),
        workflow_runner(settings),
        args.n,
    )
    raw_cpu = await cpu_per_rebuild(
        raw, [RawDeadlineWorkflow], pydantic_data_converter, raw_workflow_runner(settings), args.n
    )

    def described(h: WorkflowHistory, cpu: float) -> dict:
        return {
            "cpu_per_rebuild_ms": round(cpu * 1000, 2),
            "events": len(h.events),
            "history_kib": round(len(h.to_json()) / 1024, 1),
        }

    return {
        "rebuilds": args.n,
        "service": described(escalation, service_cpu),
        "raw": described(raw, raw_cpu),
        "ratio": round(service_cpu / raw_cpu, 2),
    }


def main() -> None:
    p = argparse.ArgumentParser(
        prog="python -m bench.replay_cost",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--n", type=int, default=1000, help="rebuilds of each history (1,000)")
    p.add_argument(
        "--target-s",
        type=float,
        default=10.0,
        help="seconds to the first-response deadline (and to the raw deadline)",
    )
    args = p.parse_args()
    if args.n < 1:
        p.error("--n must be at least 1")
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
