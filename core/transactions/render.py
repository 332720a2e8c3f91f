"""Pure functions from an answer (or a lifecycle fact) and a language to text.

Each channel picks the form it needs: ``sms_text`` (short, one UCS-2 segment for the
common statuses), ``screen_text`` (kiosk and API), ``speech_text`` (IVR), and the
notification texts the outbox carries. HTML is the portal's template over the same value.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.calendar.dates import format_date, format_date_long, format_hijri, local_date
from core.platform.i18n import gettext_for, ngettext_for
from core.transactions.answer import Answer, Name, Outcome, Stage, TransactionView


def _date(moment: datetime, lang: str, tz: ZoneInfo) -> str:
    return format_date(local_date(moment, tz), lang)


def _short_date(moment: datetime, lang: str, tz: ZoneInfo) -> str:
    """Hijri alone, for the tightest texts (an SMS answer)."""
    day = local_date(moment, tz)
    hijri = format_hijri(day)
    if not hijri:
        return day.strftime("%Y/%m/%d")
    return hijri + ("هـ" if lang == "ar" else " AH")


def _name(name: Name | None, lang: str) -> str:
    return name.in_(lang) if name else ""


def status_label(view: TransactionView, lang: str) -> str:
    """The status in a few words, e.g. 'Under study in the Rights Department'."""
    _ = gettext_for(lang)
    department = _name(view.department, lang)
    agency = _name(view.destination_agency, lang)
    match view.status:
        case "registered":
            return _("Registered and in progress")
        case "referred":
            return _("Referred to {department}").format(department=department)
        case "assigned":
            return _("Under study in {department}").format(department=department)
        case "issued" if view.reply_expected:
            return _("Issued to {agency}, awaiting its reply").format(agency=agency)
        case "issued":
            return _("Issued to {agency}").format(agency=agency)
        case "reply_received":
            return _("Reply received from {agency}").format(agency=agency)
        case "closed":
            return _("Completed")
    return view.status


def stage_label(stage: Stage, lang: str) -> str:
    _ = gettext_for(lang)
    labels = {
        "registered": _("Registered"),
        "referred": _("Referred to {department}"),
        "assigned": _("Assigned to a researcher in {department}"),
        "issued": _("Issued to {agency}"),
        "reply_received": _("Reply received from {agency}"),
        "closed": _("Completed"),
    }
    return labels.get(stage.type, stage.type).format(
        department=_name(stage.department, lang), agency=_name(stage.agency, lang))


def not_found_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _("No transaction was found for these details. Check the number and try again.")


def mistyped_id_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _("Check the national ID or Iqama number: it is not valid.")


def help_text(lang: str, short_code: str) -> str:
    _ = gettext_for(lang)
    return _("Send your transaction number to {short_code} to know its status.").format(
        short_code=short_code)


def rate_limited_text(lang: str) -> str:
    _ = gettext_for(lang)
    return _("Too many attempts. Please try again later.")


def sms_text(answer: Answer, lang: str, tz: ZoneInfo, short_code: str = "74747") -> str:
    """The SMS reply: one UCS-2 segment (70 characters) for the common statuses."""
    _ = gettext_for(lang)
    if answer.outcome is Outcome.INVALID:
        return help_text(lang, short_code)
    if answer.outcome is Outcome.RATE_LIMITED:
        return rate_limited_text(lang)
    view = answer.transaction
    if view is None:
        return not_found_text(lang)
    if view.status == "issued":
        return _("Transaction {number} issued as {outgoing} on {date} to {agency}").format(
            number=view.number, outgoing=view.outgoing_number or "",
            date=_short_date(view.issued_at or view.registered_at, lang, tz),
            agency=_name(view.destination_agency, lang))
    return _("Transaction {number}: {status}").format(
        number=view.number, status=status_label(view, lang))


def screen_text(answer: Answer, lang: str, tz: ZoneInfo) -> str:
    """A few lines for a screen (kiosk, API clients): status, then the key dates."""
    _ = gettext_for(lang)
    if answer.outcome is Outcome.RATE_LIMITED:
        return rate_limited_text(lang)
    if answer.outcome is Outcome.INVALID:
        return _("Enter the transaction number as written on your receipt.")
    view = answer.transaction
    if view is None:
        return mistyped_id_text(lang) if answer.id_mistyped else not_found_text(lang)
    lines = [
        _("Transaction {number}").format(number=view.number),
        status_label(view, lang),
        _("Registered on {date}").format(date=_date(view.registered_at, lang, tz)),
    ]
    if view.issued_at and view.outgoing_number:
        lines.append(_("Outgoing number {outgoing}, dated {date}").format(
            outgoing=view.outgoing_number, date=_date(view.issued_at, lang, tz)))
    return "\n".join(lines)


def speech_text(answer: Answer, lang: str, tz: ZoneInfo) -> str:
    """What the IVR says: whole sentences, long dates, the number spoken digit by digit."""
    _ = gettext_for(lang)
    if answer.outcome is not Outcome.FOUND or answer.transaction is None:
        return screen_text(answer, lang, tz)
    view = answer.transaction
    digits = " ".join(view.number)
    sentences = [
        _("Transaction number {number}.").format(number=digits),
        status_label(view, lang) + ".",
        _("It was registered on {date}.").format(
            date=format_date_long(local_date(view.registered_at, tz), lang)),
    ]
    return " ".join(sentences)


def days_waiting_text(days: int, lang: str) -> str:
    ngettext = ngettext_for(lang)
    return ngettext("Awaiting the reply for {n} day", "Awaiting the reply for {n} days",
                    days).format(n=days)


# --- notifications (DOMAIN.md §1): the seeds' wording -------------------------------


def registration_sms(number: str, registered_at: datetime, lang: str, tz: ZoneInfo,
                     short_code: str) -> str:
    _ = gettext_for(lang)
    return _("Your transaction was registered under number {number}, dated {date}. "
             "To follow it, text the number to {short_code}.").format(
        number=number, date=_date(registered_at, lang, tz), short_code=short_code)


def issuance_sms(number: str, outgoing_number: str, issued_at: datetime, agency: Name,
                 lang: str, tz: ZoneInfo) -> str:
    _ = gettext_for(lang)
    return _("Your transaction {number} was issued under outgoing number {outgoing}, "
             "dated {date}, to {agency}. No need to visit the emirate.").format(
        number=number, outgoing=outgoing_number, date=_date(issued_at, lang, tz),
        agency=agency.in_(lang))


def assignment_sms(number: str, registered_at: datetime, lang: str, tz: ZoneInfo) -> str:
    _ = gettext_for(lang)
    return _("A transaction is recorded under your name: number {number}, "
             "dated {date}.").format(number=number, date=_date(registered_at, lang, tz))
