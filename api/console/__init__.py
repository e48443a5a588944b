"""The console: web pages for the people in the loop, served by the API process (same origin).

`mount(app)` adds the pages (/console, its reports at /console/reports), their static files
(/console/static), single sign-on (/console/sign-in/oidc), the Temporal UI for operators
(/temporal, when configured) and a redirect from / to the console.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.console import filters, intake, pages, policy, reports, sso, temporal_ui


def mount(app: FastAPI) -> None:
    filters.install(pages.templates.env)
    pages.add_sign_in_handler(app)
    app.include_router(pages.router)
    app.include_router(sso.router)
    app.include_router(intake.router)
    app.include_router(policy.router)
    app.include_router(reports.router)
    app.include_router(temporal_ui.router)
    static = Path(__file__).parent / "static"
    app.mount("/console/static", StaticFiles(directory=static), name="console-static")

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/console", status_code=307)
