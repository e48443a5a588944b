"""The validators' checks: the access table (role, then stage) and the case's own rules. They
raise the errors the API maps to 403 (Forbidden) and 409 (Conflict); they change nothing."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows import access
    from workflows.access import Action
    from workflows.models import Actor, EscalationState, PendingApproval
    from workflows.stages import Stage


def conflict(detail: str) -> ApplicationError:
    return ApplicationError(detail, type="Conflict", non_retryable=True)


def forbidden(detail: str) -> ApplicationError:
    return ApplicationError(detail, type="Forbidden", non_retryable=True)


def invalid(detail: str) -> ApplicationError:
    return ApplicationError(detail, type="Invalid", non_retryable=True)


def allowed(s: EscalationState, action: Action, actor: Actor) -> None:
    """The access table: the caller's role (403), then the case's stage (409)."""
    refusal = access.role_refusal(action, actor.role)
    if refusal:
        raise forbidden(refusal)
    refusal = access.stage_refusal(action, Stage(s.stage))
    if refusal:
        raise conflict(refusal)


def owner_only(s: EscalationState, action: Action, actor: Actor) -> None:
    """Only the case's owner acts on it; their team may take it over (403 otherwise)."""
    refusal = access.ownership_refusal(
        action, actor.id, actor.team, s.assignee, s.assignee_name, s.assigned_team
    )
    if refusal:
        raise forbidden(refusal)


def not_the_proposer(actor: Actor, pending: PendingApproval) -> None:
    """Four eyes: whoever proposed the remedy never signs it off, even when a reassignment or a
    new role gave them the authority (403). A proposal made before the id was kept is matched
    by the proposer's name."""
    proposer = pending.proposed_by_id or (actor.id if actor.name == pending.proposed_by else None)
    refusal = access.four_eyes_refusal(Action.DECIDE, actor.id, (proposer,))
    if refusal:
        raise forbidden(refusal)
