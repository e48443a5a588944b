"""The report store's tables (SQLAlchemy Core). One row per case (its latest snapshot), one per
timeline entry, one per stage visit. Days and weeks are stored as ISO dates (UTC) at write time,
so every report groups by a plain indexed column on SQLite and PostgreSQL alike.

The migrations (migrations/versions) create these tables; change both together.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    text,
)

metadata = MetaData()

cases = Table(
    "cases",
    metadata,
    Column("escalation_id", String(64), primary_key=True),
    Column("as_of", DateTime(timezone=True), nullable=False),
    Column("events_seen", Integer, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("opened_day", String(10), nullable=False),
    Column("opened_week", String(10), nullable=False),
    Column("opened_by_id", String(128), nullable=False),
    Column("opened_by_name", String(256), nullable=False),
    Column("customer_id", String(128)),  # null for cases written before revision 0003
    Column("channel", String(16), nullable=False),
    Column("category", String(64), nullable=False),
    Column("trigger", String(32), nullable=False),
    Column("customer_tier", String(16), nullable=False),
    Column("severity", String(4)),
    Column("avoidable", Boolean),
    Column("stage", String(32), nullable=False),
    Column("team", String(128)),
    Column("assignee", String(128)),
    Column("resolved_tier", String(16)),
    Column("resolved_at", DateTime(timezone=True)),
    Column("outcome", String(500)),
    Column("requested_amount", Float),
    Column("granted_amount", Float),
    Column("currency", String(3)),
    Column("reopen_count", Integer, nullable=False, default=0),
    Column("fr_due_at", DateTime(timezone=True)),
    Column("fr_met_at", DateTime(timezone=True)),
    Column("fr_breached", Boolean, nullable=False, default=False),
    Column("res_due_at", DateTime(timezone=True)),
    Column("res_met_at", DateTime(timezone=True)),
    Column("res_breached", Boolean, nullable=False, default=False),
    Column("root_cause", String(128)),
    Column("feedback_score", Integer),  # the customer's latest answer
    Index("ix_cases_opened_at", "opened_at"),
    Index("ix_cases_opened_day", "opened_day"),
    Index("ix_cases_day_trigger", "opened_day", "trigger"),
    Index("ix_cases_week_trigger", "opened_week", "trigger"),
    Index("ix_cases_coaching", "avoidable", "opened_by_id", "opened_by_name", "trigger"),
    Index("ix_cases_customer", "customer_id", "opened_at"),
)

events = Table(
    "events",
    metadata,
    Column("escalation_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(256), nullable=False),
    Column("role", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("stage", String(32), nullable=False),
    Column("detail", String(500), nullable=False, default=""),
    Index("ix_events_action", "action"),
)

stage_visits = Table(
    "stage_visits",
    metadata,
    Column("escalation_id", String(64), primary_key=True),
    Column("entered_at", DateTime(timezone=True), primary_key=True),
    Column("stage", String(32), primary_key=True),
    Column("left_at", DateTime(timezone=True)),
    Column("seconds", Float),
    Index("ix_stage_visits_stage", "stage", "seconds"),
)

# The policy's versions (issue 25): each a whole TOML text, never edited once out of draft, never
# deleted, so a version number is never re-used; at most one is live (a partial unique index).
POLICY_STATES = ("draft", "in_review", "approved", "scheduled", "live", "retired", "rejected")

policy_versions = Table(
    "policy_versions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("version", String(64), nullable=False, unique=True),
    Column("text", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("author", String(128), nullable=False),
    Column("note", String(2000), nullable=False, default=""),
    Column("state", String(16), nullable=False),
    Column("based_on", String(64)),
    Column("change_id", String(128)),
    Column("go_live_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("live_at", DateTime(timezone=True)),
    Column("retired_at", DateTime(timezone=True)),
    Index(
        "ux_policy_versions_one_live",
        "state",
        unique=True,
        sqlite_where=text("state = 'live'"),
        postgresql_where=text("state = 'live'"),
    ),
)

# Simulations of a version against the live one (core/policy_sim), with progress and report.
policy_simulations = Table(
    "policy_simulations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("version", String(64), nullable=False, index=True),
    Column("against", String(64), nullable=False),
    Column("since", DateTime(timezone=True), nullable=False),
    Column("until", DateTime(timezone=True), nullable=False),
    Column("state", String(16), nullable=False),
    Column("cases_done", Integer, nullable=False, default=0),
    Column("report", Text),
    Column("requested_by", String(128), nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
)

# The console's sessions (core/report_store/sessions.py); times are Unix seconds, like the
# cookie's expiry
console_sessions = Table(
    "console_sessions",
    metadata,
    Column("sid_hash", String(64), primary_key=True),
    Column("person_id", String(128), nullable=False, index=True),
    Column("created_at", Float, nullable=False),
    Column("expires_at", Float, nullable=False, index=True),
    Column("ended_at", Float),
)
