"""The people directory: who a bearer token belongs to, and who can be routed work.

A directory file (TOML) lists people with their role, authority limit, team, contact handles and
`token_hmac`: the HMAC-SHA256 of their API token under the server's pepper
(`ESCALATIONS_TOKEN_PEPPER`), so a leaked directory file alone does not let anyone test guesses.
Tokens themselves are never stored or logged. Hash a token for a production directory with

    ESCALATIONS_TOKEN_PEPPER=... python -m core.directory hash-token   # reads the token on stdin

`LiveDirectory` re-reads the file when it changes (checked at most every
`ESCALATIONS_DIRECTORY_RELOAD_S` seconds) and on SIGHUP, in the API and in the worker, so a
revoked token stops working without a restart.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import hashlib
import hmac
import os
import signal
import sys
import time
import tomllib
import weakref
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from workflows.access import ROLES
from workflows.models import Person

log = structlog.get_logger("directory")

# Public: it only hashes the demo directory's public tokens, and is refused outside the demo.
DEMO_TOKEN_PEPPER = "demo-token-pepper-public"
# Every public demo token: one per role, and the second manager the four-eyes rule needs.
DEMO_TOKENS = (*(f"demo-{r}" for r in ROLES), "demo-manager-2")


def token_hmac(token: str, pepper: str) -> str:
    """What a directory stores for `token`: hex HMAC-SHA256 keyed with the server's pepper."""
    return hmac.new(pepper.encode(), token.encode(), hashlib.sha256).hexdigest()


class DirectoryEntry(Person):
    token_hmac: str | None = Field(None, pattern=r"^[0-9a-f]{64}$")
    # The identity provider's `sub` of this person: how an OIDC sign-in finds their entry
    subject: str | None = Field(None, min_length=1, max_length=255)

    def as_person(self) -> Person:
        """The person without what only the directory keeps (token hash, OIDC subject)."""
        return Person.model_validate(self.model_dump(exclude={"token_hmac", "subject"}))

    @field_validator("role")
    @classmethod
    def _staff_or_system(cls, v: str) -> str:
        if v == "customer":  # customers act only through their feedback link's token
            raise ValueError("a directory lists staff and systems; customers have no token")
        return v


class Directory(BaseModel):
    model_config = ConfigDict(extra="forbid")
    people: list[DirectoryEntry]
    _pepper: str | None = PrivateAttr(default=None)

    def by_id(self, person_id: str) -> DirectoryEntry | None:
        return next((p for p in self.people if p.id == person_id), None)

    def has_demo_tokens(self) -> bool:
        """Whether any entry opens with a public demo token (under the demo pepper or this
        directory's own)."""
        peppers = {DEMO_TOKEN_PEPPER, self._pepper or DEMO_TOKEN_PEPPER}
        demo = {token_hmac(t, p) for t in DEMO_TOKENS for p in peppers}
        return any(p.token_hmac in demo for p in self.people)

    def authenticate(self, token: str) -> DirectoryEntry | None:
        """Constant-time comparison against every stored hash (no early exit on a match)."""
        if self._pepper is None:
            return None
        digest = token_hmac(token, self._pepper)
        found = None
        for p in self.people:
            if p.token_hmac and hmac.compare_digest(p.token_hmac, digest):
                found = p
        return found


def load_directory(path: Path, pepper: str | None = None) -> Directory:
    """The directory in `path`; it authenticates tokens only when given the pepper."""
    with open(path, "rb") as f:
        data = tomllib.load(f)
    if any("token_sha256" in p for p in data.get("people", [])):
        raise ValueError(
            "token_sha256 (bare SHA-256) is no longer accepted: store token_hmac, made with "
            "`python -m core.directory hash-token` and the server's ESCALATIONS_TOKEN_PEPPER"
        )
    directory = Directory.model_validate(data)
    directory._pepper = pepper
    return directory


_LIVE: weakref.WeakSet[LiveDirectory] = weakref.WeakSet()


class LiveDirectory:
    """The directory file as it is now: re-read when its modification time, size or inode
    changed (looked at no more than every `check_s` seconds), or at once after SIGHUP. A file
    that does not load keeps the previous directory in force (and is logged), and so does one
    holding the public demo tokens when `refuse_demo_tokens` (outside the demo: the start-up's
    refusal, applied on every reload)."""

    def __init__(
        self, path: Path, pepper: str | None, check_s: float = 5.0, refuse_demo_tokens: bool = False
    ) -> None:
        self.path = Path(path)
        self.pepper = pepper
        self.check_s = check_s
        self.refuse_demo_tokens = refuse_demo_tokens
        self._stamp = self._stat()
        self._directory = load_directory(self.path, pepper)
        self._checked = time.monotonic()
        self._stale = False
        _LIVE.add(self)

    def _stat(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def request_reload(self) -> None:
        self._stale = True

    def current(self) -> Directory:
        now = time.monotonic()
        if self._stale or now - self._checked >= self.check_s:
            self._checked = now
            stamp = self._stat()
            if self._stale or stamp != self._stamp:
                self._stale = False
                self._reload(stamp)
        return self._directory

    def _reload(self, stamp: tuple[int, int, int] | None) -> None:
        try:
            directory = load_directory(self.path, self.pepper)
        except Exception as e:  # noqa: BLE001 - keep serving with the last good directory
            log.warning("directory_reload_failed", path=str(self.path), error=str(e)[:300])
            return
        if self.refuse_demo_tokens and directory.has_demo_tokens():
            log.error(
                "directory_reload_refused",
                path=str(self.path),
                error="the file holds the public demo tokens (demo-<role>) outside the demo; "
                "the previous directory stays in force",
            )
            return
        self._directory, self._stamp = directory, stamp
        log.info("directory_reloaded", path=str(self.path), people=len(directory.people))


def reload_all() -> None:
    """Mark every live directory of this process for re-reading (the SIGHUP handler)."""
    for live in list(_LIVE):
        live.request_reload()


def reload_on_sighup() -> None:
    """In the running event loop: SIGHUP re-reads the directory (where signals exist)."""
    if hasattr(signal, "SIGHUP"):
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload_all)
        except (RuntimeError, ValueError):  # not the main thread (e.g. an embedded test app)
            pass


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m core.directory")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "hash-token",
        help="print the token_hmac of a token (read from stdin, or asked for on a terminal) "
        "under ESCALATIONS_TOKEN_PEPPER",
    )
    parser.parse_args(argv)
    pepper = os.environ.get("ESCALATIONS_TOKEN_PEPPER")
    if not pepper:
        raise SystemExit("set ESCALATIONS_TOKEN_PEPPER to the servers' pepper first")
    token = getpass.getpass("token: ") if sys.stdin.isatty() else sys.stdin.readline()
    token = token.strip()
    if not token:
        raise SystemExit("no token given")
    print(token_hmac(token, pepper))


if __name__ == "__main__":
    main()
