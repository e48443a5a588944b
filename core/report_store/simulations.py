"""Simulations of a policy version against the live one (table `policy_simulations`): started by
the API, filled in by the `simulate_policy` activity (progress, then the report)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select, update

from core.report_store.policies import VersionNotFound, _utc
from core.report_store.schema import policy_simulations as ps


class Simulations:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self, sim_id: str, version: str, against: str, since: datetime, until: datetime,
        by: str, now: datetime,
    ) -> None:  # fmt: skip
        with self.engine.begin() as conn:
            if conn.execute(select(ps.c.id).where(ps.c.id == sim_id)).first() is None:
                conn.execute(
                    ps.insert().values(
                        id=sim_id,
                        version=version,
                        against=against,
                        since=since,
                        until=until,
                        state="running",
                        cases_done=0,
                        requested_by=by,
                        started_at=now,
                    )  # fmt: skip
                )

    def progress(self, sim_id: str, cases_done: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(ps).where(ps.c.id == sim_id).values(cases_done=cases_done))

    def finish(self, sim_id: str, report: dict[str, Any] | None, now: datetime) -> None:
        """The report (state done), or None: failed."""
        values: dict[str, Any] = {
            "state": "failed" if report is None else "done",
            "finished_at": now,
        }
        if report is not None:
            values |= {"report": json.dumps(report), "cases_done": report["live"]["cases"]}
        with self.engine.begin() as conn:
            conn.execute(update(ps).where(ps.c.id == sim_id).values(**values))

    def get(self, sim_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            r = conn.execute(select(ps).where(ps.c.id == sim_id)).first()
        if r is None:
            raise VersionNotFound(f"No simulation {sim_id!r}.")
        return _doc(r)

    def latest(self, version: str) -> dict[str, Any] | None:
        """The version's latest finished simulation (the report attached to its change)."""
        with self.engine.connect() as conn:
            r = conn.execute(
                select(ps)
                .where(ps.c.version == version, ps.c.state == "done")
                .order_by(ps.c.finished_at.desc())
                .limit(1)
            ).first()
        return _doc(r) if r else None

    def newest(self, version: str) -> dict[str, Any] | None:
        """The version's most recently started simulation, running or not (the console shows
        its progress while it runs)."""
        with self.engine.connect() as conn:
            r = conn.execute(
                select(ps).where(ps.c.version == version).order_by(ps.c.started_at.desc()).limit(1)
            ).first()
        return _doc(r) if r else None


def _doc(r: Any) -> dict[str, Any]:
    m = dict(r._mapping)
    for k in ("since", "until", "started_at", "finished_at"):
        m[k] = _utc(m[k])
    m["report"] = json.loads(m["report"]) if m["report"] else None
    return m
