"""The console's intake form (/console/escalate) in Chromium on the real stack: what the agent may
grant and the knowledge base's matches as they type, a draft that survives a reload, errors
beside the field, one case however often the form is sent, and the handover that follows."""

from __future__ import annotations

import re
import time

from playwright.async_api import Page, expect

from tests.api.conftest import auth
from tests.console.conftest import Console, axe_violations, shoot


def field(page: Page, label: str):
    return page.locator("#escalate").get_by_label(label, exact=True)


async def fill_customer(page: Page, customer_id: str) -> None:
    await field(page, "Customer id (required)").fill(customer_id)
    await field(page, "Name (required)").fill("Ada Lovelace")
    await field(page, "E-mail").fill("ada@example.com")


async def test_an_agent_escalates_with_what_they_may_grant_and_the_kb_beside_the_form(
    console: Console,
):
    customer = f"C-intake-{time.time_ns()}"
    agent = await console.signed_in("agent")
    await agent.get_by_role("link", name="Escalate").click()
    await expect(agent.get_by_role("heading", name="Escalate a customer's problem")).to_be_visible()
    help_panel = agent.locator("#intake-help")

    await fill_customer(agent, customer)
    await field(agent, "Category").select_option("billing")
    # what tier 1 may grant for billing, capped by the agent's own authority (50)
    await expect(help_panel.locator("[data-offer=refund]")).to_have_text("refund up to 50 GBP")
    await field(agent, "Remedy").select_option("refund")
    await field(agent, "Amount (GBP)").fill("40")
    await expect(help_panel.locator("[data-tier1]")).to_have_attribute("data-tier1", "yes")
    await field(agent, "Amount (GBP)").fill("600")
    await expect(help_panel.locator("[data-tier1]")).to_have_attribute("data-tier1", "no")
    await expect(help_panel.locator("[data-tier1]")).to_contain_text("above")
    await expect(help_panel.locator("[data-goodwill]")).to_contain_text("0 escalation(s)")
    # the knowledge base answers the words typed so far
    await field(agent, "Summary (required)").fill("Charged twice for March")
    await expect(help_panel.locator("[data-kb=duplicate-charge-refund]")).to_be_visible()
    await agent.locator("#i-details").fill("Two identical charges of 300 GBP on 3 March")

    # a reload on the call loses nothing
    await agent.reload()
    await expect(field(agent, "Customer id (required)")).to_have_value(customer)
    await expect(field(agent, "Amount (GBP)")).to_have_value("600")
    await expect(agent.locator("#i-details")).to_have_value(
        "Two identical charges of 300 GBP on 3 March"
    )
    await shoot(agent, "escalate")
    assert await axe_violations(agent) == []

    await agent.get_by_role("button", name="Open the escalation").click()
    await expect(agent.locator(".notice.ok")).to_contain_text("opened, in helpline_consult")
    eid = re.search(r"/console/cases/(E-[0-9A-F]+)", agent.url).group(1)  # type: ignore[union-attr]
    handover = agent.get_by_role("region", name="Handover")
    await expect(handover).to_contain_text("Two identical charges of 300 GBP on 3 March")
    await expect(handover).to_contain_text("600 GBP refund")
    view = (await console.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert view["customer"]["contact"]["email"] == "ada@example.com"
    timeline = await console.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    opened = timeline.json()["items"][0]
    assert (opened["action"], opened["actor"], opened["role"]) == ("opened", "Alex Agent", "agent")

    # the draft is gone once the case is open: a new form starts empty, with a new key
    await agent.get_by_role("link", name="Escalate").click()
    await expect(field(agent, "Customer id (required)")).to_have_value("")
    assert console.script_errors() == []


async def test_sending_the_form_twice_opens_one_case(console: Console):
    customer = f"C-twice-{time.time_ns()}"
    agent = await console.signed_in("agent")
    await agent.goto(f"{console.base}/console/escalate")
    await fill_customer(agent, customer)
    await field(agent, "Summary (required)").fill("Sent twice")
    form = await agent.evaluate(
        "() => Object.fromEntries(new FormData(document.getElementById('escalate')))"
    )
    # a double click or a retry after a lost answer: the same form, the same key
    first = await agent.request.post(f"{console.base}/console/escalate", form=form, max_redirects=0)
    again = await agent.request.post(f"{console.base}/console/escalate", form=form, max_redirects=0)
    assert first.status == again.status == 303
    assert first.headers["location"] == again.headers["location"]
    r = await console.http.get(
        "/escalations", params={"customer_id": customer}, headers=auth("operator")
    )
    assert [c["id"] for c in r.json()["items"]] == [
        first.headers["location"].split("/")[-1].split("?")[0]
    ]


async def test_a_wrong_answer_is_shown_beside_its_field_and_nothing_opens(console: Console):
    customer = f"C-wrong-{time.time_ns()}"
    agent = await console.signed_in("agent")
    await agent.goto(f"{console.base}/console/escalate")
    await fill_customer(agent, customer)
    await field(agent, "Summary (required)").fill("A negative refund")
    await field(agent, "Remedy").select_option("refund")
    await field(agent, "Amount (GBP)").fill("-5")
    await agent.get_by_role("button", name="Open the escalation").click()
    amount = field(agent, "Amount (GBP)")
    await expect(amount).to_have_attribute("aria-invalid", "true")
    await expect(agent.locator("#e-remedy_amount")).to_contain_text("greater than or equal to 0")
    await expect(agent.locator(".notice.refused")).to_contain_text("Nothing was opened")
    await expect(field(agent, "Customer id (required)")).to_have_value(customer)
    r = await console.http.get(
        "/escalations", params={"customer_id": customer}, headers=auth("operator")
    )
    assert r.json()["items"] == []
    assert await axe_violations(agent) == []


async def test_only_the_roles_that_open_cases_see_the_form(console: Console):
    specialist = await console.signed_in("specialist")
    await expect(specialist.get_by_role("link", name="Escalate")).to_have_count(0)
    r = await specialist.goto(f"{console.base}/console/escalate")
    assert r is not None and r.status == 403
    agent = await console.signed_in("agent")
    await expect(agent.get_by_role("link", name="Escalate")).to_be_visible()
