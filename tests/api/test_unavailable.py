"""Temporal unreachable: 503 in the error shape, never a 500, and quickly."""

from __future__ import annotations

import socket

import httpx
import pytest

from api.main import create_app
from core.settings import Settings
from core.temporal import connect
from tests.api.conftest import auth, request_body

pytestmark = pytest.mark.timeout(60)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_temporal_unreachable_is_503():
    settings = Settings(demo=True, temporal_address=f"127.0.0.1:{free_port()}")
    client = await connect(settings, lazy=True)
    app = create_app(settings, client=client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://api", timeout=40
        ) as http,
    ):
        calls = [
            http.post("/escalations", json=request_body(), headers=auth("agent")),
            http.get("/escalations/E-0000000000000000", headers=auth("agent")),
            http.get("/escalations", headers=auth("agent")),
            http.post(
                "/escalations/E-0000000000000000/notes",
                json={"text": "x"},
                headers=auth("agent"),
            ),
            http.get("/reports/summary", headers=auth("operator")),
        ]
        for call in calls:
            r = await call
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "unavailable"
        assert (await http.get("/readyz")).status_code == 503
        assert (await http.get("/healthz")).status_code == 200
