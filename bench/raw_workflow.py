"""The raw-Temporal baseline: a workflow with no business logic that runs the same number of
local and regular activities as the escalation's path, phase by phase.

A phase is the work between two client actions (phase 0 after the start, phase k after update
``step`` number k). Local activities run in sequence, regular ones are started in the background,
as the escalation's notifications and CRM sync are. The workflow ends when every phase has been
entered and every regular activity has completed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import activity, workflow

RAW_WORKFLOW = "BenchRawWorkflow"
NOOP_ACTIVITY = "bench_noop"


@dataclass
class RawInput:
    phases: list[list[int]] = field(default_factory=list)  # [[local, regular], ...]
    payload: str = ""


@activity.defn(name=NOOP_ACTIVITY)
async def noop(payload: str) -> str:
    return payload


@workflow.defn(name=RAW_WORKFLOW)
class RawWorkflow:
    def __init__(self) -> None:
        self._steps = 0

    @workflow.run
    async def run(self, inp: RawInput) -> int:
        background: list[asyncio.Future] = []
        for k, (local, regular) in enumerate(inp.phases):
            if k > 0:
                await workflow.wait_condition(lambda k=k: self._steps >= k)
            for _ in range(local):
                await workflow.execute_local_activity(
                    NOOP_ACTIVITY, inp.payload, result_type=str,
                    start_to_close_timeout=timedelta(seconds=20),
                )
            for _ in range(regular):
                background.append(asyncio.ensure_future(workflow.execute_activity(
                    NOOP_ACTIVITY, inp.payload, result_type=str,
                    start_to_close_timeout=timedelta(seconds=30),
                )))
        await asyncio.gather(*background)
        return len(background)

    @workflow.update
    async def step(self, n: int) -> int:
        self._steps = max(self._steps, n)
        return self._steps
