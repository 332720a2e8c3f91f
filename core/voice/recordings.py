"""Voice messages left on the phone line, fetched from the telephony provider into the
database.

The line files the case at once with the recording's URL at the provider
(``CaseAttachment.source_url``); the scheduler fetches the audio later and stores it
with the case (``store_fetched``), so that staff play it from our own database and the
provider's copy can be deleted. A fetch that fails is tried again after a growing pause
(``retry_after``: from 30 seconds, doubling, at most an hour), up to
``MAX_FETCH_ATTEMPTS`` tries; then it is given up and the attachment stays a URL (the
log and /healthz say so).

One machine fetches at a time (the lease ``RECORDINGS_LEASE``), and the store itself is
conditional on nothing being stored yet: should two machines fetch the same recording
(a lease lost mid-fetch), it is stored once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, and_, func, or_, select, update

from core.platform import leases
from core.platform.db import Database
from core.voice.attachments import MAX_FETCH_ATTEMPTS, MAX_RECORDING_BYTES
from core.voice.models import CaseAttachment, VoiceCase

RECORDINGS_LEASE = "voice-recordings"
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# Recordings looked at per pass (each fetch may take seconds).
BATCH = 20


@dataclass(frozen=True)
class PendingRecording:
    """A recording waiting at the provider: what the fetcher needs, and the case's
    tracking number for the log."""

    id: int
    tracking: str
    source_url: str
    fetch_attempts: int


def retry_after(attempts: int) -> timedelta:
    """The pause after the ``attempts``-th failed fetch (30 s, 1 min, 2 min, ... 1 h)."""
    if attempts <= 0:
        return timedelta(0)
    pause: timedelta = FIRST_RETRY * (2 ** (attempts - 1))
    return min(pause, LONGEST_RETRY)


def waited(attempts: int) -> timedelta:
    """The pauses after ``attempts`` failed fetches, added up."""
    return sum((retry_after(n) for n in range(1, attempts + 1)), timedelta(0))


def next_try_at(created_at: datetime, attempts: int) -> datetime:
    """When a recording that failed ``attempts`` times is tried again: its pauses added
    up from when it was filed (no column of its own: a function of the two)."""
    return created_at + waited(attempts)


def pending_recordings(db: Database, now: datetime, limit: int = BATCH
                       ) -> list[PendingRecording]:
    """Recordings not yet fetched, not given up, whose next try is due, oldest first."""
    due = or_(*(and_(CaseAttachment.fetch_attempts == attempts,
                     CaseAttachment.created_at <= now - waited(attempts))
                for attempts in range(MAX_FETCH_ATTEMPTS)))
    with db.read() as session:
        rows = session.execute(
            select(CaseAttachment.id, VoiceCase.tracking, CaseAttachment.source_url,
                   CaseAttachment.fetch_attempts)
            .join(VoiceCase, VoiceCase.id == CaseAttachment.case_id)
            .where(CaseAttachment.kind == "recording", CaseAttachment.data.is_(None),
                   CaseAttachment.source_url.is_not(None), due)
            .order_by(CaseAttachment.id).limit(limit)).all()
    return [PendingRecording(row.id, row.tracking, row.source_url, row.fetch_attempts)
            for row in rows]


def store_fetched(db: Database, attachment_id: int, content_type: str, data: bytes,
                  now: datetime) -> bool:
    """Store a fetched recording's audio; False when it was stored already (by another
    machine) or is too large (the fetcher stops before this: a bound here as well)."""
    if not data or len(data) > MAX_RECORDING_BYTES:
        return False
    with db.write.begin() as session:
        return bool(cast(CursorResult[Any], session.execute(
            update(CaseAttachment)
            .where(CaseAttachment.id == attachment_id, CaseAttachment.data.is_(None))
            .values(data=data, content_type=content_type, byte_size=len(data),
                    fetched_at=now)
            .execution_options(synchronize_session=False))).rowcount)


def fetch_failed(db: Database, attachment_id: int, *, permanent: bool = False) -> int:
    """Count one failed fetch; the attempts so far (``MAX_FETCH_ATTEMPTS``: given up).
    ``permanent``: no later try can succeed (a URL on a host not allowed, a file too
    large): given up at once."""
    attempts = MAX_FETCH_ATTEMPTS if permanent else CaseAttachment.fetch_attempts + 1
    with db.write.begin() as session:
        session.execute(
            update(CaseAttachment)
            .where(CaseAttachment.id == attachment_id, CaseAttachment.data.is_(None))
            .values(fetch_attempts=attempts)
            .execution_options(synchronize_session=False))
        return session.scalar(select(CaseAttachment.fetch_attempts)
                              .where(CaseAttachment.id == attachment_id)) or 0


def given_up(db: Database) -> int:
    """Recordings whose fetch was given up (for the operator)."""
    with db.read() as session:
        return session.scalar(
            select(func.count()).select_from(CaseAttachment)
            .where(CaseAttachment.kind == "recording", CaseAttachment.data.is_(None),
                   CaseAttachment.fetch_attempts >= MAX_FETCH_ATTEMPTS)) or 0


class Recordings:
    """The fetch's use of the core, as the scheduler calls it (``VoiceService.recordings``):
    the lease, the recordings due, and what came of each fetch."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def hold_lease(self, holder: str, ttl: timedelta, *, now: datetime,
                   state: dict[str, Any] | None = None) -> bool:
        """Take or renew the fetch's lease (with the last pass's figures, for /healthz)."""
        return leases.acquire(self._db, RECORDINGS_LEASE, holder, ttl, now=now, state=state)

    def release_lease(self, holder: str) -> bool:
        return leases.release(self._db, RECORDINGS_LEASE, holder)

    def pending(self, now: datetime, limit: int = BATCH) -> list[PendingRecording]:
        return pending_recordings(self._db, now, limit)

    def store(self, attachment_id: int, content_type: str, data: bytes,
              now: datetime) -> bool:
        return store_fetched(self._db, attachment_id, content_type, data, now)

    def failed(self, attachment_id: int, *, permanent: bool = False) -> int:
        return fetch_failed(self._db, attachment_id, permanent=permanent)

    def given_up(self) -> int:
        return given_up(self._db)
