"""The first schema: cases, events, stage visits.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("escalation_id", sa.String(64), primary_key=True),
        sa.Column("as_of", TS, nullable=False),
        sa.Column("events_seen", sa.Integer, nullable=False),
        sa.Column("opened_at", TS, nullable=False),
        sa.Column("opened_day", sa.String(10), nullable=False),
        sa.Column("opened_week", sa.String(10), nullable=False),
        sa.Column("opened_by_id", sa.String(128), nullable=False),
        sa.Column("opened_by_name", sa.String(256), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("trigger", sa.String(32), nullable=False),
        sa.Column("customer_tier", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(4)),
        sa.Column("avoidable", sa.Boolean),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("team", sa.String(128)),
        sa.Column("assignee", sa.String(128)),
        sa.Column("resolved_tier", sa.String(16)),
        sa.Column("resolved_at", TS),
        sa.Column("requested_amount", sa.Float),
        sa.Column("granted_amount", sa.Float),
        sa.Column("currency", sa.String(3)),
        sa.Column("reopen_count", sa.Integer, nullable=False),
        sa.Column("fr_due_at", TS),
        sa.Column("fr_met_at", TS),
        sa.Column("fr_breached", sa.Boolean, nullable=False),
        sa.Column("res_due_at", TS),
        sa.Column("res_met_at", TS),
        sa.Column("res_breached", sa.Boolean, nullable=False),
        sa.Column("root_cause", sa.String(128)),
        sa.Column("feedback_score", sa.Integer),
    )
    op.create_index("ix_cases_opened_at", "cases", ["opened_at"])
    op.create_index("ix_cases_opened_day", "cases", ["opened_day"])
    op.create_table(
        "events",
        sa.Column("escalation_id", sa.String(64), primary_key=True),
        sa.Column("seq", sa.Integer, primary_key=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("stage", sa.String(32), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
    )
    op.create_index("ix_events_action", "events", ["action"])
    op.create_table(
        "stage_visits",
        sa.Column("escalation_id", sa.String(64), primary_key=True),
        sa.Column("entered_at", TS, primary_key=True),
        sa.Column("stage", sa.String(32), primary_key=True),
        sa.Column("left_at", TS),
        sa.Column("seconds", sa.Float),
    )
    op.create_index("ix_stage_visits_stage", "stage_visits", ["stage", "seconds"])


def downgrade() -> None:
    op.drop_table("stage_visits")
    op.drop_table("events")
    op.drop_table("cases")
