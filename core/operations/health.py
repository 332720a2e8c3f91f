"""What ``/healthz`` and ``/metrics`` read: the database answering, its clock, the outbox's
depth, the schema's revision, every component's heartbeat (its lease) and Citizen's
Voice's scheduled work (its jobs' leases, a calendar version waiting to be applied).

Read at request or scrape time from the database, so every machine agrees: a web process
reports the bind of a ``gateway sms`` on another machine from that channel's heartbeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import func, select, text, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.sql import Select

from core.calendar import versions
from core.messaging import outbox
from core.messaging.models import Notification, NotificationStatus
from core.platform import leases, migrate
from core.platform.clock import utcnow
from core.platform.db import Database, UTCDateTime
from core.platform.leases import LeaseView
from core.platform.models import Lease
from core.voice import alarms, closing, deadlines, recordings


@dataclass(frozen=True)
class OutboxGauges:
    """The outbox's depth and the live SMS channels' heartbeats, for /metrics."""

    depth: dict[str, int]
    retrying: int
    sms_channels: list[LeaseView]


@dataclass(frozen=True)
class Background:
    """A component that runs on its own and says so only through its heartbeat lease:
    ``lease`` is the lease's name (or, with ``prefix``, the names' common start, one lease
    per running copy) and ``expected`` whether the configuration says it should run."""

    name: str
    lease: str
    expected: bool
    prefix: bool = False

    def matches(self, lease_name: str) -> bool:
        return lease_name.startswith(self.lease) if self.prefix else lease_name == self.lease


@dataclass(frozen=True)
class ComponentState:
    """What the heartbeats say of one background component, on the database's clock.

    ``running``: some copy's lease is live (renewed within its lifetime). The age is that
    of the most recent renewal of any copy, None when no lease row is left (never run, or
    released at a clean stop)."""

    name: str
    expected: bool
    running: bool
    heartbeat_age_seconds: float | None
    holders: tuple[str, ...]
    state: dict[str, object]

    @property
    def status(self) -> str:
        """"running"; "missing" when expected and not running; else "disabled"."""
        if self.running:
            return "running"
        return "missing" if self.expected else "disabled"


@dataclass(frozen=True)
class VoiceJobs:
    """Citizen's Voice's scheduled work as the operator follows it: the alarm scan's and
    the closing's leases (held by the scheduler that runs them, with their last run's
    figures), the recompute's (held only while it retimes the open cases), the calendar
    version whose retiming has not finished (None: every open case is timed with the
    latest), and the database's clock to read them by."""

    alarm_scan: LeaseView | None
    closing: LeaseView | None
    recompute: LeaseView | None
    recordings: LeaseView | None  # the fetch of the phone line's voice messages
    recompute_waiting: int | None
    now: datetime


@dataclass(frozen=True)
class Details:
    """Everything ``/healthz``'s details show, read in one transaction on the database's
    clock: the outbox per status, every lease (each read once), the components' states
    from them, and Citizen's Voice's jobs."""

    outbox: dict[str, int]
    now: datetime
    leases: dict[str, LeaseView]
    report: ComponentsReport
    voice: VoiceJobs


@dataclass(frozen=True)
class ComponentsReport:
    now: datetime
    components: list[ComponentState]
    # Seconds the oldest pending message has waited since it became due, per channel.
    oldest_due_seconds: dict[str, float]


@dataclass(frozen=True)
class ReplicaState:
    """The read replica as this process sees it (``database.read_url``)."""

    used: bool  # inquiries and dashboards read from it now
    lag_seconds: float | None  # how far behind it is known to be (None: unknown)
    verdict: str  # the last probe's finding: "caught up", "more than 2 s behind", ...


class Health:
    """The operator's probes over one database; each read raises ``DatabaseError``
    (core.platform.faults) when the database is down."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def replica(self) -> ReplicaState | None:
        """The read replica's state in this process (probing it when due); None without
        ``database.read_url``."""
        replica = self._db.replica
        if replica is None:
            return None
        used = replica.usable()
        lag = replica.lag()
        return ReplicaState(used, None if lag is None else round(lag, 3), replica.verdict)

    def ping(self) -> None:
        """The public liveness probe: one ``SELECT 1``, nothing read, nothing to tell."""
        with self._db.read() as session:
            session.execute(text("SELECT 1"))

    def schema_revisions(self) -> tuple[str | None, str | None]:
        """The database's schema revision and the one this version needs."""
        return migrate.current_revision(self._db.engine), schema_head()

    def components(self, background: Sequence[Background]) -> ComponentsReport:
        """Each background component's state and the outbox's oldest due message, in one
        read transaction on the database's clock (one clock for every machine)."""
        with self._db.read() as session:
            now = database_clock(session)
            return _report(session, background, _leases(session), now)

    def details(self, background: Sequence[Background]) -> Details:
        """``/healthz``'s details in one read transaction: the leases read once."""
        with self._db.read() as session:
            now = database_clock(session)
            held = _leases(session)
            return Details(outbox=outbox_states(session), now=now, leases=held,
                           report=_report(session, background, held, now),
                           voice=_voice_jobs(session, held, now))


    def outbox_gauges(self) -> OutboxGauges:
        with self._db.read() as session:
            return OutboxGauges(depth=outbox.depth(session), retrying=retrying_count(session),
                                sms_channels=sms_heartbeats(session))


def _leases(session: Session) -> dict[str, LeaseView]:
    return {row.name: LeaseView(row.name, row.holder, row.renewed_at, row.expires_at,
                                dict(row.state or {}))
            for row in session.scalars(select(Lease))}


def _report(session: Session, background: Sequence[Background],
            held: dict[str, LeaseView], now: datetime) -> ComponentsReport:
    views = list(held.values())
    return ComponentsReport(
        now=now, components=[component_state(part, views, now) for part in background],
        oldest_due_seconds=oldest_due(session, now))


def _voice_jobs(session: Session, held: dict[str, LeaseView], now: datetime) -> VoiceJobs:
    return VoiceJobs(alarm_scan=held.get(alarms.ALARM_LEASE),
                     closing=held.get(closing.CLOSING_LEASE),
                     recompute=held.get(deadlines.RECOMPUTE_LEASE),
                     recordings=held.get(recordings.RECORDINGS_LEASE),
                     recompute_waiting=versions.awaiting_recompute(session), now=now)


@cache
def schema_head() -> str | None:
    """The schema revision this version needs: read from Alembic's script directory once
    per process (it is part of the installed code and changes only with it)."""
    return migrate.head_revision()


def database_clock(session: Session) -> datetime:
    """The database server's time: one clock for every machine's /healthz (a heartbeat's
    ``renewed_at`` is its writer's clock; each reader's own would disagree with the next)."""
    return session.execute(database_clock_query(session.get_bind().dialect.name)).scalar_one()


def database_clock_query(dialect: str) -> Select[datetime]:
    """The query for ``database_clock``: on PostgreSQL ``statement_timestamp()``, the time
    now (``current_timestamp`` is the transaction's start, however long ago that was)."""
    now = func.statement_timestamp() if dialect == "postgresql" else func.current_timestamp()
    return select(type_coerce(now, UTCDateTime()))


def retrying_count(session: Session) -> int:
    """Pending messages that have already been tried: waiting for a retry."""
    return session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.status == NotificationStatus.PENDING, Notification.attempts > 0)
    ) or 0


def outbox_states(session: Session) -> dict[str, int]:
    """Messages per status (every status, zeros included) and how many are retrying.

    "retrying" is a subset of "pending" (already attempted), not a status of its own.
    """
    depth = outbox.depth(session)
    states = {status.value: depth.get(status.value, 0) for status in NotificationStatus}
    states["retrying"] = retrying_count(session)
    return states


def sms_heartbeats(session: Session) -> list[LeaseView]:
    """The live SMS channels' heartbeats (``leases.SMS_CHANNEL_PREFIX``)."""
    rows = session.scalars(
        select(Lease).where(Lease.name.startswith(leases.SMS_CHANNEL_PREFIX),
                            Lease.expires_at > utcnow()).order_by(Lease.name))
    return [LeaseView(row.name, row.holder, row.renewed_at, row.expires_at,
                      dict(row.state or {})) for row in rows]


def component_state(part: Background, views: Sequence[LeaseView],
                    now: datetime) -> ComponentState:
    """``part``'s state from every lease row (live or expired) as of ``now``."""
    mine = sorted((view for view in views if part.matches(view.name)),
                  key=lambda view: view.renewed_at, reverse=True)
    live = [view for view in mine if view.expires_at > now]
    age = (round(max(0.0, (now - mine[0].renewed_at).total_seconds()), 1) if mine
           else None)
    return ComponentState(name=part.name, expected=part.expected, running=bool(live),
                          heartbeat_age_seconds=age,
                          holders=tuple(view.holder for view in live),
                          state=dict(mine[0].state) if mine else {})


def oldest_due(session: Session, now: datetime) -> dict[str, float]:
    """Per channel, how long the oldest pending message has been due (``not_before``
    passed): a message held for quiet hours or waiting for its retry is not late yet."""
    rows = session.execute(
        select(Notification.channel, func.min(Notification.not_before))
        .where(Notification.status == NotificationStatus.PENDING,
               Notification.not_before <= now)
        .group_by(Notification.channel))
    return {channel: round(max(0.0, (now - since).total_seconds()), 1)
            for channel, since in rows if since is not None}
