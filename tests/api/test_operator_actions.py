"""The operators' levers through the API (issue 31): cancel with a reason, reset to the last good
task, retry a stuck activity; each on the timeline. A case ended in Temporal itself (terminated
by someone with direct access) shows as ended, never as still open. Real dev server and worker.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.api.conftest import auth

pytestmark = pytest.mark.timeout(120)


async def timeline(stack, eid: str) -> list[dict]:
    r = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


async def listed_stage(stack, eid: str, stage: str, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await stack.http.get(
            "/escalations", params={"stage": stage, "page_size": 100}, headers=auth("operator")
        )
        assert r.status_code == 200, r.text
        if any(i["id"] == eid and i["stage"] == stage for i in r.json()["items"]):
            return True
        await asyncio.sleep(0.2)
    return False


async def test_a_case_terminated_in_temporal_shows_ended_and_a_reset_brings_it_back(stack):
    eid = (await stack.open(summary="Terminated behind the API"))["id"]
    await stack.wait_stage(eid, "helpline_consult")
    handle = stack.client.get_workflow_handle(f"escalation-{eid}")
    await handle.terminate(reason="clicked in the UI")

    view = (await stack.http.get(f"/escalations/{eid}", headers=auth("agent"))).json()
    assert view["stage"] == "terminated"
    ended = view["ended_outside"]
    assert ended["status"] == "terminated"
    assert ended["reason"] == "clicked in the UI"
    assert ended["stage"] == "helpline_consult" and ended["at"] and ended["by"]
    last = (await timeline(stack, eid))[-1]
    assert last["action"] == "ended_outside" and "clicked in the UI" in last["detail"]
    assert await listed_stage(stack, eid, "terminated")
    # it takes no more actions
    r = await stack.http.post(
        f"/escalations/{eid}/notes", json={"text": "hello?"}, headers=auth("agent")
    )
    assert r.status_code == 409, r.text

    # an operator resets it to its last good task: it runs again, the reset on its timeline
    r = await stack.http.post(
        f"/escalations/{eid}/operator/reset", json={"reason": ""}, headers=auth("operator")
    )
    assert r.status_code == 422, r.text  # a reason is required
    r = await stack.http.post(
        f"/escalations/{eid}/operator/reset",
        json={"reason": "terminated by mistake"},
        headers=auth("manager"),
    )
    assert r.status_code == 403, r.text
    r = await stack.http.post(
        f"/escalations/{eid}/operator/reset",
        json={"reason": "terminated by mistake"},
        headers=auth("operator"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "helpline_consult"
    view = (await stack.http.get(f"/escalations/{eid}", headers=auth("agent"))).json()
    assert view["stage"] == "helpline_consult" and view["ended_outside"] is None
    items = await timeline(stack, eid)
    reset = [e for e in items if e["action"] == "workflow_reset"]
    assert len(reset) == 1 and reset[0]["role"] == "operator"
    assert "terminated by mistake" in reset[0]["detail"]
    assert items[0]["action"] == "opened"  # the new run carries the case's history
    await stack.consult_answer(eid)  # and the process goes on
    await stack.wait_stage(eid, "specialist")


async def test_an_operator_cancels_with_a_reason_on_the_timeline(stack):
    eid = (await stack.open(summary="Cancel with a reason"))["id"]
    await stack.wait_stage(eid, "helpline_consult")
    url = f"/escalations/{eid}/operator/cancel"
    r = await stack.http.post(url, json={}, headers=auth("operator"))
    assert r.status_code == 422, r.text
    r = await stack.http.post(url, json={"reason": "duplicate of E-1"}, headers=auth("agent"))
    assert r.status_code == 403, r.text
    r = await stack.http.post(url, json={"reason": "duplicate of E-1"}, headers=auth("operator"))
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "cancelled" and r.json()["ended_outside"] is None
    cancelled = [e for e in await timeline(stack, eid) if e["action"] == "cancelled"]
    assert cancelled[0]["role"] == "operator" and cancelled[0]["detail"] == "duplicate of E-1"
    # a case ended through the process is not reset (it would end the same way again)
    r = await stack.http.post(
        f"/escalations/{eid}/operator/reset", json={"reason": "undo"}, headers=auth("operator")
    )
    assert r.status_code == 409, r.text


async def test_retry_activity_with_nothing_pending_is_409(stack):
    eid = (await stack.open(summary="Nothing stuck"))["id"]
    await stack.wait_stage(eid, "helpline_consult")
    # the opening's messages go out in a dispatch activity: on a busy host it may still run
    for _ in range(100):
        r = await stack.http.get(
            f"/escalations/{eid}/operator/activities", headers=auth("operator")
        )
        assert r.status_code == 200, r.text
        if r.json()["items"] == []:
            break
        await asyncio.sleep(0.1)
    assert r.json()["items"] == []
    r = await stack.http.post(
        f"/escalations/{eid}/operator/retry-activity",
        json={"reason": "stuck?"},
        headers=auth("operator"),
    )
    assert r.status_code == 409, r.text
    assert r.json()["error"] == "conflict"
