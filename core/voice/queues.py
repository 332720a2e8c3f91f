"""The lists the staff web app shows: the coordinator's inbox tabs, the specialist's queue,
the agency leader's list and leadership's list across agencies.

Each page is one query, keyset-paginated (the cursor is the last row's sort key, never an
OFFSET), and reads an index range, not the table: an agency's cases by state and deadline
(``ix_voice_cases_inbox``), a user's (``ix_voice_cases_queue``), or every agency's
(``ix_voice_cases_state_due``: state, deadline, id, for leadership). A list that spans
several states is one ``UNION ALL`` of per-state index ranges, each cut at the page
size, under one outer ORDER BY: a page reads at most (states × page) index entries
however big the table grows.

The order is the deadline's: the nearest ``answer_due`` first (``newest_first``: the
farthest first, which for cases under one policy is the newest), ties by id; cases with
no deadline (paused, awaiting the citizen) come after, by id in the same direction.

Tab counts are bounded: each counts at most ``COUNT_BOUND`` rows of its index ranges
and says "99+" beyond, so a tab costs the same with 100 cases or a million. The exact
figures are the dashboards' (precomputed, part 3), not the inbox's.

Who sees what is one rule, ``core.voice.permissions.visible_to``: every branch of every
list is filtered by it, whatever the list's own conditions (a coordinator's inbox is
their agency's, even at the emirate, whose coordinators may see every case).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    func,
    literal,
    not_,
    or_,
    select,
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
from core.transactions.models import Transaction
from core.voice import permissions, states
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
    # The number of the transaction it is about (an enquiry linked to it), if any.
    transaction: str | None = None


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


# --- who sees what: one rule, ``permissions.visible_to``, on every branch of every list ---

def _scope(actor: Actor, emirate_id: int | None) -> ColumnElement[bool]:
    """``permissions.visible_to``. Only a coordinator's visibility depends on the emirate
    (the emirate's sees every case): the other lists need not name it."""
    if emirate_id is None:
        if actor.role == COORDINATOR:
            raise ValueError("a coordinator's visibility needs the emirate's agency")
        emirate_id = 0  # no agency has it: nothing depends on it here
    return permissions.visible_to(actor, emirate_id)


# --- the cursor ------------------------------------------------------------------------

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND: Final = timedelta(microseconds=1)


@dataclass(frozen=True)
class _Key:
    """A row's place in the order: (answer_due, id), the deadline-less after the rest."""

    due: datetime | None
    id: int

    def encode(self) -> str:
        # Whole microseconds since the epoch: exact, where a float timestamp could round
        # to the neighbouring microsecond and repeat or skip a row.
        due = "-" if self.due is None else str((self.due - _EPOCH) // _MICROSECOND)
        return f"{due}.{self.id}"

    @classmethod
    def decode(cls, text: str) -> _Key:
        due, _, ident = text.partition(".")
        # Only what ``encode`` writes: digits (or "-" for no deadline), a dot, an id from 1.
        if not (due == "-" or due.isdigit()) or not ident.isdigit() or int(ident) < 1:
            raise InvalidRequest("the page cursor is not valid", field="after")
        try:
            when = None if due == "-" else _EPOCH + int(due) * _MICROSECOND
            return cls(when, int(ident))
        except (ValueError, OverflowError, OSError) as exc:
            raise InvalidRequest("the page cursor is not valid", field="after") from exc


# --- the query ----------------------------------------------------------------------------

@dataclass(frozen=True)
class _Spec:
    """A list: which index ranges it reads (per state, under a fixed prefix), what else
    its rows must satisfy, and its direction."""

    states: Sequence[str]
    prefix: tuple[ColumnElement[bool], ...]  # equalities on the index's leading columns
    scope: ColumnElement[bool]  # who may see the rows: permissions.visible_to
    where: tuple[ColumnElement[bool], ...] = ()
    due_where: tuple[ColumnElement[bool], ...] = ()  # only rows with a deadline qualify
    newest_first: bool = False
    # Bounds on the deadline implied by the other conditions (the rows without one still
    # qualify): they narrow the index range read.
    due_bounds: tuple[ColumnElement[bool], ...] = ()


# A branch selects the ids and sort keys of one index range.
_Ids = Select[int, datetime | None]


def _branches(spec: _Spec, after: _Key | None, limit: int) -> list[_Ids]:
    """One index range per state, cut at ``limit``: a state whose clock runs or has
    stopped in (answer_due, id) order; a paused state, whose cases have no deadline
    (``core.voice.deadlines``: null while paused, set otherwise), by id. A branch that
    could only be empty is left out: its planning would cost, and a database may read a
    whole index for the few rows it expects."""
    out: list[_Ids] = []
    desc = spec.newest_first
    key = tuple_(VoiceCase.answer_due, VoiceCase.id)
    for state in spec.states:
        base = (*spec.prefix, VoiceCase.state == state, spec.scope, *spec.where)
        if state not in states.PAUSED:
            if after is not None and after.due is None:
                continue  # the page is past every dated row
            dated = [*base, VoiceCase.answer_due.is_not(None), *spec.due_where,
                     *spec.due_bounds]
            if after is not None:
                mark = tuple_(literal(after.due, VoiceCase.answer_due.type),
                              literal(after.id, VoiceCase.id.type))
                dated.append(key < mark if desc else key > mark)
            order = ((VoiceCase.answer_due.desc(), VoiceCase.id.desc()) if desc
                     else (VoiceCase.answer_due, VoiceCase.id))
            out.append(select(VoiceCase.id, VoiceCase.answer_due).where(*dated)
                       .order_by(*order).limit(limit))
        elif not spec.due_where:
            undated = [*base, VoiceCase.answer_due.is_(None)]
            if after is not None and after.due is None:
                undated.append(VoiceCase.id < after.id if desc else VoiceCase.id > after.id)
            # By (answer_due, id), all null: the id order, as an index with both has it.
            order = ((VoiceCase.answer_due.desc(), VoiceCase.id.desc()) if desc
                     else (VoiceCase.answer_due, VoiceCase.id))
            out.append(select(VoiceCase.id, VoiceCase.answer_due).where(*undated)
                       .order_by(*order).limit(limit))
    return out


def _union(parts: list[_Ids]) -> CompoundSelect[int, datetime | None] | _Ids:
    # Each part is wrapped (SQLite allows no ORDER BY/LIMIT inside a compound's member).
    wrapped = [select(*part.subquery().c) for part in parts]
    return wrapped[0] if len(wrapped) == 1 else union_all(*wrapped)


def _statement(spec: _Spec, after: str | None,
               limit: int) -> Select[*tuple[Any, ...]] | None:
    """The page's one query: the ids of the union's branches, then the rows' details."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidRequest(f"a page holds 1 to {MAX_PAGE_SIZE} rows", field="limit")
    key = _Key.decode(after) if after else None
    parts = _branches(spec, key, limit + 1)
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
               VoiceCase.escalation, assignee.name, Transaction.number)
        .select_from(ids)
        .join(VoiceCase, VoiceCase.id == ids.c.id)
        .join(Agency, Agency.id == VoiceCase.agency_id)
        .outerjoin(Transaction, Transaction.id == VoiceCase.transaction_id)
        .outerjoin(category, category.id == VoiceCase.category_id)
        .outerjoin(assignee, assignee.id == VoiceCase.assigned_user_id)
        .order_by(*order).limit(limit + 1))
    return query


def _page(session: Session, spec: _Spec, after: str | None, limit: int) -> Page:
    query = _statement(spec, after, limit)
    if query is None:
        return Page([], None)
    rows = [QueueRow(*tuple(row)) for row in session.execute(query).all()]
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, _Key(rows[-1].answer_due, rows[-1].id).encode() if more else None)


def _count(spec: _Spec) -> ColumnElement[int]:
    """At most COUNT_BOUND index entries per state: enough to tell "99+" apart."""
    parts = [part.order_by(None) for part in _branches(spec, None, COUNT_BOUND)]
    if not parts:
        return literal(0)
    counted = _union(parts).subquery("counted")
    return select(func.count()).select_from(counted).scalar_subquery()


# --- the coordinator's inbox --------------------------------------------------------------

def inbox_tabs(actor: Actor, emirate_id: int) -> tuple[str, ...]:
    """The tabs ``actor``'s inbox shows: "unrouted" only at the emirate."""
    if actor.role != COORDINATOR or actor.agency_id is None:
        return ()
    routes = actor.agency_id == emirate_id and actor.department_id is None
    return tuple(tab for tab in TABS if tab != UNROUTED or routes)


def _unrouted(emirate_id: int) -> ColumnElement[bool]:
    """At the emirate, received, and not the emirate's own to answer: it came without an
    agency, names another one, or was sent back by it (a complaint about an agency's own
    staff is the emirate's own case; a case one of its departments holds is that
    department's: an enquiry about its transaction)."""
    return and_(VoiceCase.about_own_staff.is_(False), VoiceCase.department_id.is_(None),
                or_(VoiceCase.about_agency_id.is_(None),
                    VoiceCase.about_agency_id != emirate_id))


def _tab_spec(actor: Actor, tab: str, emirate_id: int, now: datetime) -> _Spec:
    if tab not in inbox_tabs(actor, emirate_id) or actor.agency_id is None:
        raise InvalidRequest(f"no inbox tab {tab!r} here", field="tab")
    agency = actor.agency_id
    prefix = (VoiceCase.agency_id == agency,)
    scope = _scope(actor, emirate_id)
    if tab == NEW:
        # A department's coordinator routes nothing: their new cases are all theirs.
        routes = agency == emirate_id and actor.department_id is None
        where = (not_(_unrouted(agency)),) if routes else ()
        return _Spec((states.RECEIVED,), prefix, scope, where)
    if tab == UNROUTED:
        return _Spec((states.RECEIVED,), prefix, scope, (_unrouted(agency),))
    if tab == DRAFTS:
        return _Spec((states.ANSWER_DRAFTED,), prefix, scope)
    if tab == NEAR:
        return _Spec(RUNNING_STATES, prefix, scope, due_where=(
            VoiceCase.answer_due >= now, VoiceCase.escalation == 1))
    if tab == PAST:
        return _Spec(RUNNING_STATES, prefix, scope, due_where=(VoiceCase.answer_due < now,))
    if tab == AWAITING:
        return _Spec(PAUSED_STATES, prefix, scope)
    return _Spec(OPEN_STATES, prefix, scope)


def inbox(session: Session, actor: Actor, tab: str, *, emirate_id: int, now: datetime,
          after: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """One page of a coordinator's inbox tab, nearest deadline first."""
    return _page(session, _tab_spec(actor, tab, emirate_id, now), after, limit)


def inbox_statement(actor: Actor, tab: str, *, emirate_id: int, now: datetime,
                    after: str | None = None,
                    limit: int = PAGE_SIZE) -> Select[*tuple[Any, ...]] | None:
    """The statement ``inbox`` runs, for a query plan (the bench, the tests)."""
    return _statement(_tab_spec(actor, tab, emirate_id, now), after, limit)


def _bounded(value: int) -> Count:
    return Count(min(value, COUNT_BOUND), value >= COUNT_BOUND)


def inbox_counts(session: Session, actor: Actor, *, emirate_id: int,
                 now: datetime) -> dict[str, Count]:
    """Every tab's bounded count, in one statement."""
    tabs = inbox_tabs(actor, emirate_id)
    if not tabs:
        return {}
    row = session.execute(select(*(
        _count(_tab_spec(actor, tab, emirate_id, now)).label(tab) for tab in tabs))).one()
    return {tab: _bounded(value) for tab, value in zip(tabs, row, strict=True)}


# --- the specialist's queue ---------------------------------------------------------------

def _queue_spec(actor: Actor, emirate_id: int | None) -> _Spec:
    return _Spec(QUEUE_STATES, (VoiceCase.assigned_user_id == actor.user_id,),
                 _scope(actor, emirate_id))


def specialist_queue(session: Session, actor: Actor, *, emirate_id: int | None = None,
                     after: str | None = None, limit: int = PAGE_SIZE) -> Page:
    """The open cases assigned to the specialist, nearest deadline first."""
    if actor.role != SPECIALIST:
        return Page([], None)
    return _page(session, _queue_spec(actor, emirate_id), after, limit)


def specialist_count(session: Session, actor: Actor, *,
                     emirate_id: int | None = None) -> Count:
    if actor.role != SPECIALIST:
        return Count(0, False)
    return _bounded(session.execute(select(_count(_queue_spec(actor, emirate_id))))
                    .scalar_one())


# --- the leader's and leadership's lists -------------------------------------------------

def _list_spec(actor: Actor, filters: ListFilter, emirate_id: int | None,
               now: datetime) -> _Spec:
    chosen = filters.states or states.STATES
    unknown = set(chosen) - set(states.STATES)
    if unknown:
        raise InvalidRequest(f"no such state: {sorted(unknown)[0]}", field="state")
    where: list[ColumnElement[bool]] = []
    bounds: tuple[ColumnElement[bool], ...] = ()
    agency = filters.agency_id if actor.role == LEADERSHIP else actor.agency_id
    prefix: tuple[ColumnElement[bool], ...] = () if agency is None else (
        VoiceCase.agency_id == agency,)
    if filters.category_id is not None:
        # Within one agency a category is the index's second column (ix_voice_cases_
        # category): its few cases are read, not the agency's many.
        category = VoiceCase.category_id == filters.category_id
        if prefix:
            prefix = (*prefix, category)
        else:
            where.append(category)
    if filters.received_from is not None:
        where.append(VoiceCase.received_at >= filters.received_from)
        # A deadline falls after its cycle's start, which is at or after the receipt: the
        # period's cases lie past its start in the deadline's order too.
        bounds = (VoiceCase.answer_due > filters.received_from,)
    if filters.received_to is not None:
        where.append(VoiceCase.received_at < filters.received_to)
    due_where: tuple[ColumnElement[bool], ...] = ()
    if filters.late:
        chosen = tuple(s for s in chosen if s in states.CLOCK_RUNNING)
        due_where = (VoiceCase.answer_due < now,)
    return _Spec(tuple(s for s in states.STATES if s in chosen), prefix,
                 _scope(actor, emirate_id), tuple(where), due_where, filters.newest_first,
                 bounds)


def list_statement(actor: Actor, filters: ListFilter, *, emirate_id: int, now: datetime,
                   limit: int = PAGE_SIZE) -> Select[*tuple[Any, ...]] | None:
    """The statement ``case_list`` runs, for a query plan (the tests)."""
    return _statement(_list_spec(actor, filters, emirate_id, now), None, limit)


def case_list(session: Session, actor: Actor, filters: ListFilter = ListFilter(), *,
              now: datetime, emirate_id: int | None = None, after: str | None = None,
              limit: int = PAGE_SIZE) -> Page:
    """The agency leader's list of their agency's cases, or leadership's across every
    agency (``filters.agency_id`` for one): by state, category, period and lateness."""
    if actor.role not in (AGENCY_LEADER, LEADERSHIP):
        return Page([], None)
    return _page(session, _list_spec(actor, filters, emirate_id, now), after, limit)
