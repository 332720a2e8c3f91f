"""`gateway db upgrade` from outside the core: the database opened by its URL alone (no
running core: its schema may be too old for one), migrated, and closed again."""

from __future__ import annotations

from core.platform import migrate
from core.platform.db import Database


def upgrade_database(url: str) -> str | None:
    """Apply the migrations up to this version's schema; the revision it is at then."""
    database = Database(url)
    try:
        migrate.upgrade(database.engine)
        return migrate.current_revision(database.engine)
    finally:
        database.dispose()
