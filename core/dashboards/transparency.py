"""What the public may know of Citizen's Voice (``/transparency``, no sign-in): for each
agency and each of the last Hijri months, the cases answered and the share answered on
time, as Bahrain's Tawasul publishes its answered rate. Counts only: no case, no name, no
text. Read from the daily counts the scheduler keeps (``core.dashboards.voice.tallies``),
so the page costs one range of days a month whatever the history's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select

from core.calendar.dates import local_date
from core.dashboards import voice as figures_
from core.dashboards.hijri_months import HijriMonth, last_months
from core.directory.models import Agency
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.settings import CoreSettings

MONTHS = 6


@dataclass(frozen=True)
class AgencyMonth:
    answered: int
    on_time_pct: float | None  # None: nothing answered that month


@dataclass(frozen=True)
class AgencyRecord:
    code: str
    name_ar: str
    name_en: str
    months: list[AgencyMonth]  # in the order of ``Transparency.months``


@dataclass(frozen=True)
class Transparency:
    months: list[HijriMonth]  # newest first; the first is the month under way
    agencies: list[AgencyRecord]
    as_of: datetime | None  # when the summary was last refreshed


def transparency(db: Database, config: CoreSettings, *, count: int = MONTHS,
                 now: datetime | None = None) -> Transparency:
    """The last ``count`` Hijri months (the current one included) of every agency that
    answered anything in them."""
    today: date = local_date(now or utcnow(), config.tz)
    months = last_months(today, count)
    with db.replica_read() as session:  # a public page: the replica may answer
        per_month = []
        for month in months:
            period = figures_.Period(month.first, month.last)
            tallies = figures_.tallies(session, config.tz, period, figures_.Scope(),
                                       times=False, counts=("answered", "answered_on_time"))
            per_month.append({agency_id: tally.figures()
                              for agency_id, tally in tallies.items()})
        ids = {agency_id for month in per_month for agency_id, found in month.items()
               if found.answered}
        agencies = ({row.id: row for row in session.scalars(
            select(Agency).where(Agency.id.in_(ids)))} if ids else {})
        as_of = figures_.as_of(session)
    records = []
    for agency_id, agency in sorted(agencies.items(), key=lambda item: item[1].code):
        records.append(AgencyRecord(agency.code, agency.name_ar, agency.name_en, [
            AgencyMonth(month[agency_id].answered, month[agency_id].on_time_pct)
            if agency_id in month else AgencyMonth(0, None)
            for month in per_month]))
    return Transparency(months, records, as_of)
