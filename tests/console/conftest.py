"""The console in a real browser: Debian's Chromium driven by Playwright, against the API app
served by uvicorn on a free localhost port, a real worker (the real activities, deliveries
recorded) and the real Temporal dev server.

Every page a test opens is screenshotted into the test's tmp folder if the test fails, and its
browser console errors are collected (a test asserts there are none). The security headers of
every document the app answers a browser with are checked (`header_problems`); any missing one
fails the test at teardown.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Browser, BrowserContext, Page, Response, async_playwright
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from core.binaries import find_binary
from core.report_store import ReportStore
from core.settings import Settings
from tests.api.conftest import (
    Stack,
    auth,
    request_body,
    stack,  # noqa: F401  (the worker + app fixture)
)
from workflows import search_attributes as sa
from workflows.messages import CaseFacts, CaseSnapshot

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
AXE = Path(__file__).parent / "vendor" / "axe.min.js"


def header_problems(response: Response, base: str) -> list[str]:
    """What is missing from the security headers of a document (page or frame) the app sent
    (api/security_headers.py); [] for anything else."""
    if response.request.resource_type != "document" or not response.url.startswith(base):
        return []
    h = response.headers
    path = response.url[len(base) :]
    csp = {
        d.split()[0]: d.split()[1:] for d in h.get("content-security-policy", "").split("; ") if d
    }
    wanted = {"x-content-type-options": "nosniff", "referrer-policy": "no-referrer"}
    problems = [f"{path}: {k} is {h.get(k)!r}" for k, v in wanted.items() if h.get(k) != v]
    if path.startswith("/temporal"):  # the proxied Temporal UI: framed by itself only
        if csp.get("frame-ancestors") not in (["'self'"], ["'none'"]):
            problems.append(f"{path}: frame-ancestors is {csp.get('frame-ancestors')}")
        return problems
    if h.get("x-frame-options") != "DENY" or csp.get("frame-ancestors") != ["'none'"]:
        problems.append(f"{path}: framing is allowed ({h.get('x-frame-options')}, {csp})")
    for directive in ("script-src", "style-src"):
        if csp.get(directive) != ["'self'"]:
            problems.append(f"{path}: {directive} is {csp.get(directive)}")
    return problems


def watch_headers(context: BrowserContext, base: str, problems: list[str]) -> None:
    """Collect the header problems of every document the context's pages load from the app."""
    context.on("response", lambda r: problems.extend(header_problems(r, base)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Console:
    base: str
    settings: Settings
    http: httpx.AsyncClient  # the API itself, for what the test sets up (not what it checks)
    client: Client
    browser: Browser
    pages: list[Page] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    header_problems: list[str] = field(default_factory=list)

    def script_errors(self) -> list[str]:
        """Console errors other than Chromium's note of a page's own refusal status (a refused
        action's page answers 401, 403 or 409 on purpose)."""
        return [e for e in self.console_errors if "Failed to load resource" not in e]

    async def open(self, role: str = "agent", **body: Any) -> dict:
        r = await self.http.post("/escalations", json=request_body(**body), headers=auth(role))
        assert r.status_code in (200, 201), r.text
        return r.json()

    async def wait_stage(self, escalation_id: str, *stages: str, timeout: float = 15) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            r = await self.http.get(f"/escalations/{escalation_id}", headers=auth("operator"))
            if r.json()["stage"] in stages:
                return r.json()
            assert time.monotonic() < deadline, r.json()["stage"]
            await asyncio.sleep(0.2)

    async def signed_in(self, role: str) -> Page:
        """A fresh browser context (its own cookies) signed in through the sign-in form."""
        context = await self.browser.new_context(
            viewport={"width": 1100, "height": 900}, timezone_id="Europe/London", locale="en-GB"
        )
        watch_headers(context, self.base, self.header_problems)
        page = await context.new_page()
        page.on(
            "console",
            lambda m: (
                self.console_errors.append(f"{role}: {m.text}") if m.type == "error" else None
            ),
        )
        page.on("pageerror", lambda e: self.console_errors.append(f"{role}: {e}"))
        self.pages.append(page)
        await page.goto(f"{self.base}/console")
        await page.get_by_label("Your access token").fill(f"demo-{role}")
        await page.get_by_role("button", name="Sign in").click()
        await page.get_by_role("heading", name="My work").wait_for()
        return page


async def remember(console: Console, view: dict) -> None:
    """Put a case into the report store as the worker's dispatch would (the test stack's
    dispatch records no facts): the customer's past year is read from the store."""
    store = ReportStore(console.settings.report_url, run_migrations=False)
    granted = view["granted_remedy"] or {}
    snapshot = CaseSnapshot(
        escalation_id=view["id"],
        as_of=datetime.fromisoformat(view["updated_at"]),
        events_seen=10,
        opened_at=datetime.fromisoformat(view["opened_at"]),
        opened_by_id="p-agent",
        opened_by_name="Alex Agent",
        customer_id=view["customer"]["id"],
        channel=view["channel"],
        category=view["category"],
        trigger=view["trigger"],
        customer_tier=view["customer"]["tier"],
        severity=view["severity"],
        stage=view["stage"],
        resolved_tier=view["resolved_at_tier"],
        outcome=view["outcome"],
        granted_amount=granted.get("amount"),
        currency=granted.get("currency"),
    )
    try:
        await asyncio.to_thread(store.write, [CaseFacts(case=snapshot)])
    finally:
        store.close()


# CONSOLE_SCREENSHOTS=docs/screenshots: the walk-through also saves the README's screenshots
SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")


async def shoot(page: Page, name: str) -> None:
    if SHOTS:
        # charts drawn to the end: a screenshot mid-animation shows bars short of their values
        await page.evaluate(
            "() => Object.values(window.Chart ? Chart.instances : {})"
            ".forEach(c => { c.options.animation = false; c.update('none'); })"
        )
        await page.wait_for_timeout(2500)  # an animation already running (a resize) ends
        await page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


async def axe_violations(page: Page) -> list[dict]:
    """axe-core (vendored, MPL-2.0) run in the page: serious and critical violations."""
    # evaluated through the DevTools protocol: an inline <script> tag would be (rightly)
    # refused by the pages' CSP
    await page.evaluate("() => {" + AXE.read_text() + "\n}")
    result = await page.evaluate("async () => (await axe.run(document)).violations")
    return [
        {"id": v["id"], "nodes": [n["html"][:120] for n in v["nodes"][:3]]}
        for v in result
        if v["impact"] in ("serious", "critical")
    ]


@pytest.fixture(scope="module")
def ui_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
async def dev_env(ui_port: int) -> AsyncIterator[WorkflowEnvironment]:
    """A dev server of the console tests' own: the approvers' inbox lists every case waiting for
    sign-off in the namespace, and the cases other test modules leave there would crowd it. Its
    Web UI is set up as in the embedded run (served by the API at /temporal, codec at /codec)."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_binary("temporal"),
        data_converter=pydantic_data_converter,
        search_attributes=sa.ALL,
        dev_server_log_level="error",
        ui=True,
        ui_port=ui_port,
        dev_server_extra_args=[
            "--ui-public-path",
            "/temporal",
            "--ui-codec-endpoint",
            "/codec",
            "--ui-disable-news-fetch",
        ],
    )
    yield env
    await env.shutdown()


@pytest.fixture(scope="module")
async def served(stack, ui_port: int) -> AsyncIterator[tuple[str, Stack]]:  # noqa: F811
    """The same worker's task queue, behind a real HTTP server (which serves the Temporal UI)."""
    settings = stack.settings.model_copy(
        update={
            "temporal_ui_upstream": f"http://127.0.0.1:{ui_port}",
            "temporal_ui_url": "/temporal",
        }
    )
    app = create_app(settings, client=stack.client)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done(), "uvicorn did not start"
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", stack
    finally:
        server.should_exit = True
        await task


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
async def console(served, browser, request, tmp_path) -> AsyncIterator[Console]:
    base, stack = served  # noqa: F811
    c = Console(
        base=base, settings=stack.settings, http=stack.http, client=stack.client, browser=browser
    )
    yield c
    failed = getattr(request.node, "rep_call", None)
    for i, page in enumerate(c.pages):
        if failed is not None and failed.failed and not page.is_closed():
            await page.screenshot(path=str(tmp_path / f"failure-{i}.png"), full_page=True)
        await page.context.close()
    assert not c.header_problems, c.header_problems
