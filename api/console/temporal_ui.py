"""/temporal: the Temporal Web UI through the API's own origin, for signed-in operators.

The UI decodes payloads by calling the codec endpoint from the browser. A browser sends the
console's session cookie with that call only when the UI is on the same origin as the codec, or
when the UI asks for cross-origin credentials, which the dev server's UI cannot be told to do
(`--ui-codec-endpoint` sets the address only). So the API serves the UI (the dev server started
with `--ui-public-path /temporal --ui-codec-endpoint /codec`): an operator signed in to the
console reads decoded inputs, results and current details with nothing to type
(docs/decisions/0022-the-temporal-ui-through-the-api.md).

The UI is the operators' window, not their lever: the proxy passes reads only (GET, HEAD and
the POST of a workflow query, which the UI uses for the stack trace) and answers every other
call (terminate, signal, cancel, reset, update, batch, schedules) 403, so nothing changes a case
behind its timeline. It also tells the UI that write actions are off (its settings), so the
buttons are not offered. Operators act through `/escalations/{id}/operator/...`, audited on the
timeline (docs/decisions/0054-operator-actions-through-the-api.md).
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import (
    HTMLResponse,
    JSONResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from markupsafe import escape
from starlette.background import BackgroundTask

from api.console import session
from core.settings import Settings
from workflows.access import Action, role_refusal

PREFIX = "/temporal"  # the dev server's --ui-public-path
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "host",
}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
router = APIRouter(prefix=PREFIX, include_in_schema=False)

# The one POST the UI makes that changes nothing: a workflow query (stack trace, metadata).
READ_POST = re.compile(rf"^{PREFIX}/api/v1/namespaces/[^/]+/workflows/[^/]+/query/[^/]+$")
SETTINGS_PATH = f"{PREFIX}/api/v1/settings"
# The UI server's settings that turn its write actions off (the dev server has no flag for them)
WRITES_OFF = (
    "DisableWriteActions",
    "WorkflowTerminateDisabled",
    "WorkflowCancelDisabled",
    "WorkflowSignalDisabled",
    "WorkflowUpdateDisabled",
    "WorkflowResetDisabled",
    "WorkflowPauseDisabled",
    "BatchActionsDisabled",
    "StartWorkflowDisabled",
    "ActivityCommandsDisabled",
)


def _client(request: Request) -> httpx.AsyncClient:
    http = getattr(request.app.state, "temporal_ui_http", None)
    if http is None:
        # the UI's own calls may wait on the server (queries, long lists): no read deadline
        http = httpx.AsyncClient(timeout=httpx.Timeout(10, read=None))
        request.app.state.temporal_ui_http = http
    return http


def _cookie_header(request: Request) -> str:
    """The browser's cookies without the console's: the UI server never sees the session."""
    return "; ".join(
        f"{k}={v}"
        for k, v in request.cookies.items()
        if k not in (session.COOKIE, session.PRE_COOKIE)
    )


def _operator_refusal(request: Request) -> Response | None:
    """None when an operator is signed in; else the answer (sign in, or 403)."""
    found = session.current(request)
    if found is None:
        if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
            query = urlencode({"next": request.url.path})
            return RedirectResponse(f"/console/sign-in?{query}", status_code=303)
        return Response(status_code=401)
    refusal = role_refusal(Action.DECODE_PAYLOADS, found[1].role)
    if refusal:
        return HTMLResponse(f"The Temporal UI is for operators. {refusal}", 403)
    return None


def write_refusal(request: Request) -> Response | None:
    """None for a read; else 403 in the contract's error shape (the UI shows its own error)."""
    if request.method in ("GET", "HEAD") or (
        request.method == "POST" and READ_POST.match(request.url.path)
    ):
        return None
    return JSONResponse(
        {
            "error": "forbidden",
            "detail": "The Temporal UI is read-only here. Operators cancel, retry an activity "
            "or reset a case through POST /escalations/{id}/operator/..., which records it on "
            "the case's timeline.",
        },
        403,
    )


def settings_read_only(body: bytes) -> bytes:
    """The UI server's settings with every write action off, so the UI offers none."""
    try:
        settings = json.loads(body)
    except ValueError:
        return body
    if isinstance(settings, dict):
        settings.update(dict.fromkeys(WRITES_OFF, True))
        return json.dumps(settings).encode()
    return body


def markdown(text: str) -> str:
    """The little markdown the workflow writes (paragraphs, **bold**, `code`), escaped first."""
    out = []
    for para in re.split(r"\n\s*\n", text.strip()):
        html = str(escape(para))
        html = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", html)
        html = re.sub(r"`(.+?)`", r"<code>\1</code>", html)
        out.append("<p>" + html.replace("\n", "<br>") + "</p>")
    return "\n".join(out)


@router.get("/render")
async def render(request: Request, content: str = "", theme: str = "light") -> Response:
    """The UI shows summaries and current details in a frame from `<public path>/render`; under
    a public path the dev server's UI answers that with its page shell (a "Not Found" page), so
    the API renders the text itself."""
    if (refused := _operator_refusal(request)) is not None:
        return refused
    dark = theme == "dark"
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Details</title>'
        "<style>body{margin:0;font:14px/1.5 system-ui,sans-serif;"
        f"color:{'#f8fafc' if dark else '#141414'};background:transparent}}"
        "p{margin:0 0 .6em}code{font-family:monospace}</style></head>"
        f"<body>{markdown(content)}</body></html>"
    )
    csp = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"
    return HTMLResponse(page, headers={"Content-Security-Policy": csp})


@router.api_route("", methods=METHODS)
@router.api_route("/{path:path}", methods=METHODS)
async def temporal_ui(request: Request, path: str = "") -> Response:
    settings: Settings = request.app.state.settings
    upstream = settings.temporal_ui_upstream
    if not upstream:
        return HTMLResponse("The Temporal UI is not served by this API.", 404)
    if (refused := _operator_refusal(request)) is not None:
        return refused
    if (refused := write_refusal(request)) is not None:
        return refused
    headers = [
        (k, v)
        for k, v in request.headers.items()
        if k.lower() not in HOP_BY_HOP and k.lower() != "cookie"
    ]
    if cookies := _cookie_header(request):
        headers.append(("cookie", cookies))
    http = _client(request)
    upstream_request = http.build_request(
        request.method,
        upstream.rstrip("/") + request.url.path,
        params=request.url.query or None,
        headers=headers,
        content=await request.body(),
    )
    try:
        answer = await http.send(upstream_request, stream=True)
    except httpx.HTTPError:
        return HTMLResponse("The Temporal UI does not answer.", 502)
    out_headers = {
        k: v
        for k, v in answer.headers.multi_items()
        if k.lower() not in HOP_BY_HOP and k.lower() != "set-cookie"
    }
    response: Response
    if request.url.path == SETTINGS_PATH and answer.status_code == 200:
        body = settings_read_only(await answer.aread())
        await answer.aclose()
        out_headers = {
            k: v
            for k, v in out_headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        }
        response = Response(body, status_code=200, headers=out_headers)
    else:
        response = StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers=out_headers,
            background=BackgroundTask(answer.aclose),
        )
    for value in answer.headers.get_list("set-cookie"):  # the UI server's own (its CSRF)
        response.headers.append("set-cookie", value)
    if location := answer.headers.get("location"):
        response.headers["location"] = location.removeprefix(upstream.rstrip("/"))
    return response
