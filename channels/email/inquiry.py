"""Inquiries by e-mail ("your e-mail acts for you"): which mail gets which answer.

The IMAP adapter parses a mail into an ``InboundEmail`` and calls ``receive``: a mail
seen before (its dedupe key stored) is a duplicate; one the loop rules, the sender's
authentication (our server's Authentication-Results, ``authentication.py``) or the
per-sender rate policy refuse is stored with the reason and no reply at all; any other
is answered, under a fixed subject (the mail's own is never echoed), each
number it names looked up through the core's inquiry service (which verifies the sender
by the address on file or the national ID the mail carries). A mail that asks more than
the status (``asks``) is also filed as an enquiry about its first number, and the reply
says a person will answer, with the tracking number. The core's ``MailStore``
stores the mail with its reply queued, in one transaction, before the mailbox is told the
mail is done: a mail seen twice, or again after a crash, is answered once. A national ID
in a mail verifies the sender and is never stored: the stored text has it masked.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from channels.email import asks
from channels.email.authentication import not_authenticated
from channels.email.identifiers import (
    find_national_id,
    find_transaction_numbers,
    redact_national_ids,
)
from channels.email.loops import loop_reason
from channels.email.reply import reply_references, reply_sections, reply_subject
from core.identity.addresses import mask_email
from core.messaging.bilingual import Section
from core.messaging.inbound import Received
from core.messaging.mail import (
    CHANNEL,
    HEADER_MAX,
    REFERENCES_MAX,
    SENDER_MAX,
    MailRecord,
    MailStore,
    storable,
)
from core.service import Core
from core.transactions.answer import Answer
from core.transactions.inquiry import InquiryRequest

log = logging.getLogger(__name__)

# Replies one address may get within this window (``EmailRules.max_replies_per_hour``).
REPLY_WINDOW = timedelta(hours=1)
RATE_LIMITED = "rate limit: replies per hour"
# The circuit breaker: an address that reached the hourly limit gets nothing for a day
# (a loop no header reveals keeps going; one a day still answers would never stop).
SILENCED = "rate limit: silenced for a day"
SILENCE = timedelta(days=1)
# A question beyond the status filed as an enquiry (``asks``): "<ASKED> <tracking>"; or not
# filed, for the filing limits or a refusal of the core's.
ASKED = "enquiry: filed"
ASK_TOO_MANY = "enquiry: too many cases"
ASK_REFUSED = "enquiry: refused"


@dataclass(frozen=True)
class InboundEmail:
    """A citizen's mail as the adapter understood it."""

    sender: str  # the From address
    subject: str
    text: str  # the new text only: no quoted history, HTML converted, attachments left out
    headers: dict[str, str] = field(default_factory=dict)  # lower-case name -> value
    message_id: str | None = None
    references: str = ""
    in_reply_to: str = ""
    recipient: str = ""
    # Every address it was sent to: To, Cc, and the receiving server's Delivered-To and
    # X-Original-To (a Bcc shows only there), lower case.
    recipients: tuple[str, ...] = ()
    # Identifies a mail without a Message-ID (a digest of its bytes).
    digest: str = ""
    oversized: bool = False
    # The Received and Authentication-Results fields, topmost first: (name, value).
    trace: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class EmailRules:
    """The responder's settings its policy reads."""

    own_addresses: frozenset[str] = frozenset()
    # Replies one address may get per hour: a backstop against loops no header reveals.
    max_replies_per_hour: int = 10
    # The authserv-ids of our receiving server's Authentication-Results (RFC 8601): only a
    # mail whose From it authenticated is answered. None: no mail is.
    authserv_ids: frozenset[str] = frozenset()
    # Citizen's Voice's address (``email.voice_address``, lower case); "" when off.
    voice_address: str = ""


def dedupe_key(mail: InboundEmail) -> str:
    """One key per mail: a digest of the sender and the Message-ID as written (whitespace
    removed), else of the mail's bytes. The sender is part of it, so another's mail that
    reuses a Message-ID is not taken for a duplicate; "<>" or none falls back to bytes."""
    key = message_key(mail.sender, mail.message_id)
    if key is not None:
        return key
    return "email:digest:" + (mail.digest or hashlib.sha256(
        f"{mail.sender}\n{mail.subject}\n{mail.text}".encode("utf-8", "replace")).hexdigest())


def message_key(sender: str, message_id: str | None) -> str | None:
    """``dedupe_key`` of a mail from ``sender`` with ``message_id``: also what finds the
    case a citizen's earlier mail filed or acted on (its source key); None without an id."""
    message_id = "".join((message_id or "").split())
    if not message_id.strip("<>"):
        return None
    source = f"{sender.strip().lower()}\n{message_id}"
    return "email:id:" + hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


def receive(core: Core, mail: InboundEmail, rules: EmailRules) -> Received:
    """Store one mail and queue its reply (or record why it gets none), in one transaction.

    A mail stored before (same dedupe key) is returned as a duplicate, nothing added. Only a
    database failure raises: then the adapter must leave the mail unread in the mailbox.
    """
    store = MailStore(core.db)
    key = dedupe_key(mail)
    seen = store.already_received(key)
    if seen is not None:
        return seen
    return answer(core, store, mail, key, sender_of(mail), rules)


def sender_of(mail: InboundEmail) -> str:
    """The From address as stored and compared: lower case, storable."""
    return storable(mail.sender.strip().lower(), SENDER_MAX)


def answer(core: Core, store: MailStore, mail: InboundEmail, key: str, sender: str,
           rules: EmailRules) -> Received:
    """Answer a mail not seen before as an inquiry (or record why it gets no reply)."""
    reason = why_no_reply(store, mail, sender, rules)
    if reason is not None:
        log.info("e-mail from %s gets no reply: %s", mask_email(sender), reason)
        return store.record(record_of(mail, key, sender, note=reason, sections=None))
    if mail.oversized:
        return store.record(record_of(mail, key, sender, note="oversized",
                                      sections=reply_sections([], core.config.tz,
                                                              oversized=True)))
    answers, national_id = _answers(core, mail, sender)
    asked, note = None, None
    if answers and core.config.voice.enabled and asks.asks_more(mail.text):
        asked = asks.file_question(
            core, number=answers[0][0], text=mail.text,
            sender=sender, key=key, references=storable(mail.references, REFERENCES_MAX),
            message_id=storable(mail.message_id or "", HEADER_MAX) or None,
            national_id=national_id)
        note = (f"{ASKED} {asked.tracking}" if asked.tracking else
                ASK_TOO_MANY if asked.too_many else ASK_REFUSED)
    return store.record(record_of(mail, key, sender, note=note,
                                  sections=reply_sections(answers, core.config.tz,
                                                          asked=asked)))


def why_no_reply(store: MailStore, mail: InboundEmail, sender: str,
                 rules: EmailRules) -> str | None:
    """The reason this mail gets no reply (a loop rule, a From our server did not
    authenticate, the rate policy), or None. A reply goes to the From address: to one
    nobody vouches for, whoever forged it could aim the emirate's mail at anyone, so
    nothing at all is sent (not even a fixed text: that would still be mail to someone
    who never wrote, and backscatter our domain's reputation pays for)."""
    reason = loop_reason(mail.headers, sender, rules.own_addresses)
    if reason is None:
        reason = not_authenticated(mail.trace, sender, rules.authserv_ids)
    if reason is None and store.noted_within(sender, RATE_LIMITED, SILENCE):
        reason = SILENCED
    if reason is None and store.replies_within(sender, REPLY_WINDOW) \
            >= rules.max_replies_per_hour:
        reason = RATE_LIMITED
    return reason


def _answers(core: Core, mail: InboundEmail, sender: str
             ) -> tuple[list[tuple[str, Answer]], str | None]:
    """Each number the mail names with its status, and the national ID it carries."""
    asked = f"{mail.subject}\n{mail.text}"
    national_id = find_national_id(asked)
    answers = []
    for number in find_transaction_numbers(asked, core.config.locale.phone_region):
        answers.append((number, core.inquire(InquiryRequest(
            channel=CHANNEL, number_text=number, email=sender, national_id=national_id,
            origin=sender))))
    return answers, national_id


def record_of(mail: InboundEmail, key: str, sender: str, *, note: str | None,
              sections: list[Section] | None, kind: str = "answer",
              answered_apart: bool = False) -> MailRecord:
    """What is kept of the mail: national IDs masked, the reply threaded under it."""
    message_id = storable(mail.message_id or "", HEADER_MAX) or None
    return MailRecord(
        dedupe_key=key, sender=sender, recipient=mail.recipient.strip().lower(),
        text=redact_national_ids(f"{mail.subject}\n\n{mail.text}"), message_id=message_id,
        reply_subject=reply_subject(),
        references=reply_references(storable(mail.references, REFERENCES_MAX), message_id),
        note=note, sections=sections, kind=kind, answered_apart=answered_apart)
