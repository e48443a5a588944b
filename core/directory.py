"""The people directory: who a bearer token belongs to, and who can be routed work.

A directory file (TOML) lists people with their role, authority limit, team, contact handles and
the SHA-256 hash of their API token. Tokens themselves are never stored or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from workflows.models import Person

DEMO_TOKEN_HASHES = frozenset(
    hashlib.sha256(f"demo-{role}".encode()).hexdigest()
    for role in (
        "system",
        "agent",
        "helpline",
        "specialist",
        "supervisor",
        "manager",
        "executive",
        "operator",
    )
)


class DirectoryEntry(Person):
    token_sha256: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid")
    people: list[DirectoryEntry]

    def by_id(self, person_id: str) -> DirectoryEntry | None:
        return next((p for p in self.people if p.id == person_id), None)

    def has_demo_tokens(self) -> bool:
        return any(p.token_sha256 in DEMO_TOKEN_HASHES for p in self.people)

    def authenticate(self, token: str) -> DirectoryEntry | None:
        """Constant-time comparison against every stored hash (no early exit on a match)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        found = None
        for p in self.people:
            if p.token_sha256 and hmac.compare_digest(p.token_sha256, digest):
                found = p
        return found


def load_directory(path: Path) -> Directory:
    with open(path, "rb") as f:
        return Directory.model_validate(tomllib.load(f))
