"""The console's sessions (table `console_sessions`): one row per signed-in browser, written at
sign-in, read on every console request, ended at sign-out. The cookie stays signed (any API
process can check it); the row is what makes it revocable
(docs/decisions/0053-revocable-console-sessions.md).

Rows are keyed by a hash of the session id: the table alone never opens a session."""

from __future__ import annotations

import hashlib

from sqlalchemy import Engine, delete, select, update

from core.report_store.schema import console_sessions as cs

# expired rows are kept this long (the audit of who was signed in when), then dropped
KEEP_EXPIRED_S = 7 * 86400


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class ConsoleSessions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def start(self, sid: str, person_id: str, expires_at: float, now: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(delete(cs).where(cs.c.expires_at < now - KEEP_EXPIRED_S))
            conn.execute(
                cs.insert().values(
                    sid_hash=_key(sid), person_id=person_id, created_at=now, expires_at=expires_at
                )
            )

    def active(self, sid: str, person_id: str, now: float) -> bool:
        """The session was started for this person, has not ended and has not expired."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(cs.c.person_id, cs.c.expires_at, cs.c.ended_at).where(
                    cs.c.sid_hash == _key(sid)
                )
            ).first()
        return (
            row is not None
            and row.person_id == person_id
            and row.ended_at is None
            and row.expires_at > now
        )

    def end(self, sid: str, now: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(cs)
                .where(cs.c.sid_hash == _key(sid), cs.c.ended_at.is_(None))
                .values(ended_at=now)
            )
