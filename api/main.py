"""The FastAPI application.

escalations-api          (or: python -m api)
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from prometheus_client import Counter, Histogram

from api import docs_page, gateway, health
from api.auth import FailureThrottle, RateLimiter, StartupRefused, load_people
from api.console import mount as mount_console
from api.console.session import session_secret_refusal
from api.errors import add_exception_handlers, error_response
from api.oidc import OidcVerifier, issuer_origin
from api.oidc import start_refusal as oidc_start_refusal
from api.security_headers import SecurityHeaders
from core.codec import PayloadKeyError, codec_from_settings
from core.directory import reload_on_sighup
from core.feedback import feedback_secret_refusal
from core.kb import KnowledgeBase
from core.logging import setup_logging
from core.policy import LivePolicy
from core.report_store import ReportStore
from core.settings import Settings, get_settings
from core.signing import ActionKeyError, signer_from_settings, signing_client
from core.temporal import connect

log = structlog.get_logger("api")

REQUESTS = Counter("api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("api_request_seconds", "HTTP request latency", ["method", "route"])


MAX_BODY_BYTES = 1024 * 1024
STATIC = Path(__file__).resolve().parent / "static"


class BodySizeLimit:
    """Refuse request bodies over `max_bytes` with 413 in the one error shape, whether the size
    is declared (Content-Length) or only seen while streaming (chunked). The body is read here,
    at most `max_bytes` + 1 bytes, and replayed to the application."""

    def __init__(self, app, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, scope, receive, send) -> None:
        detail = f"The request body is larger than {self.max_bytes} bytes."
        await error_response(413, "payload_too_large", detail)(scope, receive, send)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        try:
            if declared is not None and int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
        except ValueError:
            await error_response(400, "bad_request", "Content-Length is not a number.")(
                scope, receive, send
            )
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class RequestContext:
    """Binds a request id (the caller's ``X-Request-ID`` or a new one) to every log line of the
    request, echoes it in the response and records the request's latency and status by route.

    Plain ASGI rather than ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs the
    rest of the app in a task group with memory streams, a cost paid on every request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = None
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        request_id = request_id or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        status = 500
        temporal_ms = [0.0]
        gateway.TEMPORAL_MS.set(temporal_ms)

        async def send_with_id(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                # the server's own time to the response, and how much of it was spent waiting
                # on Temporal (the benchmark reads both: bench/console.py)
                took = (time.perf_counter() - start) * 1000
                timing = f"app;dur={took:.1f}, temporal;dur={temporal_ms[0]:.1f}"
                headers.append((b"server-timing", timing.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            LATENCY.labels(scope["method"], route).observe(time.perf_counter() - start)
            REQUESTS.labels(scope["method"], route, status).inc()


def create_app(settings: Settings | None = None, client=None, report_store=None) -> FastAPI:
    """`report_store`: a ReportStore to read (tests); by default the one settings name, opened
    (and migrated) at start-up."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        setup_logging(settings.log_format, settings.log_level)
        app.state.settings = settings
        app.state.directory = load_people(settings)  # StartupRefused: demo tokens outside demo
        app.state.rate_limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
        app.state.auth_throttle = FailureThrottle(
            settings.auth_failure_rate_per_s, settings.auth_failure_burst
        )
        reload_on_sighup()
        if why := (
            session_secret_refusal(settings)
            or feedback_secret_refusal(settings)
            or oidc_start_refusal(settings)
        ):
            raise StartupRefused(why)
        # single sign-on: the provider is read lazily, so the API starts while it is down
        app.state.oidc = OidcVerifier(settings) if settings.oidc_issuer else None
        # every update and start the API sends is signed; the workers refuse unsigned ones
        app.state.temporal = signing_client(
            client or await connect(settings, lazy=True), signer_from_settings(settings)
        )
        store = report_store or await asyncio.to_thread(ReportStore, settings.report_url)
        app.state.report_store = store
        # the intake form searches the help line's knowledge base as the agent types
        app.state.kb = KnowledgeBase(settings.kb_dir, Path(settings.data_dir) / "kb.sqlite")
        # new cases pin the live version of the store (seeded from the policy file at first)
        app.state.policy_file = LivePolicy(
            store.policies, settings.policy_path, settings.policy_refresh_s
        )
        try:
            await asyncio.to_thread(app.state.policy_file.seed)
        except Exception as e:  # noqa: BLE001 - served as 503 on opening, named in the log
            log.error("policy_not_seeded", path=str(settings.policy_path), error=str(e)[:500])
        log.info(
            "api_started",
            temporal=settings.temporal_address,
            demo=settings.demo,
            people=len(app.state.directory.current().people),
        )
        try:
            yield
        finally:
            if report_store is None:
                store.close()
            if app.state.oidc is not None:
                await app.state.oidc.aclose()

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
        docs_url=None,  # served by docs_page from the app's own assets
        redoc_url=None,
    )
    add_exception_handlers(app)

    app.add_middleware(RequestContext)
    app.add_middleware(BodySizeLimit, max_bytes=MAX_BODY_BYTES)
    # outermost: the headers go on every answer, a 413 or an unmatched path's 404 included
    app.add_middleware(
        SecurityHeaders,
        trust_forwarded_proto=settings.trust_forwarded_proto,
        form_targets=issuer_origin(settings),
    )
    app.include_router(health.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    docs_page.mount(app)
    from api.routes import include_routers

    include_routers(app)
    mount_console(app)
    return app


def main() -> None:
    import uvicorn

    settings = get_settings()
    setup_logging(settings.log_format, settings.log_level)
    try:
        load_people(settings)  # fail fast, in one line, before the server starts
        if why := (
            session_secret_refusal(settings)
            or feedback_secret_refusal(settings)
            or oidc_start_refusal(settings)
        ):
            raise StartupRefused(why)
        codec_from_settings(settings)
        signer_from_settings(settings)
    except (StartupRefused, PayloadKeyError, ActionKeyError) as e:
        log.error("api_refused_to_start", reason=str(e))
        raise SystemExit(f"escalations-api: {e}") from None
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
