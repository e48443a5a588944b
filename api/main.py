"""The FastAPI application.

    escalations-api          (or: python -m api)
"""

from __future__ import annotations

import time
import uuid
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Request
from prometheus_client import Counter, Histogram

from api import health
from api.errors import add_exception_handlers
from core.logging import setup_logging
from core.settings import Settings, get_settings
from core.temporal import connect

log = structlog.get_logger("api")

REQUESTS = Counter("api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("api_request_seconds", "HTTP request latency", ["method", "route"])


def create_app(settings: Settings | None = None, client=None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        setup_logging(settings.log_format, settings.log_level)
        app.state.settings = settings
        app.state.temporal = client or await connect(settings, lazy=True)
        log.info("api_started", temporal=settings.temporal_address)
        yield

    app = FastAPI(
        title="Escalation management",
        version="1.0",
        description=(
            "Start, drive, inspect and report on customer escalations. Each escalation is a "
            "durable Temporal workflow (`escalation-<id>`). Every path except the operations "
            "endpoints needs `Authorization: Bearer <token>`; errors are always "
            '`{"error": "<kind>", "detail": "<sentence>"}`.'
        ),
        lifespan=lifespan,
    )
    add_exception_handlers(app)

    @app.middleware("http")
    async def request_context(request: Request, call_next):
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", "unmatched")
        LATENCY.labels(request.method, route).observe(time.perf_counter() - start)
        REQUESTS.labels(request.method, route, response.status_code).inc()
        response.headers["X-Request-ID"] = request_id
        return response

    app.include_router(health.router)
    from api.routes import include_routers

    include_routers(app)
    return app


def main() -> None:
    import uvicorn

    settings = get_settings()
    setup_logging(settings.log_format, settings.log_level)
    uvicorn.run(
        create_app(settings), host=settings.api_host, port=settings.api_port,
        log_config=None, access_log=False,
    )


if __name__ == "__main__":
    main()
