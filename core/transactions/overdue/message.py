"""The managers' overdue message: its kind, its outbox cause per cycle, and its text,
rendered once per issue date and agency for a scan's many (``Texts``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.calendar.dates import format_date, local_date
from core.directory.models import Agency
from core.platform.i18n import gettext_for
from core.platform.settings import CoreSettings
from core.transactions.answer import Name

KIND = "overdue"


def cause_key(transaction_id: int, cycle: int) -> str:
    return f"overdue:{transaction_id}:{cycle}"


def overdue_sms(outgoing_number: str, issued_at: datetime, agency: Name | None, lang: str,
                tz: ZoneInfo) -> str:
    """The manager's message, in the seed's words (the same text for each reminder)."""
    _ = gettext_for(lang)
    return _("The outgoing transaction number {outgoing}, dated {date}, to {agency} has "
             "not been answered to date; please follow up.").format(
        outgoing=outgoing_number, date=format_date(local_date(issued_at, tz), lang),
        agency=agency.in_(lang) if agency else "")


# Stands for the outgoing number while a text is rendered once for many transactions.
_NUMBER_SLOT = "\x00"


class Texts:
    """The managers' messages of one scan, rendered once per issue date and agency.

    Thousands of overdue messages differ, within a date and an agency, only by the
    outgoing number: the Hijri conversion and the catalog lookup are done once for them.
    """

    def __init__(self, config: CoreSettings, agencies: dict[int, Name]) -> None:
        self._lang, self._tz, self._agencies = config.locale.default_language, config.tz, agencies
        self._parts: dict[tuple[date, int | None], tuple[str, str]] = {}

    @classmethod
    def load(cls, session: Session, config: CoreSettings) -> Texts:
        return cls(config, {row.id: Name(row.name_ar, row.name_en) for row in session.execute(
            select(Agency.id, Agency.name_ar, Agency.name_en))})

    def body(self, outgoing_number: str | None, issued_at: datetime,
             agency_id: int | None) -> str:
        issued_on = issued_at.astimezone(self._tz).date()
        parts = self._parts.get((issued_on, agency_id))
        if parts is None:
            agency = None if agency_id is None else self._agencies.get(agency_id)
            text = overdue_sms(_NUMBER_SLOT, issued_at, agency, self._lang, self._tz)
            head, _slot, tail = text.partition(_NUMBER_SLOT)
            parts = self._parts[(issued_on, agency_id)] = (head, tail)
        return f"{parts[0]}{outgoing_number or ''}{parts[1]}"


class Awaiting(Protocol):
    """A row of an issued transaction awaiting a reply, as a message needs it."""

    @property
    def id(self) -> int: ...
    @property
    def outgoing_number(self) -> str | None: ...
    @property
    def issued_at(self) -> datetime: ...  # set: the transaction is issued
    @property
    def destination_agency_id(self) -> int | None: ...
