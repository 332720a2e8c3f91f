"""A case as a member of staff may see it, and the lists of cases they may see.

Readers who stand to the case only as readers (an agency leader, the emirate's
leadership: ``permissions.redacted``) see the citizen's mobile and address masked, no
name and no national ID, and the free texts with any number or address in them masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.access.actors import Actor
from core.access.models import StaffUser
from core.directory.models import Agency, Department
from core.identity.addresses import mask_email
from core.identity.masking import mask_contacts
from core.identity.phones import mask_mobile
from core.transactions.ownership import number_of
from core.voice import permissions
from core.voice.models import CaseAnswer, CaseEvent, VoiceCase, VoiceCategory

PAGE_SIZE = 50


@dataclass(frozen=True)
class Citizen:
    name: str | None
    mobile: str | None
    email: str | None
    has_national_id: bool


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    action: str
    from_state: str | None
    to_state: str
    actor: str  # the user's login, or "citizen" / "system"
    role: str
    cycle: int
    reason: str
    detail: dict[str, object]


@dataclass(frozen=True)
class CaseView:
    tracking: str
    type: str
    state: str
    agency: str
    about_agency: str | None
    about_own_staff: bool
    category: str | None
    channel: str
    lang: str
    text: str
    citizen: Citizen
    assigned_to: str | None
    cycle: int
    received_at: datetime
    acknowledged_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None
    acknowledge_due: datetime | None
    answer_due: datetime | None
    escalation: int
    rating: int | None
    duplicate_of: str | None
    answer: str | None  # the answer sent this cycle
    draft: str | None  # the unsent draft, for those who handle the case
    history: list[HistoryEntry]
    redacted: bool
    # The emirate's department holding it (its code) and the transaction it is about
    # (its number), when it is linked to one.
    department: str | None = None
    transaction: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON values (times in ISO 8601)."""
        return _plain_fields(self)


@dataclass(frozen=True)
class CaseSummary:
    tracking: str
    type: str
    state: str
    agency: str
    category: str | None
    assigned_to: str | None
    received_at: datetime
    answer_due: datetime | None
    escalation: int

    def as_dict(self) -> dict[str, Any]:
        return _plain_fields(self)


@dataclass(frozen=True)
class CasePage:
    cases: list[CaseSummary]
    page: int
    more: bool


def _plain_fields(view: object) -> dict[str, Any]:
    return {key: _plain(value) for key, value in view.__dict__.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if hasattr(value, "__dataclass_fields__"):
        return _plain(dict(value.__dict__))
    return value


def case_view(session: Session, case: VoiceCase, *, redact: bool,
              handles: bool) -> CaseView:
    """The case as one viewer sees it: ``redact`` for readers, ``handles`` for those who
    work on it (they see the unsent draft)."""
    def code(agency_id: int | None) -> str | None:
        return session.scalar(select(Agency.code).where(Agency.id == agency_id)) \
            if agency_id is not None else None

    def free(text: str) -> str:
        return mask_contacts(text) if redact else text

    category = (session.scalar(select(VoiceCategory.code)
                               .where(VoiceCategory.id == case.category_id))
                if case.category_id else None)
    assigned = (session.scalar(select(StaffUser.login)
                               .where(StaffUser.id == case.assigned_user_id))
                if case.assigned_user_id else None)
    duplicate_of = (session.scalar(select(VoiceCase.tracking)
                                   .where(VoiceCase.id == case.duplicate_of_id))
                    if case.duplicate_of_id else None)
    answers = session.scalars(select(CaseAnswer).where(
        CaseAnswer.case_id == case.id, CaseAnswer.cycle == case.cycle,
        CaseAnswer.superseded.is_(False)).order_by(CaseAnswer.id)).all()
    sent = [row for row in answers if row.sent_at is not None]
    drafts = [row for row in answers if row.sent_at is None]
    if redact:
        citizen = Citizen(None, mask_mobile(case.citizen_mobile) if case.citizen_mobile
                          else None,
                          mask_email(case.citizen_email) if case.citizen_email else None,
                          False)
    else:
        citizen = Citizen(case.citizen_name, case.citizen_mobile, case.citizen_email,
                          case.citizen_national_id_hash is not None)
    return CaseView(
        tracking=case.tracking, type=case.case_type, state=case.state,
        agency=code(case.agency_id) or "", about_agency=code(case.about_agency_id),
        about_own_staff=case.about_own_staff, category=category, channel=case.channel,
        lang=case.language, text=free(case.text), citizen=citizen, assigned_to=assigned,
        cycle=case.cycle, received_at=case.received_at,
        acknowledged_at=case.acknowledged_at, answered_at=case.answered_at,
        closed_at=case.closed_at, acknowledge_due=case.acknowledge_due,
        answer_due=case.answer_due, escalation=case.escalation, rating=case.rating,
        duplicate_of=duplicate_of, answer=free(sent[-1].text) if sent else None,
        draft=drafts[-1].text if drafts and handles else None,
        history=history(session, case, redact=redact), redacted=redact,
        department=session.scalar(select(Department.code)
                                  .where(Department.id == case.department_id))
        if case.department_id else None,
        transaction=number_of(session, case.transaction_id))


def history(session: Session, case: VoiceCase, *, redact: bool) -> list[HistoryEntry]:
    """The case's events, oldest first."""
    rows = session.execute(
        select(CaseEvent, StaffUser.login).outerjoin(
            StaffUser, StaffUser.id == CaseEvent.actor_user_id)
        .where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)).all()
    entries = []
    for event, login in rows:
        detail = dict(event.detail or {})
        reason = event.reason
        if redact:
            reason = mask_contacts(reason)
            if isinstance(detail.get("text"), str):
                detail["text"] = mask_contacts(str(detail["text"]))
        entries.append(HistoryEntry(event.at, event.action, event.from_state, event.to_state,
                                    login or event.actor_role, event.actor_role, event.cycle,
                                    reason, detail))
    return entries


def case_page(session: Session, actor: Actor, emirate_agency_id: int, *,
              state: str | None = None, page: int = 1,
              page_size: int = PAGE_SIZE) -> CasePage:
    """The cases ``actor`` may see, newest first, a page at a time."""
    agency = aliased(Agency)
    query = (select(VoiceCase.tracking, VoiceCase.case_type, VoiceCase.state,
                    agency.code, VoiceCategory.code, StaffUser.login, VoiceCase.received_at,
                    VoiceCase.answer_due, VoiceCase.escalation)
             .join(agency, agency.id == VoiceCase.agency_id)
             .outerjoin(VoiceCategory, VoiceCategory.id == VoiceCase.category_id)
             .outerjoin(StaffUser, StaffUser.id == VoiceCase.assigned_user_id)
             .where(permissions.visible_to(actor, emirate_agency_id)))
    if state:
        query = query.where(VoiceCase.state == state)
    rows = session.execute(query.order_by(VoiceCase.id.desc())
                           .offset((page - 1) * page_size).limit(page_size + 1)).all()
    return CasePage([CaseSummary(*row) for row in rows[:page_size]], page,
                    len(rows) > page_size)

