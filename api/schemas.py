"""What every domain's schemas share: the base of a request body (unknown fields refused) and
the documented error answers of a route. Each domain's own models are in its `schemas.py`
(api/cases/schemas.py for the action bodies, which carry no actor: the API adds it from the
caller's token); the workflow's contracts are in workflows/models.py, inputs.py and views.py."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from api.errors import ErrorBody


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for a route: each listed error code with the one error shape."""
    text = {
        401: "No token, or an unknown token",
        403: "The caller's role or authority is too low",
        404: "Unknown escalation",
        409: "The action does not fit the escalation's stage (or the case is closed)",
        413: "Body larger than 1 MiB",
        422: "Invalid body or parameter (the detail names the field)",
        429: "This token's request budget is spent, or too many unknown tokens came from this "
        "address or with this token's prefix (per API process); retry after `Retry-After` "
        "seconds",
        503: "Temporal is unreachable or too slow; retry after `Retry-After` seconds",
    }
    if 401 in codes:  # every authenticated route: a budget per token, a throttle on failures
        codes = tuple(sorted({*codes, 429}))
    return {c: {"model": ErrorBody, "description": text[c]} for c in codes}
