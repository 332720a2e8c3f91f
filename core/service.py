"""The core's front door: the use cases the channels and the gateway call."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError

from core.access.tokens import TokenVerifier
from core.config import CoreConfig
from core.directory import reference
from core.platform.db import Database
from core.platform.errors import CoreError
from core.platform.telemetry import EVENTS
from core.transactions import lifecycle
from core.transactions.answer import Answer
from core.transactions.events import EVENT_TYPES, parse_event
from core.transactions.inquiry import InquiryRequest, InquiryService
from core.transactions.inquiry_log import InquiryLogWriter


@dataclass
class Core:
    db: Database
    config: CoreConfig
    inquiries: InquiryService
    inquiry_log: InquiryLogWriter
    tokens: TokenVerifier

    @classmethod
    def build(cls, db: Database, config: CoreConfig, *, background_log: bool = True) -> Core:
        log = InquiryLogWriter(db.write_engine, background=background_log)
        return cls(db=db, config=config, inquiries=InquiryService(db.lookup, config, log),
                   inquiry_log=log, tokens=TokenVerifier(db.read))

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

    def upsert_department(self, code: str, data: Any) -> reference.Upserted:
        with self.db.write.begin() as session:
            return reference.upsert_department(session, code, data)

    def upsert_employee(self, code: str, data: Any) -> reference.Upserted:
        with self.db.write.begin() as session:
            return reference.upsert_employee(session, code, data)

    def upsert_agency(self, code: str, data: Any) -> reference.Upserted:
        with self.db.write.begin() as session:
            return reference.upsert_agency(session, code, data)

    def close(self) -> None:
        self.inquiry_log.close()
        self.db.dispose()
