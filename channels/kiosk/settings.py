"""The ``kiosk`` section: what a kiosk terminal talks to and how its screen behaves."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from core.platform.settings import LocaleSettings, Section


class KioskSettings(Section):
    gateway_url: str = "http://127.0.0.1:8080"
    token: str = ""
    idle_seconds: int = Field(default=60, ge=5)
    # Who this terminal is in heartbeats and on receipts; empty: the host name.
    kiosk_id: str = Field(default="", pattern=r"^([A-Za-z0-9][A-Za-z0-9._-]{0,63})?$")
    # 6-12 digits that open the maintenance screen after the hidden long press (three
    # wrong tries lock it for 1, 5, then 30 minutes); empty: never.
    technician_pin: str = ""
    # A CUPS printer name for the 80 mm receipts; empty: no receipts, unless pdf_dir is
    # set (test/demo mode: PDFs there, deleted when the screen is wiped).
    printer: str = ""
    pdf_dir: str = ""
    fullscreen: bool = True
    hide_cursor: bool = True
    large_text: bool = False
    high_contrast: bool = False
    heartbeat_seconds: int = Field(default=60, ge=5, le=3600)
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=60)

    @field_validator("technician_pin")
    @classmethod
    def _long_enough_pin(cls, value: str) -> str:
        if value and not re.fullmatch(r"[0-9]{6,12}", value):
            raise ValueError("the technician PIN must be 6 to 12 digits (empty: no "
                             "technician exit)")
        return value


class KioskConfiguration(Protocol):
    """What a kiosk terminal reads of the whole configuration."""

    @property
    def kiosk(self) -> KioskSettings: ...

    @property
    def locale(self) -> LocaleSettings: ...

    @property
    def tz(self) -> ZoneInfo: ...


@dataclass(frozen=True)
class KioskConfig:
    """What the running kiosk window needs of the settings (channels/kiosk/app.py)."""

    kiosk_id: str
    version: str
    heartbeat_seconds: int = 60
    tz: ZoneInfo = ZoneInfo("Asia/Riyadh")
    # The bundled fonts in fallback order (channels/kiosk/app.py load_fonts).
    font_families: tuple[str, ...] = ()
