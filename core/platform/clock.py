"""The time every stored timestamp is taken from: UTC, timezone-aware.

Apart from ``core.platform.db`` so that code outside the core (the channels) can stamp
times without importing the database layer.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC and timezone-aware, as the database columns store it."""
    return datetime.now(UTC)
