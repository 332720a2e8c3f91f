"""Citizen's Voice's figures, read from the summary the scheduler keeps
(``core.dashboards.summary``: one row per case cycle) and, for what is true *now*, from
the live cases through their indexes. The definitions, in words (VOICE.md §Dashboards):

**Periods.** A period is a range of local dates (``config.tz``), both ends included, from
the local midnight starting the first to the one ending the last. The previous period is
the same number of days just before it. A cycle is the case from its receipt (cycle 1)
or from a reopening (each reopening starts one more) to its answer.

**Received**: cases received in the period (cycle 1 started in it); every case counts,
withdrawn and duplicates too (they were received). A reopening is not a new case.

**First response**: cycles first responded to in the period: the first act of staff on
the cycle that takes it up (an assignment, a start, an answer, a routing...; a comment is
not one). On time when at or before the cycle's acknowledge deadline. Its time is the
working time from the cycle's start to it, on the case's calendar version.

**Answered**: cycles answered in the period: the first move of the cycle into an answer
or a decision (answered; a suggestion accepted, planned, implemented or rejected). On time
when at or before the cycle's answer deadline, which the citizen's pauses (awaiting their
reply) push back (core.voice.deadlines); its time is the working time from the cycle's
start to the answer, the pauses left out. Cycles that ended withdrawn or as a duplicate
are out of the first-response and the answer figures (and of all below).

**Times** are working hours on the case's calendar version (its working windows, weekend,
holidays), exact to the minute: medians and 90th percentiles are exact, computed from
every cycle in the selection (linear interpolation between the two nearest values, as
PostgreSQL's ``percentile_cont``: the median of an even count is the mean of the middle
two). None when there is no cycle.

**Satisfaction**, of the cycles answered in the period: the mean of the citizens' ratings
(1-5), the share of 4 and 5 among the rated, and the response rate (rated ÷ answered).
**Reopen rate**: the share of the cycles answered in the period that the citizen
reopened. **Escalations**: alarms raised in the period, by level (warning at
``voice.warning_percent`` of the answer target, breach at the deadline, leadership).

**Now** (whatever the period; counted from the live cases at each refresh of the
summary, so as of its ``as_of``; the lists behind them are live): *open* cases (their
clock running or paused awaiting the citizen), *overdue* ones (clock running, answer
deadline passed), and the backlog's *ageing*: open cases by whole working days since
their cycle started, by their case's calendar version, pauses included (how long the
case has been open, not its clock): 0–3, 4–7, 8–14, 15–30, over 30.

**Agencies**: a case counts for the agency handling it now (a complaint about an
agency's own staff is the emirate's). The league ranks agencies on their median answer
time (then on-time %), only those with at least ``voice.dashboard_min_cases`` answered
cycles in the period; the others are listed after, unranked.

Every figure set carries ``as_of``: when the summary it was read from was last refreshed
(the lists behind the figures are as of the read itself).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Literal
from zoneinfo import ZoneInfo

from hijridate import Gregorian, Hijri
from sqlalchemy import (
    ColumnElement,
    Date,
    and_,
    bindparam,
    case,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from core.access.models import StaffUser
from core.calendar import versions
from core.calendar.dates import hijri_date
from core.calendar.working import WorkingCalendar, from_minute, to_minute
from core.dashboards import histogram
from core.dashboards.daily import sunday
from core.dashboards.models import (
    AGEING_COUNTS,
    DAILY_COUNTS,
    NO_CATEGORY,
    NO_SPECIALIST,
    SPECIALIST_COUNTS,
    BacklogCount,
    CaseCycleFact,
    DailyCount,
    DailySpecialistCount,
    DashboardRefresh,
    answer_bins,
    daily_times,
    first_response_bins,
    weekly_times,
)
from core.directory.models import Agency
from core.platform.db import UTCDateTime
from core.platform.errors import InvalidRequest, NotFound
from core.voice import states
from core.voice.models import VoiceCase, VoiceCategory

SUMMARY = "voice"  # the summary's row in dashboard_refreshes
MAX_DAYS = 3700  # the longest period asked for (about ten years)
# The working calendar's range (core.calendar.working), a previous period's included.
FIRST_DAY, LAST_DAY = date(2011, 1, 1), date(2199, 12, 31)
AGEING = ("0-3", "4-7", "8-14", "15-30", "31+")
# The working days at which a case leaves each ageing bucket for the next.
AGEING_EDGES = (4, 8, 15, 31)
OPEN = tuple(sorted(states.CLOCK_RUNNING | states.PAUSED))
RUNNING = tuple(sorted(states.CLOCK_RUNNING))
LEVELS = ("warning", "breach", "leadership")
DIMENSIONS = ("agency", "category", "channel", "type", "specialist")
Dimension = Literal["agency", "category", "channel", "type", "specialist"]
Step = Literal["week", "month", "hijri_month"]


# --- what is asked --------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Local dates ``start`` to ``end``, both included."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise InvalidRequest("the period ends before it starts", code="invalid_field",
                                 field="to")
        if self.start < FIRST_DAY or self.end > LAST_DAY:
            raise InvalidRequest(f"a period within {FIRST_DAY.year}-{LAST_DAY.year}",
                                 code="invalid_field", field="from")
        if (self.end - self.start).days >= MAX_DAYS:
            raise InvalidRequest(f"a period of at most {MAX_DAYS} days",
                                 code="invalid_field", field="to")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The same number of days just before."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of ``start`` to that after ``end``."""
        return (_midnight(self.start, tz), _midnight(self.end + timedelta(days=1), tz))

    @classmethod
    def hijri_month(cls, year: int, month: int) -> Period:
        """The Gregorian dates of an Umm al-Qura month."""
        first = Hijri(year, month, 1).to_gregorian()
        following = Hijri(year + month // 12, month % 12 + 1, 1).to_gregorian()
        return cls(date(first.year, first.month, first.day),
                   date(following.year, following.month, following.day) - timedelta(days=1))

    def as_dict(self) -> dict[str, str]:
        return {"from": self.start.isoformat(), "to": self.end.isoformat()}


def _midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True)
class Filters:
    """Which cases: codes of an agency and a category, a channel, a case type (None:
    all). Resolved to ids by ``resolve``."""

    agency: str | None = None
    category: str | None = None
    channel: str | None = None
    case_type: str | None = None


@dataclass(frozen=True)
class Scope:
    """Filters resolved: the ids the queries use."""

    agency_id: int | None = None
    category_id: int | None = None
    channel: str | None = None
    case_type: str | None = None


def no_such_agency() -> NotFound:
    """The answer to an agency that does not exist, and to an agency leader asking for
    another's figures: the two look alike."""
    return NotFound("no such agency", code="unknown_agency", field="agency")


def resolve(session: Session, filters: Filters) -> Scope:
    """Codes to ids; an unknown agency or category is a 404 naming the field."""
    agency_id = category_id = None
    if filters.agency is not None:
        agency_id = session.scalar(select(Agency.id).where(Agency.code == filters.agency))
        if agency_id is None:
            raise no_such_agency()
    if filters.category is not None:
        category_id = session.scalar(select(VoiceCategory.id).where(
            VoiceCategory.code == filters.category))
        if category_id is None:
            raise NotFound("no such category", code="unknown_category", field="category")
    return Scope(agency_id, category_id, filters.channel, filters.case_type)


# --- what is answered -----------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """The period figures of one selection (all agencies, or one)."""

    received: int = 0
    acknowledged: int = 0
    acknowledged_on_time: int = 0
    acknowledge_on_time_pct: float | None = None
    median_first_response_hours: float | None = None
    p90_first_response_hours: float | None = None
    answered: int = 0
    answered_on_time: int = 0
    on_time_pct: float | None = None
    median_answer_hours: float | None = None
    p90_answer_hours: float | None = None
    rated: int = 0
    satisfaction_mean: float | None = None
    satisfied_pct: float | None = None  # the share of 4 and 5 among the rated
    response_rate_pct: float | None = None  # rated ÷ answered
    reopened: int = 0
    reopen_pct: float | None = None
    escalations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Backlog:
    """What is open now."""

    open: int = 0
    overdue: int = 0
    ageing: dict[str, int] = field(default_factory=lambda: dict.fromkeys(AGEING, 0))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AgencyFigures:
    agency: str  # code
    name_ar: str
    name_en: str
    current: Figures
    previous: Figures
    backlog: Backlog


@dataclass(frozen=True)
class VoiceFigures:
    """Everything of one figure set: the period's, the previous period's, the backlog now,
    the same per agency, and when the summary was last refreshed."""

    period: Period
    previous_period: Period
    filters: Filters
    current: Figures
    previous: Figures
    backlog: Backlog
    by_agency: list[AgencyFigures]
    as_of: datetime | None  # None: the summary was never refreshed


@dataclass(frozen=True)
class LeagueRow:
    agency: str
    name_ar: str
    name_en: str
    answered: int
    median_answer_hours: float | None
    p90_answer_hours: float | None
    on_time_pct: float | None
    rank: int | None  # None: fewer than the minimum count, not ranked


@dataclass(frozen=True)
class TrendPoint:
    """One week (Sunday to Saturday), Gregorian month or Hijri month of a trend."""

    start: date
    end: date
    label: str  # "2026-11-22", "2026-11", "1448-06"
    received: int
    answered: int
    on_time_pct: float | None
    median_answer_hours: float | None


@dataclass(frozen=True)
class VolumeRow:
    key: str  # the agency's or category's code, the channel, the type, the login
    name_ar: str
    name_en: str
    received: int
    previous_received: int
    answered: int
    previous_answered: int


@dataclass(frozen=True)
class CaseRow:
    """One case in a list behind a figure (no text, no contact: leaders open the case)."""

    tracking: str
    case_type: str
    state: str  # now
    agency: str
    category: str | None
    channel: str
    cycle: int
    at: datetime  # when it counted for the figure (received, answered...; due if late)
    answer_due: datetime | None
    awaits: str  # who the case waits for now: "coordinator", "specialist", "citizen", ""


@dataclass(frozen=True)
class CasePage:
    rows: list[CaseRow]
    after: str | None  # give it back for the next page; None: the last page


# --- percentiles ----------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], share: float) -> float | None:
    """The ``share`` quantile by linear interpolation between the nearest ranks (as
    ``percentile_cont``); None for no values."""
    if not sorted_values:
        return None
    position = share * (len(sorted_values) - 1)
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 2)


def _pct(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, 1)


# --- the period figures ---------------------------------------------------------------
#
# Where each figure is read from. Counts (received, answered, on time, ratings,
# reopenings, escalations) from the daily counts (``voice_daily``: one row per local day,
# agency, category, channel and type), whatever the period. The medians and 90th
# percentiles exactly from the facts (every cycle's time) when the period is at most
# ``EXACT_DAYS`` days and holds at most ``EXACT_CYCLES`` first responses and answers, or
# when it is narrowed by category, channel or type; otherwise, for every agency or one,
# from the histograms (``voice_weekly_times``, ``voice_daily_times``), within the bound
# ``core.dashboards.histogram`` states (less than 1/16 of the value; exact under 32
# minutes). The exact way costs a read of every cycle; the histograms' the same few
# hundred rows whatever the count, and their error shrinks as cycles fill the bins. By
# specialist (``volumes``): received and answered from their own daily counts
# (``voice_daily_specialists``), anything else from the facts.

EXACT_DAYS = 31  # the longest period whose percentiles may be read exactly
EXACT_CYCLES = 20_000  # and the most first responses and answers they may take in


def _where(scope: Scope,
           table: type[CaseCycleFact] | type[VoiceCase] | type[DailyCount]
           | type[BacklogCount] = CaseCycleFact) -> list[ColumnElement[bool]]:
    """The scope's filters on the facts or the daily counts (the period figures) or,
    with ``VoiceCase``, on the live cases (the backlog now): the tables name these
    columns alike."""
    conditions: list[ColumnElement[bool]] = []
    if scope.agency_id is not None:
        conditions.append(table.agency_id == scope.agency_id)
    if scope.category_id is not None:
        conditions.append(table.category_id == scope.category_id)
    if scope.channel is not None:
        conditions.append(table.channel == scope.channel)
    if scope.case_type is not None:
        conditions.append(table.case_type == scope.case_type)
    return conditions


def from_histograms(period: Period, scope: Scope, cycles: int) -> bool:
    """Whether ``period``'s percentiles for ``scope`` (by agency at most), of ``cycles``
    first responses and answers, come from the histograms rather than exactly from the
    facts: long, or many."""
    return ((period.days > EXACT_DAYS or cycles > EXACT_CYCLES)
            and scope.category_id is None and scope.channel is None
            and scope.case_type is None)


@dataclass
class _Tally:
    """The raw material of one ``Figures``: counts and sums, and the percentiles."""

    received: int = 0
    acknowledged: int = 0
    ack_on_time: int = 0
    ack_p50: float | None = None
    ack_p90: float | None = None
    answered: int = 0
    answer_on_time: int = 0
    answer_p50: float | None = None
    answer_p90: float | None = None
    rated: int = 0
    rating_sum: int = 0
    satisfied: int = 0
    reopened: int = 0
    escalations: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LEVELS, 0))

    def figures(self) -> Figures:
        rated = self.rated
        return Figures(
            received=self.received, acknowledged=self.acknowledged,
            acknowledged_on_time=self.ack_on_time,
            acknowledge_on_time_pct=_pct(self.ack_on_time, self.acknowledged),
            median_first_response_hours=_hours(self.ack_p50),
            p90_first_response_hours=_hours(self.ack_p90),
            answered=self.answered, answered_on_time=self.answer_on_time,
            on_time_pct=_pct(self.answer_on_time, self.answered),
            median_answer_hours=_hours(self.answer_p50),
            p90_answer_hours=_hours(self.answer_p90),
            rated=rated,
            satisfaction_mean=round(self.rating_sum / rated, 2) if rated else None,
            satisfied_pct=_pct(self.satisfied, rated),
            response_rate_pct=_pct(rated, self.answered),
            reopened=self.reopened, reopen_pct=_pct(self.reopened, self.answered),
            escalations=dict(self.escalations))

    def counted(self) -> bool:
        return bool(self.received or self.acknowledged or self.answered
                    or any(self.escalations.values()))


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _grouped(session: Session, key: Any, columns: Sequence[Any],
             where: Sequence[ColumnElement[bool]]) -> list[tuple[Any, ...]]:
    """(group, *columns) rows grouped by ``key``; one row of group None without one."""
    if key is None:
        return [(None, *row) for row in session.execute(select(*columns).where(*where))]
    return [tuple(row) for row in session.execute(
        select(key, *columns).where(*where).group_by(key))]


ALL = "*"  # the group of the whole selection beside the others (``tallies(total=True)``)
# Each dimension's column in the facts and in the daily counts (None: not kept there).
_FACT_KEYS: dict[str, Any] = {
    "agency": CaseCycleFact.agency_id, "category": CaseCycleFact.category_id,
    "channel": CaseCycleFact.channel, "type": CaseCycleFact.case_type,
    "specialist": CaseCycleFact.assigned_user_id}
_DAILY_KEYS: dict[str, Any] = {
    "agency": DailyCount.agency_id, "category": DailyCount.category_id,
    "channel": DailyCount.channel, "type": DailyCount.case_type}


def _percentiles(session: Session, key: Any, minutes: Any,
                 where: Sequence[ColumnElement[bool]],
                 total: bool) -> dict[Any, tuple[float | None, float | None]]:
    """The median and 90th percentile of ``minutes`` by group (all: key None), and of
    the whole selection as group ``ALL`` when ``total``. On PostgreSQL
    ``percentile_cont`` in the database; elsewhere the values are read once and
    interpolated the same way (``percentile``)."""
    if session.get_bind().dialect.name == "postgresql":
        both = (func.percentile_cont(0.5).within_group(minutes),
                func.percentile_cont(0.9).within_group(minutes))
        out = {row[0]: (row[1], row[2]) for row in _grouped(session, key, both, where)}
        if total:
            whole = _grouped(session, None, both, where)[0]
            out[ALL] = (whole[1], whole[2])
        return out
    values: dict[Any, list[int]] = defaultdict(list)
    query = select(key if key is not None else literal(None), minutes).where(*where)
    for group, value in session.execute(query):
        values[group].append(value or 0)
    if total:
        values[ALL] = [value for found in list(values.values()) for value in found]
    out = {}
    for group, found in values.items():
        found.sort()
        out[group] = (percentile(found, 0.5), percentile(found, 0.9))
    return out


def _add(total: _Tally, part: _Tally) -> None:
    for name in ("received", "acknowledged", "ack_on_time", "answered", "answer_on_time",
                 "rated", "rating_sum", "satisfied", "reopened"):
        setattr(total, name, getattr(total, name) + getattr(part, name))
    for level in LEVELS:
        total.escalations[level] += part.escalations[level]


def tallies(session: Session, tz: ZoneInfo, period: Period, scope: Scope,
            by: Dimension | None = "agency", *, total: bool = False,
            times: bool = True, counts: Sequence[str] = DAILY_COUNTS) -> dict[Any, _Tally]:
    """The period's raw figures grouped by the dimension ``by`` (None: one group, None,
    for the whole selection), and with ``total`` the whole selection as group ``ALL``
    (its counts the groups' sums, its percentiles its own); without ``times``, the
    counts alone, and of the daily counts only ``counts`` (the others 0). Where each
    part is read from: the comment above."""
    if by == "specialist":
        if times or not set(counts) <= set(SPECIALIST_COUNTS) or scope.category_id \
                or scope.channel or scope.case_type:
            return fact_tallies(session, tz, period, scope, by, total=total, times=times,
                                counts=counts)
        return _totalled(_specialist_counts(session, scope, period, counts), total)
    out = _daily_counts(session, scope, period, _DAILY_KEYS[by] if by else None, counts)
    if times:
        cycles = sum(t.acknowledged + t.answered for t in out.values())
        if by in ("agency", None) and from_histograms(period, scope, cycles):
            _histogram_times(session, scope, period, by == "agency", total, out)
        else:
            _exact_times(session, scope, *period.bounds(tz),
                         _FACT_KEYS[by] if by else None, total, out)
    return _totalled(out, total)


def fact_tallies(session: Session, tz: ZoneInfo, period: Period, scope: Scope,
                 by: Dimension | None = "agency", *, total: bool = False,
                 times: bool = True, counts: Sequence[str] = DAILY_COUNTS,
                 ) -> dict[Any, _Tally]:
    """The same as ``tallies``, every part from the facts (exact, and by any dimension,
    the specialist too): range reads of the facts, counted in the database. What the
    daily tables must add up to."""
    start, end = period.bounds(tz)
    key = _FACT_KEYS[by] if by else None
    out = _fact_counts(session, scope, start, end, key, counts)
    if times:
        _exact_times(session, scope, start, end, key, total, out)
    return _totalled(out, total)


def _totalled(out: dict[Any, _Tally], total: bool) -> dict[Any, _Tally]:
    """The groups that counted anything, and with ``total`` the group ``ALL`` holding
    their counts' sums (and the percentiles already put there)."""
    if total:
        whole = out.pop(ALL, _Tally())
        for part in out.values():
            _add(whole, part)
        out[ALL] = whole
    return {group: tally for group, tally in out.items()
            if group == ALL or tally.counted()}


# Each daily count's place in a ``_Tally``: a field, or an escalation level.
_TALLIED = {"acknowledged_on_time": "ack_on_time", "answered_on_time": "answer_on_time"}
_LEVEL_OF = {"warnings": "warning", "breaches": "breach", "leadership_alarms": "leadership"}


def _daily_counts(session: Session, scope: Scope, period: Period, key: Any,
                  names: Sequence[str] = DAILY_COUNTS) -> dict[Any, _Tally]:
    """The counts ``names`` (the others left at 0) by ``key`` (a column of the daily
    counts, or None): one range read."""
    d = DailyCount
    out: dict[Any, _Tally] = defaultdict(_Tally)
    for group, *sums in _grouped(
            session, key, [func.sum(getattr(d, name)) for name in names],
            [d.day >= period.start, d.day <= period.end, *_where(scope, DailyCount)]):
        if key is d.category_id and group == NO_CATEGORY:
            group = None
        tally = out[group]
        for name, found in zip(names, sums, strict=True):
            if name in _LEVEL_OF:
                tally.escalations[_LEVEL_OF[name]] = int(found or 0)
            else:
                setattr(tally, _TALLIED.get(name, name), int(found or 0))
    return out


def _specialist_counts(session: Session, scope: Scope, period: Period,
                       names: Sequence[str]) -> dict[Any, _Tally]:
    """Received and answered by specialist (of one agency, or all): one range read."""
    p = DailySpecialistCount
    where = [p.day >= period.start, p.day <= period.end]
    if scope.agency_id is not None:
        where.append(p.agency_id == scope.agency_id)
    out: dict[Any, _Tally] = defaultdict(_Tally)
    for user_id, *sums in _grouped(session, p.user_id,
                                   [func.sum(getattr(p, name)) for name in names], where):
        tally = out[None if user_id == NO_SPECIALIST else user_id]
        for name, found in zip(names, sums, strict=True):
            setattr(tally, name, int(found or 0))
    return out


def _fact_counts(session: Session, scope: Scope, start: datetime, end: datetime,
                 key: Any, names: Sequence[str] = DAILY_COUNTS) -> dict[Any, _Tally]:
    """The same counts from the facts (by a dimension the daily counts do not keep):
    range reads of the facts on their indexes, counted in the database; only the reads
    ``names`` need."""
    f = CaseCycleFact
    where = _where(scope)
    wanted = set(names)
    out: dict[Any, _Tally] = defaultdict(_Tally)
    if "received" in wanted:
        for group, count in _grouped(session, key, (func.count(),), [
                f.started_at >= start, f.started_at < end, f.cycle == 1, *where]):
            out[group].received = int(count)
    if wanted & {"acknowledged", "acknowledged_on_time"}:
        for group, count, on_time in _grouped(session, key, (
                func.count(), _count(f.acknowledged_on_time.is_(True))), [
                f.acknowledged_at >= start, f.acknowledged_at < end, f.excluded.is_(False),
                *where]):
            out[group].acknowledged, out[group].ack_on_time = int(count), int(on_time or 0)
    if wanted & {"answered", "answered_on_time", "rated", "rating_sum", "satisfied",
                 "reopened"}:
        for group, count, on_time, rated, rating_sum, satisfied, reopened in _grouped(
                session, key, (func.count(), _count(f.answered_on_time.is_(True)),
                               func.count(f.rating), func.sum(f.rating),
                               _count(f.rating >= 4), _count(f.reopened.is_(True))),
                [f.answered_at >= start, f.answered_at < end, f.excluded.is_(False),
                 *where]):
            tally = out[group]
            tally.answered, tally.answer_on_time = int(count), int(on_time or 0)
            tally.rated, tally.rating_sum = int(rated or 0), int(rating_sum or 0)
            tally.satisfied, tally.reopened = int(satisfied or 0), int(reopened or 0)
    if wanted & set(_LEVEL_OF):
        levels = [_count(and_(column >= start, column < end))
                  for column in (f.warning_at, f.breach_at, f.leadership_at)]
        # Alarms raised in the period: the last at or after its start, the first before
        # its end (levels are raised in order, some maybe skipped).
        first = func.coalesce(f.warning_at, f.breach_at, f.leadership_at)
        for group, *counts in _grouped(session, key, levels, [
                f.last_alarm_at >= start, first < end, *where]):
            out[group].escalations = {level: int(n or 0)
                                      for level, n in zip(LEVELS, counts, strict=True)}
    return out


def _exact_times(session: Session, scope: Scope, start: datetime, end: datetime, key: Any,
                 total: bool, out: dict[Any, _Tally]) -> None:
    """The exact percentiles of both times, from every cycle in the selection. By agency
    within one agency, the whole is that agency's group: not read twice."""
    f = CaseCycleFact
    where = _where(scope)
    one = scope.agency_id is not None and key is f.agency_id
    for minutes, moment, fields in (
            (f.first_response_minutes, f.acknowledged_at, ("ack_p50", "ack_p90")),
            (f.answer_minutes, f.answered_at, ("answer_p50", "answer_p90"))):
        found = _percentiles(session, key, minutes, [
            moment >= start, moment < end, f.excluded.is_(False), *where], total and not one)
        if total and one:
            found[ALL] = found.get(scope.agency_id, (None, None))
        for group, values in found.items():
            for name, value in zip(fields, values, strict=True):
                setattr(out[group], name, value)


def _histogram_times(session: Session, scope: Scope, period: Period, by_agency: bool,
                     total: bool, out: dict[Any, _Tally]) -> None:
    """The percentiles of both times from the histograms: their bins summed over the
    period in the database (by agency, or all), estimated from the sums."""
    names = (*first_response_bins(), *answer_bins())
    whole = [0] * len(names)
    for (_first, group), bins in _histogram_sums(
            session, [(period.start, period.end)], names, scope.agency_id,
            by_agency).items():
        histogram.add(whole, bins)
        _estimate(out[group], bins)
    if total:
        _estimate(out[ALL], whole)


def week_pieces(first: date, last: date,
                ) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """Days ``first`` to ``last`` as the weekly histograms' whole weeks (the range of
    their Sundays; None: no whole week) and the days around them, which the daily ones
    hold."""
    whole_from, whole_to = sunday(first + timedelta(days=6)), sunday(last - timedelta(days=6))
    if whole_from > whole_to:
        return None, [(first, last)]
    days = []
    if first < whole_from:
        days.append((first, whole_from - timedelta(days=1)))
    if whole_to + timedelta(days=6) < last:
        days.append((whole_to + timedelta(days=7), last))
    return (whole_from, whole_to), days


def _histogram_sums(session: Session, spans: Sequence[tuple[date, date]],
                    names: tuple[str, ...], agency_id: int | None,
                    by_agency: bool) -> dict[tuple[date, int | None], list[int]]:
    """The bins ``names`` summed over each span of days (by agency, or all), keyed by
    the span's first day (and the agency): each span's whole weeks read from the weekly
    histograms, the days around them from the daily ones, added up in the database."""
    pieces: dict[str, list[tuple[date, date, date]]] = {"week": [], "day": []}
    for first, last in spans:
        whole, around = week_pieces(first, last)
        if whole is not None:
            pieces["week"].append((first, *whole))
        pieces["day"] += [(first, *part) for part in around]
    values: dict[str, Any] = {} if agency_id is None else {"agency_id": agency_id}
    for column, found in pieces.items():
        if found:
            values[f"{column}_low"] = min(since for _span, since, _until in found)
            values[f"{column}_high"] = max(until for _span, _since, until in found)
        for i, (span, since, until) in enumerate(found):
            values |= {f"{column}{i}": span, f"{column}{i}_since": since,
                       f"{column}{i}_until": until}
    statement = _sums_statement(names, len(pieces["week"]), len(pieces["day"]),
                                agency_id is not None, by_agency)
    keys = 2 if by_agency else 1
    return {(found[0], found[1] if by_agency else None): [int(n or 0) for n in found[keys:]]
            for found in session.execute(statement, values)}


@lru_cache(maxsize=64)
def _sums_statement(names: tuple[str, ...], weeks: int, days: int, one_agency: bool,
                    by_agency: bool) -> Any:
    """``_histogram_sums``' statement for so many weekly and daily pieces, its values
    bound when it runs: built (450 columns) and compiled once per shape, not per page."""
    parts = []
    for table, column, count in ((weekly_times, "week", weeks), (daily_times, "day", days)):
        if not count:
            continue
        rows = [select(bindparam(f"{column}{i}", type_=Date).label("span"),
                       bindparam(f"{column}{i}_since", type_=Date).label("since"),
                       bindparam(f"{column}{i}_until", type_=Date).label("until"))
                for i in range(count)]
        spans_table = (rows[0] if count == 1 else union_all(*rows)).subquery()
        t = table.c
        # The whole range first, on the table's key; then each row to its span.
        where = [t[column] >= bindparam(f"{column}_low", type_=Date),
                 t[column] <= bindparam(f"{column}_high", type_=Date)]
        if one_agency:
            where.append(t.agency_id == bindparam("agency_id"))
        parts.append(select(spans_table.c.span, t.agency_id, *(t[name] for name in names))
                     .join_from(table, spans_table, and_(t[column] >= spans_table.c.since,
                                                         t[column] <= spans_table.c.until))
                     .where(*where))
    rows_ = (parts[0] if len(parts) == 1 else union_all(*parts)).subquery()
    keys = [rows_.c.span, *([rows_.c.agency_id] if by_agency else [])]
    return select(*keys, *(func.sum(rows_.c[name]) for name in names)).group_by(*keys)


def _estimate(tally: _Tally, bins: Sequence[int]) -> None:
    first_response, answer = bins[:histogram.BINS], bins[histogram.BINS:]
    tally.ack_p50 = histogram.percentile(first_response, 0.5)
    tally.ack_p90 = histogram.percentile(first_response, 0.9)
    tally.answer_p50 = histogram.percentile(answer, 0.5)
    tally.answer_p90 = histogram.percentile(answer, 0.9)


def as_of(session: Session) -> datetime | None:
    """When the summary was last refreshed (None: never)."""
    moment = session.scalar(select(DashboardRefresh.as_of).where(
        DashboardRefresh.name == SUMMARY))
    return None if moment is None else _utc(moment)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _agencies(session: Session, ids: Iterable[int]) -> dict[int, Agency]:
    wanted = set(ids)
    if not wanted:
        return {}
    return {row.id: row for row in session.scalars(select(Agency).where(
        Agency.id.in_(wanted)))}


def figures(session: Session, tz: ZoneInfo, period: Period, filters: Filters,
            scope: Scope) -> VoiceFigures:
    """The figure set of ``period`` for ``scope``, the previous period beside it, the
    backlog now (at the last refresh), and the same per agency."""
    previous_period = period.previous()
    current = tallies(session, tz, period, scope, total=True)
    previous = tallies(session, tz, previous_period, scope, total=True)
    current_total, previous_total = current.pop(ALL), previous.pop(ALL)
    backlog = backlogs(session, scope)
    ids = set(current) | set(previous) | set(backlog)
    agencies = _agencies(session, ids)
    by_agency = [
        AgencyFigures(agencies[i].code, agencies[i].name_ar, agencies[i].name_en,
                      current.get(i, _Tally()).figures(), previous.get(i, _Tally()).figures(),
                      backlog.get(i, Backlog()))
        for i in sorted(ids, key=lambda i: agencies[i].code) if i in agencies]
    return VoiceFigures(
        period=period, previous_period=previous_period, filters=filters,
        current=current_total.figures(), previous=previous_total.figures(),
        backlog=_sum_backlogs(backlog.values()), by_agency=by_agency,
        as_of=as_of(session))


# --- the backlog now (live cases) -----------------------------------------------------


def ageing_edges(calendar: WorkingCalendar, now: datetime) -> list[datetime]:
    """For each of ``AGEING_EDGES`` k, the latest start at or before which a case has
    been open k working days or more by ``now`` (whole minutes, as the calendar counts):
    a case started at or before the k-th edge is in a bucket from k up."""
    edges = []
    for days in AGEING_EDGES:
        late = to_minute(now)
        span = timedelta(days=days * 2 + 30)
        while calendar.worked(now - span, now, "d") < days:
            span *= 2
        early = to_minute(now - span)  # worked >= days from here
        while late - early > 1:  # worked(early) >= days > worked(late)
            middle = (early + late) // 2
            if calendar.worked(from_minute(middle), now, "d") >= days:
                early = middle
            else:
                late = middle
        edges.append(from_minute(early))
    return edges


def count_backlog(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Open, overdue and ageing at ``now``, by agency, category, channel and type, from
    the live cases (what a refresh stores in ``voice_backlog``): one grouped read per
    calendar version, on the open cases' own index."""
    c = VoiceCase
    dims = (c.agency_id, c.category_id, c.channel, c.case_type)
    found: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0] * (2 + len(AGEING)))
    overdue = case((and_(c.state.in_(RUNNING), c.answer_due < now), 1), else_=0)
    for version in session.scalars(select(c.calendar_version).where(
            c.state.in_(OPEN)).distinct()):
        edges = ageing_edges(versions.calendar(session, version), now)
        beyond = [func.sum(case((c.cycle_started_at <= edge, 1), else_=0)) for edge in edges]
        for agency_id, category_id, channel, case_type, count, late, *older in \
                session.execute(select(*dims, func.count(), func.sum(overdue), *beyond)
                                .where(c.state.in_(OPEN), c.calendar_version == version)
                                .group_by(*dims)):
            entry = found[(agency_id, category_id or NO_CATEGORY, channel, case_type)]
            entry[0] += count
            entry[1] += int(late or 0)
            counts = [count] + [int(n or 0) for n in older] + [0]
            for i in range(len(AGEING)):
                entry[2 + i] += counts[i] - counts[i + 1]
    return [dict(zip(("agency_id", "category_id", "channel", "case_type"), key, strict=True))
            | dict(zip(("open", "overdue", *AGEING_COUNTS), counts, strict=True))
            for key, counts in found.items()]


def backlogs(session: Session, scope: Scope) -> dict[int, Backlog]:
    """Open, overdue and ageing by agency, as the last refresh counted them."""
    b = BacklogCount
    columns = (b.open, b.overdue, *(getattr(b, name) for name in AGEING_COUNTS))
    return {agency_id: Backlog(int(opened), int(late or 0), dict(zip(
                AGEING, (int(n or 0) for n in ageing), strict=True)))
            for agency_id, opened, late, *ageing in session.execute(
                select(b.agency_id, *(func.sum(column) for column in columns))
                .where(*_where(scope, BacklogCount)).group_by(b.agency_id))}


def _sum_backlogs(parts: Iterable[Backlog]) -> Backlog:
    total = Backlog()
    ageing = dict(total.ageing)
    opened = overdue = 0
    for part in parts:
        opened += part.open
        overdue += part.overdue
        for bucket, count in part.ageing.items():
            ageing[bucket] += count
    return replace(total, open=opened, overdue=overdue, ageing=ageing)


# --- league, trend, volumes -----------------------------------------------------------


def league(session: Session, tz: ZoneInfo, period: Period, scope: Scope,
           min_cases: int) -> list[LeagueRow]:
    """Agencies ranked on their median answer time (shorter first; then on-time %, then
    code), those with fewer than ``min_cases`` answered cycles listed after, unranked."""
    tallied = tallies(session, tz, period, scope)
    agencies = _agencies(session, tallied)
    rows = []
    for agency_id, tally in tallied.items():
        if agency_id not in agencies or not tally.answered:
            continue
        numbers = tally.figures()
        agency = agencies[agency_id]
        rows.append(LeagueRow(agency.code, agency.name_ar, agency.name_en, numbers.answered,
                              numbers.median_answer_hours, numbers.p90_answer_hours,
                              numbers.on_time_pct, None))
    return _ranked(rows, min_cases)


def league_of(found: VoiceFigures, min_cases: int) -> list[LeagueRow]:
    """The same league from a figure set already read (its period's agencies): what a
    page showing both reads once."""
    return _ranked([LeagueRow(row.agency, row.name_ar, row.name_en, row.current.answered,
                              row.current.median_answer_hours, row.current.p90_answer_hours,
                              row.current.on_time_pct, None)
                    for row in found.by_agency if row.current.answered], min_cases)


def _ranked(rows: list[LeagueRow], min_cases: int) -> list[LeagueRow]:
    ranked = sorted((r for r in rows if r.answered >= min_cases),
                    key=lambda r: (r.median_answer_hours, -(r.on_time_pct or 0), r.agency))
    unranked = sorted((r for r in rows if r.answered < min_cases), key=lambda r: r.agency)
    return [replace(row, rank=i) for i, row in enumerate(ranked, 1)] + unranked


def _step_of(day: date, step: Step) -> tuple[date, str]:
    """The first day of the week (Sunday), month or Hijri month ``day`` falls in, and its
    label."""
    if step == "week":
        start = day - timedelta(days=(day.weekday() + 1) % 7)
        return start, start.isoformat()
    if step == "month":
        return day.replace(day=1), f"{day.year:04d}-{day.month:02d}"
    hijri = hijri_date(day)
    if hijri is None:
        raise InvalidRequest("the date is outside the Hijri calendar's range",
                             code="invalid_field", field="from")
    year, month, _day = hijri
    first = Hijri(year, month, 1).to_gregorian()
    return date(first.year, first.month, first.day), f"{year:04d}-{month:02d}"


def steps(period: Period, step: Step) -> list[tuple[date, date, str]]:
    """The weeks (Sunday to Saturday), months or Hijri months over ``period``: their
    first and last days, the first and last cut to the period, and their labels."""
    out = []
    cursor = period.start
    while cursor <= period.end:
        first, label = _step_of(cursor, step)
        following = _following(first, step)
        out.append((max(first, period.start),
                    min(following - timedelta(days=1), period.end), label))
        cursor = following
    return out


def _steps_table(spans: Sequence[tuple[date, date, str]], tz: ZoneInfo) -> Any:
    """The steps as a table for the database to group by: each step's first and last
    local days, and the UTC moments they start and end at."""
    return union_all(*(select(
        literal(first, Date).label("first_day"), literal(last, Date).label("last_day"),
        literal(_midnight(first, tz), UTCDateTime()).label("since"),
        literal(_midnight(last + timedelta(days=1), tz), UTCDateTime()).label("until"))
        for first, last, _label in spans)).subquery("steps")


def trend(session: Session, tz: ZoneInfo, period: Period, scope: Scope,
          step: Step) -> list[TrendPoint]:
    """Received, answered, on-time % and median answer time by week, month or Hijri
    month over ``period`` (the first and last steps cut to the period): grouped by step
    in the database, from the daily counts, and the medians as the period figures'
    (``from_histograms``, counting the answers: the histograms, or exactly from the
    facts)."""
    spans = steps(period, step)
    table = _steps_table(spans, tz)
    d = DailyCount
    counted = {first: (int(received or 0), int(answered or 0), int(on_time or 0))
               for first, received, answered, on_time in session.execute(
                   select(table.c.first_day, func.sum(d.received), func.sum(d.answered),
                          func.sum(d.answered_on_time))
                   .join_from(table, d, and_(d.day >= table.c.first_day,
                                             d.day <= table.c.last_day))
                   .where(*_where(scope, DailyCount)).group_by(table.c.first_day))}
    answers = sum(answered for _received, answered, _on_time in counted.values())
    medians = (_step_histogram_medians(session, spans, scope)
               if from_histograms(period, scope, answers)
               else _step_exact_medians(session, table, scope))
    points = []
    for first, last, label in spans:
        received, answered, on_time = counted.get(first, (0, 0, 0))
        points.append(TrendPoint(first, last, label, received, answered,
                                 _pct(on_time, answered), _hours(medians.get(first))))
    return points


def _step_histogram_medians(session: Session, spans: Sequence[tuple[date, date, str]],
                            scope: Scope) -> dict[date, float | None]:
    return {first: histogram.percentile(bins, 0.5)
            for (first, _agency), bins in _histogram_sums(
                session, [(first, last) for first, last, _label in spans], tuple(answer_bins()),
                scope.agency_id, by_agency=False).items()}


def _step_exact_medians(session: Session, table: Any,
                        scope: Scope) -> dict[date, float | None]:
    f = CaseCycleFact
    joined = and_(f.answered_at >= table.c.since, f.answered_at < table.c.until)
    where = [f.excluded.is_(False), *_where(scope)]
    if session.get_bind().dialect.name == "postgresql":
        return dict(session.execute(
            select(table.c.first_day,
                   func.percentile_cont(0.5).within_group(f.answer_minutes))
            .join_from(table, f, joined).where(*where).group_by(table.c.first_day)).all())
    values: dict[date, list[int]] = defaultdict(list)
    for first, minutes in session.execute(
            select(table.c.first_day, f.answer_minutes).join_from(table, f, joined)
            .where(*where)):
        values[first].append(minutes or 0)
    return {first: percentile(sorted(found), 0.5) for first, found in values.items()}


def _following(first: date, step: Step) -> date:
    if step == "week":
        return first + timedelta(days=7)
    if step == "month":
        return (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    hijri = Gregorian(first.year, first.month, first.day).to_hijri()
    nxt = Hijri(hijri.year + hijri.month // 12, hijri.month % 12 + 1, 1).to_gregorian()
    return date(nxt.year, nxt.month, nxt.day)


def volumes(session: Session, tz: ZoneInfo, period: Period, scope: Scope,
            by: Dimension) -> list[VolumeRow]:
    """Received and answered by ``by``, this period and the previous one, the largest
    first."""
    wanted = ("received", "answered")
    now_ = tallies(session, tz, period, scope, by, times=False, counts=wanted)
    before = tallies(session, tz, period.previous(), scope, by, times=False, counts=wanted)
    keys = set(now_) | set(before)
    names: dict[Any, tuple[str, str, str]] = {}
    if by == "agency":
        names = {i: (a.code, a.name_ar, a.name_en)
                 for i, a in _agencies(session, [k for k in keys if k is not None]).items()}
    elif by == "category":
        names = {row.id: (row.code, row.name_ar, row.name_en)
                 for row in session.scalars(select(VoiceCategory).where(
                     VoiceCategory.id.in_([k for k in keys if k is not None])))}
    elif by == "specialist":
        names = {row.id: (row.login, row.name, row.name)
                 for row in session.scalars(select(StaffUser).where(
                     StaffUser.id.in_([k for k in keys if k is not None])))}
    rows = []
    for key in keys:
        code, name_ar, name_en = names.get(key, (str(key or ""), str(key or ""),
                                                 str(key or "")))
        current, previous = now_.get(key, _Tally()), before.get(key, _Tally())
        rows.append(VolumeRow(code, name_ar, name_en, current.received, previous.received,
                              current.answered, previous.answered))
    return sorted(rows, key=lambda r: (-r.received, -r.answered, r.key))


# --- the lists behind the figures -----------------------------------------------------

# Period figures: the facts' time column, and the condition a cycle meets.
_FACT_FIGURES: dict[str, tuple[Any, Any]] = {
    "received": (CaseCycleFact.started_at, CaseCycleFact.cycle == 1),
    "acknowledged": (CaseCycleFact.acknowledged_at, CaseCycleFact.excluded.is_(False)),
    "acknowledged_late": (CaseCycleFact.acknowledged_at,
                          and_(CaseCycleFact.excluded.is_(False),
                               CaseCycleFact.acknowledged_on_time.is_(False))),
    "answered": (CaseCycleFact.answered_at, CaseCycleFact.excluded.is_(False)),
    "answered_on_time": (CaseCycleFact.answered_at,
                         and_(CaseCycleFact.excluded.is_(False),
                              CaseCycleFact.answered_on_time.is_(True))),
    "answered_late": (CaseCycleFact.answered_at,
                      and_(CaseCycleFact.excluded.is_(False),
                           CaseCycleFact.answered_on_time.is_(False))),
    "reopened": (CaseCycleFact.answered_at,
                 and_(CaseCycleFact.excluded.is_(False), CaseCycleFact.reopened.is_(True))),
    "rated": (CaseCycleFact.answered_at,
              and_(CaseCycleFact.excluded.is_(False), CaseCycleFact.rating.is_not(None))),
    "escalated": (CaseCycleFact.warning_at, CaseCycleFact.warning_at.is_not(None)),
}
# Figures of now: open, overdue, and each ageing bucket ("ageing:8-14").
LIVE_FIGURES = ("open", "overdue", *(f"ageing:{bucket}" for bucket in AGEING))
FIGURES = (*_FACT_FIGURES, *LIVE_FIGURES)
PAGE = 50

AWAITS = {
    states.RECEIVED: "coordinator",  # to assign or route it
    states.ASSIGNED: "specialist",  # to take it up
    states.IN_PROGRESS: "specialist",  # to answer
    states.UNDER_STUDY: "specialist",
    states.ANSWER_DRAFTED: "coordinator",  # to approve or decide
    states.AWAITING_CITIZEN: "citizen",  # to reply (the clock is paused)
}


def _cursor(after: str | None) -> tuple[datetime, int] | None:
    if after is None:
        return None
    moment, _, ident = after.rpartition("~")
    try:
        return _utc(datetime.fromisoformat(moment)), int(ident)
    except ValueError:
        raise InvalidRequest("after: give back the value of a previous page",
                             code="invalid_field", field="after") from None


def _keyset(column: Any, ident: Any, after: tuple[datetime, int] | None, *,
            descending: bool) -> list[ColumnElement[bool]]:
    if after is None:
        return []
    moment, last = after
    if descending:
        return [or_(column < moment, and_(column == moment, ident < last))]
    return [or_(column > moment, and_(column == moment, ident > last))]


def _page(rows: list[CaseRow], ids: list[int], limit: int) -> CasePage:
    more = len(rows) > limit
    rows = rows[:limit]
    after = f"{rows[-1].at.isoformat()}~{ids[len(rows) - 1]}" if more else None
    return CasePage(rows, after)


def _codes(session: Session, cases: Sequence[VoiceCase]) -> tuple[dict[int, str],
                                                                  dict[int, str]]:
    agencies = {a.id: a.code for a in _agencies(session, {c.agency_id for c in cases})
                .values()}
    wanted = {c.category_id for c in cases if c.category_id is not None}
    categories = {row.id: row.code for row in session.scalars(
        select(VoiceCategory).where(VoiceCategory.id.in_(wanted)))} if wanted else {}
    return agencies, categories


def _row(case_: VoiceCase, at: datetime, cycle: int, agencies: dict[int, str],
         categories: dict[int, str]) -> CaseRow:
    return CaseRow(case_.tracking, case_.case_type, case_.state,
                   agencies.get(case_.agency_id, ""),
                   categories.get(case_.category_id) if case_.category_id else None,
                   case_.channel, cycle, _utc(at),
                   _utc(case_.answer_due) if case_.answer_due else None,
                   AWAITS.get(case_.state, ""))


def cases_behind(session: Session, tz: ZoneInfo, figure: str, period: Period, scope: Scope,
                 now: datetime, after: str | None = None, limit: int = PAGE) -> CasePage:
    """The cases behind ``figure`` (one of ``FIGURES``), keyset-paged: a period figure's
    cycles from the summary (the same the figure counted), newest first, each shown as
    the live case is now; a figure of now from the live cases (open: oldest first;
    overdue: the longest overdue first)."""
    if figure not in FIGURES:
        raise InvalidRequest(f"figure: one of {', '.join(FIGURES)}", code="invalid_field",
                             field="figure")
    cursor = _cursor(after)
    if figure in LIVE_FIGURES:
        return _live_cases(session, figure, scope, now, cursor, limit)
    f = CaseCycleFact
    column, condition = _FACT_FIGURES[figure]
    start, end = period.bounds(tz)
    found = session.execute(
        select(f.case_id, f.cycle, column).where(
            column >= start, column < end, condition, *_where(scope),
            *_keyset(column, f.case_id, cursor, descending=True))
        .order_by(column.desc(), f.case_id.desc()).limit(limit + 1)).all()
    cases = {c.id: c for c in session.scalars(select(VoiceCase).where(
        VoiceCase.id.in_([row[0] for row in found])))}
    agencies, categories = _codes(session, list(cases.values()))
    rows = [_row(cases[case_id], at, cycle, agencies, categories)
            for case_id, cycle, at in found]
    return _page(rows, [row[0] for row in found], limit)


def _live_cases(session: Session, figure: str, scope: Scope, now: datetime,
                cursor: tuple[datetime, int] | None, limit: int) -> CasePage:
    c = VoiceCase
    where = [c.state.in_(OPEN), *_where(scope, VoiceCase)]
    column: Any = c.cycle_started_at
    if figure == "overdue":
        column = c.answer_due
        where += [c.state.in_(RUNNING), c.answer_due < now]
    elif figure.startswith("ageing:"):
        where.append(_ageing_condition(session, figure.partition(":")[2], where, now))
    after = _keyset(column, c.id, cursor, descending=False)
    if figure == "overdue":
        cases = _overdue_page(session, [*_where(scope, VoiceCase), *after], now, limit + 1)
    else:
        cases = list(session.scalars(select(c).where(*where, *after)
                                     .order_by(column, c.id).limit(limit + 1)))
    agencies, categories = _codes(session, cases)
    rows = [_row(x, getattr(x, column.key), x.cycle, agencies, categories) for x in cases]
    return _page(rows, [x.id for x in cases], limit)


def _overdue_page(session: Session, where: Sequence[ColumnElement[bool]], now: datetime,
                  limit: int) -> list[VoiceCase]:
    """The ``limit`` longest overdue cases: the first of each running state along its
    index (state, answer due), merged; not every overdue case sorted."""
    c = VoiceCase
    firsts = [select(c.id, c.answer_due).where(c.state == state, c.answer_due < now, *where)
              .order_by(c.answer_due, c.id).limit(limit).subquery() for state in RUNNING]
    merged = union_all(*(select(first.c.id, first.c.answer_due) for first in firsts)).subquery()
    ids = list(session.scalars(select(merged.c.id).order_by(merged.c.answer_due, merged.c.id)
                               .limit(limit)))
    found = {x.id: x for x in session.scalars(select(c).where(c.id.in_(ids)))}
    return [found[i] for i in ids]


def _ageing_condition(session: Session, bucket: str, where: list[ColumnElement[bool]],
                      now: datetime) -> ColumnElement[bool]:
    """Open cases in ``bucket``, by the edges of each calendar version they are on."""
    c = VoiceCase
    i = AGEING.index(bucket)
    per_version = []
    for version in session.scalars(select(c.calendar_version).where(*where).distinct()):
        edges = ageing_edges(versions.calendar(session, version), now)
        bounds = [c.calendar_version == version]
        if i > 0:
            bounds.append(c.cycle_started_at <= edges[i - 1])
        if i < len(edges):
            bounds.append(c.cycle_started_at > edges[i])
        per_version.append(and_(*bounds))
    return or_(*per_version) if per_version else c.id.is_(None)


def late_cases(session: Session, scope: Scope, now: datetime, after: str | None = None,
               limit: int = PAGE) -> CasePage:
    """The overdue cases now, the longest overdue first, each with what it awaits."""
    return _live_cases(session, "overdue", scope, now, _cursor(after), limit)
