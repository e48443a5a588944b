"""The README's walk-through done by clicking in the console, in headless Chromium, against the
real stack (tests/console/conftest.py); refusals, CSRF and session expiry; the manager's board."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from api.console import session
from api.main import create_app
from core.settings import CONFIG_DIR, Settings
from tests.api.conftest import auth, request_body
from tests.console.conftest import Console, axe_violations

LIVE_S = 5  # the issue: pages follow a change within 5 s
# CONSOLE_SCREENSHOTS=docs/screenshots: the walk-through also saves the README's screenshots
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


async def shoot(page: Page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def test_walk_through_by_clicking(console: Console):
    case = await console.open(summary="Charged twice for March (console)")
    eid = case["id"]
    assert case["stage"] == "helpline_consult"
    executive = await console.signed_in("executive")  # watching before the proposal exists

    # the help line answers the consult from its inbox
    helpline = await console.signed_in("helpline")
    await helpline.get_by_role(
        "link", name=re.compile("Charged twice for March \\(console\\)")
    ).first.click()
    await helpline.get_by_label("Answer", exact=True).fill(
        "Above tier-1 authority: needs a billing specialist"
    )
    await helpline.get_by_role("button", name="Send answer").click()
    await expect(helpline.locator("[data-stage]")).to_have_text("specialist")
    assert await axe_violations(helpline) == []

    # the specialist (the case's owner, or another member of the team) finds the case by its
    # id, acknowledges and proposes 600 GBP
    specialist = await console.signed_in("specialist")
    if (await console.wait_stage(eid, "specialist"))["assignee"] == "p-specialist":
        to_ack = specialist.locator("section", has_text="Cases to acknowledge")
        await expect(to_ack.locator(f"a[href='/console/cases/{eid}']")).to_be_visible()
    await specialist.get_by_label("Customer or escalation id").fill(eid)
    await specialist.get_by_role("button", name="Find").click()
    await specialist.get_by_role("button", name="Acknowledge").click()
    await expect(specialist.get_by_role("status")).to_contain_text("take ownership")
    await specialist.get_by_label("Amount", exact=True).fill("600")
    await specialist.get_by_label("Description", exact=True).fill("Refund both charges")
    await specialist.get_by_role("button", name="Propose").click()
    await expect(specialist.locator("[data-stage]")).to_have_text("executive_signoff")

    # a supervisor (authority 500) sees the approval, marked view only, and has no decide form
    supervisor = await console.signed_in("supervisor")
    view_only = supervisor.locator("section", has_text="Approvals you can see but not decide")
    await expect(view_only.get_by_role("link", name=re.compile(eid))).to_have_count(0)
    await expect(view_only.locator(f"a[href='/console/cases/{eid}']")).to_be_visible()
    await view_only.locator(f"a[href='/console/cases/{eid}']").click()
    await expect(supervisor.locator(".approval")).to_contain_text("600 GBP")
    await expect(supervisor.locator(".approval")).to_contain_text("View only")
    await expect(supervisor.get_by_role("button", name="Send decision")).to_have_count(0)

    # the executive's inbox shows it within 5 s without a reload; approve with a comment
    decidable = executive.locator("section", has_text="Approvals you may decide")
    link = decidable.locator(f"a[href='/console/cases/{eid}']")
    await expect(link).to_be_visible(timeout=LIVE_S * 1000)
    assert await axe_violations(executive) == []
    await shoot(executive, "inbox-executive")
    await shoot(supervisor, "case-supervisor-view-only")
    await link.click()
    assert await axe_violations(executive) == []
    await executive.get_by_label("Decision", exact=True).select_option("approve")
    await executive.get_by_label("Comment", exact=True).fill("Loyal customer")
    await executive.get_by_role("button", name="Send decision").click()
    await expect(executive.locator("[data-resolution]")).to_contain_text("executive")
    timeline = executive.locator(".timeline")
    await expect(timeline).to_contain_text("approval granted")
    await expect(timeline).to_contain_text("Loyal customer")
    # times in the reader's zone (the browser's: Europe/London, GMT in December)
    await expect(executive.locator("footer")).to_contain_text("Europe/London")
    assert "UTC" not in await executive.locator("time[data-local]").first.inner_text()
    await shoot(executive, "case-resolved")
    await executive.set_viewport_size({"width": 390, "height": 844})  # a phone
    await shoot(executive, "case-phone")

    # the specialist's open page follows the change without a reload
    await expect(specialist.locator("[data-stage]")).to_have_text(
        re.compile("resolved|follow_up"), timeout=LIVE_S * 1000
    )
    assert console.console_errors == []


async def test_a_refused_action_shows_the_reason_and_changes_nothing(console: Console):
    eid = (await console.open(summary="Refused action"))["id"]
    helpline = await console.signed_in("helpline")
    await helpline.goto(f"{console.base}/console/cases/{eid}")
    # typing in the form: the page's poll leaves it alone
    await helpline.get_by_label("Answer", exact=True).fill("My late answer")
    r = await console.http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": False, "answer": "Answered elsewhere first"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    await helpline.get_by_role("button", name="Send answer").click()
    await expect(helpline.get_by_role("alert")).to_contain_text("HTTP 409")
    await expect(helpline.get_by_role("alert")).to_contain_text("Nothing was changed")
    timeline = await console.http.get(f"/escalations/{eid}/timeline", headers=auth("manager"))
    answers = [e for e in timeline.json()["items"] if e["action"] == "consult_answered"]
    assert len(answers) == 1 and "elsewhere" in answers[0]["detail"]
    assert console.script_errors() == []


async def notes(console: Console, eid: str) -> list[str]:
    r = await console.http.get(f"/escalations/{eid}/timeline", headers=auth("manager"))
    return [e["detail"] for e in r.json()["items"] if e["action"] == "note_added"]


async def test_forged_and_stale_forms_are_refused(console: Console):
    eid = (await console.open(summary="Forged forms"))["id"]
    page = await console.signed_in("manager")
    cookies = {c["name"]: c for c in await page.context.cookies()}
    cookie = cookies[session.COOKIE]
    assert "demo-manager" not in cookie["value"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]

    await page.goto(f"{console.base}/console/cases/{eid}")
    # a form whose CSRF token is not this session's (as another site would have to send it)
    await page.locator("form[action$='/actions/add_note'] input[name=csrf]").evaluate(
        "el => el.value = 'forged'"
    )
    await page.get_by_label("Note", exact=True).fill("forged note")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.get_by_role("alert")).to_contain_text("HTTP 403")
    assert "forged note" not in await notes(console, eid)

    # the same form after the session expired: sign in again, nothing done
    await page.goto(f"{console.base}/console/cases/{eid}")
    expired = session.encode(
        console.settings, session.Session("s-old", "p-manager", time.time() - 1)
    )
    await page.context.add_cookies(
        [{"name": session.COOKIE, "value": expired, "url": console.base, "httpOnly": True}]
    )
    await page.get_by_label("Note", exact=True).fill("stale note")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.get_by_role("alert")).to_contain_text("session has ended")
    assert "stale note" not in await notes(console, eid)

    # signed in again, the note goes through; signing out ends the session
    await page.get_by_label("Your access token").fill("demo-manager")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_label("Note", exact=True).fill("real note")
    await page.get_by_role("button", name="Add note").click()
    await expect(page.locator(".notice.ok")).to_be_visible()
    assert "real note" in await notes(console, eid)
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("alert")).to_contain_text("signed out")
    await page.goto(f"{console.base}/console")
    await expect(page.get_by_label("Your access token")).to_be_visible()
    assert console.script_errors() == []


async def test_the_managers_board_lists_a_breached_case(console: Console, tmp_path: Path):
    # A policy whose P1 clocks (24x7) breach within seconds; the same worker runs the case.
    text = (CONFIG_DIR / "policy.toml").read_text()
    text = text.replace('version = "2026.11-demo"', 'version = "2026.11-tiny-sla"')
    text = text.replace(
        "first_response_h = 1\nresolution_h = 8\ncalendar",
        "first_response_h = 0.0005\nresolution_h = 0.001\ncalendar",
    )
    policy = tmp_path / "policy.toml"
    policy.write_text(text)
    tiny = Settings(
        demo=True,
        task_queue=console.settings.task_queue,
        policy_path=policy,
        data_dir=tmp_path,  # a store of its own, seeded from this policy
    )
    manager = await console.signed_in("manager")
    app = create_app(tiny, client=console.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        r = await http.post(
            "/escalations",
            json=request_body(trigger="legal_threat", summary="Breaches at once"),
            headers=auth("agent"),
        )
        assert r.status_code == 201, r.text
    eid = r.json()["id"]
    board = manager.locator("section", has_text="Breached cases")
    await expect(board.locator(f"a[href='/console/cases/{eid}']")).to_be_visible(timeout=20_000)

    # a P1 case under the demo policy: first response due within the hour, not breached
    at_risk = (await console.open(trigger="legal_threat", summary="Due soon"))["id"]
    due_soon = manager.locator("section", has_text="Due within")
    await expect(due_soon.locator(f"a[href='/console/cases/{at_risk}']")).to_be_visible(
        timeout=15_000  # the 5 s promise is the executive's test; this one runs under load too
    )
    await expect(due_soon.locator(f"a[href='/console/cases/{eid}']")).to_have_count(0)
    assert await axe_violations(manager) == []
    assert console.console_errors == []


async def test_lists_filter_search_and_page(console: Console):
    customer = f"C-{time.time_ns()}"
    customer_body = {**request_body()["customer"], "id": customer}
    ids = {(await console.open(customer=customer_body))["id"] for _ in range(3)}
    page = await console.signed_in("operator")
    await page.get_by_label("Customer or escalation id").fill(customer)
    await page.get_by_role("button", name="Find").click()
    rows = page.locator("table.cases tbody tr")
    await expect(rows).to_have_count(3, timeout=10_000)  # visibility may lag a moment

    # the API's filters and paging: two a page, then the rest
    await page.goto(f"{console.base}/console/cases?q={customer}&status=open&page_size=2")
    await expect(rows).to_have_count(2)
    first = set(await page.locator("table.cases tbody a").all_inner_texts())
    await page.get_by_role("link", name="Next page").click()
    await expect(rows).to_have_count(1)
    second = set(await page.locator("table.cases tbody a").all_inner_texts())
    assert first | second == ids

    await page.get_by_label("Stage").select_option("closed")
    await page.get_by_role("button", name="Filter").click()
    await expect(page.locator("table.cases")).to_contain_text("No cases match")

    # an escalation id goes straight to its case
    eid = sorted(ids)[0]
    await page.get_by_label("Customer or escalation id").fill(eid.lower())
    await page.get_by_role("button", name="Find").click()
    await expect(
        page.get_by_role("link", name="Open the workflow in the Temporal UI")
    ).to_be_visible()
    await expect(page.locator("[data-stage]")).to_be_visible()
    assert await axe_violations(page) == []
    assert console.console_errors == []
