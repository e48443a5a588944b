"""Dependencies and parameters shared by the routers (Annotated aliases): the Temporal client
from app state, settings, the policy file, an escalation id in the path, the Idempotency-Key.

They are ``async def`` on purpose: FastAPI runs a plain ``def`` dependency in a thread pool, and
the hand-over costs far more than reading an attribute.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Header, Path, Request
from pydantic import BeforeValidator
from temporalio.client import Client

from api.errors import Invalid
from core.policy import LivePolicy
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

# A report window outside these bounds is a mistake (or a probe): refused with a 422 naming the
# field before any store or Temporal is asked (issue 31).
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def time_window(
    since: datetime | None, until: datetime | None
) -> tuple[datetime | None, datetime | None]:
    """`since` and `until` in UTC (no offset: UTC), each within 2000-01-01..2100-01-01 and
    `until` after `since`; otherwise 422 naming the field."""
    out: list[datetime | None] = []
    for name, t in (("since", since), ("until", until)):
        if t is not None:
            t = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
            if not EARLIEST <= t < LATEST:
                raise Invalid(f"{name}: must be on or after 2000-01-01 and before 2100-01-01 (UTC)")
        out.append(t)
    if out[0] is not None and out[1] is not None and out[1] <= out[0]:
        raise Invalid("until: must be after since")
    return out[0], out[1]
