"""Worker process for the raw baseline (its own task queue, same dev server as the service).

python -m bench.raw_worker --address 127.0.0.1:PORT --task-queue bench-raw
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from bench.raw_workflow import RawDeadlineWorkflow, RawWorkflow, noop
from core.settings import Settings


def workflow_runner(settings: Settings) -> WorkflowRunner:
    """Sandboxed (the SDK's default sandbox) or not, as the service's worker is
    (ESCALATIONS_WORKER_SANDBOX)."""
    return SandboxedWorkflowRunner() if settings.worker_sandbox else UnsandboxedWorkflowRunner()


async def run(args: argparse.Namespace) -> None:
    client = await Client.connect(args.address, data_converter=pydantic_data_converter)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    worker = Worker(
        client,
        task_queue=args.task_queue,
        workflows=[RawWorkflow, RawDeadlineWorkflow],
        activities=[noop],
        max_cached_workflows=args.max_cached_workflows,
        workflow_runner=workflow_runner(Settings()),
    )
    async with worker:
        print("raw-worker ready", flush=True)
        await stop.wait()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--address", required=True)
    p.add_argument("--task-queue", default="bench-raw")
    p.add_argument("--max-cached-workflows", type=int, default=2000)
    asyncio.run(run(p.parse_args()))
    sys.stdout.flush()
    os._exit(0)  # as worker.main: skip finalisation races with the SDK's runtime threads


if __name__ == "__main__":
    main()
