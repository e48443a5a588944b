"""/console/policy: the policy change process in the console (issue 25). The versions, one version
with its diff, its approvers' decisions and its simulation report, and the forms the reader's
role allows: write and propose a draft, approve or reject, move the go-live, simulate, move cases
in flight to the live version.

Every action calls the same function as the API (api/policy/service.py),
which checks the role against the access table; a refusal is shown in words with the API's status
(403, 409, 422) on the form that was sent, and nothing is changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.console import session
from api.console.pages import TRIGGERS, Reader, SignedIn, form_of, page, sign_in_page
from api.console.policy_report import tables
from api.console.times import local_time
from api.deps import TemporalClient
from api.errors import DomainError, Invalid, NotFound
from api.policy.schemas import MigrationRequest
from api.policy.service import (
    call_store,
    decide_change,
    detail_of,
    migrate_cases,
    policy_with_json,
    propose_draft,
    schedule_change,
    start_simulation,
    write_draft,
)
from core.report_store import ReportStore
from workflows.access import Action, role_refusal
from workflows.models import Stage
from workflows.policy_change.models import VersionState as S

router = APIRouter(prefix="/console/policy", include_in_schema=False)
SEVERITIES = ("P1", "P2", "P3", "P4")
SIMULATION_DAYS = 7  # the period a simulation form offers first: the last week
STALE = "This form was not sent by your console session (forged or out of date)."


def _rs(request: Request) -> ReportStore:
    return request.app.state.report_store


def _may(r: Reader, action: Action) -> bool:
    return role_refusal(action, r.person.role) is None


def _signed_in_or_form(request: Request, back: str) -> Reader | Response:
    """The reader of a POST, or the sign-in page saying nothing was changed."""
    found = session.current(request)
    if found is None:
        return sign_in_page(
            request,
            "Your session has ended, so nothing was changed. Sign in and try again.",
            401,
            back,
        )
    return Reader(*found, request.app.state.settings)


async def _posted(request: Request, back: str) -> tuple[Reader, dict[str, str], bool] | Response:
    """A form POST's reader, its values and whether its CSRF token is stale (each page says so
    in its own way), or the sign-in page when the session has ended."""
    r = _signed_in_or_form(request, back)
    if isinstance(r, Response):
        return r
    values = await form_of(request)
    try:
        session.check_csrf(r.settings, r.session, values.get("csrf"))
    except session.StaleForm:
        return r, values, True
    return r, values, False


# --- the versions -------------------------------------------------------------------------------


@router.get("")
async def versions_page(request: Request, r: SignedIn) -> Response:
    items = await call_store(_rs(request).policies.all)
    return page(
        request,
        "policy_list.html",
        person=r.person,
        csrf=r.csrf,
        items=items,
        may_draft=_may(r, Action.POLICY_PROPOSE),
        may_migrate=_may(r, Action.MIGRATE_POLICY),
    )


async def _version_ctx(
    request: Request, r: Reader, client: Any, version: str, params: dict[str, str]
) -> dict[str, Any]:
    rs = _rs(request)
    detail = await detail_of(rs, client, version, params.get("against") or None)
    sim_id = params.get("simulation")
    sim = await call_store(rs.simulations.get, sim_id) if sim_id else None
    if sim is not None and sim["version"] != version:
        raise NotFound(f"No simulation {sim_id!r} of version {version}.")
    sim = sim or await call_store(rs.simulations.newest, version)
    row, change = detail.version, detail.change
    live, _ = await policy_with_json(request.app.state.policy_file)
    approvers = change.approvers if change else list(live.change.approvers)
    decided = {d.role for d in change.decisions} if change else set()
    role = r.person.role
    in_review = row.state in (S.DRAFT, S.IN_REVIEW) and change is not None
    today = datetime.now(UTC).date()
    live_query = {k: v for k, v in params.items() if k in ("against", "simulation") and v}
    return {
        "person": r.person,
        "csrf": r.csrf,
        "v": row,
        "detail": detail,
        "change": change,
        "approvers": approvers,
        "sim": sim,
        "sim_tables": tables(sim["report"]) if sim and sim.get("report") else [],
        "versions": [x.version for x in await call_store(rs.policies.all)],
        "live_query": urlencode(live_query),
        "may_decide": in_review
        and role in approvers
        and role not in decided
        and r.person.id not in (change.proposer if change else None, row.author),  # four eyes
        "may_propose": row.state == S.DRAFT and change is None and _may(r, Action.POLICY_PROPOSE),
        "may_schedule": change is not None
        and row.state in (S.IN_REVIEW, S.APPROVED, S.SCHEDULED)
        and _may(r, Action.POLICY_PROPOSE),
        "may_simulate": _may(r, Action.POLICY_SIMULATE),
        "sim_since": (today - timedelta(days=SIMULATION_DAYS - 1)).isoformat(),
        "sim_until": today.isoformat(),
    }


@router.get("/new")
async def new_draft_page(request: Request, r: SignedIn) -> Response:
    live, _ = await policy_with_json(request.app.state.policy_file)
    text = await call_store(_rs(request).policies.get, live.version)
    return _draft_form(request, r, {"text": text.text or "", "note": "", "go_live_at": ""})


def _draft_form(
    request: Request, r: Reader, values: dict[str, str], refusal: str = "", status: int = 200
) -> Response:
    why = role_refusal(Action.POLICY_PROPOSE, r.person.role)
    return page(
        request,
        "policy_new.html",
        403 if why and not refusal else status,
        person=r.person,
        csrf=r.csrf,
        values=values,
        refusal=refusal or why or "",
        refusal_status=status if refusal else 403,
        allowed=why is None,
    )


@router.post("/new")
async def propose_new(request: Request, client: TemporalClient) -> Response:
    posted = await _posted(request, "/console/policy/new")
    if isinstance(posted, Response):
        return posted
    r, values, stale = posted
    if stale:
        return _draft_form(request, r, values, STALE, 403)
    policies = _rs(request).policies
    try:
        # The go-live time is checked before anything is written: a refusal changes nothing.
        go_live = local_time(values.get("go_live_at", ""), values.get("tz", ""))
        if go_live is not None and go_live < datetime.now(UTC):
            raise Invalid("go_live_at: in the past; leave it empty for 'at once'")
        # browsers send a textarea's lines with CRLF; the stored text keeps the file's LF
        text, note = (values.get(k, "").replace("\r\n", "\n") for k in ("text", "note"))
        row = await write_draft(policies, r.person, text, note)
    except DomainError as e:
        return _draft_form(request, r, values, e.detail, e.status_code)
    try:
        await propose_draft(
            policies,
            client,
            r.settings.task_queue,
            request.app.state.policy_file,
            r.person,
            row.version,
            go_live,
        )
    except DomainError as e:  # the draft is kept; its page offers to propose it again
        return await _refused(request, client, r, row.version, e.status_code, e.detail)
    return RedirectResponse(f"/console/policy/{row.version}?done=proposed", status_code=303)


# --- migration of cases in flight ---------------------------------------------------------------


@router.get("/migrate")
async def migrate_page(request: Request, r: SignedIn) -> Response:
    return await _migrate_form(request, r, {})


async def _migrate_form(
    request: Request,
    r: Reader,
    values: dict[str, str],
    result: Any = None,
    refusal: str = "",
    status: int = 200,
) -> Response:
    live = await call_store(_rs(request).policies.live)
    why = role_refusal(Action.MIGRATE_POLICY, r.person.role)
    return page(
        request,
        "policy_migrate.html",
        403 if why and not refusal else status,
        person=r.person,
        csrf=r.csrf,
        live=live,
        values=values,
        result=result,
        refusal=refusal or why or "",
        refusal_status=status if refusal else 403,
        allowed=why is None,
        stages=list(Stage),
        severities=SEVERITIES,
        triggers=TRIGGERS,
    )


@router.post("/migrate")
async def migrate(request: Request, client: TemporalClient) -> Response:
    posted = await _posted(request, "/console/policy/migrate")
    if isinstance(posted, Response):
        return posted
    r, values, stale = posted
    if stale:
        return await _migrate_form(request, r, values, refusal=STALE, status=403)
    filters: dict[str, Any] = {
        k: v for k, v in values.items() if k in MigrationRequest.model_fields and v
    }
    if "breached" in filters:
        filters["breached"] = filters["breached"] == "true"
    try:
        body = MigrationRequest.model_validate(filters)
    except ValidationError as e:
        err = e.errors(include_url=False)[0]
        detail = f"{'.'.join(str(x) for x in err['loc'])}: {err['msg']}"
        return await _migrate_form(request, r, values, refusal=detail, status=422)
    try:
        live = await call_store(_rs(request).policies.live)
        if live is None:
            raise NotFound("No version is live.")
        result = await migrate_cases(_rs(request).policies, client, r.person, live.version, body)
    except DomainError as e:
        return await _migrate_form(request, r, values, refusal=e.detail, status=e.status_code)
    return await _migrate_form(request, r, values, result=result)


# --- one version --------------------------------------------------------------------------------


@router.get("/{version}")
async def version_page(
    request: Request, version: str, r: SignedIn, client: TemporalClient
) -> Response:
    try:
        ctx = await _version_ctx(request, r, client, version, dict(request.query_params))
    except DomainError as e:
        return page(request, "error.html", e.status_code, person=r.person, csrf=r.csrf, error=e)
    return page(request, "policy_version.html", done=request.query_params.get("done", ""), **ctx)


@router.get("/{version}/live")
async def version_live(
    request: Request, version: str, r: SignedIn, client: TemporalClient
) -> Response:
    ctx = await _version_ctx(request, r, client, version, dict(request.query_params))
    return page(request, "_policy_version.html", **ctx)


Act = Callable[[Request, Any, Reader, str, dict[str, str]], Awaitable[str]]


async def _decide(request: Request, client: Any, r: Reader, version: str, f: dict[str, str]) -> str:
    decision = f.get("decision", "")
    if decision not in ("approve", "reject"):
        raise Invalid("decision: approve or reject")
    if not f.get("comment", "").strip():
        raise Invalid("comment: say why (approvers decide with a comment)")
    await decide_change(
        _rs(request).policies, client, r.person, version, decision,  # type: ignore[arg-type]
        f["comment"].strip(), f.get("idempotency_key") or None,
    )  # fmt: skip
    return "decided"


async def _schedule(
    request: Request, client: Any, r: Reader, version: str, f: dict[str, str]
) -> str:
    at = local_time(f.get("go_live_at", ""), f.get("tz", ""))
    await schedule_change(_rs(request).policies, client, r.person, version, at)
    return "scheduled"


async def _propose(
    request: Request, client: Any, r: Reader, version: str, f: dict[str, str]
) -> str:
    at = local_time(f.get("go_live_at", ""), f.get("tz", ""))
    policies, task_queue = _rs(request).policies, r.settings.task_queue
    live_policy = request.app.state.policy_file
    await propose_draft(policies, client, task_queue, live_policy, r.person, version, at)
    return "proposed"


async def _simulate(
    request: Request, client: Any, r: Reader, version: str, f: dict[str, str]
) -> str:
    since = local_time(f.get("since", ""), f.get("tz", ""))
    until = local_time(f.get("until", ""), f.get("tz", ""), end_of_day=True)
    if since is None or until is None:
        raise Invalid("since, until: both days are needed")
    doc = await start_simulation(
        _rs(request), client, r.settings.task_queue, r.person, version, since, until
    )
    return f"simulation_started&simulation={doc['id']}"


ACTIONS: dict[str, Act] = {
    "decide": _decide,
    "schedule": _schedule,
    "propose": _propose,
    "simulate": _simulate,
}


@router.post("/{version}/actions/{action}")
async def act(request: Request, version: str, action: str, client: TemporalClient) -> Response:
    posted = await _posted(request, f"/console/policy/{version}")
    if isinstance(posted, Response):
        return posted
    r, values, stale = posted
    if stale:
        return await _refused(request, client, r, version, 403, STALE)
    step = ACTIONS.get(action)
    if step is None:
        return await _refused(request, client, r, version, 404, "No such action.")
    try:
        done = await step(request, client, r, version, values)
    except DomainError as e:
        return await _refused(request, client, r, version, e.status_code, e.detail)
    return RedirectResponse(f"/console/policy/{version}?done={done}", status_code=303)


async def _refused(
    request: Request, client: Any, r: Reader, version: str, status: int, detail: str
) -> Response:
    """The version's page again, as it is now, with the reason the action was refused."""
    try:
        ctx = await _version_ctx(request, r, client, version, {})
    except DomainError as e:
        return page(request, "error.html", e.status_code, person=r.person, csrf=r.csrf, error=e)
    return page(
        request, "policy_version.html", status, refusal=detail, refusal_status=status, **ctx
    )
