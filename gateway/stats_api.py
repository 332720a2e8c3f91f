"""The figures as JSON and CSV for the emirate's own reporting tools (CONTRACT.md):
``GET /api/v1/stats/voice?from=&to=&agency=&format=``, with a personal token of
leadership (every agency) or of an agency leader (their own agency only). What each
figure means is ``core.dashboards.voice``'s docstring; the route only turns the query
into a ``Period`` and ``Filters`` and the answer into JSON or CSV.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request

from core.calendar.dates import local_date
from core.dashboards.voice import Figures, Filters, Period, VoiceFigures
from core.identity.digits import normalize_digits
from core.platform.clock import utcnow
from core.platform.errors import InvalidRequest
from gateway.accounts import api_user_required

stats_api = Blueprint("stats_api", __name__, url_prefix="/api/v1/stats")

PARAMETERS = {"from", "to", "agency", "format"}
DEFAULT_DAYS = 30
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# The contract's keys, in its order, then ours.
CSV_COLUMNS = ("agency", "name_en", "received", "answered", "on_time_pct", "open",
               "overdue", "median_answer_hours", "p90_answer_hours", "satisfaction_mean",
               "reopen_pct", "acknowledged", "acknowledge_on_time_pct",
               "median_first_response_hours", "p90_first_response_hours", "rated",
               "satisfied_pct", "response_rate_pct", "escalations_warning",
               "escalations_breach", "escalations_leadership", "previous_received",
               "previous_answered", "previous_on_time_pct", "previous_median_answer_hours",
               "from", "to", "as_of")


def _date(name: str) -> date | None:
    """A ``YYYY-MM-DD`` date (Arabic-Indic or Persian digits too), None when not given."""
    text = request.args.get(name)
    if text is None:
        return None
    written = normalize_digits(text)
    try:
        if not ISO_DATE.fullmatch(written):
            raise ValueError(written)
        return date.fromisoformat(written)
    except ValueError:
        raise InvalidRequest(f"{name}: a date such as 2026-11-22", code="invalid_field",
                             field=name) from None


def _period() -> Period:
    """``from`` and ``to`` (both included); by default the last 30 days to today."""
    today = local_date(utcnow(), current_app.extensions["core"].config.tz)
    end = _date("to") or today
    start = _date("from") or end - timedelta(days=DEFAULT_DAYS - 1)
    return Period(start, end)


def _figures(current: Figures, backlog: Any) -> dict[str, Any]:
    return {
        "received": current.received, "answered": current.answered,
        "on_time_pct": current.on_time_pct, "open": backlog.open, "overdue": backlog.overdue,
        "median_answer_hours": current.median_answer_hours,
        "p90_answer_hours": current.p90_answer_hours,
        "satisfaction_mean": current.satisfaction_mean, "reopen_pct": current.reopen_pct,
        "answered_on_time": current.answered_on_time,
        "first_response": {
            "acknowledged": current.acknowledged,
            "on_time": current.acknowledged_on_time,
            "on_time_pct": current.acknowledge_on_time_pct,
            "median_hours": current.median_first_response_hours,
            "p90_hours": current.p90_first_response_hours},
        "rated": current.rated, "satisfied_pct": current.satisfied_pct,
        "response_rate_pct": current.response_rate_pct, "reopened": current.reopened,
        "escalations": current.escalations, "ageing": backlog.ageing,
    }


def _previous(previous: Figures) -> dict[str, Any]:
    return {"received": previous.received, "answered": previous.answered,
            "on_time_pct": previous.on_time_pct,
            "median_answer_hours": previous.median_answer_hours,
            "p90_answer_hours": previous.p90_answer_hours,
            "satisfaction_mean": previous.satisfaction_mean,
            "reopen_pct": previous.reopen_pct,
            "first_response_on_time_pct": previous.acknowledge_on_time_pct}


def as_json(result: VoiceFigures) -> dict[str, Any]:
    body = _figures(result.current, result.backlog)
    body.update({
        "from": result.period.start.isoformat(), "to": result.period.end.isoformat(),
        "as_of": result.as_of.isoformat() if result.as_of else None,
        "previous": {**_previous(result.previous),
                     "from": result.previous_period.start.isoformat(),
                     "to": result.previous_period.end.isoformat()},
        "by_agency": [{"agency": row.agency, "name_ar": row.name_ar, "name_en": row.name_en,
                       **_figures(row.current, row.backlog),
                       "previous": _previous(row.previous)}
                      for row in result.by_agency],
    })
    return body


def _cell(value: Any) -> Any:
    """A spreadsheet must not run a name as a formula (=, +, -, @ first)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def _row(code: str, name: str, current: Figures, previous: Figures, backlog: Any,
         result: VoiceFigures) -> list[Any]:
    values = {
        "agency": code, "name_en": name, "received": current.received,
        "answered": current.answered, "on_time_pct": current.on_time_pct,
        "open": backlog.open, "overdue": backlog.overdue,
        "median_answer_hours": current.median_answer_hours,
        "p90_answer_hours": current.p90_answer_hours,
        "satisfaction_mean": current.satisfaction_mean, "reopen_pct": current.reopen_pct,
        "acknowledged": current.acknowledged,
        "acknowledge_on_time_pct": current.acknowledge_on_time_pct,
        "median_first_response_hours": current.median_first_response_hours,
        "p90_first_response_hours": current.p90_first_response_hours,
        "rated": current.rated, "satisfied_pct": current.satisfied_pct,
        "response_rate_pct": current.response_rate_pct,
        **{f"escalations_{level}": n for level, n in current.escalations.items()},
        "previous_received": previous.received, "previous_answered": previous.answered,
        "previous_on_time_pct": previous.on_time_pct,
        "previous_median_answer_hours": previous.median_answer_hours,
        "from": result.period.start.isoformat(), "to": result.period.end.isoformat(),
        "as_of": result.as_of.isoformat() if result.as_of else "",
    }
    return [_cell(values[column]) for column in CSV_COLUMNS]


def as_csv(result: VoiceFigures) -> str:
    """One line per agency, then the total (agency ``*``), the contract's columns first."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in result.by_agency:
        writer.writerow(_row(row.agency, row.name_en, row.current, row.previous,
                             row.backlog, result))
    writer.writerow(_row("*", "all", result.current, result.previous, result.backlog,
                         result))
    return out.getvalue()


@stats_api.get("/voice")
@api_user_required("leadership", "agency_leader")
def voice_stats():
    unknown = sorted(set(request.args) - PARAMETERS)
    if unknown:
        raise InvalidRequest(f"{unknown[0]} is not a known parameter", code="invalid_field",
                             field=unknown[0])
    kind = request.args.get("format", "json")
    if kind not in ("json", "csv"):
        raise InvalidRequest("format: json or csv", code="invalid_field", field="format")
    agency = request.args.get("agency")
    if agency is not None and not agency.strip():
        raise InvalidRequest("agency: an agency's code", code="invalid_field", field="agency")
    result = current_app.extensions["core"].dashboards.voice_figures(
        g.actor, _period(), Filters(agency=agency))
    if kind == "csv":
        return Response("\ufeff" + as_csv(result), mimetype="text/csv",
                        headers={"Content-Disposition":
                                 'attachment; filename="voice-figures.csv"'})
    return jsonify(as_json(result))
