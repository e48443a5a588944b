"""/policy: the escalation policy in force for new cases (running cases keep the version they
were opened under)."""

from __future__ import annotations

import asyncio

import structlog
from fastapi import APIRouter
from pydantic import ValidationError

from activities.policy import read_policy
from api.auth import CurrentPerson
from api.deps import AppSettings
from api.errors import Unavailable
from api.schemas import error_responses
from workflows.policy import Policy

log = structlog.get_logger("api")

router = APIRouter(prefix="/policy", tags=["policy"])


@router.get(
    "",
    response_model=Policy,
    summary="The policy in force",
    description=(
        "The versioned escalation policy that new escalations pin at their start: triage "
        "rules, SLA targets, business-hours calendars (public holidays expanded), tier-1 "
        "exception catalogue, teams, the sign-off authority ladder, follow-up times and message "
        "templates, with its `version` and who signed it off (`signed_off_by`). **Who:** any "
        "role."
    ),
    responses=error_responses(401, 503),
)
async def get_policy(_: CurrentPerson, settings: AppSettings) -> Policy:
    try:
        return await asyncio.to_thread(read_policy, settings.policy_path)
    except (OSError, ValidationError, ValueError) as e:
        log.error("policy_unreadable", path=str(settings.policy_path), error=str(e)[:500])
        raise Unavailable(
            "The policy file cannot be read right now; an operator has to fix it."
        ) from e
