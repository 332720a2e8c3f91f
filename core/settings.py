"""What the core reads of the configuration: its own sections and the core's part of the
shared ones, as declared by each feature next to its code.

``gateway.settings.Settings`` extends ``CoreSettings`` with every component's section, so
the core is handed the whole configuration and reads the sections it knows directly
(``settings.sms.short_code``, ``settings.scheduler.overdue_repeat_days``); nothing is
copied field by field.
"""

from __future__ import annotations

from functools import cached_property
from zoneinfo import ZoneInfo

from core.calendar.quiet_hours import QuietHours
from core.messaging.settings import EmailBasics, SmsBasics
from core.platform.settings import (
    DatabaseSettings,
    FileSettings,
    LocaleSettings,
    SecuritySettings,
)
from core.transactions.settings import InquirySettings, OverdueSettings


class CoreSettings(FileSettings):
    database: DatabaseSettings = DatabaseSettings()
    locale: LocaleSettings = LocaleSettings()
    inquiry: InquirySettings = InquirySettings()
    security: SecuritySettings = SecuritySettings()
    sms: SmsBasics = SmsBasics()
    email: EmailBasics = EmailBasics()
    scheduler: OverdueSettings = OverdueSettings()

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.locale.timezone)

    @cached_property
    def quiet_hours(self) -> QuietHours | None:
        """The hours notifications to citizens are held in; None when they are off."""
        quiet = self.sms.quiet_hours
        if not quiet.enabled:
            return None
        return QuietHours(start=quiet.start, end=quiet.end, tz=self.tz, staff_too=quiet.staff)

    @cached_property
    def email_notifications(self) -> bool:
        """Registration and issuance notifications also go by e-mail."""
        return self.email.enabled and self.email.notifications

    @cached_property
    def national_id_key(self) -> bytes:
        """The HMAC key national IDs are hashed with: configured, or generated once under
        var/ (read once per process)."""
        return (self.security.national_id_key or self.kept_secret("national_id_key")).encode()
