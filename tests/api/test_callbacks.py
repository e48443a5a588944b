"""Promised callbacks through the API: an agent promises, the case lists it, the promise is
recorded done once; times the promiser cannot keep are 422 in the one error shape. (The
reminder and the breach are timers: tests/workflows/test_promises.py.)"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.api.conftest import auth
from tests.api.test_access import case_at, next_working_morning

pytestmark = pytest.mark.timeout(120)


async def test_an_agent_promises_a_callback_and_records_it_done_once(stack):
    eid = await case_at(stack, "helpline_consult")
    at = next_working_morning()
    r = await stack.http.post(
        f"/escalations/{eid}/callbacks",
        json={"at": at.isoformat(), "note": "Confirm the refund"},
        headers=auth("agent"),
    )
    assert r.status_code == 200, r.text
    [cb] = r.json()["callbacks"]
    assert cb["number"] == 1 and cb["promised_by"] == "Alex Agent" and cb["done_at"] is None
    assert datetime.fromisoformat(cb["at"]) == at
    assert datetime.fromisoformat(cb["remind_at"]) < at

    done = f"/escalations/{eid}/callbacks/1/done"
    r = await stack.http.post(done, json={"note": "Customer happy"}, headers=auth("agent"))
    assert r.status_code == 200, r.text
    assert r.json()["callbacks"][0]["done_at"] is not None
    r = await stack.http.post(done, json={}, headers=auth("agent"))
    assert r.status_code == 409 and r.json()["error"] == "conflict", r.text
    r = await stack.http.post(f"/escalations/{eid}/callbacks/7/done", headers=auth("agent"))
    assert r.status_code == 422 and "number" in r.json()["detail"], r.text

    timeline = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    items = [(i["action"], i["role"]) for i in timeline.json()["items"]]
    assert ("callback_promised", "agent") in items and ("callback_done", "agent") in items


async def test_a_callback_time_that_cannot_be_kept_is_refused(stack):
    eid = await case_at(stack, "helpline_consult")
    url = f"/escalations/{eid}/callbacks"
    morning = next_working_morning()
    for at, why in (
        (datetime.now(UTC) - timedelta(hours=1), "next 30 days"),
        (morning + timedelta(hours=12), "business hours"),  # 22:00, the office closed
        (morning + timedelta(days=45), "next 30 days"),
    ):
        r = await stack.http.post(url, json={"at": at.isoformat()}, headers=auth("agent"))
        assert r.status_code == 422, r.text
        assert r.json()["error"] == "invalid" and why in r.json()["detail"], r.text
    r = await stack.http.post(url, json={"at": "2026-12-07T10:30:00"}, headers=auth("agent"))
    assert r.status_code == 422 and "time zone" in r.json()["detail"], r.text
    r = await stack.http.post(url, json={"at": morning.isoformat()}, headers=auth("helpline"))
    assert r.status_code == 403, r.text
    view = (await stack.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert view["callbacks"] == []
