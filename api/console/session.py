"""The console's browser session: a signed cookie, never the token itself.

The cookie holds `<base64url(JSON {sid, pid, exp})>.<HMAC-SHA256>` keyed by
`ESCALATIONS_SESSION_SECRET`: which person, which session, until when. The session is also a
row in the report store (core/report_store/sessions.py), checked on every request and ended at
sign-out, so a copied or replayed cookie dies with its session on every API process and across
restarts (docs/decisions/0053-revocable-console-sessions.md). The person is looked up in the
directory on every request too (someone removed from the directory is out at once); a person
signed in through the identity provider whom the directory does not list is carried in the
signed cookie, as the provider's claims said at sign-in (docs/decisions/0055-oidc-sign-in.md). Forms
carry a CSRF token that is an HMAC of the session id, so a form forged on another site, or
rendered for another session, is refused. The sign-in form is protected the same way by a
short pre-session cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response

from api.auth import get_directory
from core.directory import DirectoryEntry
from core.report_store.sessions import ConsoleSessions
from core.settings import DEMO_SESSION_SECRET, Settings

COOKIE = "escalations_session"
PRE_COOKIE = "escalations_presession"
PRE_MAX_AGE_S = 3600


class StaleForm(Exception):
    """A form whose CSRF token does not belong to the session that sent it."""


@dataclass(frozen=True)
class Session:
    sid: str
    person_id: str
    expires_at: float
    # Signed in through the identity provider (sign-out continues there): their subject, and,
    # for a person the directory does not list, who the claims said they are (the cookie is
    # signed, so this is as trustworthy as the person id beside it)
    subject: str | None = None
    person: dict[str, Any] | None = None


def _key(settings: Settings) -> bytes:
    return settings.session_secret.get_secret_value().encode()


def _mac(settings: Settings, purpose: str, value: str) -> str:
    digest = hmac.new(_key(settings), f"{purpose}\x00{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def session_secret_refusal(settings: Settings) -> str | None:
    """Why the API must not start with this session secret (None: it may)."""
    if settings.demo or settings.session_secret.get_secret_value() != DEMO_SESSION_SECRET:
        return None
    return (
        "refusing to start: ESCALATIONS_SESSION_SECRET is the public demo value and "
        "ESCALATIONS_DEMO is not true; set it to a long random secret (e.g. "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(32))')."
    )


def encode(settings: Settings, session: Session) -> str:
    data: dict[str, Any] = {
        "sid": session.sid,
        "pid": session.person_id,
        "exp": int(session.expires_at),
    }
    if session.subject is not None:
        data["sub"] = session.subject
    if session.person is not None:
        data["p"] = session.person
    body = json.dumps(data, separators=(",", ":"))
    value = base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")
    return f"{value}.{_mac(settings, 'session', value)}"


def decode(settings: Settings, cookie: str | None, now: float | None = None) -> Session | None:
    """The session in a cookie, or None if it is missing, forged or expired."""
    if not cookie or cookie.count(".") != 1:
        return None
    value, mac = cookie.split(".")
    if not hmac.compare_digest(mac, _mac(settings, "session", value)):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        person = data.get("p")
        session = Session(
            str(data["sid"]),
            str(data["pid"]),
            float(data["exp"]),
            str(data["sub"]) if "sub" in data else None,
            person if isinstance(person, dict) else None,
        )
    except (ValueError, KeyError, TypeError):
        return None
    if session.expires_at <= (time.time() if now is None else now):
        return None
    return session


def new_session(
    settings: Settings, person: DirectoryEntry, *, via_provider: bool = False, listed: bool = True
) -> Session:
    """`via_provider`: signed in through the identity provider; `listed`: the person is a
    directory entry (re-read on every request), else the cookie carries who they are."""
    carried = None if listed else person.model_dump(mode="json", exclude={"token_hmac"})
    return Session(
        secrets.token_urlsafe(16),
        person.id,
        time.time() + settings.session_hours * 3600,
        person.subject if via_provider else None,
        carried,
    )


def is_tls(request: Request) -> bool:
    """Did the browser reach us over TLS? X-Forwarded-Proto counts only behind a proxy that the
    settings say sets it (anyone can send the header)."""
    settings: Settings = request.app.state.settings
    if settings.trust_forwarded_proto:
        forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip()
        if forwarded:
            return forwarded == "https"
    return request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_tls(request),
    )


def _store(request: Request) -> ConsoleSessions:
    return request.app.state.report_store.sessions


def start(
    response: Response,
    request: Request,
    person: DirectoryEntry,
    *,
    via_provider: bool = False,
    listed: bool = True,
) -> Session:
    settings: Settings = request.app.state.settings
    session = new_session(settings, person, via_provider=via_provider, listed=listed)
    now = time.time()
    _store(request).start(session.sid, person.id, session.expires_at, now)
    set_cookie(response, request, COOKIE, encode(settings, session), int(session.expires_at - now))
    response.delete_cookie(PRE_COOKIE, path="/")
    return session


def end(response: Response, request: Request, session: Session | None) -> None:
    """Sign out: the session ends on the server (the cookie is dead wherever it was copied to),
    and the browser forgets it."""
    if session is not None:
        _store(request).end(session.sid, time.time())
    response.delete_cookie(COOKIE, path="/")


def current(request: Request) -> tuple[Session, DirectoryEntry] | None:
    """The signed-in person, re-read from the directory (None: not signed in any more).

    The session's row is read synchronously: one primary-key lookup, cheaper on SQLite than a
    hop to a thread, and callers include sync code paths (the /temporal proxy)."""
    settings: Settings = request.app.state.settings
    session = decode(settings, request.cookies.get(COOKIE))
    if session is None or not _store(request).active(session.sid, session.person_id, time.time()):
        return None
    if session.person is not None:  # signed in through the provider, not in the directory
        try:
            return session, DirectoryEntry.model_validate(session.person)
        except ValueError:
            return None
    person = get_directory(request).by_id(session.person_id)
    if person is not None and session.subject is not None:
        person = person.model_copy(update={"subject": session.subject})
    return None if person is None else (session, person)


# --- CSRF ---------------------------------------------------------------------------------------


def csrf_token(settings: Settings, session: Session) -> str:
    return _mac(settings, "csrf", session.sid)


def check_csrf(settings: Settings, session: Session, sent: str | None) -> None:
    if not sent or not hmac.compare_digest(sent, csrf_token(settings, session)):
        raise StaleForm


def presession(request: Request) -> str:
    """The sign-in form's own session id: the browser's pre-session cookie, or a new one."""
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(16)


def presession_csrf(settings: Settings, pre: str) -> str:
    return _mac(settings, "pre-csrf", pre)


def check_presession_csrf(settings: Settings, pre: str | None, sent: str | None) -> None:
    if not pre or not sent or not hmac.compare_digest(sent, presession_csrf(settings, pre)):
        raise StaleForm
