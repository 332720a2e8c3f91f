"""The phone line's calls."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.platform.db import utcnow
from core.platform.models import Base, BigId


class IvrCall(Base):
    """One call to the toll-free line: where the caller is in the menus (kept here between
    Twilio's webhooks, by CallSid) and, once it ends, its log line.

    Holds no national ID and only a masked caller number. ``replay`` is the last answer
    spoken, for "press 1 to hear it again"; it is emptied when the call ends.
    """

    __tablename__ = "ivr_calls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    # "ivr" for calls through Twilio, "ivr-sim" for the staff call simulator.
    channel: Mapped[str] = mapped_column(String(10), default="ivr")
    caller_masked: Mapped[str] = mapped_column(String(32), default="")
    language: Mapped[str | None] = mapped_column(String(2))
    node: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    number: Mapped[str | None] = mapped_column(String(20))
    replay: Mapped[str | None] = mapped_column(Text)
    # The menus visited, in order, space-separated ("language number status options").
    path: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str | None] = mapped_column(String(20))
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None]
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
