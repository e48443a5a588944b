"""A real OpenID Connect provider process on the loopback for the tests (worker/local_idp.py:
oidc-provider-mock with JWT access tokens), and a client that goes through its authorization
code flow (PKCE, state, nonce) the way a browser would, to get its tokens for the API tests.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

CLIENT_ID = "escalations-console"
CLIENT_SECRET = "console-secret-for-tests"
SHORT_LIVED_USER = "alex.agent.short"  # their access tokens live 1 s (worker/local_idp.py)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Provider:
    issuer: str

    def set_user(self, sub: str, claims: dict[str, Any]) -> None:
        r = httpx.put(f"{self.issuer}/users/{sub}", json=claims)
        assert r.status_code == 204, r.text

    def tokens(self, sub: str, client_id: str = CLIENT_ID) -> dict[str, Any]:
        """The provider's token response for `sub` signing in to `client_id`."""
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        redirect = "http://127.0.0.1:1/callback"  # never followed: the code is in Location
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect,
            "scope": "openid profile email",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge.decode().rstrip("="),
            "code_challenge_method": "S256",
        }
        r = httpx.post(f"{self.issuer}/oauth2/authorize", params=query, data={"sub": sub})
        assert r.status_code == 302, r.text
        code = parse_qs(urlparse(r.headers["location"]).query)["code"][0]
        r = httpx.post(
            f"{self.issuer}/oauth2/token",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect,
                "code_verifier": verifier,
            },
            auth=(client_id, CLIENT_SECRET),
        )
        assert r.status_code == 200, r.text
        return r.json()

    def access_token(self, sub: str, client_id: str = CLIENT_ID) -> str:
        return self.tokens(sub, client_id)["access_token"]


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[Provider]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "worker.local_idp",
            "--port",
            str(port),
            "--short-lived-user",
            SHORT_LIVED_USER,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    issuer = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if httpx.get(f"{issuer}/.well-known/openid-configuration").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"the local OIDC provider did not start: {err[-2000:]}")
        time.sleep(0.1)
    try:
        yield Provider(issuer)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def sso_settings(provider: Provider, **more: Any) -> dict[str, Any]:
    """The settings that point the app at the provider."""
    return {
        "oidc_issuer": provider.issuer,
        "oidc_client_id": CLIENT_ID,
        "oidc_client_secret": CLIENT_SECRET,
        "oidc_display_name": "Local IdP",
        "oidc_leeway_s": 0,  # the expired token is 2 s old
        **more,
    }
