"""The policy domain's work, called by its router (api/policy/router.py) and by the console's
policy pages (api/console/policy.py) alike: the policy in force, the stored versions and their
change process (draft, propose, decide, schedule; issue 25), the roll-out to cases in flight
and the simulations. Each function that changes something checks the caller's role against the
access table itself, so both callers refuse the same way."""

from __future__ import annotations

import asyncio
import difflib
import re
import tomllib
import uuid
from datetime import UTC, datetime
from typing import Any, Literal

import structlog
from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError
from temporalio.client import Client

from api import visibility
from api.auth import actor_of, refuse_unless_allowed
from api.errors import Conflict, Invalid, NotFound, Unavailable
from api.policy import gateway as policy_gateway
from api.policy.schemas import MigrationRefusal, MigrationRequest, MigrationResult, VersionDetail
from core.directory import DirectoryEntry
from core.policy import LivePolicy, PolicyTextError, parse_policy
from core.report_store import ReportStore
from core.report_store.policies import (
    PolicyStoreError,
    PolicyVersions,
    StateConflict,
    VersionNotFound,
    VersionReused,
)
from workflows.access import Action
from workflows.escalation.migration import PolicyMigration
from workflows.policy import Policy
from workflows.policy_change.models import (
    ChangeDecision,
    ChangeSchedule,
    ChangeStart,
    ChangeStatus,
    SimulationStart,
    StoredVersion,
)
from workflows.policy_change.models import VersionState as S

log = structlog.get_logger("api")

VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")


async def policy_with_json(policy_file: LivePolicy) -> tuple[Policy, dict]:
    """The policy new cases open under (the store's live version), or 503."""
    try:
        return await asyncio.to_thread(policy_file.get_with_json)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        log.error("policy_invalid", path=str(policy_file.path), error=str(e)[:500])
        raise Unavailable(
            f"The policy in force is invalid ({where}: {first['msg']}); an operator has to fix "
            "it. No case was started."
        ) from e
    except (OSError, ValueError, SQLAlchemyError) as e:
        log.error("policy_unreadable", path=str(policy_file.path), error=str(e)[:500])
        raise Unavailable(
            "The policy in force cannot be read right now; an operator has to fix it."
        ) from e


def store_of(request: Request) -> ReportStore:
    return request.app.state.report_store


async def call_store(fn, *args):
    """A store call in a thread; its refusals as the API's errors."""
    try:
        return await asyncio.to_thread(fn, *args)
    except VersionNotFound as e:
        raise NotFound(str(e)) from e
    except (VersionReused, StateConflict) as e:
        raise Conflict(str(e)) from e
    except PolicyStoreError as e:
        raise Conflict(str(e)) from e


def _checked(text: str) -> str:
    """The policy `version` of a valid text, else 422 naming the field."""
    try:
        policy = parse_policy(text)
    except PolicyTextError as e:  # too big, too deep, or holidays the package cannot give
        raise Invalid(str(e)) from e
    except tomllib.TOMLDecodeError as e:
        raise Invalid(f"text: not valid TOML ({e})") from e
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        raise Invalid(f"text.{where}: {first['msg']}") from e
    if not VERSION_RE.match(policy.version):
        raise Invalid("text.version: letters, digits, '.', '_' and '-' only (at most 64)")
    return policy.version


def _future(at: datetime | None) -> datetime | None:
    if at is None:
        return None
    if at.tzinfo is None:
        raise Invalid("go_live_at: give a time zone (e.g. Z)")
    if at < datetime.now(UTC):
        raise Invalid("go_live_at: in the past; leave it null for 'at once'")
    return at


async def detail_of(
    rs: ReportStore, client: Client, version: str, against: str | None = None
) -> VersionDetail:
    """A version, its diff against `against` (default: the live one), its change and its latest
    simulation report (the API's GET and the console's page)."""
    store = rs.policies
    row: StoredVersion = await call_store(store.get, version)
    if against is None:
        live = await call_store(store.live)
        against = row.based_on if live is None or live.version == version else live.version
    diff = ""
    if against is not None and against != version:
        other: StoredVersion = await call_store(store.get, against)
        diff = "".join(
            difflib.unified_diff(
                (other.text or "").splitlines(keepends=True),
                (row.text or "").splitlines(keepends=True),
                fromfile=f"policy {against}",
                tofile=f"policy {version}",
            )
        )
    change = None
    if row.change_id is not None:
        try:
            change = await policy_gateway.policy_change_status(client, version)
        except NotFound:
            if row.state != S.DRAFT:
                raise
            # claimed, but its workflow never started (Temporal away): proposing again starts it
    simulation = await call_store(rs.simulations.latest, version)
    return VersionDetail(
        version=row, against=against, diff=diff, change=change, simulation=simulation
    )


async def write_draft(
    store: PolicyVersions, person: DirectoryEntry, text: str, note: str
) -> StoredVersion:
    """A new draft against the live version: 403 for roles that do not draft, 422 for a text that
    is no policy (naming the field), 409 for a version number already used."""
    refuse_unless_allowed(Action.POLICY_PROPOSE, person)
    version = _checked(text)
    live = await call_store(store.live)
    return await call_store(
        store.create_draft,
        version,
        text,
        person.id,
        note,
        live.version if live else None,
        datetime.now(UTC),
    )


async def edit_draft(
    store: PolicyVersions, version: str, text: str, note: str | None
) -> StoredVersion:
    """A draft's new text (and note): 422 for a text that is no policy, 409 once proposed."""
    new_version = _checked(text)
    return await call_store(store.edit_draft, version, new_version, text, note, datetime.now(UTC))


async def propose_draft(
    store: PolicyVersions,
    client: Client,
    task_queue: str,
    live_policy: LivePolicy,
    person: DirectoryEntry,
    version: str,
    go_live_at: datetime | None,
) -> ChangeStatus:
    """Start the draft's change workflow with the approvers the live policy names (a retry
    answers the same change)."""
    refuse_unless_allowed(Action.POLICY_PROPOSE, person)
    row: StoredVersion = await call_store(store.get, version)
    if row.state != S.DRAFT and row.change_id is None:
        raise Conflict(f"Version {version} is {row.state}; only a draft is proposed.")
    if row.state == S.DRAFT:
        live, _ = await policy_with_json(live_policy)
        start = ChangeStart(
            version=version,
            proposer=actor_of(person),
            author=row.author,
            note=row.note,
            approvers=list(live.change.approvers),
            go_live_at=_future(go_live_at),
            reminder_every_h=live.change.reminder_every_h,
        )
        change_id = policy_gateway.policy_change_id(version)
        await call_store(store.claim_change, version, change_id, datetime.now(UTC))
        await policy_gateway.start_policy_change(client, task_queue, start)
    return await policy_gateway.policy_change_status(client, version)


async def decide_change(
    store: PolicyVersions,
    client: Client,
    person: DirectoryEntry,
    version: str,
    decision: Literal["approve", "reject"],
    comment: str,
    idempotency_key: str | None = None,
) -> ChangeStatus:
    """An approver's decision; the change workflow's validator refuses roles the live policy does
    not name (403) and a second decision (409), leaving no trace."""
    refuse_unless_allowed(Action.POLICY_APPROVE, person)
    row = await _proposed(store, version)
    if row.state not in (S.DRAFT, S.IN_REVIEW):
        raise Conflict(f"Version {version} is {row.state}; it is no longer in review.")
    arg = ChangeDecision(actor=actor_of(person), decision=decision, comment=comment)
    return await policy_gateway.policy_change_update(
        client, version, "decide_change", arg, person.id, idempotency_key
    )


async def schedule_change(
    store: PolicyVersions,
    client: Client,
    person: DirectoryEntry,
    version: str,
    go_live_at: datetime | None,
    idempotency_key: str | None = None,
) -> ChangeStatus:
    refuse_unless_allowed(Action.POLICY_PROPOSE, person)
    await _proposed(store, version)
    arg = ChangeSchedule(actor=actor_of(person), go_live_at=_future(go_live_at))
    return await policy_gateway.policy_change_update(
        client, version, "schedule_change", arg, person.id, idempotency_key
    )


async def _proposed(store: PolicyVersions, version: str) -> StoredVersion:
    row: StoredVersion = await call_store(store.get, version)
    if row.change_id is None:
        raise Conflict(f"Version {version} has not been proposed; propose it first.")
    return row


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


async def simulation_of(rs: ReportStore, version: str, simulation_id: str) -> dict[str, Any]:
    """A simulation's stored row (404 when it is not one of `version`'s)."""
    doc: dict[str, Any] = await call_store(rs.simulations.get, simulation_id)
    if doc["version"] != version:
        raise NotFound(f"No simulation {simulation_id!r} of version {version}.")
    return doc
