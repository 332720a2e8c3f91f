"""The composition root: settings in, a core and the components configured out."""

from __future__ import annotations

from core.config import CoreConfig
from core.platform import migrate
from core.platform.db import Database
from core.platform.settings import Settings
from core.service import Core


def build_core(settings: Settings, *, background_log: bool = True) -> Core:
    # At least one pooled connection per server thread: no connect/close churn under load.
    pool_size = max(settings.database.pool_size, settings.gateway.threads)
    db = Database(settings.database.url, pool_size=pool_size,
                  echo=settings.database.echo)
    return Core.build(db, CoreConfig.from_settings(settings), background_log=background_log)


def check_schema(core: Core) -> str | None:
    """A message when the database is not at the current schema, else None."""
    current, head = migrate.current_revision(core.db.engine), migrate.head_revision()
    if current != head:
        return (f"the database schema is at {current or 'nothing'}, this version needs {head}: "
                "run `gateway db upgrade`")
    return None
