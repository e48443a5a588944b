"""Who is calling: `Authorization: Bearer <token>` -> a person of the directory, or, when single
sign-on is configured, a JWT access token of the identity provider -> the person its claims
name (api/oidc.py: signature, issuer, audience, expiry; docs/decisions/0055).

Tokens are compared as HMAC-SHA256 hashes under the server's pepper, in constant time
(core.directory), against the directory as it is now (re-read when its file changes), and are
never logged. Each person has a request budget per API process (a token bucket, 429 with
Retry-After when spent). Failed authentications are throttled per client address and per token
prefix (`FailureThrottle`: 429 with Retry-After, counted in the metrics), so tokens cannot be
guessed at the server's speed. `CurrentPerson` is any known caller; `require(action)` narrows a
route to the roles the access table (workflows/access.py) allows for that action (403).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Coroutine
from functools import cache
from pathlib import Path
from typing import Annotated, Any

import structlog
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import Counter

from api.errors import Forbidden, TooManyRequests, Unauthorized, Unavailable
from api.oidc import (
    OidcVerifier,
    ProviderUnreachable,
    RoleUnknown,
    TokenRefused,
    looks_like_jwt,
    person_from_claims,
)
from api.schemas import error_responses
from core.directory import Directory, DirectoryEntry, LiveDirectory
from core.settings import Settings
from workflows.access import ACCESS, ROLES, Action, role_refusal, stages_text, who
from workflows.models import Actor
from workflows.views import EscalationView

log = structlog.get_logger("api")

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description=(
        "A personal API token. The demo tokens are `demo-<role>`, e.g. `demo-agent`, "
        "`demo-specialist`, `demo-executive` (see the README). With single sign-on "
        "configured, an access token (JWT) of the organisation's identity provider as well."
    ),
)


class StartupRefused(RuntimeError):
    """The API will not serve with this configuration (the message says why and what to do)."""


def load_people(settings: Settings) -> LiveDirectory:
    """Load the people directory (kept up to date with its file); refuse a missing pepper, the
    demo pepper or demo tokens outside the demo."""
    path = Path(settings.directory_path)
    try:
        pepper = settings.token_pepper_value()
    except ValueError as e:
        raise StartupRefused(str(e)) from None
    try:
        live = LiveDirectory(
            path, pepper, settings.directory_reload_s, refuse_demo_tokens=not settings.demo
        )
    except FileNotFoundError as e:
        raise StartupRefused(
            f"people directory {path} does not exist; set ESCALATIONS_DIRECTORY_PATH"
        ) from e
    except Exception as e:  # noqa: BLE001 - TOML or validation error: say which file
        raise StartupRefused(f"people directory {path} is invalid: {e}") from e
    if not settings.demo and live.current().has_demo_tokens():
        raise StartupRefused(
            f"refusing to start: the people directory {path} still holds the public demo "
            "tokens (demo-<role>) and ESCALATIONS_DEMO is not true. Point "
            "ESCALATIONS_DIRECTORY_PATH at a production directory (token hashes only), or set "
            "ESCALATIONS_DEMO=true for a demo run."
        )
    return live


def get_directory(request: Request) -> Directory:
    return request.app.state.directory.current()


class RateLimiter:
    """A token bucket per person, in this process: `rate` requests a second on average, bursts
    of up to `burst`. rate 0: no limit."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}  # person -> (tokens, at)

    def take(self, person_id: str) -> float:
        """0 when the request may go ahead, else the seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = time.monotonic()
        tokens, at = self._buckets.get(person_id, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1:
            self._buckets[person_id] = (tokens, now)
            return (1 - tokens) / self.rate
        self._buckets[person_id] = (tokens - 1, now)
        return 0.0


AUTH_FAILURES = Counter(
    "api_auth_failures_total", "Unknown tokens presented, by surface (api, console)", ["surface"]
)
AUTH_THROTTLED = Counter(
    "api_auth_throttled_total",
    "Authentication attempts refused with 429 after too many failures, by surface",
    ["surface"],
)


class FailureThrottle:
    """Failed authentications, as token buckets in this process: per client address and per
    token prefix (an attacker spreading guesses over many addresses still shares prefixes),
    `rate` failures a second on average after a burst of `burst`. While either bucket is empty
    every attempt from that address or with that prefix is refused before the token is checked,
    a right token included: otherwise the answers would still tell a right guess from a wrong
    one at full speed. burst 0: no throttle."""

    PREFIX = 6  # characters of the token that name its bucket (hashed, never kept as sent)
    MAX_KEYS = 100_000  # the buckets are keyed by what callers send: bound the memory

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def _keys(self, address: str, token: str) -> tuple[str, str]:
        # every JWT opens with the same header ("eyJhbGci..."): its prefix would put all of the
        # identity provider's tokens in one bucket, so a few forged ones would lock out everyone
        # signed in by SSO; a JWT cannot be guessed anyway, so its signature names the bucket
        named = token.rsplit(".", 1)[-1] if looks_like_jwt(token) else token
        prefix = hashlib.sha256(named[: self.PREFIX].encode()).hexdigest()[:16]
        return f"a:{address}", f"p:{prefix}"

    def _level(self, key: str, now: float) -> float:
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        return min(float(self.burst), tokens + (now - at) * self.rate)

    def wait(self, address: str, token: str) -> float:
        """0 when an attempt may be checked, else the seconds until it may."""
        if self.burst <= 0:
            return 0.0
        now = time.monotonic()
        level = min(self._level(key, now) for key in self._keys(address, token))
        return 0.0 if level >= 1 else (1 - level) / max(self.rate, 1e-9)

    def failed(self, address: str, token: str) -> None:
        if self.burst <= 0:
            return
        now = time.monotonic()
        if len(self._buckets) >= self.MAX_KEYS:  # drop the buckets that have refilled
            self._buckets = {
                k: v for k, v in self._buckets.items() if self._level(k, now) < self.burst
            }
            if len(self._buckets) >= self.MAX_KEYS:
                self._buckets.clear()
        for key in self._keys(address, token):
            self._buckets[key] = (max(0.0, self._level(key, now) - 1), now)


def client_address(request: Request) -> str:
    # uvicorn puts the X-Forwarded-For address here when the proxy is trusted
    # (FORWARDED_ALLOW_IPS, 127.0.0.1 by default), so behind one each client has its own bucket
    return request.client.host if request.client else "unknown"


def throttled(request: Request, token: str, surface: str) -> int:
    """Seconds to wait before this attempt may be checked (0: check it now), counted."""
    wait = request.app.state.auth_throttle.wait(client_address(request), token)
    if wait <= 0:
        return 0
    AUTH_THROTTLED.labels(surface).inc()
    return max(1, math.ceil(wait))


def authentication_failed(request: Request, token: str, surface: str) -> None:
    AUTH_FAILURES.labels(surface).inc()
    request.app.state.auth_throttle.failed(client_address(request), token)


TOO_MANY_FAILURES = (
    "Too many unknown tokens from this address or like this one; retry after the given time."
)


async def current_person(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> DirectoryEntry:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Send Authorization: Bearer <token>.")
    if credentials.scheme.lower() != "bearer":
        raise Unauthorized("Only Bearer tokens are accepted.")
    token = credentials.credentials
    if retry_after := throttled(request, token, "api"):
        raise TooManyRequests(TOO_MANY_FAILURES, retry_after=retry_after)
    verifier = getattr(request.app.state, "oidc", None)
    if verifier is not None and looks_like_jwt(token):
        person = await provider_person(request, verifier, token)
    elif (known := get_directory(request).authenticate(token)) is not None:
        person = known
    else:
        authentication_failed(request, token, "api")
        raise Unauthorized("The token is not known.")
    wait = request.app.state.rate_limiter.take(person.id)
    if wait > 0:
        raise TooManyRequests(
            "Too many requests with this token; slow down and retry after the given time.",
            retry_after=max(1, math.ceil(wait)),
        )
    return person


async def provider_person(request: Request, verifier: OidcVerifier, token: str) -> DirectoryEntry:
    """The person an access token of the identity provider names (401: not a valid token of
    ours, counted like an unknown token; 403: no role this product knows)."""
    try:
        claims = await verifier.verify(token, audience=verifier.api_audience)
    except TokenRefused as e:
        authentication_failed(request, token, "api")
        raise Unauthorized(str(e)) from None
    except ProviderUnreachable as e:
        log.warning("oidc_provider_unreachable", error=str(e)[:300])
        raise Unavailable("The identity provider cannot be reached to check the token.") from None
    try:
        return person_from_claims(claims, get_directory(request), request.app.state.settings)
    except RoleUnknown as e:
        raise Forbidden(str(e)) from None


CurrentPerson = Annotated[DirectoryEntry, Depends(current_person)]


def refuse_unless_allowed(action: Action, person: DirectoryEntry) -> None:
    """403 unless the access table lets the person's role take the action."""
    if (why := role_refusal(action, person.role)) is not None:
        raise Forbidden(why)


@cache
def require(action: Action) -> Callable[[DirectoryEntry], Coroutine[Any, Any, DirectoryEntry]]:
    """A dependency: the caller, if the access table (workflows/access.py) lets their role take
    `action`; otherwise 403. One dependency per action, so FastAPI resolves it once a request."""

    async def dependency(person: CurrentPerson) -> DirectoryEntry:
        refuse_unless_allowed(action, person)
        return person

    dependency.__name__ = f"require_{action.value}"
    return dependency


def access_doc(action: Action) -> str:
    """The "**Who:**" line of an operation's description, read from the access table, with the
    stages a case action fits."""
    rule = ACCESS[action]
    line = f"**Who:** {'any role' if set(rule.roles) == set(ROLES) else who(action)}."
    if rule.stages is not None:
        line += f" **When:** {stages_text(action)}."
    if rule.four_eyes:
        line += " **Four eyes:** never by the person who proposed it (403)."
    return line


def action_doc(action: Action, summary: str, more: str = "") -> dict[str, Any]:
    """The route arguments of a case action: its summary, the "**Who:**" line and the rest of
    the description, the escalation as the answer, the errors an action can meet."""
    return {
        "summary": summary,
        "description": (
            f"{access_doc(action)}\n\n{more}\n\nReturns the escalation after the action. An "
            "`Idempotency-Key` header makes a retry return the first result instead of acting "
            "twice."
        ).replace("\n\n\n\n", "\n\n"),
        "response_model": EscalationView,
        "responses": error_responses(401, 403, 404, 409, 413, 422, 503),
    }


def actor_of(person: DirectoryEntry) -> Actor:
    return Actor(
        id=person.id,
        name=person.name,
        role=person.role,
        authority_limit=person.authority_limit,
        team=person.team,
        subject=person.subject,
    )
