"""The case page shows what issue 22 added to a case, in headless Chromium against the real stack
(tests/console/conftest.py): callbacks and contributions with their due times and countdowns,
the customer's past year beside a pending sign-off, the handover packet on the specialist's
page, and a resolved case's root cause and the customer's feedback."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Page, expect

from api.main import create_app
from core.policy import read_policy
from core.settings import CONFIG_DIR, Settings
from tests.api.conftest import auth, request_body
from tests.api.test_feedback import check_in_token
from tests.console.conftest import Console, axe_violations, remember, shoot
from workflows.business_hours import is_open

LIVE_S = 5  # pages follow a change within 5 s (issue 23)


def customer(prefix: str) -> dict:
    """A customer of the test's own: their past year is only what the test made."""
    return {**request_body()["customer"], "id": f"{prefix}-{time.time_ns()}"}


async def at_specialist(console: Console, eid: str) -> None:
    """The help line sends the case on; the demo specialist takes ownership (their team's)."""
    await console.wait_stage(eid, "helpline_consult")
    r = await console.http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": False, "answer": "Above tier-1 authority: needs a billing specialist"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    r = await console.http.post(f"/escalations/{eid}/acknowledge", headers=auth("specialist"))
    assert r.status_code == 200, r.text


def callback_time() -> datetime:
    """A time the billing team works (the validator's rule), at least an hour from now."""
    hours = read_policy(CONFIG_DIR / "policy.toml").calendar("uk_extended")
    at = (datetime.now(UTC) + timedelta(hours=1)).replace(second=0, microsecond=0)
    while not is_open(hours, at):
        at += timedelta(minutes=15)
    return at


def region(page: Page, name: str):
    return page.get_by_role("region", name=name)


async def test_callbacks_and_contributions_show_due_times_and_countdowns(console: Console):
    eid = (await console.open(summary="Callback and contributions"))["id"]
    await at_specialist(console, eid)
    specialist = await console.signed_in("specialist")
    await specialist.goto(f"{console.base}/console/cases/{eid}")

    # a callback promised through the case page's form
    at = callback_time()
    promise = specialist.locator("form[action$='/actions/promise_callback']")
    # the picker takes the reader's wall-clock time (the browser's zone is Europe/London)
    local = at.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%dT%H:%M")
    await promise.get_by_label("When").fill(local)
    await promise.get_by_label("Note").fill("Confirm the refund reached the card")
    await promise.get_by_role("button", name="Promise callback").click()
    callbacks = region(specialist, "Callbacks promised")
    await expect(callbacks).to_contain_text("Sam Specialist (specialist)")
    await expect(callbacks).to_contain_text("Confirm the refund reached the card")
    await expect(callbacks).to_contain_text("missed if not done 10 min after the promised time")
    promised = callbacks.locator("td[data-label='Promised for']")
    assert await promised.locator("time").get_attribute("datetime") == at.isoformat()
    await expect(promised.locator(".countdown")).to_contain_text("left")
    # shown in the reader's zone (Europe/London), not the server's UTC
    assert "UTC" not in await promised.locator("time").inner_text()
    reminder = callbacks.locator("td[data-label='Reminder'] time")
    assert datetime.fromisoformat(await reminder.get_attribute("datetime") or "") < at

    # two questions to another team: one within its hours, one capped by the resolution clock
    ask = specialist.locator("form[action$='/actions/request_contribution']")
    await ask.get_by_label("Team").select_option("technical-specialists")
    await ask.get_by_label("Question").fill("Was the card terminal double-charging on 3 March?")
    await ask.get_by_label("Business hours they have").fill("4")
    await ask.get_by_role("button", name="Ask team").click()
    await expect(specialist.locator(".notice.ok")).to_be_visible()
    ask = specialist.locator("form[action$='/actions/request_contribution']")
    await ask.get_by_label("Team").select_option("technical-specialists")
    await ask.get_by_label("Question").fill("A full audit of the terminal's logs")
    await ask.get_by_label("Business hours they have").fill("700")
    await ask.get_by_role("button", name="Ask team").click()
    contributions = region(specialist, "Contributions from other teams")
    rows = contributions.locator("tbody tr")
    await expect(rows).to_have_count(2)
    view = (await console.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    due = [c["due_at"] for c in view["contributions"]]
    resolution = next(c for c in view["clocks"] if c["name"] == "resolution")
    for row, due_at in zip(await rows.all(), due, strict=True):
        cell = row.locator("td[data-label='Due']")
        shown = await cell.locator("time").get_attribute("datetime")
        assert datetime.fromisoformat(shown or "") == datetime.fromisoformat(due_at)
        await expect(cell.locator(".countdown")).to_contain_text("left")
        await expect(cell).to_contain_text("technical-specialists's hours: uk_office")
    await expect(rows.nth(0)).not_to_contain_text("capped")
    await expect(rows.nth(1).locator("[data-capped]")).to_have_text(
        "capped by the resolution clock"
    )
    assert datetime.fromisoformat(due[1]) == datetime.fromisoformat(resolution["due_at"])

    # the other team's supervisor answers on the API: the open page shows it without a reload
    r = await console.http.post(
        f"/escalations/{eid}/contributions/1/answer",
        json={"answer": "Yes: a known terminal fault that day"},
        headers=auth("supervisor"),
    )
    assert r.status_code == 200, r.text
    answered = rows.nth(0).locator("td[data-label='Answer']")
    await expect(answered).to_contain_text("a known terminal fault", timeout=LIVE_S * 1000)
    await expect(answered).to_contain_text("Sasha Supervisor")
    await expect(rows.nth(0).locator(".countdown")).to_have_count(0)

    # the callback made, recorded on the page
    done = specialist.locator("form[action$='/actions/callback_done']")
    await done.get_by_label("Callback", exact=True).select_option("1")
    await done.get_by_role("button", name="Callback done").click()
    await expect(callbacks.locator("td[data-label='State']")).to_contain_text("by Sam Specialist")
    await expect(callbacks.locator(".countdown")).to_have_count(0)

    # a manager's chase and reassignment read as sentences on the timeline
    r = await console.http.post(
        f"/escalations/{eid}/chase",
        json={"message": "The customer called again"},
        headers=auth("manager"),
    )
    assert r.status_code == 200, r.text
    r = await console.http.post(
        f"/escalations/{eid}/reassign",
        json={"assignee": "p-specialist-2", "reason": "Sam is on leave tomorrow"},
        headers=auth("manager"),
    )
    assert r.status_code == 200, r.text
    timeline = specialist.locator(".timeline")
    chased = timeline.locator("li[data-action='owner_chased']")
    await expect(chased).to_contain_text("chased the owner", timeout=LIVE_S * 1000)
    await expect(chased).to_contain_text("Morgan Manager (manager)")
    await expect(chased).to_contain_text("The customer called again")
    reassigned = timeline.locator("li[data-action='reassigned']")
    await expect(reassigned).to_contain_text("reassigned the case", timeout=LIVE_S * 1000)
    await expect(reassigned).to_contain_text("from Sam Specialist to Sky Specialist")

    assert await axe_violations(specialist) == []
    # a phone: the tables turn into blocks, nothing wider than the screen
    await specialist.set_viewport_size({"width": 390, "height": 844})
    width = await specialist.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    assert console.script_errors() == []


async def test_the_approver_sees_the_customers_past_year_beside_the_sign_off(console: Console):
    who = customer("C-past")
    small = {"kind": "refund", "amount": 40, "currency": "GBP", "description": "late fee"}
    earlier = await console.open(customer=who, summary="Late fee", requested_remedy=small)
    await remember(console, await console.wait_stage(earlier["id"], "resolved", "follow_up"))

    eid = (await console.open(customer=who, summary="Charged twice, again"))["id"]
    await at_specialist(console, eid)
    r = await console.http.post(
        f"/escalations/{eid}/proposals",
        json={"remedy": {"kind": "refund", "amount": 600, "currency": "GBP"}},
        headers=auth("specialist"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["stage"] == "executive_signoff"

    executive = await console.signed_in("executive")
    await executive.goto(f"{console.base}/console/cases/{eid}")
    approval = region(executive, "Pending approval")
    await expect(approval.get_by_role("button", name="Send decision")).to_have_count(0)
    await expect(executive.get_by_role("button", name="Send decision")).to_be_visible()
    facts = approval.locator("[data-approval-customer]")
    await expect(facts).to_contain_text("Value tierstandard")
    await expect(facts).to_contain_text("Escalations in the past year1")
    await expect(facts).to_contain_text("Goodwill already given40 GBP this year")
    await expect(facts).to_contain_text("Left of the yearly budget110 GBP")  # 150 a year
    past = region(executive, "The customer's past year").locator("table[data-past] tbody tr")
    await expect(past).to_have_count(1)
    await expect(past).to_contain_text(earlier["id"])
    await expect(past).to_contain_text("resolved at tier1")
    await expect(past).to_contain_text("40 GBP")
    # the approval and the customer's past sit side by side (next cards in the page's grid)
    cards = await executive.locator(".grid > section h2").all_inner_texts()
    assert cards.index("The customer's past year") == cards.index("Pending approval") + 1
    assert await axe_violations(executive) == []
    assert console.script_errors() == []


async def test_the_specialist_reads_the_handover_packet(console: Console):
    summary = "Handover packet"
    eid = (await console.open(customer=customer("C-handover"), summary=summary))["id"]
    await at_specialist(console, eid)
    r = await console.http.post(
        f"/escalations/{eid}/notes",
        json={"text": "Customer prefers a call after 5pm"},
        headers=auth("agent"),
    )
    assert r.status_code == 200, r.text
    view = (await console.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()

    specialist = await console.signed_in("specialist")
    await specialist.goto(f"{console.base}/console/cases/{eid}")
    handover = region(specialist, "Handover")
    consult = handover.locator("[data-consult]")
    await expect(consult).to_contain_text(f"Askedbilling: {summary}")
    await expect(consult).to_contain_text(
        "AnswerAbove tier-1 authority: needs a billing specialist"
    )
    await expect(handover).to_contain_text("Alex Agent (phone)")  # who captured it, where
    await expect(handover).to_contain_text("Two identical charges on 3 March")
    await expect(handover).to_contain_text("600 GBP refund: Refund both charges")
    await expect(handover).to_contain_text("Knowledge-base matches")
    await expect(handover).to_contain_text("Customer prefers a call after 5pm")
    reason = view["triage_reason"]  # e.g. "triage rule 5 matched on category billing: ..."
    assert reason and "matched" in reason
    await expect(handover.locator("[data-triage]")).to_contain_text(reason[1:])
    await expect(specialist.locator("[data-urgency]")).to_have_text(view["urgency"])
    await expect(region(specialist, "The customer's past year")).to_contain_text(
        "No earlier escalation in the past year"
    )
    assert await axe_violations(specialist) == []
    assert console.script_errors() == []


@asynccontextmanager
async def api_with_policy(
    console: Console, folder: Path, version: str, *changes: tuple[str, str]
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    """The API with the demo policy changed as given (a store of its own), on the same worker."""
    text = (CONFIG_DIR / "policy.toml").read_text()
    text = text.replace('version = "2026.11-demo"', f'version = "{version}"')
    for old, new in changes:
        assert old in text, old
        text = text.replace(old, new)
    path = folder / "policy.toml"
    path.write_text(text)
    settings = Settings(
        demo=True, task_queue=console.settings.task_queue, policy_path=path, data_dir=folder
    )
    app = create_app(settings, client=console.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        yield http, settings


@pytest.fixture
async def quick(
    console: Console, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, Settings]]:
    """Check-ins seconds after resolution."""
    quick_check_ins = ("follow_up_h = [24, 168]", "follow_up_h = [0.0003, 0.0006]")
    async with api_with_policy(
        console, tmp_path, "2026.11-console-check-ins", quick_check_ins
    ) as api:
        yield api


async def test_a_resolved_case_shows_its_root_cause_and_the_customers_feedback(
    console: Console, quick, stack
):
    http, settings = quick
    r = await http.post(
        "/escalations",
        json=request_body(customer=customer("C-feedback"), summary="Feedback on the page"),
        headers=auth("agent"),
    )
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    await at_specialist(console, eid)

    # the owner resolves on the page with a root cause, and the trigger judged not avoidable
    specialist = await console.signed_in("specialist")
    await specialist.goto(f"{console.base}/console/cases/{eid}")
    resolve = specialist.locator("form[action$='/actions/resolve']")
    await resolve.get_by_label("Outcome").fill("Duplicate charge refunded")
    await resolve.get_by_label("Root cause").select_option("billing_error")
    await resolve.get_by_label("Was the trigger avoidable after all?").select_option("no")
    await resolve.get_by_role("button", name="Resolve").click()
    await expect(specialist.locator("[data-resolution]")).to_contain_text("specialist")
    await expect(specialist.locator("[data-root-cause]")).to_have_text("billing error")
    await expect(specialist.locator("[data-avoidable]")).to_have_text("no")

    # the customer answers the first check-in's link: the open page shows it within 5 s
    token = await check_in_token(stack, settings, eid, 1)
    r = await http.post(
        "/feedback", json={"token": token, "score": 4, "comment": "Refund arrived, thanks"}
    )
    assert r.status_code == 200, r.text
    feedback = region(specialist, "Customer feedback")
    row = feedback.locator("table[data-feedback] tbody tr")
    await expect(row).to_have_count(1, timeout=LIVE_S * 1000)
    await expect(row.locator("th")).to_have_text("check-in 1")
    await expect(row).to_contain_text("4 of 5")
    await expect(row).to_contain_text("Refund arrived, thanks")
    await expect(row.locator("td[data-label='Still broken']")).to_have_text("no")
    assert await axe_violations(specialist) == []
    assert console.script_errors() == []


async def test_a_missed_callback_and_a_breached_contribution_read_as_breaches(
    console: Console, tmp_path: Path
):
    """A legal threat counts round the clock: a callback due in seconds (no grace in this
    policy) is missed and a contribution given a few seconds is breached, on the open page."""
    no_grace = ("callback_grace_min = 10 ", "callback_grace_min = 0 ")
    async with api_with_policy(console, tmp_path, "2026.11-console-no-grace", no_grace) as api:
        http, _ = api
        r = await http.post(
            "/escalations",
            json=request_body(
                customer=customer("C-breach"), trigger="legal_threat", summary="Breaches"
            ),
            headers=auth("agent"),
        )
        assert r.status_code == 201, r.text
    eid = r.json()["id"]
    await console.wait_stage(eid, "specialist")  # straight to the escalated-accounts manager
    r = await console.http.post(
        f"/escalations/{eid}/reassign",
        json={"assignee": "p-specialist", "reason": "Billing question"},
        headers=auth("manager"),
    )
    assert r.status_code == 200, r.text
    r = await console.http.post(f"/escalations/{eid}/acknowledge", headers=auth("specialist"))
    assert r.status_code == 200, r.text

    agent = await console.signed_in("agent")
    await agent.goto(f"{console.base}/console/cases/{eid}")
    soon = (datetime.now(UTC) + timedelta(seconds=5)).isoformat()
    r = await console.http.post(
        f"/escalations/{eid}/callbacks", json={"at": soon}, headers=auth("agent")
    )
    assert r.status_code == 200, r.text
    r = await console.http.post(
        f"/escalations/{eid}/contributions",
        json={"team": "technical-specialists", "question": "Any outage?", "within_h": 0.001},
        headers=auth("specialist"),
    )
    assert r.status_code == 200, r.text

    callback = region(agent, "Callbacks promised").locator("tbody tr")
    await expect(callback).to_contain_text("missed: breach of promise", timeout=20_000)
    await expect(callback).to_have_class("breached")
    await expect(callback).to_contain_text("Alex Agent (agent)")
    contribution = region(agent, "Contributions from other teams").locator("tbody tr")
    await expect(contribution).to_contain_text("breached: not answered by its deadline")
    await expect(contribution).to_contain_text("counted round the clock")
    await expect(contribution).to_have_class("breached")
    timeline = agent.locator(".timeline")
    await expect(timeline.locator("li[data-action='callback_missed']")).to_contain_text(
        "callback missed: breach of promise"
    )
    await expect(timeline.locator("li[data-action='contribution_breached']")).to_have_class(
        "breached"
    )
    assert await axe_violations(agent) == []
    assert console.script_errors() == []


def next_sunday_3am_london() -> datetime:
    """03:00 on the coming Sunday in London: no demo calendar is open then."""
    london = ZoneInfo("Europe/London")
    day = datetime.now(london).date() + timedelta(days=1)
    while day.weekday() != 6:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, 3, tzinfo=london)


async def test_the_forms_offer_what_the_case_holds_and_show_errors_beside_the_field(
    console: Console,
):
    eid = (await console.open(summary="Form inputs"))["id"]
    await at_specialist(console, eid)
    specialist = await console.signed_in("specialist")
    await specialist.goto(f"{console.base}/console/cases/{eid}")

    # nothing to record as done yet: the form says so and cannot be sent
    done = specialist.locator("form[action$='/actions/callback_done']")
    await expect(done).to_contain_text("No promised callback is open.")
    await expect(done.get_by_role("button", name="Callback done")).to_be_disabled()

    # a callback at a time nobody works: refused, the reason beside the picker, the time kept
    sunday = next_sunday_3am_london().strftime("%Y-%m-%dT%H:%M")
    promise = specialist.locator("form[action$='/actions/promise_callback']")
    await expect(promise.locator("[data-tz]")).to_have_text("Europe/London")
    await promise.get_by_label("When").fill(sunday)
    await promise.get_by_role("button", name="Promise callback").click()
    promise = specialist.locator("form[action$='/actions/promise_callback']")
    when = promise.get_by_label("When")
    await expect(when).to_have_attribute("aria-invalid", "true")
    await expect(when).to_have_value(sunday)
    await expect(promise.locator(".field-error")).to_contain_text("outside your business hours")
    assert await when.get_attribute("aria-describedby") == "promise_callback-at-error"
    view = (await console.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert view["callbacks"] == []

    # then a time the team works, read in the reader's zone: the callback is now a choice
    at = callback_time()
    await when.fill(at.astimezone(ZoneInfo("Europe/London")).strftime("%Y-%m-%dT%H:%M"))
    await promise.get_by_role("button", name="Promise callback").click()
    await expect(specialist.locator(".notice.ok")).to_be_visible()
    done = specialist.locator("form[action$='/actions/callback_done']")
    await expect(done.get_by_label("Callback", exact=True).locator("option")).to_have_count(1)
    await expect(done.get_by_role("button", name="Callback done")).to_be_enabled()

    # the policy's other teams to ask (never the case's own), an error beside the hours
    ask = specialist.locator("form[action$='/actions/request_contribution']")
    teams = await ask.get_by_label("Team").locator("option").all_inner_texts()
    assert "technical-specialists" in teams
    assert view["assigned_team"] not in teams
    await ask.get_by_label("Question").fill("Was the terminal faulty?")
    await ask.get_by_label("Business hours they have").fill("0")
    await ask.get_by_role("button", name="Ask team").click()
    ask = specialist.locator("form[action$='/actions/request_contribution']")
    hours = ask.get_by_label("Business hours they have")
    await expect(hours).to_have_attribute("aria-invalid", "true")
    await expect(ask.locator(".field-error")).to_contain_text("greater than 0")
    await expect(ask.get_by_label("Question")).to_have_value("Was the terminal faulty?")
    await ask.scroll_into_view_if_needed()
    await shoot(specialist, "case-forms")

    # the manager reassigns by choosing a specialist (the owner is not offered)
    manager = await console.signed_in("manager")
    await manager.goto(f"{console.base}/console/cases/{eid}")
    reassign = manager.locator("form[action$='/actions/reassign']")
    owners = reassign.get_by_label("New owner").locator("option")
    offered = [await o.get_attribute("value") for o in await owners.all()]
    assert view["assignee"] not in offered
    assert "p-specialist-tech" in offered
    other = next(p for p in offered if p != view["assignee"] and p == "p-specialist-2")
    await reassign.get_by_label("New owner").select_option(other)
    await reassign.get_by_label("Reason").fill("Sam is off sick")
    await reassign.get_by_role("button", name="Reassign").click()
    await expect(manager.locator(".notice.ok")).to_be_visible()
    view = (await console.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert view["assignee"] == other
    assert await axe_violations(specialist) == []
    assert await axe_violations(manager) == []
    assert console.script_errors() == []
