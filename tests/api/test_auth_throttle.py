"""Unknown tokens are throttled per client address and per token prefix (issue 31, point 7):
100 bad tokens at /escalations or at the console's sign-in were all answered 401 at once; now
the burst is followed by 429 with Retry-After, counted in the metrics."""

from __future__ import annotations

import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from prometheus_client import REGISTRY

from api.auth import FailureThrottle
from api.main import create_app
from core.report_store import ReportStore
from core.settings import Settings

BURST = 5


@asynccontextmanager
async def api(tmp_path, **settings) -> AsyncIterator:
    store = ReportStore(f"sqlite:///{tmp_path / 'reports.sqlite'}")
    app = create_app(
        Settings(_env_file=None, demo=True, auth_failure_burst=BURST, **settings),
        object(),  # no Temporal: every request here stops at authentication
        store,
    )
    async with app.router.lifespan_context(app):
        yield app
    store.close()


def client(app, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://api")


def metric(name: str, surface: str) -> float:
    return REGISTRY.get_sample_value(name, {"surface": surface}) or 0.0


def bad() -> dict[str, str]:
    return {"Authorization": f"Bearer {secrets.token_urlsafe(16)}"}


async def test_bad_tokens_at_the_api_are_throttled_per_address(tmp_path):
    failures, throttled = (
        metric("api_auth_failures_total", "api"),
        metric("api_auth_throttled_total", "api"),
    )
    async with api(tmp_path) as app, client(app, "10.0.0.1") as http:
        codes = [(await http.get("/escalations", headers=bad())).status_code for _ in range(100)]
        assert codes[:BURST] == [401] * BURST and set(codes[BURST:]) == {429}, codes
        r = await http.post("/escalations", json={}, headers=bad())
        assert r.status_code == 429 and r.json()["error"] == "too_many_requests"
        assert int(r.headers["Retry-After"]) >= 1 and r.json()["detail"]
        # the right token too, from that address, until the bucket refills: else the answers
        # would still tell a right guess from a wrong one at full speed
        r = await http.get("/policy", headers={"Authorization": "Bearer demo-agent"})
        assert r.status_code == 429
        async with client(app, "10.0.0.2") as other:  # another address has its own budget
            r = await other.get("/policy", headers={"Authorization": "Bearer demo-agent"})
            assert r.status_code == 200, r.text
    assert metric("api_auth_failures_total", "api") - failures == BURST
    assert metric("api_auth_throttled_total", "api") - throttled == 100 + 2 - BURST


async def test_guesses_spread_over_addresses_are_throttled_per_token_prefix(tmp_path):
    async with api(tmp_path) as app:
        codes = []
        for i in range(BURST + 3):
            async with client(app, f"10.1.0.{i}") as http:
                r = await http.get("/escalations", headers={"Authorization": f"Bearer abcdef{i}"})
                codes.append(r.status_code)
        assert codes == [401] * BURST + [429] * 3, codes


async def test_bad_tokens_at_the_console_sign_in_are_throttled(tmp_path):
    throttled = metric("api_auth_throttled_total", "console")
    async with api(tmp_path) as app, client(app, "10.2.0.1") as http:
        codes = []
        for _ in range(BURST + 2):
            form = (await http.get("/console/sign-in")).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)
            assert csrf
            r = await http.post(
                "/console/sign-in",
                content=f"token={secrets.token_urlsafe(12)}&csrf={csrf.group(1)}",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            codes.append(r.status_code)
        assert codes == [401] * BURST + [429] * 2, codes
        assert int(r.headers["Retry-After"]) >= 1 and "Too many" in r.text
    assert metric("api_auth_throttled_total", "console") - throttled == 2


def test_the_bucket_refills_and_its_memory_is_bounded(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr("api.auth.time.monotonic", lambda: now[0])
    throttle = FailureThrottle(rate=0.5, burst=2)
    for _ in range(2):
        assert throttle.wait("a", "tok-1") == 0
        throttle.failed("a", "tok-1")
    assert throttle.wait("a", "tok-1") == 2.0  # one failure back every 2 s
    now[0] += 2
    assert throttle.wait("a", "tok-1") == 0
    monkeypatch.setattr(FailureThrottle, "MAX_KEYS", 10)
    for i in range(50):
        throttle.failed(f"addr-{i}", f"t{i:05d}")
    assert len(throttle._buckets) <= 10
    assert FailureThrottle(rate=1, burst=0).wait("a", "x") == 0  # burst 0: off


def test_forged_jwts_do_not_lock_out_the_identity_providers_tokens():
    throttle = FailureThrottle(rate=0.01, burst=2)
    header = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0"  # the same in every token of the provider
    for n in range(5):
        throttle.failed(f"10.0.0.{n}", f"{header}.eyJzdWIiOiJ4In0.forged{n}sig")
    assert throttle.wait("10.0.0.9", f"{header}.eyJzdWIiOiJ5In0.realsignature") == 0
    assert throttle.wait("10.0.0.0", f"{header}.eyJzdWIiOiJ5In0.realsignature") == 0  # burst 2
    throttle.failed("10.0.0.0", f"{header}.eyJzdWIiOiJ4In0.forgedAsig")
    assert throttle.wait("10.0.0.0", f"{header}.eyJzdWIiOiJ5In0.realsignature") > 0
