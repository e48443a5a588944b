"""The system under test: local sinks, the embedded stack (dev server + worker + API, real code)
with a bench policy and its own data dir and free ports, and the raw-baseline worker."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
DEMO_POLICY = ROOT / "config" / "policy.toml"
STRIPPED = (
    "ESCALATIONS_TEMPORAL_",
    "ESCALATIONS_SMTP_",
    "ESCALATIONS_WEBHOOK_",
    "ESCALATIONS_CRM_",
    "ESCALATIONS_DIRECTORY_PATH",
    "ESCALATIONS_POLICY_PATH",
    "ESCALATIONS_DATA_DIR",
    "ESCALATIONS_API_",
    "ESCALATIONS_TASK_QUEUE",
)
DEADLINE_CATEGORY = "bench-deadline"  # no triage rule names it: the catch-all rule makes it P4


def free_ports(n: int, block: int = 1) -> list[int]:
    """n free loopback ports; the last one starts a run of `block` consecutive free ports (the
    launcher gives worker process k the metrics port `--metrics-port` + k)."""
    socks, ports = [], []

    def bind(port: int) -> bool:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
        except (OSError, OverflowError):  # taken, or past 65535
            s.close()
            return False
        socks.append(s)
        ports.append(s.getsockname()[1])
        return True

    try:
        for _ in range(n - 1):
            bind(0)
        for _ in range(100):
            bind(0)
            first = ports[-1]
            if all(bind(first + k) for k in range(1, block)):
                break
            del ports[n - 1 :]  # the block's sockets stay open until the end: not tried again
        else:
            raise RuntimeError(f"no {block} consecutive free ports on 127.0.0.1")
    finally:
        for s in socks:
            s.close()
    return ports[:n]


def bench_policy(deadline_target_s: float) -> str:
    """The demo policy with every calendar always open (no quiet-hours deferrals), no SLA
    warnings, a help-line window longer than any run, long SLA targets for P1-P3 and a
    first-response target of `deadline_target_s` for P4 (the deadline section's escalations)."""
    text = DEMO_POLICY.read_text()
    text = re.sub(r"(?m)^version = .*$", 'version = "bench-1"', text)
    text = re.sub(r"(?m)^consult_window_min = .*$", "consult_window_min = 1440", text)
    text = re.sub(r"(?m)^warning_fractions = .*$", "warning_fractions = []", text)
    text = re.sub(r"(?m)^(\[calendars\.[^\]]+\])$", r"\1\nalways_open = true", text)
    # replace every [[sla]] table (they run up to the next comment header)
    text = re.sub(r"(?ms)^\[\[sla\]\].*?(?=^# ---)", "", text)
    fr_h = deadline_target_s / 3600
    sla = "\n".join(
        f'[[sla]]\nseverity = "{sev}"\nfirst_response_h = {fr}\nresolution_h = {res}\n'
        for sev, fr, res in (("P1", 24, 48), ("P2", 24, 48), ("P3", 24, 48), ("P4", repr(fr_h), 48))
    )
    text = text.replace("# --- calendars ---", sla + "\n# --- calendars ---", 1)
    data = tomllib.loads(text)  # must stay valid TOML and a valid policy
    from workflows.policy import Policy

    policy = Policy.model_validate(data)
    assert all(c.always_open for c in policy.calendars.values())
    assert not policy.warning_fractions
    return text


@dataclass
class Ports:
    temporal: int
    ui: int
    api: int
    metrics: int
    smtp: int
    http: int


class Stack:
    """Everything the benchmark starts; stop() ends exactly these processes."""

    def __init__(
        self, out: Path, deadline_target_s: float, raw_task_queue: str, workers: int = 1
    ) -> None:
        self.out = out
        temporal, ui, api, smtp, http, metrics = free_ports(6, block=workers)
        self.ports = Ports(temporal=temporal, ui=ui, api=api, metrics=metrics, smtp=smtp, http=http)
        self.deadline_target_s = deadline_target_s
        self.raw_task_queue = raw_task_queue
        self.workers = workers  # worker processes, the service's and the baseline's alike
        self.procs: dict[str, asyncio.subprocess.Process] = {}
        self.logs: list = []
        self.worker_pids: list[int] = []
        self.server_pid: int | None = None
        self.api_pid: int | None = None
        # the second service of section `facts` (start_facts_off)
        self.off_api_port: int | None = None
        self.off_worker_pids: list[int] = []
        self.off_api_pid: int | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def temporal_address(self) -> str:
        return f"127.0.0.1:{self.ports.temporal}"

    def env(self) -> dict[str, str]:
        sink = f"http://127.0.0.1:{self.ports.http}"
        env = dict(os.environ)
        for k in list(env):  # connection and delivery settings are the bench's own; tuning
            if k.startswith(STRIPPED):  # such as ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS passes
                del env[k]
        # Bytecode cache on, kept under bench/out: with PYTHONDONTWRITEBYTECODE=1 (set in some dev
        # shells) the workflow sandbox re-compiles workflows/escalation.py from source for every
        # new workflow instance, which is not how an installed service runs.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(self.out.parent / "pycache")
        env.update(
            ESCALATIONS_DEMO="true",
            ESCALATIONS_POLICY_PATH=str(self.out / "bench-policy.toml"),
            ESCALATIONS_TASK_QUEUE="escalations",
            ESCALATIONS_LOG_FORMAT="json",
            ESCALATIONS_SMTP_HOST="127.0.0.1",
            ESCALATIONS_SMTP_PORT=str(self.ports.smtp),
            ESCALATIONS_WEBHOOK_SMS_URL=f"{sink}/sms",
            ESCALATIONS_WEBHOOK_CHAT_URL=f"{sink}/chat",
            ESCALATIONS_WEBHOOK_SOCIAL_URL=f"{sink}/social",
            ESCALATIONS_WEBHOOK_PHONE_URL=f"{sink}/phone",
            ESCALATIONS_WEBHOOK_STAFF_URL=f"{sink}/staff",
            ESCALATIONS_CRM_WEBHOOK_URL=f"{sink}/crm",
        )
        return env

    async def _spawn(
        self,
        name: str,
        cmd: list[str],
        ready_line: str | None = None,
        timeout: float = 60,
        extra_env: dict[str, str] | None = None,
    ) -> asyncio.subprocess.Process:
        log = open(self.out / f"{name}.log", "wb")  # noqa: SIM115 - closed in stop()
        self.logs.append(log)
        proc = await asyncio.create_subprocess_exec(
            *cmd,
            cwd=str(ROOT),
            env={**self.env(), **(extra_env or {})},
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if ready_line else log,
            stderr=log,
            start_new_session=True,
        )
        self.procs[name] = proc
        if ready_line:
            try:
                line = await asyncio.wait_for(proc.stdout.readline(), timeout)
            except TimeoutError:
                raise RuntimeError(f"{name} not ready in {timeout:.0f} s; see {log.name}") from None
            if ready_line not in line.decode():
                raise RuntimeError(f"{name} failed to start; see {log.name}")
            asyncio.ensure_future(self._drain(proc, log))
        return proc

    @staticmethod
    async def _drain(proc: asyncio.subprocess.Process, log) -> None:
        while line := await proc.stdout.readline():
            log.write(line)

    async def start(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / "bench-policy.toml").write_text(bench_policy(self.deadline_target_s))
        p = self.ports
        await self._spawn(
            "sinks",
            [
                sys.executable,
                "-m",
                "bench.sinks",
                "--smtp-port",
                str(p.smtp),
                "--http-port",
                str(p.http),
            ],
            "sinks ready",
            30,
        )
        await self._spawn(
            "embedded",
            [
                sys.executable,
                "-m",
                "worker.embedded",
                "--host",
                "127.0.0.1",
                "--temporal-port",
                str(p.temporal),
                "--ui-port",
                str(p.ui),
                "--api-port",
                str(p.api),
                "--metrics-port",
                str(p.metrics),
                "--data-dir",
                str(self.out / "data"),
                *self._launcher_extra_flags(),
            ],
        )
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if self.procs["embedded"].returncode is not None:
                    raise RuntimeError(f"embedded stack exited; see {self.out / 'embedded.log'}")
                try:
                    if (await http.get(f"{self.api_url}/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("embedded stack not ready in 120 s")
                await asyncio.sleep(0.25)
        self._find_pids()
        if len(self.worker_pids) != self.workers:
            raise RuntimeError(
                f"{self.workers} worker processes asked for, {len(self.worker_pids)} found"
            )
        for i in range(self.workers):  # as many as the service's, each with the same cache
            await self._spawn(
                self._raw_name(i),
                [
                    sys.executable,
                    "-m",
                    "bench.raw_worker",
                    "--address",
                    self.temporal_address,
                    "--task-queue",
                    self.raw_task_queue,
                    # the service worker's sticky cache size: the deadline baseline misses it as
                    # often
                    "--max-cached-workflows",
                    str(self.max_cached_workflows()),
                ],
                "raw-worker ready",
                60,
            )

    async def start_facts_off(self) -> None:
        """A second service beside the first, on the same dev server: as many worker processes
        and an API of its own, on task queue `escalations-nofacts`, with
        `ESCALATIONS_REPORT_FACTS=false` (its workers answer the facts `done` unwritten). The
        same code and policy otherwise, so section `facts` can alternate rounds between the two
        and measure what writing the facts costs within one run."""
        api_port, metrics = free_ports(2, block=self.workers)
        self.off_api_port = api_port
        env = {
            "ESCALATIONS_TEMPORAL_ADDRESS": self.temporal_address,
            "ESCALATIONS_TASK_QUEUE": "escalations-nofacts",
            "ESCALATIONS_REPORT_FACTS": "false",
            "ESCALATIONS_DATA_DIR": str(self.out / "data"),
            "ESCALATIONS_API_HOST": "127.0.0.1",
            "ESCALATIONS_API_PORT": str(api_port),
            "ESCALATIONS_WORKER_MAX_CACHED_WORKFLOWS": str(self.max_cached_workflows()),
        }
        for i in range(self.workers):
            proc = await self._spawn(
                f"nofacts-worker-{i + 1}",
                [sys.executable, "-m", "worker"],
                extra_env={**env, "ESCALATIONS_WORKER_METRICS_BIND": f"127.0.0.1:{metrics + i}"},
            )
            self.off_worker_pids.append(proc.pid)
        proc = await self._spawn("nofacts-api", [sys.executable, "-m", "api"], extra_env=env)
        self.off_api_pid = proc.pid
        deadline = time.monotonic() + 120
        async with httpx.AsyncClient(timeout=2) as http:
            while True:
                if proc.returncode is not None:
                    raise RuntimeError(f"the facts-off API exited; see {self.out}/nofacts-api.log")
                try:
                    if (await http.get(f"http://127.0.0.1:{api_port}/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the facts-off API not ready in 120 s")
                await asyncio.sleep(0.25)

    @property
    def off_api_url(self) -> str:
        return f"http://127.0.0.1:{self.off_api_port}"

    @staticmethod
    def _raw_name(i: int) -> str:
        return "raw-worker" if i == 0 else f"raw-worker-{i + 1}"

    def _launcher_extra_flags(self) -> list[str]:
        """Our own sinks replace the launcher's demo sinks, where it has them; the number of
        worker processes (a launcher without --workers runs one)."""
        import subprocess

        help_text = subprocess.run(
            [sys.executable, "-m", "worker.embedded", "--help"],
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        flags = ["--no-sinks"] if "--no-sinks" in help_text else []
        if "--workers" in help_text:
            flags += ["--workers", str(self.workers)]
        elif self.workers != 1:
            raise RuntimeError("this checkout's launcher runs one worker: pass --workers 1")
        return flags

    def _find_pids(self) -> None:
        launcher = psutil.Process(self.procs["embedded"].pid)
        for child in launcher.children(recursive=True):
            try:
                cmd = child.cmdline()
            except psutil.Error:
                continue
            if "start-dev" in cmd:
                self.server_pid = child.pid
            elif cmd[-2:] == ["-m", "worker"]:
                self.worker_pids.append(child.pid)
            elif cmd[-2:] == ["-m", "api"]:
                self.api_pid = child.pid

    def rss_mib(self, *pids: int | None) -> float | None:
        """The processes' resident memory together (None when none could be read)."""
        total = None
        for pid in pids:
            if pid is None:
                continue
            try:
                total = (total or 0.0) + psutil.Process(pid).memory_info().rss / 2**20
            except psutil.Error:
                pass
        return total

    def cpu_seconds(self, *pids: int | None) -> float:
        total = 0.0
        for pid in pids:
            if pid is None:
                continue
            try:
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def max_cached_workflows(self) -> int:
        """Each worker process's sticky cache, as the launcher sizes it."""
        from worker.embedded import cached_workflows_per_worker

        return cached_workflows_per_worker(self.workers, self.env())

    def cpu_by_process(self) -> dict[str, float]:
        """CPU seconds so far by role (the worker processes together)."""
        return {
            name: self.cpu_seconds(*pids)
            for name, pids in (
                ("worker", self.worker_pids),
                ("api", [self.api_pid]),
                ("dev_server", [self.server_pid]),
                ("raw_worker", self.raw_worker_pids),
                ("sinks", [self.sinks_pid]),
                ("bench_client", [os.getpid()]),
            )
        }

    @property
    def sinks_pid(self) -> int | None:
        proc = self.procs.get("sinks")
        return proc.pid if proc else None

    @property
    def service_pids(self) -> tuple[int | None, ...]:
        """The service's own processes: the workers, the API and the dev server."""
        return (*self.worker_pids, self.api_pid, self.server_pid)

    @property
    def raw_pids(self) -> tuple[int | None, ...]:
        """The baseline's processes: its workers and the dev server."""
        return (*self.raw_worker_pids, self.server_pid)

    @property
    def raw_worker_pids(self) -> list[int]:
        return [
            proc.pid for i in range(self.workers) if (proc := self.procs.get(self._raw_name(i)))
        ]

    async def stop(self) -> None:
        # The launcher stops its own children (API, worker, dev server) on SIGTERM.
        off = [name for name in self.procs if name.startswith("nofacts-")]
        for name in (*off, *map(self._raw_name, range(self.workers)), "embedded", "sinks"):
            proc = self.procs.get(name)
            if proc is None or proc.returncode is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 120 if name == "embedded" else 20)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        for pid in (self.api_pid, *self.worker_pids, self.server_pid):  # only if left behind
            if pid is not None and psutil.pid_exists(pid):
                try:
                    psutil.Process(pid).kill()
                except psutil.Error:
                    pass
        for log in self.logs:
            log.close()
