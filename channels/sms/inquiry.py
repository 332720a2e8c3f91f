"""Inquiries by SMS to the short code: what the short code answers, and against what limits.

The policy is the channel's: the reply language from the text, the Citizen's Voice's
keywords and acts first (``channels.sms.voice``), else the inquiry with the sender's
mobile as the credential, the answers budget per mobile (every reply counts, the Voice's
too) and the "too many attempts" notice once per window, the rendered SMS. Storing the
messages and recording the answers in the outbox is the core's
(``core.messaging.inbound``): ``ShortCode`` hands it this policy as the ``Respond`` to use.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache

from channels.sms.settings import sms_section
from channels.sms.voice import SmsVoice
from core.identity.phones import InvalidMobile, mask_mobile, normalize_mobile
from core.messaging import inbound, outbox
from core.messaging.inbound import Burst, Inbound, Received, Reply
from core.platform.ratelimit import FailureLimiter
from core.service import Core
from core.transactions import render
from core.transactions.answer import Answer, Outcome
from core.transactions.inquiry import InquiryRequest, InquiryService
from core.voice.limits import ORIGIN_WINDOW

log = logging.getLogger(__name__)


# --- language ----------------------------------------------------------------------------


# A letter (not a digit, nor punctuation) of the Arabic blocks and presentation forms.
_ARABIC_LETTER = re.compile(
    "(?=[^\\W\\d_])[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LATIN_LETTER = re.compile("[A-Za-z]")


@lru_cache(maxsize=4096)
def reply_language(text: str, default: str = "ar") -> str:
    """The language to answer ``text`` in: English when it is Latin (letters A-Z and no
    Arabic letter), Arabic when it has an Arabic letter, else ``default`` (digits only).
    Remembered for the last texts: a message is asked it by each layer it passes."""
    if _ARABIC_LETTER.search(text):
        return "ar"
    if _LATIN_LETTER.search(text):
        return "en"
    return default


# --- the reply ---------------------------------------------------------------------------


# Numbers each SMS budget holds at most (about 265 bytes each: 5 MB). 20,000 is more than
# a short code answers in eight minutes at 40 a second.
BUDGET_KEYS = 20_000

@dataclass(frozen=True)
class SmsLimits:
    """What SMS replies count against: the inquiry service (its failure limits per
    mobile and per number), the answers budget per mobile and the "too many attempts"
    notices. The short code uses the core's inquiry service and budgets of its own
    (``of``); a simulator everything of its own (``apart``), so a trainee typing a
    citizen's number never locks the citizen's mobile out."""

    inquiries: InquiryService
    answers: FailureLimiter
    notices: FailureLimiter
    # Senders told that they filed too many cases: each told once an hour (the shorter
    # of the filing limits' windows), not for every message they send.
    refused_filings: FailureLimiter = field(
        default_factory=lambda: FailureLimiter(1, ORIGIN_WINDOW))

    @classmethod
    def of(cls, core: Core) -> SmsLimits:
        """The short code's: the core's inquiry service, this channel's budgets."""
        return cls(core.inquiries, *cls._budgets(core))

    @classmethod
    def apart(cls, core: Core) -> SmsLimits:
        """The same rules as the short code's, counted on their own."""
        return cls(core.inquiries_apart(), *cls._budgets(core))

    @staticmethod
    def _budgets(core: Core) -> tuple[FailureLimiter, FailureLimiter]:
        sms = sms_section(core.config)
        # Answers sent to each number, so no number gets more than its budget per window;
        # numbers told "too many attempts", so each is told once per window. Both in this
        # process's memory on purpose, shared by its binds (``SmsBinds``): senders are
        # SIMs the network authenticates (no free new keys to flush them); a restart
        # costs at most one more budget or notice per number; and with the account's
        # binds spread over P processes, a number gets at most P budgets per window (the
        # SMSC spreads its messages over the binds). Still bounded, which is what the
        # budget is for (an auto-responder's loop). The failure limits are the database's.
        # At most BUDGET_KEYS numbers are held (the least recently answered that is not
        # over its budget goes first): a loop answered every few minutes stays among the
        # most recent, and the memory stays flat under a flood of new senders.
        return (FailureLimiter(sms.max_answers_per_sender, sms.answers_window_seconds,
                               max_keys=BUDGET_KEYS),
                FailureLimiter(1, core.config.inquiry.failure_window_seconds,
                               max_keys=BUDGET_KEYS))


def sms_request(core: Core, sender: str, text: str, channel: str = "sms"
                ) -> InquiryRequest | None:
    """The inquiry a message from ``sender`` asks: the sender's mobile as the credential
    and origin, in the text's language; None when the sender is not a mobile."""
    if not _is_mobile(sender, core.config.locale.phone_region):
        return None
    return InquiryRequest(channel=channel, number_text=text, mobile=sender, origin=sender,
                          lang=reply_language(text, core.config.locale.default_language))


def sms_reply(core: Core, sender: str, text: str, *, channel: str = "sms",
              limits: SmsLimits | None = None,
              inquire: Callable[[InquiryRequest], Answer] | None = None) -> Reply:
    """The short code's reply to ``text`` from ``sender`` (E.164): the language from the
    text, the inquiry with the sender's mobile as the credential (logged under
    ``channel``), the rate limits and the answers budget (``limits``; unless given, the
    core's inquiry limits and budgets counted for this reply alone), rendered as the
    SMS. No body when the sender is not a mobile or its answers budget is spent.
    ``inquire``: a burst's (``ShortCode.burst``), else the limits' inquiry service."""
    limits = limits or SmsLimits.of(core)
    request = sms_request(core, sender, text, channel)
    if request is None:
        return Reply(None, reply_language(text, core.config.locale.default_language))
    lang = request.lang
    if limits.answers.blocked(sender):
        # Its budget of answers is spent: stored, not answered (see below).
        return Reply(None, lang)
    answer = (inquire or limits.inquiries.inquire)(request)
    if answer.outcome == Outcome.RATE_LIMITED:
        # A flood from one number gets the "too many attempts" text once per window, not
        # an SMS (paid for by the emirate) for every message it sends.
        if limits.notices.blocked(sender):
            return Reply(None, lang)
        limits.notices.failed(sender)
    body = render.sms_text(answer, lang, core.config.tz, core.config.sms.short_code)
    return _counted(limits, sender, Reply(body, lang))


def _counted(limits: SmsLimits, sender: str, reply: Reply) -> Reply:
    """``reply``, counted against the sender's answers budget."""
    limits.answers.failed(sender)  # counted: one more answer to this number
    if limits.answers.blocked(sender):
        # Found answers are not rate limited as failures are: a phone that echoes each
        # answer back (an auto-responder) would make an endless, paid-for loop.
        log.warning("SMS to %s: %d answers within %d s; its next messages are stored and "
                    "not answered until the window passes (an auto-responder loop?)",
                    mask_mobile(sender), limits.answers.max_failures,
                    limits.answers.window)
    return reply


def short_code_reply(core: Core, message: Inbound, *, limits: SmsLimits, voice: SmsVoice,
                     inquire: Callable[[InquiryRequest], Answer] | None = None) -> Reply:
    """The short code's reply to a stored ``message``: the Citizen's Voice's when the
    message is about a case (``SmsVoice.answer``), else the inquiry's (``sms_reply``).
    A sender that is not a mobile, or whose answers budget is spent, is answered nothing
    and nothing is done for it (an auto-responder must not add replies to a case)."""
    sender, text = message.sender, message.text
    lang = reply_language(text, core.config.locale.default_language)
    if not _is_mobile(sender, core.config.locale.phone_region) \
            or limits.answers.blocked(sender):
        return Reply(None, lang)
    voiced = voice.answer(message, lang)
    if voiced is None:
        return sms_reply(core, sender, text, limits=limits, inquire=inquire)
    if voiced.body is None:
        return Reply(None, lang)
    return _counted(limits, sender, Reply(voiced.body, lang))


@lru_cache(maxsize=4096)
def _is_mobile(sender: str, region: str) -> bool:
    # Cached (bounded): a burst asks it of each sender twice, before and in the reply.
    # A burst's senders are all it needs (65,536 held 16 MB of senders long gone).
    try:
        return normalize_mobile(sender, region) == sender
    except InvalidMobile:
        return False


# --- the short code's inquiries ------------------------------------------------------------


class ShortCode:
    """The short code's inquiries: stored and answered by the core, replied to by this
    policy, counted against ``limits`` (one set per channel)."""

    def __init__(self, core: Core, limits: SmsLimits | None = None) -> None:
        self.core = core
        self.limits = limits or SmsLimits.of(core)
        self.voice = SmsVoice(core, self.limits.refused_filings)

    def respond(self, message: Inbound) -> Reply:
        """The reply to one stored message (the core's ``Respond``)."""
        return short_code_reply(self.core, message, limits=self.limits, voice=self.voice)

    def reply(self, sender: str, text: str, *, dedupe_key: str | None = None) -> Reply:
        """The reply to ``text`` from ``sender`` as if stored under ``dedupe_key`` (one of
        its own unless given: a message never seen before)."""
        return self.respond(Inbound(sender, "", text, dedupe_key or _fresh_key()))

    def receive(self, *, sender: str, recipient: str, text: str,
                dedupe_key: str) -> Received:
        """Store an inbound SMS before the adapter acknowledges it."""
        return inbound.receive(self.core.db, self.core.config, sender=sender,
                               recipient=recipient, text=text, dedupe_key=dedupe_key)

    def burst(self, messages: list[tuple[str, str]]) -> Burst:
        """The replies to a read burst of (sender, text): the counters of all its inquiries
        read at once, its failures written with the burst (``InquiryService.batch``)."""
        requests = [sms_request(self.core, sender, text) for sender, text in messages]
        batch = self.limits.inquiries.batch(r for r in requests if r is not None)

        def respond(message: Inbound) -> Reply:
            return short_code_reply(self.core, message, limits=self.limits,
                                    voice=self.voice, inquire=batch.inquire)

        return Burst(respond, batch.write)

    def receive_and_answer(self, messages: list[Inbound], *, claim_limit: int,
                           holder: str | None = None) -> list[outbox.Claimed]:
        """Store a read burst and answer it; up to ``claim_limit`` answers come back
        claimed (by ``holder``) for the adapter to send at once."""
        return inbound.receive_and_answer(self.core.db, self.core.config, messages,
                                          self.burst, claim_limit=claim_limit,
                                          holder=holder)

    def answer_pending(self, *, limit: int = 100) -> int:
        """Answer stored inbound SMS through the outbox; how many were answered."""
        return inbound.answer_pending(self.core.db, self.respond, limit=limit)


def _fresh_key() -> str:
    return "direct:" + secrets.token_hex(16)
