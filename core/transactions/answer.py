"""The answer to an inquiry: a plain value every channel renders in its own way."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo


class Outcome(enum.StrEnum):
    FOUND = "found"
    # No such number, or not the requester's: deliberately one outcome.
    NOT_FOUND = "not_found"
    # Nothing that looks like a transaction number (the channel shows help).
    INVALID = "invalid"
    # Too many failed inquiries from this requester lately.
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class Name:
    """A name kept in both languages (departments and agencies)."""

    ar: str
    en: str

    def in_(self, lang: str) -> str:
        return self.ar if lang == "ar" else (self.en or self.ar)


@dataclass(frozen=True)
class Stage:
    """One step of the transaction's timeline."""

    type: str
    occurred_at: datetime
    department: Name | None = None
    agency: Name | None = None


@dataclass(frozen=True)
class TransactionView:
    """What the applicant may see about their own transaction."""

    number: str
    status: str
    subject: str
    registered_at: datetime
    department: Name | None = None
    outgoing_number: str | None = None
    destination_agency: Name | None = None
    issued_at: datetime | None = None
    reply_expected: bool = False
    reply_received_at: datetime | None = None
    closed_at: datetime | None = None
    timeline: tuple[Stage, ...] = field(default=())

    @property
    def awaiting_reply(self) -> bool:
        return self.status == "issued" and self.reply_expected

    def days_awaiting_reply(self, today: date, tz: ZoneInfo) -> int | None:
        """Calendar days since issue while the agency's reply is awaited, else None."""
        if not self.awaiting_reply or self.issued_at is None:
            return None
        return max((today - self.issued_at.astimezone(tz).date()).days, 0)


@dataclass(frozen=True)
class Answer:
    outcome: Outcome
    transaction: TransactionView | None = None
    # Not found, and the national ID typed fails its check digit: likely a typo, which a
    # channel may say. It depends only on what was typed, never on what is stored, so
    # "not yours" and "no such number" still look the same.
    id_mistyped: bool = False

    @property
    def found(self) -> bool:
        return self.outcome is Outcome.FOUND
