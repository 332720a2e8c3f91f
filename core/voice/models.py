"""Citizen's Voice tables: categories, deadline policies, cases, their events, answers
and the alarms raised on them.

Times are UTC. A case names the deadline policy and the calendar version it was timed
with, so its deadlines can be recomputed from its events and explained; escalation is a
level computed from the clock (``escalation`` keeps the highest one raised, and
``next_alarm_at`` when the next one falls due, for a scan that reads only due cases).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.platform.db import utcnow
from core.platform.models import Base, BigId

CASE_TYPES = ("complaint", "suggestion", "enquiry")


class VoiceCategory(Base):
    """What a case is about, per agency and case type ("road works", "licences")."""

    __tablename__ = "voice_categories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    agency_id: Mapped[int] = mapped_column(BigId, ForeignKey("agencies.id"), index=True)
    name_ar: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    # The case types it applies to: a subset of CASE_TYPES.
    types: Mapped[list[str]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class DeadlinePolicy(Base):
    """Acknowledge and answer targets for (agency, category, case type), any of them null
    for "every": the most specific current one applies, falling back to the agency's
    default and then the emirate's (agency null). Rows are never changed, only superseded,
    so a case can always name the policy it was timed with."""

    __tablename__ = "voice_policies"
    __table_args__ = (
        Index("ix_voice_policies_scope", "agency_id", "category_id", "case_type"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agency_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("agencies.id"))
    category_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("voice_categories.id"))
    case_type: Mapped[str | None] = mapped_column(String(12))
    # A target is a number of working days ("d") or working hours ("h").
    acknowledge_value: Mapped[int] = mapped_column(Integer)
    acknowledge_unit: Mapped[str] = mapped_column(String(1))
    answer_value: Mapped[int] = mapped_column(Integer)
    answer_unit: Mapped[str] = mapped_column(String(1))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    superseded_at: Mapped[datetime | None]


class VoiceCase(Base):
    """A complaint, suggestion or enquiry, from its receipt to its closing."""

    __tablename__ = "voice_cases"
    __table_args__ = (
        # The coordinator's inbox and the leader's list: an agency's cases by state, the
        # nearest deadline first; the specialist's queue: theirs by state.
        Index("ix_voice_cases_inbox", "agency_id", "state", "answer_due"),
        Index("ix_voice_cases_queue", "assigned_user_id", "state", "answer_due"),
        # The leader's list of one category (a few of an agency's many cases).
        Index("ix_voice_cases_category", "agency_id", "category_id", "state", "answer_due"),
        # Leadership's list across agencies (core/voice/queues.py).
        Index("ix_voice_cases_state_due", "state", "answer_due", "id"),
        # The answered cases whose reopen window has passed (core/voice/closing.py).
        Index("ix_voice_cases_state_answered", "state", "answered_at"),
        # Open311's listing: the requests received in a date range, newest first.
        Index("ix_voice_cases_received", "received_at", "id"),
        # The cases changed since the dashboards' last refresh (core/dashboards/summary.py).
        Index("ix_voice_cases_updated", "updated_at"),
        # The dashboards' backlog now (open, overdue, ageing by agency): read from the
        # index alone (core/dashboards/voice.py ``backlogs``).
        Index("ix_voice_cases_backlog", "state", "calendar_version", "agency_id",
              "cycle_started_at", "answer_due"),
        # Similar cases on PostgreSQL (core/voice/similar.py): pg_trgm's trigram index on
        # the folded text; the migration makes it where the extension may be created.
        Index("ix_voice_cases_text_trgm", "text_folded", postgresql_using="gin",
              postgresql_ops={"text_folded": "gin_trgm_ops"},
              info={"only_on": "postgresql"}).ddl_if(dialect="postgresql"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Digits only, with a check digit: what the citizen reads out and types.
    tracking: Mapped[str] = mapped_column(String(16), unique=True)
    case_type: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(20))
    # Who handles it (the emirate's own agency when unrouted or sent back), and which
    # agency it is about (they differ for a complaint about an agency's own staff).
    agency_id: Mapped[int] = mapped_column(BigId, ForeignKey("agencies.id"))
    about_agency_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("agencies.id"))
    about_own_staff: Mapped[bool] = mapped_column(Boolean, default=False)
    category_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("voice_categories.id"))
    # An enquiry (or any case) about one transaction: what it asks about. While the
    # transaction's department holds the case (``department_id``, at the emirate), that
    # department's coordinator works it.
    transaction_id: Mapped[int | None] = mapped_column(ForeignKey("transactions.id"),
                                                       index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    channel: Mapped[str] = mapped_column(String(10))
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)
    # The text folded for matching (core.identity.arabic.fold), its first 1000
    # characters: what similar cases are found by (core/voice/similar.py).
    text_folded: Mapped[str | None] = mapped_column(Text)
    citizen_name: Mapped[str | None] = mapped_column(String(200))
    citizen_mobile: Mapped[str | None] = mapped_column(String(20), index=True)
    citizen_email: Mapped[str | None] = mapped_column(String(254))
    # A keyed hash (core.identity.national_id), never the ID itself.
    citizen_national_id_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    assigned_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff_users.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("voice_cases.id"))
    # The deadline cycle: 1, and one more each time the citizen reopens the case.
    cycle: Mapped[int] = mapped_column(SmallInteger, default=1)
    policy_id: Mapped[int] = mapped_column(BigId, ForeignKey("voice_policies.id"))
    calendar_version: Mapped[int] = mapped_column(BigId, ForeignKey("calendar_versions.id"))
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # When this cycle's clock started (received_at, or the reopening).
    cycle_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    # Deadlines of this cycle as if the clock ran on from now; null while paused (awaiting
    # the citizen) they are recomputed on resuming, from the events.
    acknowledge_due: Mapped[datetime | None]
    answer_due: Mapped[datetime | None]
    paused_since: Mapped[datetime | None]
    # 0 none, 1 warning, 2 breached, 3 leadership: the highest level raised this cycle.
    escalation: Mapped[int] = mapped_column(SmallInteger, default=0)
    next_alarm_at: Mapped[datetime | None] = mapped_column(index=True)
    rating: Mapped[int | None] = mapped_column(SmallInteger)
    rated_at: Mapped[datetime | None]
    # What the case was filed from, once: "sms:<dedupe key>", "email:<Message-ID>",
    # "ivr:<CallSid>", "portal:<code id>", "api:<token>:<Idempotency-Key>". A channel that
    # files again after a crash or a redelivery finds the case it filed (see
    # ``core.voice.cases.file_case``).
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # Filed by e-mail: the References the mails to the citizen carry (the thread their
    # first mail answered, then its Message-ID), so that every notice joins their thread.
    email_thread: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class CaseEvent(Base):
    """One change to a case: who (user, role; null user for the citizen or the system),
    when, from which state to which, and why. The case history, the audit of changes and
    the source of every figure on the dashboards."""

    __tablename__ = "voice_case_events"
    __table_args__ = (Index("ix_voice_case_events_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("voice_cases.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff_users.id"))
    # A user role, or "citizen" / "system".
    actor_role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    cycle: Mapped[int] = mapped_column(SmallInteger, default=1)
    reason: Mapped[str] = mapped_column(Text, default="")
    # A citizen's act from a channel's message, once (as ``VoiceCase.source_key``).
    source_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    # What the action carried: e.g. {"agency": "MUN"}, {"user": "ali"}, {"text": ...}.
    detail: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)


class CaseAnswer(Base):
    """An answer drafted by a specialist, sent by the coordinator: drafting and sending are
    separate acts, each with its author and time."""

    __tablename__ = "voice_answers"
    __table_args__ = (Index("ix_voice_answers_case", "case_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("voice_cases.id"))
    cycle: Mapped[int] = mapped_column(SmallInteger, default=1)
    text: Mapped[str] = mapped_column(Text)
    drafted_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff_users.id"))
    drafted_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[int | None] = mapped_column(BigId, ForeignKey("staff_users.id"))
    sent_at: Mapped[datetime | None]
    # A later draft replaces an unsent one; the replaced one stays for the record.
    superseded: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseAlarm(Base):
    """An alarm raised: at most one per (case, cycle, level), whatever machine scans."""

    __tablename__ = "voice_alarms"
    __table_args__ = (PrimaryKeyConstraint("case_id", "cycle", "level"),
                      # The alarms raised since the dashboards' last refresh.
                      Index("ix_voice_alarms_raised", "raised_at"))

    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("voice_cases.id"))
    cycle: Mapped[int] = mapped_column(SmallInteger)
    level: Mapped[int] = mapped_column(SmallInteger)
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)


ATTACHMENT_KINDS = ("photo", "recording")


class CaseAttachment(Base):
    """A file the citizen gave with the case: a photo from the portal (checked by its
    content and stripped of its metadata before it is stored) or a voice message left on
    the phone line (``source_url`` until the scheduler fetches it into ``data``).

    Kept in the database, not on a disk: every web process of every machine serves it,
    and it is backed up and deleted with its case. Shown only to staff who may see the
    case (``core.voice.permissions``).
    """

    __tablename__ = "voice_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    case_id: Mapped[int] = mapped_column(BigId, ForeignKey("voice_cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    content_type: Mapped[str] = mapped_column(String(100))
    byte_size: Mapped[int] = mapped_column(Integer, default=0)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Where a recording waits to be fetched (the telephony provider's URL), and how often
    # the fetch failed; None once fetched.
    source_url: Mapped[str | None] = mapped_column(Text)
    fetch_attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    seconds: Mapped[int | None] = mapped_column(Integer)  # a recording's length
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    fetched_at: Mapped[datetime | None]


class CaseDraft(Base):
    """A case a citizen filled in on the portal, waiting for the SMS code that proves
    their mobile (``core.voice.drafts``): kept in the database, not in one web process's
    memory, since the code may be typed into another process or machine. Deleted when the
    case is filed, or an hour later by the upkeep."""

    __tablename__ = "voice_drafts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("one_time_codes.id", ondelete="CASCADE"), unique=True)
    data: Mapped[dict[str, object]] = mapped_column(JSON)  # the filing's body
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DraftPhoto(Base):
    """A photo of a draft, checked and stripped of its metadata already."""

    __tablename__ = "voice_draft_photos"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    draft_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("voice_drafts.id", ondelete="CASCADE"), index=True)
    content_type: Mapped[str] = mapped_column(String(100))
    data: Mapped[bytes] = mapped_column(LargeBinary)
