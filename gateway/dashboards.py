"""``/dashboards/``: the leaders' and managers' pictures, Arabic first, no script.

The transactions' page shows each department's performance for a period (Gregorian days,
or a Hijri month chosen from a list), as charts drawn here (``gateway.charts``) with the
table behind each; every figure links to the list of transactions behind it, and every
table and list downloads as CSV or XLSX (``gateway.exports``). Leadership sees every
department; a department's staff only theirs; anyone else the 403 page. The figures are
read live from the tables at the moment shown as "as of".
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from core.access.actors import AGENCY_LEADER, LEADERSHIP
from core.calendar.dates import local_date
from core.dashboards import hijri_months
from core.dashboards.transactions import LISTS, Period, TransactionFigures, may_see
from core.identity.digits import normalize_digits
from core.platform.clock import utcnow
from core.platform.errors import Forbidden, InvalidRequest
from core.platform.i18n import gettext_for
from gateway import charts, exports
from gateway import voice_format as fmt
from gateway.accounts import forbidden_page, user_required
from gateway.portal import page_language

dashboards = Blueprint("dashboards", __name__, url_prefix="/dashboards")

MONTHS_LISTED = 12
DEFAULT_DAYS = 30
NO_DEPARTMENT = "-"


def _core():
    return current_app.extensions["core"]


# --- periods -------------------------------------------------------------------------------


def chosen_period(errors: dict[str, str]) -> tuple[Period, dict[str, str]]:
    """The period from the query: a Hijri month (``month=1448-06``), else ``from``/``to``
    (Gregorian, Arabic-Indic digits accepted), else the last 30 days. A bad field is
    told in ``errors`` and the default period shown."""
    _ = gettext_for(page_language())
    today = local_date(utcnow(), _core().config.tz)
    values = {name: normalize_digits(request.args.get(name, "").strip()[:16])
              for name in ("month", "from", "to")}
    default = Period(today - timedelta(days=DEFAULT_DAYS - 1), today)
    if values["month"]:
        try:
            month = hijri_months.parse_month(values["month"])
        except InvalidRequest:
            errors["month"] = _("Choose a Hijri month from the list.")
            return default, values
        return Period(month.first, month.last), values
    days: dict[str, date | None] = {}
    for field in ("from", "to"):
        try:
            days[field] = date.fromisoformat(values[field]) if values[field] else None
        except ValueError:
            errors[field] = _("Enter a date such as 2026-11-22.")
            days[field] = None
    if errors:
        return default, values
    end = days["to"] or today
    start = days["from"] or end - timedelta(days=DEFAULT_DAYS - 1)
    try:
        return Period(start, end), values
    except InvalidRequest as exc:
        errors[exc.field or "to"] = (_("The period ends before it begins.")
                                     if exc.field == "to" else _("Choose a shorter period."))
        return default, values


def month_choices(lang: str) -> list[tuple[str, str]]:
    today = local_date(utcnow(), _core().config.tz)
    return [(month.key, charts.digits(month.name(lang), lang))
            for month in hijri_months.last_months(today, MONTHS_LISTED)]


def period_args(values: dict[str, str]) -> dict[str, str]:
    """What a link keeps of the period as chosen."""
    return {key: value for key, value in values.items() if value}


# --- the transactions' page ---------------------------------------------------------------


@dashboards.get("/")
@user_required()
def home():
    """Each role to its dashboard: leadership and agency leaders to Citizen's Voice's,
    a department's staff to their transactions'."""
    lang = page_language()
    if g.actor.role in (LEADERSHIP, AGENCY_LEADER):
        return redirect(url_for("voice_dashboards.page", lang=lang), code=303)
    if not may_see(g.actor):
        return forbidden_page()
    return redirect(url_for("dashboards.transactions", lang=lang), code=303)


@dashboards.get("/transactions")
@user_required()
def transactions():
    lang = page_language()
    _ = gettext_for(lang)
    if not may_see(g.actor):
        return forbidden_page()
    errors: dict[str, str] = {}
    period, values = chosen_period(errors)
    department = request.args.get("department", "").strip()[:64] or None
    try:
        found = _core().transaction_dashboard.figures(g.actor, period, department=department)
    except InvalidRequest:
        errors["department"] = _("Choose a department from the list.")
        department = None
        found = _core().transaction_dashboard.figures(g.actor, period)
    except Forbidden:
        return forbidden_page()
    if department:
        values["department"] = department
    tables = _transaction_tables(found, lang, values)
    wanted = request.args.get("format")
    if wanted in ("csv", "xlsx") and not errors:
        return _download(tables, wanted, request.args.get("table"))
    every = _core().transaction_dashboard.figures(g.actor, period) if department else found
    return _page("dashboard_transactions.html", status=422 if errors else 200,
                 found=found, values=values, errors=errors, tables=tables,
                 drawings=_transaction_charts(found, lang, values),
                 departments=[(row.code, _department_name(row.code, row.name, lang))
                              for row in every.departments],
                 months=month_choices(lang), period=period,
                 period_text=_period_text(period, lang),
                 as_of=fmt.moment(found.as_of, lang, _core().config.tz),
                 list_url=lambda **kw: _list_url(values, **kw),
                 number=lambda value: _figure_text(value, lang))


@dashboards.get("/transactions/list")
@user_required()
def transaction_list():
    """The transactions behind one figure, newest first (at most 500)."""
    lang = page_language()
    _ = gettext_for(lang)
    if not may_see(g.actor):
        return forbidden_page()
    errors: dict[str, str] = {}
    period, values = chosen_period(errors)
    which = request.args.get("which", "")
    department = request.args.get("department", "").strip()[:64] or None
    agency = request.args.get("agency", "").strip()[:64] or None
    if which not in LISTS:
        return _message(404, _("There is no such list."))
    try:
        rows = _core().transaction_dashboard.transaction_list(
            g.actor, which, period, department=department, agency=agency)
    except InvalidRequest:
        return _message(404, _("There is no such list."))
    titles = _list_titles(lang)
    table = exports.Table(
        name=f"transactions-{which}", title=titles[which],
        headings=(_("Transaction number"), _("Subject"), _("Status"), _("Department"),
                  _("Registered"), _("Issued in the period"), _("Outgoing number"), _("Agency")),
        rows=tuple((row.number, row.subject, row.status, row.department_code,
                    _day(row.registered_at, lang), _day(row.issued_at, lang),
                    row.outgoing_number, row.agency.in_(lang) if row.agency else "")
                   for row in rows))
    wanted = request.args.get("format")
    if wanted in ("csv", "xlsx") and not errors:
        return _download([table], wanted, None)
    values.update({key: value for key, value in (("which", which),
                                                   ("department", department or ""),
                                                   ("agency", agency or "")) if value})
    return _page("dashboard_list.html", status=422 if errors else 200, table=table,
                 values=values, errors=errors, period_text=_period_text(period, lang),
                 limit_reached=len(rows) >= 500,
                 back=_back_url(values, lang))


def _transaction_tables(found: TransactionFigures, lang: str,
                        values: dict[str, str]) -> list[exports.Table]:
    _ = gettext_for(lang)
    departments = exports.Table(
        name="departments", title=_("Transactions by department"),
        headings=(_("Department"), _("Received in the period"), _("Issued in the period"),
                  _("Awaiting a reply"), _("Overdue"), _("Average days to issue"),
                  _("90th percentile, days")),
        rows=tuple((_department_name(row.code, row.name, lang), row.received, row.issued,
                    row.awaiting_reply, row.overdue, row.average_days, row.p90_days)
                   for row in found.departments))
    agencies = exports.Table(
        name="overdue-by-agency", title=_("Outgoing transactions overdue, by agency"),
        headings=(_("Agency"), _("Overdue")),
        rows=tuple((row.name.in_(lang) if row.name else _("No agency"), row.overdue)
                   for row in found.overdue_by_agency))
    channel_names = _channel_names(lang)
    channels = exports.Table(
        name="inquiries-by-channel", title=_("Inquiries by channel"),
        headings=(_("Channel"), _("Inquiries")),
        rows=tuple((channel_names.get(code, code), count)
                   for code, count in found.inquiries_by_channel.items()))
    hours = exports.Table(
        name="inquiries-by-hour", title=_("Inquiries by hour of the day"),
        headings=(_("Hour"), _("Inquiries")),
        rows=tuple((f"{hour:02d}:00", count)
                   for hour, count in enumerate(found.inquiries_by_hour)))
    return [departments, agencies, channels, hours]


def _transaction_charts(found: TransactionFigures, lang: str,
                        values: dict[str, str]) -> list[Any]:
    _ = gettext_for(lang)
    none = _("No data for this period.")
    summary = _("The numbers as a table")
    names = [_department_name(row.code, row.name, lang) for row in found.departments]
    flow = charts.Chart(
        key="chart-flow", title=_("Received and issued, by department"),
        description=_("For each department, the transactions registered and those issued "
                      "in the period."),
        labels=tuple(names), label_heading=_("Department"),
        series=(charts.series_of(_("Received in the period"),
                                 [r.received for r in found.departments]),
                charts.series_of(_("Issued in the period"),
                                 [r.issued for r in found.departments])),
        links=tuple(_list_url(values, which="received", department=r.code)
                    for r in found.departments))
    waiting = charts.Chart(
        key="chart-waiting", title=_("Awaiting a reply and overdue, by department"),
        description=_("For each department, outgoing transactions awaiting an agency's "
                      "reply now, and those of them overdue."),
        labels=tuple(names), label_heading=_("Department"),
        series=(charts.series_of(_("Awaiting a reply"),
                                 [r.awaiting_reply for r in found.departments]),
                charts.series_of(_("Overdue"), [r.overdue for r in found.departments])),
        links=tuple(_list_url(values, which="awaiting", department=r.code)
                    for r in found.departments))
    timed = [r for r in found.departments if r.average_days is not None]
    speed = charts.Chart(
        key="chart-speed", title=_("Days from registration to issuance"),
        description=_("Average and 90th percentile of the days from registration to "
                      "issuance, of the transactions issued in the period."),
        labels=tuple(_department_name(r.code, r.name, lang) for r in timed),
        label_heading=_("Department"),
        series=(charts.series_of(_("Average days to issue"),
                                 [r.average_days or 0 for r in timed]),
                charts.series_of(_("90th percentile, days"), [r.p90_days or 0 for r in timed])),
        links=tuple(_list_url(values, which="issued", department=r.code) for r in timed))
    agencies = charts.Chart(
        key="chart-agencies", title=_("Outgoing transactions overdue, by agency"),
        description=_("Agencies ranked by the outgoing transactions overdue awaiting "
                      "their reply, most first."),
        labels=tuple(r.name.in_(lang) if r.name else _("No agency")
                     for r in found.overdue_by_agency),
        label_heading=_("Agency"),
        series=(charts.series_of(_("Overdue"), [r.overdue for r in found.overdue_by_agency]),),
        links=tuple(_list_url(values, which="overdue", agency=r.code)
                    for r in found.overdue_by_agency))
    channel_names = _channel_names(lang)
    channels = charts.Chart(
        key="chart-channels", title=_("Inquiries by channel"),
        description=_("Inquiries about transactions in the period, on each channel."),
        labels=tuple(channel_names.get(c, c) for c in found.inquiries_by_channel),
        label_heading=_("Channel"),
        series=(charts.series_of(_("Inquiries"), list(found.inquiries_by_channel.values())),))
    hours = charts.Chart(
        key="chart-hours", title=_("Inquiries by hour of the day"),
        description=_("Inquiries in the period by the local hour they came in."),
        labels=tuple(charts.digits(f"{h:02d}", lang) for h in range(24)),
        label_heading=_("Hour"),
        series=(charts.series_of(_("Inquiries"), found.inquiries_by_hour),))
    has_hours = any(found.inquiries_by_hour)
    return [
        charts.figure(flow, charts.bar_chart(flow, lang, empty=none), lang, summary),
        charts.figure(waiting, charts.bar_chart(waiting, lang, empty=none), lang, summary),
        charts.figure(speed, charts.bar_chart(speed, lang, empty=none), lang, summary),
        charts.figure(agencies, charts.hbar_chart(agencies, lang, empty=none), lang, summary),
        charts.figure(channels, charts.bar_chart(channels, lang, empty=none), lang, summary),
        charts.figure(hours, charts.line_chart(hours if has_hours else _no_labels(hours),
                                               lang, empty=none), lang, summary),
    ]


def _no_labels(chart: charts.Chart) -> charts.Chart:
    return charts.Chart(key=chart.key, title=chart.title, description=chart.description,
                        labels=(), series=())


# --- words and numbers ---------------------------------------------------------------------


def _department_name(code: str, name: Any, lang: str) -> str:
    if name is not None:
        return str(name.in_(lang))
    return gettext_for(lang)("No department") if code == NO_DEPARTMENT else code


def _channel_names(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {"sms": _("Text message"), "ivr": _("Phone (IVR)"), "kiosk": _("Kiosk"),
            "portal": _("Web portal"), "email": _("E-mail"), "api": _("Agency system")}


def _list_titles(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {"received": _("Transactions received"), "issued": _("Transactions issued"),
            "awaiting": _("Transactions awaiting an agency's reply"),
            "overdue": _("Transactions overdue")}


def _figure_text(value: float | None, lang: str) -> str:
    return "—" if value is None else charts.number_text(value, lang)


def _day(at: Any, lang: str) -> str:
    if at is None:
        return ""
    return fmt.day_text(local_date(at, _core().config.tz), lang)


def _period_text(period: Period, lang: str) -> str:
    return f"{fmt.day_text(period.start, lang)} – {fmt.day_text(period.end, lang)}"


def _back_url(values: dict[str, str], lang: str) -> str:
    args: dict[str, Any] = period_args(
        {k: v for k, v in values.items() if k in ("month", "from", "to")})
    return url_for("dashboards.transactions", lang=lang, **args)


def _list_url(values: dict[str, str], **kwargs: str) -> str:
    args: dict[str, Any] = {k: v for k, v in values.items() if k in ("month", "from", "to")}
    args.update(kwargs, lang=page_language())
    return url_for("dashboards.transaction_list", **args)


# --- responses -----------------------------------------------------------------------------


def _download(tables: list[exports.Table], wanted: str, name: str | None) -> Response:
    lang = page_language()
    if wanted == "csv":
        chosen = next((t for t in tables if t.name == name), tables[0])
        body, mimetype, file_name = (exports.to_csv(chosen), exports.CSV_TYPE,
                                     exports.file_name(chosen.name, "csv"))
    else:
        body, mimetype, file_name = (exports.to_xlsx(tables, lang), exports.XLSX_TYPE,
                                     exports.file_name(tables[0].name, "xlsx"))
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
    return response


def _message(status: int, title: str) -> Response:
    return _page("dashboard_message.html", status=status, title=title)


def _page(template: str, *, status: int = 200, **context: Any) -> Response:
    lang = page_language()
    render: Callable[..., str] = render_template
    response = current_app.make_response(render(
        template, actor=g.actor, role_label=lambda role: fmt.role_label(role, lang),
        home_url=url_for("voice.home", lang=lang), **context))
    response.status_code = status
    return response
