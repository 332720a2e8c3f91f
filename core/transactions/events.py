"""Lifecycle events as the records system sends them, parsed and checked before use.

``parse_event(data)`` turns a decoded JSON object into a frozen ``LifecycleEvent`` or
raises ``InvalidRequest`` naming the first field at fault.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import (
    AwareDatetime,
    Field,
    StrictBool,
    field_validator,
)

from core.identity.addresses import is_email_address
from core.identity.digits import normalize_digits
from core.identity.national_id import InvalidNationalId, validate_national_id
from core.identity.phones import optional_mobile
from core.platform.errors import InvalidRequest
from core.platform.validation import StrictModel, validated
from core.transactions.models import Status

EVENT_TYPES = tuple(status.value for status in Status)
# The same span the inquiry channels recognise (core.digits), so every number can be asked.
_NUMBER = re.compile(r"^[0-9]{4,20}$")
# How far ahead of our clock an event may claim to have happened (clock skew).
MAX_FUTURE_SKEW = timedelta(minutes=10)


def _clean_number(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("must be a string of digits")
    text = normalize_digits(str(value)).strip()
    if not _NUMBER.match(text):
        raise ValueError("must be 4 to 20 digits")
    return text


class Applicant(StrictModel):
    name: str = Field(min_length=1, max_length=200)
    national_id: str | None = None
    mobile: str | None = None
    email: str | None = Field(default=None, max_length=254)
    lang: Literal["ar", "en"] | None = None

    @field_validator("national_id")
    @classmethod
    def _national_id(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            return validate_national_id(value)
        except InvalidNationalId as exc:
            raise ValueError(str(exc)) from exc

    @field_validator("mobile")
    @classmethod
    def _mobile(cls, value: str | None) -> str | None:
        return optional_mobile(value)

    @field_validator("email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not is_email_address(value):
            raise ValueError("is not an e-mail address")
        return value.lower()


class TransactionPart(StrictModel):
    number: str
    subject: str | None = Field(default=None, max_length=2000)
    applicant: Applicant | None = None

    _number = field_validator("number", mode="before")(_clean_number)


class EventBody(StrictModel):
    event_id: str = Field(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")
    type: Literal[
        "registered", "referred", "assigned", "issued", "reply_received", "closed"
    ]
    occurred_at: AwareDatetime
    transaction: TransactionPart
    department: str | None = Field(default=None, min_length=1, max_length=64)
    employee: str | None = Field(default=None, min_length=1, max_length=64)
    outgoing_number: str | None = Field(default=None, min_length=1, max_length=64)
    destination_agency: str | None = Field(default=None, min_length=1, max_length=200)
    reply_expected: StrictBool | None = None

    @field_validator("occurred_at", mode="before")
    @classmethod
    def _iso_text(cls, value: Any) -> Any:
        # A bare number would be read as Unix time: 1447 is 1970-01-01T00:24:07Z.
        if isinstance(value, (int, float)):
            raise ValueError("must be an ISO 8601 date-time with its UTC offset")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _in_utc(cls, value: datetime) -> datetime:
        try:
            return value.astimezone(UTC)
        except OverflowError as exc:  # 0001-01-01T00:00:00+03:00 is before year 1 in UTC
            raise ValueError("is out of range") from exc


# Which extra fields each type needs, and which it may carry.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "registered": (),
    "referred": ("department",),
    "assigned": ("employee",),
    "issued": ("outgoing_number", "destination_agency"),
    "reply_received": (),
    "closed": (),
}
_ALLOWED: dict[str, tuple[str, ...]] = {
    **_REQUIRED,
    "issued": ("outgoing_number", "destination_agency", "reply_expected"),
}
_EXTRA_FIELDS = ("department", "employee", "outgoing_number", "destination_agency",
                 "reply_expected")


@dataclass(frozen=True)
class LifecycleEvent:
    """One event, checked: the lifecycle module applies it."""

    event_id: str
    type: str
    occurred_at: datetime
    number: str
    subject: str | None = None
    applicant: Applicant | None = None
    department: str | None = None
    employee: str | None = None
    outgoing_number: str | None = None
    destination_agency: str | None = None
    reply_expected: bool = False


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def parse_event(data: Any, *, now: datetime | None = None) -> LifecycleEvent:
    """Validate a decoded JSON event; raise InvalidRequest with the field and the reason."""
    body = validated(EventBody, data, what="event")

    missing = [name for name in _REQUIRED[body.type] if getattr(body, name) is None]
    if missing:
        raise InvalidRequest(f"{_article(body.type)} {body.type} event needs {', '.join(missing)}",
                             code="missing_field", field=missing[0])
    stray = [name for name in _EXTRA_FIELDS
             if getattr(body, name) is not None and name not in _ALLOWED[body.type]]
    if stray:
        raise InvalidRequest(f"{_article(body.type)} {body.type} event does not take "
                             f"{', '.join(stray)}",
                             code="unexpected_field", field=stray[0])
    txn = body.transaction
    if body.type == "registered":
        if txn.applicant is None:
            raise InvalidRequest("a registered event needs transaction.applicant",
                                 code="missing_field", field="transaction.applicant")
        if not txn.subject:
            raise InvalidRequest("a registered event needs transaction.subject",
                                 code="missing_field", field="transaction.subject")
    elif txn.applicant is not None or txn.subject is not None:
        raise InvalidRequest("only a registered event carries the applicant and subject",
                             code="unexpected_field", field="transaction.applicant")

    occurred = body.occurred_at
    if occurred > (now or datetime.now(UTC)) + MAX_FUTURE_SKEW:
        raise InvalidRequest("occurred_at is in the future", code="invalid_field",
                             field="occurred_at")
    return LifecycleEvent(
        event_id=body.event_id, type=body.type, occurred_at=occurred, number=txn.number,
        subject=txn.subject, applicant=txn.applicant, department=body.department,
        employee=body.employee, outgoing_number=body.outgoing_number,
        destination_agency=body.destination_agency,
        reply_expected=bool(body.reply_expected),
    )
