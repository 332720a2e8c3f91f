"""``/dashboards/voice``: Citizen's Voice's figures as pictures, for the emirate's
leadership (every agency side by side with the previous period, the league table, the
trend, volumes by channel and category) and for an agency leader (their agency by
category and by specialist, and the late cases with what each awaits). The figures come
from ``Core.dashboards`` (the summary the scheduler keeps: its age is shown); the lists
behind them are live. A specialist or coordinator has no dashboard: the 403 page.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, request, url_for

from core.access.actors import AGENCY_LEADER, LEADERSHIP
from core.dashboards.voice import AGEING, FIGURES, Filters, Period
from core.platform.errors import Forbidden, InvalidRequest, NotFound
from core.platform.i18n import gettext_for
from gateway import charts, exports
from gateway import voice_format as fmt
from gateway.accounts import forbidden_page, user_required
from gateway.dashboards import _download, _message, _page, chosen_period, month_choices
from gateway.portal import page_language

voice_dashboards = Blueprint("voice_dashboards", __name__, url_prefix="/dashboards/voice")

KEEP = ("month", "from", "to", "agency", "category", "channel", "step")
MAX_CURSOR = 64


def _core():
    return current_app.extensions["core"]


def _choices(errors: dict[str, str]) -> tuple[Period, Filters, dict[str, str], str]:
    mine, values = chosen_period(errors)
    period = Period(mine.start, mine.end)
    for name in ("agency", "category", "channel"):
        values[name] = request.args.get(name, "").strip()[:64]
    step = request.args.get("step", "week")
    values["step"] = step if step in ("week", "hijri_month", "month") else "week"
    # An agency leader's own agency whatever is asked for; another's is not found, as
    # an agency that does not exist (Core.dashboards decides).
    filters = Filters(values["agency"] or None, values["category"] or None,
                      values["channel"] or None)
    return period, filters, values, values["step"]


def _keep(values: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in values.items() if key in KEEP and value}


@voice_dashboards.get("")
@user_required(LEADERSHIP, AGENCY_LEADER)
def page():
    lang = page_language()
    _ = gettext_for(lang)
    errors: dict[str, str] = {}
    period, filters, values, step = _choices(errors)
    board = _core().dashboards
    try:
        found = board.voice_figures(g.actor, period, filters)
        league = board.league_of(found) if g.actor.role == LEADERSHIP else []
        trend = board.trend(g.actor, period, filters, step)
        by_channel = board.volumes(g.actor, period, filters, "channel")
        by_category = board.volumes(g.actor, period, filters, "category")
        by_specialist = (board.volumes(g.actor, period, filters, "specialist")
                         if g.actor.role == AGENCY_LEADER else [])
        late = (board.late_cases(g.actor, after=_cursor())
                if g.actor.role == AGENCY_LEADER else None)
    except Forbidden:
        return forbidden_page()
    except NotFound as exc:
        return _message(404, _("There is no such agency.") if exc.field == "agency"
                        else _("There is no such category."))
    except InvalidRequest as exc:
        errors[exc.field or "agency"] = _("Choose from the list.")
        return _message(422, _("Check the filters and try again."))
    tables = _tables(found, league, trend, by_channel, by_category, by_specialist, late, lang)
    wanted = request.args.get("format")
    if wanted in ("csv", "xlsx") and not errors:
        return _download(tables, wanted, request.args.get("table"))
    keep = _keep(values)
    return _page("dashboard_voice.html", status=422 if errors else 200, found=found,
                 values=values, errors=errors, tables=tables, months=month_choices(lang),
                 drawings=_charts(found, league, trend, by_channel, by_category,
                                  by_specialist, lang, keep),
                 late=late, channels=fmt.channel_names(lang), states=fmt.state_names(lang),
                 awaits=_awaits(lang), ageing=AGEING,
                 as_of=fmt.moment(found.as_of, lang, _core().config.tz),
                 period_text=_span(found.period, lang),
                 previous_text=_span(found.previous_period, lang),
                 categories=[(row.key, row.name_ar if lang == "ar" else row.name_en)
                             for row in by_category],
                 cases_url=lambda figure, **kw: url_for(
                     "voice_dashboards.cases", figure=figure, lang=lang, **{**keep, **kw}),
                 link_args=dict(keep, lang=lang),
                 number=lambda value: _text(value, lang),
                 name=lambda row: row.name_ar if lang == "ar" else row.name_en,
                 when=lambda at: fmt.moment(at, lang, _core().config.tz))


@voice_dashboards.get("/cases")
@user_required(LEADERSHIP, AGENCY_LEADER)
def cases():
    """The live list of the cases behind one figure, a page at a time."""
    lang = page_language()
    _ = gettext_for(lang)
    errors: dict[str, str] = {}
    period, filters, values, _step = _choices(errors)
    figure = request.args.get("figure", "")
    if figure not in FIGURES:
        return _message(404, _("There is no such list."))
    try:
        found = _core().dashboards.cases_behind(g.actor, figure, period, filters,
                                                after=_cursor())
    except Forbidden:
        return forbidden_page()
    except (InvalidRequest, NotFound):
        return _message(404, _("There is no such list."))
    states, awaits, types = fmt.state_names(lang), _awaits(lang), fmt.type_names(lang)
    tz = _core().config.tz
    table = exports.Table(
        name=f"cases-{figure.replace(':', '-')}", title=_figure_title(figure, lang),
        headings=(_("Tracking number"), _("Type"), _("State"), _("Agency"), _("Channel"),
                  _("Counted at"), _("Answer due"), _("Awaits")),
        rows=tuple((row.tracking, types.get(row.case_type, row.case_type),
                    states.get(row.state, row.state), row.agency,
                    fmt.channel_names(lang).get(row.channel, row.channel),
                    _moment_text(row.at, lang, tz), _moment_text(row.answer_due, lang, tz),
                    awaits.get(row.awaits, row.awaits)) for row in found.rows))
    wanted = request.args.get("format")
    if wanted in ("csv", "xlsx"):
        return _download([table], wanted, None)
    keep = _keep(values)
    return _page("dashboard_cases.html", table=table, page=found, figure=figure,
                 period_text=_span(period, lang), values=values, errors=errors,
                 link_args=dict(keep, figure=figure, lang=lang),
                 case_url=lambda tracking: url_for("voice.case", tracking=tracking,
                                                   lang=lang),
                 back=_url("voice_dashboards.page", dict(keep, lang=lang)))


def _url(endpoint: str, args: dict[str, Any]) -> str:
    return url_for(endpoint, **args)


def _cursor() -> str | None:
    after = request.args.get("after") or None
    return after[:MAX_CURSOR] if after else None


# --- tables and charts -----------------------------------------------------------------------


def _tables(found: Any, league: list, trend: list, by_channel: list, by_category: list,
            by_specialist: list, late: Any, lang: str) -> list[exports.Table]:
    _ = gettext_for(lang)

    def name(row: Any) -> str:
        return str(row.name_ar if lang == "ar" else row.name_en)

    agencies = exports.Table(
        name="agencies", title=_("Every agency, this period and the previous"),
        headings=(_("Agency"), _("Received"), _("Received before"), _("Answered"),
                  _("Answered before"), _("On time (per cent)"), _("On time (per cent) before"),
                  _("First response on time (per cent)"), _("Median hours to answer"),
                  _("90th percentile hours"), _("Satisfaction (1–5)"), _("Reopened (per cent)"),
                  _("Open now"), _("Overdue now")),
        rows=tuple((name(a), a.current.received, a.previous.received, a.current.answered,
                    a.previous.answered, a.current.on_time_pct, a.previous.on_time_pct,
                    a.current.acknowledge_on_time_pct, a.current.median_answer_hours,
                    a.current.p90_answer_hours, a.current.satisfaction_mean,
                    a.current.reopen_pct, a.backlog.open, a.backlog.overdue)
                   for a in found.by_agency))
    tables = [agencies]
    if league:
        tables.append(exports.Table(
            name="league", title=_("League table: median hours to answer"),
            headings=(_("Rank"), _("Agency"), _("Answered"), _("Median hours to answer"),
                      _("90th percentile hours"), _("On time (per cent)")),
            rows=tuple((row.rank, name(row), row.answered, row.median_answer_hours,
                        row.p90_answer_hours, row.on_time_pct) for row in league)))
    tables.append(exports.Table(
        name="trend", title=_("Trend"),
        headings=(_("From"), _("To"), _("Received"), _("Answered"), _("On time (per cent)"),
                  _("Median hours to answer")),
        rows=tuple((p.start.isoformat(), p.end.isoformat(), p.received, p.answered,
                    p.on_time_pct, p.median_answer_hours) for p in trend)))
    for key, title, rows in (("by-channel", _("Volumes by channel"), by_channel),
                             ("by-category", _("Volumes by category"), by_category),
                             ("by-specialist", _("Volumes by specialist"), by_specialist)):
        if key == "by-specialist" and not by_specialist:
            continue
        tables.append(exports.Table(
            name=key, title=title,
            headings=(_("Name"), _("Received"), _("Received before"), _("Answered"),
                      _("Answered before")),
            rows=tuple((_volume_name(row, key, lang), row.received, row.previous_received,
                        row.answered, row.previous_answered) for row in rows)))
    if late is not None:
        awaits = _awaits(lang)
        tables.append(exports.Table(
            name="late-cases", title=_("Late cases and what each awaits"),
            headings=(_("Tracking number"), _("State"), _("Answer due"), _("Awaits")),
            rows=tuple((row.tracking, fmt.state_names(lang).get(row.state, row.state),
                        _moment_text(row.answer_due, lang, _core().config.tz),
                        awaits.get(row.awaits, row.awaits)) for row in late.rows)))
    return tables


def _charts(found: Any, league: list, trend: list, by_channel: list, by_category: list,
            by_specialist: list, lang: str, keep: dict[str, str]) -> list[Any]:
    _ = gettext_for(lang)
    none = _("No data for this period.")
    summary = _("The numbers as a table")

    def name(row: Any) -> str:
        return str(row.name_ar if lang == "ar" else row.name_en)

    def cases_link(figure: str, **kw: str) -> str:
        return _url("voice_dashboards.cases", {**keep, **kw, "figure": figure, "lang": lang})

    drawn = []
    on_time = charts.Chart(
        key="chart-on-time", title=_("Answered on time, this period and the previous (%)"),
        description=_("For each agency, the share of cases answered by their due time, in "
                      "this period and in the previous one of the same length."),
        labels=tuple(name(a) for a in found.by_agency), label_heading=_("Agency"),
        series=(charts.series_of(_("This period"),
                                 [a.current.on_time_pct or 0 for a in found.by_agency]),
                charts.series_of(_("Previous period"),
                                 [a.previous.on_time_pct or 0 for a in found.by_agency])),
        links=tuple(cases_link("answered_late", agency=a.agency) for a in found.by_agency))
    drawn.append(charts.figure(on_time, charts.bar_chart(on_time, lang, empty=none, at_least=100),
                               lang, summary))
    ranked = [row for row in league if row.rank is not None]
    if league:
        table = charts.Chart(
            key="chart-league", title=_("League table: median hours to answer"),
            description=_("Agencies with enough answered cases, fastest first."),
            labels=tuple(f"{charts.digits(str(r.rank), lang)}. {name(r)}" for r in ranked),
            label_heading=_("Agency"),
            series=(charts.series_of(_("Median hours to answer"),
                                     [r.median_answer_hours or 0 for r in ranked]),),
            links=tuple(cases_link("answered", agency=r.agency) for r in ranked))
        drawn.append(charts.figure(table, charts.hbar_chart(table, lang, empty=none), lang,
                                   summary))
    line = charts.Chart(
        key="chart-trend", title=_("Trend: received and answered"),
        description=_("Cases received and answered in each step of the period."),
        labels=tuple(charts.digits(p.label, lang) for p in trend), label_heading=_("From"),
        series=(charts.series_of(_("Received"), [p.received for p in trend]),
                charts.series_of(_("Answered"), [p.answered for p in trend])))
    drawn.append(charts.figure(line, charts.line_chart(line, lang, empty=none), lang,
                               summary))
    ageing = charts.Chart(
        key="chart-ageing", title=_("Open cases by working days open"),
        description=_("The cases open now, by how many working days they have been open."),
        labels=tuple(charts.digits(bucket, lang) for bucket in AGEING),
        label_heading=_("Working days open"),
        series=(charts.series_of(_("Open now"),
                                 [found.backlog.ageing.get(b, 0) for b in AGEING]),),
        links=tuple(cases_link(f"ageing:{b}") for b in AGEING))
    drawn.append(charts.figure(ageing, charts.bar_chart(ageing, lang, empty=none), lang,
                               summary))
    for key, title, rows in (("chart-channel", _("Volumes by channel"), by_channel),
                             ("chart-category", _("Volumes by category"), by_category),
                             ("chart-specialist", _("Volumes by specialist"), by_specialist)):
        if key == "chart-specialist" and not by_specialist:
            continue
        kind = key.removeprefix("chart-")
        chart = charts.Chart(
            key=key, title=title,
            description=_("Cases received in this period and in the previous one."),
            labels=tuple(_volume_name(r, f"by-{kind}", lang) for r in rows),
            label_heading=_("Name"),
            series=(charts.series_of(_("This period"), [r.received for r in rows]),
                    charts.series_of(_("Previous period"),
                                     [r.previous_received for r in rows])),
            links=tuple(cases_link("received", **({kind: r.key} if kind != "specialist"
                                                  else {})) for r in rows))
        drawn.append(charts.figure(chart, charts.bar_chart(chart, lang, empty=none), lang,
                                   summary))
    return drawn


# --- words ------------------------------------------------------------------------------------


def _volume_name(row: Any, key: str, lang: str) -> str:
    if key == "by-channel":
        return str(fmt.channel_names(lang).get(row.key, row.key))
    return str((row.name_ar if lang == "ar" else row.name_en) or row.key)


def _awaits(lang: str) -> dict[str, str]:
    _ = gettext_for(lang)
    return {"coordinator": _("The coordinator"), "specialist": _("The specialist"),
            "citizen": _("The citizen"), "": "—"}


def _figure_title(figure: str, lang: str) -> str:
    _ = gettext_for(lang)
    titles = {"received": _("Cases received"), "acknowledged": _("Cases acknowledged"),
              "acknowledged_late": _("Cases acknowledged late"),
              "answered": _("Cases answered"), "answered_on_time": _("Cases answered on time"),
              "answered_late": _("Cases answered late"), "reopened": _("Cases reopened"),
              "rated": _("Cases rated"), "escalated": _("Cases escalated"),
              "open": _("Cases open now"), "overdue": _("Cases overdue now")}
    if figure.startswith("ageing:"):
        return _("Cases open %(days)s working days") % {
            "days": charts.digits(figure.removeprefix("ageing:"), lang)}
    return titles.get(figure, figure)


def _text(value: float | None, lang: str) -> str:
    return "—" if value is None else charts.number_text(value, lang)


def _span(period: Period, lang: str) -> str:
    return f"{fmt.day_text(period.start, lang)} – {fmt.day_text(period.end, lang)}"


def _moment_text(at: Any, lang: str, tz: Any) -> str:
    moment = fmt.moment(at, lang, tz)
    return moment.text if moment else ""

