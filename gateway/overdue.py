"""Overdue transactions for staff (/staff/overdue), and their counts for /metrics.

Outgoing transactions whose agency has not replied within the department's period
(``core.overdue``), grouped by department and agency, the most overdue first, with how
many messages the department manager has had. Staff sign in as for the message history.
"""

from __future__ import annotations

from itertools import groupby

from flask import Blueprint, current_app, render_template
from prometheus_client.core import GaugeMetricFamily

from core.calendar.dates import format_date
from core.platform.clock import utcnow
from core.platform.faults import DatabaseError
from core.transactions.overdue_report import LIMIT, OverdueReport
from gateway.portal import page_language
from gateway.staff import current_staff, to_login

overdue = Blueprint("overdue", __name__, url_prefix="/staff")
# The page lists the most overdue transactions, at most this many; the total counts all.
PAGE_ROWS = LIMIT


@overdue.get("/overdue")
def overdue_list():
    staff = current_staff()
    if staff is None:
        return to_login()
    report = current_app.extensions["core"].overdue_report
    lang = page_language()
    # The counts and the list at one moment: the page says "the 500 most overdue of N".
    now = utcnow()
    counts = report.counts(now=now)
    items = report.items(now=now, limit=PAGE_ROWS)

    def department_of(item):
        return item.department.in_(lang) if item.department else ""

    def agency_of(item):
        return item.agency.in_(lang) if item.agency else ""

    ordered = sorted(items, key=lambda i: (department_of(i), agency_of(i), -i.days_overdue))
    groups = [(department, [(agency, list(rows)) for agency, rows
                            in groupby(in_department, key=agency_of)])
              for department, in_department in groupby(ordered, key=department_of)]
    # From the counts, not the list: a department past the list's end is named too.
    unreachable = sorted((count.name.in_(lang) if count.name else count.code)
                         for count in counts if count.overdue and not count.manager_reachable)
    return render_template("overdue.html", staff=staff, groups=groups,
                           total=sum(count.overdue for count in counts), shown=len(items),
                           unreachable=unreachable,
                           date=lambda day: format_date(day, lang))


class OverdueCollector:
    """Overdue transactions per department, read from the database at scrape time."""

    def __init__(self, report: OverdueReport) -> None:
        self.report = report

    def collect(self):
        gauge = GaugeMetricFamily(
            "gateway_overdue_transactions",
            "Outgoing transactions past their department's reply period with no reply",
            labels=["department", "manager_reachable"])
        by_agency = GaugeMetricFamily(
            "gateway_overdue_transactions_by_agency",
            "Overdue outgoing transactions per department and destination agency",
            labels=["department", "agency"])
        oldest = GaugeMetricFamily(
            "gateway_overdue_oldest_days",
            "Days overdue of the transaction waiting longest, per department and agency",
            labels=["department", "agency"])
        try:
            for count in self.report.counts():
                gauge.add_metric([count.code, "yes" if count.manager_reachable else "no"],
                                 count.overdue)
            for agency in self.report.by_agency():
                labels = [agency.department_code, agency.agency_code]
                by_agency.add_metric(labels, agency.overdue)
                oldest.add_metric(labels, agency.oldest_days_overdue)
        except DatabaseError:
            pass
        yield gauge
        yield by_agency
        yield oldest
