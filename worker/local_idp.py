"""A local OpenID Connect provider for trying single sign-on, and for the tests.

It is `oidc-provider-mock` (a real provider built on Authlib: discovery, JWKS, authorization
code flow with PKCE and nonce, RP-initiated logout), with one change: its access tokens are
JWTs (RFC 9068 shape) signed by the same key as its ID tokens, carrying the user's claims, as
Entra ID, Okta and Keycloak issue them, so the API can check them offline. The authorization
page lets you pick one of the demo people below or type any subject.

    python -m worker.local_idp --port 9400          # then, for the embedded run:
    ESCALATIONS_OIDC_ISSUER=http://127.0.0.1:9400 ESCALATIONS_OIDC_CLIENT_ID=escalations-console \\
        python -m worker.embedded

Users' claims can be set while it runs: `PUT /users/<sub>` with a JSON object of claims.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
from datetime import timedelta
from typing import Any

# Demo people: `groups` carries the role (the default claim mapping), as a directory group would
DEMO_USERS: dict[str, dict[str, Any]] = {
    "alex.agent": {
        "email": "alex.agent@example.com",
        "name": "Alex Agent (SSO)",
        "groups": ["agent"],
        "authority_limit": 50,
    },
    "erin.executive": {
        "email": "erin.executive@example.com",
        "name": "Erin Executive (SSO)",
        "groups": ["executive"],
        "authority_limit": 10000,
    },
    "olly.operator": {
        "email": "olly.operator@example.com",
        "name": "Olly Operator (SSO)",
        "groups": ["operator"],
    },
    # the directory's Sam Specialist (matched by e-mail): the directory says who they are
    "sam.specialist": {"email": "p-specialist@staff.example.com", "name": "Sam", "groups": []},
    "nora.nobody": {"email": "nora.nobody@example.com", "name": "Nora Nobody", "groups": []},
}

_short_lived: set[str] = set()
_token_age = timedelta(hours=1)
_STANDARD = {"sub", "iss", "aud", "exp", "iat", "nbf", "jti", "scope", "client_id"}


def jwt_access_token(client: Any, grant_type: str, user: Any, scope: str) -> str:
    """The access token: a JWT signed with the provider's key (named in its JWKS by kid)."""
    import flask
    from authlib.jose import jwt

    storage = flask.g.oidc_provider_mock_storage
    key = storage.jwk.as_dict(is_private=True)
    now = int(time.time())
    life = 1 if user.sub in _short_lived else int(_token_age.total_seconds())
    claims = {
        **{k: v for k, v in user.claims.items() if k not in _STANDARD},
        "iss": flask.request.host_url.rstrip("/"),
        "sub": user.sub,
        "aud": client.id,
        "client_id": client.id,
        "scope": scope or "",
        "iat": now,
        "exp": now + life,
        "jti": secrets.token_urlsafe(12),
    }
    header = {"alg": "RS256", "typ": "at+jwt", "kid": key.get("kid")}
    return jwt.encode(header, claims, key).decode()


def build_app(token_max_age_s: int = 3600, short_lived_users: tuple[str, ...] = ()) -> Any:
    import flask
    import oidc_provider_mock
    from oidc_provider_mock._storage import User

    global _token_age
    _token_age = timedelta(seconds=token_max_age_s)
    _short_lived.update(short_lived_users)
    app = flask.Flask("oidc_provider_mock")  # its templates and static files
    app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = f"{__name__}:jwt_access_token"
    oidc_provider_mock.init_app(
        app,
        require_nonce=True,
        access_token_max_age=_token_age,
        user_claims=[User(sub=sub, claims=dict(claims)) for sub, claims in DEMO_USERS.items()],
    )
    # init_app turns on Werkzeug's interactive debugger: not on a provider people sign in to
    app.wsgi_app, app.debug = app.wsgi_app.app, False  # type: ignore[method-assign,attr-defined]
    app.secret_key = secrets.token_bytes(16)
    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m worker.local_idp", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9400)
    parser.add_argument("--token-max-age", type=int, default=3600, help="seconds")
    parser.add_argument(
        "--short-lived-user",
        action="append",
        default=[],
        help="a subject whose access tokens live 1 s (the tests' expired tokens)",
    )
    args = parser.parse_args(argv)
    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # plain http on the loopback
    print(json.dumps({"issuer": f"http://{args.host}:{args.port}", "users": list(DEMO_USERS)}))
    uvicorn.run(
        build_app(args.token_max_age, tuple(args.short_lived_user)),
        interface="wsgi",
        host=args.host,
        port=args.port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
