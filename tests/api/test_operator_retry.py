"""An operator retries a stuck activity now (POST .../operator/retry-activity): the case's
read of the customer's past year fails and backs off; once its cause is fixed, the retry runs it
at once instead of after the backoff, and the timeline says who retried what and why."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities import build_activities
from api.main import create_app
from core.settings import Settings
from tests.api.conftest import auth, request_body
from tests.conftest import run_worker
from workflows.escalation import EscalationWorkflow
from workflows.messages import CustomerHistory, CustomerHistoryQuery

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def stuck(dev_env, tmp_path) -> AsyncIterator[tuple[httpx.AsyncClient, asyncio.Event]]:
    client = dev_env.client
    base = Settings(demo=True, data_dir=tmp_path)
    real = {
        getattr(a, "__temporal_activity_definition").name: a for a in build_activities(base, client)
    }
    fixed = asyncio.Event()
    history = real.pop("customer_history")

    @activity.defn(name="customer_history")
    async def customer_history(q: CustomerHistoryQuery) -> CustomerHistory:  # down until fixed
        if not fixed.is_set():
            raise ApplicationError("report store unreachable")
        return await history(q)

    async with run_worker(
        client, workflows=[EscalationWorkflow], activities=[*real.values(), customer_history]
    ) as task_queue:
        app = create_app(Settings(demo=True, task_queue=task_queue, data_dir=tmp_path), client)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=30
            ) as http,
        ):
            yield http, fixed


async def test_a_stuck_activity_is_retried_now_and_recorded(stuck):
    http, fixed = stuck
    body = request_body(requested_remedy={"kind": "refund", "amount": 40.0, "currency": "GBP"})
    r = await http.post("/escalations", json=body, headers=auth("agent"))
    eid = r.json()["id"]
    assert r.json()["stage"] == "tier1_exception"  # waits for the customer's past year

    # wait until the read has failed a few times and backs off for seconds
    deadline = time.monotonic() + 30
    while True:
        r = await http.get(f"/escalations/{eid}/operator/activities", headers=auth("operator"))
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        if items and items[0]["attempt"] >= 5:
            break
        assert time.monotonic() < deadline, items
        await asyncio.sleep(0.3)
    stuck_one = items[0]
    assert stuck_one["activity_type"] == "customer_history"
    assert stuck_one["last_failure"] == "report store unreachable"

    r = await http.post(
        f"/escalations/{eid}/operator/retry-activity",
        json={"reason": "x", "activity_id": "no-such-activity"},
        headers=auth("operator"),
    )
    assert r.status_code == 422, r.text
    r = await http.post(
        f"/escalations/{eid}/operator/retry-activity",
        json={"reason": "report store is back"},
        headers=auth("supervisor"),
    )
    assert r.status_code == 403, r.text

    fixed.set()
    asked = time.monotonic()
    r = await http.post(
        f"/escalations/{eid}/operator/retry-activity",
        json={"reason": "report store is back"},
        headers=auth("operator"),
    )
    assert r.status_code == 200, r.text
    # the 5th attempt waits 8 s for its backoff: the retry runs it now
    while True:
        view = (await http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
        if view["stage"] != "tier1_exception":
            break
        assert time.monotonic() - asked < 4, "the retry did not run at once"
        await asyncio.sleep(0.1)
    assert view["granted_remedy"]["amount"] == 40.0
    items = (await http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))).json()
    retried = [e for e in items["items"] if e["action"] == "activity_retried"]
    assert len(retried) == 1 and retried[0]["role"] == "operator"
    assert "customer_history" in retried[0]["detail"]
    assert "report store is back" in retried[0]["detail"]
