"""/temporal is read-only: the proxy passes the UI's reads (and its queries) to the UI server and
refuses every write (terminate, signal, cancel, reset, batch) before it leaves the API; the UI
is told its write actions are off. Upstream is a stub that records what reached it."""

from __future__ import annotations

import json
import secrets
import socket
import time

import httpx
import pytest

from api.console import session
from api.main import create_app
from core.settings import Settings
from core.temporal import connect

pytestmark = pytest.mark.timeout(60)
WF = "/temporal/api/v1/namespaces/default/workflows/escalation-E-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def proxied(tmp_path):
    reached: list[tuple[str, str]] = []

    def upstream(request: httpx.Request) -> httpx.Response:
        reached.append((request.method, request.url.path))
        body = b"{}"
        if request.url.path.endswith("/settings"):
            body = b'{"DisableWriteActions": false, "WorkflowTerminateDisabled": false}'
        # a stream, as the real UI server's answer is (the proxy streams it on)
        return httpx.Response(200, stream=httpx.ByteStream(body))

    settings = Settings(
        demo=True,
        temporal_address=f"127.0.0.1:{free_port()}",
        temporal_ui_upstream="http://ui.invalid",
        data_dir=tmp_path,
    )
    app = create_app(settings, client=await connect(settings, lazy=True))
    async with app.router.lifespan_context(app):
        app.state.temporal_ui_http = httpx.AsyncClient(transport=httpx.MockTransport(upstream))
        signed_in = session.Session(secrets.token_hex(16), "p-operator", time.time() + 600)
        # a session the console started: its row in the report store (sessions are revocable)
        app.state.report_store.sessions.start(
            signed_in.sid, signed_in.person_id, signed_in.expires_at, time.time()
        )
        cookie = session.encode(settings, signed_in)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://api",
            cookies={session.COOKIE: cookie},
        ) as http:
            yield http, reached


@pytest.mark.parametrize(
    "method,path",
    [
        ("POST", f"{WF}/terminate"),
        ("POST", f"{WF}/signal/anything"),
        ("POST", f"{WF}/cancel"),
        ("POST", f"{WF}/reset"),
        ("POST", f"{WF}/update/cancel"),
        ("POST", "/temporal/api/v1/namespaces/default/batch-operations/b-1"),
        (
            "POST",
            "/temporal/api/v1/namespaces/default/workflows/escalation-E-1/query/x/../../terminate",
        ),
        ("DELETE", "/temporal/api/v1/namespaces/default/schedules/s-1"),
        ("PUT", f"{WF}"),
        ("PATCH", f"{WF}"),
    ],
)
async def test_the_ui_s_write_calls_never_reach_temporal(proxied, method, path):
    http, reached = proxied
    r = await http.request(method, path, headers={"X-CSRF-TOKEN": "the-ui-s-token"}, json={})
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden"
    assert "/operator/" in r.json()["detail"]
    assert reached == []


async def test_reads_and_queries_pass_and_the_ui_offers_no_write_action(proxied):
    http, reached = proxied
    assert (await http.get(f"{WF}/history")).status_code == 200
    assert (await http.post(f"{WF}/query/__stack_trace", json={})).status_code == 200
    r = await http.get("/temporal/api/v1/settings")
    assert r.status_code == 200
    settings = json.loads(r.content)
    assert settings["DisableWriteActions"] is True
    assert settings["WorkflowTerminateDisabled"] is True
    assert settings["WorkflowSignalDisabled"] is True
    assert ("POST", f"{WF}/query/__stack_trace") in reached
