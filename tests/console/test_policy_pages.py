"""The policy change process done in the console (issue 25's pages), in headless Chromium against
the real stack: a worker that runs escalations, policy changes and simulations, and a report store
of this module's own (a version made live here reaches no other module's cases)."""

from __future__ import annotations

import asyncio
import re
import time
import uuid

import pytest
from playwright.async_api import Page, expect

from tests.api.conftest import Stack, auth, request_body
from tests.console.conftest import Console, axe_violations, shoot
from tests.policy.conftest import policy_stack  # noqa: F401  (worker with the change workflows)
from tests.policy.test_policy_api import draft_text

LIVE_S = 5
SIMULATION_S = 60  # a few cases replay in seconds; generous for a loaded 2-core machine


@pytest.fixture(scope="module")
def stack(policy_stack: Stack) -> Stack:  # noqa: F811
    """The console's server (tests/console/conftest.py) in front of the policy worker."""
    return policy_stack


async def live_version(console: Console) -> str:
    return (await console.http.get("/policy", headers=auth("agent"))).json()["version"]


async def open_versions(page: Page) -> None:
    await page.get_by_role("navigation", name="Console").get_by_role("link", name="Policy").click()
    await page.get_by_role("heading", name="Policy versions").wait_for()


async def test_the_manager_proposes_a_draft_and_simulates_it(console: Console):
    case = await console.open(summary="Recorded for the simulation")  # a case to replay
    await console.wait_stage(case["id"], "helpline_consult")
    live = await live_version(console)
    version = f"2026.12-{uuid.uuid4().hex[:6]}"
    stored = (await console.http.get("/policy/versions", headers=auth("agent"))).json()["items"]

    manager = await console.signed_in("manager")
    await open_versions(manager)
    live_row = manager.locator(f"tr[data-version='{live}']")
    await expect(live_row.locator("[data-state]")).to_contain_text("live")
    assert await axe_violations(manager) == []
    await manager.get_by_role("link", name="Write and propose a new version").click()
    text = manager.get_by_label(re.compile("^Policy text"))
    await expect(text).to_have_value(re.compile(f'version = "{re.escape(live)}"'))
    assert await axe_violations(manager) == []

    # refusals in words on the form, and nothing stored
    await manager.get_by_label(re.compile("^Change note")).fill("P3 resolution 24 h -> 12 h")
    await manager.get_by_role("button", name="Propose").click()  # the live text as it is
    alert = manager.get_by_role("alert")
    await expect(alert).to_contain_text("HTTP 409")
    await expect(alert).to_contain_text("never re-used")
    await text.fill("version = [oops")
    await manager.get_by_role("button", name="Propose").click()
    await expect(alert).to_contain_text("HTTP 422")
    await expect(alert).to_contain_text("not valid TOML")
    await expect(manager.get_by_label(re.compile("^Change note"))).to_have_value(
        "P3 resolution 24 h -> 12 h"
    )
    listed = (await console.http.get("/policy/versions", headers=auth("agent"))).json()["items"]
    assert listed == stored

    await text.fill(draft_text(version, 12))
    go_live = manager.get_by_label(re.compile("^Go live at"))
    await go_live.fill("2020-01-06T06:00")
    await manager.get_by_role("button", name="Propose").click()
    await expect(alert).to_contain_text("HTTP 422")
    await expect(alert).to_contain_text("in the past")
    listed = (await console.http.get("/policy/versions", headers=auth("agent"))).json()["items"]
    assert listed == stored  # checked before the draft was written
    await go_live.fill("")
    await manager.get_by_role("button", name="Propose").click()
    await expect(manager.get_by_role("heading", name=f"Policy {version}")).to_be_visible()
    await expect(manager.get_by_role("status").first).to_contain_text("proposed")
    await expect(manager.locator("[data-state]")).to_have_text("in review", timeout=LIVE_S * 1000)
    # the diff is the change itself, line endings kept as the live text has them
    await expect(manager.locator("pre.diff .add")).to_have_text(
        [f'+version = "{version}"', "+resolution_h = 12"]
    )
    row = (await console.http.get(f"/policy/versions/{version}", headers=auth("agent"))).json()
    assert row["version"]["text"] == draft_text(version, 12)
    approvers = manager.locator(".approvals tbody tr")
    await expect(approvers).to_have_count(2)
    await expect(approvers.nth(0)).to_contain_text("waiting")
    assert await axe_violations(manager) == []

    # the go-live time, read in the reader's zone (the browser's Europe/London: GMT in December)
    await manager.get_by_label(re.compile("^Go live at")).fill("2031-12-15T06:30")
    await manager.get_by_role("button", name="Set go-live").click()
    await expect(manager.get_by_role("status").first).to_contain_text("go-live time is set")
    r = await console.http.get(f"/policy/versions/{version}", headers=auth("agent"))
    assert r.json()["change"]["go_live_at"] == "2031-12-15T06:30:00Z"

    # a simulation over the last week (the default period), its progress, then its report
    await manager.get_by_role("button", name="Start simulation").click()
    await expect(manager.get_by_role("status").first).to_contain_text("simulation started")
    await expect(manager.locator("[data-sim-state]")).to_have_attribute(
        "data-sim-state", "done", timeout=SIMULATION_S * 1000
    )
    report = manager.locator(".simulation")
    await expect(report.locator("caption")).to_contain_text(
        ["Cases and breaches", "SLA compliance per clock, team and severity"]
    )
    replayed = report.get_by_role("row", name=re.compile("^Cases replayed"))
    await expect(replayed.locator("td").nth(0)).not_to_have_text("0")
    await expect(report.locator(".cannot-know")).to_contain_text("cannot know")
    await shoot(manager, "policy-version-simulated")
    assert await axe_violations(manager) == []
    assert console.script_errors() == []


async def test_each_approver_approves_in_the_console_and_it_goes_live(console: Console):
    live = await live_version(console)
    version = f"2027.01-{uuid.uuid4().hex[:6]}"
    r = await console.http.post(
        "/policy/versions",
        json={"text": draft_text(version, 20), "note": "P3 20 h"},
        headers=auth("manager"),
    )
    assert r.status_code == 201, r.text
    r = await console.http.post(
        f"/policy/versions/{version}/propose", json={}, headers=auth("manager")
    )
    assert r.status_code == 200, r.text

    # an approver role the live policy does not name: no decide form, and a forged POST is
    # refused with the reason, changing nothing
    supervisor = await console.signed_in("supervisor")
    await supervisor.goto(f"{console.base}/console/policy/{version}")
    await expect(supervisor.locator(".approvals")).to_contain_text("waiting")
    await expect(supervisor.get_by_role("button", name="Send decision")).to_have_count(0)
    assert await axe_violations(supervisor) == []
    csrf = await supervisor.locator("input[name=csrf]").first.input_value()
    forged = await supervisor.request.post(
        f"{console.base}/console/policy/{version}/actions/decide",
        form={"csrf": csrf, "decision": "approve", "comment": "I approve"},
    )
    assert forged.status == 403
    refusal = await forged.text()
    assert "HTTP 403" in refusal and "Nothing was changed" in refusal
    assert "names manager, executive as this change&#39;s approvers, not supervisor" in refusal
    stale = await supervisor.request.post(
        f"{console.base}/console/policy/{version}/actions/decide",
        form={"csrf": "forged", "decision": "approve", "comment": "I approve"},
    )
    assert stale.status == 403 and "not sent by your console session" in await stale.text()
    detail = (await console.http.get(f"/policy/versions/{version}", headers=auth("agent"))).json()
    assert detail["change"]["decisions"] == [] and detail["version"]["state"] == "in_review"

    for role in ("manager-2", "executive"):  # four eyes: not the proposer
        approver = await console.signed_in(role)
        await open_versions(approver)
        await approver.get_by_role("link", name=version).click()
        await approver.get_by_label("Decision", exact=True).select_option("approve")
        await approver.get_by_label("Comment", exact=True).fill(f"{role}: figures look right")
        await approver.get_by_role("button", name="Send decision").click()
        await expect(approver.get_by_role("status").first).to_contain_text("decision is recorded")
        decided = approver.locator(".approvals tr.decision", has_text=role)
        await expect(decided).to_contain_text(f"{role}: figures look right")
        await expect(approver.get_by_role("button", name="Send decision")).to_have_count(0)

    await expect(approver.locator("[data-state]")).to_contain_text("live", timeout=LIVE_S * 1000)
    await open_versions(approver)
    rows = approver.locator("tbody tr")
    await expect(rows.first).to_have_attribute("data-version", version)
    await expect(rows.first.locator("[data-state]")).to_contain_text("live")
    await expect(approver.locator(f"tr[data-version='{live}'] [data-state]")).to_have_text(
        "retired"
    )
    assert await axe_violations(approver) == []
    await shoot(approver, "policy-versions")
    assert console.script_errors() == []


async def test_the_operator_moves_cases_in_flight_to_the_live_version(console: Console):
    customer = {**request_body()["customer"], "id": f"C-{uuid.uuid4().hex[:10]}"}
    case = await console.open(customer=customer, summary="Opened before the new version")
    with_team = await console.open(customer=customer, summary="With the billing team")
    r = await console.http.post(
        f"/escalations/{with_team['id']}/consult-answer",
        json={"resolves": False, "answer": "Needs a billing specialist"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    assert (await console.wait_stage(with_team["id"], "specialist"))["assigned_team"] == (
        "billing-specialists"
    )
    old = case["policy_version"]
    # the new version renames the billing team: a case already with it cannot move
    version = f"2027.02-{uuid.uuid4().hex[:6]}"
    text = draft_text(version, 16).replace('"billing-specialists"', '"billing-and-payments"')
    r = await console.http.post("/policy/versions", json={"text": text}, headers=auth("manager"))
    assert r.status_code == 201, r.text
    await console.http.post(f"/policy/versions/{version}/propose", json={}, headers=auth("manager"))
    for role in ("manager-2", "executive"):  # four eyes: not the proposer
        r = await console.http.post(
            f"/policy/versions/{version}/decisions",
            json={"decision": "approve", "comment": "ok"},
            headers=auth(role),
        )
        assert r.status_code == 200, r.text
    assert await wait_live(console, version)
    assert await wait_listed(console, f"CustomerId = '{customer['id']}'", 2)

    specialist = await console.signed_in("specialist")  # not a migrating role: told so
    await specialist.goto(f"{console.base}/console/policy/migrate")
    await expect(specialist.get_by_role("alert")).to_contain_text("operator or manager")
    await expect(specialist.get_by_role("button", name="Move cases")).to_have_count(0)

    operator = await console.signed_in("operator")
    await open_versions(operator)
    await operator.get_by_role("link", name="Move cases in flight to the live version").click()
    await expect(operator.get_by_role("heading", level=1)).to_contain_text(version)
    assert await axe_violations(operator) == []
    await operator.get_by_label("Customer id").fill(customer["id"])
    await operator.get_by_label(re.compile("^Reason")).fill("P3 16 h for all")
    await operator.get_by_role("button", name="Move cases").click()
    result = operator.get_by_role("status")
    await expect(result).to_contain_text("1 moved, 1 refused")
    await expect(result.locator(".moved")).to_contain_text(case["id"])
    refused = result.locator(".refused-cases")
    await expect(refused).to_contain_text(with_team["id"])
    await expect(refused).to_contain_text(
        f"its stage specialist is with team billing-specialists, which version {version} does "
        "not have"
    )
    assert await axe_violations(operator) == []
    await shoot(operator, "policy-migrate")
    for escalation, expected in ((case, version), (with_team, old)):
        r = await console.http.get(f"/escalations/{escalation['id']}", headers=auth("operator"))
        assert r.json()["policy_version"] == expected
    assert version != old
    assert console.script_errors() == []


async def wait_live(console: Console, version: str, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = await console.http.get(f"/policy/versions/{version}", headers=auth("agent"))
        if r.json()["version"]["state"] == "live":
            return True
        await asyncio.sleep(0.2)
    return False


async def wait_listed(console: Console, query: str, n: int, timeout: float = 15) -> bool:
    """Visibility is eventually consistent: the migration lists cases by search attributes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (await console.client.count_workflows(query)).count == n:
            return True
        await asyncio.sleep(0.2)
    return False
