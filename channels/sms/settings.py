"""The ``sms`` section: the SMSC to bind to and the short code's answer budget.

Extends the core's part of the section (``SmsBasics``: the short code, the quiet hours).
"""

from __future__ import annotations

from pydantic import Field

from core.platform.settings import CoreSettings, Section, SmsBasics


class SmppSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=2775, ge=1, le=65535)
    system_id: str = ""
    password: str = ""
    system_type: str = ""
    # The account's agreed rate, shared by all its binds (each sends at most rate/binds).
    throughput_per_second: float = Field(default=50.0, gt=0)
    window: int = Field(default=10, ge=1, le=1000)
    # The binds the SMSC grants this account, over every process and machine: each bind
    # holds one of them as a lease (``smpp-bind:<k>``) while it is bound.
    binds: int = Field(default=1, ge=1, le=64)
    # The binds one process opens (at most ``binds``; default all of them). Beyond the
    # slots free when it starts, they stand by and take over the slots of a process that
    # stops.
    binds_per_process: int | None = Field(default=None, ge=1, le=64)

    @property
    def process_binds(self) -> int:
        """How many binds this process opens."""
        return min(self.binds, self.binds_per_process or self.binds)


class SmsSettings(SmsBasics):
    enabled: bool = False
    # Answers one mobile gets per window at most; past it, its messages are stored and not
    # answered (an auto-responder echoing our answers back would otherwise loop forever).
    max_answers_per_sender: int = Field(default=20, ge=1)
    answers_window_seconds: int = Field(default=3600, ge=60)
    smpp: SmppSettings = SmppSettings()


def sms_section(settings: CoreSettings) -> SmsSettings:
    """This channel's section of the configuration the core was given: the whole ``sms``
    section when the gateway assembled it, the channel's defaults over the core's part
    when the core was built from its own settings alone (tools, tests)."""
    if isinstance(settings.sms, SmsSettings):
        return settings.sms
    return SmsSettings(**settings.sms.model_dump())
