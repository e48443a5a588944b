"""The Temporal gateway: where the API talks to Temporal about one escalation.

Start a case, query it, run an update on it (lists of cases are `api.visibility`'s). Calls use
the workflow's registered names (type "EscalationWorkflow", queries "state" and "timeline", one
update per `workflows.access.Action`), so the API process never imports the workflow class.
Temporal exceptions become the API's domain errors through `api.temporal_errors`.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import timedelta
from typing import Any, Literal, TypeVar

import structlog
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from api import ended_outside
from api.errors import Conflict, NotFound
from api.temporal_errors import temporal_errors
from workflows.opening import NewCase
from workflows.views import EndedOutside

log = structlog.get_logger("api")

WORKFLOW_TYPE = "EscalationWorkflow"
STATE_QUERY = "state"
TIMELINE_QUERY = "timeline"
FACTS_QUERY = "facts"
HANDOVER_QUERY = "handover"
QUERY_TIMEOUT_S = 10.0
UPDATE_TIMEOUT_S = 30.0
START_TIMEOUT_S = 10.0
COUNT_TIMEOUT_S = 15.0
ID_RE = re.compile(r"^E-[0-9A-Za-z-]{1,64}$")
# Visibility filter values: no quotes, backslashes or control characters (never escaped, refused)
SAFE_VALUE = r"^[^'\"\\\x00-\x1f]{1,128}$"

Idempotency = Literal["header", "external_ref", "none"]
T = TypeVar("T")


def rpc_timeout(s: float) -> timedelta:
    return timedelta(seconds=s)


# Milliseconds this request waited on Temporal (summed over its calls, concurrent ones too):
# the API's Server-Timing header says it beside the request's own time (api/main.py).
TEMPORAL_MS: ContextVar[list[float] | None] = ContextVar("temporal_ms", default=None)


async def bounded(call: Awaitable[T], timeout_s: float) -> T:
    """Await a call that already carries an RPC timeout, with a second, local bound just after."""
    start = time.perf_counter()
    try:
        return await asyncio.wait_for(call, timeout_s + 1)
    finally:
        if (spent := TEMPORAL_MS.get()) is not None:
            spent[0] += (time.perf_counter() - start) * 1000


# --- ids ----------------------------------------------------------------------------------------


def workflow_id(escalation_id: str) -> str:
    return f"escalation-{escalation_id}"


def checked_id(escalation_id: str) -> str:
    if not ID_RE.match(escalation_id):
        raise NotFound(f"No escalation {escalation_id[:80]}.")
    return escalation_id


def escalation_id_for(key: str | None, caller: str) -> str:
    """Deterministic for a caller's idempotency key (E- + 16 upper-case hex of the SHA-256 of
    `<caller person id>` NUL `<key>`), else random. The caller is part of it so nobody can
    pre-create a case under the key another caller (a CRM) will use."""
    if key is None:
        return "E-" + secrets.token_hex(8).upper()
    return "E-" + hashlib.sha256(f"{caller}\x00{key}".encode()).hexdigest()[:16].upper()


def handle_for(client: Client, escalation_id: str) -> WorkflowHandle[Any, Any]:
    """The workflow of an escalation id (404 for an id this API never hands out)."""
    return client.get_workflow_handle(workflow_id(checked_id(escalation_id)))


# --- start --------------------------------------------------------------------------------------


def opening_memo(case: NewCase, idempotency: Idempotency = "none") -> dict[str, Any]:
    """The memo a case starts with: what the list shows without a query, and the request's hash
    that tells a retry from a different request under the same key."""
    start = case.start
    return {
        "customer_name": start.request.customer.name,
        "summary": start.request.summary,
        "request_sha256": hashlib.sha256(start.request.model_dump_json().encode()).hexdigest(),
        "idempotency": idempotency,
        "opened_at": start.opened_at.isoformat(),
        "opened_by": start.opened_by.id,
    }


async def start_case(
    client: Client,
    task_queue: str,
    case: NewCase,
    memo: dict[str, Any] | None = None,
    *,
    refuse_other_request: bool = False,
) -> tuple[WorkflowHandle[Any, Any], bool]:
    """Start the workflow of a new case: (handle, True), or (handle, False) when a workflow with
    its id was started before (a retry; never a second workflow, even after the case closed).

    `memo` defaults to `opening_memo(case)`. With `refuse_other_request`, an existing case whose
    memo holds another request's hash is a Conflict (an idempotency key or `external_ref`
    re-used for a new case).
    """
    escalation_id = case.start.id
    memo = memo if memo is not None else opening_memo(case)
    request = case.start.request
    async with temporal_errors(escalation_id):
        try:
            handle = await bounded(
                client.start_workflow(
                    WORKFLOW_TYPE,
                    case.start,
                    id=workflow_id(escalation_id),
                    task_queue=task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    memo=memo,
                    search_attributes=case.search_attributes(),
                    static_summary=f"{request.customer.name}: {request.summary}"[:200],
                    rpc_timeout=rpc_timeout(START_TIMEOUT_S),
                ),
                START_TIMEOUT_S,
            )
            return handle, True
        except WorkflowAlreadyStartedError:
            handle = client.get_workflow_handle(workflow_id(escalation_id))
            if refuse_other_request:
                desc = await bounded(
                    handle.describe(rpc_timeout=rpc_timeout(QUERY_TIMEOUT_S)), QUERY_TIMEOUT_S
                )
                first = (await desc.memo()).get("request_sha256")
                if first not in (None, memo.get("request_sha256")):
                    raise Conflict(
                        "This Idempotency-Key (or external_ref) was already used to open a "
                        f"different escalation ({escalation_id}); use a new key for a new "
                        "escalation."
                    ) from None
            return handle, False


# --- queries and updates ------------------------------------------------------------------------


async def query(
    client: Client,
    escalation_id: str,
    name: str,
    result_type: type[T],
    seen_ended: Callable[[T, EndedOutside | None], T] | None = None,
) -> T:
    """The answer of the case's workflow query `name`. With `seen_ended`, how the run ended
    outside the process is read beside it (one bound, and one Server-Timing share, for the pair:
    they run side by side) and `seen_ended` folds that into the answer."""
    handle = handle_for(client, escalation_id)
    timeout = rpc_timeout(QUERY_TIMEOUT_S)
    async with temporal_errors(escalation_id):
        asked = handle.query(name, result_type=result_type, rpc_timeout=timeout)
        if seen_ended is None:
            return await bounded(asked, QUERY_TIMEOUT_S)
        answer, ended = await bounded(
            asyncio.gather(asked, ended_outside.ended_outside(client, handle, timeout)),
            QUERY_TIMEOUT_S,
        )
    return seen_ended(answer, ended)
