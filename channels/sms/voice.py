"""Citizen's Voice by SMS: the short code's keywords, and what each message does to a case.

The keyword policy is this channel's; every change to a case is the core's
(``Core.voice``). What a message asks is read first, without the database
(``classify``), in an order that leaves every transaction inquiry as it was:

1. a keyword at its start (``KEYWORDS``: Arabic and English, however typed) files a
   complaint, a suggestion or an enquiry with the rest of the message as its text,
   answered with the tracking number (the core queues no acknowledgement of its own: one
   SMS back, not two); a keyword alone gets a short help. An enquiry whose text starts
   with a transaction number (``استفسار 1447001 متى تنتهي؟``) is about that transaction
   (``"transaction"``): the core links it, and routes it to the department holding it,
   when the sender's mobile is the applicant's; else it is an ordinary enquiry to the
   emirate, and the reply is the same either way;
2. a tracking number alone gets the case's state, when the case is the sender's; when it
   is not (or there is none), the message goes on as a transaction inquiry, so a
   stranger is told exactly what an unknown number gets;
3. a digit ``0``-``5`` alone, after an answer: ``1``-``5`` rates the sender's newest
   answered case, ``0`` reopens it (within ``voice.reopen_days``);
4. anything with a transaction number is a transaction inquiry, as before;
5. anything else is added to the sender's case that waits for their reply, when one does;
   otherwise it is answered as an inquiry, as before.

Every act is keyed on its message (``source_key`` "sms:<dedupe key>"): a message seen
again (redelivered, or answered again after a crash) finds what it did (``handled``) and
is answered the same way, never filing or acting twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from channels.sms.encoding import segment_count
from core.calendar.dates import format_date
from core.identity.arabic import KEYWORD_SPAN, fold, starts_with_word
from core.identity.digits import extract_transaction_number
from core.identity.phones import mask_mobile
from core.messaging.inbound import Inbound
from core.platform.errors import InvalidRequest, NotFound, TooMany, WrongState
from core.platform.i18n import gettext_for
from core.platform.ratelimit import FailureLimiter
from core.service import Core
from core.transactions import mine
from core.voice import notices
from core.voice.actions import CitizenProof
from core.voice.cases import TEXT_MAX
from core.voice.citizen_cases import CitizenView, state_words
from core.voice.filed import Filed
from core.voice.service import Handled
from core.voice.tracking import parse_tracking

log = logging.getLogger(__name__)

COMPLAINT, SUGGESTION, ENQUIRY = "complaint", "suggestion", "enquiry"

# The keywords that file a case, folded (``core.identity.arabic.fold``), and the type each
# files. Issue 17's "my transactions" joins them as another intent.
KEYWORDS: dict[str, str] = {
    fold("شكوى"): COMPLAINT, fold("بلاغ"): COMPLAINT, "complaint": COMPLAINT,
    fold("مقترح"): SUGGESTION, fold("اقتراح"): SUGGESTION, "suggestion": SUGGESTION,
    fold("استفسار"): ENQUIRY, "question": ENQUIRY,
}
_WORDS = tuple(sorted(KEYWORDS, key=len, reverse=True))
# The keyword a help text names, by type and language.
_SHOWN_KEYWORD = {
    ("ar", COMPLAINT): "شكوى", ("ar", SUGGESTION): "مقترح", ("ar", ENQUIRY): "استفسار",
    ("en", COMPLAINT): "complaint", ("en", SUGGESTION): "suggestion",
    ("en", ENQUIRY): "question",
}
# "My transactions" (issue 17): the whole message, however typed; the sender's mobile,
# which the network authenticated, is the proof.
MINE_WORDS = frozenset({fold("معاملاتي"), fold("my transactions")})
# At most this many transactions are listed, fewer when the list would need more than
# ``MINE_SEGMENTS`` segments; the rest are counted ("and N more").
MINE_SHOWN = 8
MINE_SEGMENTS = 2
_DIGITS = frozenset("012345")
SOURCE_PREFIX = "sms:"


# --- what a message asks (pure) ------------------------------------------------------------


@dataclass(frozen=True)
class Filing:
    """A keyword and what follows it: file a case of ``case_type`` with ``text``; an
    enquiry about ``transaction`` when its text starts with a transaction number."""

    case_type: str
    text: str
    transaction: str | None = None


@dataclass(frozen=True)
class TrackingAsked:
    """A tracking number alone: the case's state."""

    tracking: str


@dataclass(frozen=True)
class Digit:
    """``0`` (reopen) or ``1``-``5`` (rate) alone."""

    value: int


@dataclass(frozen=True)
class FreeText:
    """No keyword and no number: the citizen's reply, when a case waits for one."""

    text: str


@dataclass(frozen=True)
class MineAsked:
    """``معاملاتي`` or ``my transactions`` alone: the sender's transactions."""


Intent = Filing | TrackingAsked | Digit | FreeText | MineAsked


def classify(text: str) -> Intent | None:
    """What ``text`` asks of the Citizen's Voice, or None for a transaction inquiry."""
    # Folded once: the start of the text, which is all of it when it may be "mine".
    head = fold(text.lstrip()[:KEYWORD_SPAN])
    if len(text) <= 40 and head.strip(" .!?؟،,:") in MINE_WORDS:
        return MineAsked()
    keyword = _keyword(text, head)
    if keyword is not None:
        word, rest = keyword
        if KEYWORDS[word] == ENQUIRY:
            number, question = transaction_asked(rest)
            # A number without a question gets the help, as a keyword alone does.
            return Filing(ENQUIRY, rest if question else "", number)
        return Filing(KEYWORDS[word], rest)
    tracking = parse_tracking(text)
    if tracking is not None:
        return TrackingAsked(tracking)
    stripped = text.strip()
    if len(stripped) <= 3:  # a digit with invisible marks around it at most
        folded = fold(stripped)
        if len(folded) == 1 and folded in _DIGITS:
            return Digit(int(folded))
    if not stripped or extract_transaction_number(text) is not None:
        return None  # an empty SMS gets the inquiry's help, as before
    return FreeText(text)


def transaction_asked(text: str) -> tuple[str | None, str]:
    """The transaction number an enquiry's text starts with (its first word, in any
    digits, "1447-001" joined as the inquiry joins it), and the question after it; no
    number and the whole text when it starts with none. A tracking number is not a
    transaction number."""
    first, _, question = text.strip().partition(" ")
    first = first.rstrip(":,\u060c")
    number = extract_transaction_number(first)
    if number is None or parse_tracking(first) is not None:
        return None, text.strip()
    return number, question.strip()


def _keyword(text: str, head: str) -> tuple[str, str] | None:
    """The keyword ``text`` starts with, and the rest (``starts_with_word``); ``head``,
    its start folded, first, so that the many messages that start with no keyword (a
    transaction number, "استعلام ...") cost one fold, not one per character."""
    if not head.startswith(_WORDS):
        return None
    return starts_with_word(text, _WORDS)


# --- what it does --------------------------------------------------------------------------


@dataclass(frozen=True)
class VoiceReply:
    """The Voice's answer to a message: ``body`` None when it is sent nothing (a refusal
    the sender was told of within the window)."""

    body: str | None


class SmsVoice:
    """The Citizen's Voice on the short code: ``answer`` each message it is about.

    ``refusals``: senders told that they filed too many cases, each told once per window
    (in this process's memory, as the short code's other budgets: see ``SmsLimits``)."""

    def __init__(self, core: Core, refusals: FailureLimiter) -> None:
        self.core = core
        self.refusals = refusals

    @property
    def short_code(self) -> str:
        return self.core.config.sms.short_code

    def answer(self, message: Inbound, lang: str) -> VoiceReply | None:
        """The reply to ``message`` (its sender a mobile, in E.164) when it is the Voice's,
        in ``lang``; None when it is a transaction inquiry (the caller answers it)."""
        intent = classify(message.text)
        if intent is None:
            return None
        proof = CitizenProof(mobile=message.sender)
        if isinstance(intent, TrackingAsked):
            return self._state(intent.tracking, proof, lang)
        if isinstance(intent, MineAsked):
            return VoiceReply(self._mine(message.sender, lang))
        done = self.core.voice.handled(source_keys(message))
        if done is not None:
            return VoiceReply(self._again(done, lang))
        if isinstance(intent, Filing):
            return self._file(message, intent, lang)
        if isinstance(intent, Digit):
            return self._digit(message, intent.value, proof, lang)
        return self._reply_to_case(message, intent.text, proof, lang)

    # --- filing -----------------------------------------------------------------------

    def _file(self, message: Inbound, filing: Filing, lang: str) -> VoiceReply:
        _ = gettext_for(lang)
        if not filing.text.strip():
            return VoiceReply(help_text(filing.case_type, lang, self.short_code))
        if len(filing.text) > TEXT_MAX:
            return VoiceReply(too_long(lang))
        body: dict[str, object] = {
            "type": filing.case_type, "text": filing.text.strip(), "channel": "sms",
            "lang": lang, "citizen": {"mobile": message.sender}}
        if filing.transaction is not None:
            body["transaction"] = filing.transaction
        try:
            filed = self.core.voice.file_case(
                body, source_key=source_key(message.dedupe_key), self_service=True,
                origin=message.sender, acknowledge=False)
        except TooMany:
            # A flood of filings gets the refusal once per window, not an SMS for each.
            if self.refusals.blocked(message.sender):
                return VoiceReply(None)
            self.refusals.failed(message.sender)
            return VoiceReply(_("You have sent many requests today; please try again "
                                "tomorrow."))
        except InvalidRequest:
            log.warning("an SMS from %s could not be filed as a case",
                        mask_mobile(message.sender))
            return VoiceReply(_("Your request could not be filed; please write it again "
                                "in a few words."))
        return VoiceReply(self._received(filed, lang))

    def _received(self, filed: Filed, lang: str) -> str:
        return notices.received(filed.type, filed.tracking, self.short_code, lang)

    # --- the state ----------------------------------------------------------------------

    def _state(self, tracking: str, proof: CitizenProof, lang: str) -> VoiceReply | None:
        try:
            view = self.core.voice.citizen_view(tracking, proof)
        except NotFound:
            # No case, or not theirs: answered as a transaction number, as any stranger is.
            return None
        return VoiceReply(state_text(view, lang))

    # --- my transactions ---------------------------------------------------------------

    def _mine(self, sender: str, lang: str) -> str:
        """The sender's transactions, newest first, in at most ``MINE_SEGMENTS``
        segments (one line fewer until it fits)."""
        lines, more = self.core.mine.by_mobile(sender, limit=MINE_SHOWN)
        shown = len(lines)
        text = mine.sms_list(lines, more, lang)
        while shown > 1 and segment_count(text) > MINE_SEGMENTS:
            shown -= 1
            text = mine.sms_list(lines[:shown], more + len(lines) - shown, lang)
        return text

    # --- rating and reopening ---------------------------------------------------------

    def _digit(self, message: Inbound, value: int, proof: CitizenProof,
               lang: str) -> VoiceReply:
        _ = gettext_for(lang)
        case = self.core.voice.awaiting_rating(proof)
        if case is None:
            waiting = self._reply_to_case(message, message.text, proof, lang)
            return waiting or VoiceReply(_(
                "There is no answer of yours to rate or reopen now. To follow a request, "
                "send its tracking number."))
        action = "reopen" if value == 0 else "rate"
        try:
            self.core.voice.citizen_act(case.tracking, action, proof,
                                        rating=value or None,
                                        source_key=source_key(message.dedupe_key))
        except WrongState as refused:
            if action == "rate":
                return VoiceReply(_("The answer to your request {tracking} has been rated "
                                    "already.").format(tracking=case.tracking))
            log.info("reopen by SMS refused: %s", refused.code)
            return VoiceReply(_("Your request {tracking} can no longer be reopened.")
                              .format(tracking=case.tracking))
        return VoiceReply(acted_text(action, case.tracking, lang))

    # --- the citizen's reply ------------------------------------------------------------

    def _reply_to_case(self, message: Inbound, text: str, proof: CitizenProof,
                       lang: str) -> VoiceReply | None:
        case = self.core.voice.awaiting_citizen(proof)
        if case is None:
            return None
        if len(text) > TEXT_MAX:
            return VoiceReply(too_long(lang))
        try:
            self.core.voice.citizen_act(case.tracking, "citizen_reply", proof, text=text,
                                        source_key=source_key(message.dedupe_key))
        except (WrongState, NotFound, InvalidRequest):
            return None  # answered meanwhile, or nothing to add: an inquiry, as before
        return VoiceReply(acted_text("citizen_reply", case.tracking, lang))

    def _again(self, done: Handled, lang: str) -> str:
        """The reply a message that acted before had (answered again, not acted again)."""
        if done.action == "file":
            return self._received(done.case, lang)
        return acted_text(done.action, done.case.tracking, lang)


def source_key(dedupe_key: str) -> str:
    """The source key of what a message does to a case (``Core.voice``)."""
    return SOURCE_PREFIX + dedupe_key


def source_keys(message: Inbound) -> list[str]:
    """The keys a message may have acted under: this one's, and the one the same message
    had in the adapter's previous window (a redelivery that straddles its edge)."""
    keys = [source_key(message.dedupe_key)]
    if message.earlier_key:
        keys.insert(0, source_key(message.earlier_key))
    return keys


# --- the texts (pure) ----------------------------------------------------------------------


def help_text(case_type: str, lang: str, short_code: str) -> str:
    """How to write a keyword's message, in the language it was sent in."""
    _ = gettext_for(lang)
    what = {COMPLAINT: _("To file a complaint, send {keyword} followed by your complaint "
                         "to {short_code}."),
            SUGGESTION: _("To make a suggestion, send {keyword} followed by your "
                          "suggestion to {short_code}."),
            ENQUIRY: _("To ask a question, send {keyword} followed by your question to "
                       "{short_code}.")}[case_type]
    return what.format(keyword=_SHOWN_KEYWORD[(lang, case_type)], short_code=short_code)


def too_long(lang: str) -> str:
    _ = gettext_for(lang)
    return _("Your message is too long; please write it in at most {count} characters."
             ).format(count=TEXT_MAX)


def acted_text(action: str, tracking: str, lang: str) -> str:
    """The reply to a citizen's act by SMS."""
    _ = gettext_for(lang)
    return {
        "citizen_reply": _("Thank you: your reply was added to your request {tracking}, "
                           "and the agency is working on it again."),
        "rate": _("Thank you: your rating of the answer to {tracking} was recorded."),
        "reopen": _("Your request {tracking} was reopened; the agency will answer it "
                    "again."),
    }.get(action, _("Your request {tracking} was updated.")).format(tracking=tracking)


def state_text(view: CitizenView, lang: str) -> str:
    """Where a case stands, by SMS: its state, and what the citizen may do now."""
    _ = gettext_for(lang)
    parts = [_("Your request {tracking}: {state}.").format(
        tracking=view.tracking, state=state_words(view.state, lang))]
    if view.question and view.may_reply:
        parts.append(_("You were asked: {question} Reply to this message.").format(
            question=view.question))
    if view.answer:
        parts.append(_("Answer: {text}").format(text=view.answer))
    if view.may_rate and view.may_reopen and view.reopen_until is not None:
        parts.append(_("Send 1 to 5 to rate it, or 0 by {date} to reopen it.").format(
            date=format_date(view.reopen_until, lang)))
    elif view.may_rate:
        parts.append(_("Send 1 to 5 to rate it."))
    elif view.may_reopen and view.reopen_until is not None:
        parts.append(_("Send 0 by {date} to reopen it.").format(
            date=format_date(view.reopen_until, lang)))
    return " ".join(parts)
