"""Citizen's Voice by e-mail: which mail files a case, which acts on one, and what each
gets back.

A mail is Citizen's Voice's when it is addressed to ``email.voice_address`` (To, Cc, or
the ``Delivered-To``/``X-Original-To`` the receiving server writes for a Bcc), or when
it answers one of our mails about a case (its In-Reply-To or References name one of
our notices' Message-IDs), whatever address it went to. The responder's rules come
first (``inquiry.why_no_reply``): a loop, a From our server did not authenticate, a
sender silenced by the rate policy: stored, nothing filed, nothing changed, no reply.

Then a mail about a case (its thread, else a tracking number in its subject) acts on
it only when the case is the sender's (their address is the case's): while the case
waits for them its text is their reply; after the answer a bare ``1``–``5`` rates it
and ``0`` reopens it; anything else is answered with where the case stands (and is not
added to the case: only a reply to a question moves it, as on SMS, and the citizen is
told so). A case that is not the sender's gets the same reply as one that does not
exist. Any other mail files a case with its text (``voice_words``), in the citizen's
thread: the acknowledgement and every later notice are replies to that first mail.
Each is done once per mail: the mail's dedupe key is the case's or the act's source
key, so a mail fetched twice files or acts once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from channels.email import inquiry
from channels.email import voice_words as words
from channels.email.identifiers import (
    find_national_id,
    find_transaction_numbers,
    redact_national_ids,
)
from channels.email.inquiry import EmailRules, InboundEmail, record_of, why_no_reply
from channels.email.reply import reply_references
from core.identity.addresses import mask_email
from core.identity.arabic import written_in
from core.messaging.bilingual import Section
from core.messaging.inbound import Received
from core.messaging.mail import MailStore
from core.platform.errors import InvalidRequest, NotFound, TooMany, WrongState
from core.service import Core
from core.voice.actions import CitizenProof
from core.voice.cases import TEXT_MAX
from core.voice.limits import mail_domain

log = logging.getLogger(__name__)

KIND = "voice_reply"
FILED = "voice: filed"
TOO_MANY = "voice: too many cases"
# Over the limit again within the window that refused it: no second reply.
TOO_MANY_AGAIN = "voice: too many cases, told"
NOT_FOUND = "voice: no case of the sender's"
REFUSED = "voice: refused"


def is_for_voice(mail: InboundEmail, rules: EmailRules) -> bool:
    """Whether the mail was addressed to the Citizen's Voice address."""
    address = rules.voice_address
    return bool(address) and address in {r.strip().lower() for r in mail.recipients}


def thread_ids(mail: InboundEmail) -> list[str]:
    """The Message-IDs the mail answers: its In-Reply-To, then its References, newest
    first."""
    ids = mail.in_reply_to.split() + list(reversed(mail.references.split()))
    return list(dict.fromkeys(ids))


def receive_mail(core: Core, mail: InboundEmail, rules: EmailRules) -> Received:
    """What the poller calls for each mail: stored once (a duplicate returned as such),
    handled as Citizen's Voice's or else as an inquiry (``inquiry.answer``)."""
    store = MailStore(core.db)
    key = inquiry.dedupe_key(mail)
    seen = store.already_received(key)
    if seen is not None:
        return seen
    sender = inquiry.sender_of(mail)
    handled = receive(core, store, mail, key, sender, rules)
    return handled if handled is not None else inquiry.answer(core, store, mail, key,
                                                              sender, rules)


def receive(core: Core, store: MailStore, mail: InboundEmail, key: str, sender: str,
            rules: EmailRules) -> Received | None:
    """Handle a Citizen's Voice mail (stored with what it got, once); None when the mail
    is not Citizen's Voice's (the inquiry responder answers it)."""
    if not core.config.voice.enabled:
        return None
    # A mail in a case's thread is the case's whatever address it went to: a question
    # about a transaction, filed from a mail to the inquiry address (``asks``), is
    # followed in its thread even where no Citizen's Voice address is configured.
    tracking = _thread_case(core, mail) if mail.in_reply_to or mail.references else None
    if tracking is None and not is_for_voice(mail, rules):
        return None
    reason = why_no_reply(store, mail, sender, rules)
    if reason is not None:
        log.info("Citizen's Voice mail from %s ignored: %s", mask_email(sender), reason)
        return store.record(record_of(mail, key, sender, note=reason, sections=None))
    if mail.oversized:
        return _reply(store, mail, key, sender, REFUSED, words.too_large_sections())
    tracking = tracking or words.tracking_in(mail.subject)
    if tracking is not None:
        return _about_case(core, store, mail, key, sender, tracking)
    return _file(core, store, mail, key, sender)


def _thread_case(core: Core, mail: InboundEmail) -> str | None:
    """The case the mail's thread is about: one of our notices it answers, else a mail of
    the same sender's that filed or acted on a case (a citizen who writes on under their
    own first mail)."""
    ids = thread_ids(mail)
    keys = [key for key in (inquiry.message_key(mail.sender, i) for i in ids) if key]
    if (tracking := core.voice.case_of_mail(ids)) is not None:
        return tracking
    earlier = core.voice.handled(keys)
    return earlier.case.tracking if earlier is not None else None


def _file(core: Core, store: MailStore, mail: InboundEmail, key: str,
          sender: str) -> Received:
    case_type, text = words.case_type_and_text(mail.subject, mail.text)
    if not text:
        return _reply(store, mail, key, sender, REFUSED, words.empty_sections())
    if len(text) > TEXT_MAX:
        return _reply(store, mail, key, sender, REFUSED, words.too_long_sections(TEXT_MAX))
    body: dict[str, object] = {
        "type": case_type, "text": redact_national_ids(text), "channel": "email",
        "lang": written_in(text), "citizen": {"email": sender}}
    numbers = find_transaction_numbers(text, core.config.locale.phone_region) \
        if case_type == "enquiry" else []
    if numbers:
        # An enquiry that names a transaction is about the first one it names: the core
        # links it when the sender's address, or the national ID the mail carries (hashed,
        # never kept), is the applicant's (as ``asks`` files one to the inquiry address).
        national_id = find_national_id(text)
        body["transaction"] = numbers[0]
        body["citizen"] = {"email": sender,
                           **({"national_id": national_id} if national_id else {})}
    try:
        filed = core.voice.file_case(
            body, source_key=key, self_service=True, origin=mail_domain(sender),
            email_thread=reply_references(mail.references, mail.message_id))
    except TooMany as exc:
        window = timedelta(seconds=exc.retry_after or 3600)
        if store.noted_within(sender, TOO_MANY, window):
            return store.record(record_of(mail, key, sender, note=TOO_MANY_AGAIN,
                                          sections=None))
        return _reply(store, mail, key, sender, TOO_MANY, words.too_many_sections())
    except InvalidRequest as exc:
        # An address the case refuses (the responder read it as one): nothing to file.
        log.info("Citizen's Voice mail from %s not filed: %s", mask_email(sender),
                 exc.message)
        return store.record(record_of(mail, key, sender, note=REFUSED, sections=None))
    return store.record(record_of(mail, key, sender, note=f"{FILED} {filed.tracking}",
                                  sections=None, answered_apart=True))


def _about_case(core: Core, store: MailStore, mail: InboundEmail, key: str, sender: str,
                tracking: str) -> Received:
    proof = CitizenProof(email=sender)
    try:
        view = core.voice.citizen_view(tracking, proof)
    except NotFound:
        return _reply(store, mail, key, sender, NOT_FOUND, words.not_found_sections())
    text = mail.text.strip()
    digit = words.bare_digit(text)
    try:
        if view.may_reply and text:
            if len(text) > TEXT_MAX:
                return _reply(store, mail, key, sender, REFUSED,
                              words.too_long_sections(TEXT_MAX))
            core.voice.citizen_act(tracking, "citizen_reply", proof,
                                   text=redact_national_ids(text), source_key=key)
            return _reply(store, mail, key, sender, f"voice: replied {tracking}",
                          words.reply_added_sections(tracking))
        if digit is not None and digit > 0 and view.may_rate:
            core.voice.citizen_act(tracking, "rate", proof, rating=digit, source_key=key)
            return _reply(store, mail, key, sender, f"voice: rated {tracking}",
                          words.rated_sections(tracking))
        if digit == 0 and view.may_reopen:
            core.voice.citizen_act(tracking, "reopen", proof, source_key=key)
            return _reply(store, mail, key, sender, f"voice: reopened {tracking}",
                          words.reopened_sections(tracking))
    except (WrongState, InvalidRequest):
        # The case moved meanwhile (rated already, the window closed): where it stands.
        view = core.voice.citizen_view(tracking, proof)
    return _reply(store, mail, key, sender, f"voice: state {tracking}",
                  words.state_sections(view))


def _reply(store: MailStore, mail: InboundEmail, key: str, sender: str, note: str,
           sections: list[Section]) -> Received:
    return store.record(record_of(mail, key, sender, note=note, sections=sections,
                                  kind=KIND))

