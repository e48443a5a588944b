"""Contributions from other teams through the API: the owner asks, the case lists it with a
deadline inside the resolution clock, the team (here its supervisor) answers once; another
team's specialist may not. (Deadlines and breaches: tests/workflows/test_contributions.py.)"""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.api.conftest import auth
from tests.api.test_access import case_at

pytestmark = pytest.mark.timeout(120)


async def test_the_owner_asks_another_team_which_answers_once(stack):
    eid = await case_at(stack, "acknowledged")  # billing-specialists, owned by Sam Specialist
    url = f"/escalations/{eid}/contributions"
    for body, why in (
        ({"team": "nobody", "question": "?"}, "not a team"),
        ({"team": "billing-specialists", "question": "?"}, "own team"),
    ):
        r = await stack.http.post(url, json=body, headers=auth("specialist"))
        assert r.status_code == 422 and why in r.json()["detail"], r.text

    r = await stack.http.post(
        url,
        json={
            "team": "technical-specialists",
            "question": "Gateway retry on 3 March?",
            "within_h": 400,
        },
        headers=auth("specialist"),
    )
    assert r.status_code == 200, r.text
    view = r.json()
    [c] = view["contributions"]
    resolution = next(k for k in view["clocks"] if k["name"] == "resolution")
    assert c["number"] == 1 and c["team"] == "technical-specialists" and c["capped"] is True
    assert datetime.fromisoformat(c["due_at"]) == datetime.fromisoformat(resolution["due_at"])

    answer = f"{url}/1/answer"
    r = await stack.http.post(answer, json={"answer": "mine"}, headers=auth("specialist"))
    assert r.status_code == 403 and "technical-specialists" in r.json()["detail"], r.text
    r = await stack.http.post(
        answer, json={"answer": "Yes: reversed automatically"}, headers=auth("supervisor")
    )
    assert r.status_code == 200, r.text
    assert r.json()["contributions"][0]["answered_by"] == "Sasha Supervisor"
    r = await stack.http.post(answer, json={"answer": "again"}, headers=auth("supervisor"))
    assert r.status_code == 409, r.text
    r = await stack.http.post(f"{url}/9/answer", json={"answer": "?"}, headers=auth("supervisor"))
    assert r.status_code == 422, r.text

    timeline = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    actions = [(i["action"], i["role"]) for i in timeline.json()["items"]]
    assert ("contribution_requested", "specialist") in actions
    assert ("contribution_answered", "supervisor") in actions


async def test_only_the_owner_asks(stack):
    eid = await case_at(stack, "acknowledged")
    r = await stack.http.post(
        f"/escalations/{eid}/reassign", json={"assignee": "p-specialist-2"}, headers=auth("manager")
    )
    assert r.status_code == 200, r.text
    r = await stack.http.post(
        f"/escalations/{eid}/contributions",
        json={"team": "technical-specialists", "question": "?"},
        headers=auth("specialist"),  # Sam, no longer the owner
    )
    assert r.status_code == 403 and "owner" in r.json()["detail"], r.text
