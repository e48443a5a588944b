"""Listing escalations from Temporal's visibility store: the list's filters as a visibility
query, pages of results, counts, and each result read as an `EscalationSummary` (search
attributes and the memo's few listed fields, never a query to the workflow)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from temporalio.api.workflowservice.v1 import ListWorkflowExecutionsRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from api import ended_outside
from api.cases.schemas import EscalationPage, EscalationSummary
from api.errors import Invalid
from api.gateway import (
    COUNT_TIMEOUT_S,
    QUERY_TIMEOUT_S,
    SAFE_VALUE,
    WORKFLOW_TYPE,
    bounded,
    log,
    rpc_timeout,
)
from api.temporal_errors import temporal_errors
from workflows import search_attributes as sa
from workflows.access import APPROVER_ROLES
from workflows.stages import Stage

T = TypeVar("T")


def quoted(value: str) -> str:
    # SAFE_VALUE already refused quotes and backslashes; this is a second line of defence.
    if not re.match(SAFE_VALUE, value):
        raise Invalid("filter values may not contain quotes, backslashes or control characters")
    return f"'{value}'"


def visibility_query(clauses: list[str]) -> str:
    base = [f"WorkflowType = '{WORKFLOW_TYPE}'", "ExecutionStatus != 'ContinuedAsNew'"]
    return " AND ".join(base + clauses)


def filter_clauses(
    *,
    stage: str | None = None,
    severity: str | None = None,
    customer_id: str | None = None,
    breached: bool | None = None,
    assignee: str | None = None,
    assigned_team: str | None = None,
    trigger: str | None = None,
    status: Literal["open", "ended"] | None = None,
    attention: str | None = None,
) -> list[str]:
    """The visibility clauses of the list's filters (combined with AND)."""
    clauses: list[str] = []
    if stage == Stage.TERMINATED:  # never a search attribute: the workflow's status says it
        clauses.append(ended_outside.VISIBILITY_CLAUSE)
        stage = None
    for name, value in (
        ("EscalationStage", stage),
        ("Severity", severity),
        ("CustomerId", customer_id),
        ("Assignee", assignee),
        ("AssignedTeam", assigned_team),
        ("Trigger", trigger),
        ("Attention", attention),  # a keyword list: `=` asks whether it holds the value
    ):
        if value is not None:
            clauses.append(f"`{name}` = {quoted(value)}")  # backticks: `Trigger` is an SQL word
    if breached is True:
        clauses.append("`SlaBreached` = true")
    elif breached is False:
        clauses.append("(`SlaBreached` = false OR `SlaBreached` IS NULL)")
    if status == "open":
        clauses.append(OPEN)
    elif status == "ended":
        clauses.append("ExecutionStatus != 'Running'")
    return clauses


def decode_page_token(token: str | None) -> bytes:
    if not token:
        return b""
    try:
        return base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("page_token: not a token this API handed out") from None


def encode_page_token(token: bytes) -> str | None:
    return base64.urlsafe_b64encode(token).decode().rstrip("=") if token else None


# "Open" is asked as `CloseTime IS NULL`: the SQL visibility's planner then uses the index of
# the query's other attribute (a stage, an assignee), where `ExecutionStatus = 'Running'` made it
# walk every running workflow (decision 0021). A server that refuses it gets the status clause,
# remembered per process.
OPEN = "CloseTime IS NULL"
RUNNING = "ExecutionStatus = 'Running'"
_open_clause = {"supported": True}


async def _open_fallback(run: Callable[[str], Awaitable[T]], query: str) -> T:
    if OPEN in query and _open_clause["supported"]:
        try:
            return await run(query)
        except RPCError as e:
            said = e.message.lower()
            if e.status != RPCStatusCode.INVALID_ARGUMENT or not (
                "closetime" in said or "null" in said
            ):
                raise
            _open_clause["supported"] = False
            log.info("visibility_without_close_time_is_null", reason=e.message)
    return await run(query.replace(OPEN, RUNNING))


# Advanced visibility (Elasticsearch, Temporal Cloud) takes ORDER BY; the SQL visibility of the
# dev server and of SQL-backed clusters refuses it, and already lists running workflows first,
# newest first (then closed ones by close time). Remembered per process after the first refusal.
_order_by = {"supported": True}


async def list_page(client: Client, query: str, page_size: int, token: bytes) -> Any:
    """One page of visibility results, newest first; raw WorkflowExecutionInfo protos."""

    async def call(q: str) -> Any:
        return await bounded(
            client.workflow_service.list_workflow_executions(
                ListWorkflowExecutionsRequest(
                    namespace=client.namespace, page_size=page_size, next_page_token=token, query=q
                ),
                timeout=rpc_timeout(QUERY_TIMEOUT_S),
            ),
            QUERY_TIMEOUT_S,
        )

    async def ordered(q: str) -> Any:
        if _order_by["supported"]:
            try:
                return await call(q + " ORDER BY StartTime DESC")
            except RPCError as e:
                if (
                    e.status != RPCStatusCode.INVALID_ARGUMENT
                    or "order by" not in e.message.lower()
                ):
                    raise
                _order_by["supported"] = False
                log.info("visibility_without_order_by", reason=e.message)
        return await call(q)

    return await _open_fallback(ordered, query)


async def count(client: Client, query: str) -> int:
    """How many workflows match a visibility query."""

    async def run(q: str) -> Any:
        return await client.count_workflows(q, rpc_timeout=rpc_timeout(COUNT_TIMEOUT_S))

    return (await _open_fallback(run, query)).count


async def decode_memo(client: Client, info: Any, names: tuple[str, ...] = ()) -> dict[str, Any]:
    """The memo's fields (only `names`, if given), decoded by the client's converter and codec."""
    fields = info.memo.fields
    wanted = [n for n in (names or fields.keys()) if n in fields]
    try:
        values = await client.data_converter.decode([fields[n] for n in wanted])
        return dict(zip(wanted, values, strict=True))
    except Exception:  # noqa: BLE001 - one field we cannot read: read them one by one
        pass
    out: dict[str, Any] = {}
    for name in wanted:
        try:
            [out[name]] = await client.data_converter.decode([fields[name]])
        except Exception:  # noqa: BLE001 - a memo we cannot read is left out, not a failure
            continue
    return out


def plain_attributes(proto: Any) -> dict[str, Any]:
    """Search attributes by name, read from their JSON payloads as the list needs them (the
    SDK's typed decoder looks each key up by a linear search: about a millisecond a case, most
    of a 50-case inbox's own time). As the SDK does, a one-item list of a single-valued type is
    its item, and a time is parsed."""
    out: dict[str, Any] = {}
    for name, payload in proto.indexed_fields.items():
        kind = payload.metadata.get("type", b"")
        try:
            value = json.loads(payload.data)
            if isinstance(value, list) and kind != b"KeywordList":
                [value] = value
            if kind == b"Datetime":
                value = datetime.fromisoformat(value)
        except (ValueError, TypeError):
            continue
        out[name] = value
    return out


LIST_MEMO = ("customer_name", "summary", "opened_at")


def _iso(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


async def summary_of(client: Client, info: Any) -> EscalationSummary:
    attrs = plain_attributes(info.search_attributes)
    memo = await decode_memo(client, info, LIST_MEMO)
    wid = info.execution.workflow_id
    stage = attrs.get(sa.STAGE.name)
    if info.status and WorkflowExecutionStatus(info.status) in ended_outside.OUTSIDE:
        stage = Stage.TERMINATED.value  # ended outside the process (api/ended_outside.py)
    return EscalationSummary(
        id=wid.removeprefix("escalation-"),
        stage=stage,
        severity=attrs.get(sa.SEVERITY.name),
        customer_id=attrs.get(sa.CUSTOMER_ID.name),
        customer_tier=attrs.get(sa.CUSTOMER_TIER.name),
        customer_name=memo.get("customer_name"),
        summary=memo.get("summary"),
        trigger=attrs.get(sa.TRIGGER.name),
        avoidable=attrs.get(sa.AVOIDABLE.name),
        assigned_team=attrs.get(sa.ASSIGNED_TEAM.name),
        assignee=attrs.get(sa.ASSIGNEE.name),
        sla_due_at=attrs.get(sa.SLA_DUE_AT.name),
        sla_breached=attrs.get(sa.SLA_BREACHED.name),
        resolved_at_tier=attrs.get(sa.RESOLVED_AT_TIER.name),
        policy_version=attrs.get(sa.POLICY_VERSION.name),
        channel=attrs.get(sa.CHANNEL.name),
        opened_at=_iso(memo.get("opened_at"))
        or (info.start_time.ToDatetime(tzinfo=UTC) if info.HasField("start_time") else None),
        closed_at=info.close_time.ToDatetime(tzinfo=UTC) if info.HasField("close_time") else None,
        status=WorkflowExecutionStatus(info.status).name.lower() if info.status else "unknown",
        pending_level=_level_name(attrs.get(sa.PENDING_LEVEL.name)),
        pending_authority=attrs.get(sa.PENDING_AUTHORITY.name),
        attention=list(attrs.get(sa.ATTENTION.name) or []),
    )


def _level_name(rank: int | None) -> str | None:
    return None if rank is None or not 0 <= rank < len(APPROVER_ROLES) else APPROVER_ROLES[rank]


async def list_cases(
    client: Client, clauses: list[str], page_size: int, page_token: str | None
) -> EscalationPage:
    """One page of escalations matching `clauses`, newest first."""
    token_bytes = decode_page_token(page_token)
    async with temporal_errors():
        try:
            resp = await list_page(client, visibility_query(clauses), page_size, token_bytes)
        except RPCError as e:
            # A token we did not hand out (or one from another query) is refused by the
            # visibility store as INVALID_ARGUMENT, or by the dev server's SQL store as UNKNOWN
            # ("invalid character ... looking for beginning of value"): bad input, not an outage.
            if token_bytes and e.status in (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.UNKNOWN):
                raise Invalid(
                    "page_token: not a token this API handed out for this query, or "
                    "it has expired; start again without page_token"
                ) from None
            raise
    items = [await summary_of(client, info) for info in resp.executions]
    return EscalationPage(items=items, next_page_token=encode_page_token(resp.next_page_token))
