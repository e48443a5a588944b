"""/console/escalate: an agent (or the help line) opens an escalation while the customer is on
the line. The form first shows what the agent may grant themselves and the knowledge base's
matches as they type (`/console/escalate/help`, a fragment the script asks for), so a needless
escalation is avoided before it starts; a case it opens goes through the same service as
`POST /escalations` (api/intake/service.py).

A double click, a retry or a reload after a lost answer opens one case: the form carries an
idempotency key made when it was drawn, which `static/intake.js` keeps with the draft in the
browser's local storage until the case is open (decision 0058).
"""

from __future__ import annotations

import uuid
from typing import Any, get_args

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from api.console import session
from api.console.forms import captured
from api.console.pages import Reader, SignedIn, form_of, page, sign_in_page
from api.deps import TemporalClient
from api.errors import DomainError, Forbidden
from api.intake import service
from workflows import capture
from workflows.access import Action, role_refusal
from workflows.models import Channel, CustomerTier, EscalationRequest, Remedy, RemedyKind, Trigger
from workflows.policy import Policy

router = APIRouter(prefix="/console/escalate", include_in_schema=False)

# the request's fields as the form names them (errors are shown beside these)
WHERE = {
    ("customer", "id"): "customer_id",
    ("customer", "name"): "customer_name",
    ("customer", "tier"): "customer_tier",
    ("customer", "contact", "email"): "email",
    ("customer", "contact", "phone"): "phone",
    ("customer", "contact", "preferred_channel"): "preferred_channel",
    ("requested_remedy", "kind"): "remedy_kind",
    ("requested_remedy", "amount"): "remedy_amount",
    ("requested_remedy", "description"): "remedy_description",
}


def categories(policy: Policy) -> list[str]:
    """Every category the policy names: the teams' skills, triage and the tier-1 catalogue."""
    named = {s for t in policy.teams for s in t.skills if s != "*"}
    named |= {c for r in policy.triage for c in r.categories}
    named |= {c for e in policy.tier1_catalogue for c in e.categories}
    return sorted(named)


def _remedy_fields(f: dict[str, str], currency: str) -> dict[str, Any] | None:
    kind = f.get("remedy_kind", "")
    if not kind:
        return None
    return {
        "kind": kind,
        "amount": f.get("remedy_amount") or 0,  # pydantic reads the number (or says why not)
        "currency": currency,
        "description": f.get("remedy_description", ""),
    }


def request_of(f: dict[str, str], currency: str) -> EscalationRequest:
    """The form as the API's request body (pydantic ValidationError on a bad answer)."""
    contact = {
        "email": f.get("email") or None,
        "phone": f.get("phone") or None,
        "preferred_channel": f.get("preferred_channel") or "email",
    }
    return EscalationRequest.model_validate(
        {
            "customer": {
                "id": f.get("customer_id", "").strip(),
                "name": f.get("customer_name", "").strip(),
                "tier": f.get("customer_tier") or "standard",
                "contact": contact,
            },
            "channel": f.get("channel") or "phone",
            "category": f.get("category", ""),
            "summary": f.get("summary", "").strip(),
            "details": f.get("details", ""),
            "trigger": f.get("trigger") or "customer_request",
            "requested_remedy": _remedy_fields(f, currency),
            **captured(f),
        }
    )


def capture_errors(fields: dict[str, str]) -> dict[str, str]:
    """The API's field names (`answers.<id>`) as the form's (`answer.<id>`)."""
    return {k.replace("answers.", "answer.", 1): v for k, v in fields.items()}


def guide_index(policy: Policy, category: str) -> int:
    """Which of the policy's capture guides the form shows for a category (-1: none)."""
    found = capture.guide(policy, category)
    return next((i for i, g in enumerate(policy.capture) if g is found), -1)


def errors_by_field(e: ValidationError) -> dict[str, str]:
    out: dict[str, str] = {}
    for err in e.errors():
        loc = tuple(str(x) for x in err["loc"])
        name = WHERE.get(loc) or (loc[0] if loc else "form")
        out.setdefault(name, err["msg"])
    return out


def _refusal(r: Reader) -> str | None:
    return role_refusal(Action.OPEN, r.person.role)


def _form(
    request: Request, r: Reader, status: int = 200, values: dict[str, str] | None = None, **ctx: Any
) -> Response:
    policy = request.app.state.policy_file.get()
    values = values or {}
    return page(
        request,
        "escalate.html",
        status,
        person=r.person,
        csrf=r.csrf,
        values=values,
        key=values.get("idempotency_key") or uuid.uuid4().hex,
        choices={
            "category": categories(policy),
            "trigger": get_args(Trigger),
            "channel": get_args(Channel),
            "preferred_channel": get_args(Channel),
            "customer_tier": get_args(CustomerTier),
            "remedy_kind": get_args(RemedyKind),
        },
        currency=policy.currency,
        guides=policy.capture,
        capture_map={c: guide_index(policy, c) for c in categories(policy)},
        chosen=guide_index(policy, values.get("category") or "billing"),
        **ctx,
    )


@router.get("")
async def escalate_form(request: Request, r: SignedIn) -> Response:
    if (why := _refusal(r)) is not None:
        return page(request, "error.html", 403, person=r.person, csrf=r.csrf, error=Forbidden(why))
    return _form(request, r)


@router.get("/help")
async def escalate_help(request: Request, r: SignedIn) -> Response:
    """What the agent may grant, the customer's budget and the knowledge base, for the answers
    typed so far (a fragment of the form)."""
    if (why := _refusal(r)) is not None:
        raise Forbidden(why)
    q = request.query_params
    policy = request.app.state.policy_file.get()
    fields = _remedy_fields(dict(q), policy.currency)
    try:
        remedy = Remedy.model_validate(fields) if fields else None
    except ValidationError:  # half typed: no decision yet
        remedy = None
    found = await service.intake_help(
        policy,
        request.app.state.report_store,
        request.app.state.kb,
        r.person,
        category=q.get("category", "")[:64],
        customer_id=q.get("customer_id", "").strip()[:128],
        remedy=remedy,
        text=" ".join(q.get(k, "") for k in ("summary", "details")),
    )
    return page(request, "_escalate_help.html", help=found)


@router.post("")
async def escalate(request: Request, client: TemporalClient) -> Response:
    found = session.current(request)
    values = await form_of(request)
    if found is None:  # nothing opened; the draft stays in the browser
        return sign_in_page(
            request,
            "Your session has ended, so no case was opened. Sign in and send it again.",
            401,
            "/console/escalate",
        )
    r = Reader(*found, request.app.state.settings)
    try:
        session.check_csrf(r.settings, r.session, values.get("csrf"))
    except session.StaleForm:
        return _form(
            request,
            r,
            403,
            values,
            refusal="This form was not sent by your console "
            "session (forged or out of date). Nothing was opened.",
        )
    if (why := _refusal(r)) is not None:
        return page(request, "error.html", 403, person=r.person, csrf=r.csrf, error=Forbidden(why))
    policy = request.app.state.policy_file.get()
    try:
        body = request_of(values, policy.currency)
    except ValidationError as e:
        return _form(
            request,
            r,
            422,
            values,
            errors=errors_by_field(e),
            refusal="Some answers need a change: see the form. Nothing was opened.",
        )
    key = values.get("idempotency_key") or None
    try:
        view, _ = await service.open_case(
            client, r.settings, request.app.state.policy_file, body, r.person, key
        )
    except service.CaptureInvalid as e:
        return _form(
            request,
            r,
            422,
            values,
            errors=capture_errors(e.fields),
            refusal="The policy asks for some answers before this can escalate: see the "
            "questions. Nothing was opened.",
        )
    except DomainError as e:
        return _form(request, r, e.status_code, values, refusal=f"{e.detail} Nothing was opened.")
    return RedirectResponse(f"/console/cases/{view.id}?opened=1", status_code=303)
