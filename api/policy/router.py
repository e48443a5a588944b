"""/policy: the escalation policy in force for new cases (running cases keep the version they
were opened under), and /policy/versions, the policy as a living document (issue 25): drafts,
their review and go-live, the roll-out to cases in flight, simulations. Versions are stored in
the report store's database (core/report_store/policies.py); a change is a PolicyChangeWorkflow
(workflows/policy_change/), reached through api/policy/gateway.py.

A draft is written (and edited while a draft) by the escalated-accounts manager, proposed, then
approved or rejected by each approver role the live policy names; once all have approved it goes
live at the time chosen (or at once). Nothing out of draft is ever edited; a version number is
never re-used. The handlers are thin: the work is in api/policy/service.py, which the console
calls too.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from api.auth import CurrentPerson, access_doc, require
from api.deps import AppSettings, CurrentPolicyFile, IdempotencyKey, TemporalClient
from api.policy import service
from api.policy.schemas import (
    DecisionRequest,
    DraftEdit,
    DraftRequest,
    MigrationRequest,
    MigrationResult,
    ProposeRequest,
    ScheduleRequest,
    SimulationRequest,
    SimulationView,
    VersionDetail,
    VersionList,
)
from api.schemas import error_responses
from core.directory import DirectoryEntry
from core.report_store.policies import PolicyVersions
from workflows import capture
from workflows.access import ACCESS, Action
from workflows.policy import CaptureGuide, Policy
from workflows.policy_change.models import ChangeStatus, StoredVersion

router = APIRouter(prefix="/policy", tags=["policy"])

Drafter = Annotated[DirectoryEntry, Depends(require(Action.POLICY_PROPOSE))]
Approver = Annotated[DirectoryEntry, Depends(require(Action.POLICY_APPROVE))]
Migrator = Annotated[DirectoryEntry, Depends(require(Action.MIGRATE_POLICY))]
Simulator = Annotated[DirectoryEntry, Depends(require(Action.POLICY_SIMULATE))]


def _store(request: Request) -> PolicyVersions:
    return service.store_of(request).policies


Store = Annotated[PolicyVersions, Depends(_store)]


@router.get(
    "",
    response_model=Policy,
    summary="The policy in force",
    description=(
        "The versioned escalation policy that new escalations pin at their start: triage "
        "rules, SLA targets, business-hours calendars (public holidays expanded), tier-1 "
        "exception catalogue, teams, the sign-off authority ladder, follow-up times and message "
        "templates, with its `version` and who signed it off (`signed_off_by`). **Who:** any "
        "role."
    ),
    responses=error_responses(401, 503),
)
async def get_policy(_: CurrentPerson, policy_file: CurrentPolicyFile) -> Policy:
    return (await service.policy_with_json(policy_file))[0]


@router.get(
    "/capture",
    response_model=CaptureGuide,
    summary="What to capture for a category",
    description=(
        "The questions the frontline asks for this category before escalating (their ids are "
        "the keys of `answers` in `POST /escalations`; the required ones must be answered "
        "before a case goes to a specialist) and the de-escalation checklist, from the policy "
        "in force. A category no guide names gets the catch-all guide, or none (empty lists). "
        "**Who:** any role."
    ),
    responses=error_responses(401, 422, 503),
)
async def get_capture(
    _: CurrentPerson,
    policy_file: CurrentPolicyFile,
    category: Annotated[
        str,
        Query(
            max_length=64,
            description="The case's category (none: the catch-all guide)",
            examples=["billing"],
        ),
    ] = "",
) -> CaptureGuide:
    policy = (await service.policy_with_json(policy_file))[0]
    return capture.guide(policy, category)


@router.get(
    "/versions",
    response_model=VersionList,
    summary="Every stored version of the policy",
    description=f"{access_doc(Action.READ)}\n\nNewest first, with state (draft, in_review, "
    "approved, scheduled, live, retired, rejected), author, change note and digest.",
    responses=error_responses(401),
)
async def list_versions(_: CurrentPerson, store: Store) -> VersionList:
    return VersionList(items=await service.call_store(store.all))


@router.get(
    "/versions/{version}",
    response_model=VersionDetail,
    summary="One version, its text and its diff against another",
    description=f"{access_doc(Action.READ)}\n\n`against` (default: the live version, or the "
    "one the draft was written against when it is live itself) names the version to compare "
    "with; the diff is a unified diff of the two TOML texts. A proposed version also shows its "
    "change workflow's decisions.",
    responses=error_responses(401, 404, 503),
)
async def get_version(
    version: str,
    request: Request,
    _: CurrentPerson,
    client: TemporalClient,
    against: Annotated[str | None, Query(description="Version to diff against")] = None,
) -> VersionDetail:
    return await service.detail_of(service.store_of(request), client, version, against)


@router.post(
    "/versions",
    response_model=StoredVersion,
    status_code=201,
    summary="Write a draft",
    description=f"{access_doc(Action.POLICY_PROPOSE)}\n\nThe text is validated as a policy "
    "(422 names the field). Its `version` must be new: a version number is never re-used "
    "(409).",
    responses=error_responses(401, 403, 409, 422),
)
async def create_draft(
    body: DraftRequest, person: Drafter, store: Store, response: Response
) -> StoredVersion:
    row = await service.write_draft(store, person, body.text, body.note)
    response.headers["Location"] = f"/policy/versions/{row.version}"
    return row


@router.put(
    "/versions/{version}",
    response_model=StoredVersion,
    summary="Edit a draft",
    description=f"{access_doc(Action.POLICY_PROPOSE)}\n\nOnly a draft is edited (409 once "
    "proposed; a live version is never edited: write a new version). The text keeps the "
    "draft's `version`.",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def edit_draft(version: str, body: DraftEdit, _: Drafter, store: Store) -> StoredVersion:
    return await service.edit_draft(store, version, body.text, body.note)


@router.post(
    "/versions/{version}/propose",
    response_model=ChangeStatus,
    summary="Propose a draft for approval",
    description=f"{access_doc(Action.POLICY_PROPOSE)}\n\nStarts its change workflow "
    "(`policy-change-<version>`): each approver role the **live** policy names in "
    "`[change] approvers` approves or rejects; they are reminded every "
    "`[change] reminder_every_h`. Once all have approved it goes live at `go_live_at` or at "
    "once. A retry answers the same change.",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
async def propose(
    version: str,
    body: ProposeRequest,
    person: Drafter,
    store: Store,
    client: TemporalClient,
    settings: AppSettings,
    live_policy: CurrentPolicyFile,
) -> ChangeStatus:
    return await service.propose_draft(
        store, client, settings.task_queue, live_policy, person, version, body.go_live_at
    )


@router.post(
    "/versions/{version}/decisions",
    response_model=ChangeStatus,
    summary="Approve or reject a proposed version",
    description=f"{access_doc(Action.POLICY_APPROVE)}\n\nOnly the roles the live policy names "
    "as approvers decide (403 for others), each once (409 the second time). One rejection "
    "ends the change: it never goes live. A Temporal update with a validator: a refused "
    "decision leaves no trace.",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
async def decide(
    version: str,
    body: DecisionRequest,
    person: Approver,
    store: Store,
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> ChangeStatus:
    return await service.decide_change(
        store, client, person, version, body.decision, body.comment, idempotency_key
    )


@router.post(
    "/versions/{version}/schedule",
    response_model=ChangeStatus,
    summary="Move a change's go-live time",
    description=f"{access_doc(Action.POLICY_PROPOSE)}\n\nWhile in review, approved or "
    "scheduled; null makes it go live at once when (or as soon as) it is approved.",
    responses=error_responses(401, 403, 404, 409, 422, 503),
)
async def schedule(
    version: str,
    body: ScheduleRequest,
    person: Drafter,
    store: Store,
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> ChangeStatus:
    return await service.schedule_change(
        store, client, person, version, body.go_live_at, idempotency_key
    )


@router.post(
    "/versions/{version}/migrate",
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
    return await service.migrate_cases(store, client, person, version, body)


@router.post(
    "/versions/{version}/simulations",
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
    doc = await service.start_simulation(
        service.store_of(request),
        client,
        settings.task_queue,
        person,
        version,
        body.since,
        body.until,
    )
    return SimulationView.model_validate(doc)


@router.get(
    "/versions/{version}/simulations/{simulation_id}",
    response_model=SimulationView,
    summary="A simulation's progress and report",
    description=f"{access_doc(Action.READ)}",
    responses=error_responses(401, 404),
)
async def get_simulation(
    version: str, simulation_id: str, _: CurrentPerson, request: Request
) -> SimulationView:
    doc = await service.simulation_of(service.store_of(request), version, simulation_id)
    return SimulationView.model_validate(doc)
