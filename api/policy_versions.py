"""/policy/versions: the policy as a living document (issue 25). Versions are stored in the report
store's database (core/report_store/policies.py); a change is a PolicyChangeWorkflow
(workflows/policy_change/), reached through the gateway.

A draft is written (and edited while a draft) by the escalated-accounts manager, proposed, then
approved or rejected by each approver role the live policy names; once all have approved it goes
live at the time chosen (or at once). Nothing out of draft is ever edited; a version number is
never re-used.
"""

from __future__ import annotations

import asyncio
import difflib
import re
import tomllib
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field, ValidationError
from temporalio.client import Client

from api import policy_gateway
from api.auth import CurrentPerson, access_doc, actor_of, refuse_unless_allowed, require
from api.deps import AppSettings, CurrentPolicyFile, IdempotencyKey, TemporalClient
from api.errors import Conflict, Invalid, NotFound
from api.policy import policy_with_json
from api.schemas import error_responses
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
from workflows.policy_change.models import (
    ChangeDecision,
    ChangeSchedule,
    ChangeStart,
    ChangeStatus,
    StoredVersion,
)
from workflows.policy_change.models import VersionState as S

router = APIRouter(prefix="/policy/versions", tags=["policy"])

VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,63}$")
Drafter = Annotated[DirectoryEntry, Depends(require(Action.POLICY_PROPOSE))]
Approver = Annotated[DirectoryEntry, Depends(require(Action.POLICY_APPROVE))]

EXAMPLE_NOTE = "P3 resolution 24 h -> 20 h; billing team hours extended to 20:00"


class DraftRequest(BaseModel):
    text: str = Field(
        min_length=1,
        max_length=200_000,
        description="The whole policy as TOML, with a `version` no stored version has",
        examples=['version = "2026.12"\ntitle = "..."\n# the rest of config/policy.toml'],
    )
    note: str = Field(
        "", max_length=2000, description="What changes and why", examples=[EXAMPLE_NOTE]
    )


class DraftEdit(BaseModel):
    text: str = Field(min_length=1, max_length=200_000, description="The draft's new text")
    note: str | None = Field(None, max_length=2000, description="A new note (None: keep)")


class ProposeRequest(BaseModel):
    go_live_at: datetime | None = Field(
        None,
        description="When the change goes live once every approver has approved (ISO 8601); "
        "null: at once when approved",
        examples=["2026-12-14T06:00:00Z"],
    )


class DecisionRequest(BaseModel):
    decision: Literal["approve", "reject"] = Field(description="approve or reject")
    comment: str = Field(min_length=1, max_length=2000, examples=["Figures look right"])


class ScheduleRequest(BaseModel):
    go_live_at: datetime | None = Field(
        description="The new go-live time; null: at once when approved",
        examples=["2026-12-15T06:00:00Z"],
    )


class VersionList(BaseModel):
    items: list[StoredVersion] = Field(description="Every version, newest first (no texts)")


class VersionDetail(BaseModel):
    version: StoredVersion = Field(description="The stored version, with its text")
    against: str | None = Field(description="The version the diff compares with")
    diff: str = Field(description="Unified diff (difflib) from `against` to this version")
    change: ChangeStatus | None = Field(
        description="Its change workflow: decisions, who is still to decide, go-live time"
    )
    simulation: dict[str, Any] | None = Field(
        None, description="Its latest finished simulation against the live version (the report)"
    )


def _store(request: Request) -> PolicyVersions:
    return request.app.state.report_store.policies


def store_of(request: Request) -> ReportStore:
    return request.app.state.report_store


Store = Annotated[PolicyVersions, Depends(_store)]


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


@router.get(
    "",
    response_model=VersionList,
    summary="Every stored version of the policy",
    description=f"{access_doc(Action.READ)}\n\nNewest first, with state (draft, in_review, "
    "approved, scheduled, live, retired, rejected), author, change note and digest.",
    responses=error_responses(401),
)
async def list_versions(_: CurrentPerson, store: Store) -> VersionList:
    return VersionList(items=await call_store(store.all))


@router.get(
    "/{version}",
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
    return await detail_of(store_of(request), client, version, against)


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


@router.post(
    "",
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
    row = await write_draft(store, person, body.text, body.note)
    response.headers["Location"] = f"/policy/versions/{row.version}"
    return row


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


@router.put(
    "/{version}",
    response_model=StoredVersion,
    summary="Edit a draft",
    description=f"{access_doc(Action.POLICY_PROPOSE)}\n\nOnly a draft is edited (409 once "
    "proposed; a live version is never edited: write a new version). The text keeps the "
    "draft's `version`.",
    responses=error_responses(401, 403, 404, 409, 422),
)
async def edit_draft(version: str, body: DraftEdit, _: Drafter, store: Store) -> StoredVersion:
    new_version = _checked(body.text)
    return await call_store(
        store.edit_draft, version, new_version, body.text, body.note, datetime.now(UTC)
    )


@router.post(
    "/{version}/propose",
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
    return await propose_draft(
        store, client, settings.task_queue, live_policy, person, version, body.go_live_at
    )


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


@router.post(
    "/{version}/decisions",
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
    return await decide_change(
        store, client, person, version, body.decision, body.comment, idempotency_key
    )


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


@router.post(
    "/{version}/schedule",
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
    return await schedule_change(store, client, person, version, body.go_live_at, idempotency_key)


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
