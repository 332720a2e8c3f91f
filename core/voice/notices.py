"""What a change to a case tells the citizen and the staff, and its queueing in the outbox.

The texts are pure functions of the facts and the language: short, so that the common
ones fit one or two UCS-2 segments (70/67 characters) once the tracking number is in.
``to_citizen`` and ``to_staff`` queue them in the caller's transaction, one message per
(event, kind): ``cause_key`` "voice:<event id>:<kind>" cannot be queued twice.

A citizen who filed by e-mail is told by e-mail, each notice a reply in the thread of
their first mail (``VoiceCase.email_thread``); any other citizen by SMS when they gave a
mobile, else by e-mail. Staff by SMS to the mobile on their account, when there is one
(staff texts are in Arabic).
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from core.access.models import StaffUser
from core.calendar.dates import format_date, local_date
from core.messaging import mail, outbox, subjects
from core.messaging.subjects import N_
from core.platform.i18n import gettext_for
from core.voice.models import VoiceCase

STAFF_LANGUAGE = "ar"
EMAIL = "email"
# The e-mail subject of each kind queued here (outbox kind "voice_<kind>").
subjects.register({
    "voice_received": N_("Citizen's Voice: your request was received"),
    "voice_info_requested": N_("Citizen's Voice: more information needed"),
    "voice_answered": N_("Citizen's Voice: the answer to your request"),
    "voice_accepted": N_("Citizen's Voice: your suggestion was accepted"),
    "voice_planned": N_("Citizen's Voice: your suggestion is planned"),
    "voice_implemented": N_("Citizen's Voice: your suggestion was implemented"),
    "voice_rejected": N_("Citizen's Voice: the decision on your suggestion"),
    "voice_closed": N_("Citizen's Voice: your request was closed"),
    "voice_merged": N_("Citizen's Voice: your request joins another"),
    "voice_assigned": N_("Citizen's Voice: a case assigned to you"),
    "voice_sent_back": N_("Citizen's Voice: your draft answer was sent back"),
    # The e-mail channel's own replies about a case (channels.email.voice).
    "voice_reply": N_("Citizen's Voice: about your message"),
})


def received(case_type: str, tracking: str, short_code: str, lang: str, *,
             channel: str = "sms") -> str:
    """The acknowledgement, with the number to follow the case by (by e-mail: a reply in
    the thread follows it, the SMS short code knows only a case with a mobile)."""
    _ = gettext_for(lang)
    first = {"complaint": _("Your complaint was received."),
             "suggestion": _("Your suggestion was received."),
             "enquiry": _("Your enquiry was received.")}[case_type]
    if channel == EMAIL:
        return first + " " + _("Tracking number {tracking}. Reply to this message to ask "
                               "where it stands; we will write to you here.").format(
            tracking=tracking)
    return first + " " + _("Tracking number {tracking}; send it to {short_code} to "
                           "follow it.").format(tracking=tracking, short_code=short_code)


def info_requested(tracking: str, question: str, lang: str, *,
                   channel: str = "sms") -> str:
    """The staff's question, saying how to answer it: a reply to the SMS (it comes from
    the short code, which files the reply) or the portal's page for following a case;
    by e-mail, a reply in the thread."""
    _ = gettext_for(lang)
    if channel == EMAIL:
        return _("About your request {tracking}: {question} Please reply to this message "
                 "with the information asked for.").format(tracking=tracking,
                                                           question=question)
    return _("About your request {tracking}: {question} Reply to this SMS with the "
             "information, or on the portal's \"Follow a case\" page.").format(
        tracking=tracking, question=question)


def answered(tracking: str, text: str, last_reopen_day: date, lang: str) -> str:
    """The answer, with the last day on which the citizen may reopen the case: after it
    the case closes without another message (``core.voice.closing``)."""
    _ = gettext_for(lang)
    return _("Answer to your request {tracking}: {text} Rate it by sending 1 to 5, or "
             "send 0 by {date} to reopen it.").format(
        tracking=tracking, text=text, date=format_date(last_reopen_day, lang))


def decided(decision: str, tracking: str, text: str, lang: str) -> str:
    """A suggestion's decision: accepted, planned, implemented or rejected."""
    _ = gettext_for(lang)
    heading = {"accepted": _("Your suggestion {tracking} was accepted."),
               "planned": _("Your suggestion {tracking} is planned."),
               "implemented": _("Your suggestion {tracking} was implemented."),
               "rejected": _("Your suggestion {tracking} was not accepted."),
               }[decision].format(tracking=tracking)
    return f"{heading} {text}".strip()


def closed(tracking: str, reason: str, lang: str) -> str:
    _ = gettext_for(lang)
    return _("Your request {tracking} was closed: {reason}").format(
        tracking=tracking, reason=reason)


def merged(tracking: str, lang: str) -> str:
    _ = gettext_for(lang)
    return _("Your request {tracking} is handled together with another report of the "
             "same matter; you will be told of the outcome.").format(tracking=tracking)


def assigned_to_you(tracking: str, answer_due: datetime | None, tz: ZoneInfo) -> str:
    _ = gettext_for(STAFF_LANGUAGE)
    text = _("Case {tracking} is assigned to you.").format(tracking=tracking)
    if answer_due is not None:
        text += " " + _("Answer due {date}.").format(
            date=format_date(local_date(answer_due, tz), STAFF_LANGUAGE))
    return text


def sent_back_to_you(tracking: str, reason: str) -> str:
    _ = gettext_for(STAFF_LANGUAGE)
    return _("Your draft answer to case {tracking} was sent back: {reason}").format(
        tracking=tracking, reason=reason)


def to_citizen(session: Session, case: VoiceCase, event_id: int, kind: str,
               body: str) -> bool:
    """Queue ``body`` to the case's citizen (filed by e-mail: by e-mail in their thread;
    else SMS to the mobile, else e-mail); whether there was anywhere to send it."""
    channel = citizen_channel(case)
    recipient = case.citizen_email if channel == EMAIL else case.citizen_mobile
    if channel is None or recipient is None:
        return False
    row = outbox.enqueue(session, cause_key=f"voice:{event_id}:{kind}",
                         kind=f"voice_{kind}", audience="citizen", recipient=recipient,
                         language=case.language, body=body, channel=channel)
    if channel == EMAIL and case.email_thread:
        mail.thread(session, row, case.email_thread)
    return True


def citizen_channel(case: VoiceCase) -> str | None:
    """How ``to_citizen`` reaches the case's citizen: "email" (filed by e-mail, or no
    mobile), "sms", or None (nowhere): a notice's words may depend on it."""
    if case.channel == EMAIL and case.citizen_email:
        return EMAIL
    if case.citizen_mobile:
        return "sms"
    return EMAIL if case.citizen_email else None


def case_event_of(cause_key: str) -> int | None:
    """The case event a citizen's notice was queued for ("voice:<event id>:<kind>"), or
    None for any other outbox row."""
    prefix, _, rest = cause_key.partition(":")
    event, _, kind = rest.partition(":")
    return int(event) if prefix == "voice" and event.isdigit() and kind else None


def to_staff(session: Session, user: StaffUser, event_id: int, kind: str, body: str) -> bool:
    """Queue ``body`` to a member of staff's mobile; whether they have one."""
    if not user.mobile:
        return False
    outbox.enqueue(session, cause_key=f"voice:{event_id}:{kind}", kind=f"voice_{kind}",
                   audience="staff", recipient=user.mobile, language=STAFF_LANGUAGE,
                   body=body)
    return True
