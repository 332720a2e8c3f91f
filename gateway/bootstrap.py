"""The composition root: settings in, a core and the components configured out."""

from __future__ import annotations

from core import service
from core.service import Core
from gateway.settings import Settings


def build_core(settings: Settings, *, background_log: bool = True) -> Core:
    # At least one pooled connection per server thread: no connect/close churn under load.
    return service.build(settings, min_pool_size=settings.gateway.threads,
                         background_log=background_log)


def check_schema(core: Core) -> str | None:
    """A message when the database is not at the current schema, else None."""
    current, head = core.health.schema_revisions()
    if current != head:
        return (f"the database schema is at {current or 'nothing'}, this version needs {head}: "
                "run `gateway db upgrade`")
    return None
