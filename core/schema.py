"""Every feature's tables in one metadata, for Alembic and for tests that create the schema.

Each feature owns its models (``core/<feature>/models.py``); importing this module
registers all of them on the one declarative base.
"""

from __future__ import annotations

import core.access.models
import core.calendar.models
import core.calls.models
import core.dashboards.models
import core.directory.models
import core.kiosks.models
import core.messaging.models
import core.transactions.models
import core.voice.models  # noqa: F401  (each import registers its tables)
from core.platform.models import Base

__all__ = ["Base"]
