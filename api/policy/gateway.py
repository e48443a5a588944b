"""The policy change process's calls to Temporal (issue 25): each version's `PolicyChangeWorkflow`,
the simulations, and moving open cases to a version. Same bounds and error mapping as the case
calls in api.gateway."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from api.cases.service import run_update
from api.errors import Conflict, DomainError
from api.gateway import (
    QUERY_TIMEOUT_S,
    START_TIMEOUT_S,
    UPDATE_TIMEOUT_S,
    bounded,
    log,
    rpc_timeout,
)
from api.temporal_errors import temporal_errors
from api.visibility import OPEN, list_cases, quoted
from workflows.access import Action
from workflows.policy_change.models import ChangeStart, ChangeStatus, SimulationStart

POLICY_CHANGE_TYPE = "PolicyChangeWorkflow"
POLICY_STATUS_QUERY = "status"


def policy_change_id(version: str) -> str:
    return f"policy-change-{version}"


async def start_policy_change(client: Client, task_queue: str, start: ChangeStart) -> bool:
    """Start the change workflow of a version: True, or False when it was started before (a
    retry: never a second review of the same version)."""
    async with temporal_errors():
        try:
            await bounded(
                client.start_workflow(
                    POLICY_CHANGE_TYPE,
                    start,
                    id=policy_change_id(start.version),
                    task_queue=task_queue,
                    id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
                    id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                    static_summary=f"policy {start.version}: {start.note}"[:200],
                    rpc_timeout=rpc_timeout(START_TIMEOUT_S),
                ),
                START_TIMEOUT_S,
            )
            return True
        except WorkflowAlreadyStartedError:
            return False


async def policy_change_status(client: Client, version: str) -> ChangeStatus:
    handle = client.get_workflow_handle(policy_change_id(version))
    async with temporal_errors():
        return await bounded(
            handle.query(
                POLICY_STATUS_QUERY,
                result_type=ChangeStatus,
                rpc_timeout=rpc_timeout(QUERY_TIMEOUT_S),
            ),
            QUERY_TIMEOUT_S,
        )


async def policy_change_update(
    client: Client, version: str, update: str, arg: Any, by: str, idempotency_key: str | None
) -> ChangeStatus:
    """Run an update of a version's change workflow (`decide_change`, `schedule_change`); a
    retry with the same person and key is applied once."""
    handle = client.get_workflow_handle(policy_change_id(version))
    update_id = None
    if idempotency_key:
        digest = hashlib.sha256(f"{by}\x00{idempotency_key}".encode()).hexdigest()[:32]
        update_id = f"{update}-{digest}"
    async with temporal_errors():
        try:
            status = await bounded(
                handle.execute_update(
                    update,
                    arg,
                    id=update_id,
                    result_type=ChangeStatus,
                    rpc_timeout=rpc_timeout(UPDATE_TIMEOUT_S),
                ),
                UPDATE_TIMEOUT_S,
            )
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
            # the store knew the change; its workflow has ended (live or rejected) meanwhile
            raise Conflict(
                f"The change of version {version} is over; it takes no more actions."
            ) from None
    log.info("policy_change_action", version=version, action=update, by=by)
    return status


async def migrate_cases(
    client: Client, clauses: list[str], limit: int, arg: Any, by: str
) -> tuple[list[str], list[tuple[str, DomainError]], bool]:
    """Run `migrate_policy` on the open cases matching `clauses` (at most `limit`, a few at a
    time): (moved ids, refused ids with the refusal, whether more cases matched)."""
    page = await list_cases(client, [*clauses, OPEN], limit, None)
    moved: list[str] = []
    refused: list[tuple[str, DomainError]] = []
    gate = asyncio.Semaphore(8)

    async def one(escalation_id: str) -> None:
        async with gate:
            try:
                await run_update(client, escalation_id, Action.MIGRATE_POLICY, arg, by, None)
                moved.append(escalation_id)
            except DomainError as e:
                refused.append((escalation_id, e))

    await asyncio.gather(*(one(item.id) for item in page.items))
    return moved, refused, page.next_page_token is not None


def other_version_clause(version: str) -> str:
    return f"`PolicyVersion` != {quoted(version)}"


async def start_simulation(client: Client, task_queue: str, start: SimulationStart) -> None:
    async with temporal_errors():
        await bounded(
            client.start_workflow(
                "SimulationWorkflow",
                start,
                id=f"policy-simulation-{start.id}",
                task_queue=task_queue,
                static_summary=f"simulate policy {start.version} against {start.against}",
                rpc_timeout=rpc_timeout(START_TIMEOUT_S),
            ),
            START_TIMEOUT_S,
        )
