"""The pages' security headers as a browser meets them (issue 31, point 2): Swagger UI at /docs
from the app's own assets under the strict CSP, and the console's forms refused inside another
site's frame. These need no Temporal: the app serves them with a stand-in client."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import uvicorn
from playwright.async_api import Browser, Page

from api.main import create_app
from core.report_store import ReportStore
from core.settings import Settings
from tests.console.conftest import free_port, watch_headers


@pytest.fixture(scope="module")
async def base(tmp_path_factory) -> AsyncIterator[str]:
    store = ReportStore(f"sqlite:///{tmp_path_factory.mktemp('sec') / 'reports.sqlite'}")
    app = create_app(Settings(demo=True), client=object(), report_store=store)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    )
    task = asyncio.create_task(server.serve())
    deadline = time.monotonic() + 10
    while not server.started:
        assert not task.done() and time.monotonic() < deadline, "uvicorn did not start"
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
    store.close()


@pytest.fixture
async def page(browser: Browser, base: str) -> AsyncIterator[tuple[Page, list[str], list[str]]]:
    context = await browser.new_context()
    headers: list[str] = []
    watch_headers(context, base, headers)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page, errors, headers
    await context.close()
    assert not headers, headers


async def test_swagger_ui_runs_from_the_apps_own_assets_under_the_csp(page, base):
    p, errors, _ = page
    elsewhere: list[str] = []
    p.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))
    await p.goto(f"{base}/docs")
    await p.locator(".swagger-ui .info .title").filter(has_text="Escalation management").wait_for()
    await p.locator(".opblock-tag", has_text="escalations").first.wait_for()
    assert elsewhere == []  # nothing from a CDN
    assert errors == []  # a CSP violation is a console error


@pytest.fixture(scope="module")
def elsewhere(base: str) -> Iterator[str]:
    """Another site (its own origin and server) whose page frames the console's sign-in form.
    A real server: a page Playwright fulfils counts as public, and Chromium never lets a public
    page frame a local address, which would hide what the headers do."""
    html = f'<!doctype html><title>x</title><iframe src="{base}/console/sign-in"></iframe>'

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(html.encode())

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}/"
    server.shutdown()


async def test_another_site_cannot_frame_the_console(page, base, elsewhere):
    p, errors, _ = page
    await p.goto(elsewhere)
    await p.wait_for_timeout(1000)
    frame = p.frames[1]
    assert await frame.locator("form").count() == 0, "the sign-in form loaded inside the frame"
    assert not frame.url.startswith(base), frame.url  # Chromium's error page stands in
