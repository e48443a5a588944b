"""Shared helpers for workflow tests: demo actors, requests, waiting and time travel."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from google.protobuf.empty_pb2 import Empty
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment

from core.policy import read_policy
from core.settings import CONFIG_DIR
from workflows.escalation import EscalationWorkflow
from workflows.models import Actor, Contact, Customer, EscalationRequest, Remedy
from workflows.opening import new_case
from workflows.policy import Policy
from workflows.views import EscalationView

LONDON = ZoneInfo("Europe/London")
AGENT = Actor(id="p-agent", name="Alex Agent", role="agent", authority_limit=50)
SYSTEM = Actor(id="p-system", name="Demo CRM", role="system")
HELPLINE = Actor(id="p-helpline", name="Harper Helpline", role="helpline")
SPECIALIST = Actor(id="p-specialist", name="Sam Specialist", role="specialist", authority_limit=250)
SUPERVISOR = Actor(
    id="p-supervisor", name="Sasha Supervisor", role="supervisor", authority_limit=500
)
MANAGER = Actor(id="p-manager", name="Morgan Manager", role="manager", authority_limit=1000)
EXECUTIVE = Actor(id="p-executive", name="Eve Executive", role="executive", authority_limit=10000)
OPERATOR = Actor(id="p-operator", name="Olu Operator", role="operator")


def request(amount: float | None = 40, kind: str = "refund", **kw) -> EscalationRequest:
    base = dict(
        customer=Customer(
            id="C-1001",
            name="Ada Lovelace",
            contact=Contact(email="ada@example.com", phone="+44 20 7946 0000"),
        ),
        channel="phone",
        category="billing",
        summary="Charged twice for March",
        details="Two identical charges on 3 March",
        trigger="customer_request",
        requested_remedy=Remedy(kind=kind, amount=amount) if amount is not None else None,
        # the demo policy's required billing questions (workflows/capture.py)
        answers={"invoice_number": "INV-2026-0311", "amount_disputed": f"{amount or 0:.2f}"},
    )
    base.update(kw)
    return EscalationRequest(**base)


STARTED: list[WorkflowHandle] = []


async def server_time(client: Client) -> datetime:
    """The server's clock: the time-skipping server's own (it runs ahead), else the wall clock."""
    try:
        resp = await client.test_service.get_current_time(Empty())
        return resp.time.ToDatetime(tzinfo=UTC)
    except RPCError:  # a dev server or cluster: no test service
        return datetime.now(UTC)


def demo_policy(today: date, edit: Callable[[Policy], None] | None = None) -> Policy:
    policy = read_policy(CONFIG_DIR / "policy.toml", today=today)
    if edit is not None:
        edit(policy)
    return policy


async def start(
    client: Client,
    task_queue: str,
    req: EscalationRequest,
    *,
    policy_edit: Callable[[Policy], None] | None = None,
    opened_by: Actor = AGENT,
    **kw,
) -> WorkflowHandle:
    """Open a case as the API does: the demo policy (edited by `policy_edit`) triages it at the
    server's time (workflows.opening.new_case), and the workflow starts with that copy."""
    now = await server_time(client)
    policy = demo_policy(now.date(), policy_edit)
    eid = f"E-{uuid.uuid4().hex[:12].upper()}"
    case = new_case(policy, policy.model_dump(mode="json"), eid, req, opened_by, now, **kw)
    handle = await client.start_workflow(
        EscalationWorkflow.run,
        case.start,
        id=f"escalation-{eid}",
        task_queue=task_queue,
        search_attributes=case.search_attributes(),
    )
    STARTED.append(handle)
    return handle


async def terminate_started() -> None:
    """End what a test left running: on the time-skipping server a workflow whose worker is gone
    would hold time still for every later test."""
    while STARTED:
        handle = STARTED.pop()
        # Let in-flight activities finish first: the test server keeps a terminated workflow's
        # activity tasks outstanding until their timeout, and time cannot skip meanwhile.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            desc = await handle._client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(
                    namespace=handle._client.namespace,
                    execution=WorkflowExecution(workflow_id=handle.id),
                )
            )
            if not desc.pending_activities:
                break
            await asyncio.sleep(0.05)
        try:
            await handle.terminate("test finished")
        except Exception:  # noqa: BLE001 - already completed
            pass


async def wait_for(
    handle: WorkflowHandle, pred: Callable[[EscalationView], bool], timeout: float = 15
) -> EscalationView:
    deadline = time.monotonic() + timeout
    view = None
    while True:
        try:
            view = await handle.query(EscalationWorkflow.state, rpc_timeout=timedelta(seconds=2))
        except RPCError:
            pass  # a query racing a continue-as-new can miss; ask again
        else:
            if pred(view):
                return view
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not reached; last state: {view and view.stage}")
        await asyncio.sleep(0.05)


async def wait_until(pred: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        await asyncio.sleep(0.05)


# The reading of the customer's words runs beside the stages (workflows/escalation/reading.py):
# where its entries fall among the others depends on when the activity answers.
READING = frozenset({"text_read", "text_not_read", "urgency_raised", "threat_noticed"})


async def actions(handle: WorkflowHandle, reading: bool = False) -> list[str]:
    """The timeline's actions, in order; the reading's entries only when `reading`."""
    items = (await handle.query(EscalationWorkflow.timeline)).items
    return [i.action for i in items if reading or i.action not in READING]


def _working_day(d: date) -> bool:
    cal = read_policy(CONFIG_DIR / "policy.toml", today=d).calendars["uk_office"]
    return d.weekday() < 5 and d not in cal.holidays


async def skip_to(env: WorkflowEnvironment, target: datetime) -> None:
    now = await env.get_current_time()
    if target > now:
        await env.sleep(target - now)


async def skip_to_office_hours(env: WorkflowEnvironment) -> datetime:
    """Travel to 10:00 London on the next working Tuesday-Thursday (nobody's quiet hours)."""
    now = (await env.get_current_time()).astimezone(LONDON)
    d = now.date() + timedelta(days=1)
    while not (d.weekday() in (1, 2, 3) and _working_day(d)):
        d += timedelta(days=1)
    target = datetime(d.year, d.month, d.day, 10, tzinfo=LONDON)
    await skip_to(env, target)
    return target


async def skip_to_christmas_eve(env: WorkflowEnvironment) -> datetime:
    """16:00 London on the next 24 December (a holiday stretch follows)."""
    now = (await env.get_current_time()).astimezone(LONDON)
    year = now.year if now < datetime(now.year, 12, 24, 16, tzinfo=LONDON) else now.year + 1
    while not _working_day(date(year, 12, 24)):
        year += 1
    target = datetime(year, 12, 24, 16, tzinfo=LONDON)
    await skip_to(env, target)
    return target


HISTORIES = Path(__file__).parent / "histories"


async def record_history(handle: WorkflowHandle, name: str) -> None:
    """With RECORD_HISTORIES=1, keep this run's history for the replay test (determinism guard).

    Re-record only for a change that running escalations can never meet (guard any other change
    with workflow.patched and keep the old histories)."""
    if os.environ.get("RECORD_HISTORIES") != "1":
        return
    history = await handle.fetch_history()
    HISTORIES.mkdir(exist_ok=True)
    (HISTORIES / f"{name}.json").write_text(history.to_json())
