"""Whether a transaction is the applicant's: what links a citizen's enquiry to it; and
a transaction as the staff app's page shows it (``held``).

A citizen who asks about a transaction names it by its number; the question is tied to
it (and goes to the department that holds it) only when the citizen proves it is theirs:
the mobile, the e-mail address or the national ID they gave matches the applicant's.
An unknown number and someone else's number look the same to the caller: None.
"""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from core.directory.models import Agency, Department
from core.identity.digits import MAX_NUMBER_LENGTH, MIN_NUMBER_LENGTH, normalize_digits
from core.transactions.answer import Name, Stage, TransactionView
from core.transactions.models import Transaction, TransactionEvent

_NUMBER: Final = re.compile(rf"^[0-9]{{{MIN_NUMBER_LENGTH},{MAX_NUMBER_LENGTH}}}$")
# Typed separators a citizen may put inside a number ("447 1234", "447-1234", marks).
_SEPARATORS: Final = re.compile(r"[\s\-\u200e\u200f\u061c\u0640\u200b\u200c\u200d\ufeff]")


def clean_number(text: str) -> str | None:
    """The transaction number as typed (Arabic-Indic digits, spaces), digits only; None
    when it is not one."""
    digits = _SEPARATORS.sub("", normalize_digits(text))
    return digits if _NUMBER.match(digits) else None


@dataclass(frozen=True)
class Owned:
    """The applicant's transaction, as a linked case needs it."""

    id: int
    number: str
    department_id: int | None


def owned_by(session: Session, number: str, *, mobile: str | None = None,
             email: str | None = None, national_id_hash: str | None = None) -> Owned | None:
    """The transaction ``number`` when one of the citizen's details is its applicant's:
    ``mobile`` in E.164, ``email`` as given (compared in lower case), the keyed hash of
    their national ID. None for an unknown number and for someone else's alike."""
    clean = clean_number(number)
    if clean is None:
        return None
    txn = session.execute(
        select(Transaction.id, Transaction.number, Transaction.department_id,
               Transaction.applicant_mobile, Transaction.applicant_email,
               Transaction.applicant_national_id_hash)
        .where(Transaction.number == clean)).first()
    if txn is None:
        return None
    # compare_digest: the time taken does not tell how much of a detail matched.
    pairs = ((mobile, txn.applicant_mobile),
             (email.lower() if email else None,
              txn.applicant_email.lower() if txn.applicant_email else None),
             (national_id_hash, txn.applicant_national_id_hash))
    if any(given and held and hmac.compare_digest(given, held) for given, held in pairs):
        return Owned(txn.id, txn.number, txn.department_id)
    return None


def number_of(session: Session, transaction_id: int | None) -> str | None:
    """The number of the transaction a case is linked to (None: none)."""
    if transaction_id is None:
        return None
    return session.scalar(select(Transaction.number).where(Transaction.id == transaction_id))


@dataclass(frozen=True)
class Held:
    """A transaction as the staff app shows it: its view and timeline, and who holds it."""

    id: int
    department_id: int | None
    view: TransactionView


def held(session: Session, number: str) -> Held | None:
    """The transaction ``number`` (as typed) with its timeline, for the staff who may see
    it (the caller decides who); None when there is none."""
    clean = clean_number(number)
    txn = session.scalar(select(Transaction).where(Transaction.number == clean)) \
        if clean else None
    if txn is None:
        return None
    department, agency = aliased(Department), aliased(Agency)
    stages = session.execute(
        select(TransactionEvent.type, TransactionEvent.occurred_at, department.name_ar,
               department.name_en, agency.name_ar, agency.name_en)
        .outerjoin(department, department.id == TransactionEvent.department_id)
        .outerjoin(agency, agency.id == TransactionEvent.agency_id)
        .where(TransactionEvent.transaction_id == txn.id)
        .order_by(TransactionEvent.occurred_at, TransactionEvent.id)).all()
    view = TransactionView(
        number=txn.number, status=txn.status, subject=txn.subject,
        registered_at=txn.registered_at, department=_name(txn.department),
        outgoing_number=txn.outgoing_number, destination_agency=_name(txn.destination_agency),
        issued_at=txn.issued_at, reply_expected=txn.reply_expected,
        reply_received_at=txn.reply_received_at, closed_at=txn.closed_at,
        timeline=tuple(Stage(kind, at, Name(d_ar, d_en or d_ar) if d_ar else None,
                             Name(a_ar, a_en or a_ar) if a_ar else None)
                       for kind, at, d_ar, d_en, a_ar, a_en in stages))
    return Held(txn.id, txn.department_id, view)


def _name(row: Department | Agency | None) -> Name | None:
    return Name(row.name_ar, row.name_en or row.name_ar) if row is not None else None
