"""Quiet hours: notifications to citizens wait out the night and go when the window opens.

The policy is a value (from ``sms.quiet_hours`` and ``sms.quiet_hours.staff``);
``outbox.claim`` asks it which audiences are held at the moment of the claim, so a held
message simply stays pending in its place in the queue and is claimed, in order, once the
window is over. Answers to a citizen's own inquiry (``outbox.PRIORITY_ANSWER``) are never
held: the citizen is waiting for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from core.platform.settings import CoreSettings


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    tz: ZoneInfo
    staff_too: bool = False

    @classmethod
    def of(cls, settings: CoreSettings) -> QuietHours | None:
        """The policy ``sms.quiet_hours`` sets; None when quiet hours are off."""
        quiet = settings.sms.quiet_hours
        if not quiet.enabled:
            return None
        return cls(start=quiet.start, end=quiet.end, tz=settings.tz, staff_too=quiet.staff)

    def in_window(self, now: datetime) -> bool:
        """Whether local time ``now`` is within [start, end) (the window may span midnight)."""
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
        local = now.astimezone(self.tz).time().replace(tzinfo=None)
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def held_audiences(self, now: datetime) -> tuple[str, ...]:
        """The audiences whose notifications wait at ``now`` (empty outside the window)."""
        if not self.in_window(now):
            return ()
        return ("citizen", "staff") if self.staff_too else ("citizen",)
