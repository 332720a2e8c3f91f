"""The leaders' weekly digest (optional, off by default: ``voice.digest``).

On ``voice.digest.weekday`` at or after ``voice.digest.at`` local time, every active
leadership user (all agencies) and agency leader (their agency) is sent the Citizen's
Voice figures of the last seven days (to yesterday) beside the seven before: an e-mail
(to ``StaffUser.email``, when set) with a table, bars and, for leadership, the agencies
side by side, the latest first; and a one-line SMS (to ``StaffUser.mobile``, when set).
Each in the user's language (``StaffUser.language``, else ``locale.default_language``).

The figures are ``core.dashboards.voice.figures``, those of the dashboards (read from
the summary, its ``as_of`` said in the mail; open and overdue are as of the sending).

E-mail clients render no SVG and strip styles sheets: the mail is HTML tables with inline
styles, a bar a table cell of proportional width. Its plain-text body is the SMS line and
the link, for clients that show no HTML.

Exactly once. The cause keys "voice-digest:<last day>:<user id>:email|sms" are unique
in the outbox, and a user's two messages are queued in one database transaction: two
schedulers at once queue each message once (``enqueue_new``: the second's rows conflict
and are skipped). The lease ``LEASE`` keeps the second from computing the figures for
nothing; a run first looks the week's causes up, so the job, run every minute of the day,
costs one indexed read once the week's digests are queued.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access.actors import AGENCY_LEADER, LEADERSHIP
from core.access.models import StaffUser
from core.calendar.dates import format_date, local_date
from core.dashboards import voice as figures_
from core.dashboards.voice import (
    AgencyFigures,
    Backlog,
    Figures,
    Filters,
    Period,
    Scope,
    VoiceFigures,
)
from core.directory.models import Agency
from core.messaging import mail, outbox, subjects
from core.messaging.models import Notification
from core.messaging.subjects import N_
from core.platform import leases
from core.platform.db import Database
from core.platform.i18n import gettext_for, pick_language
from core.platform.settings import WEEKDAYS, CoreSettings

KIND = "voice_digest"
LEASE = "voice-digest"
DASHBOARD_PATH = "/dashboards/voice"
subjects.register({KIND: N_("Citizen's Voice: the week's figures")})
_BAR_WIDTH = 160  # pixels of a full bar


@dataclass(frozen=True)
class Leader:
    """A user the digest goes to, and where."""

    user_id: int
    role: str
    agency_id: int | None
    email: str | None
    mobile: str | None
    language: str


def week_due(now: datetime, config: CoreSettings) -> Period | None:
    """The week to send at ``now``: the seven days to yesterday, on the digest's weekday
    once its time has come; None otherwise."""
    settings = config.voice.digest
    local = now.astimezone(config.tz)
    if WEEKDAYS[local.weekday()] != settings.weekday or local.time() < settings.at:
        return None
    today = local_date(now, config.tz)
    return Period(today - timedelta(days=7), today - timedelta(days=1))


def cause_key(period: Period, user_id: int, channel: str) -> str:
    return f"voice-digest:{period.end.isoformat()}:{user_id}:{channel}"


def leaders(session: Session, default_language: str) -> list[Leader]:
    """The active leadership users and agency leaders with an address or a mobile."""
    users = session.scalars(select(StaffUser).where(
        StaffUser.disabled_at.is_(None),
        StaffUser.role.in_([LEADERSHIP, AGENCY_LEADER])).order_by(StaffUser.id))
    return [Leader(user.id, user.role, user.agency_id, user.email or None,
                   user.mobile or None, pick_language(user.language, default_language))
            for user in users
            if (user.email or user.mobile)
            and (user.role == LEADERSHIP or user.agency_id is not None)]


def send(db: Database, config: CoreSettings, *, link: str, holder: str, ttl: timedelta,
         now: datetime) -> int:
    """Queue the week's digests not yet queued, when due; how many users were sent one."""
    if not config.voice.digest.enabled:
        return 0
    period = week_due(now, config)
    if period is None:
        return 0
    with db.read() as session:
        users = leaders(session, config.locale.default_language)
        keys = {cause_key(period, user.user_id, channel): user for user in users
                for channel in ("email", "sms")}
        sent = set(session.scalars(select(Notification.cause_key)
                                   .where(Notification.cause_key.in_(list(keys)))))
    waiting = [user for user in users
               if not any(key in sent for key, owner in keys.items() if owner is user)]
    if not waiting or not leases.acquire(db, LEASE, holder, ttl, now=now):
        return 0
    try:
        read = _Figures(db, config, period, now)
        queued = 0
        for user in waiting:
            with db.write.begin() as session:
                queued += queue_digest(session, user, read(user), period, link)
        return queued
    finally:
        leases.release(db, LEASE, holder)


class _Figures:
    """The figure sets of the week, one per agency read (and the emirate's), kept."""

    def __init__(self, db: Database, config: CoreSettings, period: Period,
                 now: datetime) -> None:
        self._db, self._config, self._period, self._now = db, config, period, now
        self._kept: dict[int | None, VoiceFigures] = {}

    def __call__(self, user: Leader) -> VoiceFigures:
        agency_id = None if user.role == LEADERSHIP else user.agency_id
        if agency_id not in self._kept:
            with self._db.read() as session:
                code = None if agency_id is None else session.scalar(
                    select(Agency.code).where(Agency.id == agency_id))
                self._kept[agency_id] = figures_.figures(
                    session, self._config.tz, self._period, Filters(code),
                    Scope(agency_id=agency_id))
        return self._kept[agency_id]


def queue_digest(session: Session, user: Leader, figures: VoiceFigures, period: Period,
           link: str) -> int:
    """The user's e-mail and SMS, in ``session``'s transaction; 1 when queued now, 0
    when another scheduler queued them first."""
    line = sms_line(figures, user.language)
    url = link.rstrip("/") + DASHBOARD_PATH
    rows = []
    if user.email:
        rows.append({"cause_key": cause_key(period, user.user_id, "email"), "kind": KIND,
                     "audience": "staff", "recipient": user.email, "channel": "email",
                     "language": user.language, "body": f"{line}\n\n{url}"})
    if user.mobile:
        rows.append({"cause_key": cause_key(period, user.user_id, "sms"), "kind": KIND,
                     "audience": "staff", "recipient": user.mobile, "channel": "sms",
                     "language": user.language, "body": line})
    if not outbox.enqueue_new(session, rows):
        return 0
    if user.email:
        ident = session.scalar(select(Notification.id).where(
            Notification.cause_key == cause_key(period, user.user_id, "email")))
        assert ident is not None  # queued just now, in this transaction
        mail.attach_html(session, ident, email_html(
            figures, user.language, url, agencies=user.role == LEADERSHIP))
    return 1


# --- the texts: pure functions of the figures and the language -----------------------


def sms_line(figures: VoiceFigures, lang: str) -> str:
    """"Citizen's Voice, week to <date>: 120 received, 98 answered, 87% on time, 6
    overdue." """
    _ = gettext_for(lang)
    return _("Citizen's Voice, week to {date}: {received} received, {answered} answered, "
             "{on_time} on time, {overdue} overdue.").format(
        date=format_date(figures.period.end, lang), received=figures.current.received,
        answered=figures.current.answered, on_time=_percent(figures.current.on_time_pct),
        overdue=figures.backlog.overdue)


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:g}%"


def _number(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _cell(text: str, align: str, *, bold: bool = False) -> str:
    weight = "font-weight:bold;" if bold else ""
    return (f'<td style="padding:4px 8px;border-bottom:1px solid #ddd;text-align:{align};'
            f'{weight}">{html.escape(text)}</td>')


def _bar(value: float | None, largest: float, colour: str) -> str:
    """A bar as a table of one cell ``value / largest`` of the full width: e-mail
    clients draw tables, not SVG."""
    width = 0 if not value or largest <= 0 else max(1, round(_BAR_WIDTH * value / largest))
    if not width:
        return '<td style="padding:4px 8px;border-bottom:1px solid #ddd"></td>'
    return ('<td style="padding:4px 8px;border-bottom:1px solid #ddd">'
            f'<table role="presentation" cellpadding="0" cellspacing="0"><tr>'
            f'<td width="{width}" height="10" style="background:{colour};width:{width}px;'
            f'height:10px;font-size:0;line-height:0">&nbsp;</td></tr></table></td>')


def _rows(current: Figures, previous: Figures, backlog: Backlog,
          _: Callable[[str], str]) -> list[tuple[str, str, str, float | None, float]]:
    """(label, this week, week before, bar value, bar scale) of the summary table."""
    hours = _("{hours} h")

    def timed(value: float | None) -> str:
        return "—" if value is None else hours.format(hours=f"{value:g}")

    most = float(max(current.received, previous.received, current.answered,
                     previous.answered, 1))
    return [
        (_("Received"), str(current.received), str(previous.received),
         current.received, most),
        (_("Answered"), str(current.answered), str(previous.answered),
         current.answered, most),
        (_("Answered on time"), _percent(current.on_time_pct),
         _percent(previous.on_time_pct), current.on_time_pct, 100.0),
        (_("Median answer time (working hours)"), timed(current.median_answer_hours),
         timed(previous.median_answer_hours), None, 1.0),
        (_("Satisfaction (of 5)"), _number(current.satisfaction_mean),
         _number(previous.satisfaction_mean), current.satisfaction_mean, 5.0),
        (_("Open now"), str(backlog.open), "—", None, 1.0),
        (_("Overdue now"), str(backlog.overdue), "—", None, 1.0),
    ]


def latest_first(agencies: Sequence[AgencyFigures]) -> list[AgencyFigures]:
    """The agencies with the most overdue cases first, then the lowest on-time %."""
    return sorted(agencies, key=lambda a: (
        -a.backlog.overdue,
        a.current.on_time_pct if a.current.on_time_pct is not None else 101.0, a.agency))


def email_html(figures: VoiceFigures, lang: str, url: str, *, agencies: bool) -> str:
    """The digest as an HTML page an e-mail client shows: right to left in Arabic, every
    value escaped, inline styles only."""
    _ = gettext_for(lang)
    rtl = lang == "ar"
    start, end = ("right", "left") if rtl else ("left", "right")
    title = _("Citizen's Voice: the week's figures")
    period = _("{start} to {end}, beside the 7 days before").format(
        start=format_date(figures.period.start, lang), end=format_date(figures.period.end, lang))
    head = "".join(f'<th style="padding:4px 8px;text-align:{start}">{html.escape(text)}</th>'
                   for text in (_("Figure"), _("This week"), _("Week before"), ""))
    body = "".join(
        "<tr>" + _cell(label, start) + _cell(now, end, bold=True) + _cell(before, end)
        + _bar(value, scale, "#1f6f50") + "</tr>"
        for label, now, before, value, scale in _rows(
            figures.current, figures.previous, figures.backlog, _))
    parts = [f"<h1 style=\"font-size:20px\">{html.escape(title)}</h1>",
             f"<p>{html.escape(period)}</p>",
             f'<table role="presentation" cellpadding="0" cellspacing="0" '
             f'style="border-collapse:collapse"><tr>{head}</tr>{body}</table>']
    if agencies and figures.by_agency:
        parts.append(_agency_table(figures.by_agency, lang, start, end, _))
    as_of = figures.as_of.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") \
        if figures.as_of else _("never")
    parts.append("<p>" + html.escape(_("Figures as of {moment}; open and overdue as of "
                                       "sending.").format(moment=as_of)) + "</p>")
    parts.append(f'<p><a href="{html.escape(url, quote=True)}">'
                 f"{html.escape(_('Open the dashboard'))}</a></p>")
    direction = "rtl" if rtl else "ltr"
    return (f'<!DOCTYPE html><html lang="{lang}" dir="{direction}"><head>'
            f'<meta charset="utf-8"><title>{html.escape(title)}</title></head>'
            f'<body dir="{direction}" style="font-family:Tahoma,Arial,sans-serif;'
            f'text-align:{start}">' + "".join(parts) + "</body></html>")


def _agency_table(agencies: Sequence[AgencyFigures], lang: str, start: str, end: str,
                  _: Callable[[str], str]) -> str:
    head = "".join(f'<th style="padding:4px 8px;text-align:{start}">{html.escape(text)}</th>'
                   for text in (_("Agency"), _("Received"), _("Answered"),
                                _("On time"), _("Week before"), "", _("Overdue now"),
                                _("Open now")))
    rows = "".join(
        "<tr>" + _cell(a.name_ar if lang == "ar" else a.name_en, start)
        + _cell(str(a.current.received), end) + _cell(str(a.current.answered), end)
        + _cell(_percent(a.current.on_time_pct), end, bold=True)
        + _cell(_percent(a.previous.on_time_pct), end)
        + _bar(a.current.on_time_pct, 100.0, "#1f6f50")
        + _cell(str(a.backlog.overdue), end, bold=a.backlog.overdue > 0)
        + _cell(str(a.backlog.open), end) + "</tr>"
        for a in latest_first(agencies))
    return (f'<h2 style="font-size:16px">{html.escape(_("Agencies, the latest first"))}</h2>'
            f'<table role="presentation" cellpadding="0" cellspacing="0" '
            f'style="border-collapse:collapse"><tr>{head}</tr>{rows}</table>')
