"""Who may see a case and who may do what to it: the single source of these rules.

A user stands in one or more *relations* to a case, from their role, their agency and
the case's handling agency and assignee:

* ``handler``: a coordinator of the agency handling the case;
* ``agency_handler``: the same, when that agency is not the emirate (the emirate is
  competent for everything: it closes, it does not send back);
* ``supervisor``: a coordinator of the emirate, for any case (the emirate supervises:
  it sees every case and may route any open one anywhere);
* ``assignee``: the specialist of the handling agency the case is assigned to;
* ``agency_reader``: an agency leader of the handling agency;
* ``reader``: emirate leadership, for every case;
* ``department_handler``: a coordinator of the department holding the case.

Staff of one of the emirate's departments (``Actor.department_id``; their agency is the
emirate) stand in these relations only to the emirate's cases that department holds
(``VoiceCase.department_id``: enquiries about its transactions): their inbox, their
queue, their reading. The emirate's staff without a department stand in them to every
case at the emirate, department's or not; its coordinators still supervise every case.
A case moves to (or between, or out of) departments by ``refer``, which its department's
coordinator or an emirate coordinator may do. A transaction's page (``may_see_transaction``)
is for its department's staff, the emirate's coordinators and leadership.

Admins stand in none: they manage categories and policies and read no case. A
complaint about an agency's own staff is handled by the emirate (its handling agency),
and that agency's staff stand in no relation to it whoever holds it: they never see it
(nor may it be routed to them). The same rule as ``core.voice.queues.visible``, which
shows the staff web app's lists; the emirate's coordinator's lists there are its own
inbox, a subset of what it may see here.

``ACTIONS`` says which relations allow each action; ``may`` applies it to one case,
``visible_to`` is the same visibility as a SQL condition for lists (the queues and the
API's list use it), and ``redacted`` says who sees a citizen's contact masked. The
citizen's own acts (withdraw, reopen, rate, reply) are not staff actions at all: the
channels call them with the citizen's proof of who they are.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, false, not_, true

from core.access.actors import AGENCY_LEADER, COORDINATOR, LEADERSHIP, SPECIALIST, Actor
from core.voice.models import VoiceCase

HANDLER = "handler"
AGENCY_HANDLER = "agency_handler"
SUPERVISOR = "supervisor"
ASSIGNEE = "assignee"
AGENCY_READER = "agency_reader"
READER = "reader"
DEPARTMENT_HANDLER = "department_handler"

# Those who see a case at all (and may comment on it).
SEES = frozenset({HANDLER, SUPERVISOR, ASSIGNEE, AGENCY_READER, READER})
# Those who see the citizen's contact in full; the other readers see it masked.
SEES_CONTACT = frozenset({HANDLER, SUPERVISOR, ASSIGNEE})

ACTIONS: dict[str, frozenset[str]] = {
    # Send the case to another agency's inbox.
    "route": frozenset({HANDLER, SUPERVISOR}),
    # Give it to a specialist of the handling agency (again: reassign).
    "assign": frozenset({HANDLER}),
    # The specialist takes it up.
    "start": frozenset({ASSIGNEE}),
    # Ask the citizen for more (the clock pauses until they reply).
    "request_info": frozenset({ASSIGNEE, HANDLER}),
    # A specialist's answer is a draft; a coordinator's is sent.
    "answer": frozenset({ASSIGNEE, HANDLER}),
    "approve": frozenset({HANDLER}),
    "send_back": frozenset({HANDLER}),
    "not_competent": frozenset({AGENCY_HANDLER}),
    "reject": frozenset({HANDLER}),
    "accept": frozenset({HANDLER}),
    "plan": frozenset({HANDLER}),
    "implement": frozenset({HANDLER}),
    "close": frozenset({HANDLER}),
    "merge": frozenset({HANDLER}),
    # Give the case at the emirate to one of its departments (another, or none: back to
    # the emirate's general inbox).
    "refer": frozenset({SUPERVISOR, DEPARTMENT_HANDLER}),
    # A note on the case's history, changing nothing: whoever sees it.
    "comment": SEES,
}
STAFF_ACTIONS = tuple(ACTIONS)


@dataclass(frozen=True)
class CaseFacts:
    """What the rules need to know of a case."""

    agency_id: int  # the handling agency
    assigned_user_id: int | None
    emirate_agency_id: int
    # A complaint about this agency's own staff (None: not such a complaint).
    own_staff_of: int | None = None
    # The emirate's department holding the case (None: the agency's general inbox).
    department_id: int | None = None

    @classmethod
    def of(cls, case: VoiceCase, emirate_agency_id: int) -> CaseFacts:
        return cls(case.agency_id, case.assigned_user_id, emirate_agency_id,
                   case.about_agency_id if case.about_own_staff else None,
                   case.department_id)


def relations(actor: Actor, case: CaseFacts) -> frozenset[str]:
    """Every relation ``actor`` stands in to the case."""
    found: set[str] = set()
    if case.own_staff_of is not None and actor.agency_id == case.own_staff_of:
        return frozenset()  # whoever holds it, the agency it names never sees it
    own = actor.agency_id is not None and actor.agency_id == case.agency_id
    if actor.department_id is not None:
        # A department's staff: only the cases their department holds.
        own = own and case.department_id == actor.department_id
    if actor.role == COORDINATOR:
        if own:
            found.add(HANDLER)
            if case.agency_id != case.emirate_agency_id:
                found.add(AGENCY_HANDLER)
            if actor.department_id is not None:
                found.add(DEPARTMENT_HANDLER)
        if actor.agency_id == case.emirate_agency_id and actor.department_id is None:
            found.add(SUPERVISOR)
    elif actor.role == SPECIALIST:
        if own and case.assigned_user_id == actor.user_id:
            found.add(ASSIGNEE)
    elif actor.role == AGENCY_LEADER:
        if own:
            found.add(AGENCY_READER)
    elif actor.role == LEADERSHIP:
        found.add(READER)
    return frozenset(found)


def may_see(actor: Actor, case: CaseFacts) -> bool:
    return bool(relations(actor, case) & SEES)


def may(actor: Actor, action: str, case: CaseFacts) -> bool:
    """Whether ``actor`` may take ``action`` on the case (its state aside)."""
    return bool(relations(actor, case) & ACTIONS.get(action, frozenset()))


def redacted(actor: Actor, case: CaseFacts) -> bool:
    """Whether the actor sees the citizen's contact masked and no national ID."""
    return not relations(actor, case) & SEES_CONTACT


def may_see_transaction(actor: Actor, emirate_agency_id: int,
                        departments: frozenset[int]) -> bool:
    """Whether ``actor`` may open a transaction's page in the staff app (its timeline and
    the cases about it): leadership, the emirate's coordinators and its agency leader
    without a department (they read every emirate case, enquiries about transactions
    too), and the staff of a department in ``departments`` (the one holding the
    transaction, and those holding a case about it)."""
    if actor.role == LEADERSHIP:
        return True
    if actor.agency_id is None or actor.agency_id != emirate_agency_id:
        return False
    if actor.department_id is not None:
        return actor.role in (COORDINATOR, SPECIALIST, AGENCY_LEADER) \
            and actor.department_id in departments
    return actor.role in (COORDINATOR, AGENCY_LEADER)


def visible_to(actor: Actor, emirate_agency_id: int) -> ColumnElement[bool]:
    """The cases ``actor`` may see, as a condition on ``VoiceCase`` (``may_see`` for a
    whole table)."""
    if actor.role == LEADERSHIP:
        return true()
    if actor.role not in (COORDINATOR, SPECIALIST, AGENCY_LEADER) or actor.agency_id is None:
        return false()  # admins (and any role not named here) see no case
    not_about_them = not_(and_(VoiceCase.about_own_staff.is_(True),
                               VoiceCase.about_agency_id == actor.agency_id))
    if actor.role == COORDINATOR and actor.agency_id == emirate_agency_id \
            and actor.department_id is None:
        return not_about_them
    mine = and_(VoiceCase.agency_id == actor.agency_id, not_about_them)
    if actor.department_id is not None:
        mine = and_(mine, VoiceCase.department_id == actor.department_id)
    if actor.role == SPECIALIST:
        return and_(mine, VoiceCase.assigned_user_id == actor.user_id)
    return mine
