"""The README's walk-through done by clicking in the console, in headless Chromium, against the
real stack (tests/console/conftest.py); refusals, CSRF and session expiry; the manager's board."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from api.console import session
from api.main import create_app
from core.report_store import ReportStore
from core.settings import CONFIG_DIR, Settings
from tests.api.conftest import auth, request_body
from tests.console.conftest import Console, axe_violations, remember, shoot
from tests.report_store.data import case

LIVE_S = 5  # the issue: pages follow a change within 5 s


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

    # a transfer nobody acknowledged is listed until the specialist acknowledges it
    transfer = (await console.open(summary="Transferred, not acknowledged"))["id"]
    r = await console.http.post(
        f"/escalations/{transfer}/consult-answer",
        json={"resolves": False, "answer": "Needs a specialist"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    unacked = manager.locator("section", has_text="Unacknowledged transfers")
    row = unacked.locator(f"a[href='/console/cases/{transfer}']")
    await expect(row).to_be_visible(timeout=15_000)  # the 5 s promise is the executive's test
    await expect(unacked).to_contain_text(f"Waiting for {r.json()['assignee']}")
    # the demo specialist acknowledges (their team's case: theirs or taken over)
    r = await console.http.post(f"/escalations/{transfer}/acknowledge", headers=auth("specialist"))
    assert r.status_code == 200, r.text
    await expect(row).to_have_count(0, timeout=15_000)
    at_risk = manager.locator("section", has_text="At risk")
    await expect(at_risk.locator(f"a[href='/console/cases/{eid}']")).to_have_count(0)
    assert await axe_violations(manager) == []
    assert console.console_errors == []


async def figure_value(page: Page, key: str) -> str:
    return (await page.locator(f"[data-figure={key}] .figure-value").inner_text()).strip()


async def test_the_boards_figures_agree_with_the_lists_behind_them(console: Console):
    # a case waiting on sign-off: a remedy above the specialist's authority
    remedy = {"kind": "refund", "amount": 900, "currency": "GBP", "description": "refund"}
    eid = (await console.open(summary="Needs sign-off", requested_remedy=remedy))["id"]
    r = await console.http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": False, "answer": "Needs a specialist"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    token = r.json()["assignee"].removeprefix("p-")  # p-specialist-2: demo-specialist-2
    for path, body in (("acknowledge", None), ("proposals", {"remedy": remedy})):
        r = await console.http.post(f"/escalations/{eid}/{path}", json=body, headers=auth(token))
        assert r.status_code == 200, r.text
    # the test stack's dispatch writes no facts: put the case into the report store as it would,
    # with closed cases of this month and the last (the store holds them, visibility need not)
    await remember(console, await console.wait_stage(eid, "executive_signoff"))
    n, month = time.time_ns(), datetime.now(UTC).replace(day=1, hour=0, minute=0, second=1)
    last_month = month - timedelta(days=3)
    store = ReportStore(console.settings.report_url, run_migrations=False)
    try:
        store.write(
            [
                case(f"E-F{n}A", month, fr="met", res="met"),
                case(f"E-F{n}B", month, fr="met", res="breached"),
                case(f"E-F{n}C", last_month, fr="breached", res="breached"),
            ]
        )
    finally:
        store.close()

    manager = await console.signed_in("manager")
    figures = manager.locator("[data-figure]")
    await expect(figures).to_have_count(6)
    await expect(manager.locator("[data-figure=signoff] .figure-value")).not_to_have_text("0")
    await shoot(manager, "board")
    for key in ("open", "breached", "at_risk", "signoff"):
        # a clock may tick between the board and the list: read both again if they differ
        for _ in range(3):
            await manager.goto(f"{console.base}/console")
            shown = await figure_value(manager, key)
            await manager.locator(f"[data-figure={key}] a").click()
            await manager.get_by_role("heading", name="Cases").wait_for()
            listed = (await manager.locator("caption .total").inner_text()).split()[0]
            if listed == shown:
                break
        assert listed == shown, (key, shown, listed)
        if key == "signoff":
            await expect(manager.locator(f"a[href='/console/cases/{eid}']")).to_be_visible()
            await expect(manager.get_by_label("Stage")).to_have_value("executive_signoff")

    # the week's figure is the report store's count of this week, as the reports page shows it
    await manager.goto(f"{console.base}/console")
    today = datetime.now(UTC).date()  # the board's weeks and months are UTC's
    monday = today - timedelta(days=today.weekday())
    r = await console.http.get(
        "/reports/volume",
        params={"since": f"{monday}T00:00:00Z", "interval": "week"},
        headers=auth("manager"),
    )
    assert r.status_code == 200, r.text
    opened = sum(row["escalations"] for row in r.json()["rows"])
    assert await figure_value(manager, "week") == str(opened)
    assert opened >= 1
    # SLA compliance this month: clocks met over clocks ended, as the SLA report counts them
    first = today.replace(day=1)
    r = await console.http.get(
        "/reports/sla", params={"since": f"{first}T00:00:00Z"}, headers=auth("manager")
    )
    met = sum(row["met"] for row in r.json()["rows"])
    breached = sum(row["breached"] for row in r.json()["rows"])
    assert met >= 3 and breached >= 1
    assert await figure_value(manager, "sla") == f"{100 * met / (met + breached):.0f} %"
    await manager.locator("[data-figure=week] a").click()
    await expect(manager.locator("#chart-volume")).to_be_visible()
    await manager.goto(f"{console.base}/console")
    await manager.locator("[data-figure=sla] a").click()
    await expect(manager).to_have_url(re.compile(r"/console/reports\?since=.*#sla"))
    await manager.goto(f"{console.base}/console")
    assert await axe_violations(manager) == []
    assert console.script_errors() == []


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


async def test_an_operator_reads_decoded_details_in_the_temporal_ui(console: Console):
    """Signed in once in the console, the operator follows the case's link to the Temporal UI
    (served by the API at /temporal) and reads the decoded current details: nothing to type."""
    eid = (await console.open(summary="Read in the Temporal UI"))["id"]
    await console.wait_stage(eid, "helpline_consult")
    operator = await console.signed_in("operator")
    await operator.goto(f"{console.base}/console/cases/{eid}")
    await operator.get_by_role("link", name="Open the workflow in the Temporal UI").click()
    await operator.wait_for_url(
        re.compile(f"/temporal/namespaces/default/workflows/escalation-{eid}")
    )
    # the input is decoded (the customer's request), and so are the current details (a query
    # result, encrypted like every payload), under "User Metadata"
    main = operator.locator("main")
    await expect(main).to_contain_text("Read in the Temporal UI", timeout=30_000)
    await expect(main).to_contain_text("opened to Ada Lovelace")  # an activity's summary
    await operator.get_by_role("tab", name="User Metadata").click()
    details = operator.frame_locator("#user-metadata-current-details").locator("body")
    await expect(details).to_contain_text("stage helpline_consult", timeout=30_000)
    await expect(details).to_contain_text("waiting on: the help line")
    await shoot(operator, "temporal-ui-decoded")
    assert "binary/encrypted" not in await main.inner_text()

    # the UI and the codec are for operators only
    manager = await console.signed_in("manager")
    r = await manager.goto(f"{console.base}/temporal/namespaces/default/workflows")
    assert r is not None and r.status == 403
    r = await manager.request.post(f"{console.base}/codec/decode", data={"payloads": []})
    assert r.status == 403


async def test_the_case_forms_request_info_note_severity_resolve_reopen_cancel(console: Console):
    """Each action form of the case page, clicked, as the access table offers it."""
    eid = (await console.open(summary="Every form"))["id"]
    await console.wait_stage(eid, "helpline_consult")
    r = await console.http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": False, "answer": "Needs a specialist"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    r = await console.http.post(f"/escalations/{eid}/acknowledge", headers=auth("specialist"))
    assert r.status_code == 200, r.text

    def form(page: Page, action: str):
        return page.locator(f"form[action$='/actions/{action}']")

    specialist = await console.signed_in("specialist")
    await specialist.goto(f"{console.base}/console/cases/{eid}")
    ask = form(specialist, "request_info")
    await ask.get_by_label("Question").fill("Which card was charged?")
    await ask.get_by_role("button", name="Send request").click()
    await expect(specialist.locator("dl.facts")).to_contain_text("clocks paused")
    await expect(specialist.get_by_role("region", name="SLA clocks")).to_contain_text("paused")
    note = form(specialist, "add_note")
    await note.get_by_label("Note").fill("Customer on holiday until Monday")
    await note.get_by_role("button", name="Add note").click()
    await expect(specialist.get_by_role("region", name="Handover")).to_contain_text(
        "Customer on holiday until Monday"
    )

    # the manager raises the severity while the case is open
    manager = await console.signed_in("manager")
    await manager.goto(f"{console.base}/console/cases/{eid}")
    severity = form(manager, "change_severity")
    await severity.get_by_label("Severity").select_option("P2")
    await severity.get_by_label("Reason").fill("Press enquiry")
    await severity.get_by_role("button", name="Change severity").click()
    await expect(manager.locator("dl.facts")).to_contain_text("P2")
    await expect(manager.locator(".timeline")).to_contain_text("severity changed")

    # the specialist resolves; the manager reopens, then cancels
    r = await console.http.post(
        f"/escalations/{eid}/customer-contact",
        json={"message": "The Visa ending 4242", "still_broken": False},
        headers=auth("system"),
    )
    assert r.status_code == 200, r.text
    await specialist.goto(f"{console.base}/console/cases/{eid}")
    resolve = form(specialist, "resolve")
    await resolve.get_by_label("Outcome").fill("Duplicate charge refunded")
    await resolve.get_by_role("button", name="Resolve").click()
    await expect(specialist.locator("[data-resolution]")).to_contain_text("specialist")

    await manager.goto(f"{console.base}/console/cases/{eid}")
    await expect(form(manager, "change_severity")).to_have_count(0)  # resolved: not offered
    reopen = form(manager, "reopen")
    await reopen.get_by_label("Reason").fill("Charged again")
    await reopen.get_by_role("button", name="Reopen").click()
    await expect(manager.locator("[data-stage]")).to_have_text("specialist")
    cancel = form(manager, "cancel")
    await cancel.get_by_label("Reason").fill("Opened twice")
    await cancel.get_by_role("button", name="Cancel case").click()
    await expect(manager.locator("[data-stage]")).to_have_text("cancelled")
    await expect(manager.locator("form.action")).to_have_count(0)  # nothing left to do
    timeline = await console.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    actions = [e["action"] for e in timeline.json()["items"]]
    for done in ("info_requested", "note_added", "severity_changed", "resolved", "reopened"):
        assert done in actions, actions
    assert "cancelled" in actions, actions
    assert await axe_violations(manager) == []
    assert console.script_errors() == []
