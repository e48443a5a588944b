"""Alembic environment: run programmatically by core.report_store.migrate, which passes the
open connection in `config.attributes["connection"]`."""

from __future__ import annotations

from alembic import context

from core.report_store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
