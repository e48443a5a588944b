"""Security headers on every page and answer (issue 31, point 2), and /docs from the app's own
assets. The browser tests check the same headers on every page they open
(tests/console/conftest.py)."""

from __future__ import annotations

import re

import httpx
import pytest

from api.security_headers import came_over_tls

PAGES = [
    "/console/sign-in",
    "/console",  # redirects to the sign-in page
    "/reports/charts",
    "/feedback/not-a-signed-link",
    "/docs",
    "/openapi.json",
    "/healthz",
    "/no-such-page",
]


def assert_strict(r: httpx.Response) -> None:
    h = r.headers
    csp = {d.split()[0]: d.split()[1:] for d in h["content-security-policy"].split("; ")}
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"], csp
    assert csp["frame-ancestors"] == ["'none'"] and csp["object-src"] == ["'none'"], csp
    assert h["x-frame-options"] == "DENY"
    assert h["referrer-policy"] == "no-referrer"
    assert h["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize("path", PAGES)
async def test_every_answer_carries_the_security_headers(stack, path):
    r = await stack.http.get(path, headers={"Accept": "text/html"})
    assert r.status_code < 500, r.text
    assert_strict(r)
    assert "strict-transport-security" not in r.headers  # plain http: HSTS means nothing


async def test_a_refused_body_carries_them_too(stack):
    r = await stack.http.post("/escalations", content=b"x" * (1024 * 1024 + 1))
    assert r.status_code == 413
    assert_strict(r)


async def test_hsts_only_over_tls(stack):
    transport = stack.http._transport
    async with httpx.AsyncClient(transport=transport, base_url="https://api") as https:
        r = await https.get("/console/sign-in")
    assert r.headers["strict-transport-security"].startswith("max-age=")
    # anyone can send X-Forwarded-Proto: it counts only when the settings trust a proxy
    r = await stack.http.get("/console/sign-in", headers={"X-Forwarded-Proto": "https"})
    assert "strict-transport-security" not in r.headers
    scope = {"scheme": "http", "headers": [(b"x-forwarded-proto", b"https")]}
    assert came_over_tls(scope, trust_forwarded_proto=True)
    assert not came_over_tls(scope, trust_forwarded_proto=False)


async def test_the_api_docs_load_only_the_apps_own_assets(stack):
    r = await stack.http.get("/docs")
    assert r.status_code == 200
    urls = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert urls and all(u.startswith("/") and not u.startswith("//") for u in urls), urls
    assert "<script>" not in r.text  # no inline script: the CSP would block it
    for url in urls:
        asset = await stack.http.get(url)
        assert asset.status_code == 200, url
    bundle = await stack.http.get("/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in bundle.headers["content-type"]
    assert (await stack.http.get("/redoc")).status_code == 404  # it loaded from a CDN
