"""Idempotency keys belong to their caller, and a repeated open answers the truth or 503."""

from __future__ import annotations

import httpx
import pytest

from api import gateway
from api.main import create_app
from core.settings import Settings
from tests.api.conftest import auth, request_body, unique

pytestmark = pytest.mark.timeout(90)


async def test_someone_elses_case_under_a_crms_key_is_not_returned_to_the_crm(stack):
    key = unique("crm-key-")
    squatter = await stack.http.post(
        "/escalations",
        json=request_body(summary="Pre-created by someone else"),
        headers={**auth("agent"), "Idempotency-Key": key},
    )
    assert squatter.status_code == 201, squatter.text
    crm = await stack.http.post(
        "/escalations", json=request_body(), headers={**auth("system"), "Idempotency-Key": key}
    )
    assert crm.status_code == 201, crm.text  # its own, new case
    assert crm.json()["id"] != squatter.json()["id"]
    assert crm.json()["summary"] == "Charged twice for March"
    again = await stack.http.post(
        "/escalations", json=request_body(), headers={**auth("system"), "Idempotency-Key": key}
    )
    assert again.status_code == 200 and again.json()["id"] == crm.json()["id"]


async def test_external_refs_are_scoped_to_the_caller_too(stack):
    ref = unique("CRM-")
    squatter = await stack.open("agent", external_ref=ref, summary="Pre-created")
    crm = await stack.http.post(
        "/escalations", json=request_body(external_ref=ref), headers=auth("system")
    )
    assert crm.status_code == 201, crm.text
    assert crm.json()["id"] != squatter["id"]


async def test_an_external_ref_reused_with_another_body_is_409(stack):
    ref = unique("CRM-")
    first = await stack.http.post(
        "/escalations", json=request_body(external_ref=ref), headers=auth("system")
    )
    assert first.status_code == 201, first.text
    other = await stack.http.post(
        "/escalations",
        json=request_body(external_ref=ref, summary="A different problem"),
        headers=auth("system"),
    )
    assert other.status_code == 409, other.text
    assert other.json()["error"] == "conflict"


async def test_a_repeated_open_whose_state_cannot_be_read_is_503(dev_env, monkeypatch):
    """No worker polls the case's task queue, so its state query cannot be answered."""
    monkeypatch.setattr(gateway, "QUERY_TIMEOUT_S", 1.0)
    queue = unique("nobody-polls-")
    app = create_app(Settings(demo=True, task_queue=queue), client=dev_env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        headers = {**auth("system"), "Idempotency-Key": unique("k-")}
        first = await http.post("/escalations", json=request_body(), headers=headers)
        assert first.status_code == 201, first.text
        again = await http.post("/escalations", json=request_body(), headers=headers)
    assert again.status_code == 503, again.text
    assert again.json()["error"] == "unavailable"
    assert int(again.headers["Retry-After"]) > 0
