"""The one clock the core reads: aware UTC datetimes, never naive local ones."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)
