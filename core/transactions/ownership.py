"""Whether a transaction is the applicant's: what links a citizen's enquiry to it.

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
from sqlalchemy.orm import Session

from core.identity.digits import MAX_NUMBER_LENGTH, MIN_NUMBER_LENGTH, normalize_digits
from core.transactions.models import Transaction

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
