"""/codec/decode and /codec/encode: the codec server the Temporal Web UI and CLI call."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from api.main import create_app
from core.codec import ENCODING, codec_from_settings
from core.settings import Settings
from tests.api.conftest import auth

UI = "http://localhost:8233"


@pytest.fixture(scope="module")
async def http(dev_env) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(Settings(demo=True, _env_file=None), client=dev_env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        yield client


def as_json(*payloads: Payload) -> dict:
    return json.loads(json_format.MessageToJson(Payloads(payloads=payloads)))


def from_json(body: dict) -> list[Payload]:
    return list(json_format.ParseDict(body, Payloads()).payloads)


SECRET = Payload(metadata={"encoding": b"json/plain"}, data=b'{"email":"ada@example.com"}')


async def encrypted(*payloads: Payload) -> list[Payload]:
    return await codec_from_settings(Settings(demo=True, _env_file=None)).encode(payloads)


async def test_operator_decodes_an_encrypted_payload(http: httpx.AsyncClient) -> None:
    plain_too = Payload(metadata={"encoding": b"binary/null"})
    r = await http.post(
        "/codec/decode",
        json=as_json(*await encrypted(SECRET), plain_too),
        headers={**auth("operator"), "X-Namespace": "default"},
    )
    assert r.status_code == 200, r.text
    assert from_json(r.json()) == [SECRET, plain_too]


async def test_encode_then_decode_round_trips(http: httpx.AsyncClient) -> None:
    r = await http.post("/codec/encode", json=as_json(SECRET), headers=auth("operator"))
    assert r.status_code == 200, r.text
    [enc] = from_json(r.json())
    assert enc.metadata["encoding"] == ENCODING and b"ada@" not in enc.data
    r = await http.post("/codec/decode", json=r.json(), headers=auth("operator"))
    assert from_json(r.json()) == [SECRET]


async def test_empty_list(http: httpx.AsyncClient) -> None:
    r = await http.post("/codec/decode", json={"payloads": []}, headers=auth("operator"))
    assert r.status_code == 200 and r.json() == {"payloads": []}


async def test_without_a_token_401(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/codec/decode", json=as_json(*await encrypted(SECRET)), headers={"Origin": UI}
    )
    assert r.status_code == 401
    assert r.json()["error"] == "unauthorized" and r.json()["detail"]
    assert r.headers["access-control-allow-origin"] == UI  # the UI can read why


@pytest.mark.parametrize("role", ["agent", "manager", "executive", "system"])
async def test_other_roles_403(http: httpx.AsyncClient, role: str) -> None:
    r = await http.post("/codec/decode", json=as_json(*await encrypted(SECRET)), headers=auth(role))
    assert r.status_code == 403
    assert r.json()["error"] == "forbidden" and "operator" in r.json()["detail"]
    assert "ada@" not in r.text


async def test_unknown_token_401(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/codec/encode", json=as_json(SECRET), headers={"Authorization": "Bearer nope"}
    )
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"


async def test_tampered_payload_422(http: httpx.AsyncClient) -> None:
    [enc] = await encrypted(SECRET)
    enc.data = enc.data[:-1] + bytes([enc.data[-1] ^ 1])
    r = await http.post("/codec/decode", json=as_json(enc), headers=auth("operator"))
    assert r.status_code == 422 and "tampered" in r.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"payloads": [{"data": "not base64!!"}]},
        {"payloads": "x"},
        {},
    ],
)
async def test_malformed_body_422(http: httpx.AsyncClient, body: dict) -> None:
    r = await http.post("/codec/decode", json=body, headers=auth("operator"))
    assert r.status_code == 422 and r.json()["error"] == "invalid"


async def test_cors_preflight_needs_no_token(http: httpx.AsyncClient) -> None:
    r = await http.options(
        "/codec/decode",
        headers={
            "Origin": UI,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
        },
    )
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == UI
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = r.headers["access-control-allow-headers"].lower()
    assert all(h in allowed for h in ("authorization", "content-type", "x-namespace"))

    r = await http.post(
        "/codec/decode",
        json=as_json(*await encrypted(SECRET)),
        headers={**auth("operator"), "Origin": UI},
    )
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == UI


async def test_cors_other_origins_are_not_allowed(http: httpx.AsyncClient) -> None:
    r = await http.options(
        "/codec/decode",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in r.headers


# --- the temporal CLI, as the README tells operators to run it --------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_temporal_cli_decodes_a_history_through_the_codec_endpoint(dev_env) -> None:
    import uvicorn
    from temporalio.client import Client

    from core.binaries import find_binary
    from core.temporal import data_converter

    temporal = find_binary("temporal") or shutil.which("temporal")
    assert temporal
    settings = Settings(demo=True, _env_file=None)
    target = dev_env.client.service_client.config.target_host
    client = await Client.connect(
        target, namespace=dev_env.client.namespace, data_converter=data_converter(settings)
    )
    # A workflow nobody runs: its start event holds an encrypted input.
    wid = f"codec-cli-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(
        "NobodyRunsThis",
        {"email": "cli.check@example.com"},
        id=wid,
        task_queue=f"tq-{uuid.uuid4()}",
    )
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, client=dev_env.client),
            host="127.0.0.1",
            port=port,
            log_config=None,
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.05)

        async def show(*extra: str) -> str:
            proc = await asyncio.create_subprocess_exec(
                temporal,
                "workflow",
                "show",
                "--workflow-id",
                wid,
                "--address",
                target,
                "--namespace",
                dev_env.client.namespace,
                "--detailed",
                *extra,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
            )
            out, err = await asyncio.wait_for(proc.communicate(), 30)
            return out.decode() + err.decode()

        endpoint = f"http://127.0.0.1:{port}/codec"
        assert "cli.check@example.com" not in await show()
        decoded = await show("--codec-endpoint", endpoint, "--codec-auth", "Bearer demo-operator")
        assert "input[0].email: cli.check@example.com" in decoded, decoded[-2000:]
        # A refused codec call is retried by the CLI until its deadline, then an error.
        refused = await show(
            "--codec-endpoint",
            endpoint,
            "--codec-auth",
            "Bearer demo-agent",
            "--command-timeout",
            "2s",
        )
        assert "Error" in refused, refused[-2000:]
        assert "cli.check@example.com" not in refused
    finally:
        server.should_exit = True
        await serving
        await handle.terminate("test finished")


async def console_sign_in(http: httpx.AsyncClient, token: str) -> httpx.Response:
    """Sign in through the console's form (its pre-session cookie and CSRF token)."""
    form = (await http.get("/console/sign-in")).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, form
    return await http.post(
        "/console/sign-in",
        content=f"token={token}&csrf={csrf.group(1)}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )


async def test_console_session_for_a_ui_without_login(dev_env) -> None:
    """The dev server's UI sends no Authorization header; with "include cross-origin
    credentials" it sends the console's session cookie, which holds no token and decodes only
    for an operator."""
    app = create_app(Settings(demo=True, _env_file=None), client=dev_env.client)
    body = as_json(*await encrypted(SECRET))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as http,
    ):
        r = await http.get("/codec/session")
        assert r.status_code == 303 and r.headers["location"].startswith("/console/sign-in")
        assert (await console_sign_in(http, "demo-agent")).status_code == 303
        assert (
            await http.post("/codec/decode", json=body, headers={"Origin": UI})
        ).status_code == 403
        http.cookies.clear()
        r = await console_sign_in(http, "demo-operator")
        assert r.status_code == 303
        cookie = r.headers["set-cookie"]
        assert "demo-operator" not in cookie
        assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()
        r = await http.post("/codec/decode", json=body, headers={"Origin": UI})
        assert r.status_code == 200 and from_json(r.json()) == [SECRET]
        assert r.headers["access-control-allow-credentials"] == "true"
        http.cookies.clear()
        assert (await http.post("/codec/decode", json=body)).status_code == 401


async def test_outside_the_demo_encode_is_refused(dev_env) -> None:
    """An encryption oracle only helps forge an input: actions go through the API, signed."""
    app = create_app(Settings(demo=True, _env_file=None), client=dev_env.client)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client,
    ):
        app.state.settings = app.state.settings.model_copy(update={"demo": False})
        r = await client.post("/codec/encode", json=as_json(SECRET), headers=auth("operator"))
        assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
        assert "signs them" in r.json()["detail"]
