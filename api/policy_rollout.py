"""/policy/versions/{version}/migrate and /simulations: rolling a version out to the cases in
flight, and judging it beforehand on the recorded cases (issue 25). The drafts, the review and the
go-live are in api/policy_versions.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from temporalio.client import Client

from api import policy_gateway, visibility
from api.auth import CurrentPerson, access_doc, actor_of, refuse_unless_allowed, require
from api.deps import AppSettings, TemporalClient
from api.errors import Conflict, Invalid, NotFound
from api.policy_versions import Store, call_store, store_of
from api.schemas import error_responses
from core.directory import DirectoryEntry
from core.policy import parse_policy
from core.report_store import ReportStore
from core.report_store.policies import PolicyVersions
from workflows.access import ACCESS, Action
from workflows.escalation.migration import PolicyMigration
from workflows.policy_change.models import SimulationStart, StoredVersion
from workflows.policy_change.models import VersionState as S

router = APIRouter(prefix="/policy/versions", tags=["policy"])


class MigrationRequest(BaseModel):
    """Which cases in flight move to the version: the filters of `GET /escalations` (AND)."""

    stage: str | None = Field(None, examples=["specialist"])
    severity: Literal["P1", "P2", "P3", "P4"] | None = Field(None, description="Severity")
    customer_id: str | None = Field(None, description="Customer id", examples=["C-1001"])
    assignee: str | None = Field(None, description="Assignee (person id)")
    assigned_team: str | None = Field(None, description="Assigned specialist team")
    trigger: str | None = Field(None, description="Trigger", examples=["legal_threat"])
    breached: bool | None = Field(None, description="Cases with (true) or without a breach")
    limit: int = Field(100, ge=1, le=500, description="At most this many cases per call")
    reason: str = Field("", max_length=2000, examples=["P2 resolution target raised to 20 h"])


class MigrationRefusal(BaseModel):
    id: str = Field(description="Escalation id", examples=["E-3F2A9C0B7D1E4A55"])
    error: str = Field(examples=["conflict"])
    detail: str = Field(examples=["its stage specialist is with team x, which version y lacks"])


class MigrationResult(BaseModel):
    version: str = Field(description="The version the cases moved to", examples=["2026.12"])
    migrated: list[str] = Field(description="Ids of the cases now under the version")
    refused: list[MigrationRefusal] = Field(description="Cases left as they were, and why")
    more: bool = Field(description="More open cases matched than `limit`: call again")


Migrator = Annotated[DirectoryEntry, Depends(require(Action.MIGRATE_POLICY))]


@router.post(
    "/{version}/migrate",
    response_model=MigrationResult,
    summary="Move cases in flight to the live version",
    description=f"**Who:** {', '.join(ACCESS[Action.MIGRATE_POLICY].roles)}.\n\nCases keep "
    "the version they were opened under unless moved here. Each open case matching the filters "
    "(and not under this version already) gets the `migrate_policy` update: its SLA clocks keep "
    "the business time already used and are re-targeted under this version; the move is on its "
    "timeline. A case whose stage does not exist in this version (its team, its approval's "
    "authority level or a clock's calendar is missing) is refused with the reason and left as "
    "it was. Only the live version is a target.",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
async def migrate(
    version: str,
    body: MigrationRequest,
    person: Migrator,
    store: Store,
    client: TemporalClient,
) -> MigrationResult:
    return await migrate_cases(store, client, person, version, body)


async def migrate_cases(
    store: PolicyVersions,
    client: Client,
    person: DirectoryEntry,
    version: str,
    body: MigrationRequest,
) -> MigrationResult:
    """Move the open cases matching the filters to the live `version` (the API and the console)."""
    refuse_unless_allowed(Action.MIGRATE_POLICY, person)
    row: StoredVersion = await call_store(store.get, version)
    if row.state != S.LIVE:
        raise Conflict(f"Version {version} is {row.state}; cases move only to the live version.")
    policy = await asyncio.to_thread(parse_policy, row.text or "")
    clauses = visibility.filter_clauses(
        stage=body.stage,
        severity=body.severity,
        customer_id=body.customer_id,
        assignee=body.assignee,
        assigned_team=body.assigned_team,
        trigger=body.trigger,
        breached=body.breached,
    )
    clauses.append(policy_gateway.other_version_clause(version))
    arg = PolicyMigration(
        actor=actor_of(person), policy=policy.model_dump(mode="json"), reason=body.reason
    )
    moved, refused, more = await policy_gateway.migrate_cases(
        client, clauses, body.limit, arg, person.id
    )
    return MigrationResult(
        version=version,
        migrated=sorted(moved),
        refused=[MigrationRefusal(id=i, error=e.kind, detail=e.detail) for i, e in refused],
        more=more,
    )


class SimulationRequest(BaseModel):
    since: datetime = Field(
        description="Replay the cases opened from here (ISO 8601)",
        examples=["2026-11-02T00:00:00Z"],
    )
    until: datetime = Field(
        description="... up to here (excluded)", examples=["2026-11-09T00:00:00Z"]
    )


class SimulationView(BaseModel):
    id: str = Field(description="The simulation's id")
    version: str = Field(description="The version simulated", examples=["2026.12"])
    against: str = Field(description="The live version it is compared with")
    since: datetime = Field(description="Cases opened from here ...")
    until: datetime = Field(description="... up to here (excluded)")
    state: Literal["running", "done", "failed"] = Field(description="running, done or failed")
    cases_done: int = Field(description="Cases replayed so far (under both versions)")
    report: dict[str, Any] | None = Field(
        None,
        description="When done: `live` and `draft` figures side by side (SLA met, breached and "
        "compliance per clock, team and severity; breaches; resolved at each tier; sign-offs per "
        "authority level; goodwill granted; peak open cases per team; `unknowable` cases) and "
        "`cannot_know`: what a replay of recorded human actions cannot know",
    )
    requested_by: str = Field(description="Person id of who started it")
    started_at: datetime = Field(description="When it started")
    finished_at: datetime | None = Field(None, description="When it finished")


Simulator = Annotated[DirectoryEntry, Depends(require(Action.POLICY_SIMULATE))]


@router.post(
    "/{version}/simulations",
    response_model=SimulationView,
    status_code=202,
    summary="Simulate a version against the live one",
    description=f"{access_doc(Action.POLICY_SIMULATE)}\n\nReplays the recorded cases opened in "
    "`[since, until)` (their openings and the recorded times of every human action) under this "
    "version and under the live one, with the workflow's own rules "
    "(docs/decisions/0051-policy-simulator.md). Answers at once with the simulation's id; "
    "`GET /policy/versions/{version}/simulations/{id}` reads its progress and report. The "
    "latest report is attached to the version (`GET /policy/versions/{version}`), so approvers "
    "decide on figures.",
    responses=error_responses(401, 403, 404, 422, 503),
)
async def simulate(
    version: str,
    body: SimulationRequest,
    person: Simulator,
    request: Request,
    client: TemporalClient,
    settings: AppSettings,
) -> SimulationView:
    doc = await start_simulation(
        store_of(request), client, settings.task_queue, person, version, body.since, body.until
    )
    return SimulationView.model_validate(doc)


async def start_simulation(
    rs: ReportStore,
    client: Client,
    task_queue: str,
    person: DirectoryEntry,
    version: str,
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    """Start a simulation of `version` against the live one over [since, until): its stored
    row (state running), which the simulation fills in with progress and the report."""
    refuse_unless_allowed(Action.POLICY_SIMULATE, person)
    await call_store(rs.policies.get, version)
    live = await call_store(rs.policies.live)
    if live is None:
        raise Conflict("No version is live to compare with.")
    if since.tzinfo is None or until.tzinfo is None or until <= since:
        raise Invalid("since, until: times with a zone, since before until")
    sim_id = uuid.uuid4().hex[:16]
    sims = rs.simulations
    await call_store(
        sims.create, sim_id, version, live.version, since, until, person.id, datetime.now(UTC)
    )
    start = SimulationStart(
        id=sim_id, version=version, against=live.version, since=since, until=until
    )
    await policy_gateway.start_simulation(client, task_queue, start)
    doc: dict[str, Any] = await call_store(sims.get, sim_id)
    return doc


@router.get(
    "/{version}/simulations/{simulation_id}",
    response_model=SimulationView,
    summary="A simulation's progress and report",
    description=f"{access_doc(Action.READ)}",
    responses=error_responses(401, 404),
)
async def get_simulation(
    version: str, simulation_id: str, _: CurrentPerson, request: Request
) -> SimulationView:
    doc = await call_store(store_of(request).simulations.get, simulation_id)
    if doc["version"] != version:
        raise NotFound(f"No simulation {simulation_id!r} of version {version}.")
    return SimulationView.model_validate(doc)
