"""Temporal client exceptions -> the API's domain errors (one place, used by every router).

- an update validator's ApplicationError: type "Forbidden" -> 403, "Conflict" -> 409,
  "Invalid" -> 422, "NotFound" -> 404 (any other type -> 409 with its message);
- unknown workflow -> 404; workflow already completed (closed/cancelled case) -> 409;
- Temporal unreachable, overloaded or too slow -> 503.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from temporalio.client import (
    RPCTimeoutOrCancelledError,
    WorkflowQueryFailedError,
    WorkflowQueryRejectedError,
    WorkflowUpdateFailedError,
)
from temporalio.exceptions import ApplicationError, FailureError
from temporalio.service import RPCError, RPCStatusCode

from api.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, Unavailable

log = structlog.get_logger("api")

_BY_TYPE: dict[str, type[DomainError]] = {
    "Forbidden": Forbidden,
    "Conflict": Conflict,
    "Invalid": Invalid,
    "NotFound": NotFound,
}
_UNAVAILABLE = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.ABORTED,
    RPCStatusCode.UNKNOWN,
    RPCStatusCode.INTERNAL,
    RPCStatusCode.UNAUTHENTICATED,
    RPCStatusCode.PERMISSION_DENIED,
}


def _completed(message: str) -> bool:
    m = message.lower()
    return "already completed" in m or "already finished" in m or "workflow is closed" in m


def to_domain_error(exc: BaseException, escalation_id: str | None = None) -> DomainError | None:
    """The domain error for a Temporal exception, or None when it is not a Temporal failure."""
    what = f"escalation {escalation_id}" if escalation_id else "the escalation"
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, WorkflowUpdateFailedError):
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            cls = _BY_TYPE.get(cause.type or "", Conflict)
            return cls(cause.message or f"The action was refused by {what}.")
        if isinstance(cause, FailureError):
            return Conflict(f"The action failed on {what}: {cause.message}")
        return Conflict(f"The action failed on {what}.")
    if isinstance(exc, RPCError):
        if exc.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION) and (
            _completed(exc.message)
        ):
            return Conflict(f"{what.capitalize()} is closed; it takes no more actions.")
        if exc.status == RPCStatusCode.NOT_FOUND:
            return NotFound(f"No {what}." if escalation_id else "Not found.")
        # the server's own text goes to the log only: it names internals, never the caller's field
        if exc.status == RPCStatusCode.FAILED_PRECONDITION:
            log.warning("temporal_refused", status=exc.status.name, message=exc.message)
            return Conflict(f"{what.capitalize()} cannot take this action now.")
        if exc.status == RPCStatusCode.INVALID_ARGUMENT:
            log.warning("temporal_refused", status=exc.status.name, message=exc.message)
            return Invalid("The request could not be carried out as given; check its values.")
        if exc.status == RPCStatusCode.ALREADY_EXISTS:
            log.warning("temporal_refused", status=exc.status.name, message=exc.message)
            return Conflict(f"{what.capitalize()} already exists.")
        if exc.status in _UNAVAILABLE:
            log.warning("temporal_unavailable", status=exc.status.name, message=exc.message)
            return Unavailable("Temporal is not reachable or too busy right now; retry shortly.")
        return Unavailable(f"Temporal answered {exc.status.name}; retry shortly.")
    if isinstance(exc, WorkflowQueryRejectedError):
        return Conflict(f"{what.capitalize()} cannot be read in its current state.")
    if isinstance(exc, WorkflowQueryFailedError):
        if "unknown queryType" in exc.message or "not registered" in exc.message.lower():
            return NotFound(f"No {what}.")
        log.warning("query_failed", message=exc.message)
        return Unavailable(f"The state of {what} cannot be read right now; retry shortly.")
    if isinstance(exc, RPCTimeoutOrCancelledError | asyncio.TimeoutError | TimeoutError):
        return Unavailable(
            "Temporal did not answer in time; the action may still complete. Retry with the "
            "same Idempotency-Key to be safe."
        )
    if isinstance(exc, RuntimeError) and "connect" in str(exc).lower():
        # A lazy client that cannot reach the server raises RuntimeError("Failed client connect")
        log.warning("temporal_unavailable", message=str(exc))
        return Unavailable("Temporal is not reachable right now; retry shortly.")
    if isinstance(exc, ConnectionError | OSError):
        return Unavailable("Temporal is not reachable right now; retry shortly.")
    return None


@asynccontextmanager
async def temporal_errors(escalation_id: str | None = None) -> AsyncIterator[None]:
    """Translate Temporal exceptions raised in the block into domain errors."""
    try:
        yield
    except DomainError:
        raise
    except Exception as exc:
        err = to_domain_error(exc, escalation_id)
        if err is None:
            raise
        raise err from exc
