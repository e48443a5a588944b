"""The report store: each case's facts (its latest snapshot, its timeline, its stage visits) in a
relational database the reports read, shared by the worker (which writes, through the
``dispatch`` activity) and the API (which reads).

SQLAlchemy Core 2 with a sync engine: the same statements on SQLite (the embedded default, WAL)
and PostgreSQL (``ESCALATIONS_REPORT_DB_URL``). Async callers go through ``asyncio.to_thread``;
a write is one short transaction, so a thread per call costs little next to its commit.

Every write is idempotent: events and stage visits have natural keys and are inserted with ON
CONFLICT DO NOTHING (a visit's end time is only ever filled in); the case row takes a snapshot
only if it is not older than the one it holds. A retried or repeated write changes nothing.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, and_, create_engine, event, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import OperationalError

from core.report_store.policies import PolicyVersions
from core.report_store.schema import cases, events, stage_visits
from core.report_store.sessions import ConsoleSessions
from core.report_store.simulations import Simulations
from workflows.messages import CaseFacts, CaseSnapshot

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)


def utc(t: datetime) -> datetime:
    """Aware UTC (a naive time, as SQLite returns it, is UTC)."""
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)


def week_of(t: datetime) -> str:
    """The Monday (UTC) of the week `t` falls in, as an ISO date."""
    d = utc(t).date()
    return (d - timedelta(days=d.weekday())).isoformat()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _: Any) -> None:
            # WAL: readers (the API) never block the writer (the worker) and vice versa.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    if url.startswith("postgresql://"):  # the installed driver is psycopg 3
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True)


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (API and worker both call this at start-up; a
    second process racing the first finds the work done on its retry)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    for attempt in range(3):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":  # one migrator at a time
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(24240001)")
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "head")
            return
        except OperationalError:
            if attempt == 2:
                raise
            time.sleep(0.5)


def _case_row(c: CaseSnapshot) -> dict[str, Any]:
    clocks = {k.name: k for k in c.clocks}
    fr, res = clocks.get("first_response"), clocks.get("resolution")
    opened = utc(c.opened_at)
    return {
        "escalation_id": c.escalation_id,
        "as_of": utc(c.as_of),
        "events_seen": c.events_seen,
        "opened_at": opened,
        "opened_day": opened.date().isoformat(),
        "opened_week": week_of(opened),
        "opened_by_id": c.opened_by_id,
        "opened_by_name": c.opened_by_name,
        "customer_id": c.customer_id,
        "channel": c.channel,
        "category": c.category,
        "trigger": c.trigger,
        "customer_tier": c.customer_tier,
        "severity": c.severity,
        "avoidable": c.avoidable,
        "stage": c.stage,
        "team": c.team,
        "assignee": c.assignee,
        "resolved_tier": c.resolved_tier,
        "resolved_at": c.resolved_at and utc(c.resolved_at),
        "outcome": c.outcome[:500] if c.outcome else None,
        "requested_amount": c.requested_amount,
        "granted_amount": c.granted_amount,
        "currency": c.currency,
        "reopen_count": c.reopen_count,
        "fr_due_at": fr and fr.due_at and utc(fr.due_at),
        "fr_met_at": fr and fr.met_at and utc(fr.met_at),
        "fr_breached": bool(fr and fr.breached),
        "res_due_at": res and res.due_at and utc(res.due_at),
        "res_met_at": res and res.met_at and utc(res.met_at),
        "res_breached": bool(res and res.breached),
        "root_cause": c.root_cause,
        "feedback_score": c.feedback_score,
    }


def _upserts(dialect: Any) -> tuple[Any, Any, Any]:
    """The store's three idempotent writes: a case's snapshot, taken only if not older than the
    row's (`as_of`, then the timeline length); an event, once; a visit, whose end is only ever
    filled in."""
    stmt = dialect.insert(cases)
    newer = or_(
        stmt.excluded.as_of > cases.c.as_of,
        and_(
            stmt.excluded.as_of == cases.c.as_of,
            stmt.excluded.events_seen >= cases.c.events_seen,
        ),
    )
    upsert_case = stmt.on_conflict_do_update(
        index_elements=["escalation_id"],
        set_={c.name: stmt.excluded[c.name] for c in cases.c if c.name != "escalation_id"},
        where=newer,
    )
    insert_event = dialect.insert(events).on_conflict_do_nothing(
        index_elements=["escalation_id", "seq"]
    )
    visit = dialect.insert(stage_visits)
    upsert_visit = visit.on_conflict_do_update(
        index_elements=["escalation_id", "entered_at", "stage"],
        set_={
            "left_at": func.coalesce(stage_visits.c.left_at, visit.excluded.left_at),
            "seconds": func.coalesce(stage_visits.c.seconds, visit.excluded.seconds),
        },
    )
    return upsert_case, insert_event, upsert_visit


class ReportStore:
    def __init__(self, url: str, run_migrations: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if run_migrations:
            migrate(self.engine)
        self._upserts = _upserts(postgresql if self.engine.dialect.name == "postgresql" else sqlite)
        self.policies = PolicyVersions(self.engine)
        self.simulations = Simulations(self.engine)
        self.sessions = ConsoleSessions(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def write(self, batch: list[CaseFacts]) -> None:
        """Write the facts of one or more cases in one transaction (idempotent).

        The three statements are built once (building an upsert of 30 columns cost more than
        running it); cases, events and visits each go in one executemany, in batch order, so
        of two snapshots of one case the newer stays whichever comes first."""
        if not batch:
            return
        case_rows = [_case_row(f.case) for f in batch]
        event_rows = [
            {
                "escalation_id": f.case.escalation_id,
                "seq": e.seq,
                "at": utc(e.at),
                "actor": e.actor[:256],
                "role": e.role,
                "action": e.action,
                "stage": e.stage,
                "detail": e.detail[:500],
            }
            for f in batch
            for e in f.events
        ]
        visit_rows = [
            {
                "escalation_id": f.case.escalation_id,
                "entered_at": utc(v.entered_at),
                "stage": v.stage,
                "left_at": v.left_at and utc(v.left_at),
                "seconds": None
                if v.left_at is None
                else max(0.0, (utc(v.left_at) - utc(v.entered_at)).total_seconds()),
            }
            for f in batch
            for v in f.stages
        ]
        upsert_case, insert_event, upsert_visit = self._upserts
        with self.engine.begin() as conn:
            conn.execute(upsert_case, case_rows)
            if event_rows:
                conn.execute(insert_event, event_rows)
            if visit_rows:
                conn.execute(upsert_visit, visit_rows)

    def count_cases(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(cases)).scalar_one())
