"""The policy's versions through the HTTP API, end to end: a draft written by the manager, its diff
against the live version, proposed, approved by the roles the live policy names, live at once;
new cases pin it while cases in flight keep theirs. A rejected change never goes live. Who may do
what, and the refusals in the one error shape."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

from core.report_store import ReportStore
from core.settings import CONFIG_DIR
from tests.api.conftest import auth, request_body

DEMO = "2026.11-demo"


def draft_text(version: str, p3_resolution_h: int = 20) -> str:
    text = (CONFIG_DIR / "policy.toml").read_text().replace(DEMO, version, 1)
    old = 'severity = "P3"\nfirst_response_h = 4\nresolution_h = 24'
    assert old in text
    return text.replace(
        old, f'severity = "P3"\nfirst_response_h = 4\nresolution_h = {p3_resolution_h}'
    )


async def wait_state(http, version: str, *states: str, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = await http.get(f"/policy/versions/{version}", headers=auth("operator"))
        assert r.status_code == 200, r.text
        if r.json()["version"]["state"] in states:
            return r.json()
        assert time.monotonic() < deadline, r.json()["version"]["state"]
        await asyncio.sleep(0.1)


async def test_a_change_from_draft_to_live_through_the_api(policy_stack):
    http = policy_stack.http
    customer = {**request_body()["customer"], "id": f"C-{uuid.uuid4().hex[:10]}"}
    before = await policy_stack.open(customer=customer)  # a case in flight under the live version
    live = (await http.get("/policy", headers=auth("agent"))).json()["version"]
    version = f"2026.12-{uuid.uuid4().hex[:6]}"

    r = await http.post(
        "/policy/versions",
        json={"text": draft_text(version), "note": "P3 20 h"},
        headers=auth("specialist"),
    )
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = await http.post(
        "/policy/versions",
        json={"text": draft_text(version), "note": "P3 20 h"},
        headers=auth("manager"),
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "draft" and r.json()["based_on"] == live

    r = await http.get(f"/policy/versions/{version}", headers=auth("agent"))
    detail = r.json()
    assert (
        detail["against"] == live and "-resolution_h = 24\n+resolution_h = 20\n" in detail["diff"]
    )
    assert f'+version = "{version}"' in detail["diff"]

    r = await http.post(f"/policy/versions/{version}/propose", json={}, headers=auth("manager"))
    assert r.status_code == 200, r.text
    assert r.json()["approvers"] == ["manager", "executive"]
    await wait_state(http, version, "in_review")

    r = await http.post(
        f"/policy/versions/{version}/decisions",
        json={"decision": "approve", "comment": "ok"},
        headers=auth("supervisor"),
    )
    assert r.status_code == 403 and "manager, executive" in r.json()["detail"], r.text
    for role in ("manager-2", "executive"):  # four eyes: not the proposer
        r = await http.post(
            f"/policy/versions/{version}/decisions",
            json={"decision": "approve", "comment": f"{role} agrees"},
            headers=auth(role),
        )
        assert r.status_code == 200, r.text
    r = await http.post(
        f"/policy/versions/{version}/decisions",
        json={"decision": "approve", "comment": "again"},
        headers=auth("manager"),
    )
    assert r.status_code == 409, r.text

    detail = await wait_state(http, version, "live")
    assert [d["comment"] for d in detail["change"]["decisions"]] == [
        "manager-2 agrees",
        "executive agrees",
    ]
    assert (await http.get(f"/policy/versions/{live}", headers=auth("agent"))).json()["version"][
        "state"
    ] == "retired"
    r = await http.put(
        f"/policy/versions/{version}",
        json={"text": draft_text(version, 10)},
        headers=auth("manager"),
    )
    assert r.status_code == 409 and "only a draft is edited" in r.json()["detail"], r.text

    assert (await http.get("/policy", headers=auth("agent"))).json()["version"] == version
    after = await policy_stack.open()
    assert after["policy_version"] == version
    still = (await http.get(f"/escalations/{before['id']}", headers=auth("operator"))).json()
    assert still["policy_version"] == live  # cases in flight keep the version they were pinned to

    # the operator moves the case in flight to the new version (visibility may lag a moment)
    await policy_stack.wait_listed(f"CustomerId = '{customer['id']}'", 1)
    r = await http.post(
        f"/policy/versions/{version}/migrate",
        json={"customer_id": before["customer"]["id"], "reason": "P3 20 h for all"},
        headers=auth("operator"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["migrated"] == [before["id"]] and r.json()["refused"] == [], r.text
    moved = (await http.get(f"/escalations/{before['id']}", headers=auth("operator"))).json()
    assert moved["policy_version"] == version
    timeline = await http.get(f"/escalations/{before['id']}/timeline", headers=auth("operator"))
    entry = [e for e in timeline.json()["items"] if e["action"] == "policy_migrated"]
    assert entry and entry[0]["detail"] == f"{live} -> {version}: P3 20 h for all"
    r = await http.post(
        f"/policy/versions/{live}/migrate", json={}, headers=auth("manager")
    )  # a retired version is no target
    assert r.status_code == 409, r.text

    listed = (await http.get("/policy/versions", headers=auth("agent"))).json()["items"]
    assert [v["version"] for v in listed][:2] == [version, live]
    assert all("text" not in v or v["text"] is None for v in listed)


async def test_a_rejected_change_never_goes_live_and_its_number_is_spent(policy_stack):
    http = policy_stack.http
    live = (await http.get("/policy", headers=auth("agent"))).json()["version"]
    version = f"2027.01-{uuid.uuid4().hex[:6]}"
    r = await http.post(
        "/policy/versions", json={"text": draft_text(version, 30)}, headers=auth("manager")
    )
    assert r.status_code == 201, r.text
    r = await http.post(f"/policy/versions/{version}/propose", json={}, headers=auth("manager"))
    assert r.status_code == 200, r.text
    r = await http.post(
        f"/policy/versions/{version}/decisions",
        json={"decision": "reject", "comment": "30 h is too slow"},
        headers=auth("executive"),
    )
    assert r.status_code == 200, r.text
    await wait_state(http, version, "rejected")
    r = await http.post(
        f"/policy/versions/{version}/decisions",
        json={"decision": "approve", "comment": "late"},
        headers=auth("manager"),
    )
    assert r.status_code == 409, r.text
    assert (await http.get("/policy", headers=auth("agent"))).json()["version"] == live
    r = await http.post(
        "/policy/versions", json={"text": draft_text(version, 30)}, headers=auth("manager")
    )
    assert r.status_code == 409 and "never re-used" in r.json()["detail"]


async def test_bad_drafts_are_422_naming_the_field(policy_stack):
    http = policy_stack.http
    bad = draft_text(f"2027.02-{uuid.uuid4().hex[:6]}").replace(
        "tier1_limit = 50.0", "tier1_limit = -5"
    )
    r = await http.post("/policy/versions", json={"text": bad}, headers=auth("manager"))
    assert r.status_code == 422 and r.json()["detail"].startswith("text.tier1_limit"), r.text
    r = await http.post(
        "/policy/versions", json={"text": "version = [oops"}, headers=auth("manager")
    )
    assert r.status_code == 422 and "TOML" in r.json()["detail"]
    r = await http.get("/policy/versions/nope", headers=auth("agent"))
    assert r.status_code == 404 and r.json()["error"] == "not_found"


async def test_a_simulation_through_the_api_is_attached_to_the_version(policy_stack):
    http = policy_stack.http
    opened = await policy_stack.open()  # a recorded case for the replay
    await policy_stack.wait_stage(opened["id"], "helpline_consult")
    version = f"2027.03-{uuid.uuid4().hex[:6]}"
    r = await http.post(
        "/policy/versions", json={"text": draft_text(version, 12)}, headers=auth("manager")
    )
    assert r.status_code == 201, r.text
    since = datetime.now(UTC) - timedelta(days=1)
    body = {"since": since.isoformat(), "until": (since + timedelta(days=2)).isoformat()}
    r = await http.post(
        f"/policy/versions/{version}/simulations", json=body, headers=auth("executive")
    )
    assert r.status_code == 202, r.text
    sim = r.json()
    assert sim["state"] in ("running", "done") and sim["against"] != version
    deadline = time.monotonic() + 20
    while sim["state"] == "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.2)
        r = await http.get(
            f"/policy/versions/{version}/simulations/{sim['id']}", headers=auth("agent")
        )
        sim = r.json()
    assert sim["state"] == "done", sim
    report = sim["report"]
    assert report["live"]["cases"] >= 1 and report["draft"]["policy_version"] == version
    assert any("cannot know" in s for s in report["cannot_know"])
    detail = (await http.get(f"/policy/versions/{version}", headers=auth("executive"))).json()
    assert detail["simulation"]["id"] == sim["id"]


async def test_a_proposal_whose_workflow_never_started_is_proposed_again(policy_stack):
    """Temporal away after the store named the change: the draft still shows (no change yet) and
    proposing it again starts its review; the console's draft page offers exactly that."""
    http = policy_stack.http
    version = f"2027.04-{uuid.uuid4().hex[:6]}"
    r = await http.post(
        "/policy/versions", json={"text": draft_text(version, 14)}, headers=auth("manager")
    )
    assert r.status_code == 201, r.text
    store = ReportStore(policy_stack.settings.report_url)
    store.policies.claim_change(version, f"policy-change-{version}", datetime.now(UTC))
    r = await http.get(f"/policy/versions/{version}", headers=auth("agent"))
    assert r.status_code == 200 and r.json()["change"] is None, r.text
    assert r.json()["version"]["state"] == "draft"
    r = await http.post(f"/policy/versions/{version}/propose", json={}, headers=auth("manager"))
    assert r.status_code == 200 and r.json()["approvers"] == ["manager", "executive"], r.text
    await wait_state(http, version, "in_review")


async def test_nobody_approves_a_change_they_proposed(policy_stack):
    """Four eyes: the proposer's decision is refused (403, no trace); the manager role's
    approval comes from another manager."""
    http = policy_stack.http
    version = f"2026.12-{uuid.uuid4().hex[:6]}"
    r = await http.post(
        "/policy/versions", json={"text": draft_text(version), "note": "x"}, headers=auth("manager")
    )
    assert r.status_code == 201, r.text
    r = await http.post(f"/policy/versions/{version}/propose", json={}, headers=auth("manager"))
    assert r.status_code == 200 and r.json()["proposer"] == "p-manager", r.text
    await wait_state(http, version, "in_review")
    r = await http.post(
        f"/policy/versions/{version}/decisions",
        json={"decision": "approve", "comment": "my own"},
        headers=auth("manager"),
    )
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    assert "four eyes" in r.json()["detail"] and "proposed" in r.json()["detail"]
    detail = (await http.get(f"/policy/versions/{version}", headers=auth("agent"))).json()
    assert detail["change"]["decisions"] == [] and detail["version"]["state"] == "in_review"
    r = await http.post(
        f"/policy/versions/{version}/decisions",
        json={"decision": "reject", "comment": "not now"},
        headers=auth("manager-2"),
    )
    assert r.status_code == 200 and r.json()["decisions"][0]["by"] == "p-manager-2", r.text


async def test_a_malformed_draft_is_a_422_naming_the_field(policy_stack):
    http = policy_stack.http
    version = f"2026.12-{uuid.uuid4().hex[:6]}"
    deep_inline = "x = " + "{a = " * 5000 + "1" + "}" * 5000
    for text, field in (
        ("x = " + "[" * 50_000, "text"),
        (deep_inline, "text"),
        (
            draft_text(version).replace('holiday_country = "GB"', 'holiday_country = "XX"', 1),
            "text.calendars.uk_office.holiday_country",
        ),
        (
            draft_text(version).replace(
                'holiday_subdivision = "ENG"', 'holiday_subdivision = "ZZ"', 1
            ),
            "text.calendars.uk_office.holiday_subdivision",
        ),
    ):
        r = await http.post("/policy/versions", json={"text": text}, headers=auth("manager"))
        assert r.status_code == 422, r.text[:300]
        body = r.json()
        assert body["error"] == "invalid" and body["detail"].startswith(f"{field}:"), body
