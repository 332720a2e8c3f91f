"""The settings of messaging that the core reads: the quiet hours the outbox holds
notifications in, and the parts of the channels' sections the core's texts need.

The SMS and e-mail channels extend ``SmsBasics`` and ``EmailBasics`` with their own keys
(``channels/sms/settings.py``, ``channels/email/settings.py``), under the same sections.
"""

from __future__ import annotations

from datetime import time

from core.platform.settings import Section


class QuietHoursSettings(Section):
    enabled: bool = True
    start: time = time(22, 0)
    end: time = time(7, 0)
    # Staff messages (assignment, overdue, digest) are held too when set.
    staff: bool = False


class SmsBasics(Section):
    """What the core reads of the ``sms`` section: the short code its texts name, and the
    quiet hours the outbox holds notifications in (the channel's own keys extend it)."""

    short_code: str = "74747"
    quiet_hours: QuietHoursSettings = QuietHoursSettings()


class EmailBasics(Section):
    """What the core reads of the ``email`` section: whether notifications also go by mail."""

    enabled: bool = False
    # Registration and issuance notifications also by e-mail, to applicants with an address.
    notifications: bool = False
