"""/feedback: where a customer answers a check-in (the link in the check-in message).

No directory token: the link's signed, expiring token is the authority (core/feedback.py). A
browser gets a small server-rendered form (`GET /feedback/{token}`) that posts back to the same
address; a program posts JSON to `POST /feedback`. Either way the answer is the workflow update
`customer_feedback` (signed by the API as every action is), recorded once per check-in: a
reused link is 409, a forged one 403, an expired one 410, always in the one error shape (an
HTML page with the same status for a browser).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from api.console.pages import templates
from api.deps import TemporalClient
from api.errors import Conflict, DomainError, ErrorBody, Invalid
from api.feedback import service
from api.feedback.schemas import TOKEN_MAX, FeedbackBody, FeedbackReceipt, FeedbackRequest
from core.feedback import Claim

router = APIRouter(prefix="/feedback", tags=["customer feedback"])


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


def _claim(request: Request, token: str) -> Claim:
    return service.claim_of(request.app.state.settings, token)


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
        view = await service.unanswered(client, claim)
    except DomainError as e:
        return _refusal(request, e)
    return _page(request, 200, claim=claim, summary=view.summary, token=token)


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
        receipt = await service.record(client, claim, body)
    except DomainError as e:
        if e.status_code == 409 and "already answered" in e.detail:
            e = Conflict(service.ANSWERED)
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
    return await service.record(client, claim, FeedbackBody(**body.model_dump(exclude={"token"})))
