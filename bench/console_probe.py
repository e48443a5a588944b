"""The console's pages beside `GET /escalations`, in one process (no HTTP server between), on a
dev server of its own: `N` open cases, `S` of them waiting for sign-off.

    .venv/bin/python -m bench.console_probe --open 300 --signoff 30

Times are the request's time through the ASGI app (server time plus an in-process client's
small overhead). Not the issue's 10,000-case benchmark: see bench/README.md, "Console".
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
import uuid

import httpx
from temporalio import activity
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities import build_activities
from activities.dispatch import make_dispatch
from api.main import create_app
from bench.scenarios import auth, pct, request_body
from core.binaries import find_binary
from core.settings import Settings
from workflows import search_attributes as sa
from workflows.escalation import EscalationWorkflow
from workflows.messages import Delivery, DeliveryReceipt

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@activity.defn(name="deliver")
async def deliver(d: Delivery) -> DeliveryReceipt:
    """Messages are acknowledged, not sent (the probe measures the API, not the sinks)."""
    info = activity.info()
    return DeliveryReceipt(
        channel=d.channel, idempotency_key=f"{info.workflow_run_id}:{info.activity_id}"
    )


async def to_signoff(http: httpx.AsyncClient, eid: str) -> None:
    while (await http.get(f"/escalations/{eid}", headers=auth("operator"))).json()[
        "stage"
    ] != "helpline_consult":
        await asyncio.sleep(0.1)
    answer = {"resolves": False, "answer": "needs a specialist"}
    await http.post(f"/escalations/{eid}/consult-answer", json=answer, headers=auth("helpline"))
    await http.post(f"/escalations/{eid}/acknowledge", headers=auth("specialist"))
    remedy = {"kind": "refund", "amount": 600, "currency": "GBP", "description": "refund"}
    r = await http.post(
        f"/escalations/{eid}/proposals", json={"remedy": remedy}, headers=auth("specialist")
    )
    assert r.json()["stage"] == "executive_signoff", r.text


async def signed_in(app, role: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=60
    )
    form = (await client.get("/console/sign-in")).text
    match = re.search(r'name="csrf" value="([^"]+)"', form)
    assert match, "no CSRF token on the sign-in form"
    body = f"token=demo-{role}&csrf={match.group(1)}"
    assert (await client.post("/console/sign-in", content=body, headers=FORM)).status_code == 303
    return client


async def timed(client: httpx.AsyncClient, url: str, n: int, **kw) -> str:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        r = await client.get(url, **kw)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, (url, r.status_code)
    return f"p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms"


async def run(args: argparse.Namespace) -> None:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=sa.ALL,
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            "frontend.enableUpdateWorkflowExecution=true",
        ],
    )
    settings = Settings(demo=True, _env_file=None, log_level="WARNING", task_queue=uuid.uuid4().hex)
    real = {
        getattr(a, "__temporal_activity_definition").name: a
        for a in build_activities(settings, env.client)
    }
    real.pop("deliver")
    real["dispatch"] = make_dispatch(deliver, real["sync_crm"])
    try:
        async with Worker(
            env.client,
            task_queue=settings.task_queue,
            workflows=[EscalationWorkflow],
            activities=[*real.values(), deliver],
        ):
            app = create_app(settings, client=env.client)
            async with (
                app.router.lifespan_context(app),
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=60
                ) as http,
            ):
                limit = asyncio.Semaphore(20)

                async def open_one(n: int) -> str:
                    async with limit:
                        r = await http.post(
                            "/escalations", json=request_body(600, n=n), headers=auth("agent")
                        )
                        return r.json()["id"]

                ids = await asyncio.gather(*(open_one(n) for n in range(args.open)))
                for eid in ids[: args.signoff]:
                    await to_signoff(http, eid)
                await asyncio.sleep(3)  # visibility catches up
                executive = await signed_in(app, "executive")
                helpline = await signed_in(app, "helpline")
                manager = await signed_in(app, "manager")
                n = args.requests
                print(f"open cases {args.open}, waiting for sign-off {args.signoff}")
                rows = {
                    "GET /escalations?status=open": await timed(
                        http, "/escalations?status=open", n, headers=auth("operator")
                    ),
                    "help line's work (50 consults)": await timed(
                        helpline, "/console/work/live", n
                    ),
                    "executive's work (approvals)": await timed(executive, "/console/work/live", n),
                    "manager's work (approvals, own cases, board)": await timed(
                        manager, "/console/work/live", n
                    ),
                    "case page (live part)": await timed(
                        executive, f"/console/cases/{ids[0]}/live", n
                    ),
                }
                for name, figures in rows.items():
                    print(f"{name}: {figures}")
                await executive.aclose()
                await helpline.aclose()
                await manager.aclose()
    finally:
        await env.shutdown()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--open", type=int, default=300, help="open cases")
    p.add_argument("--signoff", type=int, default=30, help="of them, waiting for sign-off")
    p.add_argument("--requests", type=int, default=40, help="requests per page")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
