"""The lists the staff web app shows: the coordinator's inbox tabs, the specialist's queue,
the agency leader's list and leadership's list across agencies.

Each page is one query, keyset-paginated (the cursor is the last row's sort key, never an
OFFSET), and reads an index range, not the table: an agency's cases by state and deadline
(``ix_voice_cases_inbox``), a user's (``ix_voice_cases_queue``), or every agency's
(``ix_voice_cases_state_due``, for leadership). A list that spans several states is one
``UNION ALL`` of per-state index ranges, each cut at the page size, under one outer ORDER
BY: a page reads at most (states × page) index entries however big the table grows.

The order is the deadline's: the nearest ``answer_due`` first (``newest_first``: the
farthest first, which for cases under one policy is the newest), ties by id; cases with
no deadline (paused, awaiting the citizen) come after, by id in the same direction.

Tab counts are bounded: each counts at most ``COUNT_BOUND`` rows of its index ranges
and says "99+" beyond, so a tab costs the same with 100 cases or a million. The exact
figures are the dashboards' (precomputed, part 3), not the inbox's.

Who sees what is one rule, ``visible`` (see there); every branch of every list is
filtered by it, whatever the list's own conditions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from core.access.actors import (
    AGENCY_LEADER,
    COORDINATOR,
    LEADERSHIP,
    SPECIALIST,
    Actor,
)
from core.access.models import StaffUser
from core.directory.models import Agency
from core.platform.errors import InvalidRequest
from core.voice import states
from core.voice.models import VoiceCase, VoiceCategory

PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 200
# A tab's count reads at most this many index entries per state, and shows "99+" from here.
COUNT_BOUND: Final = 100

# The coordinator's inbox tabs, in the order the page shows them.
NEW = "new"  # received, not yet assigned (at the emirate: the emirate's own cases)
UNROUTED = "unrouted"  # the emirate only: received without an agency, or sent back
DRAFTS = "drafts"  # an answer drafted, awaiting the coordinator's approval
NEAR = "near"  # the warning raised (75 % of the target), the deadline not yet passed
PAST = "past"  # the clock runs and the deadline has passed
AWAITING = "awaiting"  # paused, awaiting the citizen
OPEN = "open"  # every case not yet answered or decided
TABS: Final = (NEW, UNROUTED, DRAFTS, NEAR, PAST, AWAITING, OPEN)

# Open: the answer is still owed (the clock runs, or waits for the citizen).
OPEN_STATES: Final = tuple(s for s in states.STATES
                           if s in states.CLOCK_RUNNING | states.PAUSED)
RUNNING_STATES: Final = tuple(s for s in states.STATES if s in states.CLOCK_RUNNING)
PAUSED_STATES: Final = tuple(s for s in states.STATES if s in states.PAUSED)
# The specialist's queue: what is assigned to them and still owed.
QUEUE_STATES: Final = tuple(s for s in OPEN_STATES if s != states.RECEIVED)


@dataclass(frozen=True)
class QueueRow:
    """One line of a list, everything the page shows without another query."""

    id: int
    tracking: str
    case_type: str
    category_ar: str | None
    category_en: str | None
    agency_code: str
    agency_ar: str
    agency_en: str
    state: str
    received_at: datetime
    answer_due: datetime | None
    escalation: int
    assigned_name: str | None


@dataclass(frozen=True)
class Page:
    rows: list[QueueRow]
    # The cursor of the next page (``after=``), None on the last one.
    next: str | None


@dataclass(frozen=True)
class Count:
    """A tab's count, exact below ``COUNT_BOUND``."""

    value: int
    more: bool  # at least COUNT_BOUND: shown as "99+"

    def __str__(self) -> str:
        return f"{COUNT_BOUND - 1}+" if self.more else str(self.value)


@dataclass(frozen=True)
class ListFilter:
    """The leader's and leadership's filters (empty: every state, category and period)."""

    states: tuple[str, ...] = ()
    category_id: int | None = None
    # Received in [received_from, received_to): the period.
    received_from: datetime | None = None
    received_to: datetime | None = None
    # Only cases whose clock runs past their deadline.
    late: bool = False
    # Leadership only: one agency's cases.
    agency_id: int | None = None
    newest_first: bool = False


# --- who sees what ---------------------------------------------------------------------

def visible(actor: Actor) -> ColumnElement[bool]:
    """The cases ``actor`` may see in a list, as a SQL condition.

    A coordinator and an agency leader see the cases their agency handles; a specialist
    those of them assigned to them; leadership every case; an admin none (they manage
    users and reference data, not cases). A complaint about an agency's own staff is
    handled by the emirate and never shown to the agency it names, whoever holds it.
    """
    if actor.role == LEADERSHIP:
        return true()
    if actor.role not in (COORDINATOR, SPECIALIST, AGENCY_LEADER) or actor.agency_id is None:
        return false()
    mine = and_(VoiceCase.agency_id == actor.agency_id,
                not_(and_(VoiceCase.about_own_staff.is_(True),
                          VoiceCase.about_agency_id == actor.agency_id)))
    if actor.role == SPECIALIST:
        return and_(mine, VoiceCase.assigned_user_id == actor.user_id)
    return mine


# --- the cursor ------------------------------------------------------------------------

@dataclass(frozen=True)
class _Key:
    """A row's place in the order: (answer_due, id), the deadline-less after the rest."""

    due: datetime | None
    id: int

    def encode(self) -> str:
        due = "-" if self.due is None else str(int(self.due.timestamp() * 1_000_000))
        return f"{due}.{self.id}"

    @classmethod
    def decode(cls, text: str) -> _Key:
        due, _, ident = text.partition(".")
        try:
            when = None if due == "-" else datetime.fromtimestamp(int(due) / 1_000_000, UTC)
            return cls(when, int(ident))
        except (ValueError, OverflowError, OSError) as exc:
            raise InvalidRequest("the page cursor is not valid", field="after") from exc


# --- the query ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    """A list: which index ranges it reads (per state, under a fixed prefix), what else
    its rows must satisfy, and its direction."""

    states: Sequence[str]
    prefix: tuple[ColumnElement[bool], ...]  # equalities on the index's leading column
    where: tuple[ColumnElement[bool], ...] = ()
    due_where: tuple[ColumnElement[bool], ...] = ()  # only rows with a deadline qualify
    newest_first: bool = False


# A branch selects the ids and sort keys of one index range.
_Ids = Select[int, datetime | None]


def _branches(spec: _Spec, actor: Actor, after: _Key | None, limit: int) -> list[_Ids]:
    """Per state: the rows with a deadline in (answer_due, id) order, then the rows
    without one by id; each an index range cut at ``limit``."""
    scope = visible(actor)
    out: list[_Ids] = []
    desc = spec.newest_first
    for state in spec.states:
        base = (*spec.prefix, VoiceCase.state == state, scope, *spec.where)
        key = tuple_(VoiceCase.answer_due, VoiceCase.id)
        if after is None or after.due is not None:
            dated = [*base, VoiceCase.answer_due.is_not(None), *spec.due_where]
            if after is not None:
                mark = tuple_(literal(after.due, VoiceCase.answer_due.type),
                              literal(after.id, VoiceCase.id.type))
                dated.append(key < mark if desc else key > mark)
            order = ((VoiceCase.answer_due.desc(), VoiceCase.id.desc()) if desc
                     else (VoiceCase.answer_due, VoiceCase.id))
            out.append(select(VoiceCase.id, VoiceCase.answer_due).where(*dated)
                       .order_by(*order).limit(limit))
        if spec.due_where:
            continue
        undated = [*base, VoiceCase.answer_due.is_(None)]
        if after is not None and after.due is None:
            undated.append(VoiceCase.id < after.id if desc else VoiceCase.id > after.id)
        out.append(select(VoiceCase.id, VoiceCase.answer_due).where(*undated)
                   .order_by(VoiceCase.id.desc() if desc else VoiceCase.id).limit(limit))
    return out


def _union(parts: list[_Ids]) -> CompoundSelect[int, datetime | None] | _Ids:
    # Each part is wrapped (SQLite allows no ORDER BY/LIMIT inside a compound's member).
    wrapped = [select(*part.subquery().c) for part in parts]
    return wrapped[0] if len(wrapped) == 1 else union_all(*wrapped)


def _statement(spec: _Spec, actor: Actor, after: str | None,
               limit: int) -> Select[*tuple[Any, ...]] | None:
    """The page's one query: the ids of the union's branches, then the rows' details."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"a page holds 1 to {MAX_PAGE_SIZE} rows", field="limit")
    key = _Key.decode(after) if after else None
    parts = _branches(spec, actor, key, limit + 1)
    if not parts:
        return None
    ids = _union(parts).subquery("page")
    category = aliased(VoiceCategory)
    assignee = aliased(StaffUser)
    undated = ids.c.answer_due.is_(None)
    order = ((undated, ids.c.answer_due.desc(), ids.c.id.desc()) if spec.newest_first
             else (undated, ids.c.answer_due, ids.c.id))
    query: Select[*tuple[Any, ...]] = (
        select(VoiceCase.id, VoiceCase.tracking, VoiceCase.case_type, category.name_ar,
               category.name_en, Agency.code, Agency.name_ar, Agency.name_en,
               VoiceCase.state, VoiceCase.received_at, VoiceCase.answer_due,
               VoiceCase.escalation, assignee.name)
        .select_from(ids)
        .join(VoiceCase, VoiceCase.id == ids.c.id)
        .join(Agency, Agency.id == VoiceCase.agency_id)
        .outerjoin(category, category.id == VoiceCase.category_id)
        .outerjoin(assignee, assignee.id == VoiceCase.assigned_user_id)
        .order_by(*order).limit(limit + 1))
    return query


def _page(session: Session, spec: _Spec, actor: Actor, after: str | None,
          limit: int) -> Page:
    query = _statement(spec, actor, after, limit)
    if query is None:
        return Page([], None)
    rows = [QueueRow(*tuple(row)) for row in session.execute(query).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _Key(rows[-1].answer_due, rows[-1].id).encode() if more else None)


def _count(spec: _Spec, actor: Actor) -> ColumnElement[int]:
    """At most COUNT_BOUND index entries per state: enough to tell "99+" apart."""
    parts = [part.order_by(None) for part in _branches(spec, actor, None, COUNT_BOUND)]
    if not parts:
        return literal(0)
    counted = _union(parts).subquery("counted")
    return select(func.count()).select_from(counted).scalar_subquery()


# --- the coordinator's inbox --------------------------------------------------------------

def inbox_tabs(actor: Actor, emirate_id: int | None) -> tuple[str, ...]:
    """The tabs ``actor``'s inbox shows: "unrouted" only at the emirate."""
    if actor.role != COORDINATOR or actor.agency_id is None:
        return ()
    at_emirate = emirate_id is not None and actor.agency_id == emirate_id
    return tuple(tab for tab in TABS if tab != UNROUTED or at_emirate)


def _unrouted(emirate_id: int) -> ColumnElement[bool]:
    """At the emirate, received, and not the emirate's own to answer: it came without an
    agency, names another one, or was sent back by it (a complaint about an agency's own
    staff is the emirate's own case)."""
    return and_(VoiceCase.about_own_staff.is_(False),
                or_(VoiceCase.about_agency_id.is_(None),
                    VoiceCase.about_agency_id != emirate_id))


def _tab_spec(actor: Actor, tab: str, emirate_id: int | None, now: datetime) -> _Spec:
    if tab not in inbox_tabs(actor, emirate_id) or actor.agency_id is None:
        raise InvalidRequest(f"no inbox tab {tab!r} here", field="tab")
    agency = actor.agency_id
    prefix = (VoiceCase.agency_id == agency,)
    if tab == NEW:
        where = (not_(_unrouted(agency)),) if agency == emirate_id else ()
        return _Spec((states.RECEIVED,), prefix, where)
    if tab == UNROUTED:
        return _Spec((states.RECEIVED,), prefix, (_unrouted(agency),))
    if tab == DRAFTS:
        return _Spec((states.ANSWER_DRAFTED,), prefix)
    if tab == NEAR:
        return _Spec(RUNNING_STATES, prefix, due_where=(
            VoiceCase.answer_due >= now, VoiceCase.escalation == 1))
    if tab == PAST:
        return _Spec(RUNNING_STATES, prefix, due_where=(VoiceCase.answer_due < now,))
    if tab == AWAITING:
        return _Spec(PAUSED_STATES, prefix)
    return _Spec(OPEN_STATES, prefix)


def inbox(session: Session, actor: Actor, tab: str, *, emirate_id: int | None,
          now: datetime, after: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """One page of a coordinator's inbox tab, nearest deadline first."""
    return _page(session, _tab_spec(actor, tab, emirate_id, now), actor, after, limit)


def inbox_statement(actor: Actor, tab: str, *, emirate_id: int | None, now: datetime,
                    after: str | None = None,
                    limit: int = PAGE_SIZE) -> Select[*tuple[Any, ...]] | None:
    """The statement ``inbox`` runs, for a query plan (the bench, the tests)."""
    return _statement(_tab_spec(actor, tab, emirate_id, now), actor, after, limit)


def inbox_counts(session: Session, actor: Actor, *, emirate_id: int | None,
                 now: datetime) -> dict[str, Count]:
    """Every tab's bounded count, in one statement."""
    tabs = inbox_tabs(actor, emirate_id)
    if not tabs:
        return {}
    row = session.execute(select(*(
        _count(_tab_spec(actor, tab, emirate_id, now), actor).label(tab)
        for tab in tabs))).one()
    return {tab: Count(min(value, COUNT_BOUND), value >= COUNT_BOUND)
            for tab, value in zip(tabs, row, strict=True)}


# --- the specialist's queue ---------------------------------------------------------------

def specialist_queue(session: Session, actor: Actor, *, after: str | None = None,
                     limit: int = PAGE_SIZE) -> Page:
    """The open cases assigned to the specialist, nearest deadline first."""
    if actor.role != SPECIALIST:
        return Page([], None)
    spec = _Spec(QUEUE_STATES, (VoiceCase.assigned_user_id == actor.user_id,))
    return _page(session, spec, actor, after, limit)


def specialist_count(session: Session, actor: Actor) -> Count:
    if actor.role != SPECIALIST:
        return Count(0, False)
    spec = _Spec(QUEUE_STATES, (VoiceCase.assigned_user_id == actor.user_id,))
    value = session.execute(select(_count(spec, actor))).scalar_one()
    return Count(min(value, COUNT_BOUND), value >= COUNT_BOUND)


# --- the leader's and leadership's lists -------------------------------------------------

def _list_spec(actor: Actor, filters: ListFilter, now: datetime) -> _Spec:
    chosen = filters.states or states.STATES
    unknown = set(chosen) - set(states.STATES)
    if unknown:
        raise InvalidRequest(f"no such state: {sorted(unknown)[0]}", field="state")
    where: list[ColumnElement[bool]] = []
    if filters.category_id is not None:
        where.append(VoiceCase.category_id == filters.category_id)
    if filters.received_from is not None:
        where.append(VoiceCase.received_at >= filters.received_from)
    if filters.received_to is not None:
        where.append(VoiceCase.received_at < filters.received_to)
    due_where: tuple[ColumnElement[bool], ...] = ()
    if filters.late:
        chosen = tuple(s for s in chosen if s in states.CLOCK_RUNNING)
        due_where = (VoiceCase.answer_due < now,)
    agency = filters.agency_id if actor.role == LEADERSHIP else actor.agency_id
    prefix = () if agency is None else (VoiceCase.agency_id == agency,)
    return _Spec(tuple(s for s in states.STATES if s in chosen), prefix, tuple(where),
                 due_where, filters.newest_first)


def case_list(session: Session, actor: Actor, filters: ListFilter = ListFilter(), *,
              now: datetime, after: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """The agency leader's list of their agency's cases, or leadership's across every
    agency (``filters.agency_id`` for one): by state, category, period and lateness."""
    if actor.role not in (AGENCY_LEADER, LEADERSHIP):
        return Page([], None)
    return _page(session, _list_spec(actor, filters, now), actor, after, limit)
