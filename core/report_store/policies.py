"""The policy's stored versions, in the report store's database (table `policy_versions`).

Rules the code keeps (and the tests check on SQLite and PostgreSQL):

- a version number (the policy's own `version`) is stored once: never re-used, rows never
  deleted; `seq` orders them;
- a text is only changed while its version is a draft; a version in review, approved, live or
  retired is never edited (a change is a new version);
- a state moves only as `STATE_MOVES` allows, compare-and-set (two racing moves: one wins);
- at most one version is live (a partial unique index, and `go_live` retires the old one in the
  same transaction).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError

from core.report_store.schema import policy_versions as pv
from workflows.policy_change.models import STATE_MOVES, StoredVersion, VersionState


class PolicyStoreError(Exception):
    """A refused store operation; the message is a sentence for a person."""


class VersionNotFound(PolicyStoreError):
    pass


class VersionReused(PolicyStoreError):
    pass


class StateConflict(PolicyStoreError):
    pass


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _utc(t: datetime | None) -> datetime | None:
    if t is None:
        return None
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def _row(r: Any, with_text: bool = True) -> StoredVersion:
    m = dict(r._mapping)
    for k in ("go_live_at", "created_at", "updated_at", "live_at", "retired_at"):
        m[k] = _utc(m[k])
    if not with_text:
        m.pop("text", None)
    return StoredVersion.model_validate(m)


class PolicyVersions:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # --- reads ----------------------------------------------------------------------------------

    def live(self) -> StoredVersion | None:
        with self.engine.connect() as conn:
            r = conn.execute(select(pv).where(pv.c.state == VersionState.LIVE)).first()
        return _row(r) if r else None

    def get(self, version: str) -> StoredVersion:
        with self.engine.connect() as conn:
            r = conn.execute(select(pv).where(pv.c.version == version)).first()
        if r is None:
            raise VersionNotFound(f"No policy version {version!r}.")
        return _row(r)

    def all(self) -> list[StoredVersion]:
        """Every version, newest first, without texts."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(pv).order_by(pv.c.seq.desc())).all()
        return [_row(r, with_text=False) for r in rows]

    # --- writes ---------------------------------------------------------------------------------

    def _insert(self, row: dict[str, Any]) -> StoredVersion:
        for _ in range(3):  # two writers may pick the same next seq: the loser tries again
            try:
                with self.engine.begin() as conn:
                    if conn.execute(select(pv.c.seq).where(pv.c.version == row["version"])).first():
                        raise VersionReused(
                            f"Version {row['version']!r} already exists; version numbers are "
                            "never re-used: give the new text a new `version`."
                        )
                    seq: int = conn.execute(
                        select(func.coalesce(func.max(pv.c.seq), 0))
                    ).scalar_one()
                    conn.execute(pv.insert().values(seq=seq + 1, **row))
                return self.get(row["version"])
            except IntegrityError:
                continue
        raise StateConflict("The store is busy with other new versions; try again.")

    def seed(self, version: str, text: str, now: datetime) -> StoredVersion | None:
        """First start: store the file's policy as the live version. Does nothing (None) when any
        version is stored already: from then on the store is the policy's home."""
        with self.engine.connect() as conn:
            if conn.execute(select(pv.c.seq).limit(1)).first() is not None:
                return None
        try:
            return self._insert(
                self._new(version, text, "config", "seeded from the policy file", now)
                | {"state": VersionState.LIVE, "live_at": now}
            )
        except (VersionReused, StateConflict):
            return None  # another process seeded it first

    @staticmethod
    def _new(version: str, text: str, author: str, note: str, now: datetime) -> dict[str, Any]:
        return {
            "version": version,
            "text": text,
            "digest": digest(text),
            "author": author,
            "note": note,
            "state": VersionState.DRAFT,
            "created_at": now,
            "updated_at": now,
        }

    def create_draft(
        self, version: str, text: str, author: str, note: str, based_on: str | None, now: datetime
    ) -> StoredVersion:
        return self._insert(self._new(version, text, author, note, now) | {"based_on": based_on})

    def edit_draft(
        self, version: str, new_version: str, text: str, note: str | None, now: datetime
    ) -> StoredVersion:
        """Change a draft's text (and note). Anything out of draft is never edited."""
        current = self.get(version)
        if current.state != VersionState.DRAFT or current.change_id is not None:
            raise StateConflict(
                f"Version {version} is {current.state}"
                + (" and proposed" if current.change_id else "")
                + "; only a draft is edited. Write a new version instead."
            )
        if new_version != version:
            raise StateConflict(
                f"The text says version {new_version!r}; a draft keeps its number ({version!r})."
            )
        values: dict[str, Any] = {"text": text, "digest": digest(text), "updated_at": now}
        if note is not None:
            values["note"] = note
        with self.engine.begin() as conn:
            done = conn.execute(
                update(pv)
                .where(
                    pv.c.version == version,
                    pv.c.state == VersionState.DRAFT,
                    pv.c.change_id.is_(None),
                )
                .values(**values)
            ).rowcount
        if not done:
            raise StateConflict(f"Version {version} left draft meanwhile; it is not edited.")
        return self.get(version)

    def claim_change(self, version: str, change_id: str, now: datetime) -> StoredVersion:
        """Name a draft's change workflow before it starts (so its decisions are accepted at
        once); a draft is proposed once."""
        with self.engine.begin() as conn:
            done = conn.execute(
                update(pv)
                .where(
                    pv.c.version == version,
                    pv.c.state == VersionState.DRAFT,
                    (pv.c.change_id.is_(None)) | (pv.c.change_id == change_id),
                )
                .values(change_id=change_id, updated_at=now)
            ).rowcount
        if not done:
            raise StateConflict(f"Version {version} is not a draft waiting to be proposed.")
        return self.get(version)

    def move(
        self,
        version: str,
        to: VersionState,
        from_states: list[VersionState],
        now: datetime,
        change_id: str | None = None,
        go_live_at: datetime | None = None,
    ) -> StoredVersion:
        """Move a version's state (compare-and-set from `from_states`). Repeating a move that is
        done already answers the row (an activity's retry). Going live is `go_live`."""
        if to == VersionState.LIVE:
            return self.go_live(version, now)
        current = self.get(version)
        same_change = change_id is None or current.change_id == change_id
        same_time = to != VersionState.SCHEDULED or current.go_live_at == _utc(go_live_at)
        if current.state == to and same_change and same_time:
            return current
        if current.state not in from_states or to not in STATE_MOVES[current.state]:
            raise StateConflict(f"Version {version} is {current.state}; it cannot become {to}.")
        values: dict[str, Any] = {"state": to, "updated_at": now}
        if change_id is not None:
            values["change_id"] = change_id
        if to in (VersionState.SCHEDULED, VersionState.APPROVED):
            values["go_live_at"] = go_live_at
        with self.engine.begin() as conn:
            done = conn.execute(
                update(pv)
                .where(pv.c.version == version, pv.c.state == current.state)
                .values(**values)
            ).rowcount
        if not done:
            raise StateConflict(f"Version {version} changed state meanwhile; look again.")
        return self.get(version)

    def go_live(self, version: str, now: datetime) -> StoredVersion:
        """Make an approved (or scheduled) version live and retire the live one, at once."""
        current = self.get(version)
        if current.state == VersionState.LIVE:
            return current
        if current.state not in (VersionState.APPROVED, VersionState.SCHEDULED):
            raise StateConflict(f"Version {version} is {current.state}; it cannot go live.")
        with self.engine.begin() as conn:
            conn.execute(
                update(pv)
                .where(pv.c.state == VersionState.LIVE)
                .values(state=VersionState.RETIRED, retired_at=now, updated_at=now)
            )
            done = conn.execute(
                update(pv)
                .where(pv.c.version == version, pv.c.state == current.state)
                .values(state=VersionState.LIVE, live_at=now, updated_at=now)
            ).rowcount
            if not done:
                raise StateConflict(f"Version {version} changed state meanwhile; look again.")
        return self.get(version)
