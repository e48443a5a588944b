"""Single sign-on in a real browser: Chromium signs in through a real OpenID Connect provider
process (tests/oidc_provider.py) as an agent and as an executive, is refused when the provider
gives no known role, signs out at the provider too, and an operator signed in this way reads
the Temporal UI and the codec."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn
from playwright.async_api import Page
from pydantic import SecretStr

from api.main import create_app
from tests.api.conftest import Stack
from tests.console.conftest import Console, free_port, watch_headers
from tests.oidc_provider import (
    Provider,
    oidc_provider,  # noqa: F401  (the provider process)
    sso_settings,
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
async def served(stack, ui_port: int, oidc_provider) -> AsyncIterator[tuple[str, Stack]]:  # noqa: F811
    """The console of the module's worker behind a real HTTP server, pointed at the provider."""
    sso = sso_settings(oidc_provider)
    sso["oidc_client_secret"] = SecretStr(sso["oidc_client_secret"])
    settings = stack.settings.model_copy(
        update={
            **sso,
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


async def through_provider(console: Console, sub: str, start: str = "/console") -> Page:
    """A fresh browser context: the console's sign-in page, its SSO button, the provider's
    authorization page (the person picked there), and back."""
    context = await console.browser.new_context(locale="en-GB", timezone_id="Europe/London")
    watch_headers(context, console.base, console.header_problems)
    page = await context.new_page()
    page.on("pageerror", lambda e: console.console_errors.append(f"{sub}: {e}"))
    console.pages.append(page)
    await page.goto(f"{console.base}{start}")
    await page.get_by_role("link", name="Sign in with Local IdP").click()
    await page.wait_for_url(lambda url: not url.startswith(console.base))
    await page.get_by_role("button", name=sub, exact=True).click()
    await page.wait_for_url(lambda url: url.startswith(console.base))
    return page


async def test_an_agent_signs_in_through_the_provider_and_out_again(console: Console):
    page = await through_provider(console, "alex.agent")
    await page.get_by_role("heading", name="My work").wait_for()
    assert "Alex Agent (SSO)" in await page.locator("form.who").inner_text()
    # the session is the console's own: the case list opens without the provider
    await page.goto(f"{console.base}/console/cases")
    assert page.url.startswith(f"{console.base}/console/cases")
    # sign-out ends the session here, then at the provider, and comes back signed out
    await page.goto(f"{console.base}/console")
    await page.get_by_role("button", name="Sign out").click()
    await page.get_by_role("button", name="End session").click()
    await page.wait_for_url(lambda url: url.startswith(f"{console.base}/console/sign-in"))
    assert await page.get_by_role("alert").inner_text() == "You are signed out."
    await page.goto(f"{console.base}/console")
    assert "/console/sign-in" in page.url  # the session is over on the server
    assert not console.script_errors()


async def test_an_executive_signs_in_and_reads_the_reports(console: Console):
    page = await through_provider(console, "erin.executive", start="/console/reports")
    assert page.url == f"{console.base}/console/reports"  # back to the page asked for
    assert "Erin Executive (SSO)" in await page.locator("form.who").inner_text()
    response = await page.request.get(f"{console.base}/console/reports")
    assert response.status == 200
    assert not console.script_errors()


async def test_someone_with_no_known_role_is_told_why(console: Console):
    page = await through_provider(console, "nora.nobody")
    await page.get_by_role("heading", name="Not allowed in").wait_for()
    reason = await page.get_by_role("alert").inner_text()
    assert "no role" in reason and "nora.nobody@example.com" in reason, reason
    await page.goto(f"{console.base}/console")
    assert "/console/sign-in" in page.url  # no session was started


async def test_an_operator_signed_in_through_the_provider_reads_temporal_and_the_codec(
    console: Console,
):
    page = await through_provider(console, "olly.operator")
    await page.get_by_role("heading", name="My work").wait_for()
    ui = await page.request.get(f"{console.base}/temporal/")
    assert ui.status == 200, await ui.text()
    decoded = await page.request.post(f"{console.base}/codec/decode", data={"payloads": []})
    assert decoded.status == 200, await decoded.text()


async def test_a_tampered_callback_starts_no_session(console: Console, oidc_provider: Provider):  # noqa: F811
    context = await console.browser.new_context()
    page = await context.new_page()
    console.pages.append(page)
    r = await page.goto(f"{console.base}/console/sign-in/oidc/callback?code=x&state=forged")
    assert r is not None and r.status == 400
    assert "not started here" in await page.get_by_role("alert").inner_text()
