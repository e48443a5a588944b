"""Managers reassign a case and chase its owner, through the API: both recorded, the new owner
told and asked to acknowledge again, the owner chased by a staff message."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.api.conftest import auth
from tests.api.test_access import case_at

# the new owner and the chased owner are told at once only while they are on duty (off duty, the
# message waits for their working hours: tests/workflows/test_ownership.py covers that)
pytestmark = [pytest.mark.timeout(120), pytest.mark.staff_on_duty]


async def wait_delivery(stack, eid: str, event: str, to: str) -> str:
    deadline = time.monotonic() + 15
    while True:
        for d in stack.deliveries:
            if d.escalation_id == eid and d.event == event and d.recipient_name == to:
                return d.body
        assert time.monotonic() < deadline, f"no {event} message to {to}"
        await asyncio.sleep(0.1)


async def timeline(stack, eid: str) -> list[dict]:
    r = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    return r.json()["items"]


async def test_a_manager_reassigns_and_the_new_owner_must_acknowledge_again(stack):
    eid = await case_at(stack, "acknowledged")  # owned and acknowledged by Sam Specialist
    url = f"/escalations/{eid}/reassign"
    r = await stack.http.post(
        url, json={"assignee": "p-manager", "reason": "x"}, headers=auth("manager")
    )
    assert r.status_code == 422 and "not a specialist" in r.json()["detail"], r.text
    r = await stack.http.post(url, json={"assignee": "p-specialist"}, headers=auth("manager"))
    assert r.status_code == 409 and "already assigned" in r.json()["detail"], r.text
    r = await stack.http.post(url, json={"assignee": "p-specialist-2"}, headers=auth("supervisor"))
    assert r.status_code == 403, r.text

    r = await stack.http.post(
        url,
        json={"assignee": "p-specialist-2", "reason": "Sam is on leave"},
        headers=auth("manager"),
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["assignee"] == "p-specialist-2" and view["stage"] == "specialist"
    body = await wait_delivery(stack, eid, "transferred", "Sky Specialist")
    assert "acknowledge by" in body.lower()
    entry = next(i for i in await timeline(stack, eid) if i["action"] == "reassigned")
    assert entry["role"] == "manager"
    assert (
        entry["detail"]
        == "from Sam Specialist to Sky Specialist (billing-specialists): Sam is on leave"
    )

    # the previous owner may no longer resolve; their team may take it back by acknowledging
    r = await stack.http.post(
        f"/escalations/{eid}/resolve", json={"outcome": "done"}, headers=auth("specialist")
    )
    assert r.status_code == 403, r.text
    r = await stack.http.post(f"/escalations/{eid}/acknowledge", headers=auth("specialist"))
    assert r.status_code == 200 and r.json()["assignee"] == "p-specialist", r.text


async def test_managers_and_supervisors_chase_the_owner(stack):
    waiting = await case_at(stack, "helpline_consult")
    r = await stack.http.post(
        f"/escalations/{waiting}/chase", json={"message": "any news?"}, headers=auth("manager")
    )
    assert r.status_code == 409, r.text  # nobody owns it yet

    eid = await case_at(stack, "acknowledged")
    r = await stack.http.post(
        f"/escalations/{eid}/chase",
        json={"message": "Customer called twice today"},
        headers=auth("supervisor"),
    )
    assert r.status_code == 200, r.text
    body = await wait_delivery(stack, eid, "chased", "Sam Specialist")
    assert "Sasha Supervisor is chasing" in body and "Customer called twice today" in body
    entry = next(i for i in await timeline(stack, eid) if i["action"] == "owner_chased")
    assert (entry["role"], entry["detail"]) == (
        "supervisor",
        "Sam Specialist: Customer called twice today",
    )
    r = await stack.http.post(
        f"/escalations/{eid}/chase", json={"message": "hurry"}, headers=auth("agent")
    )
    assert r.status_code == 403, r.text
