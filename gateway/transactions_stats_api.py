"""``GET /api/v1/stats/transactions``: the transactions' performance per department as
JSON, for the emirate's own reporting tools (the same figures as
``/dashboards/transactions``: ``core.dashboards.transactions``). Leadership's token sees
every department; a department's staff their own; anyone else 403."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from core.dashboards.transactions import Period, TransactionFigures
from core.platform.errors import InvalidRequest
from gateway.accounts import api_user_required
from gateway.stats_api import _period  # the same dates and default: the 30 days to today

transactions_stats_api = Blueprint("transactions_stats_api", __name__,
                                   url_prefix="/api/v1/stats")

PARAMETERS = {"from", "to", "department"}


def as_json(found: TransactionFigures) -> dict[str, Any]:
    return {
        "from": found.period.start.isoformat(), "to": found.period.end.isoformat(),
        "as_of": found.as_of.isoformat(),
        "departments": [{**asdict(row), "name": asdict(row.name) if row.name else None}
                        for row in found.departments],
        "overdue_by_agency": [{"agency": row.code, "overdue": row.overdue,
                               "name": asdict(row.name) if row.name else None}
                              for row in found.overdue_by_agency],
        "inquiries_by_channel": found.inquiries_by_channel,
        "inquiries_by_hour": found.inquiries_by_hour,
    }


@transactions_stats_api.get("/transactions")
@api_user_required()
def transactions_stats():
    unknown = sorted(set(request.args) - PARAMETERS)
    if unknown:
        raise InvalidRequest(f"{unknown[0]} is not a known parameter", code="invalid_field",
                             field=unknown[0])
    core = current_app.extensions["core"]
    period = _period()
    department = request.args.get("department")
    if department is not None and not department.strip():
        raise InvalidRequest("department: a department's code", code="invalid_field",
                             field="department")
    found = core.transaction_dashboard.figures(
        g.actor, Period(period.start, period.end), department=department)
    return jsonify(as_json(found))
