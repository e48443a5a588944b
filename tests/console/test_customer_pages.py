"""The customer's own pages on the real stack, in Chromium at phone width: the status page behind
the signed link (stage, team, promise, hours, what they were told; adding information; altered
and expired links refused), the public hours page, and no staff name on either."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from playwright.async_api import Page, expect

from activities.notify import with_status_link
from api.customer import router as customer_router
from core.status_links import StatusLinks
from tests.api.conftest import auth
from tests.console.conftest import Console, axe_violations, shoot, watch_headers
from workflows.messages import Delivery

PHONE = {"width": 390, "height": 844}


async def phone(console: Console) -> Page:
    """A phone's browser, no sign-in; every document's security headers checked."""
    context = await console.browser.new_context(
        viewport=PHONE, timezone_id="Europe/London", locale="en-GB", is_mobile=True
    )
    watch_headers(context, console.base, console.header_problems)
    return await context.new_page()


def link(console: Console, eid: str, sent_at: datetime | None = None) -> str:
    url = StatusLinks.from_settings(console.settings).url(eid, sent_at or datetime.now(UTC))
    return console.base + url.removeprefix(console.settings.public_url.rstrip("/"))


async def test_the_status_page_shows_the_case_and_takes_what_the_customer_adds(console: Console):
    eid = (await console.open(summary="Charged twice for March"))["id"]
    await console.wait_stage(eid, "helpline_consult")
    page = await phone(console)
    await page.goto(link(console, eid))
    await expect(
        page.get_by_role("heading", name="Your case: Charged twice for March")
    ).to_be_visible()
    await expect(page.locator("[data-where]")).to_have_text("Our support team is looking into it.")
    await expect(page.locator("[data-promise] time")).to_have_count(1)
    await expect(page.locator("table.hours")).to_contain_text("Monday")
    await expect(page.locator(".timeline")).to_contain_text("We received your escalation.")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await axe_violations(page) == []

    await page.get_by_label("What you would like us to know").fill("My bank says both went through")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator(".notice.ok")).to_contain_text("we have added it")
    await expect(page.locator(".timeline")).to_contain_text(
        "You added: My bank says both went through"
    )
    await shoot(page, "customer-status")
    entries = (
        await console.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    ).json()
    mine = [e for e in entries["items"] if e["action"] == "customer_contact"]
    assert [(e["role"], e["detail"]) for e in mine] == [
        ("customer", "My bank says both went through")
    ]

    # with a specialist now: the team is named, the person never
    r = await console.http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": False, "answer": "Needs a billing specialist"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    assignee = r.json()["assignee"]
    await console.wait_stage(eid, "specialist")
    await page.reload()
    await expect(page.locator("[data-where]")).to_have_text(
        "A specialist in our billing team is working on it."
    )
    text = await page.locator("main").inner_text()
    staff = (await console.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert assignee not in text and "Specialist" not in text and "Harper" not in text, text
    assert "staff.example.com" not in text
    async with httpx.AsyncClient(base_url=console.base) as anyone:
        as_json = (await anyone.get(link(console, eid).removeprefix(console.base))).json()
    assert as_json["stage"] == "specialist" and as_json["who"] == "billing"
    assert staff["assignee"] not in str(as_json)


async def test_the_customer_asks_for_escalation_and_the_manager_has_it(console: Console):
    eid = (await console.open(summary="Nobody calls back"))["id"]
    await console.wait_stage(eid, "helpline_consult")
    page = await phone(console)
    await page.goto(link(console, eid))
    ask = page.get_by_role("region", name="Not happy with how it is going?")
    await ask.get_by_label("Why you want it escalated").fill("Three days and no call back")
    await ask.get_by_role("button", name="I want this escalated").click()
    await expect(page.locator(".notice.ok")).to_contain_text("passed your request to the manager")
    await expect(page.locator(".timeline")).to_contain_text(
        "You asked for your case to be escalated: Three days and no call back"
    )
    # asked: the page says so instead of offering the button again
    await expect(page.get_by_role("button", name="I want this escalated")).to_have_count(0)
    await expect(page.locator("[data-asked]")).to_contain_text("You asked for escalation at")
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await axe_violations(page) == []
    view = (await console.http.get(f"/escalations/{eid}", headers=auth("manager"))).json()
    assert view["escalation_asked_at"] is not None
    # the manager sees it on the case page
    manager = await console.signed_in("manager")
    await manager.goto(f"{console.base}/console/cases/{eid}")
    await expect(manager.locator("[data-escalation-asked]")).to_contain_text("the manager was told")


async def test_an_altered_or_expired_link_opens_nothing(console: Console):
    eid = (await console.open(summary="Links"))["id"]
    good = link(console, eid)
    page = await phone(console)
    altered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    r = await page.goto(altered)
    assert r is not None and r.status == 403
    await expect(page.get_by_role("alert")).to_contain_text("not one we sent")
    old = link(console, eid, datetime.now(UTC) - timedelta(days=31))
    r = await page.goto(old)
    assert r is not None and r.status == 410
    await expect(page.get_by_role("alert")).to_contain_text("expired")
    async with httpx.AsyncClient(base_url=console.base) as anyone:
        r = await anyone.post(old.removeprefix(console.base), json={"message": "hi"})
        assert (r.status_code, r.json()["error"]) == (410, "expired")
        r = await anyone.post(altered.removeprefix(console.base), json={"message": "hi"})
        assert (r.status_code, r.json()["error"]) == (403, "forbidden")
        r = await anyone.post(good.removeprefix(console.base), json={"message": ""})
        assert r.status_code == 422 and "message" in r.json()["detail"]


async def test_a_flood_from_a_link_is_slowed_and_what_was_taken_stays(console: Console):
    eid = (await console.open(summary="Flood"))["id"]
    path = link(console, eid).removeprefix(console.base)
    burst = customer_router.LIMIT.burst
    async with httpx.AsyncClient(base_url=console.base, timeout=30) as anyone:
        codes = [
            (await anyone.post(path, json={"message": f"note {i}"})).status_code
            for i in range(burst + 1)
        ]
        assert codes == [200] * burst + [429]
        refused = await anyone.post(path, json={"message": "one more"})
        assert int(refused.headers["Retry-After"]) > 0
    timeline = (
        await console.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    ).json()
    taken = [e["detail"] for e in timeline["items"] if e["action"] == "customer_contact"]
    assert taken == [f"note {i}" for i in range(burst)]


async def test_the_public_hours_page_comes_from_the_live_policy(console: Console):
    page = await phone(console)
    await page.goto(f"{console.base}/hours")
    await expect(
        page.get_by_role("heading", name="How to escalate, our hours and response times")
    ).to_be_visible()
    await expect(page.locator("tr[data-severity=P1]")).to_contain_text("round the clock")
    await expect(page.locator("tr[data-severity=P3]")).to_contain_text("4 h")
    await expect(page.get_by_role("heading", name="Our billing team")).to_be_visible()
    assert await page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert await axe_violations(page) == []


def test_every_customer_message_carries_its_status_link_and_staff_messages_none():
    links = StatusLinks("secret", "https://help.example.com", days=30)
    sent = datetime(2026, 12, 7, 10, tzinfo=UTC)
    base = {
        "escalation_id": "E-1",
        "event": "opened",
        "channel": "email",
        "address": "a@b.c",
        "recipient_name": "Ada",
        "subject": "s",
        "body": "We have your case.",
    }
    told = with_status_link(Delivery(**base, audience="customer"), links, sent)
    url = told.body.split("add anything: ")[1].strip()
    assert url.startswith("https://help.example.com/status/")
    claim = links.verify(url.rsplit("/", 1)[1], now=sent + timedelta(days=29))
    assert claim.escalation_id == "E-1"
    assert claim.expires_at == sent + timedelta(days=30)
    staff = with_status_link(Delivery(**base, audience="staff"), links, sent)
    assert staff.body == "We have your case."
