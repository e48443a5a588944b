"""Covering indexes for the series by trigger and the coaching view (bench.reports).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_day_trigger", "cases", ["opened_day", "trigger"])
    op.create_index("ix_cases_week_trigger", "cases", ["opened_week", "trigger"])
    op.create_index(
        "ix_cases_coaching", "cases", ["avoidable", "opened_by_id", "opened_by_name", "trigger"]
    )


def downgrade() -> None:
    op.drop_index("ix_cases_coaching", "cases")
    op.drop_index("ix_cases_week_trigger", "cases")
    op.drop_index("ix_cases_day_trigger", "cases")
