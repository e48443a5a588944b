"""Dependencies and parameters shared by the routers (Annotated aliases): the Temporal client
from app state, settings, the policy file, an escalation id in the path, the Idempotency-Key.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in a thread pool, and
the hand-over costs far more than reading an attribute.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from pydantic import BeforeValidator
from temporalio.client import Client

from activities.policy import LivePolicy
from core.settings import Settings


async def get_client(request: Request) -> Client:
    return request.app.state.temporal


async def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_policy_file(request: Request) -> LivePolicy:
    return request.app.state.policy_file


TemporalClient = Annotated[Client, Depends(get_client)]
CurrentPolicyFile = Annotated[LivePolicy, Depends(get_policy_file)]
AppSettings = Annotated[Settings, Depends(get_app_settings)]
IdParam = Annotated[
    str,
    Path(description="Escalation id, e.g. `E-3F2A9C0B7D1E4A55`", examples=["E-3F2A9C0B7D1E4A55"]),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=256,
        description="Any unique string per intended action. A retry with the same key returns "
        "the first result instead of acting twice.",
    ),
]


def _iso_8601(value: object) -> object:
    # pydantic would read a bare number as seconds since 1970; a report window is a time
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?[\d.]+([eE][-+]?\d+)?\s*", value):
        raise ValueError("an ISO 8601 time, e.g. 2026-01-01T00:00:00Z, not a number")
    return value


IsoTime = Annotated[datetime, BeforeValidator(_iso_8601)]
