"""Alembic environment: runs on the connection handed over by ``metaregistry.index.db.migrate``."""

from __future__ import annotations

from alembic import context

from metaregistry.index.metadata import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only `alembic` run by hand reaches this
    raise RuntimeError("run migrations through metaregistry.index.db.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
