"""What the API asks of one case, called by the cases router (api/cases/router.py), the
console's case pages and the other domains' services alike: its live state, timeline, handover
packet and facts (the workflow's queries), and an action (its update). The mechanics of talking
to Temporal (ids, bounds, starting a case, the one query helper) are the gateway's
(api/gateway.py)."""

from __future__ import annotations

import hashlib
from typing import Any

import structlog
from temporalio.client import Client

from api import ended_outside
from api.gateway import (
    FACTS_QUERY,
    HANDOVER_QUERY,
    STATE_QUERY,
    TIMELINE_QUERY,
    UPDATE_TIMEOUT_S,
    bounded,
    handle_for,
    query,
    rpc_timeout,
)
from api.temporal_errors import temporal_errors
from workflows.access import Action
from workflows.messages import CaseFacts
from workflows.views import EscalationView, Handover, Timeline

log = structlog.get_logger("api")


async def query_state(client: Client, escalation_id: str) -> EscalationView:
    """The live state; a case ended outside the process shows as stage `terminated`."""
    return await query(client, escalation_id, STATE_QUERY, EscalationView, ended_outside.state)


async def query_timeline(client: Client, escalation_id: str) -> Timeline:
    """The timeline; a case ended outside the process ends with that entry."""
    return await query(client, escalation_id, TIMELINE_QUERY, Timeline, ended_outside.timeline)


async def query_facts(client: Client, escalation_id: str) -> CaseFacts:
    """The case's facts for the report store (its rebuild; the same snapshot the worker
    writes)."""
    return await query(client, escalation_id, FACTS_QUERY, CaseFacts)


async def query_handover(client: Client, escalation_id: str) -> Handover:
    return await query(client, escalation_id, HANDOVER_QUERY, Handover)


async def run_update(
    client: Client,
    escalation_id: str,
    action: Action,
    arg: Any,
    by: str,
    idempotency_key: str | None,
) -> EscalationView:
    """Run the workflow update of `action` for person `by`; its result is the escalation after
    the action. A retry with the same person and key gets the same update id, so it is applied
    once and answers the first result."""
    handle = handle_for(client, escalation_id)
    update_id = None
    if idempotency_key:
        digest = hashlib.sha256(f"{by}\x00{idempotency_key}".encode()).hexdigest()[:32]
        update_id = f"{action.value}-{digest}"
    async with temporal_errors(escalation_id):
        view = await bounded(
            handle.execute_update(
                action.value,
                arg,
                id=update_id,
                result_type=EscalationView,
                rpc_timeout=rpc_timeout(UPDATE_TIMEOUT_S),
            ),
            UPDATE_TIMEOUT_S,
        )
    log.info("escalation_action", escalation_id=escalation_id, action=action.value, by=by)
    return view
