"""Issue 22 through the API: a resolving help-line answer is advice to the agent; the customer
hears what the agent confirmed or the policy's message."""

from __future__ import annotations

import asyncio
import time

from tests.api.conftest import auth
from workflows.escalation.actions import HELPLINE_OUTCOME


async def _customer_bodies(stack, eid: str, event: str, timeout: float = 15) -> list[str]:
    deadline = time.monotonic() + timeout
    while True:
        found = [
            d.body
            for d in stack.deliveries
            if d.escalation_id == eid and d.event == event and d.audience == "customer"
        ]
        if found or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.1)


async def test_resolving_answer_with_the_agents_confirmed_message(stack):
    view = await stack.open()
    eid = view["id"]
    await stack.wait_stage(eid, "helpline_consult")
    confirmed = "We have refunded the second charge; it shows within 3 working days."
    r = await stack.http.post(
        f"/escalations/{eid}/consult-answer",
        json={
            "resolves": True,
            "answer": "Reverse via tool code DC-7",
            "customer_message": confirmed,
        },
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    assert (r.json()["stage"], r.json()["outcome"]) == ("resolved", confirmed)
    told = await _customer_bodies(stack, eid, "resolved")
    assert told and confirmed in told[0] and "DC-7" not in told[0]
    timeline = (await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("agent"))).json()
    answered = [e for e in timeline["items"] if e["action"] == "consult_answered"]
    assert answered[0]["detail"] == "Reverse via tool code DC-7"


async def test_resolving_answer_without_a_message_sends_the_policys_words(stack):
    view = await stack.open()
    eid = view["id"]
    await stack.wait_stage(eid, "helpline_consult")
    r = await stack.http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": True, "answer": "Reverse via tool code DC-7"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == HELPLINE_OUTCOME
    told = await _customer_bodies(stack, eid, "helpline_resolved")
    assert told and "DC-7" not in told[0]


async def test_an_empty_customer_message_is_refused_by_name(stack):
    view = await stack.open()
    eid = view["id"]
    await stack.wait_stage(eid, "helpline_consult")
    r = await stack.http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": True, "answer": "x", "customer_message": ""},
        headers=auth("helpline"),
    )
    assert r.status_code == 422
    assert r.json()["error"] and "customer_message" in r.json()["detail"]
