"""One error shape for every failure: {"error": "<kind>", "detail": "<human sentence>"}."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = structlog.get_logger("api")


class ErrorBody(BaseModel):
    error: str = Field(description="Machine-readable kind", examples=["not_found"])
    detail: str = Field(description="A sentence for a human", examples=["No escalation E-123."])


class DomainError(Exception):
    status_code = 400
    kind = "bad_request"
    # Seconds a client should wait before retrying (the Retry-After header), where it helps.
    retry_after: int | None = None

    def __init__(self, detail: str, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if retry_after is not None:
            self.retry_after = retry_after


class Unauthorized(DomainError):
    status_code, kind = 401, "unauthorized"


class Forbidden(DomainError):
    status_code, kind = 403, "forbidden"


class NotFound(DomainError):
    status_code, kind = 404, "not_found"


class Conflict(DomainError):
    status_code, kind = 409, "conflict"


class Gone(DomainError):
    """A signed link past its expiry (feedback and status links)."""

    status_code, kind = 410, "expired"


class PayloadTooLarge(DomainError):
    status_code, kind = 413, "payload_too_large"


class Invalid(DomainError):
    status_code, kind = 422, "invalid"


class TooManyRequests(DomainError):
    status_code, kind = 429, "too_many_requests"
    retry_after = 1


class Unavailable(DomainError):
    status_code, kind = 503, "unavailable"
    retry_after = 5


def error_response(
    status: int, kind: str, detail: str, headers: dict | None = None
) -> JSONResponse:
    return JSONResponse(
        status_code=status, content={"error": kind, "detail": detail}, headers=headers
    )


def _field(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def add_exception_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(_: Request, exc: DomainError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        if exc.retry_after is not None:
            headers["Retry-After"] = str(exc.retry_after)
        return error_response(exc.status_code, exc.kind, exc.detail, headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        msgs = [f"{_field(tuple(e['loc']))}: {e['msg']}" for e in exc.errors()[:10]]
        return error_response(422, "invalid", "; ".join(msgs) or "invalid request")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            # FastAPI's answer to a body it cannot decode at all (e.g. not UTF-8): the contract
            # says an invalid body is 422, in the one error shape, naming the field.
            return error_response(422, "invalid", "body: not valid JSON (UTF-8 expected)")
        kinds = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        return error_response(
            exc.status_code,
            kinds.get(exc.status_code, "http_error"),
            str(exc.detail),
            getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled_error", path=request.url.path)
        return error_response(500, "internal", "Something went wrong on our side; it is logged.")
