"""What the API refuses before Temporal is asked: 401, 403, 404, 413, 422; plus the operational
endpoints, /policy, the OpenAPI manual and the start-up refusal outside the demo."""

from __future__ import annotations

import pytest

from api.auth import StartupRefused, load_people
from api.main import create_app
from core.settings import Settings
from tests.api.conftest import auth, request_body

pytestmark = pytest.mark.timeout(60)

E = "E-0000000000000000"
# path -> (a valid body, roles allowed, a role not allowed)
ACTIONS: dict[str, tuple[dict | None, str]] = {
    "/escalations": (request_body(), "helpline"),
    f"/escalations/{E}/consult-answer": ({"resolves": False, "answer": "escalate"}, "agent"),
    f"/escalations/{E}/acknowledge": ({}, "helpline"),
    f"/escalations/{E}/notes": ({"text": "a note"}, "system"),
    f"/escalations/{E}/info-requests": ({"question": "which card?"}, "agent"),
    f"/escalations/{E}/customer-contact": ({"message": "hi", "still_broken": False}, "specialist"),
    f"/escalations/{E}/proposals": (
        {"remedy": {"kind": "refund", "amount": 10, "currency": "GBP"}},
        "supervisor",
    ),
    f"/escalations/{E}/approvals": ({"decision": "approve", "comment": ""}, "specialist"),
    f"/escalations/{E}/resolve": ({"outcome": "fixed"}, "supervisor"),
    f"/escalations/{E}/reopen": ({"reason": "back"}, "operator"),
    f"/escalations/{E}/cancel": ({"reason": "dup"}, "agent"),
}


@pytest.mark.parametrize("path", list(ACTIONS))
async def test_mutating_paths_need_a_known_token(stack, path):
    body, _ = ACTIONS[path]
    for headers in (
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Basic ZGVtbw=="},
        {"Authorization": "Bearer "},
    ):
        r = await stack.http.post(path, json=body, headers=headers)
        assert r.status_code == 401, (headers, r.text)
        assert r.json()["error"] == "unauthorized"
        assert r.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize("path", list(ACTIONS))
async def test_mutating_paths_refuse_the_wrong_role(stack, path):
    body, wrong = ACTIONS[path]
    r = await stack.http.post(path, json=body, headers=auth(wrong))
    assert r.status_code == 403, r.text
    err = r.json()
    assert err["error"] == "forbidden"
    assert wrong in err["detail"] and "may do this" in err["detail"]


async def test_reads_need_a_token_too(stack):
    for path in (
        "/escalations",
        f"/escalations/{E}",
        f"/escalations/{E}/timeline",
        "/policy",
        "/reports/summary",
    ):
        assert (await stack.http.get(path)).status_code == 401, path


async def test_reports_are_for_supervisors_and_up(stack):
    r = await stack.http.get("/reports/summary", headers=auth("agent"))
    assert r.status_code == 403 and r.json()["error"] == "forbidden"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda b: b["customer"].pop("name"), "customer.name"),
        (lambda b: b.pop("channel"), "channel"),
        (lambda b: b.update(trigger="angry"), "trigger"),
        (lambda b: b["requested_remedy"].update(amount=-1), "requested_remedy.amount"),
        (
            lambda b: b["customer"]["contact"].update(email="not-an-address"),
            "customer.contact.email",
        ),
        (lambda b: b.update(unexpected=1), "unexpected"),
    ],
)
async def test_invalid_open_names_the_field(stack, mutate, field):
    body = request_body()
    mutate(body)
    r = await stack.http.post("/escalations", json=body, headers=auth("agent"))
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "invalid"
    assert field in r.json()["detail"]


async def test_invalid_json_and_action_bodies_are_422(stack):
    r = await stack.http.post(
        "/escalations",
        content=b"{not json",
        headers={**auth("agent"), "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and r.json()["error"] == "invalid"
    r = await stack.http.post(
        f"/escalations/{E}/approvals", json={"decision": "maybe"}, headers=auth("executive")
    )
    assert r.status_code == 422 and "decision" in r.json()["detail"]
    r = await stack.http.post(
        f"/escalations/{E}/proposals",
        json={"remedy": {"kind": "cash", "amount": 1}},
        headers=auth("specialist"),
    )
    assert r.status_code == 422 and "remedy.kind" in r.json()["detail"]
    r = await stack.http.post(f"/escalations/{E}/notes", json={"text": ""}, headers=auth("agent"))
    assert r.status_code == 422 and "text" in r.json()["detail"]


@pytest.mark.parametrize("bad", ["E-0000000000000000", "nope", "E-", "E-" + "A" * 65, "E-a_b"])
async def test_unknown_or_malformed_id_is_404(stack, bad):
    for path in (f"/escalations/{bad}", f"/escalations/{bad}/timeline"):
        r = await stack.http.get(path, headers=auth("operator"))
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"] == "not_found"
    r = await stack.http.post(
        f"/escalations/{bad}/notes", json={"text": "x"}, headers=auth("agent")
    )
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = await stack.http.post(
        f"/escalations/{bad}/approvals", json={"decision": "approve"}, headers=auth("executive")
    )
    assert r.status_code == 404


async def test_bodies_over_one_mebibyte_are_413(stack):
    big = b'{"text": "' + b"x" * (1024 * 1024) + b'"}'
    r = await stack.http.post(
        f"/escalations/{E}/notes",
        content=big,
        headers={**auth("agent"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413
    assert r.json()["error"] == "payload_too_large"

    async def chunked():  # no Content-Length: the limit is enforced while streaming
        for _ in range(20):
            yield b"x" * 65536

    r = await stack.http.post(
        f"/escalations/{E}/notes",
        content=chunked(),
        headers={**auth("agent"), "Content-Type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["error"] == "payload_too_large"


async def test_filter_values_with_quotes_are_refused(stack):
    for params in (
        {"customer_id": "C' OR 1=1"},
        {"assignee": 'a"b'},
        {"customer_id": "a\\b"},
        {"page_size": 0},
        {"page_size": 101},
        {"stage": "nowhere"},
        {"page_token": "!!!"},
    ):
        r = await stack.http.get("/escalations", params=params, headers=auth("operator"))
        assert r.status_code == 422, (params, r.text)
        assert r.json()["error"] == "invalid"


async def test_report_window_is_validated(stack):
    r = await stack.http.get(
        "/reports/summary", params={"since": "yesterday"}, headers=auth("manager")
    )
    assert r.status_code == 422 and "since" in r.json()["detail"]
    r = await stack.http.get(
        "/reports/summary",
        headers=auth("manager"),
        params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01"},
    )
    assert r.status_code == 422 and "until" in r.json()["detail"]


async def test_operational_endpoints_need_no_token(stack):
    assert (await stack.http.get("/healthz")).json() == {"status": "ok"}
    r = await stack.http.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready"
    assert (await stack.http.get("/metrics")).status_code == 200
    assert (await stack.http.get("/openapi.json")).status_code == 200
    assert (await stack.http.get("/docs")).status_code == 200


async def test_policy_in_force(stack):
    r = await stack.http.get("/policy", headers=auth("agent"))
    assert r.status_code == 200, r.text
    policy = r.json()
    assert policy["version"] and policy["signed_off_by"]
    assert policy["tier1_limit"] == 50


async def test_openapi_is_the_manual(stack):
    spec = (await stack.http.get("/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            if path not in ("/healthz", "/readyz", "/metrics"):  # api/health.py
                assert op.get("description"), (method, path)
                if path.startswith(("/feedback", "/status")):  # the link's token is the authority
                    assert "403" in op["responses"] and "410" in op["responses"], path
                    continue
                if path == "/hours":  # public: the live policy's hours (api/customer)
                    continue
                codes = set(op["responses"])
                assert "401" in codes, (method, path)
                assert op["responses"]["401"]["content"]["application/json"]["schema"][
                    "$ref"
                ].endswith("/ErrorBody")
            if "422" in op["responses"]:  # the one error shape, not FastAPI's default
                assert op["responses"]["422"]["content"]["application/json"]["schema"][
                    "$ref"
                ].endswith("/ErrorBody")
    # every field of every model is documented (description or example)
    for name, model in spec["components"]["schemas"].items():
        for field, schema in model.get("properties", {}).items():
            assert schema.get("description") or schema.get("examples"), (name, field)


def test_refuses_demo_tokens_outside_the_demo():
    with pytest.raises(StartupRefused, match="demo tokens"):
        load_people(Settings(demo=False, token_pepper="a-real-secret-pepper"))
    assert load_people(Settings(demo=True)).current().people


async def test_lifespan_refuses_demo_tokens_outside_the_demo(dev_env):
    app = create_app(Settings(demo=False), client=dev_env.client)
    with pytest.raises(StartupRefused):
        async with app.router.lifespan_context(app):
            pass


async def test_request_id_is_echoed_and_requests_are_counted_by_route(stack):
    r = await stack.http.get(
        "/escalations/E-0000000000000000",
        headers={**auth("operator"), "X-Request-ID": "req-from-caller"},
    )
    assert r.status_code == 404 and r.headers["x-request-id"] == "req-from-caller"
    minted = (await stack.http.get("/healthz")).headers["x-request-id"]
    assert len(minted) == 32 and minted != "req-from-caller"
    metrics = (await stack.http.get("/metrics")).text
    assert (
        'api_requests_total{method="GET",route="/escalations/{escalation_id}",status="404"}'
        in metrics
    )
