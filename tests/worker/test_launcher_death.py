"""No process outlives the launcher of `make run`: however it ends (SIGKILL as an OOM killer or a
closed terminal may send it, SIGTERM, SIGHUP), the dev server, worker, API and sinks end within
seconds, and the next start on the same data comes up ready."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from pathlib import Path

import psutil
import pytest

from tests.worker.test_embedded import free_port, start_stack, wait_ready

pytestmark = pytest.mark.timeout(240)


def ports_free(ports: dict[str, int]) -> bool:
    for port in ports.values():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


async def gone(pids: list[int], timeout: float) -> list[int]:
    """The pids still alive after `timeout` seconds (zombies count as gone)."""
    deadline = time.monotonic() + timeout
    while True:
        alive = [
            p
            for p in pids
            if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
        ]
        if not alive or time.monotonic() > deadline:
            return alive
        await asyncio.sleep(0.2)


@pytest.mark.parametrize(
    "sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
async def test_children_end_with_the_launcher_and_the_next_start_is_clean(
    tmp_path: Path, sig: signal.Signals
):
    ports = {n: free_port() for n in ("temporal", "ui", "api", "metrics", "smtp", "webhook")}
    proc = await start_stack(tmp_path, ports)
    drain = asyncio.create_task(proc.communicate())  # its output must not fill the pipe
    await wait_ready(f"http://127.0.0.1:{ports['api']}/readyz", proc)
    children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
    names = {psutil.Process(p).name() for p in children}
    assert len(children) >= 4 and "temporal" in names, names  # server, sinks, worker, API

    proc.send_signal(sig)
    left = await gone(children, timeout=20)
    for pid in left:  # leave nothing behind for later tests
        psutil.Process(pid).kill()
    assert left == [], "children outlived the launcher"
    await asyncio.wait_for(drain, timeout=30)  # its children held the pipe's other end
    assert ports_free(ports)

    again = await start_stack(tmp_path, ports)  # same data folder, same ports
    try:
        await wait_ready(f"http://127.0.0.1:{ports['api']}/readyz", again)
    finally:
        again.send_signal(signal.SIGINT)
        await asyncio.wait_for(again.communicate(), timeout=60)
    assert again.returncode == 0
