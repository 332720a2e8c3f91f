"""The actions that move a case through its states, by staff and by the citizen.

Each action is checked in one order, so that its refusals mean one thing each: the body
(422, nothing looked up), the case (404, also when the actor may not see it:
``permissions``), the actor's right (403, ``NotAllowed``), the case's state (409,
``WrongState``), then what the action names (an agency, a user, a case: 422). Then, in
the caller's one transaction: the change, its event row (actor, role, time, from, to,
reason, detail), the deadlines retimed and the notifications it causes.

From which states each action may be taken, for complaints and enquiries (C) and for
suggestions (S), is ``FROM`` below; where each leads is in the handlers. A specialist's
``answer`` is a draft (``answer_drafted``) and a coordinator's is sent; ``approve``
sends the draft, ``send_back`` returns it with a reason. A suggestion is decided, not
answered: ``accept`` (then ``plan``, ``implement``) or ``reject`` with a reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from pydantic import Field, field_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access.actors import SPECIALIST, Actor
from core.access.models import StaffUser
from core.calendar import versions
from core.calendar.dates import local_date
from core.calendar.workdays import WorkingDays
from core.directory.models import Agency, Department
from core.identity.national_id import InvalidNationalId, hash_national_id
from core.identity.phones import InvalidMobile, normalize_mobile
from core.platform.errors import InvalidRequest, NotAllowed, NotFound, WrongState
from core.platform.settings import CoreSettings
from core.platform.validation import StrictModel, validated
from core.voice import deadlines, notices, permissions, states
from core.voice.cases import CITIZEN, TEXT_MAX, Who, emirate_id, find, record
from core.voice.models import CaseAnswer, CaseEvent, VoiceCase

s = states
REASON_MAX = 2000
# "refer" to no department: back to the emirate's general inbox.
GENERAL_INBOX = "-"
# A calendar with no working day at all still ends the window (ten years on).
REOPEN_SEARCH_DAYS = 3660
_C_OPEN = frozenset({s.RECEIVED, s.ASSIGNED, s.IN_PROGRESS})
_S_OPEN = frozenset({s.RECEIVED, s.ASSIGNED, s.UNDER_STUDY})
_C_UNANSWERED = _C_OPEN | {s.AWAITING_CITIZEN, s.ANSWER_DRAFTED}
_S_UNDECIDED = _S_OPEN | {s.AWAITING_CITIZEN, s.ANSWER_DRAFTED}
NONE: frozenset[str] = frozenset()

# action -> (states for complaints and enquiries, states for suggestions).
FROM: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "route": (_C_OPEN, _S_OPEN),
    "refer": (_C_OPEN, _S_OPEN),
    "assign": (_C_OPEN, _S_OPEN),
    "start": (frozenset({s.ASSIGNED}), frozenset({s.ASSIGNED})),
    "request_info": (frozenset({s.ASSIGNED, s.IN_PROGRESS}),
                     frozenset({s.ASSIGNED, s.UNDER_STUDY})),
    # A specialist drafts once at work on it (again: the new draft replaces the old).
    "draft": (frozenset({s.IN_PROGRESS, s.ANSWER_DRAFTED}),
              frozenset({s.UNDER_STUDY, s.ANSWER_DRAFTED})),
    # A coordinator answers (sends) a complaint or enquiry at any point before it is.
    "send": (_C_OPEN | {s.ANSWER_DRAFTED}, NONE),
    "approve": (frozenset({s.ANSWER_DRAFTED}), NONE),
    "send_back": (frozenset({s.ANSWER_DRAFTED}), frozenset({s.ANSWER_DRAFTED})),
    "not_competent": (_C_OPEN, _S_OPEN),
    "reject": (NONE, _S_OPEN | {s.ANSWER_DRAFTED}),
    "accept": (NONE, _S_OPEN | {s.ANSWER_DRAFTED}),
    "plan": (NONE, frozenset({s.ACCEPTED})),
    "implement": (NONE, frozenset({s.ACCEPTED, s.PLANNED})),
    "close": (_C_UNANSWERED | {s.ANSWERED},
              _S_UNDECIDED | {s.ACCEPTED, s.PLANNED}),
    "merge": (_C_UNANSWERED, _S_UNDECIDED),
    "comment": (frozenset(s.STATES), frozenset(s.STATES)),
    # The citizen's own.
    "citizen_reply": (frozenset({s.AWAITING_CITIZEN}), frozenset({s.AWAITING_CITIZEN})),
    "withdraw": (_C_UNANSWERED, _S_UNDECIDED),
    "reopen": (frozenset({s.ANSWERED}), NONE),
    "rate": (frozenset({s.ANSWERED, s.CLOSED}),
             frozenset({s.ACCEPTED, s.PLANNED, s.IMPLEMENTED, s.REJECTED, s.CLOSED})),
}
CITIZEN_ACTIONS = ("citizen_reply", "withdraw", "reopen", "rate")


def allowed_from(action: str, case_type: str) -> frozenset[str]:
    complaint_like, suggestion = FROM[action]
    return suggestion if case_type == s.SUGGESTION else complaint_like


def at_work(case_type: str) -> str:
    """The state a case is worked on in: a complaint is in progress, a suggestion under
    study."""
    return s.UNDER_STUDY if case_type == s.SUGGESTION else s.IN_PROGRESS


class ActionBody(StrictModel):
    action: str = Field(min_length=1, max_length=20)
    agency: str | None = Field(default=None, min_length=1, max_length=64)
    user: str | None = Field(default=None, min_length=1, max_length=64)
    text: str | None = Field(default=None, min_length=1, max_length=TEXT_MAX)
    reason: str | None = Field(default=None, min_length=1, max_length=REASON_MAX)
    # merge: the case this one duplicates.
    into: str | None = Field(default=None, min_length=1, max_length=40)
    # refer: the emirate's department to hold the case, or GENERAL_INBOX.
    department: str | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("action")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in permissions.STAFF_ACTIONS:
            raise ValueError(f"one of {', '.join(permissions.STAFF_ACTIONS)}")
        return value


# What each staff action must carry.
REQUIRED = {"route": "agency", "refer": "department", "assign": "user",
            "request_info": "text", "answer": "text",
            "send_back": "reason", "not_competent": "reason", "reject": "reason",
            "close": "reason", "merge": "into", "comment": "text"}


@dataclass
class Act:
    """One action under way: the case, who, the body, the time, the transaction."""

    session: Session
    config: CoreSettings
    case: VoiceCase
    who: Who
    body: ActionBody
    now: datetime
    # The citizen's channel message this act came from (its event's, once).
    source_key: str | None = None

    @property
    def staff(self) -> Actor | None:
        return self.who if isinstance(self.who, Actor) else None


def staff_action(session: Session, config: CoreSettings, actor: Actor, number: str,
                 data: Any, now: datetime) -> VoiceCase:
    """Apply one staff action (the API's body) to the case with tracking ``number``."""
    body = validated(ActionBody, data, what="body")
    field = REQUIRED.get(body.action)
    if field and getattr(body, field) is None:
        raise InvalidRequest(f"{field} is required for {body.action}", code="missing_field",
                             field=field)
    case = find(session, number, lock=True)
    facts = permissions.CaseFacts.of(case, emirate_id(session, config))
    if not permissions.may_see(actor, facts):
        raise NotFound("no such case", code="unknown_case", field="tracking")
    if not permissions.may(actor, body.action, facts):
        raise NotAllowed(f"the role {actor.role} may not {body.action} this case",
                         code="not_allowed")
    rule = body.action
    if rule == "answer":
        relation = permissions.relations(actor, facts)
        rule = "draft" if permissions.ASSIGNEE in relation else "send"
    _check_state(case, rule)
    act = Act(session, config, case, actor, body, now)
    HANDLERS[rule](act)
    return case


@dataclass(frozen=True)
class CitizenProof:
    """What shows a citizen the case is theirs: the channel's verified mobile or
    address, or the national ID they typed (any one that matches the case's)."""

    mobile: str | None = None
    email: str | None = None
    national_id: str | None = None


def citizen_action(session: Session, config: CoreSettings, number: str, action: str,
                   proof: CitizenProof, now: datetime, *, text: str | None = None,
                   rating: int | None = None, source_key: str | None = None) -> VoiceCase:
    """The citizen's own acts: ``citizen_reply`` (``text``), ``withdraw``, ``reopen`` (within
    ``voice.reopen_days`` working days after the answer), ``rate`` (``rating`` 1-5, once
    per answer). A case that is not theirs is not found, as one that does not exist.
    ``source_key``: the channel message the act came from; a second call with it
    changes nothing and returns the case (a redelivered SMS, a mail fetched twice)."""
    if action not in CITIZEN_ACTIONS:
        raise InvalidRequest(f"action: one of {', '.join(CITIZEN_ACTIONS)}",
                             code="invalid_field", field="action")
    if action == "citizen_reply" and (not text or not text.strip() or len(text) > TEXT_MAX):
        raise InvalidRequest(f"text: 1 to {TEXT_MAX} characters", code="invalid_field",
                             field="text")
    if action == "rate" and (isinstance(rating, bool) or not isinstance(rating, int)
                             or not 1 <= rating <= 5):
        raise InvalidRequest("rating: 1 to 5", code="invalid_field", field="rating")
    case = find(session, number, lock=True)
    if not proves(proof, case, config):
        raise NotFound("no such case", code="unknown_case", field="tracking")
    if source_key is not None and session.scalar(
            select(CaseEvent.id).where(CaseEvent.source_key == source_key)) is not None:
        return case
    _check_state(case, action)
    body = ActionBody(action="comment", text=text.strip() if text else None)
    act = Act(session, config, case, CITIZEN, body, now, source_key)
    if action == "rate":
        _rate(act, rating or 0)
    else:
        HANDLERS[action](act)
    return case


def proves(proof: CitizenProof, case: VoiceCase, config: CoreSettings) -> bool:
    if proof.mobile and case.citizen_mobile:
        try:
            if normalize_mobile(proof.mobile) == case.citizen_mobile:
                return True
        except InvalidMobile:
            pass
    if proof.email and case.citizen_email and \
            proof.email.strip().lower() == case.citizen_email.strip().lower():
        return True
    if proof.national_id and case.citizen_national_id_hash:
        try:
            digest = hash_national_id(proof.national_id, config.national_id_key())
        except InvalidNationalId:
            return False
        return digest == case.citizen_national_id_hash
    return False


def _check_state(case: VoiceCase, rule: str) -> None:
    if case.state not in allowed_from(rule, case.case_type):
        action = {"draft": "answer", "send": "answer"}.get(rule, rule)
        raise WrongState(f"a case of type {case.case_type} in state {case.state} cannot "
                         f"take '{action}'", code="wrong_state")


# --- the change itself ------------------------------------------------------------------


def _move(act: Act, action: str, to: str, *, reason: str = "",
          detail: dict[str, object] | None = None) -> int:
    """Move the case to ``to``: the times that go with it, the event, the deadlines; the
    event's id (what its notifications are keyed on)."""
    case, now = act.case, act.now
    before = case.state
    case.state = to
    if to in s.PAUSED and before not in s.PAUSED:
        case.paused_since = now
    elif to not in s.PAUSED:
        case.paused_since = None
    if act.staff is not None and case.acknowledged_at is None and to != s.RECEIVED \
            and action != "comment":
        case.acknowledged_at = now
    if to in s.ANSWER_GIVEN - {s.CLOSED, s.DUPLICATE, s.WITHDRAWN} \
            and case.answered_at is None:
        case.answered_at = now
    if to in s.FINAL:
        case.closed_at = now
    case.updated_at = now
    event = record(act.session, case, act.who, action, before, now, reason=reason,
                   detail=detail, source_key=act.source_key)
    act.source_key = None  # one event per message: an act that moves twice keys the first
    deadlines.retime(act.session, act.config, case, now)
    return event.id


def _route(act: Act) -> None:
    case, session = act.case, act.session
    assert act.body.agency is not None
    target = session.scalar(select(Agency).where(Agency.code == act.body.agency))
    if target is None:
        raise InvalidRequest(f"agency {act.body.agency} is not known",
                             code="unknown_agency", field="agency")
    if target.id == case.agency_id:
        raise InvalidRequest("the case is already with that agency", code="same_agency",
                             field="agency")
    if case.about_own_staff and target.id == case.about_agency_id:
        raise NotAllowed("a complaint about an agency's own staff stays away from it",
                         code="own_staff_complaint")
    previous = session.get(Agency, case.agency_id)
    # Away from the emirate, no department of its holds it any more.
    case.agency_id, case.assigned_user_id, case.department_id = target.id, None, None
    _move(act, "route", s.RECEIVED, reason=act.body.reason or "",
          detail={"agency": target.code, "from_agency": previous.code if previous else ""})


def _refer(act: Act) -> None:
    """The case at the emirate goes to one of its departments' inboxes (or, without a
    department, back to the emirate's general inbox), unassigned."""
    case, session = act.case, act.session
    if case.agency_id != emirate_id(session, act.config):
        raise InvalidRequest("only a case at the emirate goes to one of its departments",
                             code="not_at_emirate", field="department")
    target = None
    if act.body.department != GENERAL_INBOX:
        target = session.scalar(select(Department).where(
            Department.code == act.body.department))
        if target is None:
            raise InvalidRequest(f"department {act.body.department} is not known",
                                 code="unknown_department", field="department")
    if (target.id if target else None) == case.department_id:
        raise InvalidRequest("the case is already there", code="same_department",
                             field="department")
    previous = session.get(Department, case.department_id) if case.department_id else None
    case.department_id, case.assigned_user_id = (target.id if target else None), None
    _move(act, "refer", s.RECEIVED, reason=act.body.reason or "",
          detail={"department": target.code if target else "",
                  "from_department": previous.code if previous else ""})


def _assign(act: Act) -> None:
    case, session = act.case, act.session
    login = (act.body.user or "").strip().lower()  # logins are stored in lower case
    user = session.scalar(select(StaffUser).where(StaffUser.login == login))
    if user is None or user.role != SPECIALIST or user.agency_id != case.agency_id \
            or user.disabled_at is not None \
            or user.department_id not in (None, case.department_id):
        raise InvalidRequest(f"{act.body.user} is no active specialist of this agency",
                             code="unknown_specialist", field="user")
    case.assigned_user_id = user.id
    event_id = _move(act, "assign", s.ASSIGNED, detail={"user": user.login})
    notices.to_staff(session, user, event_id, "assigned",
                     notices.assigned_to_you(case.tracking, case.answer_due, act.config.tz))


def _start(act: Act) -> None:
    _move(act, "start", at_work(act.case.case_type))


def _request_info(act: Act) -> None:
    question = act.body.text or ""
    event_id = _move(act, "request_info", s.AWAITING_CITIZEN, detail={"text": question})
    notices.to_citizen(act.session, act.case, event_id, "info_requested",
                       notices.info_requested(act.case.tracking, question, act.case.language,
                                              channel=notices.citizen_channel(act.case)
                                              or "sms"))


def _citizen_reply(act: Act) -> None:
    # Back to work; a case never started (asked from "assigned") is at work now.
    _move(act, "citizen_reply", at_work(act.case.case_type),
          detail={"text": act.body.text or ""})


def _unsent_drafts(act: Act) -> list[CaseAnswer]:
    return list(act.session.scalars(select(CaseAnswer).where(
        CaseAnswer.case_id == act.case.id, CaseAnswer.cycle == act.case.cycle,
        CaseAnswer.sent_at.is_(None), CaseAnswer.superseded.is_(False))
        .order_by(CaseAnswer.id)))


def _new_answer(act: Act, text: str, *, sent: bool) -> CaseAnswer:
    for draft in _unsent_drafts(act):
        draft.superseded = True
    staff = act.staff
    answer = CaseAnswer(case_id=act.case.id, cycle=act.case.cycle, text=text,
                        drafted_by=staff.user_id if staff else None, drafted_at=act.now,
                        approved_by=staff.user_id if staff and sent else None,
                        sent_at=act.now if sent else None)
    act.session.add(answer)
    act.session.flush()
    return answer


def _draft(act: Act) -> None:
    answer = _new_answer(act, act.body.text or "", sent=False)
    _move(act, "answer", s.ANSWER_DRAFTED, detail={"answer_id": answer.id, "sent": False})


def _send(act: Act) -> None:
    answer = _new_answer(act, act.body.text or "", sent=True)
    _answered(act, "answer", answer)


def _approve(act: Act) -> None:
    drafts = _unsent_drafts(act)
    if not drafts:  # answer_drafted always has one; a guard against a hand-edited row
        raise WrongState("there is no draft to approve", code="wrong_state")
    answer = drafts[-1]
    assert act.staff is not None
    answer.approved_by, answer.sent_at = act.staff.user_id, act.now
    _answered(act, "approve", answer)


def _answered(act: Act, action: str, answer: CaseAnswer) -> None:
    event_id = _move(act, action, s.ANSWERED, detail={"answer_id": answer.id, "sent": True})
    # The last day to reopen, by today's calendar: a holiday declared later only adds one.
    last_day = local_date(reopen_until(act.session, act.config, act.now), act.config.tz) \
        - timedelta(days=1)
    notices.to_citizen(act.session, act.case, event_id, "answered",
                       notices.answered(act.case.tracking, answer.text, last_day,
                                        act.case.language))


def _send_back(act: Act) -> None:
    for draft in _unsent_drafts(act):
        draft.superseded = True
    reason = act.body.reason or ""
    event_id = _move(act, "send_back", at_work(act.case.case_type), reason=reason)
    specialist = (act.session.get(StaffUser, act.case.assigned_user_id)
                  if act.case.assigned_user_id else None)
    if specialist is not None:
        notices.to_staff(act.session, specialist, event_id, "sent_back",
                         notices.sent_back_to_you(act.case.tracking, reason))


def _not_competent(act: Act) -> None:
    case = act.case
    previous = act.session.get(Agency, case.agency_id)
    case.agency_id = emirate_id(act.session, act.config)
    case.assigned_user_id = None
    _move(act, "not_competent", s.RECEIVED, reason=act.body.reason or "",
          detail={"from_agency": previous.code if previous else ""})


def _decide(decision: str, action: str) -> Callable[[Act], None]:
    """accept, plan, implement, reject: the suggestion's decision, told to the citizen
    (the text or reason given, else for acceptance the specialist's draft)."""
    def handler(act: Act) -> None:
        text = act.body.reason if decision == s.REJECTED else act.body.text
        detail: dict[str, object] = {}
        if decision in (s.ACCEPTED, s.REJECTED):
            drafts = _unsent_drafts(act)
            text = text or (drafts[-1].text if drafts else "")
            if text:
                detail["answer_id"] = _new_answer(act, text, sent=True).id
        elif text:
            detail["text"] = text
        event_id = _move(act, action, decision, reason=act.body.reason or "",
                         detail=detail)
        notices.to_citizen(act.session, act.case, event_id, decision,
                           notices.decided(decision, act.case.tracking, text or "",
                                           act.case.language))
    return handler


def _close(act: Act) -> None:
    reason = act.body.reason or ""
    event_id = _move(act, "close", s.CLOSED, reason=reason)
    notices.to_citizen(act.session, act.case, event_id, "closed",
                       notices.closed(act.case.tracking, reason, act.case.language))


def _merge(act: Act) -> None:
    case, session = act.case, act.session
    assert act.body.into is not None
    try:
        target = find(session, act.body.into)
    except NotFound:
        target = None
    if target is None or target.id == case.id or target.agency_id != case.agency_id \
            or target.state in s.FINAL:
        raise InvalidRequest("into: an open case of the same agency, not this one",
                             code="merge_target", field="into")
    case.duplicate_of_id = target.id
    event_id = _move(act, "merge", s.DUPLICATE, reason=act.body.reason or "",
                     detail={"into": target.tracking})
    notices.to_citizen(session, case, event_id, "merged",
                       notices.merged(case.tracking, case.language))


def _comment(act: Act) -> None:
    _move(act, "comment", act.case.state, detail={"text": act.body.text or ""})


def _withdraw(act: Act) -> None:
    _move(act, "withdraw", s.WITHDRAWN)


def reopen_until(session: Session, config: CoreSettings, answered_at: datetime) -> datetime:
    """When the citizen's right to reopen a case answered at ``answered_at`` ends: the
    local midnight after the ``voice.reopen_days``-th working day after the answer, by the
    current working calendar (weekend and holidays as the operator keeps them)."""
    _version, calendar = versions.current(session, config)
    end = reopen_window_end(calendar, local_date(answered_at, config.tz),
                            config.voice.reopen_days)
    return datetime.combine(end, time(), config.tz)


def reopen_window_end(calendar: WorkingDays, answer_day: date, days: int) -> date:
    """The first day on which a case answered on ``answer_day`` can no longer be
    reopened: the day after the ``days``-th working day after it (``reopen_until`` and
    the closing of answered cases, ``core.voice.closing``, share it)."""
    day, left = answer_day, days
    for _ in range(REOPEN_SEARCH_DAYS):
        if not left:
            break
        day += timedelta(days=1)
        left -= calendar.is_working_day(day)
    return day + timedelta(days=1)


def _reopen(act: Act) -> None:
    case = act.case
    assert case.answered_at is not None
    if act.now >= reopen_until(act.session, act.config, case.answered_at):
        raise WrongState(f"the case can be reopened within {act.config.voice.reopen_days} "
                         "working days of its answer", code="reopen_window")
    specialist = (act.session.get(StaffUser, case.assigned_user_id)
                  if case.assigned_user_id else None)
    if specialist is None or specialist.disabled_at is not None:
        case.assigned_user_id = None
    # A new deadline cycle from now; the first cycle's events (and breach) stay.
    case.cycle += 1
    case.cycle_started_at = act.now
    case.answered_at = None
    case.escalation = 0
    _move(act, "reopen", s.ASSIGNED if case.assigned_user_id else s.RECEIVED,
          detail={"cycle": case.cycle})


def _rate(act: Act, rating: int) -> None:
    case = act.case
    if case.answered_at is None:
        raise WrongState("a case is rated after its answer", code="wrong_state")
    if case.rated_at is not None and case.rated_at >= case.cycle_started_at:
        raise WrongState("this answer has been rated already", code="already_rated")
    case.rating, case.rated_at = rating, act.now
    _move(act, "rate", case.state, detail={"rating": rating})


HANDLERS: dict[str, Callable[[Act], None]] = {
    "route": _route, "refer": _refer, "assign": _assign, "start": _start,
    "request_info": _request_info,
    "draft": _draft, "send": _send, "approve": _approve, "send_back": _send_back,
    "not_competent": _not_competent, "reject": _decide(s.REJECTED, "reject"),
    "accept": _decide(s.ACCEPTED, "accept"), "plan": _decide(s.PLANNED, "plan"),
    "implement": _decide(s.IMPLEMENTED, "implement"), "close": _close, "merge": _merge,
    "comment": _comment, "citizen_reply": _citizen_reply, "withdraw": _withdraw,
    "reopen": _reopen,
}

