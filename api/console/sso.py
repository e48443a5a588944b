"""/console/sign-in/oidc: staff sign in through the organisation's identity provider.

Authorization Code flow with PKCE (S256), `state` and `nonce` (Authlib's OAuth client builds the
request and redeems the code): the start route keeps state, nonce, code verifier and the page
to return to in a short signed cookie and sends the browser to the provider; the callback
checks the state against it, redeems the code, checks the ID token (api/oidc.py: signature,
issuer, audience, expiry, nonce), finds who the person is (the directory or the claims) and
starts the console's own session. A person with no role the product knows gets a page that
says why. Sign-out (api/console/pages.py) ends the session here and continues at the provider's
end_session_endpoint when it has one (`end_session_url`).
"""

from __future__ import annotations

import base64
import hmac
import json
import secrets
import time
import warnings
from typing import Any
from urllib.parse import urlencode

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from api.auth import get_directory
from api.console import session
from api.oidc import (
    OidcVerifier,
    ProviderUnreachable,
    RoleUnknown,
    TokenRefused,
    person_from_claims,
)
from core.settings import Settings

with warnings.catch_warnings():
    # Authlib 1.9 prefers the httpx2 fork and warns on import when it falls back to httpx, the
    # client this project uses everywhere (the fallback is supported, and is what we want)
    import authlib.deprecate  # noqa: F401 - its "always" filter first, so ours goes before it

    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import AsyncOAuth2Client

log = structlog.get_logger("api")

router = APIRouter(prefix="/console/sign-in/oidc", include_in_schema=False)
FLOW_COOKIE = "escalations_oidc"
FLOW_MAX_AGE_S = 600  # a sign-in at the provider that takes longer starts again


def _verifier(request: Request) -> OidcVerifier | None:
    return getattr(request.app.state, "oidc", None)


def base_url(request: Request) -> str:
    """The console as the browser reaches it: the configured public base (behind a TLS proxy),
    else this request's own scheme and host."""
    settings: Settings = request.app.state.settings
    if settings.oidc_redirect_base:
        return settings.oidc_redirect_base.rstrip("/")
    scheme = "https" if session.is_tls(request) else "http"
    return f"{scheme}://{request.url.netloc}"


def redirect_uri(request: Request) -> str:
    return f"{base_url(request)}/console/sign-in/oidc/callback"


def _client(settings: Settings, request: Request) -> AsyncOAuth2Client:
    secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
    return AsyncOAuth2Client(
        client_id=settings.oidc_client_id,
        client_secret=secret,
        scope=settings.oidc_scopes,
        redirect_uri=redirect_uri(request),
        code_challenge_method="S256",
        token_endpoint_auth_method="client_secret_basic" if secret else "none",
        timeout=settings.http_timeout_s,
    )


def _seal(settings: Settings, flow: dict[str, Any]) -> str:
    value = base64.urlsafe_b64encode(json.dumps(flow).encode()).decode().rstrip("=")
    return f"{value}.{session._mac(settings, 'oidc-flow', value)}"


def _unseal(settings: Settings, cookie: str | None) -> dict[str, Any] | None:
    if not cookie or cookie.count(".") != 1:
        return None
    value, mac = cookie.split(".")
    if not hmac.compare_digest(mac, session._mac(settings, "oidc-flow", value)):
        return None
    try:
        flow = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except ValueError:
        return None
    if not isinstance(flow, dict) or float(flow.get("exp", 0)) < time.time():
        return None
    return flow


def _sign_in_again(request: Request, message: str, status: int, nxt: str = "") -> Response:
    from api.console.pages import sign_in_page  # the pages import this module's router

    response = sign_in_page(request, message, status, nxt)
    response.delete_cookie(FLOW_COOKIE, path="/")
    return response


@router.get("")
async def start(request: Request) -> Response:
    from api.console.pages import _next

    verifier = _verifier(request)
    if verifier is None:
        return _sign_in_again(request, "Single sign-on is not configured here.", 404)
    settings: Settings = request.app.state.settings
    try:
        meta = await verifier.metadata()
    except ProviderUnreachable as e:
        log.warning("oidc_provider_unreachable", error=str(e)[:300])
        return _sign_in_again(
            request, "The identity provider cannot be reached; try again shortly.", 503
        )
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    code_verifier = secrets.token_urlsafe(48)
    nxt = _next(request.query_params.get("next"))
    async with _client(settings, request) as client:
        url, _ = client.create_authorization_url(
            meta["authorization_endpoint"], state=state, nonce=nonce, code_verifier=code_verifier
        )
    flow = {
        "state": state,
        "nonce": nonce,
        "verifier": code_verifier,
        "next": nxt,
        "exp": time.time() + FLOW_MAX_AGE_S,
    }
    response = RedirectResponse(url, status_code=303)
    # SameSite=Lax: the provider's redirect back is a top-level GET, which carries it
    session.set_cookie(response, request, FLOW_COOKIE, _seal(settings, flow), FLOW_MAX_AGE_S)
    return response


@router.get("/callback")
async def callback(request: Request) -> Response:
    from api.console.pages import page

    verifier = _verifier(request)
    settings: Settings = request.app.state.settings
    flow = _unseal(settings, request.cookies.get(FLOW_COOKIE))
    params = request.query_params
    if (
        verifier is None
        or flow is None
        or not hmac.compare_digest(str(flow.get("state", "")), params.get("state", ""))
    ):
        return _sign_in_again(
            request,
            "That sign-in was not started here or took too long; sign in again.",
            400,
        )
    nxt = str(flow.get("next", "/console"))
    if error := params.get("error"):
        why = params.get("error_description") or error
        return _sign_in_again(request, f"The identity provider did not sign you in: {why}.", 401)
    try:
        meta = await verifier.metadata()
        async with _client(settings, request) as client:
            token = await client.fetch_token(
                meta["token_endpoint"],
                grant_type="authorization_code",
                code=params.get("code", ""),
                code_verifier=flow["verifier"],
            )
        id_token = token.get("id_token")
        if not id_token:
            raise TokenRefused("The provider sent no ID token (is `openid` among the scopes?).")
        claims = await verifier.verify(
            id_token, audience=settings.oidc_client_id or "", nonce=str(flow["nonce"])
        )
    except TokenRefused as e:
        log.warning("oidc_sign_in_refused", reason=str(e))
        return _sign_in_again(request, f"The sign-in was refused: {e}", 401, nxt)
    except Exception as e:  # noqa: BLE001 - the provider unreachable or the code refused
        log.warning("oidc_token_exchange_failed", error=str(e)[:300])
        return _sign_in_again(
            request, "The identity provider did not complete the sign-in; try again.", 502, nxt
        )
    directory = get_directory(request)
    try:
        person = person_from_claims(claims, directory, settings)
    except RoleUnknown as e:
        log.info("oidc_sign_in_no_role", subject=claims.get("sub"))
        refused = page(request, "sso_refused.html", 403, person=None, reason=str(e))
        refused.delete_cookie(FLOW_COOKIE, path="/")
        return refused
    response = RedirectResponse(nxt, status_code=303)
    listed = directory.by_id(person.id) is not None
    session.start(response, request, person, via_provider=True, listed=listed)
    response.delete_cookie(FLOW_COOKIE, path="/")
    log.info("console_signed_in", person=person.id, via="oidc", subject=person.subject)
    return response


async def end_session_url(request: Request) -> str | None:
    """Where sign-out continues: the provider's end_session_endpoint (RP-initiated logout),
    back to the sign-in page afterwards; None when the provider has none."""
    verifier = _verifier(request)
    if verifier is None:
        return None
    try:
        endpoint = (await verifier.metadata()).get("end_session_endpoint")
    except ProviderUnreachable:
        return None
    if not endpoint:
        return None
    settings: Settings = request.app.state.settings
    query = {
        "client_id": settings.oidc_client_id or "",
        "post_logout_redirect_uri": f"{base_url(request)}/console/sign-in?signed_out=1",
    }
    return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"
