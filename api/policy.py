"""/policy: the escalation policy in force for new cases (running cases keep the version they
were opened under)."""

from __future__ import annotations

import asyncio
from typing import Annotated

import structlog
from fastapi import APIRouter, Query
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from api.auth import CurrentPerson
from api.deps import CurrentPolicyFile
from api.errors import Unavailable
from api.schemas import error_responses
from core.policy import LivePolicy
from workflows import capture
from workflows.policy import CaptureGuide, Policy

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
async def get_policy(_: CurrentPerson, policy_file: CurrentPolicyFile) -> Policy:
    return (await policy_with_json(policy_file))[0]


@router.get(
    "/capture",
    response_model=CaptureGuide,
    summary="What to capture for a category",
    description=(
        "The questions the frontline asks for this category before escalating (their ids are "
        "the keys of `answers` in `POST /escalations`; the required ones must be answered "
        "before a case goes to a specialist) and the de-escalation checklist, from the policy "
        "in force. A category no guide names gets the catch-all guide, or none (empty lists). "
        "**Who:** any role."
    ),
    responses=error_responses(401, 422, 503),
)
async def get_capture(
    _: CurrentPerson,
    policy_file: CurrentPolicyFile,
    category: Annotated[
        str,
        Query(
            max_length=64,
            description="The case's category (none: the catch-all guide)",
            examples=["billing"],
        ),
    ] = "",
) -> CaptureGuide:
    policy = (await policy_with_json(policy_file))[0]
    return capture.guide(policy, category)


async def policy_with_json(policy_file: LivePolicy) -> tuple[Policy, dict]:
    """The policy new cases open under (the store's live version), or 503."""
    try:
        return await asyncio.to_thread(policy_file.get_with_json)
    except ValidationError as e:
        first = e.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "policy"
        log.error("policy_invalid", path=str(policy_file.path), error=str(e)[:500])
        raise Unavailable(
            f"The policy in force is invalid ({where}: {first['msg']}); an operator has to fix "
            "it. No case was started."
        ) from e
    except (OSError, ValueError, SQLAlchemyError) as e:
        log.error("policy_unreadable", path=str(policy_file.path), error=str(e)[:500])
        raise Unavailable(
            "The policy in force cannot be read right now; an operator has to fix it."
        ) from e
