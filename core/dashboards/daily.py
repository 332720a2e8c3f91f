"""Keeping the daily tables (``voice_daily``, ``voice_daily_times``) equal to the sums of
the facts, as the refresh rewrites the facts of a batch of cases.

Within the batch's transaction the refresh takes the batch's old facts out of the daily
rows (``apply(..., -1)``), deletes and writes the facts anew, and puts the new ones in
(``apply(..., +1)``). Both are one ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` per
table, summed in the database: a day's row moves by the difference, whatever else it
holds, and a case read twice (the refresh's overlap) takes out exactly what it puts back.
So the daily rows are, at every commit, the sums of the facts committed with them, and
a full rebuild keeps them so case by case. Rows left at zero are removed by ``prune``.

Under the refresh's lease one run writes at a time; should two ever meet on a case, the
second's insert of the same facts fails on their primary key and its whole batch (daily
rows included) rolls back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, case, delete, func, literal, select, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from core.dashboards.histogram import BINS
from core.dashboards.models import (
    DAILY_COUNTS,
    NO_CATEGORY,
    CaseCycleFact,
    DailyCount,
    answer_bins,
    daily_times,
    first_response_bins,
)

COUNT_KEY = ("day", "agency_id", "category_id", "channel", "case_type")
TIMES_KEY = ("day", "agency_id")


def _one(condition: ColumnElement[bool]) -> Any:
    return case((condition, 1), else_=0)


def _counted(case_ids: Sequence[int]) -> Select[Any]:
    """Each fact's contributions to the daily counts: one row per (moment, measure), the
    measure's counts on it, 0 elsewhere."""
    f = CaseCycleFact
    mine = f.case_id.in_(case_ids)
    zero = literal(0)

    def part(day: Any, where: Sequence[ColumnElement[bool]], **counts: Any) -> Select[Any]:
        return select(day.label("day"), f.agency_id, f.category_id, f.channel, f.case_type,
                      *((counts.get(name, zero)).label(name) for name in DAILY_COUNTS)
                      ).where(mine, day.is_not(None), *where)

    answered = f.excluded.is_(False)
    return union_all(
        part(f.started_day, [f.cycle == 1], received=literal(1)),
        part(f.acknowledged_day, [f.excluded.is_(False)], acknowledged=literal(1),
             acknowledged_on_time=_one(f.acknowledged_on_time.is_(True))),
        part(f.answered_day, [answered], answered=literal(1),
             answered_on_time=_one(f.answered_on_time.is_(True)),
             rated=_one(f.rating.is_not(None)), rating_sum=func.coalesce(f.rating, 0),
             satisfied=_one(f.rating >= 4), reopened=_one(f.reopened.is_(True))),
        part(f.warning_day, [], warnings=literal(1)),
        part(f.breach_day, [], breaches=literal(1)),
        part(f.leadership_day, [], leadership_alarms=literal(1)),
    ).subquery()  # type: ignore[return-value]


def _timed(case_ids: Sequence[int]) -> Any:
    """Each fact's times, one row per measure: the first response's bin, or the answer's."""
    f = CaseCycleFact
    mine = [f.case_id.in_(case_ids), f.excluded.is_(False)]
    none = literal(None)
    return union_all(
        select(f.acknowledged_day.label("day"), f.agency_id,
               f.first_response_bin.label("fr"), none.label("an"))
        .where(*mine, f.acknowledged_day.is_not(None)),
        select(f.answered_day.label("day"), f.agency_id, none.label("fr"),
               f.answer_bin.label("an"))
        .where(*mine, f.answered_day.is_not(None)),
    ).subquery()


def _upsert(session: Session, table: Any, key: Sequence[str], names: Sequence[str],
            query: Select[Any]) -> None:
    """``INSERT INTO table SELECT ...``; a key already there has its counts added to."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).from_select([*key, *names], query)
    statement = statement.on_conflict_do_update(
        index_elements=list(key),
        set_={name: table.c[name] + statement.excluded[name] for name in names})
    session.execute(statement)


def apply(session: Session, case_ids: Sequence[int], sign: int) -> None:
    """Add (``sign`` 1) or take out (-1) the facts of ``case_ids`` as they are now in
    the daily tables."""
    if not case_ids:
        return
    counted = _counted(case_ids)
    _upsert(session, DailyCount.__table__, COUNT_KEY, DAILY_COUNTS, select(
        counted.c.day, counted.c.agency_id,
        func.coalesce(counted.c.category_id, NO_CATEGORY), counted.c.channel,
        counted.c.case_type,
        *(sign * func.sum(counted.c[name]) for name in DAILY_COUNTS))
        .group_by(counted.c.day, counted.c.agency_id, counted.c.category_id,
                  counted.c.channel, counted.c.case_type))
    timed = _timed(case_ids)
    bins = [*first_response_bins(), *answer_bins()]
    _upsert(session, daily_times, TIMES_KEY, ["first_responses", "answers", *bins], select(
        timed.c.day, timed.c.agency_id,
        sign * func.count(timed.c.fr), sign * func.count(timed.c.an),
        *(sign * func.sum(_one(timed.c.fr == index)) for index in range(BINS)),
        *(sign * func.sum(_one(timed.c.an == index)) for index in range(BINS)))
        .group_by(timed.c.day, timed.c.agency_id))


def prune(session: Session) -> None:
    """Remove the rows every count of which has gone back to zero (a case moved to
    another agency, a cycle no longer answered that day...)."""
    d = DailyCount
    session.execute(delete(d).where(*(getattr(d, name) == 0 for name in DAILY_COUNTS)))
    session.execute(delete(daily_times).where(daily_times.c.first_responses == 0,
                                              daily_times.c.answers == 0))
