"""The customer's words on the real stack (dev server, worker, the offline analysis), seen in
Chromium: an angry text raises the urgency and puts the de-escalation prompt on the case page;
a neutral one does neither; a threat the agent did not record is shown, not applied."""

from __future__ import annotations

import asyncio
import time

from playwright.async_api import expect

from tests.api.conftest import auth
from tests.console.conftest import Console, axe_violations


async def read(console: Console, **body) -> dict:
    eid = (await console.open(**body))["id"]
    deadline = time.monotonic() + 60  # a worker's first reading trains the models
    while True:
        view = (await console.http.get(f"/escalations/{eid}", headers=auth("operator"))).json()
        if view["reading"] is not None or time.monotonic() > deadline:
            return view
        await asyncio.sleep(0.2)


async def test_an_angry_customer_raises_urgency_and_the_agent_is_prompted(console: Console):
    view = await read(
        console,
        summary="Charged twice, again",
        details="This is disgusting. I am furious, you charged me twice AGAIN and nobody "
        "listens. I have wasted hours on hold, useless!",
    )
    assert view["reading"]["angry"] and view["urgency"] == "high"
    agent = await console.signed_in("agent")
    await agent.goto(f"{console.base}/console/cases/{view['id']}")
    prompt = agent.locator("[data-deescalate]")
    await expect(prompt).to_contain_text("Acknowledge how they feel")
    await expect(prompt).to_contain_text("do not put them on hold")
    await expect(agent.locator("[data-urgency]")).to_contain_text("high")
    await expect(agent.locator(".timeline, [aria-labelledby=h-timeline]").first).to_contain_text(
        "read angry"
    )
    assert await axe_violations(agent) == []


async def test_calm_words_change_nothing_and_a_threat_is_shown_not_applied(console: Console):
    calm = await read(console, details="Two charges on my statement; could you check them?")
    assert not calm["reading"]["angry"] and calm["urgency"] == "normal"
    threat = await read(
        console, details="Refund me by Friday or my solicitor will take you to court."
    )
    assert "legal" in threat["reading"]["threats"]
    assert threat["trigger"] == "customer_request" and threat["assignee"] is None
    agent = await console.signed_in("agent")
    await agent.goto(f"{console.base}/console/cases/{calm['id']}")
    await expect(agent.locator("[data-deescalate]")).to_have_count(0)
    await agent.goto(f"{console.base}/console/cases/{threat['id']}")
    await expect(agent.locator("[data-threats]")).to_contain_text("shown here, not applied")
