"""/feedback: where a customer answers a check-in (the link in the check-in message).

No directory token: the link's signed, expiring token is the authority (core/feedback.py). A
browser gets a small server-rendered form (`GET /feedback/{token}`) that posts back to the same
address; a program posts JSON to `POST /feedback`. Either way the answer is the workflow update
`customer_feedback` (signed by the API as every action is), recorded once per check-in: a
reused link is 409, a forged one 403, an expired one 410, always in the one error shape (an
HTML page with the same status for a browser).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, Field, ValidationError

from api import gateway
from api.console.pages import templates
from api.deps import TemporalClient
from api.errors import Conflict, DomainError, ErrorBody, Forbidden, Invalid
from core.feedback import BadToken, Claim, FeedbackLinks
from workflows.access import Action
from workflows.inputs import FeedbackAnswer, FeedbackFields
from workflows.models import Actor, Stage

router = APIRouter(prefix="/feedback", tags=["customer feedback"])

CUSTOMER = Actor(id="customer", name="Customer (feedback link)", role="customer")
TOKEN_MAX = 512


class Gone(DomainError):
    status_code, kind = 410, "expired"


# The answer's fields as the update takes them (workflows/inputs.py), minus the check-in and
# the actor, which the link names.
class FeedbackBody(FeedbackFields):
    pass


class FeedbackRequest(FeedbackBody):
    token: str = Field(
        min_length=1, max_length=TOKEN_MAX, description="The token of the check-in's link"
    )


class FeedbackReceipt(BaseModel):
    escalation_id: str = Field(examples=["E-3F2A9C0B7D1E4A55"])
    check_in: str = Field(description="The check-in answered", examples=["0.1"])
    score: int = Field(examples=[4])
    still_broken: bool = Field(examples=[False])
    being_worked_on: bool = Field(
        description="The case is (again) with the team: a low rating or `still_broken` "
        "reopened it, or it was already open",
        examples=[False],
    )
    recorded_at: datetime = Field(description="When the answer was recorded on the case")


def _error_doc(html: bool) -> dict[int | str, dict[str, Any]]:
    text = {
        403: "The link is not one we sent, or it was altered",
        404: "No such escalation",
        409: "This check-in was already answered (a link records one answer), or the case is "
        "closed",
        410: "The link has expired",
        422: "Invalid answer (the detail names the field)",
        503: "The service is unavailable; retry later",
    }
    content: dict[str, Any] = {
        "application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}
    }
    if html:
        content["text/html"] = {"schema": {"type": "string"}}
    return {c: {"model": ErrorBody, "description": d, "content": content} for c, d in text.items()}


HTML_OK: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}}
}


def _links(request: Request) -> FeedbackLinks:
    return FeedbackLinks.from_settings(request.app.state.settings)


def _claim(request: Request, token: str) -> Claim:
    try:
        return _links(request).verify(token)
    except BadToken as e:
        raise (Gone if e.kind == "expired" else Forbidden)(str(e)) from None


async def _record(client: Any, claim: Claim, body: FeedbackBody) -> FeedbackReceipt:
    arg = FeedbackAnswer(actor=CUSTOMER, key=claim.key, **body.model_dump())
    view = await gateway.run_update(
        client, claim.escalation_id, Action.CUSTOMER_FEEDBACK, arg, CUSTOMER.id, None
    )
    mine = next((f for f in reversed(view.feedback) if f.key == claim.key), None)
    return FeedbackReceipt(
        escalation_id=claim.escalation_id,
        check_in=claim.key,
        score=body.score,
        still_broken=body.still_broken,
        being_worked_on=view.stage
        in (Stage.HELPLINE_CONSULT, Stage.SPECIALIST, Stage.EXECUTIVE_SIGNOFF),
        recorded_at=mine.at if mine else view.updated_at,
    )


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _page(request: Request, status: int, **ctx: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, "feedback.html", ctx, status)


def _refusal(request: Request, e: DomainError) -> Response:
    if _wants_html(request):
        response: Response = _page(request, e.status_code, error=e)
    else:
        response = JSONResponse({"error": e.kind, "detail": e.detail}, status_code=e.status_code)
    if e.retry_after is not None:
        response.headers["Retry-After"] = str(e.retry_after)
    return response


Token = Annotated[
    str, Path(min_length=1, max_length=TOKEN_MAX, description="The token of the check-in's link")
]


@router.get(
    "/{token}",
    summary="The feedback form of a check-in (for the customer's browser)",
    description="Public: the link's token is the authority. A small accessible HTML form "
    '(rating 1-5, comment, "the problem is back") posting to the same address. Refusals '
    "(forged 403, expired 410, already answered 409) are an HTML page for a browser "
    "(`Accept: text/html`), otherwise the one JSON error shape.",
    response_class=HTMLResponse,
    responses={**HTML_OK, **_error_doc(True)},
)
async def form(token: Token, request: Request, client: TemporalClient) -> Response:
    try:
        claim = _claim(request, token)
        view = await gateway.query_state(client, claim.escalation_id)
    except DomainError as e:
        return _refusal(request, e)
    if any(f.key == claim.key for f in view.feedback):
        return _refusal(request, Conflict(ANSWERED))
    return _page(request, 200, claim=claim, summary=view.summary, token=token)


ANSWERED = "You have already answered this check-in; thank you."
FORM_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["score"],
                "properties": {
                    "score": {"type": "integer", "minimum": 1, "maximum": 5},
                    "comment": {"type": "string", "maxLength": 5000},
                    "still_broken": {"type": "string", "enum": ["on"]},
                },
            },
            "example": {"score": 2, "comment": "Charged again this month", "still_broken": "on"},
        }
    },
}


@router.post(
    "/{token}",
    summary="Answer a check-in from the feedback form",
    description="The form of `GET /feedback/{token}` posts here (urlencoded). Records the "
    "answer once per check-in and answers with a thank-you page; a rating at or below the "
    "policy's `feedback_reopen_at_most`, or `still_broken`, reopens a resolved case. Refusals as "
    "for the form (and 422 for an invalid answer).",
    response_class=HTMLResponse,
    responses={**HTML_OK, **_error_doc(True)},
    openapi_extra={"requestBody": FORM_BODY},
)
async def answer_form(token: Token, request: Request, client: TemporalClient) -> Response:
    raw = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    fields = {k: v[0] for k, v in raw.items()}
    try:
        claim = _claim(request, token)
        try:
            body = FeedbackBody(
                score=fields.get("score", ""),  # type: ignore[arg-type]  # pydantic parses
                comment=fields.get("comment", ""),
                still_broken=fields.get("still_broken") in ("on", "true", "1"),
            )
        except ValidationError as e:
            where = ".".join(str(x) for x in e.errors()[0]["loc"]) or "body"
            raise Invalid(f"{where}: {e.errors()[0]['msg']}") from None
        receipt = await _record(client, claim, body)
    except DomainError as e:
        if e.status_code == 409 and "already answered" in e.detail:
            e = Conflict(ANSWERED)
        return _refusal(request, e)
    return _page(request, 200, receipt=receipt)


@router.post(
    "",
    summary="Answer a check-in (JSON)",
    description="Public: the token of the check-in's link is the authority (no bearer token). "
    "The same as the form: one answer per check-in (409 when reused), 403 for a link we did not "
    "send, 410 once expired.",
    response_model=FeedbackReceipt,
    responses=_error_doc(False),
)
async def answer(
    request: Request, body: FeedbackRequest, client: TemporalClient
) -> FeedbackReceipt:
    claim = _claim(request, body.token)
    return await _record(client, claim, FeedbackBody(**body.model_dump(exclude={"token"})))
