"""The API, a real worker (escalations and policy changes) and a report store of the module's
own (so a version made live here never reaches another test's cases), on the dev server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio import activity

from activities import build_activities
from activities.dispatch import make_dispatch
from api.main import create_app
from core.report_store import ReportStore
from core.settings import Settings
from tests.api.conftest import Stack
from tests.conftest import run_worker
from workflows.escalation import EscalationWorkflow
from workflows.messages import Delivery, DeliveryReceipt
from workflows.policy_change.simulation import SimulationWorkflow
from workflows.policy_change.workflow import PolicyChangeWorkflow


@pytest.fixture(scope="module")
async def policy_stack(dev_env, tmp_path_factory) -> AsyncIterator[Stack]:
    client = dev_env.client
    deliveries: list[Delivery] = []

    @activity.defn(name="deliver")
    async def deliver(d: Delivery) -> DeliveryReceipt:
        deliveries.append(d)
        info = activity.info()
        return DeliveryReceipt(
            channel=d.channel, idempotency_key=f"{info.workflow_run_id}:{info.activity_id}"
        )

    data_dir = tmp_path_factory.mktemp("policy-data")
    # the access table sends an unknown token per operation, all from one address
    base = Settings(demo=True, data_dir=data_dir, policy_refresh_s=0, auth_failure_burst=100_000)
    real = {
        getattr(a, "__temporal_activity_definition").name: a for a in build_activities(base, client)
    }
    real.pop("deliver")
    store = ReportStore(base.report_url)

    async def write(facts) -> None:  # the cases' facts, for the simulations to replay
        await asyncio.to_thread(store.write, [facts])

    real["dispatch"] = make_dispatch(deliver, real["sync_crm"], write)
    async with run_worker(
        client,
        workflows=[EscalationWorkflow, PolicyChangeWorkflow, SimulationWorkflow],
        activities=[*real.values(), deliver],
    ) as task_queue:
        settings = base.model_copy(update={"task_queue": task_queue})
        app = create_app(settings, client=client)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://api", timeout=30
            ) as http:
                yield Stack(http=http, client=client, settings=settings, deliveries=deliveries)
