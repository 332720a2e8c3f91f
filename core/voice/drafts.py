"""A case filed on the portal is filed only once the citizen's mobile is proven: the form
becomes a draft and a one-time SMS code (``core.messaging.codes``) goes to the mobile; the
right code files the draft as the case.

The draft and its photos wait in the database, keyed by the code's row, not in a web
process's memory: the code may be typed into another process or machine, or after a
restart; the citizen is not asked for the photos twice. The draft is refused before any
SMS is sent when the case could not be filed (its body, the filing limits, the photos),
and the SMS is counted against the code limits, so that the form cannot be used to send
texts to someone else's mobile. A draft left without its code is deleted after an hour.

A draft is filed once: its case's source key is "portal:<code id>", so a second
confirmation (a double click, a retry after a lost answer) finds the first case.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from core.identity.national_id import hash_national_id
from core.messaging import codes as one_time
from core.messaging.codes import OneTimeCodes, Sent
from core.platform.db import Database
from core.platform.errors import InvalidRequest, NotFound, TooMany
from core.platform.settings import CoreSettings
from core.platform.validation import validated
from core.voice import attachments, cases
from core.voice.attachments import NewAttachment
from core.voice.cases import FilingBody
from core.voice.filed import Filed
from core.voice.limits import Filer, FilingLimits
from core.voice.models import CaseDraft, DraftPhoto

PURPOSE = "voice_filing"
# Where a draft keeps the keyed hash of the national ID a question was asked with.
_ID_HASH = "national_id_hash"
KEPT_FOR = timedelta(hours=1)


class Filing(Protocol):
    """What a draft needs of ``VoiceService``: its limits and filing a case."""

    @property
    def limits(self) -> FilingLimits: ...

    def file_case(self, data: Any, *, source_key: str | None = None,
                  self_service: bool = False, origin: str | None = None,
                  attachments: Sequence[NewAttachment] = (),
                  national_id_hash: str | None = None) -> Filed: ...


def source_key(code_id: int) -> str:
    """The case's source key: the code that proved its filer's mobile."""
    return f"portal:{code_id}"


class Drafts:
    def __init__(self, db: Database, config: CoreSettings, codes: OneTimeCodes,
                 voice: Filing) -> None:
        self._db = db
        self._config = config
        self._codes = codes
        self._voice = voice

    def start(self, data: Any, photos: Sequence[NewAttachment], *,
              origin: str | None) -> Sent:
        """Keep the filing (``POST /api/v1/cases``'s body, its ``citizen.mobile``
        required) and its photos, checked by the channel already; send the code to the
        mobile. Refused, with nothing kept and nothing sent: an invalid body or photo
        (``InvalidRequest``), a citizen or origin over the filing limits or the code
        limits, a code sent to this mobile within the cooldown (``TooMany``)."""
        body = validated(FilingBody, data, what="body")
        mobile = body.citizen.mobile
        if mobile is None:
            raise InvalidRequest("citizen.mobile: the code is sent to it",
                                 code="invalid_field", field="citizen.mobile")
        _check_photos(photos)
        self._voice.limits.check(Filer(mobile, body.citizen.email, origin))
        self._codes.check_send(mobile, origin)
        # A national ID that proves the filing's transaction is the citizen's is kept
        # only as its keyed hash for the hour a draft waits (never in the browser).
        kept = body.model_dump(mode="json", exclude_none=True,
                               exclude={"citizen": {"national_id"}})
        if body.citizen.national_id:
            kept[_ID_HASH] = hash_national_id(body.citizen.national_id,
                                              self._config.national_id_key())
        try:
            with self._db.write.begin() as session:
                cases.check_choices(session, self._config, body)
                row, sent = self._codes.issue(session, PURPOSE, mobile, lang=body.lang)
                draft = CaseDraft(code_id=row.id, data=kept)
                session.add(draft)
                session.flush()
                session.add_all(DraftPhoto(draft_id=draft.id, content_type=photo.content_type,
                                           data=photo.data or b"") for photo in photos)
        except IntegrityError as exc:  # another process issued a code for it meanwhile
            raise TooMany("a code was just sent; please wait", code="code_cooldown",
                          retry_after=int(one_time.RESEND_AFTER.total_seconds())) from exc
        self._codes.count_send(mobile, origin)
        return sent

    def waiting(self, code_id: int) -> Sent | None:
        """The code a draft waits for, while it may still be typed."""
        return self._codes.sent(code_id, PURPOSE)

    def resend(self, code_id: int, *, lang: str, origin: str | None) -> Sent:
        return self._codes.resend(code_id, PURPOSE, lang=lang, origin=origin)

    def confirm(self, code_id: int, typed: str, *, origin: str | None) -> Filed:
        """File the draft when ``typed`` is its code (``codes.verify``'s refusals
        otherwise). The case's mobile is the one the code went to; the national ID the
        citizen proved a transaction with (a question about it) joins the filing as the
        keyed hash the draft kept. Confirmed again: the case the first filed; a draft
        gone (an hour passed): ``NotFound`` ``no_draft``."""
        key = source_key(code_id)
        with self._db.read() as session:
            if cases.filed_from(session, key) is not None:
                return self._voice.file_case({}, source_key=key)
        # Verified before (the filing then failed, or its answer was lost): not again.
        proof = self._codes.verified(code_id, PURPOSE, within=KEPT_FOR) or \
            self._codes.verify(code_id, PURPOSE, typed, origin=origin)
        with self._db.read() as session:
            draft = session.scalar(select(CaseDraft).where(CaseDraft.code_id == code_id))
            if draft is None:
                raise NotFound("the form has expired; please fill it in again",
                               code="no_draft")
            data = dict(draft.data)
            kept_hash = data.pop(_ID_HASH, None)
            national_id_hash = kept_hash if isinstance(kept_hash, str) else None
            photos = [NewAttachment("photo", row.content_type, row.data)
                      for row in session.scalars(select(DraftPhoto).where(
                          DraftPhoto.draft_id == draft.id).order_by(DraftPhoto.id))]
        citizen = data.get("citizen")
        filer: dict[str, Any] = {**(citizen if isinstance(citizen, dict) else {}),
                                 "mobile": proof.mobile}
        data["citizen"] = filer
        filed = self._voice.file_case(data, source_key=key, self_service=True,
                                      origin=origin, attachments=photos,
                                      national_id_hash=national_id_hash)
        self._forget(code_id)
        return filed

    def forget_old(self, now: datetime) -> int:
        """Delete the drafts kept longer than ``KEPT_FOR`` (their code long dead)."""
        with self._db.write.begin() as session:
            old = select(CaseDraft.id).where(CaseDraft.created_at <= now - KEPT_FOR)
            session.execute(delete(DraftPhoto).where(DraftPhoto.draft_id.in_(old)))
            result = session.execute(delete(CaseDraft).where(CaseDraft.id.in_(old)))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _forget(self, code_id: int) -> None:
        with self._db.write.begin() as session:
            ids = select(CaseDraft.id).where(CaseDraft.code_id == code_id)
            session.execute(delete(DraftPhoto).where(DraftPhoto.draft_id.in_(ids)))
            session.execute(delete(CaseDraft).where(CaseDraft.code_id == code_id))


def _check_photos(photos: Sequence[NewAttachment]) -> None:
    """The limits ``attachments.add`` enforces again at filing, said before the SMS."""
    if len(photos) > attachments.MAX_PHOTOS:
        raise InvalidRequest(f"photos: at most {attachments.MAX_PHOTOS}",
                             code="invalid_attachment", field="photos")
    for photo in photos:
        if photo.kind != "photo" or photo.content_type not in attachments.PHOTO_TYPES \
                or not photo.data or len(photo.data) > attachments.MAX_PHOTO_BYTES:
            raise InvalidRequest("photo: JPEG, PNG or WebP of at most 5 MB",
                                 code="invalid_attachment", field="photos")
