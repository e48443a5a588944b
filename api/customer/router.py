"""/status/{token} and /hours: the customer's own pages, no account needed.

`/status/{token}` is the page behind the signed link in every customer message (core/
status_links.py): where the case stands in plain words, the team that has it (never a person),
the promise, the team's hours, what the customer was told, and a form to add information (after
resolution: "it is still broken", which reopens the case). An altered link is 403, an expired
one 410, always in the one error shape (an HTML page with the same status for a browser).
`/hours` lists, for anyone, where to escalate, the hours and the response times of the live
policy.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path as FilePath
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ValidationError

from api.cases import service as cases
from api.console import filters
from api.customer import service
from api.customer.schemas import AddedInformation, CustomerStatus, EscalationAskBody, PublicHours
from api.deps import TemporalClient
from api.errors import DomainError, ErrorBody, Forbidden, Gone, Invalid
from core.feedback import BadToken
from core.status_links import TOKEN_MAX, StatusClaim, StatusLinks
from workflows.views import EscalationView

router = APIRouter(tags=["customer"])
B = TypeVar("B", bound=BaseModel)
templates = Jinja2Templates(directory=FilePath(__file__).parent / "templates")
filters.install(templates.env)
LIMIT = service.AddLimit()

Token = Annotated[
    str, Path(min_length=1, max_length=TOKEN_MAX, description="The token of the status link")
]


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {
        403: "The link is not one we sent, or it was altered",
        404: "No such escalation",
        409: "The case is closed",
        410: "The link has expired (the newest message carries a fresh one)",
        422: "Invalid answer (the detail names the field)",
        429: "Too much added in a short time (Retry-After)",
        503: "The service is unavailable; retry later",
    }
    content: dict[str, Any] = {
        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}},
        "text/html": {"schema": {"type": "string"}},
    }
    return {c: {"model": ErrorBody, "description": text[c], "content": content} for c in codes}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _page(request: Request, name: str, code: int = 200, **ctx: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, ctx, code)


def _refusal(request: Request, e: DomainError) -> Response:
    if _wants_html(request):
        response: Response = _page(request, "customer_error.html", e.status_code, error=e)
    else:
        response = JSONResponse({"error": e.kind, "detail": e.detail}, status_code=e.status_code)
    if e.retry_after is not None:
        response.headers["Retry-After"] = str(e.retry_after)
    return response


def _claim(request: Request, token: str) -> StatusClaim:
    try:
        return StatusLinks.from_settings(request.app.state.settings).verify(token)
    except BadToken as e:
        raise (Gone if e.kind == "expired" else Forbidden)(str(e)) from None


async def _status(request: Request, client: Any, token: str) -> CustomerStatus:
    claim = _claim(request, token)
    view = await cases.query_state(client, claim.escalation_id)
    timeline = await cases.query_timeline(client, claim.escalation_id)
    policy = request.app.state.policy_file.get()
    return service.status_of(view, timeline.items, policy, claim)


@router.get(
    "/status/{token}",
    summary="Where the customer's case stands (the link in every customer message)",
    description="Public: the link's signed, expiring token is the authority. A browser "
    "(`Accept: text/html`) gets an accessible page that works on a phone, with a form to add "
    "information; a program gets the same facts as JSON. Staff names and internal notes are "
    "never shown: the team that has the case, the promise and the team's hours are.",
    response_model=CustomerStatus,
    responses={
        200: {"content": {"text/html": {"schema": {"type": "string"}}}},
        **_errors(403, 404, 410, 503),
    },
)
async def status_page(token: Token, request: Request, client: TemporalClient) -> Response:
    try:
        status = await _status(request, client, token)
    except DomainError as e:
        return _refusal(request, e)
    if not _wants_html(request):
        return JSONResponse(status.model_dump(mode="json"))
    added = request.query_params.get("added") == "1"
    asked = request.query_params.get("asked") == "1"
    return _page(request, "status.html", status=status, token=token, added=added, asked=asked)


FORM_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["message"],
                "properties": {
                    "message": {"type": "string", "minLength": 1, "maxLength": 5000},
                    "still_broken": {"type": "string", "enum": ["on"]},
                },
            },
            "example": {"message": "The second charge is back on my statement."},
        },
        "application/json": {
            "schema": {"$ref": "#/components/schemas/AddedInformation"},
            "example": {"message": "The second charge is back.", "still_broken": True},
        },
    },
}


@router.post(
    "/status/{token}",
    summary="The customer adds information to their case",
    description="From the status page's form (urlencoded: answered with the page again, 303) "
    "or as JSON (answered with the status). Recorded on the case as the customer's own "
    "contact: it resumes clocks paused for information we asked for; `still_broken` on a "
    "resolved case reopens it. At most 10 additions per case in a burst, then one every 6 "
    "minutes (429 with Retry-After); refused on a closed case (409).",
    response_model=CustomerStatus,
    responses=_errors(403, 404, 409, 410, 422, 429, 503),
    openapi_extra={"requestBody": FORM_BODY},
)
async def add_information(token: Token, request: Request, client: TemporalClient) -> Response:
    def from_form(f: dict[str, str]) -> AddedInformation:
        still_broken = f.get("still_broken") in ("on", "true", "1")
        return AddedInformation(message=f.get("message", "").strip(), still_broken=still_broken)

    def read() -> Awaitable[AddedInformation]:
        return _read(request, AddedInformation, from_form)

    return await _take(token, request, client, read, service.add_information, "added")


ASK_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["reason"],
                "properties": {"reason": {"type": "string", "minLength": 1, "maxLength": 2000}},
            },
            "example": {"reason": "Nobody has called me back in three days."},
        },
        "application/json": {
            "schema": {"$ref": "#/components/schemas/EscalationAskBody"},
            "example": {"reason": "Nobody has called me back in three days."},
        },
    },
}


@router.post(
    "/status/{token}/escalate",
    summary='The customer asks for escalation ("I want this escalated")',
    description="Open to every customer, for any reason: recorded on the case with the "
    "customer's reason and sent at once to the escalated-accounts manager, who is accountable "
    "for the case and decides what it changes. A second ask within the hour is 409 (the "
    "manager has the first); a resolved case is reopened by saying it is still broken "
    "instead (409), a closed one is 409. Slowed with the page's additions (429). Urlencoded "
    "from the page (303 back to it) or JSON (answered with the status).",
    response_model=CustomerStatus,
    responses=_errors(403, 404, 409, 410, 422, 429, 503),
    openapi_extra={"requestBody": ASK_BODY},
)
async def ask_escalation(token: Token, request: Request, client: TemporalClient) -> Response:
    def read() -> Awaitable[EscalationAskBody]:
        return _read(
            request,
            EscalationAskBody,
            lambda f: EscalationAskBody(reason=f.get("reason", "").strip()),
        )

    return await _take(token, request, client, read, service.ask_escalation, "asked")


def _invalid(e: ValidationError) -> Invalid:
    where = ".".join(str(x) for x in e.errors()[0]["loc"]) or "body"
    return Invalid(f"{where}: {e.errors()[0]['msg']}")


async def _read(request: Request, model: type[B], from_form: Callable[[dict[str, str]], B]) -> B:
    """The body of a customer page's form (urlencoded) or of a program's request (JSON)."""
    raw = (await request.body()).decode("utf-8", errors="replace")
    try:
        if _as_form(request):
            return from_form({k: v[0] for k, v in parse_qs(raw).items()})
        return model.model_validate_json(raw or "{}")
    except ValidationError as e:
        raise _invalid(e) from None


async def _take(
    token: str,
    request: Request,
    client: Any,
    read: Callable[[], Awaitable[B]],
    act: Callable[[Any, EscalationView, B], Awaitable[EscalationView]],
    notice: str,
) -> Response:
    """A customer's action from their link: the link checked, the body read, the flood limit
    taken, the update sent; the page again (303, with its notice) or the status as JSON."""
    try:
        claim = _claim(request, token)
        taken = await read()  # after the link: a forged link's body is never read
        view = await cases.query_state(client, claim.escalation_id)
        LIMIT.take(claim.escalation_id)
        await act(client, view, taken)
    except DomainError as e:
        return _refusal(request, e)
    if _as_form(request):
        return RedirectResponse(f"/status/{token}?{notice}=1", status_code=303)
    return JSONResponse((await _status(request, client, token)).model_dump(mode="json"))


def _as_form(request: Request) -> bool:
    return "application/json" not in request.headers.get("content-type", "")


@router.get(
    "/hours",
    summary="Where to escalate, our hours and response times (public)",
    description="From the live policy: the channels a customer may escalate on, each team's "
    "hours, and the first-response and resolution targets per severity. HTML for a browser, "
    "JSON otherwise.",
    response_model=PublicHours,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **_errors(503)},
)
async def hours(request: Request) -> Response:
    found = service.public_hours(request.app.state.policy_file.get())
    if not _wants_html(request):
        return JSONResponse(found.model_dump(mode="json"))
    return _page(request, "hours.html", hours=found)
