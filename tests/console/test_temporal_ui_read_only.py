"""The Temporal UI through /temporal, in a browser: it loads and lists the workflows, offers no
write action, and the UI's own write calls (terminate, signal) with its CSRF token are refused
by the API's proxy: the case is untouched (issue 31)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.async_api import Page, expect
from temporalio.client import WorkflowExecutionStatus

from tests.console.conftest import Console

pytestmark = pytest.mark.timeout(180)
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


async def shoot(page: Page, name: str) -> None:
    if SHOTS:
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


WRITE = """async ([path, token]) => {
    const r = await fetch(path, {method: "POST", headers: {"X-CSRF-TOKEN": token,
        "Content-Type": "application/json"}, body: JSON.stringify({reason: "from the UI"})});
    return r.status;
}"""


async def test_the_temporal_ui_lists_cases_but_cannot_terminate_or_signal(console: Console):
    eid = (await console.open(summary="Not to be terminated"))["id"]
    await console.wait_stage(eid, "helpline_consult")
    wid = f"escalation-{eid}"
    operator = await console.signed_in("operator")

    # the UI loads and lists the workflows
    await operator.goto(f"{console.base}/temporal/namespaces/default/workflows")
    await expect(operator.locator("main")).to_contain_text(wid, timeout=30_000)
    await operator.goto(f"{console.base}/temporal/namespaces/default/workflows/{wid}")
    await expect(operator.locator("main")).to_contain_text("Not to be terminated", timeout=30_000)
    await operator.wait_for_timeout(2_000)  # the UI's workflow page settles on its long polls
    await shoot(operator, "temporal-ui-read-only")
    # it offers no write action (they are off in its settings): cancel and the rest disabled
    await expect(operator.get_by_role("button", name="Request Cancellation")).to_be_disabled()
    await expect(operator.get_by_role("button", name=re.compile("More Actions"))).to_be_disabled()

    # the UI's own write calls, with its CSRF token, never reach Temporal
    cookies = {c["name"]: c["value"] for c in await operator.context.cookies()}
    token = cookies.get("_csrf", "")
    api = f"/temporal/api/v1/namespaces/default/workflows/{wid}"
    for path in (f"{api}/terminate", f"{api}/signal/anything", f"{api}/cancel"):
        assert await operator.evaluate(WRITE, [path, token]) == 403, path
    desc = await console.client.get_workflow_handle(wid).describe()
    assert desc.status == WorkflowExecutionStatus.RUNNING
    r = await console.http.get(
        f"/escalations/{eid}", headers={"Authorization": "Bearer demo-agent"}
    )
    assert r.json()["stage"] == "helpline_consult"


async def test_a_case_terminated_outside_the_api_shows_ended_in_the_console(console: Console):
    """Someone with direct Temporal access terminates a case: the console shows it ended (who,
    when, why), with no action forms, never as still open."""
    eid = (await console.open(summary="Terminated directly"))["id"]
    await console.wait_stage(eid, "helpline_consult")
    await console.client.get_workflow_handle(f"escalation-{eid}").terminate(reason="by hand")
    operator = await console.signed_in("operator")
    await operator.goto(f"{console.base}/console/cases/{eid}")
    await expect(operator.locator("[data-stage]")).to_have_text("terminated")
    ended = operator.locator("[data-ended-outside]")
    await expect(ended).to_contain_text("terminated in Temporal itself")
    await expect(ended).to_contain_text("by hand")
    await expect(ended).to_contain_text("helpline_consult")
    await expect(operator.get_by_role("button", name="Cancel case")).to_have_count(0)
    await expect(operator.locator("#h-clocks + table")).to_contain_text("stopped")
    await expect(operator.locator("#h-clocks + table")).not_to_contain_text("left")
    await shoot(operator, "case-ended-outside")
    assert console.console_errors == []
