"""Recording a customer's answer to a check-in: the link's token verified (core/feedback.py),
the answer sent as the workflow update `customer_feedback`, signed by the API as every action
is. Called by the feedback router's form and JSON routes."""

from __future__ import annotations

from typing import Any

from api.cases import service as cases
from api.errors import Conflict, Forbidden, Gone
from api.feedback.schemas import FeedbackBody, FeedbackReceipt
from core.feedback import BadToken, Claim, FeedbackLinks
from core.settings import Settings
from workflows.access import Action
from workflows.inputs import FeedbackAnswer
from workflows.models import Actor, Stage
from workflows.views import EscalationView

CUSTOMER = Actor(id="customer", name="Customer (feedback link)", role="customer")
ANSWERED = "You have already answered this check-in; thank you."


def claim_of(settings: Settings, token: str) -> Claim:
    """What a link's token names: 403 for a link we did not send, 410 once expired."""
    try:
        return FeedbackLinks.from_settings(settings).verify(token)
    except BadToken as e:
        raise (Gone if e.kind == "expired" else Forbidden)(str(e)) from None


async def unanswered(client: Any, claim: Claim) -> EscalationView:
    """The case of a check-in still to answer (409 once answered)."""
    view = await cases.query_state(client, claim.escalation_id)
    if any(f.key == claim.key for f in view.feedback):
        raise Conflict(ANSWERED)
    return view


async def record(client: Any, claim: Claim, body: FeedbackBody) -> FeedbackReceipt:
    arg = FeedbackAnswer(actor=CUSTOMER, key=claim.key, **body.model_dump())
    view = await cases.run_update(
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
