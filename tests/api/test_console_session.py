"""The console's session cookie and CSRF tokens (api/console/session.py), without a browser."""

from __future__ import annotations

import time

import pytest
from pydantic import SecretStr
from starlette.requests import Request

from api.console import session
from core.settings import Settings

SETTINGS = Settings(demo=True, _env_file=None)


def test_a_session_round_trips_and_holds_no_token():
    s = session.Session("sid-1", "p-manager", time.time() + 60)
    cookie = session.encode(SETTINGS, s)
    assert session.decode(SETTINGS, cookie) == session.Session(
        "sid-1", "p-manager", int(s.expires_at)
    )
    assert "demo-" not in cookie


@pytest.mark.parametrize(
    "tamper",
    [
        lambda c: c[:-2] + ("AA" if not c.endswith("AA") else "BB"),  # the MAC
        lambda c: (
            session.encode(
                SETTINGS, session.Session("sid-1", "p-executive", time.time() + 60)
            ).split(".")[0]
            + "."
            + c.split(".")[1]
        ),  # another person's body under this MAC
        lambda c: c.replace(".", ""),
        lambda c: "",
    ],
)
def test_a_tampered_cookie_is_no_session(tamper):
    cookie = session.encode(SETTINGS, session.Session("sid-1", "p-manager", time.time() + 60))
    assert session.decode(SETTINGS, tamper(cookie)) is None


def test_an_expired_cookie_or_another_secret_is_no_session():
    expired = session.encode(SETTINGS, session.Session("sid-1", "p-manager", time.time() - 1))
    assert session.decode(SETTINGS, expired) is None
    other = Settings(demo=True, _env_file=None, session_secret=SecretStr("another"))
    live = session.encode(other, session.Session("sid-1", "p-manager", time.time() + 60))
    assert session.decode(SETTINGS, live) is None


def test_csrf_tokens_are_bound_to_the_session():
    a = session.Session("sid-a", "p-manager", time.time() + 60)
    b = session.Session("sid-b", "p-manager", time.time() + 60)
    session.check_csrf(SETTINGS, a, session.csrf_token(SETTINGS, a))
    for sent in (session.csrf_token(SETTINGS, b), "", None, "forged"):
        with pytest.raises(session.StaleForm):
            session.check_csrf(SETTINGS, a, sent)


def test_the_demo_secret_is_refused_outside_the_demo():
    assert session.session_secret_refusal(SETTINGS) is None
    assert "ESCALATIONS_SESSION_SECRET" in (
        session.session_secret_refusal(Settings(demo=False, _env_file=None)) or ""
    )
    real = Settings(demo=False, _env_file=None, session_secret=SecretStr("x" * 32))
    assert session.session_secret_refusal(real) is None


class _App:
    def __init__(self, settings: Settings) -> None:
        self.state = type("State", (), {"settings": settings})()


def _request(settings: Settings, scheme: str, forwarded: str | None) -> Request:
    headers = [(b"x-forwarded-proto", forwarded.encode())] if forwarded else []
    scope = {
        "type": "http",
        "scheme": scheme,
        "headers": headers,
        "app": _App(settings),
        "path": "/",
        "query_string": b"",
        "server": ("testserver", 80),
    }
    return Request(scope)


def test_x_forwarded_proto_counts_only_when_trusted():
    trusting = Settings(demo=True, _env_file=None, trust_forwarded_proto=True)
    assert not session.is_tls(_request(SETTINGS, "http", "https"))
    assert session.is_tls(_request(trusting, "http", "https"))
    assert not session.is_tls(_request(trusting, "https", "http"))
    assert session.is_tls(_request(SETTINGS, "https", None))
