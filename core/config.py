"""What the core needs to know of the configuration, as one frozen value."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from core.settings import Settings


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
            email_notifications=settings.email.enabled and settings.email.notifications,
        )
