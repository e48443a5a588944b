"""Whose case it is and what resolved it: the customer-history activity (a customer's past year
of escalations, newest first) reads them by customer and opening time.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("cases", sa.Column("customer_id", sa.String(128)))  # a plain ALTER on both
    op.add_column("cases", sa.Column("outcome", sa.String(500)))
    op.create_index("ix_cases_customer", "cases", ["customer_id", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_customer", "cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("outcome")
        batch.drop_column("customer_id")
