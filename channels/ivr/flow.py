"""The toll-free line's menus as plain Python: a call's state in, actions out.

Telephony-neutral: the Twilio adapter (``twiml.py``) renders the actions as TwiML, the
staff call simulator as a web page. The flow:

    language (1 Arabic, 2 English; silence: Arabic. Offered in both languages, Arabic
             first, and a wrong key is answered in both)
    service  (the main menu, with Citizen's Voice on the line: 1 a transaction's status,
             2 leave a complaint as a voice message, 3 follow a complaint; see below.
             Without it, the language leads straight to the number)
    number   (the transaction number, ended by #; read back digit by digit)
             -> the status at once when the caller ID is the applicant's mobile and
                the caller ID is vouched for (see below),
    national_id (otherwise: the national ID, ended by #)
    options  (1 repeat, 2 another transaction, 0 an employee (offered only when an agents'
             line is configured; outside working hours it tells the hours), 9 end)

No input and wrong input are asked again with the short prompt, three tries in all, then
a polite goodbye that points to the SMS short code and the portal. Whatever ``Digits``
holds (nothing, 40 digits, * and # anywhere) is an answer to handle, never an error.

Citizen's Voice (``FlowConfig.complaints`` and a ``CitizenVoice``):

    mobile   (2, when the caller ID is not a mobile: the mobile for the tracking SMS)
    record   (the message after the tone, ended by # or silence; shorter than
             ``min_record_seconds`` is not filed, and asked again)
             -> filed once per call, the tracking number read back digit by digit (and
                sent by SMS by the core), then case_options
    tracking (3: the tracking number, ended by #; read back)
             -> the state at once when the vouched caller ID is the case's mobile,
    case_mobile (otherwise: the mobile given with the case)
    case_options (1 repeat, 2 another case, 9 end)

A wrong tracking number or mobile is answered as "no such case", and counted against
the caller and the tracking number (``core.voice.lookups``).

A caller ID is trivially forged (any VoIP account sets it) and transaction numbers are
sequential, so the caller ID counts for nothing unless it is vouched for: the network
attested it when the call came in (``Call.caller_attested``: STIR/SHAKEN full attestation,
worked out by the telephony adapter), or the operator chose to trust caller IDs
(``FlowConfig.trust_caller_id``). A caller ID not vouched for is neither a credential nor
a rate-limit origin: a forged one can neither open a transaction nor lock its mobile out.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo

from channels.ivr.hours import WorkingHours
from channels.ivr.speech import (
    Sentence,
    answer_speech,
    case_speech,
    digits,
    sentence,
    working_hours,
)
from core.identity.digits import MAX_NUMBER_LENGTH, MIN_NUMBER_LENGTH, normalize_digits
from core.identity.national_id import InvalidNationalId, validate_national_id
from core.identity.phones import InvalidMobile, normalize_mobile
from core.platform.errors import TooMany
from core.transactions.answer import Answer, Outcome
from core.transactions.inquiry import InquiryRequest
from core.voice.citizen_cases import CitizenView
from core.voice.tracking import parse_tracking

LANGUAGE, NUMBER, NATIONAL_ID, OPTIONS = "language", "number", "national_id", "options"
SERVICE, MOBILE, RECORD = "service", "mobile", "record"
TRACKING, CASE_MOBILE, CASE_OPTIONS = "tracking", "case_mobile", "case_options"
NODES = (LANGUAGE, NUMBER, NATIONAL_ID, OPTIONS, SERVICE, MOBILE, RECORD, TRACKING,
         CASE_MOBILE, CASE_OPTIONS)
# Menus answered by one key; the others collect keys until # (``record``: a recording).
ONE_KEY_MENUS = (LANGUAGE, OPTIONS, SERVICE, CASE_OPTIONS)
MAX_TRIES = 3
# The outcome while the caller is being put through (until the <Dial> reports back).
TRANSFERRING = "transfer"
# Longest Digits worth looking at; anything longer is wrong input all the same.
MAX_KEYS = 64


# --- actions -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Speak:
    sentences: tuple[Sentence, ...]


@dataclass(frozen=True)
class Gather:
    """Wait for keys for ``node``; the prompt plays while waiting. Silence comes back as
    an empty answer to the same node."""

    node: str
    prompt: tuple[Sentence, ...]
    num_digits: int | None = None  # a one-key menu
    finish_on_key: str = "#"


@dataclass(frozen=True)
class Transfer:
    number: str
    ring_seconds: int


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Record:
    """Record the caller after ``prompt`` and a tone, up to ``max_seconds``, ended by the
    hash key or silence; the recording (or none) comes back to ``CallFlow.recorded``."""

    prompt: tuple[Sentence, ...]
    max_seconds: int
    finish_on_key: str = "#"
    # The mobile the caller keyed in for the SMS: it travels with the recording's
    # webhook (signed by Twilio), never stored with the call.
    reply_to: str | None = None


Action = Speak | Gather | Transfer | Hangup | Record


@dataclass(frozen=True)
class Recording:
    """A voice message as the telephony provider reports it: where to fetch it, its
    length, and its id."""

    url: str
    seconds: int
    sid: str | None = None


class CitizenVoice(Protocol):
    """What the line asks of Citizen's Voice (``channels.ivr.cases`` over the core)."""

    def file_complaint(self, call_sid: str, lang: str, mobile: str, origin: str | None,
                       recording: Recording) -> str:
        """File the voice message as a complaint, once per call; its tracking number.
        ``TooMany`` when the caller or the mobile filed too many."""
        ...

    def case(self, tracking: str, mobile: str, origin: str | None, *,
             first_try: bool = False) -> CitizenView | None:
        """The case when ``mobile`` is the one given with it, else None (no such case
        looks the same); ``TooMany`` when the caller failed too often."""
        ...


# --- the call --------------------------------------------------------------------------------


@dataclass
class Call:
    """Where one call stands between two webhooks (kept by CallSid in ``ivr_calls``)."""

    call_sid: str
    channel: str = "ivr"
    node: str = LANGUAGE
    language: str | None = None
    attempts: int = 0
    number: str | None = None
    replay: tuple[Sentence, ...] = ()
    path: list[str] = field(default_factory=list)
    outcome: str | None = None
    ended: bool = False
    started_at: datetime | None = None
    # The network vouched for the caller ID when the call came in (set once, at the start).
    caller_attested: bool = False
    # The mobile keyed in for a voice message's SMS, for this webhook only (see Record).
    reply_to: str | None = None

    def replay_json(self) -> str | None:
        return _replay_json(self.replay) if self.replay else None

    @staticmethod
    def replay_from(text: str | None) -> tuple[Sentence, ...]:
        return _replay_from(text) if text else ()


# The last answer is written back and read again on every webhook until the call moves
# on: each conversion is kept for the next webhook (both sides are immutable).
@lru_cache(maxsize=256)
def _replay_json(replay: tuple[Sentence, ...]) -> str:
    return json.dumps([s.to_json() for s in replay], ensure_ascii=False)


@lru_cache(maxsize=256)
def _replay_from(text: str) -> tuple[Sentence, ...]:
    return tuple(Sentence.from_json(item) for item in json.loads(text))


@dataclass(frozen=True)
class FlowConfig:
    channel: str
    tz: ZoneInfo
    short_code: str
    phone_region: str
    default_language: str
    agent_number: str
    ring_seconds: int
    hours: WorkingHours
    # Take every caller ID at its word (``ivr.trust_caller_id``): anyone who forges the
    # applicant's mobile hears the status.
    trust_caller_id: bool = False
    # Citizen's Voice on the line (the main menu), with ``CallFlow``'s ``voice``.
    complaints: bool = False
    max_record_seconds: int = 120
    min_record_seconds: int = 2
    # Read a case's answer out (Twilio's voices); with recordings, the line says it was
    # sent by SMS instead.
    read_answers: bool = True


class CallFlow:
    """The menus. ``inquire`` is the core's inquiry service; ``now`` the clock."""

    def __init__(self, config: FlowConfig, inquire: Callable[[InquiryRequest], Answer],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC),
                 voice: CitizenVoice | None = None) -> None:
        self._config = config
        self._inquire = inquire
        self._now = now
        self._voice = voice if config.complaints else None

    # --- entry points -----------------------------------------------------------------

    def start(self, call: Call) -> list[Action]:
        """A new call (or Twilio asking again for one it started): the current menu."""
        if not call.path:
            call.path.append(LANGUAGE)
        return self.ask(call)

    def ask(self, call: Call) -> list[Action]:
        """The current menu again, from the top (a late or replayed webhook)."""
        if call.ended:
            return [Hangup()]
        return [self._prompt(call, short=False)]

    def answer(self, call: Call, node: str, keys: str | None, caller: str | None
               ) -> list[Action]:
        """The caller's keys for ``node`` (None or "" when they said nothing)."""
        if call.ended:
            return [Hangup()]
        if node != call.node:
            return self.ask(call)
        if call.node == RECORD:
            return self.ask(call)  # keys are not a recording: the record prompt again
        pressed = normalize_digits((keys or "").strip())[:MAX_KEYS]
        handler = {LANGUAGE: self._on_language, NUMBER: self._on_number,
                   NATIONAL_ID: self._on_national_id, OPTIONS: self._on_option,
                   SERVICE: self._on_service, MOBILE: self._on_mobile,
                   TRACKING: self._on_tracking, CASE_MOBILE: self._on_case_mobile,
                   CASE_OPTIONS: self._on_case_option}[call.node]
        return handler(call, pressed, caller)

    def recorded(self, call: Call, recording: Recording | None, caller: str | None,
                 reply_to: str | None = None) -> list[Action]:
        """The <Record> ended: ``recording`` None when nothing was recorded;
        ``reply_to`` the mobile keyed in for the SMS (as the <Record> passed it on). A
        voice message is filed even when the call has moved on or ended (the caller hung
        up at the end of it: the SMS brings the tracking number), once per call."""
        call.reply_to = self._mobile(reply_to[:32]) if reply_to else None
        if self._voice is None or RECORD not in call.path:
            return self.ask(call)
        if recording is None or recording.seconds < self._config.min_record_seconds:
            if call.ended or call.node != RECORD:
                return self.ask(call)
            return self._retry(call, "recording_too_short")
        mobile = call.reply_to or self._caller_mobile(caller)
        if mobile is None:  # no mobile came with it (a replayed webhook): ask again
            return self.ask(call) if call.ended else self._go(call, MOBILE)
        lang = self._lang(call)
        try:
            tracking = self._voice.file_complaint(call.call_sid, lang, mobile,
                                                  _origin(caller), recording)
        except TooMany:
            if call.ended:
                return [Hangup()]
            return self._end(call, "too_many_cases", (
                self._say(call, "too_many_cases"), self._say(call, "goodbye")))
        if call.ended or call.node != RECORD:
            return self.ask(call)  # Twilio posted the same recording again
        call.number = tracking
        call.path.append("filed")
        call.outcome = "complaint_filed"
        said = (sentence(lang, "complaint_filed", digits=digits(tracking)),
                self._say(call, "tracking_sent"))
        call.replay = said
        return self._go(call, CASE_OPTIONS, said)

    def dial_ended(self, call: Call, status: str | None) -> list[Action]:
        """The agent's line answered and hung up, or was busy or not answered."""
        if call.ended:
            return [Hangup()]
        if call.outcome != TRANSFERRING:
            # No transfer in progress: a late or replayed <Dial> report changes nothing.
            return self.ask(call)
        if status in ("completed", "answered"):
            return self._end(call, "transferred", (self._say(call, "goodbye"),))
        call.path.append("agent_busy")
        call.outcome = "agent_busy"
        busy = (self._say(call, "agents_busy"), self._self_service(call))
        return self._go(call, OPTIONS, busy)

    def fault(self, language: str | None) -> list[Action]:
        """The line cannot go on (a fault on our side: the database, the inquiry service):
        a short apology, where to get the status instead, goodbye. In the call's language;
        in both when it is not known."""
        languages = (language,) if language else self._languages()
        return [Speak(self._in(languages, "give_up", "self_service", "goodbye")), Hangup()]

    # --- menus -------------------------------------------------------------------------

    def _on_language(self, call: Call, pressed: str, _caller: str | None) -> list[Action]:
        choice = pressed.rstrip("#")
        if choice == "":
            call.language = "ar"
        elif choice in ("1", "2"):
            call.language = "ar" if choice == "1" else "en"
        else:
            return self._retry(call, "invalid_choice")
        return self._go(call, SERVICE if self._voice is not None else NUMBER)

    # --- Citizen's Voice ------------------------------------------------------------------

    def _on_service(self, call: Call, pressed: str, caller: str | None) -> list[Action]:
        choice = pressed.rstrip("#")
        if not choice:
            return self._retry(call, "no_input")
        if choice == "1":
            return self._go(call, NUMBER)
        if choice == "2":
            call.path.append("complaint")
            if self._caller_mobile(caller) is None:
                return self._go(call, MOBILE)
            return self._go(call, RECORD)
        if choice == "3":
            return self._go(call, TRACKING)
        return self._retry(call, "invalid_choice")

    def _on_mobile(self, call: Call, pressed: str, _caller: str | None) -> list[Action]:
        entered = pressed.rstrip("#")
        if not entered:
            return self._retry(call, "no_input")
        mobile = self._mobile(entered)
        if mobile is None:
            return self._retry(call, "invalid_mobile")
        call.reply_to = mobile
        return self._go(call, RECORD)

    def _on_tracking(self, call: Call, pressed: str, caller: str | None) -> list[Action]:
        entered = pressed.rstrip("#")
        if not entered:
            return self._retry(call, "no_input")
        tracking = parse_tracking(entered)
        if tracking is None:
            return self._retry(call, "invalid_tracking")
        call.number = tracking
        read_back = Speak((sentence(self._lang(call), "you_entered",
                                    digits=digits(tracking)),))
        mobile = self._vouched_mobile(call, caller)
        if mobile:
            # Not the caller's choice, so a miss is not a guess: not counted, and the
            # caller is asked for the mobile as anyone would be.
            outcome = self._case(call, tracking, mobile, mobile, first_try=True)
            if outcome is not None:
                call.path.append("caller_id")
                return [read_back, *outcome]
        return [read_back, *self._go(call, CASE_MOBILE)]

    def _on_case_mobile(self, call: Call, pressed: str, caller: str | None
                        ) -> list[Action]:
        entered = pressed.rstrip("#")
        if not entered:
            return self._retry(call, "no_input")
        mobile = self._mobile(entered)
        if mobile is None:
            return self._retry(call, "invalid_mobile")
        outcome = self._case(call, call.number or "", mobile,
                             self._vouched_mobile(call, caller))
        if outcome is not None:
            return outcome
        call.outcome = "case_not_found"
        call.path.append(call.outcome)
        call.replay = (self._say(call, "no_such_case"),)
        return self._go(call, CASE_OPTIONS, call.replay)

    def _case(self, call: Call, tracking: str, mobile: str, origin: str | None, *,
              first_try: bool = False) -> list[Action] | None:
        """The case's state said (then its options), the refusal when the caller tried
        too often, or None when it is not found for ``mobile``."""
        assert self._voice is not None
        try:
            view = self._voice.case(tracking, mobile, origin, first_try=first_try)
        except TooMany:
            return self._end(call, "rate_limited", (
                self._say(call, "rate_limited"), self._say(call, "goodbye")))
        if view is None:
            return None
        call.outcome = "case_state"
        call.path.append(call.outcome)
        call.replay = case_speech(view, self._lang(call),
                                  read_answer=self._config.read_answers)
        return self._go(call, CASE_OPTIONS, call.replay)

    def _on_case_option(self, call: Call, pressed: str, _caller: str | None
                        ) -> list[Action]:
        return self._after_answer(call, pressed.rstrip("#"), CASE_OPTIONS, TRACKING) \
            or self._retry(call, "invalid_choice")

    def _after_answer(self, call: Call, choice: str, menu: str, another: str
                      ) -> list[Action] | None:
        """The options after a status or a case's state, the same on both: nothing
        pressed is asked again, 1 repeats (``menu`` after it), 2 asks for another number
        (``another``), 9 ends; None for any other key (the caller's menu may know it)."""
        if not choice:
            return self._retry(call, "no_input")
        if choice == "1":
            call.path.append("repeat")
            return self._go(call, menu, call.replay)
        if choice == "2":
            call.number, call.replay = None, ()
            return self._go(call, another)
        if choice == "9":
            return self._end(call, call.outcome or "ended", (self._say(call, "goodbye"),))
        return None

    def _caller_mobile(self, caller: str | None) -> str | None:
        """The caller ID when it is a mobile (a contact for the SMS, not a credential)."""
        return self._mobile(caller[:32]) if caller else None

    def _mobile(self, text: str) -> str | None:
        try:
            return normalize_mobile(text, self._config.phone_region)
        except InvalidMobile:
            return None

    def _on_number(self, call: Call, pressed: str, caller: str | None) -> list[Action]:
        entered = pressed.rstrip("#")
        if not entered:
            return self._retry(call, "no_input")
        if not (entered.isascii() and entered.isdigit()
                and MIN_NUMBER_LENGTH <= len(entered) <= MAX_NUMBER_LENGTH):
            return self._retry(call, "invalid_number")
        call.number = entered
        read_back = Speak((sentence(self._lang(call), "you_entered", digits=digits(entered)),))
        mobile = self._vouched_mobile(call, caller)
        if mobile:
            # A first try: a miss is not logged (it still counts against the limits, see
            # InquiryRequest.first_try), the inquiry goes on with the national ID (and the
            # caller ID) as one inquiry.
            answer = self._inquire(InquiryRequest(
                channel=self._config.channel, number_text=entered, lang=self._lang(call),
                mobile=mobile, origin=mobile, first_try=True))
            # Anything but the status (not the caller's, no such number) asks for the ID,
            # so the question itself tells nothing.
            if answer.outcome in (Outcome.FOUND, Outcome.RATE_LIMITED):
                call.path.append("caller_id")
                return [read_back, *self._status(call, answer)]
        return [read_back, *self._go(call, NATIONAL_ID)]

    def _on_national_id(self, call: Call, pressed: str, caller: str | None) -> list[Action]:
        entered = pressed.rstrip("#")
        if not entered:
            return self._retry(call, "no_input")
        try:
            national_id = validate_national_id(entered)
        except InvalidNationalId:
            return self._retry(call, "invalid_id")
        # A caller ID nobody vouched for is left out: with it, a forged caller ID and any
        # national ID would be "answered when any of them is the applicant's".
        mobile = self._vouched_mobile(call, caller)
        answer = self._inquire(InquiryRequest(
            channel=self._config.channel, number_text=call.number or "",
            lang=self._lang(call), mobile=mobile, national_id=national_id,
            origin=mobile))
        return self._status(call, answer)

    def _on_option(self, call: Call, pressed: str, _caller: str | None) -> list[Action]:
        choice = pressed.rstrip("#")
        done = self._after_answer(call, choice, OPTIONS, NUMBER)
        if done is not None:
            return done
        if choice == "0" and self._config.agent_number:
            return self._agent(call)
        return self._retry(call, "invalid_choice")

    def _status(self, call: Call, answer: Answer) -> list[Action]:
        speech = answer_speech(answer, self._lang(call), self._config.tz)
        if answer.outcome is Outcome.RATE_LIMITED:
            return self._end(call, "rate_limited",
                             (*speech, self._self_service(call), self._say(call, "goodbye")))
        call.outcome = "status" if answer.found else "not_found"
        call.path.append(call.outcome)
        call.replay = speech
        return self._go(call, OPTIONS, speech)

    def _agent(self, call: Call) -> list[Action]:
        config = self._config
        if not config.hours.open_at(self._now()):
            call.path.append("agent_closed")
            hours = config.hours
            closed = (self._say(call, "agents_closed"),
                      working_hours(self._lang(call), hours.days, hours.start, hours.end),
                      self._self_service(call))
            return self._go(call, OPTIONS, closed)
        call.path.append("agent")
        call.outcome = TRANSFERRING
        return [Speak((self._say(call, "connecting"),)),
                Transfer(config.agent_number, config.ring_seconds)]

    # --- moving on ------------------------------------------------------------------------

    def _go(self, call: Call, node: str, before: tuple[Sentence, ...] = ()) -> list[Action]:
        call.node, call.attempts = node, 0
        if not call.path or call.path[-1] != node:
            call.path.append(node)
        actions: list[Action] = [Speak(before)] if before else []
        return [*actions, self._prompt(call, short=False)]

    def _retry(self, call: Call, problem: str) -> list[Action]:
        call.attempts += 1
        if call.attempts >= MAX_TRIES:
            call.path.append("gave_up")
            return self._end(call, call.outcome or "gave_up", self._in(
                self._callers_languages(call), problem, "give_up", "self_service",
                "goodbye"))
        return [Speak(self._in(self._callers_languages(call), problem)),
                self._prompt(call, short=True)]

    def _end(self, call: Call, outcome: str, speech: tuple[Sentence, ...]) -> list[Action]:
        call.outcome, call.ended, call.replay = outcome, True, ()
        return [Speak(speech), Hangup()]

    def _prompt(self, call: Call, *, short: bool) -> Gather | Record:
        """What the current menu waits for: keys, or (``record``) a voice message."""
        if call.node == RECORD:
            return self._record(call, short=short)
        return self._gather(call, short=short)

    def _gather(self, call: Call, *, short: bool) -> Gather:
        if call.node == LANGUAGE:
            # Each language offered in itself, Arabic first: "... للعربية اضغط واحد.
            # Welcome ... For English, press 2."
            prompt = tuple(s for lang in self._languages() for s in (
                *(() if short else (sentence(lang, "welcome"),)),
                sentence(lang, "for_arabic" if lang == "ar" else "for_english")))
            return Gather(LANGUAGE, prompt, num_digits=1)
        if call.node == OPTIONS:
            key = "options_short" if short else "options"
            if not self._config.agent_number:
                key += "_no_agent"  # 0 is offered only when someone can answer it
            return Gather(OPTIONS, (self._say(call, key),), num_digits=1)
        if call.node == SERVICE:
            return Gather(SERVICE, (self._say(call, "services_short" if short
                                              else "services"),), num_digits=1)
        if call.node == CASE_OPTIONS:
            return Gather(CASE_OPTIONS, (self._say(call, "case_options_short" if short
                                                   else "case_options"),), num_digits=1)
        key = {NUMBER: "enter_number", NATIONAL_ID: "enter_id", MOBILE: "enter_mobile",
               TRACKING: "enter_tracking", CASE_MOBILE: "enter_case_mobile"}[call.node]
        return Gather(call.node, (self._say(call, key + "_short" if short else key),))

    def _record(self, call: Call, *, short: bool) -> Record:
        return Record((self._say(call, "record_short" if short else "record"),),
                      self._config.max_record_seconds, reply_to=call.reply_to)

    # --- small helpers -------------------------------------------------------------------

    def _lang(self, call: Call) -> str:
        return call.language or self._config.default_language

    def _say(self, call: Call, key: str) -> Sentence:
        return sentence(self._lang(call), key)

    def _callers_languages(self, call: Call) -> tuple[str, ...]:
        """The call's language; both while the caller has not chosen one."""
        return (call.language,) if call.language else self._languages()

    def _in(self, languages: tuple[str, ...], *keys: str) -> tuple[Sentence, ...]:
        """The prompts ``keys`` in each of ``languages`` in turn ("self_service" is the
        self-service sentence)."""
        return tuple(self._self_service_in(lang) if key == "self_service"
                     else sentence(lang, key) for lang in languages for key in keys)

    def _languages(self) -> tuple[str, ...]:
        """Both languages, the default first (Arabic), for a caller who has not chosen."""
        default = self._config.default_language
        return (default, *(lang for lang in ("ar", "en") if lang != default))

    def _self_service(self, call: Call) -> Sentence:
        return self._self_service_in(self._lang(call))

    def _self_service_in(self, lang: str) -> Sentence:
        return sentence(lang, "self_service", short_code=digits(self._config.short_code))

    def _vouched_mobile(self, call: Call, caller: str | None) -> str | None:
        """The caller ID as a mobile number when it may stand for the caller: attested by
        the network or trusted by the operator; else None (and for a withheld number, a
        landline, garbage)."""
        if not caller or not (call.caller_attested or self._config.trust_caller_id):
            return None
        try:
            return normalize_mobile(caller[:32], self._config.phone_region)
        except InvalidMobile:
            return None


def _origin(caller: str | None) -> str | None:
    """The caller as a filing origin: a number (not "anonymous", "restricted")."""
    if not caller:
        return None
    digits_only = caller.strip().lstrip("+")
    return caller.strip()[:32] if digits_only.isascii() and digits_only.isdigit() else None
