"""What the core needs to know of the configuration, as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from zoneinfo import ZoneInfo

from core.calendar.quiet_hours import QuietHours
from core.platform.settings import Settings


@dataclass(frozen=True)
class CoreConfig:
    tz: ZoneInfo
    national_id_key: bytes
    short_code: str = "74747"
    default_language: str = "ar"
    # Staff (employees, managers) get their messages in this language.
    staff_language: str = "ar"
    phone_region: str = "SA"
    reply_days: int = 10
    max_failures: int = 10
    failure_window_seconds: int = 900
    # SMS answers to one mobile per window, at most (sms.max_answers_per_sender).
    sms_answers_per_sender: int = 20
    sms_answers_window_seconds: int = 3600
    # The overdue rule (core.overdue): days between reminders; how periods count by default.
    repeat_days: int = 3
    day_count: str = "calendar"
    # Overdue messages go from this local time of day (the start of the working day).
    overdue_send_at: time = time(8, 0)
    # None: nothing is held (quiet hours off).
    quiet_hours: QuietHours | None = None
    # Registration and issuance notifications also by e-mail (email.notifications).
    email_notifications: bool = False

    @classmethod
    def from_settings(cls, settings: Settings) -> CoreConfig:
        return cls(
            tz=settings.tz, national_id_key=settings.national_id_key(),
            short_code=settings.sms.short_code,
            default_language=settings.locale.default_language,
            staff_language=settings.locale.default_language,
            phone_region=settings.locale.phone_region,
            reply_days=settings.scheduler.overdue_reply_days,
            max_failures=settings.inquiry.max_failures,
            failure_window_seconds=settings.inquiry.failure_window_seconds,
            sms_answers_per_sender=settings.sms.max_answers_per_sender,
            sms_answers_window_seconds=settings.sms.answers_window_seconds,
            repeat_days=settings.scheduler.overdue_repeat_days,
            day_count=settings.scheduler.overdue_day_count,
            overdue_send_at=settings.scheduler.overdue_send_at,
            quiet_hours=_quiet_hours(settings),
            email_notifications=settings.email.enabled and settings.email.notifications,
        )


def _quiet_hours(settings: Settings) -> QuietHours | None:
    quiet = settings.sms.quiet_hours
    if not quiet.enabled:
        return None
    return QuietHours(start=quiet.start, end=quiet.end, tz=settings.tz,
                      staff_too=quiet.staff)
