"""The operator's declared public holidays."""

from __future__ import annotations

from datetime import date

from sqlalchemy import (
    Date,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.platform.models import Base


class Holiday(Base):
    """A day off the operator declared (Eid dates are set by sighting): working-day reply
    periods skip it, as they skip Friday and Saturday."""

    __tablename__ = "holidays"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
