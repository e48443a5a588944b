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


def checkbox(page: Page, label: str):
    """A checklist step of the category shown (another category's are hidden, not in the way)."""
    return page.locator("#escalate").get_by_role("checkbox", name=label, exact=True)


async def fill_customer(page: Page, customer_id: str) -> None:
    await field(page, "Customer id (required)").fill(customer_id)
    await field(page, "Name (required)").fill("Ada Lovelace")
    await field(page, "E-mail").fill("ada@example.com")


async def answer_billing(page: Page) -> None:
    """The demo policy's required billing questions (config/policy.toml [[capture]])."""
    await field(page, "Which invoice or charge is it? (required)").fill("INV-2026-0311")
    await field(page, "How much is in dispute? (required)").fill("600.00")


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
    # the policy's questions for billing, the required ones marked, and the checklist
    await expect(field(agent, "Which invoice or charge is it? (required)")).to_have_attribute(
        "required", ""
    )
    await answer_billing(agent)
    await field(agent, "How did they pay?").select_option("card")
    await checkbox(agent, "Asked what they want to happen next, and repeated it back").check()
    # another category asks its own questions (billing's are then not sent)
    await field(agent, "Category").select_option("technical")
    await expect(field(agent, "What has the customer already tried?")).to_be_visible()
    await expect(field(agent, "How much is in dispute? (required)")).to_be_hidden()
    await field(agent, "Category").select_option("billing")

    # a reload on the call loses nothing
    await agent.reload()
    await expect(field(agent, "Customer id (required)")).to_have_value(customer)
    await expect(field(agent, "Amount (GBP)")).to_have_value("600")
    await expect(agent.locator("#i-details")).to_have_value(
        "Two identical charges of 300 GBP on 3 March"
    )
    await expect(field(agent, "How much is in dispute? (required)")).to_have_value("600.00")
    await expect(
        checkbox(agent, "Asked what they want to happen next, and repeated it back")
    ).to_be_checked()
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
    assert view["missing_answers"] == []
    timeline = await console.http.get(f"/escalations/{eid}/timeline", headers=auth("operator"))
    opened = timeline.json()["items"][0]
    assert (opened["action"], opened["actor"], opened["role"]) == ("opened", "Alex Agent", "agent")

    # the draft is gone once the case is open: a new form starts empty, with a new key
    await agent.get_by_role("link", name="Escalate").click()
    await expect(field(agent, "Customer id (required)")).to_have_value("")
    assert console.script_errors() == []

    # the specialist it goes to reads the answers in the handover: nobody asks again
    r = await console.http.post(
        f"/escalations/{eid}/consult-answer",
        json={"resolves": False, "answer": "Above tier 1: billing specialist"},
        headers=auth("helpline"),
    )
    assert r.status_code == 200, r.text
    specialist = await console.signed_in(r.json()["assignee"].removeprefix("p-"))
    await specialist.goto(f"{console.base}/console/cases/{eid}")
    answers = specialist.get_by_role("region", name="Handover").locator("[data-answers]")
    await expect(answers.locator("dt")).to_have_text(
        ["Which invoice or charge is it?", "How much is in dispute?", "How did they pay?"]
    )
    await expect(answers.locator("dd")).to_have_text(["INV-2026-0311", "600.00", "card"])
    checklist = specialist.get_by_role("region", name="Handover").locator("[data-checklist]")
    await expect(checklist).to_contain_text(
        "Done: Asked what they want to happen next, and repeated it back"
    )
    await expect(checklist).to_contain_text("Not done: Acknowledged how the customer feels")


async def test_the_policys_required_answers_are_checked_by_the_server_too(console: Console):
    """A form sent without the browser's checks (a script, an old page) is refused beside the
    question, and nothing opens; the API answers the same 422 naming the field."""
    customer = f"C-unanswered-{time.time_ns()}"
    agent = await console.signed_in("agent")
    await agent.goto(f"{console.base}/console/escalate")
    await fill_customer(agent, customer)
    await field(agent, "Summary (required)").fill("No invoice given")
    await field(agent, "How much is in dispute? (required)").fill("forty")
    await agent.evaluate("document.getElementById('escalate').noValidate = true")
    await agent.get_by_role("button", name="Open the escalation").click()
    await expect(agent.locator(".notice.refused")).to_contain_text("Nothing was opened")
    invoice = field(agent, "Which invoice or charge is it? (required)")
    await expect(invoice).to_have_attribute("aria-invalid", "true")
    await expect(agent.locator("#g0-invoice_number-error")).to_contain_text("required")
    await expect(agent.locator("#g0-amount_disputed-error")).to_contain_text("amount in digits")
    assert await axe_violations(agent) == []
    r = await console.http.get(
        "/escalations", params={"customer_id": customer}, headers=auth("operator")
    )
    assert r.json()["items"] == []


async def test_sending_the_form_twice_opens_one_case(console: Console):
    customer = f"C-twice-{time.time_ns()}"
    agent = await console.signed_in("agent")
    await agent.goto(f"{console.base}/console/escalate")
    await fill_customer(agent, customer)
    await field(agent, "Summary (required)").fill("Sent twice")
    await answer_billing(agent)
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
    await answer_billing(agent)
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


async def test_a_case_opened_without_the_answers_is_answered_from_its_page(console: Console):
    """A CRM opened it without the billing questions: the case page says the transfer waits
    for them and asks just those; answered, the handover has them and nothing is missing."""
    eid = (await console.open("system", answers={}))["id"]
    await console.wait_stage(eid, "helpline_consult")
    agent = await console.signed_in("agent")
    await agent.goto(f"{console.base}/console/cases/{eid}")
    await expect(agent.locator("[data-missing-answers]")).to_contain_text(
        "A specialist needs the answers to 2 of the policy's questions first"
    )
    form = agent.get_by_role("form", name="Answer what the specialist needs")
    await expect(form.get_by_role("textbox")).to_have_count(2)
    assert await axe_violations(agent) == []
    await form.get_by_label("How much is in dispute? (required)").fill("six hundred")
    await form.evaluate("f => { f.noValidate = true; }")
    await form.get_by_role("button", name="Save answers").click()
    await expect(agent.locator(".notice.refused")).to_contain_text("amount in digits")
    form = agent.get_by_role("form", name="Answer what the specialist needs")
    await form.get_by_label("Which invoice or charge is it? (required)").fill("INV-2026-0400")
    await form.get_by_label("How much is in dispute? (required)").fill("600")
    await form.get_by_role("button", name="Save answers").click()
    await expect(agent.locator("[data-missing-answers]")).to_have_count(0)
    answers = agent.get_by_role("region", name="Handover").locator("[data-answers] dd")
    await expect(answers).to_have_text(["INV-2026-0400", "600"])
    view = (await console.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
    assert view["missing_answers"] == []
    assert console.script_errors() == []
