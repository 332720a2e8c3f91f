"""The leaders' figures as the gateway and the pages ask for them (``Core.dashboards``):
who may see which, every read audited, the summary kept by the scheduler.

Emirate leadership sees every agency; an agency leader their own agency only (no agency
asked: theirs; another: not found, exactly as an agency that does not exist, as the
staff API answers for another agency's case); nobody else sees a dashboard (Forbidden:
a dashboard is not a record whose existence could leak, the role simply has none). Each
read writes one audit row (``voice_figures``) saying what was read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.access import audit
from core.access.actors import AGENCY_LEADER, LEADERSHIP, Actor
from core.dashboards import digest, summary
from core.dashboards import voice as figures_
from core.dashboards.voice import (
    CasePage,
    Dimension,
    Filters,
    LeagueRow,
    Period,
    Scope,
    Step,
    TrendPoint,
    VoiceFigures,
    VolumeRow,
)
from core.directory.models import Agency
from core.platform import leases
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.errors import Forbidden, InvalidRequest
from core.platform.settings import CoreSettings
from core.voice import models as voice_models

T = TypeVar("T")
EVERY = Filters()  # every agency (leadership), or the leader's own
CHANNELS_MAX = 10


class VoiceDashboards:
    """Citizen's Voice's figures over one database and configuration."""

    def __init__(self, db: Database, config: CoreSettings, *,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self._db = db
        self._config = config
        self._clock = clock

    # --- who sees what ------------------------------------------------------------------

    def _scope(self, session: Session, actor: Actor | None,
               filters: Filters) -> tuple[Scope, Filters]:
        """The ids to read by, and the filters as applied (an agency leader's agency)."""
        if filters.case_type is not None and filters.case_type not in voice_models.CASE_TYPES:
            raise InvalidRequest(f"type: one of {', '.join(voice_models.CASE_TYPES)}",
                                 code="invalid_field", field="type")
        if filters.channel is not None and (not filters.channel.isascii()
                                            or len(filters.channel) > CHANNELS_MAX):
            raise InvalidRequest("channel: a channel's name", code="invalid_field",
                                 field="channel")
        if actor is None or actor.role not in (LEADERSHIP, AGENCY_LEADER):
            raise Forbidden("the dashboards are for leadership and agency leaders",
                            code="forbidden")
        if actor.role == AGENCY_LEADER:
            own = session.scalar(select(Agency.code).where(Agency.id == actor.agency_id))
            if filters.agency not in (None, own):
                raise figures_.no_such_agency()
            filters = Filters(own, filters.category, filters.channel, filters.case_type)
        return figures_.resolve(session, filters), filters

    def _read(self, actor: Actor | None, filters: Filters, what: str,
              read: Callable[[Session, Scope], T]) -> T:
        # The figures may be read on the replica (a page, a little behind); the audit
        # row is written on the primary.
        with self._db.replica_read() as session:
            scope, filters = self._scope(session, actor, filters)
            result = read(session, scope)
        with self._db.write.begin() as session:
            audit.record(session, actor, "read", "voice_figures", filters.agency or "all",
                         what)
        return result

    @property
    def _tz(self):  # type: ignore[no-untyped-def]
        return self._config.tz

    # --- the figures ----------------------------------------------------------------------

    def voice_figures(self, actor: Actor | None, period: Period,
                      filters: Filters = EVERY) -> VoiceFigures:
        """The figure set: the period's, the previous period's, the backlog (as of the
        last refresh), by agency, and ``as_of``."""
        return self._read(actor, filters, f"figures {period.start}..{period.end}",
                          lambda session, scope: figures_.figures(
                              session, self._tz, period, filters, scope))

    def league(self, actor: Actor | None, period: Period,
               filters: Filters = EVERY) -> list[LeagueRow]:
        """Agencies ranked on the median answer time, with at least
        ``voice.dashboard_min_cases`` answered cycles."""
        return self._read(actor, filters, f"league {period.start}..{period.end}",
                          lambda session, scope: figures_.league(
                              session, self._tz, period, scope,
                              self._config.voice.dashboard_min_cases))

    def league_of(self, found: VoiceFigures) -> list[LeagueRow]:
        """The league of a figure set already read (and audited): no second read."""
        return figures_.league_of(found, self._config.voice.dashboard_min_cases)

    def trend(self, actor: Actor | None, period: Period, filters: Filters = EVERY,
              step: Step = "week") -> list[TrendPoint]:
        if step not in ("week", "month", "hijri_month"):
            raise InvalidRequest("step: week, month or hijri_month", code="invalid_field",
                                 field="step")
        return self._read(actor, filters, f"trend {step} {period.start}..{period.end}",
                          lambda session, scope: figures_.trend(
                              session, self._tz, period, scope, step))

    def volumes(self, actor: Actor | None, period: Period, filters: Filters = EVERY,
                by: Dimension = "agency") -> list[VolumeRow]:
        if by not in figures_.DIMENSIONS:
            raise InvalidRequest(f"by: one of {', '.join(figures_.DIMENSIONS)}",
                                 code="invalid_field", field="by")
        return self._read(actor, filters, f"volumes {by} {period.start}..{period.end}",
                          lambda session, scope: figures_.volumes(
                              session, self._tz, period, scope, by))

    def late_cases(self, actor: Actor | None, agency: str | None = None, *,
                   after: str | None = None, limit: int = figures_.PAGE,
                   now: datetime | None = None) -> CasePage:
        """The agency's overdue cases now (all agencies' for leadership when ``agency``
        is None), the longest overdue first, each with what it awaits."""
        moment = now or self._clock()
        return self._read(actor, Filters(agency), "late cases",
                          lambda session, scope: figures_.late_cases(
                              session, scope, moment, after, _limit(limit)))

    def cases_behind(self, actor: Actor | None, figure: str, period: Period,
                     filters: Filters = EVERY, after: str | None = None, *,
                     limit: int = figures_.PAGE, now: datetime | None = None) -> CasePage:
        """The live list of the cases behind one figure (``core.dashboards.voice.FIGURES``:
        "answered_late", "overdue", "ageing:8-14"...)."""
        moment = now or self._clock()
        return self._read(actor, filters, f"cases {figure} {period.start}..{period.end}",
                          lambda session, scope: figures_.cases_behind(
                              session, self._tz, figure, period, scope, moment, after,
                              _limit(limit)))

    # --- the summary ----------------------------------------------------------------------

    def refresh(self, holder: str, ttl: timedelta, *, every: timedelta | None = None,
                now: datetime | None = None) -> summary.Refreshed | None:
        """One incremental refresh of the summary under the lease ``summary.LEASE``; None
        when another machine holds it, or (``every`` given: the scheduler's interval) when
        the last refresh, wherever it ran, is more recent than nine tenths of ``every``:
        one refresh per interval across the machines, not one per machine."""
        moment = now or self._clock()
        if every is not None:
            with self._db.read() as session:
                last = figures_.as_of(session)
            if last is not None and moment - last < every * 0.9:
                return None
        if not leases.acquire(self._db, summary.LEASE, holder, ttl, now=moment):
            return None
        result = summary.refresh(self._db, self._config, now=moment,
                                 keep_going=lambda: leases.renew(
                                     self._db, summary.LEASE, holder, ttl))
        leases.renew(self._db, summary.LEASE, holder, ttl, now=moment,
                     state=result.as_state())
        return result

    def send_digests(self, link: str, holder: str, ttl: timedelta, *,
                     now: datetime | None = None) -> int:
        """Queue the leaders' weekly digests when due (``core.dashboards.digest``), with
        a link to the dashboard under ``link`` (``gateway.public_url``); how many
        leaders were sent one now."""
        return digest.send(self._db, self._config, link=link, holder=holder, ttl=ttl,
                           now=now or self._clock())

    def release(self, holder: str) -> bool:
        return leases.release(self._db, summary.LEASE, holder)

    def rebuild(self, *, now: datetime | None = None) -> summary.Refreshed:
        """Every case's facts again (``gateway dashboards rebuild``: after a definition
        changed), under the lease, waiting for no one: it fails when a refresh holds it."""
        moment = now or self._clock()
        holder = leases.holder_name("rebuild")
        ttl = timedelta(minutes=5)
        if not leases.acquire(self._db, summary.LEASE, holder, ttl, now=moment):
            raise InvalidRequest("a refresh is running: try again in a minute",
                                 code="busy")
        try:
            return summary.refresh(self._db, self._config, now=moment, full=True,
                                   keep_going=lambda: leases.renew(
                                       self._db, summary.LEASE, holder, ttl))
        finally:
            leases.release(self._db, summary.LEASE, holder)


def _limit(limit: int) -> int:
    if not 1 <= limit <= 500:
        raise InvalidRequest("limit: 1 to 500", code="invalid_field", field="limit")
    return limit
