"""The last heartbeat of each kiosk terminal."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.platform.models import Base


class KioskHeartbeat(Base):
    """The last heartbeat of each kiosk terminal: which are alive, and in what state.

    One row per kiosk id, overwritten by every heartbeat; nothing about a citizen (the
    last inquiry's time only, never what was asked).
    """

    __tablename__ = "kiosk_heartbeats"

    kiosk_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The name of the kiosk token that sent it (who the gateway believes it is).
    token_name: Mapped[str] = mapped_column(String(100))
    version: Mapped[str] = mapped_column(String(40), default="")
    printer: Mapped[str] = mapped_column(String(200), default="")
    last_inquiry_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime]
