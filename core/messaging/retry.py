"""When a message that could not be sent is tried again: one schedule for every channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetrySchedule:
    """Exponential backoff: ``first`` after the first failed attempt, doubling, at most
    ``most``; after ``max_attempts`` a temporary failure is final (None: never)."""

    first: timedelta = timedelta(seconds=30)
    most: timedelta = timedelta(hours=1)
    max_attempts: int | None = 12

    def after(self, attempts: int) -> timedelta:
        """How long to wait after the ``attempts``-th failed attempt (1 for the first)."""
        factor: int = 2 ** max(attempts - 1, 0)
        return min(self.first * factor, self.most)

    def exhausted(self, attempts: int) -> bool:
        return self.max_attempts is not None and attempts >= self.max_attempts
