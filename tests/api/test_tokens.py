"""Tokens: HMAC under a server pepper, a directory that follows its file (a revoked token stops
working without a restart, in the API and in the worker's routing), and a request budget per
token (429 with Retry-After)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.testing import ActivityEnvironment

from activities.routing import RoutingActivities
from api.auth import StartupRefused, load_people
from api.main import create_app
from core.directory import DEMO_TOKEN_PEPPER, load_directory, token_hmac
from core.settings import CONFIG_DIR, ROOT, Settings
from workflows.messages import PeopleQuery

pytestmark = pytest.mark.timeout(60)

PEPPER = "a-test-pepper-nobody-knows"


def person(pid: str, role: str, token: str, pepper: str = PEPPER) -> str:
    return (
        f'[[people]]\nid = "{pid}"\nname = "{pid}"\nrole = "{role}"\n'
        f'token_hmac = "{token_hmac(token, pepper)}"\n'
    )


def test_the_demo_directory_holds_no_bare_sha256_and_needs_the_pepper():
    text = (CONFIG_DIR / "people.demo.toml").read_text()
    for role in ("agent", "operator", "executive"):
        assert hashlib.sha256(f"demo-{role}".encode()).hexdigest() not in text
    path = CONFIG_DIR / "people.demo.toml"
    assert load_directory(path, DEMO_TOKEN_PEPPER).authenticate("demo-agent").id == "p-agent"
    assert load_directory(path, "another-pepper").authenticate("demo-agent") is None
    assert load_directory(path).authenticate("demo-agent") is None


def test_every_demo_person_signs_in_with_the_token_the_readme_lists():
    """The README's demo-people table names a token for each person of the demo directory."""
    directory = load_directory(CONFIG_DIR / "people.demo.toml", DEMO_TOKEN_PEPPER)
    table = (ROOT / "README.md").read_text().split("## Demo people", 1)[1].split("\n## ", 1)[0]
    tokens = re.findall(r"^\| `(demo-[a-z0-9-]+)` \|", table, re.MULTILINE)
    signed_in = {directory.authenticate(t).id for t in tokens if directory.authenticate(t)}
    assert signed_in == {p.id for p in directory.people}
    assert len(tokens) == len(directory.people)


def test_a_directory_with_bare_sha256_hashes_is_refused(tmp_path):
    path = tmp_path / "people.toml"
    path.write_text(
        '[[people]]\nid = "p"\nname = "p"\nrole = "agent"\n'
        f'token_sha256 = "{hashlib.sha256(b"t").hexdigest()}"\n'
    )
    with pytest.raises(StartupRefused, match="hash-token"):
        load_people(Settings(_env_file=None, demo=True, directory_path=path))


def test_a_pepper_is_required_outside_the_demo_and_the_demo_one_refused(tmp_path):
    path = tmp_path / "people.toml"
    path.write_text(person("p-1", "agent", "tok-1"))
    with pytest.raises(StartupRefused, match="no token pepper"):
        load_people(Settings(_env_file=None, demo=False, directory_path=path))
    with pytest.raises(StartupRefused, match="public demo token pepper"):
        load_people(
            Settings(
                _env_file=None, demo=False, directory_path=path, token_pepper=DEMO_TOKEN_PEPPER
            )
        )
    live = load_people(
        Settings(_env_file=None, demo=False, directory_path=path, token_pepper=PEPPER)
    )
    assert live.current().authenticate("tok-1").id == "p-1"


def test_hash_token_cli_prints_what_the_directory_stores():
    env = {**os.environ, "ESCALATIONS_TOKEN_PEPPER": PEPPER}
    out = subprocess.run(
        [sys.executable, "-m", "core.directory", "hash-token"],
        cwd=ROOT,
        env=env,
        input="s3cret-token\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.strip() == token_hmac("s3cret-token", PEPPER)
    env.pop("ESCALATIONS_TOKEN_PEPPER")
    refused = subprocess.run(
        [sys.executable, "-m", "core.directory", "hash-token"],
        cwd=ROOT,
        env=env,
        input="x\n",
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert refused.returncode != 0 and "ESCALATIONS_TOKEN_PEPPER" in refused.stderr


async def _app(dev_env, path: Path, **settings):
    app = create_app(
        Settings(
            _env_file=None,
            demo=False,
            directory_path=path,
            token_pepper=PEPPER,
            # the other secrets a production API needs (the console's sessions, signed actions)
            session_secret=SecretStr("s" * 40),
            feedback_secret=SecretStr("f" * 40),
            action_keys={"a1": SecretStr(base64.b64encode(b"k" * 32).decode())},
            **settings,
        ),
        client=dev_env.client,
    )
    return app


def _touch_later(path: Path, text: str) -> None:
    """Rewrite the file with a modification time that surely differs."""
    path.write_text(text)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 2_000_000_000))


async def test_a_revoked_token_stops_working_without_a_restart(dev_env, tmp_path):
    path = tmp_path / "people.toml"
    path.write_text(person("p-1", "agent", "tok-1") + person("p-2", "operator", "tok-2"))
    app = await _app(dev_env, path, directory_reload_s=0.5)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        headers = {"Authorization": "Bearer tok-1"}
        assert (await http.get("/policy", headers=headers)).status_code == 200
        _touch_later(path, person("p-2", "operator", "tok-2"))  # p-1's token revoked
        revoked_at = time.monotonic()
        while (r := await http.get("/policy", headers=headers)).status_code == 200:
            assert time.monotonic() - revoked_at < 5, "the revoked token still works"
            await asyncio.sleep(0.1)
        assert r.status_code == 401 and r.json()["error"] == "unauthorized"
        took = time.monotonic() - revoked_at
        assert (
            await http.get("/policy", headers={"Authorization": "Bearer tok-2"})
        ).status_code == 200
        # a broken file keeps the last good directory in force
        _touch_later(path, "this is [not toml")
        await asyncio.sleep(0.7)
        assert (
            await http.get("/policy", headers={"Authorization": "Bearer tok-2"})
        ).status_code == 200
    print(f"\nTOKENS revoked token refused after {took:.2f} s (reload check every 0.5 s)")


async def test_a_reload_that_brings_demo_tokens_is_refused_outside_the_demo(dev_env, tmp_path):
    """The start-up refusal holds on every reload: the last good directory stays in force."""
    path = tmp_path / "people.toml"
    path.write_text(person("p-2", "operator", "tok-2"))
    app = await _app(dev_env, path, directory_reload_s=0.2)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        _touch_later(
            path, person("p-2", "operator", "tok-2") + person("p-m", "manager", "demo-manager")
        )
        await asyncio.sleep(0.5)
        for _ in range(3):  # several reload checks later, still refused
            r = await http.get("/policy", headers={"Authorization": "Bearer demo-manager"})
            assert r.status_code == 401, r.text
            ok = await http.get("/policy", headers={"Authorization": "Bearer tok-2"})
            assert ok.status_code == 200
            await asyncio.sleep(0.3)


async def test_sighup_reloads_the_directory_at_once(dev_env, tmp_path):
    path = tmp_path / "people.toml"
    path.write_text(person("p-1", "agent", "tok-1"))
    app = await _app(dev_env, path, directory_reload_s=60)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        headers = {"Authorization": "Bearer tok-1"}
        assert (await http.get("/policy", headers=headers)).status_code == 200
        _touch_later(path, person("p-9", "agent", "tok-9"))
        assert (await http.get("/policy", headers=headers)).status_code == 200  # not looked yet
        os.kill(os.getpid(), signal.SIGHUP)
        await asyncio.sleep(0.05)  # the handler runs in the event loop
        assert (await http.get("/policy", headers=headers)).status_code == 401
        assert (
            await http.get("/policy", headers={"Authorization": "Bearer tok-9"})
        ).status_code == 200


async def test_the_workers_routing_follows_the_directory_file(tmp_path):
    path = tmp_path / "people.toml"
    path.write_text(person("p-h1", "helpline", "t1"))
    routing = RoutingActivities(
        Settings(_env_file=None, demo=True, directory_path=path, directory_reload_s=0.2), None
    )
    env = ActivityEnvironment()
    found = await env.run(routing.find_people, PeopleQuery(roles=["helpline"]))
    assert [p.id for p in found.people] == ["p-h1"]
    _touch_later(path, person("p-h2", "helpline", "t2"))
    await asyncio.sleep(0.3)
    found = await env.run(routing.find_people, PeopleQuery(roles=["helpline"]))
    assert [p.id for p in found.people] == ["p-h2"]
    assert "token" not in found.model_dump_json()


async def test_a_token_over_its_budget_gets_429_with_retry_after(dev_env, tmp_path):
    path = tmp_path / "people.toml"
    path.write_text(person("p-1", "agent", "tok-1") + person("p-2", "agent", "tok-2"))
    app = await _app(dev_env, path, rate_limit_per_s=0.5, rate_limit_burst=3)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        one = {"Authorization": "Bearer tok-1"}
        answers = [(await http.get("/policy", headers=one)) for _ in range(4)]
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        r = answers[-1]
        assert r.json()["error"] == "too_many_requests" and r.json()["detail"]
        assert int(r.headers["Retry-After"]) >= 1
        # another person's budget is their own
        two = await http.get("/policy", headers={"Authorization": "Bearer tok-2"})
        assert two.status_code == 200
