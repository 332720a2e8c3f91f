"""The dashboards' summary tables, kept by the scheduler (``core.dashboards.summary``).

``voice_case_facts`` holds one row per case cycle, computed from the case, its events and
its alarms: when the cycle started, was first responded to and answered, against which
deadlines, how many working minutes each took (the citizen's pauses left out, on the
case's calendar version), its rating, whether it was reopened and which alarms were
raised. Every period figure is an indexed range read of this table; the pages never
read the events or compute working time. ``dashboard_refreshes`` says how far the
summary has got ("as of") and from which change time the next refresh reads.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from core.platform.models import Base, BigId


class CaseCycleFact(Base):
    """One cycle of one case, as the figures count it (definitions: core.dashboards.voice)."""

    __tablename__ = "voice_case_facts"
    __table_args__ = (
        Index("ix_voice_case_facts_started", "started_at", "agency_id"),
        Index("ix_voice_case_facts_acknowledged", "acknowledged_at", "agency_id"),
        Index("ix_voice_case_facts_answered", "answered_at", "agency_id"),
        Index("ix_voice_case_facts_last_alarm", "last_alarm_at"),
    )

    # No foreign key: a summary, written anew from the cases, never read for integrity.
    case_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    cycle: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    # The case's dimensions (its handling agency now).
    agency_id: Mapped[int] = mapped_column(BigId)
    category_id: Mapped[int | None] = mapped_column(BigId)
    channel: Mapped[str] = mapped_column(String(10))
    case_type: Mapped[str] = mapped_column(String(12))
    assigned_user_id: Mapped[int | None] = mapped_column(BigId)
    # Out of the answer figures: the case ended withdrawn or as a duplicate in this cycle.
    excluded: Mapped[bool] = mapped_column(Boolean, default=False)
    started_at: Mapped[datetime]  # the receipt (cycle 1) or the reopening
    acknowledged_at: Mapped[datetime | None]
    acknowledge_due: Mapped[datetime | None]
    acknowledged_on_time: Mapped[bool | None] = mapped_column(Boolean)
    first_response_minutes: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime | None]
    answer_due: Mapped[datetime | None]
    answered_on_time: Mapped[bool | None] = mapped_column(Boolean)
    answer_minutes: Mapped[int | None] = mapped_column(Integer)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    # When each escalation level was raised in this cycle (core.voice.alarms), and the
    # latest of them (what a period's escalations are found by).
    warning_at: Mapped[datetime | None]
    breach_at: Mapped[datetime | None]
    leadership_at: Mapped[datetime | None]
    last_alarm_at: Mapped[datetime | None]


class DashboardRefresh(Base):
    """Where a summary stands: ``as_of`` the time its figures are true at (returned with
    every figure set), ``changes_from`` the change time the next incremental refresh
    reads from (less a safety overlap), ``rebuilt_at`` the last full rebuild."""

    __tablename__ = "dashboard_refreshes"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    as_of: Mapped[datetime]
    changes_from: Mapped[datetime]
    rebuilt_at: Mapped[datetime | None]
    cases: Mapped[int] = mapped_column(Integer, default=0)  # refreshed in the last run
