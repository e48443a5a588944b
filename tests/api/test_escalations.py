"""Driving escalations through the API with the real workflow on the dev server."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from tests.api.conftest import auth, request_body, unique
from tests.workflows.helpers import record_history

pytestmark = pytest.mark.timeout(90)


async def test_open_is_idempotent_by_header(stack):
    key = unique("key-")
    headers = {**auth("agent"), "Idempotency-Key": key}
    first = await stack.http.post("/escalations", json=request_body(), headers=headers)
    assert first.status_code == 201, first.text
    view = first.json()
    assert (
        view["id"] == "E-" + hashlib.sha256(f"p-agent\x00{key}".encode()).hexdigest()[:16].upper()
    )
    assert first.headers["Location"] == f"/escalations/{view['id']}"
    assert view["customer"]["name"] == "Ada Lovelace"
    again = await stack.http.post("/escalations", json=request_body(), headers=headers)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == view["id"]
    # the same key with a different body is a mistake, not a retry
    other = await stack.http.post(
        "/escalations", json=request_body(summary="Something else"), headers=headers
    )
    assert other.status_code == 409 and other.json()["error"] == "conflict"


async def test_open_is_idempotent_by_external_ref(stack):
    ref = unique("CRM-")
    first = await stack.http.post(
        "/escalations", json=request_body(external_ref=ref), headers=auth("system")
    )
    assert first.status_code == 201, first.text
    again = await stack.http.post(
        "/escalations", json=request_body(external_ref=ref), headers=auth("system")
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["external_ref"] == ref
    # without any key every request is a new escalation
    a = await stack.open()
    b = await stack.open()
    assert a["id"] != b["id"]


async def test_a_hundred_concurrent_retries_make_one_workflow(stack):
    key = unique("burst-")
    headers = {**auth("system"), "Idempotency-Key": key}
    answers = await asyncio.wait_for(
        asyncio.gather(
            *(
                stack.http.post("/escalations", json=request_body(), headers=headers)
                for _ in range(100)
            )
        ),
        60,
    )
    codes = sorted(r.status_code for r in answers)
    assert codes.count(201) == 1 and codes.count(200) == 99, codes
    ids = {r.json()["id"] for r in answers}
    assert len(ids) == 1
    [eid] = ids
    n = await stack.wait_listed(f"WorkflowId = 'escalation-{eid}'", 1)
    assert n == 1


async def test_demo_path_to_executive_signoff(stack):
    view = await stack.open(category="billing")  # refund 600 GBP
    eid = view["id"]
    await stack.wait_stage(eid, "helpline_consult")
    r = await stack.http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": False, "answer": "needs a specialist"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    # the answer comes once the case is routed: the help line sees who has it now
    answered = r.json()
    assert answered["stage"] == "specialist" and answered["assignee"] is not None
    assert answered["assigned_team"] == "billing-specialists"
    now = (await stack.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert (
        {k: v for k, v in answered.items() if k != "clocks"}  # clocks count as of now
        == {k: v for k, v in now.items() if k != "clocks"}
    )
    # a note from any staff role; the specialist takes the case
    r = await stack.http.post(
        f"/escalations/{eid}/notes", json={"text": "two charges seen"}, headers=auth("agent")
    )
    assert r.status_code == 200, r.text
    r = await stack.http.post(f"/escalations/{eid}/acknowledge", headers=auth("specialist"))
    assert r.status_code == 200, r.text
    assert r.json()["assignee"] == "p-specialist"
    # approving with nothing pending does not fit the stage
    r = await stack.http.post(
        f"/escalations/{eid}/approvals", json={"decision": "approve"}, headers=auth("executive")
    )
    assert r.status_code == 409 and r.json()["error"] == "conflict"
    # the workflow's validator refuses a currency other than the policy's: 422, names the field
    r = await stack.http.post(
        f"/escalations/{eid}/proposals",
        headers=auth("specialist"),
        json={"remedy": {"kind": "refund", "amount": 600, "currency": "USD"}},
    )
    assert r.status_code == 422 and "currency" in r.json()["detail"], r.text
    r = await stack.http.post(
        f"/escalations/{eid}/proposals",
        json={
            "remedy": {
                "kind": "refund",
                "amount": 600,
                "currency": "GBP",
                "description": "refund both charges",
            }
        },
        headers=auth("specialist"),
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["stage"] == "executive_signoff"
    assert view["pending_approval"]["required_authority"] >= 600
    # the supervisor's 500 does not cover 600: 403, and nothing changes
    r = await stack.http.post(
        f"/escalations/{eid}/approvals",
        json={"decision": "approve", "comment": "ok"},
        headers=auth("supervisor"),
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "forbidden"
    assert "500" in r.json()["detail"] and "600" in r.json()["detail"], r.text  # both limits
    assert (await stack.wait_stage(eid, "executive_signoff"))["pending_approval"]
    r = await stack.http.post(
        f"/escalations/{eid}/approvals",
        json={"decision": "approve", "comment": "long-standing customer"},
        headers=auth("executive"),
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["stage"] in ("resolved", "follow_up")
    assert view["resolved_at_tier"] == "executive"
    assert view["granted_remedy"]["amount"] == 600
    view = await stack.wait_stage(eid, "follow_up")
    assert view["resolved_at_tier"] == "executive"

    r = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    assert r.status_code == 200
    actions = [i["action"] for i in r.json()["items"]]
    for expected in (
        "opened",
        "triaged",
        "tier1_declined",
        "consult_answered",
        "transferred",
        "note_added",
        "acknowledged",
        "proposal_made",
        "approval_granted",
        "resolved",
    ):
        assert expected in actions, (expected, actions)
    entry = next(i for i in r.json()["items"] if i["action"] == "approval_granted")
    assert entry["actor"] == "Eve Executive" and entry["role"] == "executive"
    # the whole sign-off path as the API drives it: a replay guard too
    await record_history(stack.client.get_workflow_handle(f"escalation-{eid}"), "api_signoff")


async def test_actions_after_cancel_are_409(stack):
    view = await stack.open(requested_remedy=None, trigger="technical_fault")
    eid = view["id"]
    r = await stack.http.post(
        f"/escalations/{eid}/cancel", json={"reason": "duplicate"}, headers=auth("operator")
    )
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "cancelled"
    await asyncio.sleep(0.5)  # let the workflow finish
    for path, body, role in (
        ("notes", {"text": "late"}, "agent"),
        ("cancel", {"reason": "again"}, "manager"),
        ("approvals", {"decision": "approve"}, "executive"),
        ("acknowledge", {}, "specialist"),
        ("reopen", {"reason": "again"}, "manager"),
    ):
        r = await stack.http.post(f"/escalations/{eid}/{path}", json=body, headers=auth(role))
        assert r.status_code == 409, (path, r.text)
        assert r.json()["error"] == "conflict"
    # a closed case can still be read
    r = await stack.http.get(f"/escalations/{eid}", headers=auth("agent"))
    assert r.status_code == 200 and r.json()["stage"] == "cancelled"
    r = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("agent"))
    assert "cancelled" in [i["action"] for i in r.json()["items"]]


async def test_stage_mismatch_is_409_and_retries_with_a_key_act_once(stack):
    view = await stack.open()
    eid = view["id"]
    await stack.wait_stage(eid, "helpline_consult")
    r = await stack.http.post(
        f"/escalations/{eid}/resolve", json={"outcome": "done"}, headers=auth("specialist")
    )
    assert r.status_code == 409, r.text
    headers = {**auth("agent"), "Idempotency-Key": unique()}
    for _ in range(3):
        r = await stack.http.post(
            f"/escalations/{eid}/notes", json={"text": "once"}, headers=headers
        )
        assert r.status_code == 200, r.text
    r = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("agent"))
    notes = [i for i in r.json()["items"] if i["action"] == "note_added"]
    assert len(notes) == 1


async def test_list_filters_and_pages(stack):
    customer = unique("C-")
    ids = []
    for i in range(5):
        view = await stack.open(
            customer={
                "id": customer,
                "name": f"Customer {i}",
                "tier": "gold" if i % 2 else "standard",
            },
            summary=f"case {i}",
        )
        ids.append(view["id"])
    base = f"CustomerId = '{customer}' AND WorkflowType = 'EscalationWorkflow'"
    assert await stack.wait_listed(base, 5) == 5
    await stack.wait_listed(base + " AND EscalationStage = 'helpline_consult'", 5)

    seen: list[dict] = []
    token = None
    while True:
        params = {"customer_id": customer, "page_size": 2}
        if token:
            params["page_token"] = token
        r = await stack.http.get("/escalations", params=params, headers=auth("operator"))
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["items"]) <= 2
        seen += page["items"]
        token = page["next_page_token"]
        if not token:
            break
    assert [i["id"] for i in seen] == list(reversed(ids))  # newest first
    item = seen[0]
    assert item["customer_id"] == customer and item["customer_name"] == "Customer 4"
    assert item["summary"] == "case 4" and item["status"] == "running"
    assert item["trigger"] == "customer_request" and item["channel"] == "phone"
    assert item["severity"] and item["opened_at"]

    r = await stack.http.get(
        "/escalations",
        headers=auth("agent"),
        params={"customer_id": customer, "stage": "helpline_consult", "breached": "false"},
    )
    assert len(r.json()["items"]) == 5
    r = await stack.http.get(
        "/escalations",
        headers=auth("agent"),
        params={"customer_id": customer, "stage": "specialist"},
    )
    assert r.json()["items"] == []
    r = await stack.http.get(
        "/escalations", headers=auth("agent"), params={"customer_id": customer, "breached": "true"}
    )
    assert r.json()["items"] == []
    r = await stack.http.get(
        "/escalations",
        headers=auth("agent"),
        params={"customer_id": customer, "assignee": "p-nobody"},
    )
    assert r.json() == {"items": [], "next_page_token": None}
    r = await stack.http.get(
        "/escalations",
        headers=auth("agent"),
        params={"customer_id": customer, "severity": item["severity"]},
    )
    assert len(r.json()["items"]) >= 1


async def test_server_timing_names_the_time_spent_waiting_on_temporal(stack):
    eid = (await stack.open())["id"]
    r = await stack.http.get(f"/escalations/{eid}", headers=auth("operator"))
    parts = dict(
        (name, float(dur.removeprefix("dur=")))
        for name, dur in (p.strip().split(";") for p in r.headers["server-timing"].split(","))
    )
    assert 0 < parts["temporal"] <= parts["app"]  # the state query is most of the request
    r = await stack.http.get("/escalations/not-an-id", headers=auth("operator"))
    assert "temporal;dur=0.0" in r.headers["server-timing"]  # refused before asking Temporal
