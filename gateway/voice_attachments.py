"""The photos and recordings of a case on the staff case page, for staff who may see it.

The case page includes ``voice_case_attachments.html``, which lists them through
``case_attachments(tracking)`` (``Core.voice.attachments``: not found for anyone who may
not see the case). Each is served by ``Core.voice.attachment`` (the read audited) with
the type it was stored with, never sniffed (``nosniff``), never cached, shown inline
under the portal's CSP (images and media from the site itself). A recording answers
range requests, so that the player can seek.
"""

from __future__ import annotations

from flask import Blueprint, current_app, g, request
from werkzeug.exceptions import NotFound as HttpNotFound

from core.platform.errors import NotFound
from core.voice.attachments import AttachmentView
from core.voice.tracking import parse_tracking
from gateway.accounts import user_required
from gateway.voice_pages import CASE_ROLES

voice_attachments = Blueprint("voice_attachments", __name__, url_prefix="/voice")

EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp",
              "audio/mpeg": "mp3", "audio/wav": "wav", "audio/x-wav": "wav"}


@voice_attachments.app_context_processor
def _attachments_context() -> dict:
    return {"case_attachments": case_attachments}


def case_attachments(tracking: str) -> list[AttachmentView]:
    """The case's attachments for the signed-in user (none when they may not see it)."""
    actor = g.get("actor")
    if actor is None:
        return []
    try:
        return current_app.extensions["core"].voice.attachments(actor, tracking)
    except NotFound:
        return []


@voice_attachments.get("/cases/<tracking>/attachments/<int:attachment_id>")
@user_required(*CASE_ROLES)
def attachment(tracking: str, attachment_id: int):
    try:
        content_type, data = current_app.extensions["core"].voice.attachment(
            g.actor, tracking[:40], attachment_id)
    except NotFound as exc:
        raise HttpNotFound() from exc
    response = current_app.response_class(data, mimetype=content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The name from the parsed number only: nothing typed in the URL reaches the header.
    name = f"{parse_tracking(tracking[:40]) or 'case'}-{attachment_id}"
    response.headers["Content-Disposition"] = (
        f'inline; filename="{name}.{EXTENSIONS.get(content_type, "bin")}"')
    response.headers["Cache-Control"] = "private, no-store"
    return response.make_conditional(request, accept_ranges=True, complete_length=len(data))
