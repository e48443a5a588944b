"""The worker process: runs EscalationWorkflow and its activities on the task queue.

    escalations-worker            (or: python -m worker)

Scale out by running more of these against the same Temporal; they share the task queue.
"""

from __future__ import annotations

import sys

# The workflow sandbox re-imports the workflow module for every workflow it runs; without a
# bytecode cache (PYTHONDONTWRITEBYTECODE=1 is common in dev shells and CI) that means compiling it
# each time, a large share of the worker's CPU (bench/README.md).
sys.dont_write_bytecode = False

import asyncio  # noqa: E402
import logging
import os
import signal
from contextlib import AsyncExitStack
from datetime import timedelta

import structlog
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from core.codec import PayloadKeyError, codec_from_settings
from core.directory import reload_on_sighup
from core.feedback import feedback_secret_refusal
from core.logging import setup_logging
from core.settings import Settings, get_settings
from core.signing import ActionKeyError, VerifyingInterceptor, signer_from_settings
from core.temporal import connect, ensure_search_attributes

log = structlog.get_logger("worker")


def workflow_runner(settings: Settings) -> WorkflowRunner:
    """Unsandboxed unless ESCALATIONS_WORKER_SANDBOX=true (see core/settings.py). Sandboxed, our
    workflow modules are shared (they hold no mutable globals) instead of re-imported per
    workflow, for less CPU and memory per cached workflow (bench/README.md). The test suite
    runs every workflow path in the strict default sandbox."""
    if not settings.worker_sandbox:
        return UnsandboxedWorkflowRunner()
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows")
    )


def build_worker(
    client,
    settings: Settings,
    task_queue: str | None = None,
    resources: AsyncExitStack | None = None,
) -> Worker:
    from activities import build_activities
    from workflows.digest import WeeklyDigestWorkflow
    from workflows.escalation import EscalationWorkflow
    from workflows.policy_change.simulation import SimulationWorkflow
    from workflows.policy_change.workflow import PolicyChangeWorkflow

    return Worker(
        client,
        task_queue=task_queue or settings.task_queue,
        workflows=[
            EscalationWorkflow,
            WeeklyDigestWorkflow,
            PolicyChangeWorkflow,
            SimulationWorkflow,
        ],
        workflow_runner=workflow_runner(settings),
        activities=build_activities(settings, client, resources),
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_graceful_shutdown_s),
        max_cached_workflows=settings.worker_max_cached_workflows,
        interceptors=[VerifyingInterceptor(signer_from_settings(settings))],
        default_heartbeat_throttle_interval=timedelta(seconds=settings.worker_heartbeat_throttle_s),
    )


async def run(settings: Settings) -> None:
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=PrometheusConfig(bind_address=settings.worker_metrics_bind)
        )
    )
    client = await connect(settings, runtime=runtime)
    try:
        added = await ensure_search_attributes(client)
        if added:
            log.info("search_attributes_registered", names=added)
    except Exception as e:  # noqa: BLE001 - e.g. Temporal Cloud: created with tcld instead
        log.warning("search_attributes_not_registered", error=str(e))
    try:
        from worker.schedules import ensure_digest_schedule

        await ensure_digest_schedule(client, settings)
    except Exception as e:  # noqa: BLE001 - the cases must run even if the digest cannot
        log.warning("digest_schedule_not_created", error=str(e))
    async with AsyncExitStack() as resources:  # closed once the worker has stopped
        await _serve(build_worker(client, settings, resources=resources), settings)
    log.info("worker_stopped")


async def _serve(worker: Worker, settings: Settings) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    reload_on_sighup()  # the directory (routing, find_people) is re-read at once
    log.info(
        "worker_started",
        address=settings.temporal_address,
        namespace=settings.temporal_namespace,
        task_queue=settings.task_queue,
        metrics=f"http://{settings.worker_metrics_bind}/metrics",
    )
    async with worker:
        await stop.wait()
        log.info("worker_stopping", graceful_s=settings.worker_graceful_shutdown_s)


def main() -> None:
    settings = get_settings()
    setup_logging(settings.log_format, settings.log_level)
    try:
        codec_from_settings(settings)  # refuse in one line, before connecting
        signer_from_settings(settings)
        settings.check_webhook_secrets()
        if (why := feedback_secret_refusal(settings)) is not None:
            raise ValueError(why)
    except (PayloadKeyError, ActionKeyError, ValueError) as e:
        raise SystemExit(f"escalations-worker: {e}") from None
    asyncio.run(run(settings))
    # The worker has shut down cleanly. Skip interpreter finalisation: the SDK's Rust runtime
    # threads can race it and abort the process (seen intermittently as PyGILState_Release).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
