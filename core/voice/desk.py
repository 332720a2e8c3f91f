"""What the staff web app's pages need beyond a case's view: the actions a user may take
on a case now (and what they choose from: agencies to route to, specialists to assign),
its clock explained, the lists' filters in codes turned into ids, and the admin's
categories and calendar. Each function runs in the caller's session; ``VoiceService``
wraps them in transactions for the gateway, which holds no session of its own.

The actions offered are exactly those the core would accept now: the actor's relation
to the case (``permissions.may``) and the case's state (``actions.allowed_from``), the
same two checks ``actions.staff_action`` makes, in the same terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.access.actors import SPECIALIST, Actor
from core.access.models import StaffUser
from core.directory.models import Agency, Department
from core.platform.errors import InvalidRequest
from core.voice import actions, permissions, queues, states
from core.voice.deadlines import Explanation
from core.voice.models import DeadlinePolicy, VoiceCase, VoiceCategory
from core.voice.similar import SimilarCase
from core.voice.views import CaseView

# The order the case page offers its actions in.
OFFERED = ("route", "refer", "assign", "start", "request_info", "answer", "approve", "send_back",
           "accept", "plan", "implement", "reject", "not_competent", "merge", "close",
           "comment")


@dataclass(frozen=True)
class Option:
    """A choice in a form's select: its code and its names."""

    code: str
    name_ar: str
    name_en: str

    def name(self, lang: str) -> str:
        return self.name_ar if lang == "ar" else self.name_en


@dataclass(frozen=True)
class CaseDesk:
    """The case page: the case as the user sees it, its clock, and what they may do."""

    view: CaseView
    clock: Explanation
    actions: tuple[str, ...]
    # "answer" by the assignee is a draft for the coordinator; by a coordinator, sent.
    answer_sends: bool
    route_to: list[Option]
    specialists: list[Option]
    # The emirate's departments the case may be referred to ("refer").
    refer_to: list[Option] = field(default_factory=list)
    # The department holding it, if any.
    department: Option | None = None
    # The number of the transaction it is about, if any (its page in the staff app).
    transaction: str | None = None
    # The names behind the view's codes (handling agency, the agency it is about, the
    # category), for the page; None where the view has none.
    agency: Option | None = None
    about_agency: Option | None = None
    category: Option | None = None
    # Open cases of the agency like this one, for a user who may merge it
    # (``core.voice.similar``); empty for anyone else.
    similar: tuple[SimilarCase, ...] = ()


def allowed_actions(actor: Actor, case: VoiceCase,
                    facts: permissions.CaseFacts) -> tuple[str, ...]:
    """The staff actions ``actor`` may take on ``case`` in its present state."""
    relation = permissions.relations(actor, facts)
    offered = []
    for action in OFFERED:
        if not permissions.may(actor, action, facts):
            continue
        rule = action
        if action == "answer":
            rule = "draft" if permissions.ASSIGNEE in relation else "send"
        if case.state in actions.allowed_from(rule, case.case_type):
            offered.append(action)
    return tuple(offered)


def answer_sends(actor: Actor, facts: permissions.CaseFacts) -> bool:
    return permissions.ASSIGNEE not in permissions.relations(actor, facts)


def route_targets(session: Session, case: VoiceCase) -> list[Option]:
    """The agencies the case may be routed to: any but its own and, for a complaint about
    an agency's own staff, that agency."""
    rows = session.execute(select(Agency.id, Agency.code, Agency.name_ar, Agency.name_en)
                           .order_by(Agency.name_en)).all()
    return [Option(code, name_ar, name_en) for ident, code, name_ar, name_en in rows
            if ident != case.agency_id
            and not (case.about_own_staff and ident == case.about_agency_id)]


def refer_targets(session: Session, case: VoiceCase) -> list[Option]:
    """The emirate's departments the case may be referred to: any but the one holding
    it (the page adds "the emirate's general inbox" when a department holds it)."""
    rows = session.execute(select(Department.id, Department.code, Department.name_ar,
                                  Department.name_en).order_by(Department.name_en)).all()
    return [Option(code, name_ar, name_en) for ident, code, name_ar, name_en in rows
            if ident != case.department_id]


def specialists(session: Session, agency_id: int,
                department_id: int | None = None) -> list[Option]:
    """The agency's active specialists (login and name), by name; for a case a
    department holds, that department's and those of no department."""
    where = [StaffUser.agency_id == agency_id, StaffUser.role == SPECIALIST,
             StaffUser.disabled_at.is_(None)]
    if department_id is not None:
        where.append(or_(StaffUser.department_id.is_(None),
                         StaffUser.department_id == department_id))
    rows = session.execute(select(StaffUser.login, StaffUser.name).where(*where)
                           .order_by(StaffUser.name, StaffUser.login)).all()
    return [Option(login, name or login, name or login) for login, name in rows]


# --- the lists' filters ------------------------------------------------------------------


@dataclass(frozen=True)
class ListQuery:
    """The leader's and leadership's filters as the page's form gives them (codes, dates
    in the emirate's time zone; empty strings and None alike mean "any")."""

    state: str | None = None
    category: str | None = None
    received_from: date | None = None
    received_to: date | None = None  # inclusive
    late: bool = False
    agency: str | None = None


def list_filter(session: Session, actor: Actor, query: ListQuery,
                tz: ZoneInfo) -> queues.ListFilter:
    """``query`` in ids and UTC instants; an unknown state, category or agency is a 422
    on its field (a category of another agency is unknown to the leader)."""
    chosen: tuple[str, ...] = ()
    if query.state:
        if query.state not in states.STATES:
            raise InvalidRequest("no such state", code="invalid_field", field="state")
        chosen = (query.state,)
    category_id = None
    if query.category:
        where = [VoiceCategory.code == query.category]
        if actor.agency_id is not None:
            where.append(VoiceCategory.agency_id == actor.agency_id)
        category_id = session.scalar(select(VoiceCategory.id).where(*where))
        if category_id is None:
            raise InvalidRequest("no such category", code="invalid_field", field="category")
    agency_id = None
    if query.agency:
        agency_id = session.scalar(select(Agency.id).where(Agency.code == query.agency))
        if agency_id is None:
            raise InvalidRequest("no such agency", code="invalid_field", field="agency")
    if query.received_from and query.received_to and query.received_to < query.received_from:
        raise InvalidRequest("the period ends before it begins", code="invalid_field",
                             field="received_to")
    return queues.ListFilter(
        states=chosen, category_id=category_id,
        received_from=_midnight(query.received_from, tz),
        received_to=_midnight(query.received_to + timedelta(days=1), tz)
        if query.received_to else None,
        late=query.late, agency_id=agency_id, newest_first=True)


def _midnight(day: date | None, tz: ZoneInfo) -> datetime | None:
    return datetime.combine(day, time(), tz) if day else None


def names(session: Session, case: VoiceCase) -> dict[str, Option | None]:
    """The case's agencies, category and department by name (``CaseDesk``'s fields)."""
    def agency(agency_id: int | None) -> Option | None:
        row = session.get(Agency, agency_id) if agency_id is not None else None
        return Option(row.code, row.name_ar, row.name_en) if row else None

    category = session.get(VoiceCategory, case.category_id) if case.category_id else None
    department = session.get(Department, case.department_id) if case.department_id else None
    return {"agency": agency(case.agency_id), "about_agency": agency(case.about_agency_id),
            "category": Option(category.code, category.name_ar, category.name_en)
            if category else None,
            "department": Option(department.code, department.name_ar, department.name_en)
            if department else None}


def agencies(session: Session) -> list[Option]:
    rows = session.execute(select(Agency.code, Agency.name_ar, Agency.name_en)
                           .order_by(Agency.name_en)).all()
    return [Option(*row) for row in rows]


def agency_categories(session: Session, agency_id: int | None) -> list[Option]:
    """The categories of one agency (None: of every agency), by English name."""
    query = select(VoiceCategory.code, VoiceCategory.name_ar, VoiceCategory.name_en)
    if agency_id is not None:
        query = query.where(VoiceCategory.agency_id == agency_id)
    return [Option(*row) for row in session.execute(query.order_by(VoiceCategory.name_en))]


# --- the admin's categories ---------------------------------------------------------------


@dataclass(frozen=True)
class CategoryRow:
    """A category as the admin's page lists it, with its own current targets (None: the
    agency's defaults apply)."""

    code: str
    agency: str
    name_ar: str
    name_en: str
    types: list[str]
    active: bool
    acknowledge: str | None
    answer: str | None


def categories_of(session: Session, agency_code: str | None) -> list[CategoryRow]:
    """Every category (of one agency when ``agency_code`` is given), by agency and code."""
    query = (select(VoiceCategory, Agency.code).join(Agency,
                                                     Agency.id == VoiceCategory.agency_id)
             .order_by(Agency.code, VoiceCategory.code))
    if agency_code:
        query = query.where(Agency.code == agency_code)
    rows = session.execute(query).all()
    policies = {row.category_id: row for row in session.scalars(select(DeadlinePolicy).where(
        DeadlinePolicy.category_id.in_([category.id for category, _code in rows]),
        DeadlinePolicy.case_type.is_(None), DeadlinePolicy.superseded_at.is_(None)))}
    out = []
    for category, code in rows:
        policy = policies.get(category.id)
        out.append(CategoryRow(
            category.code, code, category.name_ar, category.name_en, list(category.types),
            category.active,
            f"{policy.acknowledge_value}{policy.acknowledge_unit}" if policy else None,
            f"{policy.answer_value}{policy.answer_unit}" if policy else None))
    return out
