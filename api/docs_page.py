"""/docs: Swagger UI served by the app itself, never from a CDN (issue 31, point 2).

The Swagger UI assets come from the installed `fastapi-offline` package (its static folder,
Swagger UI 5, which reads OpenAPI 3.1); the page has no inline script (the strict CSP of
api/security_headers.py): /static/docs.js starts the UI on the URL the page names.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from markupsafe import escape

ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
PREFIX = "/docs/assets"


def page(title: str, openapi_url: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} - API docs</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="icon" href="{PREFIX}/favicon.png">'
        f'<link rel="stylesheet" href="{PREFIX}/swagger-ui.css">'
        f'<script src="{PREFIX}/swagger-ui-bundle.js" defer></script>'
        '<script src="/static/docs.js" defer></script>'
        f'</head><body><div id="swagger-ui" data-openapi-url="{escape(openapi_url)}"></div>'
        "</body></html>"
    )


def mount(app: FastAPI) -> None:
    """Call with `docs_url=None` on the app (FastAPI's own /docs loads from a CDN)."""
    app.mount(PREFIX, StaticFiles(directory=ASSETS), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return HTMLResponse(page(app.title, f"{root}{app.openapi_url}"))
