"""A transaction's page in the staff app: the transaction (its stage, dates, department,
outgoing number), its timeline of lifecycle events, and the cases about it (enquiries
linked when the citizen proved it theirs).

Only its department's staff (the department holding it, or holding a case about it),
the emirate's coordinators and leadership open it (``permissions.may_see_transaction``);
for anyone else it does not exist, like a number that is no transaction. The cases
listed are those the user may see (``permissions.visible_to``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access.actors import Actor
from core.directory.models import Department
from core.platform.errors import NotFound
from core.transactions.answer import TransactionView
from core.transactions.ownership import held
from core.voice import permissions
from core.voice.desk import Option
from core.voice.models import VoiceCase

# The newest cases about one transaction shown on its page.
CASES_SHOWN = 50


@dataclass(frozen=True)
class LinkedCase:
    tracking: str
    case_type: str
    state: str
    received_at: datetime
    answer_due: datetime | None


@dataclass(frozen=True)
class TransactionDesk:
    transaction: TransactionView
    department: Option | None
    cases: list[LinkedCase]


def transaction_desk(session: Session, actor: Actor, emirate_id: int,
                     number: str) -> TransactionDesk:
    """The page of transaction ``number`` (as typed), or NotFound when there is none or it
    is not ``actor``'s to see (the same)."""
    found = held(session, number)
    if found is None:
        raise _not_found()
    departments = set(session.scalars(
        select(VoiceCase.department_id).distinct()
        .where(VoiceCase.transaction_id == found.id, VoiceCase.department_id.is_not(None))))
    if found.department_id is not None:
        departments.add(found.department_id)
    if not permissions.may_see_transaction(actor, emirate_id,
                                           frozenset(d for d in departments if d)):
        raise _not_found()
    rows = session.execute(
        select(VoiceCase.tracking, VoiceCase.case_type, VoiceCase.state,
               VoiceCase.received_at, VoiceCase.answer_due)
        .where(VoiceCase.transaction_id == found.id,
               permissions.visible_to(actor, emirate_id))
        .order_by(VoiceCase.received_at.desc(), VoiceCase.id.desc())
        .limit(CASES_SHOWN)).all()
    department = session.get(Department, found.department_id) \
        if found.department_id else None
    return TransactionDesk(
        found.view,
        Option(department.code, department.name_ar, department.name_en)
        if department else None,
        [LinkedCase(*row) for row in rows])


def _not_found() -> NotFound:
    return NotFound("no such transaction", code="unknown_transaction", field="number")
