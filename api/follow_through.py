"""/escalations/{id}/...: the actions that follow a case through besides its main path:
callbacks promised to the customer, the manager's reassign and chase, and contributions asked
of other teams. Each is one workflow update, documented and answered as in `api.actions`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from api import gateway
from api.actions import action_doc
from api.auth import actor_of, get_directory, require
from api.deps import IdempotencyKey, IdParam, TemporalClient
from api.errors import Invalid
from api.schemas import (
    CallbackBody,
    CallbackDoneBody,
    ChaseBody,
    ContributionAnswerBody,
    ContributionBody,
    ReassignBody,
)
from core.directory import DirectoryEntry
from workflows.access import Action
from workflows.inputs import (
    CallbackDone,
    CallbackPromise,
    ChaseOwner,
    ContributionAnswer,
    ContributionRequest,
    ReassignCase,
)
from workflows.views import EscalationView

router = APIRouter(prefix="/escalations", tags=["escalations"])


@router.post(
    "/{escalation_id}/callbacks",
    **action_doc(
        Action.PROMISE_CALLBACK,
        "Promise the customer a callback",
        "An agent, or the case's owner (a specialist on another's case: 403), promises to call "
        "the customer back at `at`. The promiser is reminded the policy's "
        "`callback_reminder_min` business minutes before (their team's hours; the frontline "
        "office's for agents; wall clock on P1); not recorded done within "
        "`callback_grace_min` after `at`, it is recorded as missed (`callback_missed`, a "
        "breach of promise) and the manager is told. 422 for a time in the past, more than 30 "
        "days out, or outside the promiser's business hours. The case's `callbacks` list it "
        "with its number.",
    ),
)
async def promise_callback(
    escalation_id: IdParam,
    body: CallbackBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.PROMISE_CALLBACK))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = CallbackPromise(actor=actor_of(person), at=body.at, note=body.note)
    return await gateway.run_update(
        client, escalation_id, Action.PROMISE_CALLBACK, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/callbacks/{number}/done",
    **action_doc(
        Action.CALLBACK_DONE,
        "Record a promised callback as done",
        "Done by its time (and grace) keeps the promise; after it, the callback stays recorded "
        "as missed and the call is recorded late. 409 when already recorded done; 422 for a "
        "number the case does not have.",
    ),
)
async def callback_done(
    escalation_id: IdParam,
    number: Annotated[
        int, Path(ge=1, le=10_000, description="The callback's number", examples=[1])
    ],
    person: Annotated[DirectoryEntry, Depends(require(Action.CALLBACK_DONE))],
    client: TemporalClient,
    body: CallbackDoneBody | None = None,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = CallbackDone(actor=actor_of(person), number=number, note=body.note if body else "")
    return await gateway.run_update(
        client, escalation_id, Action.CALLBACK_DONE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/reassign",
    **action_doc(
        Action.REASSIGN,
        "Reassign the case to another specialist",
        "The escalated-accounts manager moves the case to `assignee` (a specialist in the "
        "directory; 422 otherwise, 409 when they already own it). The new owner is told as on "
        "a transfer and must acknowledge within their team's window (the window restarts; "
        "unacknowledged, the case is re-routed as usual); the SLA clocks move to the new "
        "team's hours. Recorded as `reassigned` by the manager.",
    ),
)
async def reassign(
    escalation_id: IdParam,
    body: ReassignBody,
    request: Request,
    person: Annotated[DirectoryEntry, Depends(require(Action.REASSIGN))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    to = get_directory(request).by_id(body.assignee)
    if to is None or to.role != "specialist":
        raise Invalid(f"assignee: {body.assignee[:80]} is not a specialist in the directory")
    new_owner = to.as_person()
    arg = ReassignCase(actor=actor_of(person), to=new_owner, reason=body.reason)
    return await gateway.run_update(
        client, escalation_id, Action.REASSIGN, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/chase",
    **action_doc(
        Action.CHASE,
        "Chase the case's owner",
        "A staff message to the owner (the assignee) on their channels, recorded as "
        "`owner_chased`. 409 while the case has no owner.",
    ),
)
async def chase(
    escalation_id: IdParam,
    body: ChaseBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.CHASE))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = ChaseOwner(actor=actor_of(person), message=body.message)
    return await gateway.run_update(
        client, escalation_id, Action.CHASE, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/contributions",
    **action_doc(
        Action.REQUEST_CONTRIBUTION,
        "Ask another team for a contribution",
        "Only the case's owner (403 for anyone else). The team's specialists are asked "
        "`question`; they have `within_h` business hours on their own calendar, never beyond "
        "the resolution clock's due time (the deadline is capped there, and pulled in if that "
        "due time moves earlier). Unanswered by then, the contribution is breached "
        "(`contribution_breached`): the team's supervisors and the owner are told. Several may "
        "be open; the case's `contributions` list them. 422 for an unknown team or the case's "
        "own; 409 when the resolution clock has no time left.",
    ),
)
async def request_contribution(
    escalation_id: IdParam,
    body: ContributionBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.REQUEST_CONTRIBUTION))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = ContributionRequest(actor=actor_of(person), **body.model_dump())
    return await gateway.run_update(
        client, escalation_id, Action.REQUEST_CONTRIBUTION, arg, person.id, idempotency_key
    )


@router.post(
    "/{escalation_id}/contributions/{number}/answer",
    **action_doc(
        Action.ANSWER_CONTRIBUTION,
        "Answer a contribution asked of your team",
        "A specialist of the team asked (403 for another team's) or a supervisor. The case's "
        "owner is told. 409 when already answered; 422 for a number the case does not have. "
        "An answer after the deadline is recorded late; the breach stays.",
    ),
)
async def answer_contribution(
    escalation_id: IdParam,
    number: Annotated[int, Path(ge=1, le=10_000, description="The contribution's number")],
    body: ContributionAnswerBody,
    person: Annotated[DirectoryEntry, Depends(require(Action.ANSWER_CONTRIBUTION))],
    client: TemporalClient,
    idempotency_key: IdempotencyKey = None,
) -> EscalationView:
    arg = ContributionAnswer(actor=actor_of(person), number=number, answer=body.answer)
    return await gateway.run_update(
        client, escalation_id, Action.ANSWER_CONTRIBUTION, arg, person.id, idempotency_key
    )
