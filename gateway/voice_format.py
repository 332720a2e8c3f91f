"""How the staff web app writes a case's facts: times in Hijri (Umm al-Qura) with the
Gregorian beside them and the local hour, and the names of states, types, channels,
actions, tabs and escalation levels in the page's language. Pure functions of their
arguments and the language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from fractions import Fraction
from zoneinfo import ZoneInfo

from core.calendar.dates import format_date
from core.platform.i18n import gettext_for, ngettext_for


@dataclass(frozen=True)
class Moment:
    """A time as a page shows it: ``text`` for people, ``iso`` for ``<time datetime>``."""

    iso: str
    text: str


def moment(at: datetime | None, lang: str, tz: ZoneInfo) -> Moment | None:
    """``at`` in the emirate's time: "1447/06/02هـ (2025/11/23م) 09:15"."""
    if at is None:
        return None
    local = at.astimezone(tz)
    return Moment(local.isoformat(timespec="minutes"),
                  f"{format_date(local.date(), lang)} {local:%H:%M}")


def day_text(day: date, lang: str) -> str:
    """A day: Hijri with the Gregorian beside it."""
    return format_date(day, lang)


def state_names(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {
        "received": _("Received"), "assigned": _("Assigned"),
        "in_progress": _("In progress"), "awaiting_citizen": _("Awaiting the citizen"),
        "answer_drafted": _("Answer drafted"), "answered": _("Answered"),
        "closed": _("Closed"), "duplicate": _("Duplicate"), "withdrawn": _("Withdrawn"),
        "under_study": _("Under study"), "accepted": _("Accepted"),
        "planned": _("Planned"), "implemented": _("Implemented"),
        "rejected": _("Rejected"),
    }


def type_names(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {"complaint": _("Complaint"), "suggestion": _("Suggestion"),
            "enquiry": _("Enquiry")}


def channel_names(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {"api": _("Agency system"), "portal": _("Web portal"), "sms": _("Text message"),
            "email": _("E-mail"), "ivr": _("Phone line"), "kiosk": _("Kiosk"),
            "counter": _("Counter")}


def action_names(lang: str) -> dict[str, str]:
    """What each event in a case's history did (the staff's actions, the citizen's, the
    system's)."""
    _ = gettext_for(lang)
    return {
        "file": _("Filed"), "route": _("Routed"),
        "refer": _("Referred to a department"), "assign": _("Assigned"),
        "start": _("Started"), "request_info": _("Information requested"),
        "citizen_reply": _("The citizen replied"), "answer": _("Answer"),
        "approve": _("Answer approved and sent"), "send_back": _("Sent back"),
        "not_competent": _("Not competent"), "reject": _("Rejected"),
        "accept": _("Accepted"), "plan": _("Planned"), "implement": _("Implemented"),
        "close": _("Closed"), "merge": _("Merged as a duplicate"),
        "comment": _("Note"), "withdraw": _("Withdrawn by the citizen"),
        "reopen": _("Reopened by the citizen"), "rate": _("Rated"),
        "retimed": _("Deadlines recomputed"), "escalate": _("Escalated"),
    }


def action_buttons(lang: str) -> dict[str, str]:
    """What a decision form's button does, as a command: a screen reader announces the
    button, so it says the action to take ("Reject"), never the state it leads to
    ("Rejected", which is the history's word)."""
    _ = gettext_for(lang)
    return {
        "accept": _("Accept"), "plan": _("Plan"), "implement": _("Mark implemented"),
        "reject": _("Reject"),
        "not_competent": _("Not our competence — send back to the emirate"),
        "close": _("Close the case"),
    }


def tab_names(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {"new": _("New"), "unrouted": _("Unrouted"), "drafts": _("Drafts to approve"),
            "near": _("Near the deadline"), "past": _("Past the deadline"),
            "awaiting": _("Awaiting the citizen"), "open": _("All open")}


def escalation_names(lang: str) -> dict[int, str]:
    """The escalation level in words: never a colour alone."""
    _ = gettext_for(lang)
    return {0: _("On time"), 1: _("Warning: near the deadline"),
            2: _("Late: past the deadline"), 3: _("Late: escalated to leadership")}


def role_label(role: str, lang: str) -> str:
    _ = gettext_for(lang)
    return {"coordinator": _("Agency coordinator"), "specialist": _("Agency specialist"),
            "agency_leader": _("Agency leader"), "leadership": _("Emirate leadership"),
            "admin": _("Administrator"), "citizen": _("Citizen"),
            "system": _("System"), "records": _("Records system")}.get(role, role)


# Who acted when no staff user did: the history names the role, said in words.
_NOT_A_LOGIN = ("citizen", "system", "records")


def actor_label(actor: str, role: str, lang: str) -> str | None:
    """The history's "who" in the page's language when it is not a staff user's login
    ("citizen", "system": ``core.voice.views`` names the role then); None for a login,
    shown as written (left to right)."""
    return role_label(role, lang) if actor == role and role in _NOT_A_LOGIN else None


def target_text(target: str, lang: str) -> str:
    """"10d" as "10 working days", "4h" as "4 working hours"."""
    ngettext = ngettext_for(lang)
    amount, unit = int(target[:-1]), target[-1:]
    if unit == "h":
        return ngettext("%(num)d working hour", "%(num)d working hours", amount) % {
            "num": amount}
    return ngettext("%(num)d working day", "%(num)d working days", amount) % {
        "num": amount}


def share_text(worked: Fraction, unit: str, lang: str) -> str:
    """Working time used, in the target's unit, to one decimal."""
    _ = gettext_for(lang)
    value = f"{float(worked):.1f}"
    if unit == "h":
        return _("%(n)s working hours") % {"n": value}
    return _("%(n)s working days") % {"n": value}


def scope_text(scope: str, lang: str) -> str:
    """Which rung of the policy order a case's policy stands on
    (``core.voice.deadlines.scope_of``)."""
    _ = gettext_for(lang)
    return {"emirate default": _("the emirate's default"),
            "agency default": _("the agency's default"),
            "agency type": _("the agency's default for this type"),
            "agency category": _("the category's targets"),
            "agency category and type": _("the category's targets for this type"),
            "emirate type": _("the emirate's default for this type"),
            "emirate category": _("the emirate's targets for the category"),
            "emirate category and type": _("the emirate's targets for the category and "
                                           "type")}.get(scope, scope)


def calendar_reason(reason: str, lang: str) -> str:
    """Why a calendar version was written (``core.calendar.versions``' reasons, in
    English) in the page's language; the dates and names it carries stay as they are."""
    _ = gettext_for(lang)
    whole = {"first version": _("first version"), "configuration": _("configuration")}
    if reason in whole:
        return whole[reason]
    prefixes = {"holiday added": _("holiday added"), "holiday removed": _("holiday removed"),
                "override added": _("hours added"), "override removed": _("hours removed")}
    for prefix, text in prefixes.items():
        if reason.startswith(prefix + " "):
            return f"{text} {reason[len(prefix) + 1:]}"
    return reason
