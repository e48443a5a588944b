"""/console: the pages people use every day (sign-in, my work, case lists, the case page).

Server-rendered (Jinja2); `static/console.js` adds live countdowns, local times and a poll of
each page's live fragment (`.../live`) every few seconds. Every action goes through the same
service call as the API (`api/cases/service.py`), so the workflow's validators decide; a
refusal is shown in words with the API's status (403, 409) and changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from pathlib import Path
from typing import Annotated, Any, get_args
from urllib.parse import parse_qs, urlencode

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from temporalio.client import Client

from api import gateway, visibility
from api.auth import TOO_MANY_FAILURES, authentication_failed, get_directory, throttled
from api.cases import service as cases
from api.console import session, sso
from api.console.board import Figure, board_figures
from api.console.forms import FORMS, build, choices, field_errors, forms_for, may_decide
from api.console.work import my_work
from api.deps import TemporalClient
from api.errors import DomainError, Invalid
from core.directory import DirectoryEntry
from core.settings import Settings
from workflows import capture
from workflows import search_attributes as sa
from workflows.access import Action
from workflows.models import Severity, Stage, Trigger

log = structlog.get_logger("api")

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(prefix="/console", include_in_schema=False)
POLL_MS = 3000
SEVERITIES: tuple[str, ...] = get_args(Severity)
TRIGGERS: tuple[str, ...] = get_args(Trigger)


class SignInNeeded(Exception):
    """No valid session: pages go to the sign-in page, fragments answer 401."""


class Reader:
    """The signed-in person and their session (a dependency)."""

    def __init__(self, s: session.Session, person: DirectoryEntry, settings: Settings) -> None:
        self.session, self.person, self.settings = s, person, settings
        self.csrf = session.csrf_token(settings, s)


async def reader(request: Request) -> Reader:
    found = session.current(request)
    if found is None:
        raise SignInNeeded
    return Reader(*found, request.app.state.settings)


SignedIn = Annotated[Reader, Depends(reader)]


async def form_of(request: Request) -> dict[str, str]:
    """A urlencoded form body (the app needs no multipart parser for these small forms)."""
    raw = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    return {k: v[0] for k, v in raw.items()}


def page(request: Request, name: str, status: int = 200, **ctx: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"poll_ms": POLL_MS, **ctx}, status)


def _next(path: str | None) -> str:
    # Only our own pages, never another site (an open redirect)
    if path and path.startswith(("/console", "/temporal")) and not path.startswith("//"):
        return path
    return "/console"


def add_sign_in_handler(app) -> None:
    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, _: SignInNeeded) -> Response:
        if request.headers.get("x-console-fragment"):
            return Response(status_code=401)
        wanted = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        query = urlencode({"next": wanted})  # back to the page asked for, filters and all
        return RedirectResponse(f"/console/sign-in?{query}", status_code=303)


# --- sign-in and sign-out -----------------------------------------------------------------------


def sign_in_page(request: Request, message: str = "", status: int = 200, nxt: str = "") -> Response:
    settings: Settings = request.app.state.settings
    pre = session.presession(request)
    if not message and request.query_params.get("signed_out") == "1":  # back from the provider
        message = "You are signed out."
    response = page(
        request,
        "sign_in.html",
        status,
        message=message,
        csrf=session.presession_csrf(settings, pre),
        next=_next(nxt or request.query_params.get("next")),
        person=None,
        sso=settings.oidc_display_name if settings.oidc_issuer else None,
    )
    session.set_cookie(response, request, session.PRE_COOKIE, pre, session.PRE_MAX_AGE_S)
    return response


@router.get("/sign-in")
async def sign_in_form(request: Request) -> Response:
    return sign_in_page(request)


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    form = await form_of(request)
    try:
        session.check_presession_csrf(
            settings, request.cookies.get(session.PRE_COOKIE), form.get("csrf")
        )
    except session.StaleForm:
        return sign_in_page(request, "The sign-in form was out of date; try again.", 403)
    token = form.get("token", "").strip()
    if token and (retry_after := throttled(request, token, "console")):
        refused = sign_in_page(request, TOO_MANY_FAILURES, 429, form.get("next", ""))
        refused.headers["Retry-After"] = str(retry_after)
        return refused
    person = get_directory(request).authenticate(token) if token else None
    if person is None:
        if token:
            authentication_failed(request, token, "console")
        return sign_in_page(request, "That token is not known.", 401, form.get("next", ""))
    response = RedirectResponse(_next(form.get("next")), status_code=303)
    session.start(response, request, person)
    log.info("console_signed_in", person=person.id)
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    found = session.current(request)
    form = await form_of(request)
    if found is not None:
        try:
            session.check_csrf(request.app.state.settings, found[0], form.get("csrf"))
        except session.StaleForm:
            return HTMLResponse("This sign-out form was not sent by the console.", 403)
    continue_at = None
    if found is not None and found[0].subject is not None:  # RP-initiated logout
        continue_at = await sso.end_session_url(request)
    response: Response
    if continue_at:
        response = RedirectResponse(continue_at, status_code=303)
    else:
        response = sign_in_page(request, "You are signed out.")
    session.end(response, request, found[0] if found else None)
    return response


# --- my work ------------------------------------------------------------------------------------


def _currency(request: Request) -> str:
    return request.app.state.policy_file.get().currency


async def _work(request: Request, r: Reader, client: Client) -> dict[str, Any]:
    """The reader's sections and, for the manager, the board's figures above them."""
    figures: Awaitable[list[Figure]] | None = None
    if r.person.role == "manager":
        figures = board_figures(client, request.app.state.report_store)
    sections, figs = await asyncio.gather(
        my_work(client, r.person, _currency(request)), figures or asyncio.sleep(0, [])
    )
    return {"person": r.person, "sections": sections, "figures": figs}


@router.get("")
async def work_page(request: Request, r: SignedIn, client: TemporalClient) -> Response:
    return page(request, "work.html", csrf=r.csrf, **await _work(request, r, client))


@router.get("/work/live")
async def work_live(request: Request, r: SignedIn, client: TemporalClient) -> Response:
    return page(request, "_work.html", **await _work(request, r, client))


# --- lists and search ---------------------------------------------------------------------------


FILTERS = (
    "stage",
    "severity",
    "breached",
    "assignee",
    "assigned_team",
    "trigger",
    "status",
    "attention",
)
ATTENTION = (sa.AT_RISK, sa.UNDELIVERED, sa.AWAITING_ACK)


def _filters(params: dict[str, str]) -> dict[str, Any]:
    f: dict[str, Any] = {k: params[k] for k in FILTERS if params.get(k)}
    try:
        if "stage" in f:
            f["stage"] = Stage(f["stage"])
        if f.get("severity") not in (None, *SEVERITIES):
            raise ValueError(f"severity: one of {', '.join(SEVERITIES)}")
    except ValueError as e:
        raise Invalid(str(e)) from None
    if "breached" in f:
        f["breached"] = f["breached"] == "true"
    if f.get("status") not in (None, "open", "ended"):
        raise Invalid("status: open or ended")
    if f.get("attention") not in (None, *ATTENTION):
        raise Invalid(f"attention: one of {', '.join(ATTENTION)}")
    return f


@router.get("/cases")
async def cases_page(request: Request, r: SignedIn, client: TemporalClient) -> Response:
    params = dict(request.query_params)
    q = params.pop("q", "").strip()
    if q and gateway.ID_RE.match(q.upper()):
        return RedirectResponse(f"/console/cases/{q.upper()}", status_code=303)
    items, next_token, error, total = [], None, "", None
    try:
        filters = _filters(params)
        if q:
            filters["customer_id"] = q
        clauses = visibility.filter_clauses(**filters)
        size = params.get("page_size", "25")
        if not size.isdigit() or not 1 <= int(size) <= 100:
            raise Invalid("page_size: a number from 1 to 100")
        result, total = await asyncio.gather(
            visibility.list_cases(client, clauses, int(size), params.get("page_token")),
            visibility.count(client, visibility.visibility_query(clauses)),
        )
        items, next_token = result.items, result.next_page_token
    except DomainError as e:
        error = e.detail
    more = urlencode({**params, "q": q, "page_token": next_token}) if next_token else ""
    ctx = {
        "stages": list(Stage),
        "severities": SEVERITIES,
        "triggers": TRIGGERS,
        "attention": ATTENTION,
    }
    return page(
        request,
        "cases.html",
        422 if error else 200,
        person=r.person,
        csrf=r.csrf,
        items=items,
        total=total,
        params={**params, "q": q},
        more=more,
        error=error,
        **ctx,
    )


# --- the case page ------------------------------------------------------------------------------


async def _case(client: Client, r: Reader, escalation_id: str, request: Request) -> dict[str, Any]:
    view, timeline, handover = await asyncio.gather(  # one worker serves all three at once
        cases.query_state(client, escalation_id),
        cases.query_timeline(client, escalation_id),
        cases.query_handover(client, escalation_id),
    )
    ui = r.settings.temporal_ui_url
    temporal_link = (
        f"{ui.rstrip('/')}/namespaces/{r.settings.temporal_namespace}/workflows/"
        f"{gateway.workflow_id(escalation_id)}"
        if ui and r.person.role == "operator"
        else None
    )
    # the policy in force: its currency, teams and root causes (the case's pinned one validates)
    policy = request.app.state.policy_file.get()
    teams = [t.name for t in policy.teams]
    return {
        "currency": policy.currency,
        "choices": choices(view, teams, get_directory(request), list(policy.root_causes)),
        "case": view,
        "timeline": list(reversed(timeline.items)),
        "handover": handover,
        # the capture questions of the case's category, with what was answered so far
        "capture_guide": capture.guide(policy, view.category),
        "capture_values": {
            f"answer.{k}": v
            for k, v in (handover.request.answers if handover.request else {}).items()
        },
        "forms": forms_for(r.person, view),
        "may_decide": may_decide(r.person, view),
        "temporal_link": temporal_link,
        "person": r.person,
        "csrf": r.csrf,
    }


@router.get("/cases/{escalation_id}")
async def case_page(
    request: Request, escalation_id: str, r: SignedIn, client: TemporalClient
) -> Response:
    try:
        ctx = await _case(client, r, escalation_id, request)
    except DomainError as e:
        return page(request, "error.html", e.status_code, person=r.person, csrf=r.csrf, error=e)
    done = request.query_params.get("done", "")
    form = FORMS.get(Action(done)) if done in Action.__members__.values() else None
    done_words = form.title.lower() if form else ""
    if request.query_params.get("opened") == "1":  # from the intake form (api/console/intake.py)
        done_words = f"escalation {escalation_id} opened, in {ctx['case'].stage}"
    return page(request, "case.html", done=done_words, **ctx)


@router.get("/cases/{escalation_id}/live")
async def case_live(
    request: Request, escalation_id: str, r: SignedIn, client: TemporalClient
) -> Response:
    return page(request, "_case.html", **await _case(client, r, escalation_id, request))


@router.post("/cases/{escalation_id}/actions/{action}")
async def act(
    request: Request, escalation_id: str, action: str, client: TemporalClient
) -> Response:
    found = session.current(request)
    if found is None:  # expired or signed out in another tab: nothing is done
        return sign_in_page(
            request,
            "Your session has ended, so nothing was changed. Sign in and try again.",
            401,
            f"/console/cases/{escalation_id}",
        )
    r = Reader(*found, request.app.state.settings)
    form_values = await form_of(request)
    try:
        session.check_csrf(r.settings, r.session, form_values.get("csrf"))
    except session.StaleForm:
        refusal = "This form was not sent by your console session (forged or out of date)."
        return await _refused(request, client, r, escalation_id, 403, refusal)
    try:
        form = FORMS[Action(action)]
    except (ValueError, KeyError):
        return await _refused(request, client, r, escalation_id, 404, "No such action.")
    failed = {"failed": form.action.value, "values": form_values}
    try:
        arg = build(form, r.person, form_values, get_directory(request))
    except (ValidationError, ValueError) as e:
        errors, rest = field_errors(form, e)
        detail = rest or "Some answers need a change: see the form."
        return await _refused(request, client, r, escalation_id, 422, detail, errors, failed)
    key = form_values.get("idempotency_key") or None
    try:
        await cases.run_update(client, escalation_id, form.action, arg, r.person.id, key)
    except DomainError as e:
        errors, _ = field_errors(form, ValueError(e.detail))  # "at: outside the team's hours"
        return await _refused(
            request, client, r, escalation_id, e.status_code, e.detail, errors, failed
        )
    return RedirectResponse(
        f"/console/cases/{escalation_id}?done={form.action.value}", status_code=303
    )


async def _refused(
    request: Request,
    client: Client,
    r: Reader,
    escalation_id: str,
    status: int,
    detail: str,
    errors: dict[str, str] | None = None,
    failed: dict[str, Any] | None = None,
) -> Response:
    """The case page again, as it is now, with the reason the action was refused: beside the
    fields it names, and the refused form keeps what was typed in it."""
    try:
        ctx = await _case(client, r, escalation_id, request)
    except DomainError as e:
        return page(request, "error.html", e.status_code, person=r.person, csrf=r.csrf, error=e)
    return page(
        request,
        "case.html",
        status,
        refusal=detail,
        refusal_status=status,
        field_errors=errors or {},
        failed=failed or {},
        **ctx,
    )
