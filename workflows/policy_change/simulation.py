"""SimulationWorkflow: runs one policy simulation (core/policy_sim) durably in an activity that
writes its progress and its report to the store, where the API reads them; a worker that dies
mid-way hands it to another (the activity heartbeats, and starts over: the replay is pure)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.policy_change.models import SimulationDone, SimulationStart


@workflow.defn
class SimulationWorkflow:
    @workflow.run
    async def run(self, inp: SimulationStart) -> SimulationDone:
        return await workflow.execute_activity(
            "simulate_policy",
            inp,
            result_type=SimulationDone,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_attempts=3),
            summary=f"replay {inp.since:%Y-%m-%d}..{inp.until:%Y-%m-%d} under {inp.version}",
        )
