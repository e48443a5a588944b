"""The console's reports page in headless Chromium (Debian's, through Playwright): signed in to
the console, it draws every chart from the report rows without a console error, hands over a
chart's numbers as CSV, tells a role that may not see a report so, and the old token page's
address lands on it."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlencode

import pytest
import uvicorn

from api.main import create_app
from core.report_store import ReportStore
from core.settings import Settings
from tests.console.conftest import shoot, watch_headers
from tests.report_store.data import ALL

CHROMIUM = "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM) and os.environ.get("CI") != "true",
    reason="Chromium is not installed (apt-get install -y chromium)",
)
PERIOD = "?since=2026-01-01&until=2026-01-31"
REPORTS = "/console/reports" + PERIOD


@pytest.fixture(scope="module")
def base_url(tmp_path_factory) -> Iterator[str]:
    store = ReportStore(f"sqlite:///{tmp_path_factory.mktemp('page') / 'reports.sqlite'}")
    store.write(ALL)
    app = create_app(Settings(demo=True), client=object(), report_store=store)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the API did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    store.close()


@pytest.fixture(scope="module")
async def browser_process() -> AsyncIterator:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        await b.close()


@pytest.fixture
def header_problems() -> Iterator[list[str]]:
    """The security headers of every document these pages load (tests/console/conftest.py)."""
    problems: list[str] = []
    yield problems
    assert not problems, problems


@pytest.fixture
def browser(browser_process, base_url, header_problems):
    """The browser, whose new pages have their documents' security headers checked."""

    class Checked:
        async def new_page(self, **kw):
            page = await browser_process.new_page(**kw)
            watch_headers(page.context, base_url, header_problems)
            return page

    return Checked()


async def open_signed_in(browser, base_url: str, token: str, path: str = REPORTS):
    """The console's sign-in, on the way to the reports (these tests run no Temporal, so they
    never open "My work")."""
    page = await browser.new_page(accept_downloads=True)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    await page.goto(base_url + "/console/sign-in?" + urlencode({"next": path}))
    await page.get_by_label("Your access token").fill(token)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector("body[data-loaded=true]", timeout=20_000)
    return page, problems


async def test_every_chart_renders_without_console_errors(browser, base_url):
    page, problems = await open_signed_in(browser, base_url, "demo-manager")
    assert problems == []
    assert await page.text_content("#period") == (
        "Escalations opened 2026-01-01 to 2026-01-31 (days in UTC, both included), figures "
        "from the report store."
    )
    charts = await page.evaluate(
        "Object.values(Chart.instances).map(c => [c.canvas.closest('section').dataset.report,"
        " c.data.datasets.map(d => d.data)])"
    )
    drawn = dict(charts)
    assert set(drawn) == {
        "volume",
        "avoidable",
        "resolution",
        "sla",
        "stages",
        "approvals",
        "root-causes",
        "feedback",
        "coaching",
    }
    assert drawn["resolution"] == [[1, 1, 1, 1]]
    assert drawn["stages"] == [[0.5, 2, 1], [1, 4, 1]]  # hours: p50, p90 per stage
    assert drawn["avoidable"] == [[pytest.approx(66.67), 100]]
    # readable: every chart names its axes and shows its legend
    titled = await page.evaluate(
        "Object.values(Chart.instances).map(c => Object.values(c.options.scales)"
        ".every(s => s.title.display && s.title.text) && c.options.plugins.legend.display)"
    )
    assert titled == [True] * 9
    await page.set_viewport_size({"width": 1100, "height": 900})
    await shoot(page, "reports")
    await page.close()


async def test_a_chart_s_numbers_are_one_click_away_as_csv(browser, base_url):
    page, problems = await open_signed_in(browser, base_url, "demo-supervisor")
    async with page.expect_download() as info:
        await page.click("#chart-resolution a.csv")
    download = await info.value
    with open(await download.path()) as f:
        assert f.read().splitlines() == [
            "tier,cases,share",
            "tier1,1,0.25",
            "helpline,1,0.25",
            "specialist,1,0.25",
            "executive,1,0.25",
        ]
    assert download.suggested_filename == "resolution.csv"
    assert problems == []
    await page.close()


async def test_a_role_without_the_coaching_view_is_told_so(browser, base_url):
    page, _ = await open_signed_in(browser, base_url, "demo-executive")
    note = await page.text_content("#chart-coaching .empty")
    assert note and "Only supervisor or manager may do this" in note
    assert not await page.is_visible("#chart-coaching canvas")
    await page.close()


async def test_the_old_token_page_leads_to_the_console_s_reports(browser, base_url):
    page = await browser.new_page()
    await page.goto(base_url + "/reports/charts" + PERIOD)
    await page.get_by_label("Your access token").fill("demo-supervisor")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_selector("body[data-loaded=true]", timeout=20_000)
    assert page.url == base_url + REPORTS  # the period kept through the sign-in
    assert await page.is_visible("#chart-resolution canvas")
    await page.goto(base_url + "/reports/charts")  # signed in: straight there
    assert page.url == base_url + "/console/reports"
    await page.close()


async def test_an_agent_is_refused_the_reports_and_their_rows(browser, base_url):
    page = await browser.new_page()
    await page.goto(base_url + "/console/sign-in?" + urlencode({"next": REPORTS}))
    await page.get_by_label("Your access token").fill("demo-agent")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("heading", name="Not available").wait_for()
    assert "Only supervisor" in (await page.text_content("main") or "")
    r = await page.request.get(base_url + "/console/reports/data/resolution")
    assert r.status == 403 and (await r.json())["error"] == "forbidden"
    await page.close()


async def test_no_session_no_reports_and_a_wrong_token_is_refused(browser, base_url):
    page = await browser.new_page()
    await page.goto(base_url + REPORTS)
    assert "/console/sign-in" in page.url  # the console's one sign-in, no token page
    await page.get_by_label("Your access token").fill("not-a-token")
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_text("That token is not known.").wait_for()
    r = await page.request.get(
        base_url + "/console/reports/data/resolution", headers={"X-Console-Fragment": "1"}
    )
    assert r.status == 401
    await page.close()
