"""Alembic environment: the connection comes from core.migrate, never from an ini file."""

from __future__ import annotations

from alembic import context

from core.platform.migrate import include_object
from core.schema import Base

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=include_object(connection.dialect.name),
)
with context.begin_transaction():
    context.run_migrations()
