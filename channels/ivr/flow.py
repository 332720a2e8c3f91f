"""The toll-free line's menus as plain Python: a call's state in, actions out.

Telephony-neutral: the Twilio adapter (``twiml.py``) renders the actions as TwiML, the
staff call simulator as a web page. The flow:

    language (1 Arabic, 2 English; silence: Arabic. Offered in both languages, Arabic
             first, and a wrong key is answered in both)
    number   (the transaction number, ended by #; read back digit by digit)
             -> the status at once when the caller ID is the applicant's mobile and
                the caller ID is vouched for (see below),
    national_id (otherwise: the national ID, ended by #)
    options  (1 repeat, 2 another transaction, 0 an employee (offered only when an agents'
             line is configured; outside working hours it tells the hours), 9 end)

No input and wrong input are asked again with the short prompt, three tries in all, then
a polite goodbye that points to the SMS short code and the portal. Whatever ``Digits``
holds (nothing, 40 digits, * and # anywhere) is an answer to handle, never an error.

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
from zoneinfo import ZoneInfo

from channels.ivr.hours import WorkingHours
from channels.ivr.speech import Sentence, answer_speech, digits, sentence, working_hours
from core.identity.digits import MAX_NUMBER_LENGTH, MIN_NUMBER_LENGTH, normalize_digits
from core.identity.national_id import InvalidNationalId, validate_national_id
from core.identity.phones import InvalidMobile, normalize_mobile
from core.transactions.answer import Answer, Outcome
from core.transactions.inquiry import InquiryRequest

LANGUAGE, NUMBER, NATIONAL_ID, OPTIONS = "language", "number", "national_id", "options"
NODES = (LANGUAGE, NUMBER, NATIONAL_ID, OPTIONS)
# Menus answered by one key; the others collect keys until #.
ONE_KEY_MENUS = (LANGUAGE, OPTIONS)
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


Action = Speak | Gather | Transfer | Hangup


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


class CallFlow:
    """The menus. ``inquire`` is the core's inquiry service; ``now`` the clock."""

    def __init__(self, config: FlowConfig, inquire: Callable[[InquiryRequest], Answer],
                 now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._config = config
        self._inquire = inquire
        self._now = now

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
        return [self._gather(call, short=False)]

    def answer(self, call: Call, node: str, keys: str | None, caller: str | None
               ) -> list[Action]:
        """The caller's keys for ``node`` (None or "" when they said nothing)."""
        if call.ended:
            return [Hangup()]
        if node != call.node:
            return self.ask(call)
        pressed = normalize_digits((keys or "").strip())[:MAX_KEYS]
        handler = {LANGUAGE: self._on_language, NUMBER: self._on_number,
                   NATIONAL_ID: self._on_national_id, OPTIONS: self._on_option}[call.node]
        return handler(call, pressed, caller)

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
        return self._go(call, NUMBER)

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
        if not choice:
            return self._retry(call, "no_input")
        if choice == "1":
            call.path.append("repeat")
            return self._go(call, OPTIONS, call.replay)
        if choice == "2":
            call.number, call.replay = None, ()
            return self._go(call, NUMBER)
        if choice == "0" and self._config.agent_number:
            return self._agent(call)
        if choice == "9":
            return self._end(call, call.outcome or "ended", (self._say(call, "goodbye"),))
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
        return [*actions, self._gather(call, short=False)]

    def _retry(self, call: Call, problem: str) -> list[Action]:
        call.attempts += 1
        if call.attempts >= MAX_TRIES:
            call.path.append("gave_up")
            return self._end(call, call.outcome or "gave_up", self._in(
                self._callers_languages(call), problem, "give_up", "self_service",
                "goodbye"))
        return [Speak(self._in(self._callers_languages(call), problem)),
                self._gather(call, short=True)]

    def _end(self, call: Call, outcome: str, speech: tuple[Sentence, ...]) -> list[Action]:
        call.outcome, call.ended, call.replay = outcome, True, ()
        return [Speak(speech), Hangup()]

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
        key = "enter_number" if call.node == NUMBER else "enter_id"
        return Gather(call.node, (self._say(call, key + "_short" if short else key),))

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
