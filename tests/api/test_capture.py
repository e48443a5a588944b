"""Guided capture and the customer's escalation request through the API on the dev server: the
policy's questions (`GET /policy/capture`), 422 naming the field when an agent leaves a required
one out or answers in the wrong type, a system's case held until the frontline answers
(`POST /escalations/{id}/answers`), and "I want this escalated" from the status link."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from core.status_links import StatusLinks
from tests.api.conftest import auth, request_body, unique

pytestmark = pytest.mark.timeout(90)


async def test_the_policy_says_what_to_ask(stack):
    r = await stack.http.get(
        "/policy/capture", params={"category": "billing"}, headers=auth("agent")
    )
    assert r.status_code == 200, r.text
    questions = {q["id"]: (q["type"], q["required"]) for q in r.json()["questions"]}
    assert questions["invoice_number"] == ("text", True)
    assert questions["amount_disputed"] == ("money", True)
    assert [c["id"] for c in r.json()["checklist"]][:2] == ["acknowledged_upset", "asked_outcome"]
    r = await stack.http.get(
        "/policy/capture", params={"category": "x" * 65}, headers=auth("agent")
    )
    assert (r.status_code, r.json()["error"]) == (422, "invalid")


async def test_an_agent_must_answer_the_required_questions_in_their_types(stack):
    body = request_body(external_ref=unique("capture"), answers={"amount_disputed": "lots"})
    r = await stack.http.post("/escalations", json=body, headers=auth("agent"))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert r.json()["error"] == "invalid"
    assert "answers.invoice_number: Which invoice or charge is it?: required" in detail
    assert "answers.amount_disputed: How much is in dispute?: an amount in digits" in detail
    # nothing was started: the same key with the right answers opens the case
    body["answers"] = {"invoice_number": "INV-1", "amount_disputed": "600"}
    r = await stack.http.post("/escalations", json=body, headers=auth("agent"))
    assert r.status_code == 201, r.text
    assert r.json()["missing_answers"] == []


async def test_a_systems_case_waits_for_the_frontlines_answers_before_a_specialist(stack):
    view = await stack.open("system", answers={})
    eid = view["id"]
    assert view["missing_answers"] == ["invoice_number", "amount_disputed"]
    await stack.wait_stage(eid, "helpline_consult")
    r = await stack.http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": False, "answer": "Needs a billing specialist"},
        headers=auth("helpline"),
    )
    assert r.status_code == 409, r.text
    assert "Which invoice or charge is it?" in r.json()["detail"]

    r = await stack.http.post(
        f"/escalations/{eid}/answers", json={"answers": {"colour": "red"}}, headers=auth("agent")
    )
    assert r.status_code == 422 and "not a question of this category" in r.json()["detail"]
    r = await stack.http.post(
        f"/escalations/{eid}/answers", json={"answers": {}}, headers=auth("operator")
    )
    assert r.status_code == 403, r.text
    r = await stack.http.post(
        f"/escalations/{eid}/answers",
        json={"answers": {"invoice_number": "INV-7", "amount_disputed": "600.00"}},
        headers=auth("agent"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["missing_answers"] == []
    routed = await stack.consult_answer(eid)
    assert routed["stage"] == "specialist" and routed["assignee"]
    handover = await stack.http.get(f"/escalations/{eid}/handover", headers=auth("specialist"))
    answers = [(a["question"], a["answer"]) for a in handover.json()["answers"]]
    assert answers == [
        ("Which invoice or charge is it?", "INV-7"),
        ("How much is in dispute?", "600.00"),
    ]


async def test_the_customer_asks_for_escalation_from_their_link(stack):
    eid = (await stack.open())["id"]
    await stack.wait_stage(eid, "helpline_consult")
    path = StatusLinks.from_settings(stack.settings).url(eid, datetime.now(UTC))
    path = path.removeprefix(stack.settings.public_url.rstrip("/")) + "/escalate"
    async with httpx.AsyncClient(
        transport=stack.http._transport, base_url=stack.http.base_url
    ) as anyone:
        r = await anyone.post(path, json={"reason": ""})
        assert r.status_code == 422 and "reason" in r.json()["detail"]
        r = await anyone.post(path, json={"reason": "Nobody has called me back"})
        assert r.status_code == 200, r.text
        assert r.json()["escalation_asked_at"] and not r.json()["can_ask_escalation"]
        again = await anyone.post(path, json={"reason": "Still nobody"})
        assert (again.status_code, again.json()["error"]) == (409, "conflict")
        assert "already asked" in again.json()["detail"]
        forged = await anyone.post(path.replace("/status/", "/status/x"), json={"reason": "x"})
        assert forged.status_code == 403
    timeline = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    asked = [e for e in timeline.json()["items"] if e["action"] == "escalation_asked"]
    assert [(e["role"], e["detail"]) for e in asked] == [("customer", "Nobody has called me back")]
    # (the manager's message itself, which waits for their working hours at night:
    # tests/workflows/test_capture.py, in office hours)
