"""/codec: the Temporal codec server protocol, so operators can read encrypted payloads in the
Temporal Web UI and the `temporal` CLI.

`POST /codec/decode` and `POST /codec/encode` take and return `{"payloads": [...]}` in the
protobuf JSON form of `temporal.api.common.v1.Payloads` (metadata values and data in base64).
Operators only: a payload decrypted here is a customer's personal data. The Web UI calls these
from the browser, so the routes answer CORS preflights (no token) for the origins in
`ESCALATIONS_CODEC_CORS_ORIGINS`, and put the CORS headers on every answer, errors included.

The token comes as `Authorization: Bearer <token>` (the CLI's `--codec-auth`, a UI behind a
login with "pass access token"), or, for a Web UI without a login such as the dev server's, from
the console's browser session: the operator signs in once in the console and the UI's
"include cross-origin credentials" sends its HttpOnly, SameSite=Lax cookie with each codec call.
The UI must then be on the same site as the API (same host name, any port: http://localhost:8233
-> http://localhost:8000/codec), since the browser sends a Lax cookie to the same site only.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from google.protobuf import json_format
from pydantic import BaseModel, Field
from temporalio.api.common.v1 import Payloads

from api.auth import access_doc, bearer, current_person, refuse_unless_allowed
from api.console import session as console_session
from api.errors import DomainError, Forbidden, Invalid, error_response
from api.schemas import error_responses
from core.codec import EncryptionCodec, PayloadDecryptError, codec_from_settings
from core.directory import DirectoryEntry
from core.settings import Settings
from workflows.access import Action

log = structlog.get_logger("api")

ALLOWED_HEADERS = "Authorization, Content-Type, X-Namespace"


async def operator(
    request: Request,
    _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> DirectoryEntry:
    """The operator calling: a Bearer token, or else the console's session cookie (a signed
    session id and person id, never the token; the person is re-read from the directory)."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        credentials = HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
        person = await current_person(request, credentials)
    elif (found := console_session.current(request)) is not None:
        person = found[1]
    else:
        person = await current_person(request, None)  # 401, in the one error shape
    refuse_unless_allowed(Action.DECODE_PAYLOADS, person)
    return person


Operator = Annotated[DirectoryEntry, Depends(operator)]


def cors_headers(request: Request) -> dict[str, str]:
    origin = request.headers.get("origin")
    settings: Settings = request.app.state.settings
    if not origin or origin not in settings.codec_cors_origins:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Allow-Methods": "POST, OPTIONS",
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }


class CodecRoute(APIRoute):
    """Every answer of the codec routes carries the CORS headers, errors included (a browser
    only shows the UI a 401/403 it is allowed to read)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except DomainError as e:
                headers = {"WWW-Authenticate": "Bearer"} if e.status_code == 401 else None
                response = error_response(e.status_code, e.kind, e.detail, headers)
            response.headers.update(cors_headers(request))
            return response

        return route


router = APIRouter(prefix="/codec", tags=["codec"], route_class=CodecRoute)


class CodecPayload(BaseModel):
    metadata: dict[str, str] = Field(
        default_factory=dict,
        description="Metadata values, base64 (e.g. `encoding`, `encryption-key-id`)",
        examples=[{"encoding": "YmluYXJ5L2VuY3J5cHRlZA==", "encryption-key-id": "ZGVtbw=="}],
    )
    data: str = Field(default="", description="The payload's bytes, base64")


class CodecPayloads(BaseModel):
    """`temporal.api.common.v1.Payloads` in its protobuf JSON form."""

    payloads: list[CodecPayload] = Field(description="The payloads, in order")


def get_codec(request: Request) -> EncryptionCodec:
    codec = getattr(request.app.state, "payload_codec", None)
    if codec is None:
        codec = request.app.state.payload_codec = codec_from_settings(request.app.state.settings)
    return codec


def _parse(body: CodecPayloads) -> Payloads:
    try:
        return json_format.ParseDict(body.model_dump(), Payloads())
    except json_format.ParseError as e:
        raise Invalid(f"payloads: not protobuf JSON of Payloads ({e})") from None


def _answer(payloads: list) -> JSONResponse:
    return JSONResponse({"payloads": [json_format.MessageToDict(p) for p in payloads]})


DESCRIPTION = (
    "The Temporal codec server protocol (Web UI: the codec endpoint is "
    "`<api>/codec`; CLI: `--codec-endpoint <api>/codec --codec-auth 'Bearer <token>'`). "
    "The body and the answer are `temporal.api.common.v1.Payloads` in protobuf JSON. "
    + access_doc(Action.DECODE_PAYLOADS)
)


@router.post(
    "/decode",
    summary="Decrypt Temporal payloads",
    description=DESCRIPTION + " Payloads that are not encrypted come back unchanged; one that "
    "cannot be decrypted (unknown key id, wrong key, tampered) is a 422.",
    response_model=CodecPayloads,
    responses=error_responses(401, 403, 422),
)
async def decode(body: CodecPayloads, request: Request, person: Operator) -> Response:
    payloads = _parse(body)
    try:
        decoded = await get_codec(request).decode(payloads.payloads)
    except PayloadDecryptError as e:
        raise Invalid(str(e)) from None
    log.info(
        "payloads_decoded",
        operator=person.id,
        count=len(decoded),
        namespace=request.headers.get("x-namespace"),
    )
    return _answer(decoded)


@router.post(
    "/encode",
    summary="Encrypt Temporal payloads",
    description=DESCRIPTION + " Encrypts with the active payload key. **Only in the demo**: "
    "outside it every answer is 403. Nothing an operator types into the Temporal UI or CLI is an "
    "action the service takes (actions go through this API, which signs them; the workers refuse "
    "unsigned ones), and an encryption oracle would only help someone forge one "
    "(docs/decisions/0003-signed-actions-and-the-codec.md).",
    response_model=CodecPayloads,
    responses=error_responses(401, 403, 422),
)
async def encode(body: CodecPayloads, request: Request, _: Operator) -> Response:
    if not request.app.state.settings.demo:
        raise Forbidden(
            "Encoding is refused outside the demo: actions go through the API, which signs them."
        )
    payloads = _parse(body)
    return _answer(await get_codec(request).encode(payloads.payloads))


@router.options("/decode", include_in_schema=False)
@router.options("/encode", include_in_schema=False)
async def preflight(request: Request) -> Response:
    return Response(status_code=204)


# --- a Web UI without a login (the dev server's) ----------------------------------------------


@router.get("/session", include_in_schema=False)
async def session_page() -> RedirectResponse:
    """The operator signs in once, in the console; its session cookie is what the UI sends."""
    return RedirectResponse("/console/sign-in?next=/console", status_code=303)
