"""Root cause at resolution (issue 22): the policy's category and whether the trigger was
avoidable after all, recorded on the case, through the API and the workflow's validator."""

from __future__ import annotations

import pytest

from tests.api.conftest import auth
from tests.api.test_access import case_at

pytestmark = pytest.mark.timeout(120)


async def test_resolve_records_the_root_cause_and_refuses_one_not_in_the_policy(stack):
    eid = await case_at(stack, "acknowledged")
    url = f"/escalations/{eid}/resolve"

    r = await stack.http.post(
        url, json={"outcome": "refunded", "root_cause": "gremlins"}, headers=auth("specialist")
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"
    assert "root_cause" in r.json()["detail"] and "billing_error" in r.json()["detail"]
    view = (await stack.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert view["stage"] == "specialist" and view["root_cause"] is None

    r = await stack.http.post(
        url,
        json={"outcome": "refunded", "root_cause": "billing_error", "avoidable": False},
        headers=auth("specialist"),
    )
    assert r.status_code == 200, r.text
    view = r.json()
    assert view["root_cause"] == "billing_error"
    assert view["avoidable"] is False  # triage said customer_request is avoidable
    assert view["resolved_at_tier"] == "specialist"

    timeline = await stack.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    entries = [i for i in timeline.json()["items"] if i["action"] == "root_cause_recorded"]
    assert len(entries) == 1
    assert entries[0]["detail"] == "billing_error; avoidable after all: no (triaged otherwise)"
    assert entries[0]["role"] == "specialist"

    # the Avoidable search attribute follows, so lists and the Temporal UI agree
    n = await stack.wait_listed(f"WorkflowId = 'escalation-{eid}' AND Avoidable = false", 1)
    assert n == 1


async def test_a_resolve_without_a_root_cause_still_works(stack):
    eid = await case_at(stack, "acknowledged")
    r = await stack.http.post(
        f"/escalations/{eid}/resolve", json={"outcome": "fixed"}, headers=auth("specialist")
    )
    assert r.status_code == 200, r.text
    assert r.json()["root_cause"] is None and r.json()["avoidable"] is True


def test_the_policy_refuses_a_malformed_or_repeated_root_cause():
    from datetime import date

    from pydantic import ValidationError

    from tests.workflows.helpers import demo_policy
    from workflows.policy import Policy

    doc = demo_policy(date(2026, 12, 2)).model_dump(mode="json")
    for bad, why in ((["Billing Error"], "lower-case"), (["other", "other"], "once"), ([], "")):
        with pytest.raises(ValidationError, match=f"(?s)root_causes.*{why}"):
            Policy.model_validate({**doc, "root_causes": bad})
    del doc["root_causes"]  # a copy pinned before the list existed resolves against the default
    assert "billing_error" in Policy.model_validate(doc).root_causes
