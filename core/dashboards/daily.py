"""Keeping the daily tables (``voice_daily``, ``voice_daily_times``, and the weekly
``voice_weekly_times``) equal to the sums of the facts, as the refresh rewrites the facts.

**What a fact adds** (``contribute``): to the daily counts of its day, agency, category,
channel and type, one received on the day its cycle 1 started; one first response (and
whether on time) on the day of it, and one answer (on time, rated, its rating, 4 or 5,
reopened) on the day of it, unless the cycle ended withdrawn or a duplicate; one alarm
of each level on the day it was raised. To the times of its agency: its first
response's bin and its answer's bin (``core.dashboards.histogram``), on their days and in
their weeks (Sunday to Saturday).

**Incremental** (``Deltas``): in the batch's transaction, the refresh adds up what the
batch's old facts added and what their new ones add, and moves each daily row by the
difference (``INSERT ... ON CONFLICT DO UPDATE``, adding). A cycle that did not change
cancels out: a case answered today moves today's row, whatever its history. So the
daily rows are, at every commit, the sums of the facts committed with them; rows left
at zero are removed (``prune``).

**Full** (``reload``): a full refresh (every case, ``gateway dashboards rebuild``) writes
the facts alone, batch by batch, then sums every fact into the daily tables anew in its
last transaction, the one that marks the summary refreshed: one pass, not a difference
per batch. Until then the daily rows are the sums of the facts as they were before.

Under the refresh's lease one run writes at a time; should two ever meet on a case, the
second's insert of the same facts fails on their primary key and its whole batch (daily
rows included) rolls back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.dashboards.histogram import BINS
from core.dashboards.models import (
    DAILY_COUNTS,
    NO_CATEGORY,
    NO_SPECIALIST,
    SPECIALIST_COUNTS,
    CaseCycleFact,
    DailyCount,
    DailySpecialistCount,
    answer_bins,
    daily_times,
    first_response_bins,
    weekly_times,
)

COUNT_KEY = ("day", "agency_id", "category_id", "channel", "case_type")
TIMES_KEY = ("day", "agency_id")
WEEKS_KEY = ("week", "agency_id")
SPECIALISTS_KEY = ("day", "agency_id", "user_id")  # every key's day first
TIMES = ("first_responses", "answers", *first_response_bins(), *answer_bins())
# Where each count sits in a row of ``Deltas.counts``.
_AT = {name: i for i, name in enumerate(DAILY_COUNTS)}
# What a fact's contributions are computed from (the facts' columns, by name).
FACT_COLUMNS = (
    "agency_id", "category_id", "assigned_user_id", "channel", "case_type", "cycle", "excluded",
    "started_day", "acknowledged_day", "acknowledged_on_time", "answered_day",
    "answered_on_time", "rating", "reopened", "warning_day", "breach_day",
    "leadership_day", "first_response_bin", "answer_bin")
READ_CHUNK = 10_000


def sunday(day: date) -> date:
    """The first day of ``day``'s week (Sunday to Saturday)."""
    return day - timedelta(days=(day.weekday() + 1) % 7)


@dataclass
class Deltas:
    """Changes to the daily rows, by key: the counts (in ``DAILY_COUNTS``' order) and the
    times by day and by week (in ``TIMES``' order)."""

    counts: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)
    times: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)
    weeks: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)
    specialists: dict[tuple[Any, ...], list[int]] = field(default_factory=dict)

    def _count(self, key: tuple[Any, ...], name: str, by: int) -> None:
        row = self.counts.get(key)
        if row is None:
            row = self.counts[key] = [0] * len(DAILY_COUNTS)
        row[_AT[name]] += by

    def _by_specialist(self, fact: Mapping[str, Any], day: date, offset: int,
                       by: int) -> None:
        key = (day, fact["agency_id"], fact["assigned_user_id"] or NO_SPECIALIST)
        row = self.specialists.get(key)
        if row is None:
            row = self.specialists[key] = [0] * len(SPECIALIST_COUNTS)
        row[offset] += by

    def _time(self, day: date, agency_id: int, offsets: tuple[int, int], by: int) -> None:
        """One time more (or less): its count at ``offsets[0]``, its bin at
        ``offsets[1]``, on its day and in its week."""
        for rows, key in ((self.times, (day, agency_id)),
                          (self.weeks, (sunday(day), agency_id))):
            row = rows.get(key)
            if row is None:
                row = rows[key] = [0] * len(TIMES)
            row[offsets[0]] += by
            row[offsets[1]] += by

    def contribute(self, fact: Mapping[str, Any], sign: int = 1) -> None:
        """Add (``sign`` 1) or take out (-1) what ``fact`` (a row of the facts, by
        column name) adds to the daily tables: the definition in the docstring above."""
        dims = (fact["agency_id"], fact["category_id"] or NO_CATEGORY, fact["channel"],
                fact["case_type"])
        if fact["cycle"] == 1 and fact["started_day"] is not None:
            self._count((fact["started_day"], *dims), "received", sign)
            self._by_specialist(fact, fact["started_day"], 0, sign)
        counted = not fact["excluded"]
        day = fact["acknowledged_day"]
        if counted and day is not None:
            key = (day, *dims)
            self._count(key, "acknowledged", sign)
            if fact["acknowledged_on_time"]:
                self._count(key, "acknowledged_on_time", sign)
            if fact["first_response_bin"] is not None:
                self._time(day, fact["agency_id"], (0, 2 + fact["first_response_bin"]), sign)
        day = fact["answered_day"]
        if counted and day is not None:
            key = (day, *dims)
            self._count(key, "answered", sign)
            self._by_specialist(fact, day, 1, sign)
            rating = fact["rating"]
            for name, holds in (("answered_on_time", fact["answered_on_time"]),
                                ("rated", rating is not None),
                                ("satisfied", rating is not None and rating >= 4),
                                ("reopened", fact["reopened"])):
                if holds:
                    self._count(key, name, sign)
            if rating:
                self._count(key, "rating_sum", sign * rating)
            if fact["answer_bin"] is not None:
                self._time(day, fact["agency_id"], (1, 2 + BINS + fact["answer_bin"]), sign)
        for name, column in (("warnings", "warning_day"), ("breaches", "breach_day"),
                             ("leadership_alarms", "leadership_day")):
            if fact[column] is not None:
                self._count((fact[column], *dims), name, sign)

    def tables(self) -> list[tuple[Any, tuple[str, ...], tuple[str, ...],
                                   dict[tuple[Any, ...], list[int]]]]:
        """Each table with its key's columns, its counts' columns and its changes."""
        return [(DailyCount.__table__, COUNT_KEY, DAILY_COUNTS, self.counts),
                (DailySpecialistCount.__table__, SPECIALISTS_KEY, SPECIALIST_COUNTS,
                 self.specialists),
                (daily_times, TIMES_KEY, TIMES, self.times),
                (weekly_times, WEEKS_KEY, TIMES, self.weeks)]


def read_facts(session: Session, case_ids: Iterable[int] | None = None) -> Any:
    """The facts' columns contributions are computed from: of ``case_ids``, or all."""
    f = CaseCycleFact.__table__.c
    query = select(*(f[name] for name in FACT_COLUMNS))
    if case_ids is not None:
        query = query.where(f.case_id.in_(list(case_ids)))
    return session.execute(query.execution_options(yield_per=READ_CHUNK)).mappings()


def _upsert(session: Session, table: Any, key: tuple[str, ...], names: tuple[str, ...],
            rows: list[dict[str, Any]]) -> None:
    """Add ``rows``' counts to the rows of their keys (new keys inserted as they are)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    statement = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    session.execute(statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + statement.excluded[name] for name in names}), rows)


def apply(session: Session, deltas: Deltas) -> None:
    """Move the daily rows by ``deltas`` (a key whose changes cancel out stays as it is)."""
    for table, key, names, changes in deltas.tables():
        _upsert(session, table, key, names, [
            dict(zip(key, at, strict=True)) | dict(zip(names, row, strict=True))
            for at, row in changes.items() if any(row)])


def reload(session: Session) -> None:
    """Every fact summed into the daily tables anew (a full refresh's last step)."""
    sums = Deltas()
    for fact in read_facts(session):
        sums.contribute(fact)
    for table, key, names, rows in sums.tables():
        session.execute(delete(table))
        _write(session, table.name, (*key, *names),
               ((*at, *row) for at, row in rows.items() if any(row)))


def _write(session: Session, table: str, names: tuple[str, ...],
           rows: Iterable[tuple[Any, ...]]) -> None:
    """Insert plain rows (a day first) the fastest way each database takes them: COPY on
    PostgreSQL; on SQLite the driver's executemany, the day as SQLite's dates are
    stored. The ORM's per-row parameters would cost more than the sums: a year of
    daily times is ten thousand rows of 452 numbers."""
    connection = session.connection()
    columns = ", ".join(names)
    rows = list(rows)
    if not rows:
        return
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(names))
    connection.exec_driver_sql(f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                               [(row[0].isoformat(), *row[1:]) for row in rows])


def prune(session: Session) -> None:
    """Remove the rows every count of which has gone back to zero (a case moved to
    another agency, a cycle no longer answered that day...)."""
    d, p = DailyCount, DailySpecialistCount
    session.execute(delete(d).where(*(getattr(d, name) == 0 for name in DAILY_COUNTS)))
    session.execute(delete(p).where(p.received == 0, p.answered == 0))
    for times in (daily_times, weekly_times):
        session.execute(delete(times).where(times.c.first_responses == 0,
                                            times.c.answers == 0))
