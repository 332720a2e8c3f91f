"""A row of the records system's CSV export (``core.transactions.importer``) as the
lifecycle event payloads it stands for, in order; a row that cannot stand for any is
``Rejected`` with the reason. Also a cell as the errors file writes it (``inert_cell``)
and as the importer reads it back (``read_cell``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.identity.digits import normalize_digits

_ISSUE_COLUMNS = ("outgoing_number", "destination_agency", "issued_at", "reply_expected")
_YES = frozenset({"1", "true", "yes", "y", "نعم"})
_NO = frozenset({"0", "false", "no", "n", "لا"})
# What an event id may carry; anything else is reported by parse_event on the number.
_EVENT_KEY = re.compile(r"^[\x21-\x7e]{1,64}$")
# What a spreadsheet takes for the start of a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Planned:
    """One event payload built from a row, and the file column its time came from."""

    payload: dict[str, Any]
    time_column: str


class Rejected(Exception):
    """A row that cannot be imported, and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def inert_cell(value: str) -> str:
    """``value`` as a spreadsheet shows it and never runs it: a cell that would start a
    formula ("=HYPERLINK(...)", "+966...", "@SUM(...)") gets a leading single quote."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def read_cell(value: str) -> str:
    """A cell of the file to import, trimmed; the quote ``inert_cell`` put before a
    formula's first character is taken off again, so an errors file imports as it is."""
    value = value.strip()
    if value[:1] == "'" and value[1:2] and value[1:2] in FORMULA_STARTS:
        value = value[1:].strip()
    return value


def parse_time(text: str, tz: ZoneInfo, column: str) -> datetime:
    """ISO 8601 date or date-time; a date is local midnight, no offset means local time."""
    clean = normalize_digits(text).strip()
    try:
        moment = datetime.fromisoformat(clean)
    except ValueError:
        raise Rejected(f"{column}: {text!r} is not an ISO 8601 date or date-time "
                       f"(2026-11-23 or 2026-11-23T09:15:00+03:00)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=tz)


def _yes_no(text: str) -> bool:
    value = text.strip().lower()
    if value in _YES:
        return True
    if value in _NO:
        return False
    raise Rejected(f"reply_expected: {text!r} is not yes or no (1/0, true/false, نعم/لا)")


def plan_row(row: dict[str, str], tz: ZoneInfo) -> list[Planned]:
    """The event payloads one row stands for, in lifecycle order (not yet checked)."""
    number = normalize_digits(row["number"])
    key = number if _EVENT_KEY.match(number) else "invalid"
    if not row["registered_at"]:
        raise Rejected("registered_at: is required")

    def event(kind: str, column: str, **extra: Any) -> Planned:
        moment = parse_time(row[column], tz, column)
        return Planned({"event_id": f"import:{key}:{kind}", "type": kind,
                        "occurred_at": moment.isoformat(), "transaction": {"number": number},
                        **extra}, column)

    registered = event("registered", "registered_at")
    if "*" in row.get("national_id", ""):
        raise Rejected("national_id: masked (the errors file never holds a full ID); "
                       "fill in the full ID from the original file")
    applicant = {"name": row["applicant_name"]}
    for name in ("national_id", "mobile", "email"):
        if row.get(name):
            applicant[name] = row[name]
    if row.get("lang"):
        applicant["lang"] = row["lang"].lower()
    registered.payload["transaction"].update(subject=row["subject"], applicant=applicant)
    planned = [registered]

    if row.get("department"):
        planned.append(event("referred", "referred_at" if row.get("referred_at")
                             else "registered_at", department=row["department"]))
    elif row.get("referred_at"):
        raise Rejected("referred_at: given without a department")

    if any(row.get(name) for name in _ISSUE_COLUMNS):
        if not row.get("issued_at"):
            raise Rejected("issued_at: is required with outgoing_number, "
                           "destination_agency or reply_expected")
        issue: dict[str, Any] = {}
        for name in ("outgoing_number", "destination_agency"):
            if row.get(name):
                issue[name] = normalize_digits(row[name]) if name == "outgoing_number" \
                    else row[name]
        if row.get("reply_expected"):
            issue["reply_expected"] = _yes_no(row["reply_expected"])
        planned.append(event("issued", "issued_at", **issue))
    for kind, column in (("reply_received", "reply_received_at"), ("closed", "closed_at")):
        if row.get(column):
            planned.append(event(kind, column))
    return planned
