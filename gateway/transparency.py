"""``/transparency``: the public page of Citizen's Voice's answered counts and on-time
share per agency for the last Hijri months. No sign-in and no personal data: counts only,
from ``Core.transparency`` (the scheduler's summary; its age is shown).

The same for everyone (its language is in the address), so it may be kept by browsers
and proxies (``Cache-Control: public``) for as long as the summary stays unchanged: one
refresh interval (``scheduler.dashboards_seconds``). Anything but the page itself (an
error) is never kept.
"""

from __future__ import annotations

from flask import Blueprint, Response, current_app, render_template, url_for

from core.platform.i18n import gettext_for
from gateway import charts
from gateway import voice_format as fmt
from gateway.portal import page_language

transparency = Blueprint("transparency", __name__)


@transparency.get("/transparency")
def page():
    lang = page_language()
    _ = gettext_for(lang)
    core = current_app.extensions["core"]
    found = core.transparency()
    names = {record.code: record.name_ar if lang == "ar" else record.name_en
             for record in found.agencies}
    months = [charts.digits(month.name(lang), lang) for month in found.months]
    drawings = []
    if found.months:
        # The last complete month (the first listed is under way): on time by agency.
        index = 1 if len(found.months) > 1 else 0
        chart = charts.Chart(
            key="chart-public-on-time",
            title=_("Answered on time in %(month)s (%%)") % {"month": months[index]},
            description=_("For each agency, the share of cases answered by their due "
                          "time."),
            labels=tuple(names[r.code] for r in found.agencies), label_heading=_("Agency"),
            series=(charts.series_of(_("On time (per cent)"),
                                     [r.months[index].on_time_pct or 0
                                      for r in found.agencies]),))
        drawings.append(charts.figure(chart, charts.hbar_chart(
            chart, lang, empty=_("No data for this period."), at_least=100), lang,
            _("The numbers as a table")))
    response = current_app.make_response(render_template(
        "transparency.html", found=found, months=months, names=names, drawings=drawings,
        as_of=fmt.moment(found.as_of, lang, core.config.tz),
        number=lambda value: "—" if value is None else charts.number_text(value, lang),
        lang_switch_url=url_for("transparency.page", lang="en" if lang == "ar" else "ar")))
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["SETTINGS"].scheduler.dashboards_seconds
    return response


@transparency.after_request
def _never_keep_an_error(response: Response) -> Response:
    if response.status_code != 200:
        response.headers["Cache-Control"] = "no-store"
    return response
