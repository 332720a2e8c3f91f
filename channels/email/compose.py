"""The reply as an RFC 5322 message: a pure function of the outbox row and its envelope.

A reply to a citizen's mail, or (without an envelope) a notification sent by e-mail.
Arabic first, then English; plain text and HTML (each language in its own block, Arabic
``dir="rtl"``); threaded under the citizen's mail (``In-Reply-To``, ``References``; the
subject is fixed, ``channels.email.reply.reply_subject``); marked as an automatic reply
so that no responder answers it back (``Auto-Submitted: auto-replied``,
``X-Auto-Response-Suppress: All``, RFC 3834).
"""

from __future__ import annotations

import html
import uuid
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate

from channels.email.reply import reply_subject
from core.messaging.bilingual import Section, plain_text, split_sections
from core.messaging.mail import ReplyEnvelope
from core.messaging.outbox import Claimed
from core.messaging.subjects import notification_subject

_DIRECTION = {"ar": "rtl", "en": "ltr"}
# Outbox kinds of Citizen's Voice (core.voice.notices, channels.email.voice).
VOICE_KINDS = "voice_"


def message_id_for(notification_id: int, from_address: str,
                   queued_at: datetime | None = None) -> str:
    """Our Message-ID for an outbox row: the same on every attempt, so a reply sent twice
    across a crash is one message to the citizen's mail client; and with the time the row
    was queued, not reused when ids repeat (a database restored, a second install), which
    Gmail would take for the same message and drop."""
    domain = from_address.rpartition("@")[2] or "localhost"
    stamp = queued_at.isoformat() if queued_at is not None else ""
    token = uuid.uuid5(uuid.NAMESPACE_URL,
                       f"mailto:{from_address}/{notification_id}/{stamp}").hex
    return f"<{token[:20]}.{notification_id}@{domain}>"


def compose_reply(claimed: Claimed, envelope: ReplyEnvelope | None, *, from_address: str,
                  from_name: str = "", queued_at: datetime | None = None,
                  html: str | None = None) -> EmailMessage:
    """The message of an outbox row; ``html``: the HTML part its author wrote
    (``MailStore.compositions``), else one made from the body's sections."""
    message = EmailMessage(policy=policy.default)
    local, _, domain = from_address.rpartition("@")
    message["From"] = Address(display_name=from_name, username=local, domain=domain) \
        if from_name else from_address
    message["To"] = claimed.recipient
    message["Subject"] = subject_of(claimed.kind, envelope is not None)
    message["Date"] = formatdate(localtime=False, usegmt=True)
    message["Message-ID"] = message_id_for(claimed.id, from_address, queued_at)
    if envelope and envelope.in_reply_to:
        message["In-Reply-To"] = envelope.in_reply_to
    if envelope and envelope.references:
        message["References"] = envelope.references
    message["Auto-Submitted"] = "auto-replied" if envelope else "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message["Precedence"] = "auto_reply"
    message["X-Loop"] = from_address
    sections = list(envelope.sections) if envelope and envelope.sections else \
        split_sections(claimed.body, claimed.language)
    message.set_content(plain_text(sections), charset="utf-8")
    message.add_alternative(html if html is not None else html_body(sections),
                            subtype="html", charset="utf-8")
    return message


def subject_of(kind: str, in_thread: bool) -> str:
    """A fixed subject, never the citizen's: a notification's title; a reply to an
    inquiry "Re: " and the inquiry title; a Citizen's Voice mail in the citizen's thread
    "Re: " and its own title. Never the subject stored with the reply: one queued before
    replies had a fixed subject echoes the sender's."""
    if kind.startswith(VOICE_KINDS):
        return ("Re: " if in_thread else "") + notification_subject(kind)
    return reply_subject() if in_thread else notification_subject(kind)


def sender_address(kind: str, from_address: str, voice_address: str = "") -> str:
    """The From of a mail of ``kind``: Citizen's Voice's mails come from its address
    (where the citizen's replies go), when one is configured."""
    return voice_address if voice_address and kind.startswith(VOICE_KINDS) else from_address


def html_body(sections: list[Section]) -> str:
    blocks = []
    for section in sections:
        direction = _DIRECTION.get(section.lang, "ltr")
        align = "right" if direction == "rtl" else "left"
        paragraphs = "".join(
            f"<p>{html.escape(paragraph).replace(chr(10), '<br>')}</p>"
            for paragraph in section.text.split("\n\n"))
        blocks.append(f'<div lang="{section.lang}" dir="{direction}" '
                      f'style="text-align:{align}">{paragraphs}</div>')
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"></head>'
            '<body style="font-family:Tahoma,Arial,sans-serif">'
            + "<hr>".join(blocks) + "</body></html>")
