"""Through the API: a legal threat goes straight to the escalated-accounts manager, who works it
as its owner (acknowledge, resolve); a specialist of a team may not take it over."""

from __future__ import annotations

from tests.api.conftest import auth
from tests.workflows.helpers import READING


async def test_the_manager_owns_a_threat_from_the_opening(stack):
    opened = await stack.open(trigger="legal_threat")
    eid = opened["id"]
    # the API answers with the opening: no tier 1, no help line
    assert (opened["stage"], opened["severity"]) == ("specialist", "P1")
    assert opened["triage_rule"] == 1 and "legal_threat" in opened["triage_reason"]
    view = await stack.wait_stage(eid, "specialist")
    while view["assignee"] is None:
        view = await stack.wait_stage(eid, "specialist")
    assert (view["assignee"], view["assigned_team"]) == ("p-manager", "escalations-management")

    r = await stack.http.post(f"/escalations/{eid}/acknowledge", headers=auth("specialist"))
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    r = await stack.http.post(f"/escalations/{eid}/acknowledge", headers=auth("manager"))
    assert r.status_code == 200, r.text
    first = next(c for c in r.json()["clocks"] if c["name"] == "first_response")
    assert first["met_at"] is not None and not first["breached"]
    r = await stack.http.post(
        f"/escalations/{eid}/resolve",
        json={"outcome": "Apologised and corrected the account"},
        headers=auth("manager"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["stage"] in ("resolved", "follow_up")
    items = (await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("agent"))).json()
    actions = [i["action"] for i in items["items"] if i["action"] not in READING]
    assert actions[:6] == [
        "opened",
        "triaged",
        "tier1_declined",
        "customer_history",  # read for the handover before the transfer
        "transferred",
        "acknowledged",
    ]
    assert "consult_requested" not in actions


async def test_a_manager_may_not_act_as_owner_on_a_specialists_case(stack):
    eid = (await stack.open())["id"]
    await stack.consult_answer(eid, "specialist")
    r = await stack.http.post(f"/escalations/{eid}/acknowledge", headers=auth("manager"))
    assert r.status_code == 403, r.text
    assert "only their team may take it over" in r.json()["detail"]


async def test_the_manager_who_proposed_a_remedy_may_not_approve_it(stack):
    """Four eyes: the proposer never signs off their own remedy, whatever their role or
    authority; the refusal enters no history and another approver decides."""
    eid = (await stack.open(trigger="legal_threat"))["id"]
    view = await stack.wait_stage(eid, "specialist")
    while view["assignee"] is None:
        view = await stack.wait_stage(eid, "specialist")
    assert (
        await stack.http.post(f"/escalations/{eid}/acknowledge", headers=auth("manager"))
    ).status_code == 200
    remedy = {"kind": "refund", "amount": 100.0, "currency": "GBP", "description": "refund"}
    r = await stack.http.post(
        f"/escalations/{eid}/proposals", json={"remedy": remedy}, headers=auth("manager")
    )
    assert r.status_code == 200 and r.json()["stage"] == "executive_signoff", r.text
    r = await stack.http.post(
        f"/escalations/{eid}/approvals",
        json={"decision": "approve", "comment": "mine"},
        headers=auth("manager"),
    )
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    assert "four eyes" in r.json()["detail"] and "proposed" in r.json()["detail"]
    items = (await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("agent"))).json()
    assert "approval_granted" not in [i["action"] for i in items["items"]]
    r = await stack.http.post(
        f"/escalations/{eid}/approvals",
        json={"decision": "approve", "comment": "checked"},
        headers=auth("supervisor"),
    )
    assert r.status_code == 200 and r.json()["resolved_at_tier"] == "executive", r.text
