"""POST /escalations triages in the API with the policy copy the workflow is started with: the
answer is the state the workflow then holds, and it does not wait for a worker."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from activities import build_activities
from api.gateway import escalation_id_for
from api.main import create_app
from core.settings import CONFIG_DIR, Settings
from tests.api.conftest import auth, request_body, unique
from tests.conftest import run_worker
from tests.workflows.helpers import READING
from workflows.escalation import EscalationWorkflow

pytestmark = pytest.mark.timeout(90)

SAME = (
    "id",
    "severity",
    "urgency",
    "avoidable",
    "policy_version",
    "clocks",
    "promise_at",
    "resolved_at_tier",
    "granted_remedy",
    "opened_at",
    "assigned_team",
    "assignee",
)


def comparable(view: dict) -> dict:
    out = {k: view[k] for k in SAME}
    # remaining business seconds depend on when the view was read
    out["clocks"] = [
        {k: v for k, v in c.items() if k != "remaining_business_s"} for c in view["clocks"]
    ]
    return out


async def timeline(stack, eid: str) -> list[str]:
    r = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    assert r.status_code == 200, r.text
    # (the reading of the customer's words falls wherever its activity answers)
    return [e["action"] for e in r.json()["items"] if e["action"] not in READING]


async def test_open_answers_what_the_workflow_then_holds(stack):
    answer = await stack.open(category="billing")  # refund 600 GBP: above tier 1
    assert answer["stage"] == "helpline_consult"
    assert answer["severity"] and answer["promise_at"] and len(answer["clocks"]) == 2
    assert answer["promise_at"] == next(
        c["due_at"] for c in answer["clocks"] if c["name"] == "resolution"
    )
    eid = answer["id"]
    for _ in range(100):  # until the workflow has done its consult entry work
        if "consult_requested" in await timeline(stack, eid):
            break
        await asyncio.sleep(0.1)
    live = (await stack.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert live["stage"] == "helpline_consult"
    assert comparable(live) == comparable(answer)
    assert live["next_deadline"] == answer["next_deadline"]  # the consult window
    assert (await timeline(stack, eid))[:4] == [
        "opened",
        "triaged",
        "tier1_declined",
        "consult_requested",
    ]


async def test_open_within_tier1_waits_for_the_goodwill_budget_then_is_granted(stack):
    """The demo policy has a goodwill budget: a grant tier 1 allows answers `tier1_exception`
    and is granted once the workflow has read the customer's past year."""
    answer = await stack.open(
        requested_remedy={"kind": "refund", "amount": 40.0, "currency": "GBP"}
    )
    assert answer["stage"] == "tier1_exception" and answer["granted_remedy"] is None
    live = await stack.wait_stage(answer["id"], "follow_up")
    assert live["resolved_at_tier"] == "tier1" and live["granted_remedy"]["amount"] == 40.0
    assert live["promise_at"] is None
    actions = await timeline(stack, answer["id"])
    assert actions[2:4] == ["customer_history", "tier1_granted"]


async def test_open_answers_at_once_without_a_worker_and_the_case_waits_for_one(stack):
    """No worker on the task queue: the answer is still the triaged case; the workflow picks
    it up when a worker comes."""
    settings = Settings(demo=True, task_queue=unique("nobody-"))
    app = create_app(settings, client=stack.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=30
        ) as http,
    ):
        r = await http.post("/escalations", json=request_body(), headers=auth("agent"))
        assert r.status_code == 201, r.text
        answer = r.json()
        assert answer["stage"] == "helpline_consult" and answer["severity"]
        local = [
            a
            for a in build_activities(settings, stack.client)
            if getattr(a, "__temporal_activity_definition").name != "deliver"
        ]
        async with run_worker(
            stack.client,
            workflows=[EscalationWorkflow],
            activities=local,
            task_queue=settings.task_queue,
        ):
            for _ in range(100):
                r = await http.get(f"/escalations/{answer['id']}", headers=auth("operator"))
                if r.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert r.status_code == 200, r.text
            assert comparable(r.json()) == comparable(answer)
            await stack.client.get_workflow_handle(f"escalation-{answer['id']}").terminate(
                "test over"
            )


async def test_unreadable_policy_is_503_and_starts_nothing(stack, tmp_path):
    broken = tmp_path / "policy.toml"
    broken.write_text("version = [unterminated\n")
    settings = Settings(
        demo=True, task_queue=stack.settings.task_queue, policy_path=broken, data_dir=tmp_path
    )
    app = create_app(settings, client=stack.client)
    ref = unique("CRM-")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=30
        ) as http,
    ):
        r = await http.post(
            "/escalations", json=request_body(external_ref=ref), headers=auth("agent")
        )
    assert r.status_code == 503 and r.json()["error"] == "unavailable", r.text
    ok = await stack.open(external_ref=ref)  # the retry, once the policy is readable
    assert ok["stage"] == "helpline_consult"


@pytest.mark.parametrize(
    ("template", "named"),
    [
        ('"We will call you by {promse_at}."', "unknown placeholder {promse_at}"),
        ('"Refund {remedy:d} issued."', "format does not fit"),
        ('"Broken {brace"', "not a valid template"),
    ],
)
async def test_a_policy_with_a_bad_template_is_503_naming_it_and_starts_nothing(
    stack, tmp_path, template, named
):
    """Accepted before, such a policy failed every case pinned to it at its first message."""
    text = (CONFIG_DIR / "policy.toml").read_text()
    text, n = re.subn(r"(?m)^opened = .*$", f"opened = {template}", text)
    assert n == 1
    bad = tmp_path / "policy.toml"
    bad.write_text(text)
    settings = Settings(
        demo=True, task_queue=stack.settings.task_queue, policy_path=bad, data_dir=tmp_path
    )
    app = create_app(settings, client=stack.client)
    ref = unique("CRM-")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=30
        ) as http,
    ):
        r = await http.post(
            "/escalations", json=request_body(external_ref=ref), headers=auth("agent")
        )
    assert r.status_code == 503, r.text
    assert "templates.opened" in r.json()["detail"] and named in r.json()["detail"], r.text
    listed = await stack.client.count_workflows(
        f"WorkflowId = 'escalation-{escalation_id_for(ref, 'p-agent')}'"
    )
    assert listed.count == 0
