"""The API with single sign-on: access tokens of a real OpenID Connect provider process
(tests/oidc_provider.py) beside directory tokens; forged, expired, foreign and unsigned tokens
refused in the contract's error shape; the person recorded with their subject."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from api.main import create_app
from api.oidc import OidcVerifier, ProviderUnreachable, TokenRefused
from core.settings import Settings
from tests.api.conftest import Stack, auth, make_stack, request_body
from tests.oidc_provider import (
    CLIENT_ID,
    SHORT_LIVED_USER,
    Provider,
    oidc_provider,  # noqa: F401  (the provider process)
    sso_settings,
)

pytestmark = pytest.mark.timeout(120)


@pytest.fixture(scope="module")
async def sso(dev_env, tmp_path_factory, oidc_provider) -> AsyncIterator[Stack]:  # noqa: F811
    async with make_stack(
        dev_env, tmp_path_factory.mktemp("data"), **sso_settings(oidc_provider)
    ) as s:
        yield s


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def claims_for(provider: Provider, sub: str = "alex.agent", **more) -> dict:
    now = int(time.time())
    return {
        "iss": provider.issuer,
        "sub": sub,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 600,
        "groups": ["agent"],
        **more,
    }


async def test_an_agent_opens_a_case_with_the_providers_access_token(sso, oidc_provider):  # noqa: F811
    token = oidc_provider.access_token("alex.agent")
    r = await sso.http.get("/escalations", headers=bearer(token))
    assert r.status_code == 200, r.text
    r = await sso.http.post("/escalations", json=request_body(), headers=bearer(token))
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    timeline = (await sso.http.get(f"/escalations/{eid}/timeline", headers=bearer(token))).json()
    opened = next(i for i in timeline["items"] if i["action"] == "opened")
    assert (opened["actor"], opened["role"]) == ("Alex Agent (SSO)", "agent"), opened
    # the Actor in the workflow's history carries the provider's subject
    handle = sso.client.get_workflow_handle(f"escalation-{eid}")
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    recorded = b"".join(p.data for p in started.input.payloads)
    assert b'"subject":"alex.agent"' in recorded.replace(b" ", b"")
    # directory tokens keep working beside it
    assert (await sso.http.get("/escalations", headers=auth("agent"))).status_code == 200


async def test_roles_come_from_the_claims(sso, oidc_provider):  # noqa: F811
    executive = oidc_provider.access_token("erin.executive")
    agent = oidc_provider.access_token("alex.agent")
    assert (await sso.http.get("/reports/summary", headers=bearer(executive))).status_code == 200
    r = await sso.http.get("/reports/summary", headers=bearer(agent))
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text


async def test_the_directory_entry_matched_by_email_wins(sso, oidc_provider):  # noqa: F811
    token = oidc_provider.access_token("sam.specialist")  # no groups: the directory's role
    r = await sso.http.get("/escalations", headers=bearer(token))
    assert r.status_code == 200, r.text
    r = await sso.http.post("/escalations", json=request_body(), headers=bearer(token))
    assert r.status_code == 403 and "specialist" in r.json()["detail"], r.text


async def test_a_person_with_no_known_role_is_refused(sso, oidc_provider):  # noqa: F811
    r = await sso.http.get(
        "/escalations", headers=bearer(oidc_provider.access_token("nora.nobody"))
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"] == "forbidden" and "no role" in r.json()["detail"]


def forged(provider: Provider, kind: str) -> str:
    if kind == "other_audience":  # a real token, issued to another application
        return provider.access_token("alex.agent", client_id="another-app")
    if kind == "expired":  # a real token that lived 1 s
        provider.set_user(SHORT_LIVED_USER, {"groups": ["agent"]})
        token = provider.access_token(SHORT_LIVED_USER)
        time.sleep(2.1)
        return token
    if kind == "unknown_key":  # right claims, a key the provider never published
        key = RSAKey.generate_key(2048, parameters={"kid": "not-published"})
        return jwt.encode({"alg": "RS256", "kid": "not-published"}, claims_for(provider), key)
    if kind == "alg_none":  # the provider's own kid, no signature at all
        kid = json.loads(
            base64.urlsafe_b64decode(provider.access_token("alex.agent").split(".")[0] + "==")
        )["kid"]
        return f"{b64({'alg': 'none', 'kid': kid})}.{b64(claims_for(provider))}."
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("other_audience", "another audience"),
        ("expired", "expired"),
        ("unknown_key", "key the provider does not publish"),
        ("alg_none", "alg 'none'"),
    ],
)
async def test_tokens_that_are_not_the_providers_for_us_are_refused(sso, oidc_provider, kind, why):  # noqa: F811
    r = await sso.http.get("/escalations", headers=bearer(forged(oidc_provider, kind)))
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "unauthorized" and why in r.json()["detail"], r.text
    assert r.headers["WWW-Authenticate"] == "Bearer"


async def test_forged_key_ids_do_not_hammer_the_provider(oidc_provider):  # noqa: F811
    settings = Settings(demo=True, **sso_settings(oidc_provider))
    verifier = OidcVerifier(settings)
    try:
        await verifier.verify(oidc_provider.access_token("alex.agent"), audience=CLIENT_ID)
        assert verifier.jwks_fetches == 1
        for n in range(20):
            key = RSAKey.generate_key(2048, parameters={"kid": f"forged-{n}"})
            token = jwt.encode(
                {"alg": "RS256", "kid": f"forged-{n}"}, claims_for(oidc_provider), key
            )
            with pytest.raises(Exception, match="does not publish"):
                await verifier.verify(token, audience=CLIENT_ID)
        assert verifier.jwks_fetches == 1  # within the floor: no refetch
    finally:
        await verifier.aclose()


async def test_a_rotated_key_is_fetched_on_its_first_token(oidc_provider):  # noqa: F811
    settings = Settings(demo=True, **sso_settings(oidc_provider, oidc_jwks_refresh_floor_s=0))
    verifier = OidcVerifier(settings)
    try:
        # the keys as they were before the provider rotated: none of them signs today's tokens
        old = RSAKey.generate_key(2048, parameters={"kid": "retired"})
        verifier._keys, verifier._keys_at = KeySet([old]), time.monotonic()
        claims = await verifier.verify(oidc_provider.access_token("alex.agent"), audience=CLIENT_ID)
        assert claims["sub"] == "alex.agent" and verifier.jwks_fetches == 1
    finally:
        await verifier.aclose()


async def test_an_id_token_from_another_sign_in_is_refused_by_its_nonce(oidc_provider):  # noqa: F811
    settings = Settings(demo=True, **sso_settings(oidc_provider))
    verifier = OidcVerifier(settings)
    try:
        id_token = oidc_provider.tokens("alex.agent")["id_token"]
        with pytest.raises(TokenRefused, match="nonce"):
            await verifier.verify(id_token, audience=CLIENT_ID, nonce="this-sign-in's-nonce")
    finally:
        await verifier.aclose()


async def test_a_provider_that_cannot_be_reached_is_said_so(oidc_provider):  # noqa: F811
    token = oidc_provider.access_token("alex.agent")
    gone = Settings(demo=True, oidc_issuer="http://127.0.0.1:9", oidc_client_id=CLIENT_ID)
    verifier = OidcVerifier(gone)
    try:
        with pytest.raises(ProviderUnreachable):  # the API answers 503 (api/auth.py)
            await verifier.verify(token, audience=CLIENT_ID)
    finally:
        await verifier.aclose()


@pytest.mark.parametrize(
    ("settings", "headers", "callback"),
    [
        (  # the configured public URL of a console behind a TLS proxy
            {"oidc_redirect_base": "https://escalations.example.com"},
            {},
            "https://escalations.example.com/console/sign-in/oidc/callback",
        ),
        (  # no public URL: the request's own, https when the trusted proxy says so
            {"trust_forwarded_proto": True},
            {"X-Forwarded-Proto": "https"},
            "https://api/console/sign-in/oidc/callback",
        ),
        ({}, {}, "http://api/console/sign-in/oidc/callback"),
    ],
)
async def test_the_redirect_uri_behind_a_tls_proxy(
    dev_env,
    tmp_path,
    oidc_provider,  # noqa: F811
    settings,
    headers,
    callback,
):
    s = Settings(demo=True, data_dir=tmp_path, **sso_settings(oidc_provider), **settings)
    app = create_app(s, client=dev_env.client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            r = await http.get("/console/sign-in/oidc", headers=headers)
    assert r.status_code == 303, r.text
    query = parse_qs(urlparse(r.headers["location"]).query)
    assert query["redirect_uri"] == [callback]
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    flow_cookie = r.headers["set-cookie"]
    assert ("Secure" in flow_cookie) == bool(headers), flow_cookie
