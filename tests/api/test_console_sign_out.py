"""Signing out ends the console session on the server (issue 31, point 5): the cookie replayed
after sign-out opens nothing, on this API process, on another one sharing the report store, and
after a restart; a person removed from the directory is out at their next request."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
from pydantic import SecretStr

from api.console import session
from api.main import create_app
from core.report_store import ReportStore
from core.settings import Settings
from tests.api.test_codec_endpoint import console_sign_in
from tests.api.test_tokens import PEPPER, _touch_later, person

REPORTS = "/console/reports"  # a page that needs a session and no Temporal


@asynccontextmanager
async def api(db: Path, **settings) -> AsyncIterator[httpx.AsyncClient]:
    """One API process (no Temporal: the stand-in client is never called) on the report store
    at `db`; several of these share it like several processes."""
    store = ReportStore(f"sqlite:///{db}")
    app = create_app(Settings(_env_file=None, demo=True, **settings), object(), store)
    async with AsyncExitStack() as stack:
        stack.callback(store.close)
        await stack.enter_async_context(app.router.lifespan_context(app))
        yield await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
        )


def signed_in(http: httpx.AsyncClient) -> str:
    return http.cookies[session.COOKIE]


async def opens(http: httpx.AsyncClient, cookie: str) -> bool:
    r = await http.get(REPORTS, headers={"Cookie": f"{session.COOKIE}={cookie}"})
    assert r.status_code in (200, 303), r.text
    return r.status_code == 200


async def sign_out(http: httpx.AsyncClient) -> None:
    page = (await http.get(REPORTS)).text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    r = await http.post(
        "/console/sign-out",
        content=f"csrf={csrf}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "signed out" in r.text


async def test_a_cookie_replayed_after_sign_out_opens_nothing(tmp_path):
    db = tmp_path / "reports.sqlite"
    async with api(db) as one, api(db) as two:
        assert (await console_sign_in(one, "demo-manager")).status_code == 303
        cookie = signed_in(one)
        assert await opens(one, cookie) and await opens(two, cookie)  # any process reads it
        await sign_out(one)
        assert session.COOKIE not in one.cookies  # the browser forgot it ...
        assert not await opens(one, cookie)  # ... and a copy of it is dead here
        assert not await opens(two, cookie)  # and on the other process
    async with api(db) as restarted:
        assert not await opens(restarted, cookie)  # and after a restart


async def test_a_session_outlives_an_api_restart(tmp_path):
    db = tmp_path / "reports.sqlite"
    async with api(db) as before:
        await console_sign_in(before, "demo-supervisor")
        cookie = signed_in(before)
    async with api(db) as after:
        assert await opens(after, cookie)


async def test_a_session_started_elsewhere_is_not_one(tmp_path):
    """A well-signed cookie whose session was never started on this store (another store, a
    wiped one, a cookie minted with a leaked secret) opens nothing."""
    async with api(tmp_path / "a.sqlite") as a, api(tmp_path / "b.sqlite") as b:
        await console_sign_in(a, "demo-manager")
        assert not await opens(b, signed_in(a))


async def test_someone_removed_from_the_directory_is_out_at_their_next_request(tmp_path):
    path = tmp_path / "people.toml"
    path.write_text(person("p-s", "supervisor", "tok-s"))
    secrets = {
        "directory_path": path,
        "token_pepper": PEPPER,
        "session_secret": SecretStr("s" * 40),
    }
    async with api(tmp_path / "reports.sqlite", **secrets) as http:
        assert (await console_sign_in(http, "tok-s")).status_code == 303
        cookie = signed_in(http)
        assert await opens(http, cookie)
        _touch_later(path, person("p-other", "supervisor", "tok-o"))
        os.kill(os.getpid(), signal.SIGHUP)  # re-read the directory now
        await asyncio.sleep(0.05)  # the handler runs in the event loop
        assert not await opens(http, cookie)
