"""The reports API over the report store: the hand-computed figures as JSON and CSV, the filters,
who may read what; and the facts of a real case flowing from the workflow, through the dispatch
activity, into the store the API reads."""

from __future__ import annotations

import asyncio
import csv
import io
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select
from temporalio import activity

from activities import build_activities
from activities.dispatch import make_dispatch
from api.main import create_app
from core.report_store import ReportStore
from core.report_store.schema import cases, events, stage_visits
from core.settings import Settings
from tests.api.conftest import auth, request_body
from tests.conftest import run_worker
from tests.report_store.data import ALL
from workflows.escalation import EscalationWorkflow
from workflows.messages import Delivery, DeliveryReceipt


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> ReportStore:
    s = ReportStore(f"sqlite:///{tmp_path_factory.mktemp('reports') / 'reports.sqlite'}")
    s.write(ALL)
    return s


@pytest.fixture(scope="module")
async def http(store) -> AsyncIterator[httpx.AsyncClient]:
    # the reports read only the store: no Temporal client is needed
    app = create_app(Settings(demo=True), client=object(), report_store=store)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as c:
            yield c


async def test_a_report_as_json(http):
    r = await http.get(
        "/reports/volume", params={"interval": "week", "team": "billing"}, headers=auth("manager")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["report"] == "volume" and body["interval"] == "week"
    assert body["filters"] == {"team": "billing"}
    assert body["columns"] == ["period", "trigger", "escalations"]
    assert body["rows"] == [
        {"period": "2026-01-05", "trigger": "customer_request", "escalations": 2},
        {"period": "2026-01-12", "trigger": "customer_request", "escalations": 1},
        {"period": "2026-01-12", "trigger": "repeat_contact", "escalations": 1},
    ]


async def test_a_report_as_csv_by_parameter_or_accept_header(http):
    by_param = await http.get(
        "/reports/stages", params={"format": "csv"}, headers=auth("supervisor")
    )
    by_accept = await http.get(
        "/reports/stages", headers={**auth("supervisor"), "Accept": "text/csv"}
    )
    for r in (by_param, by_accept):
        assert r.status_code == 200, r.text
        assert r.headers["content-type"].startswith("text/csv")
        assert list(csv.reader(io.StringIO(r.text))) == [
            ["stage", "visits", "p50_s", "p90_s"],
            ["helpline_consult", "3", "1800.0", "3600.0"],
            ["specialist", "3", "7200.0", "14400.0"],
            ["executive_signoff", "2", "3600.0", "3600.0"],
        ]
    empty = await http.get(
        "/reports/feedback",
        params={"format": "csv", "since": "2030-01-01T00:00:00Z"},
        headers=auth("operator"),
    )
    assert empty.text == "score,cases\r\n"  # RFC 4180 line ends


async def test_the_window_is_opened_in_since_until(http):
    r = await http.get(
        "/reports/resolution",
        params={"since": "2026-01-12T00:00:00", "until": "2026-01-19T00:00:00Z"},
        headers=auth("executive"),
    )
    assert r.status_code == 200, r.text
    assert [row["cases"] for row in r.json()["rows"]] == [0, 0, 1, 0]
    bad = await http.get(
        "/reports/resolution",
        params={"since": "2026-01-12T00:00:00Z", "until": "2026-01-12T00:00:00Z"},
        headers=auth("executive"),
    )
    assert bad.status_code == 422 and bad.json()["error"] == "invalid"


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/reports/sla", {"supervisor", "manager", "executive", "operator"}),
        ("/reports/coaching", {"supervisor", "manager"}),
    ],
)
async def test_who_may_read(http, path, allowed):
    for role in ("agent", "specialist", "supervisor", "manager", "executive", "operator"):
        r = await http.get(path, headers=auth(role))
        assert r.status_code == (200 if role in allowed else 403), (role, r.text)
    assert (await http.get(path)).status_code == 401


# --- facts from a real case -------------------------------------------------------------------


async def test_a_case_s_facts_reach_the_store(dev_env, tmp_path):
    client = dev_env.client
    live = ReportStore(f"sqlite:///{tmp_path / 'reports.sqlite'}")

    @activity.defn(name="deliver")
    async def deliver(d: Delivery) -> DeliveryReceipt:
        return DeliveryReceipt(channel=d.channel, idempotency_key=d.idempotency_key or "k")

    async def write(facts):
        await asyncio.to_thread(live.write, [facts])

    base = Settings(demo=True, report_facts=False)
    real = {
        getattr(a, "__temporal_activity_definition").name: a for a in build_activities(base, client)
    }
    real.pop("deliver")
    real["dispatch"] = make_dispatch(deliver, real["sync_crm"], write)
    async with run_worker(
        client, workflows=[EscalationWorkflow], activities=[*real.values(), deliver]
    ) as task_queue:
        app = create_app(Settings(demo=True, task_queue=task_queue), client, live)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
                opened = await http.post("/escalations", json=request_body(), headers=auth("agent"))
                assert opened.status_code == 201, opened.text
                eid = opened.json()["id"]
                answer = await http.post(
                    f"/escalations/{eid}/consult-answer",
                    json={
                        "resolves": True,
                        "answer": "refund both charges (KB duplicate-charge-refund)",
                        "customer_message": "refunded both charges",  # what the agent confirmed
                    },
                    headers=auth("helpline"),
                )
                assert answer.status_code == 200, answer.text
                deadline = time.monotonic() + 20
                while True:
                    r = await http.get("/reports/resolution", headers=auth("manager"))
                    helpline = r.json()["rows"][1]
                    if helpline["cases"] == 1 or time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.2)
                assert helpline == {"tier": "helpline", "cases": 1, "share": 1.0}
                volume = (await http.get("/reports/volume", headers=auth("manager"))).json()
                assert [(r["trigger"], r["escalations"]) for r in volume["rows"]] == [
                    ("customer_request", 1)
                ]
    with live.engine.connect() as conn:
        who, outcome = conn.execute(select(cases.c.customer_id, cases.c.outcome)).one()
        actions = [a for (a,) in conn.execute(select(events.c.action).order_by(events.c.seq))]
        visits = conn.execute(
            select(stage_visits.c.stage, stage_visits.c.left_at.is_not(None)).order_by(
                stage_visits.c.entered_at, stage_visits.c.stage
            )
        ).all()
    assert (who, outcome) == ("C-1001", "refunded both charges")
    # every timeline entry, once, in order
    assert actions == [
        "opened",
        "triaged",
        "tier1_declined",
        "consult_requested",
        "consult_answered",
        "resolved",
    ]
    # the consult and the resolved stage ended; the case rests in follow-up
    assert sorted(tuple(v) for v in visits) == [
        ("follow_up", False),
        ("helpline_consult", True),
        ("resolved", True),
    ]
    live.close()
