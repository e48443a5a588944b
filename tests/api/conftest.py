"""The API against a real Temporal dev server and a real worker running the real workflow.

One worker + app per test module (a fresh task queue); the real activities except `deliver`,
which records messages instead of sending e-mail/SMS.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from temporalio import activity
from temporalio.client import Client

from activities import build_activities
from activities.dispatch import make_dispatch
from api.main import create_app
from core.settings import Settings
from tests.conftest import run_worker
from workflows.escalation import EscalationWorkflow
from workflows.messages import (
    Delivery,
    DeliveryReceipt,
)


def auth(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer demo-{role}"}


def request_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "customer": {
            "id": "C-1001",
            "name": "Ada Lovelace",
            "tier": "standard",
            "contact": {"email": "ada@example.com", "preferred_channel": "email"},
        },
        "channel": "phone",
        "category": "billing",
        "summary": "Charged twice for March",
        "details": "Two identical charges on 3 March",
        "trigger": "customer_request",
        "requested_remedy": {
            "kind": "refund",
            "amount": 600.0,
            "currency": "GBP",
            "description": "Refund both charges",
        },
        # the demo policy's required billing questions (workflows/capture.py)
        "answers": {"invoice_number": "INV-2026-0311", "amount_disputed": "600.00"},
    }
    body.update(overrides)
    return body


@dataclass
class Stack:
    http: httpx.AsyncClient
    client: Client
    settings: Settings
    deliveries: list[Delivery] = field(default_factory=list)

    async def open(self, role: str = "agent", headers: dict | None = None, **body: Any) -> dict:
        r = await self.http.post(
            "/escalations", json=request_body(**body), headers={**auth(role), **(headers or {})}
        )
        assert r.status_code in (200, 201), r.text
        return r.json()

    async def wait_stage(self, escalation_id: str, *stages: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            r = await self.http.get(f"/escalations/{escalation_id}", headers=auth("operator"))
            assert r.status_code == 200, r.text
            view = r.json()
            if view["stage"] in stages:
                return view
            assert time.monotonic() < deadline, f"stage {view['stage']}, wanted {stages}"
            await asyncio.sleep(0.1)

    async def consult_answer(
        self, escalation_id: str, answer: str = "needs a specialist", resolves: bool = False
    ) -> dict:
        """The help line answers the case's consult once it waits for one: the case view."""
        await self.wait_stage(escalation_id, "helpline_consult")
        r = await self.http.post(
            f"/escalations/{escalation_id}/consult-answer",
            json={"resolves": resolves, "answer": answer},
            headers=auth("helpline"),
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def wait_listed(self, query: str, expected: int, timeout: float = 15) -> int:
        """Visibility is eventually consistent: wait until `query` counts `expected`."""
        deadline = time.monotonic() + timeout
        while True:
            n = (await self.client.count_workflows(query)).count
            if n == expected or time.monotonic() > deadline:
                return n
            await asyncio.sleep(0.2)


@pytest.fixture(scope="module")
async def stack(dev_env, tmp_path_factory) -> AsyncIterator[Stack]:
    # a report store of the module's own: a customer's past escalations are the module's cases
    async with make_stack(dev_env, tmp_path_factory.mktemp("data")) as s:
        yield s


@asynccontextmanager
async def make_stack(dev_env, data, **overrides: Any) -> AsyncIterator[Stack]:
    """A worker on a fresh task queue and the API app in front of it; `overrides`: settings."""
    client = dev_env.client
    deliveries: list[Delivery] = []

    @activity.defn(name="deliver")
    async def deliver(d: Delivery) -> DeliveryReceipt:
        deliveries.append(d)
        info = activity.info()
        return DeliveryReceipt(
            channel=d.channel, idempotency_key=f"{info.workflow_run_id}:{info.activity_id}"
        )

    base = Settings(demo=True, data_dir=data)
    real = {
        getattr(a, "__temporal_activity_definition").name: a for a in build_activities(base, client)
    }
    real.pop("deliver")

    real["dispatch"] = make_dispatch(deliver, real["sync_crm"])
    async with run_worker(
        client, workflows=[EscalationWorkflow], activities=[*real.values(), deliver]
    ) as task_queue:
        # the access tables send an unknown token per operation, all from one address: the
        # failed-authentication throttle has its own tests (test_auth_throttle.py)
        settings = Settings(
            **{
                "demo": True,
                "task_queue": task_queue,
                "data_dir": data,
                "auth_failure_burst": 100_000,
                **overrides,
            }
        )
        app = create_app(settings, client=client)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://api", timeout=30
            ) as http:
                yield Stack(http=http, client=client, settings=settings, deliveries=deliveries)


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"
