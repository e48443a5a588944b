"""Who is calling: `Authorization: Bearer <token>` -> a person of the directory.

Tokens are compared as SHA-256 hashes in constant time (core.directory) and are never logged.
`CurrentPerson` is any known caller; `require(action)` narrows a route to the roles the access
table (workflows/access.py) allows for that action (403).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.errors import Forbidden, Unauthorized
from core.directory import Directory, DirectoryEntry, load_directory
from core.settings import Settings
from workflows.access import ACCESS, ROLES, Action, role_refusal, stages_text, who
from workflows.models import Actor

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description=(
        "A personal API token. The demo tokens are `demo-<role>`, e.g. `demo-agent`, "
        "`demo-specialist`, `demo-executive` (see the README)."
    ),
)


class StartupRefused(RuntimeError):
    """The API will not serve with this configuration (the message says why and what to do)."""


def load_people(settings: Settings) -> Directory:
    """Load the people directory; refuse demo tokens outside the demo."""
    path = Path(settings.directory_path)
    try:
        directory = load_directory(path)
    except FileNotFoundError as e:
        raise StartupRefused(
            f"people directory {path} does not exist; set ESCALATIONS_DIRECTORY_PATH"
        ) from e
    except Exception as e:  # noqa: BLE001 - TOML or validation error: say which file
        raise StartupRefused(f"people directory {path} is invalid: {e}") from e
    if not settings.demo and directory.has_demo_tokens():
        raise StartupRefused(
            f"refusing to start: the people directory {path} still holds the public demo "
            "tokens (demo-<role>) and ESCALATIONS_DEMO is not true. Point "
            "ESCALATIONS_DIRECTORY_PATH at a production directory (token hashes only), or set "
            "ESCALATIONS_DEMO=true for a demo run."
        )
    return directory


def get_directory(request: Request) -> Directory:
    return request.app.state.directory


async def current_person(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> DirectoryEntry:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("Send Authorization: Bearer <token>.")
    if credentials.scheme.lower() != "bearer":
        raise Unauthorized("Only Bearer tokens are accepted.")
    person = get_directory(request).authenticate(credentials.credentials)
    if person is None:
        raise Unauthorized("The token is not known.")
    return person


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
    return line


def actor_of(person: DirectoryEntry) -> Actor:
    return Actor(
        id=person.id,
        name=person.name,
        role=person.role,
        authority_limit=person.authority_limit,
        team=person.team,
    )
