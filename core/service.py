"""The core's front door: the use cases the channels and the gateway call."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from sqlalchemy.exc import IntegrityError

from core.access.sessions import StaffSessions
from core.access.tokens import TokenVerifier
from core.access.users import StaffUsers
from core.calls.log import CallLog
from core.dashboards.service import VoiceDashboards
from core.dashboards.transactions import TransactionDashboard
from core.dashboards.transparency import Transparency, transparency
from core.directory import reference
from core.kiosks.heartbeats import KioskRegistry
from core.messaging.history import MessageHistory
from core.operations.health import Health
from core.operations.upkeep import Upkeep
from core.platform.db import Database
from core.platform.errors import CoreError
from core.platform.faults import DatabaseFaults
from core.platform.ratelimit import MemoryFailureCounts
from core.platform.settings import CoreSettings
from core.platform.telemetry import EVENTS
from core.transactions import lifecycle
from core.transactions.answer import Answer
from core.transactions.events import EVENT_TYPES, parse_event
from core.transactions.inquiry import InquiryRequest, InquiryService
from core.transactions.inquiry_log import InquiryLogWriter
from core.transactions.mine import MyTransactions
from core.transactions.overdue_report import OverdueReport
from core.voice.service import VoiceService


@dataclass
class Core:
    db: Database
    config: CoreSettings
    inquiries: InquiryService
    inquiry_log: InquiryLogWriter
    tokens: TokenVerifier

    @classmethod
    def build(cls, db: Database, config: CoreSettings, *, background_log: bool = True) -> Core:
        log = InquiryLogWriter(db.write_engine, background=background_log)
        return cls(db=db, config=config, inquiries=InquiryService(db, config, log),
                   inquiry_log=log, tokens=TokenVerifier(db.read, writes=db.write))

    def record_event(self, payload: Any) -> lifecycle.EventOutcome:
        """Apply one lifecycle event with its notifications, in one database transaction."""
        try:
            event = parse_event(payload)
            for attempt in range(2):
                try:
                    with self.db.write.begin() as session:
                        outcome = lifecycle.apply_event(session, event, payload, self.config)
                    break
                except IntegrityError:
                    # A concurrent delivery of the same event (or registration) won the
                    # race; the second pass sees it and answers as a replay or a conflict.
                    if attempt:
                        raise
        except CoreError as exc:
            kind = payload.get("type") if isinstance(payload, dict) else None
            # Only known types become label values: arbitrary input must not mint series.
            EVENTS.labels(kind if kind in EVENT_TYPES else "invalid", exc.code).inc()
            raise
        EVENTS.labels(event.type, "duplicate" if outcome.duplicate else "applied").inc()
        return outcome

    def inquire(self, request: InquiryRequest) -> Answer:
        return self.inquiries.inquire(request)

    def inquiries_apart(self) -> InquiryService:
        """Inquiries under the same rules, their failures counted in this process's memory
        apart from everyone's: a training simulator, where a trainee typing a citizen's
        details must not lock the citizen out."""
        window = self.config.inquiry.failure_window_seconds
        return InquiryService(self.db, self.config, self.inquiry_log,
                              counts=MemoryFailureCounts(window))

    def upsert_department(self, code: str, data: Any) -> reference.Upserted:
        with self.db.write.begin() as session:
            return reference.upsert_department(session, code, data)

    def upsert_employee(self, code: str, data: Any) -> reference.Upserted:
        with self.db.write.begin() as session:
            return reference.upsert_employee(session, code, data)

    def upsert_agency(self, code: str, data: Any) -> reference.Upserted:
        with self.db.write.begin() as session:
            return reference.upsert_agency(session, code, data)

    # The services the adapters are given, each over this core's database: the gateway,
    # the channels and the scheduler call these, never the database itself.

    @cached_property
    def calls(self) -> CallLog:
        return CallLog(self.db)

    @cached_property
    def faults(self) -> DatabaseFaults:
        return DatabaseFaults(self.db)

    @cached_property
    def health(self) -> Health:
        return Health(self.db)

    @cached_property
    def staff_sessions(self) -> StaffSessions:
        return StaffSessions(self.db)

    @cached_property
    def users(self) -> StaffUsers:
        return StaffUsers(self.db, self.config)

    @cached_property
    def kiosks(self) -> KioskRegistry:
        return KioskRegistry(self.db)

    @cached_property
    def message_history(self) -> MessageHistory:
        return MessageHistory(self.db, self.config.tz)

    @cached_property
    def overdue_report(self) -> OverdueReport:
        return OverdueReport(self.db, self.config)

    def transparency(self, *, now: datetime | None = None) -> Transparency:
        """The public page's counts per agency and Hijri month (no personal data)."""
        return transparency(self.db, self.config, now=now)

    @cached_property
    def transaction_dashboard(self) -> TransactionDashboard:
        """The transactions' performance per department, and the lists behind it."""
        return TransactionDashboard(self.db, self.config)

    @cached_property
    def voice(self) -> VoiceService:
        """Citizen's Voice: filing cases, the staff's and the citizen's actions, reads."""
        return VoiceService(self.db, self.config)

    @cached_property
    def mine(self) -> MyTransactions:
        """"My transactions": a national ID proven by a code, its list and its cases."""
        return MyTransactions(self.db, self.config, self.voice.codes, self.voice)

    @cached_property
    def dashboards(self) -> VoiceDashboards:
        """The leaders' figures (core.dashboards) and the summary behind them."""
        return VoiceDashboards(self.db, self.config)

    @cached_property
    def upkeep(self) -> Upkeep:
        return Upkeep(self.db, self.config)

    def close(self) -> None:
        self.inquiries.close()
        self.inquiry_log.close()
        self.db.dispose()


def build(settings: CoreSettings, *, min_pool_size: int = 1,
          background_log: bool = True) -> Core:
    """The core for these settings: its database (``database.pool_size`` connections, at
    least ``min_pool_size``, to the primary and as many to the read replica, if any) and
    its configuration.

    Where a read goes is decided here and in the services, never by a channel: the
    inquiries' lookups and the dashboards' pages read from ``database.read_url`` while it
    is close enough behind (``Database.replica_lookup``); everything else, and every
    write, on the primary.
    """
    config = settings.database
    pool_size = max(config.pool_size, min_pool_size)
    db = Database(config.url, pool_size=pool_size, echo=config.echo, pooler=config.pooler,
                  read_url=config.read_url, read_max_lag=config.read_max_lag_seconds)
    return Core.build(db, settings, background_log=background_log)
