"""The dashboards' summary tables, kept by the scheduler (``core.dashboards.summary``).

``voice_case_facts`` holds one row per case cycle, computed from the case, its events and
its alarms: when the cycle started, was first responded to and answered, against which
deadlines, how many working minutes each took (the citizen's pauses left out, on the
case's calendar version), its rating, whether it was reopened and which alarms were
raised, and the local days and histogram bins the daily tables count it by.

``voice_daily`` counts the facts by local day, agency, category, channel and case type
(received, answered, on time, ratings, reopenings, alarms), and ``voice_daily_times``
keeps, by local day and agency, fixed histograms of the times to first response and to
answer (``core.dashboards.histogram``): the refresh keeps both equal to the sums of the
facts (``core.dashboards.summary``), so a period's figures read days, not cycles.
``dashboard_refreshes`` says how far the summary has got ("as of") and from which change
time the next refresh reads.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.dashboards.histogram import BINS
from core.platform.models import Base, BigId


class CaseCycleFact(Base):
    """One cycle of one case, as the figures count it (definitions: core.dashboards.voice)."""

    __tablename__ = "voice_case_facts"
    __table_args__ = (
        Index("ix_voice_case_facts_started", "started_at", "agency_id"),
        Index("ix_voice_case_facts_acknowledged", "acknowledged_at", "agency_id"),
        Index("ix_voice_case_facts_answered", "answered_at", "agency_id"),
        Index("ix_voice_case_facts_last_alarm", "last_alarm_at"),
        # One agency's cycles received, first responded to or answered in a period (its
        # leader's page: the exact percentiles, the lists behind its figures).
        Index("ix_voice_case_facts_agency_started", "agency_id", "started_at"),
        Index("ix_voice_case_facts_agency_acknowledged", "agency_id", "acknowledged_at"),
        Index("ix_voice_case_facts_agency_answered", "agency_id", "answered_at"),
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
    # The local days (``config.tz``) each moment above falls on, and the histogram bins
    # of the two times: what the daily tables count this cycle by. Null in the rows
    # written before they existed (a refresh rewrites them all: the migration asks it to).
    started_day: Mapped[date | None] = mapped_column(Date)
    acknowledged_day: Mapped[date | None] = mapped_column(Date)
    answered_day: Mapped[date | None] = mapped_column(Date)
    warning_day: Mapped[date | None] = mapped_column(Date)
    breach_day: Mapped[date | None] = mapped_column(Date)
    leadership_day: Mapped[date | None] = mapped_column(Date)
    first_response_bin: Mapped[int | None] = mapped_column(SmallInteger)
    answer_bin: Mapped[int | None] = mapped_column(SmallInteger)


NO_CATEGORY = 0  # voice_daily's category of the cases without one (a key is never null)
NO_SPECIALIST = 0  # voice_daily_specialists' specialist of the cases assigned to no one


class DailyCount(Base):
    """What the facts of one local day, agency, category, channel and case type add up
    to; each count is the facts whose moment falls on ``day`` (definitions:
    core.dashboards.voice): received (cycle 1 started), first responses and answers
    (withdrawn and duplicates out), ratings, reopenings, and alarms by level."""

    __tablename__ = "voice_daily"
    __table_args__ = (
        PrimaryKeyConstraint("day", "agency_id", "category_id", "channel", "case_type"),
        Index("ix_voice_daily_agency", "agency_id", "day"),
    )

    day: Mapped[date] = mapped_column(Date)
    agency_id: Mapped[int] = mapped_column(BigId)
    category_id: Mapped[int] = mapped_column(BigId)  # NO_CATEGORY: none
    channel: Mapped[str] = mapped_column(String(10))
    case_type: Mapped[str] = mapped_column(String(12))
    received: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_on_time: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)
    answered_on_time: Mapped[int] = mapped_column(Integer, default=0)
    rated: Mapped[int] = mapped_column(Integer, default=0)
    rating_sum: Mapped[int] = mapped_column(Integer, default=0)
    satisfied: Mapped[int] = mapped_column(Integer, default=0)  # rated 4 or 5
    reopened: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    breaches: Mapped[int] = mapped_column(Integer, default=0)
    leadership_alarms: Mapped[int] = mapped_column(Integer, default=0)


DAILY_COUNTS = ("received", "acknowledged", "acknowledged_on_time", "answered",
                "answered_on_time", "rated", "rating_sum", "satisfied", "reopened",
                "warnings", "breaches", "leadership_alarms")


class DailySpecialistCount(Base):
    """Received and answered by local day, agency and the specialist a case is assigned
    to now (an agency leader's volumes by specialist): the same as ``DailyCount``'s."""

    __tablename__ = "voice_daily_specialists"
    __table_args__ = (PrimaryKeyConstraint("agency_id", "day", "user_id"),)

    agency_id: Mapped[int] = mapped_column(BigId)
    day: Mapped[date] = mapped_column(Date)
    user_id: Mapped[int] = mapped_column(BigId)  # NO_SPECIALIST: none
    received: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[int] = mapped_column(Integer, default=0)


SPECIALIST_COUNTS = ("received", "answered")


class BacklogCount(Base):
    """The open cases of one agency, category, channel and type as the summary's last
    refresh counted them (its ``as_of``): open, overdue, and by whole working days open
    (definitions: core.dashboards.voice). Counted anew at every refresh."""

    __tablename__ = "voice_backlog"
    __table_args__ = (
        PrimaryKeyConstraint("agency_id", "category_id", "channel", "case_type"),)

    agency_id: Mapped[int] = mapped_column(BigId)
    category_id: Mapped[int] = mapped_column(BigId)  # NO_CATEGORY: none
    channel: Mapped[str] = mapped_column(String(10))
    case_type: Mapped[str] = mapped_column(String(12))
    open: Mapped[int] = mapped_column(Integer, default=0)
    overdue: Mapped[int] = mapped_column(Integer, default=0)
    ageing_0_3: Mapped[int] = mapped_column(Integer, default=0)
    ageing_4_7: Mapped[int] = mapped_column(Integer, default=0)
    ageing_8_14: Mapped[int] = mapped_column(Integer, default=0)
    ageing_15_30: Mapped[int] = mapped_column(Integer, default=0)
    ageing_over_30: Mapped[int] = mapped_column(Integer, default=0)


# voice_backlog's ageing columns, in the order of core.dashboards.voice.AGEING's buckets.
AGEING_COUNTS = ("ageing_0_3", "ageing_4_7", "ageing_8_14", "ageing_15_30", "ageing_over_30")


def first_response_bins() -> list[str]:
    """voice_daily_times' columns of the first-response histogram, bin by bin."""
    return [f"fr{index:03d}" for index in range(BINS)]


def answer_bins() -> list[str]:
    return [f"an{index:03d}" for index in range(BINS)]


def _times_table(name: str, first_day: str) -> Table:
    """A table of the times' histograms by period (from ``first_day``) and agency: how
    many first responses and answers fell in it, and their times (working minutes) in
    the bins of core.dashboards.histogram. A plain table: its 450 bins are read and
    written as columns, never as objects."""
    return Table(
        name, Base.metadata,
        Column(first_day, Date, nullable=False),
        Column("agency_id", BigId, nullable=False),
        Column("first_responses", Integer, nullable=False, default=0),
        Column("answers", Integer, nullable=False, default=0),
        *(Column(column, Integer, nullable=False, default=0)
          for column in (*first_response_bins(), *answer_bins())),
        PrimaryKeyConstraint(first_day, "agency_id"),
    )


# By local day and agency; and the same by week (Sunday to Saturday, ``week`` its
# Sunday), so that a long period reads its whole weeks, not their every day.
daily_times = _times_table("voice_daily_times", "day")
weekly_times = _times_table("voice_weekly_times", "week")


class DashboardRefresh(Base):
    """Where a summary stands: ``as_of`` the time its figures are true at (returned with
    every figure set), ``changes_from`` the change time the next incremental refresh
    reads from (less a safety overlap), ``rebuilt_at`` the last full rebuild,
    ``full_pending`` a full refresh begun and not finished (the next one is full)."""

    __tablename__ = "dashboard_refreshes"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    as_of: Mapped[datetime]
    changes_from: Mapped[datetime]
    rebuilt_at: Mapped[datetime | None]
    cases: Mapped[int] = mapped_column(Integer, default=0)  # refreshed in the last run
    full_pending: Mapped[bool] = mapped_column(Boolean, default=False)
