"""Registration and issuance notifications by e-mail too (``email.notifications``, off by
default), for applicants with an address on file: the SMS wording, Arabic then English,
queued in the outbox in the transaction of the event that causes them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.messaging import outbox, subjects
from core.messaging.bilingual import REPLY_LANGUAGES, Section, plain_text
from core.messaging.subjects import N_
from core.platform.settings import CoreSettings
from core.transactions import render
from core.transactions.answer import Name
from core.transactions.models import Transaction

KINDS = {"registered": "registration", "issued": "issuance"}
# The e-mail subjects of these kinds; any other (a reply about a transaction) is an inquiry.
subjects.register({subjects.DEFAULT: N_("Transaction inquiry"),
                   "registration": N_("Transaction registered"),
                   "issuance": N_("Transaction issued")})


def enqueue_copies(session: Session, txn: Transaction, event_id: str, event_type: str,
                   config: CoreSettings) -> int:
    """Queue the e-mail copy of this event's citizen notification; how many (0 or 1)."""
    kind = KINDS.get(event_type)
    if not config.email_notifications or kind is None or not txn.applicant_email:
        return 0
    sections = [Section(lang, _text(kind, txn, lang, config)) for lang in REPLY_LANGUAGES]
    outbox.enqueue(session, cause_key=f"event:{event_id}:{kind}:email", kind=kind,
                   audience="citizen", recipient=txn.applicant_email,
                   language=txn.applicant_language, body=plain_text(sections),
                   transaction_id=txn.id, channel="email")
    return 1


def _text(kind: str, txn: Transaction, lang: str, config: CoreSettings) -> str:
    if kind == "registration":
        return render.registration_sms(txn.number, txn.registered_at, lang, config.tz,
                                       config.sms.short_code)
    agency = txn.destination_agency
    return render.issuance_sms(
        txn.number, txn.outgoing_number or "", txn.issued_at or txn.registered_at,
        Name(agency.name_ar, agency.name_en) if agency else Name("", ""), lang, config.tz)
