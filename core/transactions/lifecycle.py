"""Applying lifecycle events: registered → referred → assigned → issued → reply_received → closed.

One event is one unit of work: the transaction's new state, the history row and the
notifications it causes are committed together or not at all.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from core.directory.models import Agency, Department, Employee
from core.identity.national_id import hash_national_id
from core.messaging import outbox
from core.platform.errors import Conflict, NotFound
from core.platform.settings import CoreSettings
from core.transactions import email_notifications, overdue, render
from core.transactions.answer import Name
from core.transactions.events import LifecycleEvent
from core.transactions.models import Status, Transaction, TransactionEvent

# The states each event type may follow. A closed transaction takes nothing more.
ALLOWED_FROM: dict[str, frozenset[str]] = {
    "referred": frozenset({Status.REGISTERED, Status.REFERRED, Status.ASSIGNED}),
    "assigned": frozenset({Status.REFERRED, Status.ASSIGNED}),
    "issued": frozenset({Status.REGISTERED, Status.REFERRED, Status.ASSIGNED}),
    "reply_received": frozenset({Status.ISSUED}),
    "closed": frozenset({Status.REGISTERED, Status.REFERRED, Status.ASSIGNED, Status.ISSUED,
                         Status.REPLY_RECEIVED}),
}

# The status each event type leaves the transaction in (its reply's ``status``).
STATUS_AFTER: dict[str, Status] = {
    "registered": Status.REGISTERED,
    "referred": Status.REFERRED,
    "assigned": Status.ASSIGNED,
    "issued": Status.ISSUED,
    "reply_received": Status.REPLY_RECEIVED,
    "closed": Status.CLOSED,
}


@dataclass(frozen=True)
class EventOutcome:
    event_id: str
    number: str
    status: str
    duplicate: bool
    notifications: int


def digest(payload: dict[str, Any], key: bytes) -> str:
    """A keyed digest of the event as received: tells a replay from a reused event_id."""
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hmac.new(key, canonical.encode(), hashlib.sha256).hexdigest()


def stored_payload(payload: dict[str, Any], key: bytes) -> dict[str, Any]:
    """The payload as kept in the history: the national ID replaced by its keyed hash."""
    applicant = (payload.get("transaction") or {}).get("applicant")
    if not isinstance(applicant, dict) or not applicant.get("national_id"):
        return payload
    kept: dict[str, Any] = json.loads(json.dumps(payload))
    try:
        hashed = hash_national_id(str(applicant["national_id"]), key)
    except ValueError:
        hashed = "invalid"
    kept["transaction"]["applicant"]["national_id"] = f"hmac:{hashed}"
    return kept


@dataclass(frozen=True)
class Message:
    """A notification an event causes; written to the outbox with the event."""

    kind: str
    audience: str
    recipient: str
    language: str
    body: str


def apply_event(session: Session, event: LifecycleEvent, payload: dict[str, Any],
                config: CoreSettings, *, notify: bool = True) -> EventOutcome:
    """Apply one checked event inside ``session``'s transaction (the caller commits).

    With ``notify=False`` (a bulk import of history) the event causes no messages.
    """
    payload_digest = digest(payload, config.national_id_key())
    seen = session.scalar(select(TransactionEvent).where(TransactionEvent.event_id ==
                                                         event.event_id))
    if seen is not None:
        if seen.payload_digest != payload_digest:
            raise Conflict(f"event_id {event.event_id} was already used for another event",
                           code="event_id_reused", field="event_id")
        original = session.get_one(Transaction, seen.transaction_id)
        # The status that event produced, as its first reply said: not where the
        # transaction stands now (a retry must not read as a change it did not make).
        return EventOutcome(event.event_id, original.number, STATUS_AFTER[seen.type],
                            duplicate=True, notifications=0)

    # OF transactions: PostgreSQL refuses to lock the outer-joined (eager-loaded) rows.
    txn = session.scalar(
        select(Transaction).where(Transaction.number == event.number)
        .with_for_update(of=Transaction))
    if event.type == "registered":
        if txn is not None:
            raise Conflict(f"transaction {event.number} is already registered",
                           code="already_registered", field="transaction.number")
        txn = _register(session, event, config)
    else:
        if txn is None:
            raise NotFound(f"transaction {event.number} is not registered",
                           code="unknown_transaction", field="transaction.number")
        _check_order(txn, event)

    history = TransactionEvent(
        event_id=event.event_id, transaction=txn, type=event.type,
        occurred_at=event.occurred_at, payload=stored_payload(payload, config.national_id_key()),
        payload_digest=payload_digest,
    )
    session.add(history)
    messages = HANDLERS[event.type](session, txn, event, history, config)
    if not notify:
        messages = []
    for message in messages:
        outbox.enqueue(
            session, cause_key=f"event:{event.event_id}:{message.kind}", kind=message.kind,
            audience=message.audience, recipient=message.recipient,
            language=message.language, body=message.body, transaction_id=txn.id)
    if notify:
        email_notifications.enqueue_copies(session, txn, event.event_id, event.type, config)
    txn.last_event_at = event.occurred_at
    session.flush()
    return EventOutcome(event.event_id, txn.number, txn.status, duplicate=False,
                        notifications=len(messages))


def _check_order(txn: Transaction, event: LifecycleEvent) -> None:
    if txn.status == Status.CLOSED:
        raise Conflict(f"transaction {txn.number} is closed", code="out_of_order")
    if txn.status not in ALLOWED_FROM[event.type]:
        allowed = " or ".join(f"'{status}'" for status in Status
                              if status in ALLOWED_FROM[event.type])
        raise Conflict(f"an event '{event.type}' cannot follow '{txn.status}' (only "
                       f"{allowed})", code="out_of_order")
    if event.type == "reply_received" and not txn.reply_expected:
        raise Conflict(f"transaction {txn.number} was issued with no reply expected",
                       code="out_of_order")
    if event.occurred_at < txn.last_event_at:
        raise Conflict("occurred_at is earlier than the transaction's last event",
                       code="out_of_order", field="occurred_at")


def _register(session: Session, event: LifecycleEvent, config: CoreSettings) -> Transaction:
    applicant = event.applicant
    assert applicant is not None  # parse_event guarantees it
    txn = Transaction(
        number=event.number, subject=event.subject or "", status=Status.REGISTERED,
        registered_at=event.occurred_at, last_event_at=event.occurred_at,
        applicant_name=applicant.name,
        applicant_national_id_hash=(hash_national_id(applicant.national_id,
                                                     config.national_id_key())
                                    if applicant.national_id else None),
        applicant_mobile=applicant.mobile, applicant_email=applicant.email,
        applicant_language=applicant.lang or config.locale.default_language,
    )
    session.add(txn)
    session.flush()
    return txn


def _on_registered(session: Session, txn: Transaction, event: LifecycleEvent,
                   history: TransactionEvent, config: CoreSettings) -> list[Message]:
    if not txn.applicant_mobile:
        return []
    lang = txn.applicant_language
    return [Message(
        "registration", "citizen", txn.applicant_mobile, lang,
        render.registration_sms(txn.number, txn.registered_at, lang, config.tz,
                                config.sms.short_code),
    )]


def _on_referred(session: Session, txn: Transaction, event: LifecycleEvent,
                 history: TransactionEvent, config: CoreSettings) -> list[Message]:
    department = session.scalar(select(Department).where(Department.code == event.department))
    if department is None:
        raise NotFound(f"department {event.department} is not known",
                       code="unknown_department", field="department")
    txn.department = department
    txn.employee = None
    txn.status = Status.REFERRED
    history.department_id = department.id
    return []


def _on_assigned(session: Session, txn: Transaction, event: LifecycleEvent,
                 history: TransactionEvent, config: CoreSettings) -> list[Message]:
    employee = session.scalar(select(Employee).where(Employee.code == event.employee))
    if employee is None:
        raise NotFound(f"employee {event.employee} is not known",
                       code="unknown_employee", field="employee")
    if employee.department_id is not None and employee.department_id != txn.department_id:
        raise Conflict(f"employee {event.employee} is not in the department the "
                       f"transaction was referred to", code="wrong_department",
                       field="employee")
    txn.employee = employee
    txn.status = Status.ASSIGNED
    history.department_id = txn.department_id
    if not employee.mobile:
        return []
    lang = config.locale.default_language
    return [Message("assignment", "staff", employee.mobile, lang,
                    render.assignment_sms(txn.number, txn.registered_at, lang, config.tz))]


def _on_issued(session: Session, txn: Transaction, event: LifecycleEvent,
               history: TransactionEvent, config: CoreSettings) -> list[Message]:
    agency = _find_agency(session, event.destination_agency or "")
    txn.status = Status.ISSUED
    txn.outgoing_number = event.outgoing_number
    txn.destination_agency = agency
    txn.issued_at = event.occurred_at
    txn.reply_expected = event.reply_expected
    history.agency_id = agency.id
    history.department_id = txn.department_id
    if not txn.applicant_mobile:
        return []
    lang = txn.applicant_language
    return [Message(
        "issuance", "citizen", txn.applicant_mobile, lang,
        render.issuance_sms(txn.number, txn.outgoing_number or "", event.occurred_at,
                            Name(agency.name_ar, agency.name_en), lang, config.tz),
    )]


def _find_agency(session: Session, name: str) -> Agency:
    """An agency by code, or else by its exact Arabic or English name, if only one has it."""
    agency = session.scalar(select(Agency).where(Agency.code == name))
    if agency is not None:
        return agency
    named = session.scalars(select(Agency).where(
        or_(Agency.name_ar == name, Agency.name_en == name)).limit(2)).all()
    if not named:
        raise NotFound(f"agency {name} is not known (give its code or exact name)",
                       code="unknown_agency", field="destination_agency")
    if len(named) > 1:
        raise Conflict(f"more than one agency is named {name}; give its code",
                       code="ambiguous_agency", field="destination_agency")
    return named[0]


def _on_reply_received(session: Session, txn: Transaction, event: LifecycleEvent,
                       history: TransactionEvent, config: CoreSettings) -> list[Message]:
    txn.status = Status.REPLY_RECEIVED
    txn.reply_received_at = event.occurred_at
    history.agency_id = txn.destination_agency_id
    overdue.stop_clock(session, txn.id, Status.REPLY_RECEIVED)
    return []


def _on_closed(session: Session, txn: Transaction, event: LifecycleEvent,
               history: TransactionEvent, config: CoreSettings) -> list[Message]:
    was_awaiting = txn.status == Status.ISSUED and txn.reply_expected
    txn.status = Status.CLOSED
    txn.closed_at = event.occurred_at
    if was_awaiting:
        overdue.stop_clock(session, txn.id, Status.CLOSED)
    return []


Handler = Callable[[Session, Transaction, LifecycleEvent, TransactionEvent, CoreSettings],
                   list[Message]]
HANDLERS: dict[str, Handler] = {
    "registered": _on_registered,
    "referred": _on_referred,
    "assigned": _on_assigned,
    "issued": _on_issued,
    "reply_received": _on_reply_received,
    "closed": _on_closed,
}
