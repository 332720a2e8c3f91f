"""What a citizen gives with a case besides its text: photos (the portal) and a voice
message (the phone line).

A channel checks what it received before it calls ``VoiceService.file_case`` with
``NewAttachment``s: a photo by its content (not its name or declared type), stripped of
its metadata (location above all); a recording by its length. Here the limits every
channel shares are enforced again, in the filing's transaction, so that no channel can
store more than a case may hold. A recording may arrive as a URL at the telephony
provider, fetched into the database later (``pending_recordings`` / ``store_fetched``).

Only staff who may see the case get an attachment (``VoiceService.attachment``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.platform.errors import InvalidRequest
from core.voice.models import ATTACHMENT_KINDS, CaseAttachment, VoiceCase

MAX_PHOTOS = 3
MAX_PHOTO_BYTES = 5 * 1024 * 1024
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
MAX_RECORDINGS = 1
MAX_RECORDING_BYTES = 20 * 1024 * 1024
MAX_RECORDING_SECONDS = 300
# How often a recording's fetch is tried before it is given up (and left as a URL).
MAX_FETCH_ATTEMPTS = 10


@dataclass(frozen=True)
class NewAttachment:
    """A photo (``data``) or a recording (``data``, or ``source_url`` to fetch)."""

    kind: str
    content_type: str
    data: bytes | None = None
    source_url: str | None = None
    seconds: int | None = None


@dataclass(frozen=True)
class AttachmentView:
    id: int
    kind: str
    content_type: str
    byte_size: int
    seconds: int | None
    ready: bool  # stored (a recording not yet fetched is not)
    created_at: datetime
    # A recording's failed fetches so far (``MAX_FETCH_ATTEMPTS`` once given up, also at
    # once for a failure no retry can mend: so not shown as a count).
    fetch_attempts: int = 0

    @property
    def given_up(self) -> bool:
        """A recording the scheduler no longer tries to fetch (``MAX_FETCH_ATTEMPTS``)."""
        return not self.ready and self.fetch_attempts >= MAX_FETCH_ATTEMPTS


def add(session: Session, case: VoiceCase, attachment: NewAttachment) -> CaseAttachment:
    """Store ``attachment`` with ``case``, in the caller's transaction; InvalidRequest
    (nothing stored) when it breaks a limit."""
    if attachment.kind not in ATTACHMENT_KINDS:
        raise InvalidRequest(f"attachment: one of {', '.join(ATTACHMENT_KINDS)}",
                             code="invalid_attachment", field="attachments")
    if attachment.data is None and attachment.source_url is None:
        raise InvalidRequest("attachment: no content", code="invalid_attachment",
                             field="attachments")
    size = len(attachment.data or b"")
    held = session.scalar(select(func.count()).select_from(CaseAttachment).where(
        CaseAttachment.case_id == case.id, CaseAttachment.kind == attachment.kind)) or 0
    if attachment.kind == "photo":
        if attachment.content_type not in PHOTO_TYPES or not attachment.data:
            raise InvalidRequest("photo: JPEG, PNG or WebP", code="invalid_attachment",
                                 field="photos")
        if size > MAX_PHOTO_BYTES:
            raise InvalidRequest("photo: at most 5 MB", code="invalid_attachment",
                                 field="photos")
        if held >= MAX_PHOTOS:
            raise InvalidRequest(f"photos: at most {MAX_PHOTOS}", code="invalid_attachment",
                                 field="photos")
    else:
        if not attachment.content_type.startswith("audio/"):
            raise InvalidRequest("recording: an audio type", code="invalid_attachment",
                                 field="recording")
        if size > MAX_RECORDING_BYTES or (attachment.seconds or 0) > MAX_RECORDING_SECONDS:
            raise InvalidRequest("recording: too long", code="invalid_attachment",
                                 field="recording")
        if held >= MAX_RECORDINGS:
            raise InvalidRequest("recording: one per case", code="invalid_attachment",
                                 field="recording")
    row = CaseAttachment(case_id=case.id, kind=attachment.kind,
                         content_type=attachment.content_type, byte_size=size,
                         data=attachment.data, source_url=(
                             None if attachment.data is not None else attachment.source_url),
                         fetch_attempts=0, seconds=attachment.seconds,
                         fetched_at=None)
    session.add(row)
    session.flush()
    return row


def listed(session: Session, case_id: int) -> list[AttachmentView]:
    """The case's attachments, without their content, oldest first."""
    rows = session.execute(
        select(CaseAttachment.id, CaseAttachment.kind, CaseAttachment.content_type,
               CaseAttachment.byte_size, CaseAttachment.seconds,
               CaseAttachment.source_url, CaseAttachment.fetched_at,
               CaseAttachment.created_at, CaseAttachment.fetch_attempts)
        .where(CaseAttachment.case_id == case_id).order_by(CaseAttachment.id)).all()
    # A fetched recording keeps its provider's URL (to delete it there): stored is ready.
    return [AttachmentView(row.id, row.kind, row.content_type, row.byte_size, row.seconds,
                           row.source_url is None or row.fetched_at is not None,
                           row.created_at, row.fetch_attempts) for row in rows]


def content(session: Session, case_id: int, attachment_id: int
            ) -> tuple[str, bytes] | None:
    """The attachment's type and bytes, if it belongs to the case and is stored."""
    row = session.get(CaseAttachment, attachment_id)
    if row is None or row.case_id != case_id or row.data is None:
        return None
    return row.content_type, row.data
