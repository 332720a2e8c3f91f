"""What the line says, as sentences cut into phrases that can be pre-recorded.

A ``Sentence`` is one translated message in one language with its whole text (what
``<Say>`` speaks) and the same text cut into ``phrases``: the fixed wording around each
placeholder, and the values themselves (a digit, a number, a month, a name). The offline
renderer records every fixed phrase, the digits, the numbers and the month names, so a
status is composed from recordings at call time; a phrase without a recording (a
department's name) is spoken by ``<Say>`` instead.

Pure functions: no Twilio, no Flask. The texts come from the core's gettext catalog.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from core.calendar.dates import (
    GREGORIAN_MONTHS_AR,
    GREGORIAN_MONTHS_EN,
    HIJRI_MONTHS_AR,
    HIJRI_MONTHS_EN,
    hijri_date,
    local_date,
)
from core.identity.arabic import written_in
from core.platform.i18n import gettext_for
from core.transactions.answer import Answer, Name, Outcome, TransactionView
from core.voice.citizen_cases import CitizenView, state_words
from core.voice.states import STATES


def N_(msgid: str) -> str:
    """Marks a msgid for extraction (babel's default keyword); translated when spoken."""
    return msgid


# Every message the line speaks. The status wordings are the core's (core/render.py).
PROMPTS = {
    "welcome": N_("Welcome to the transaction inquiry line of the Regional Emirate."),
    "for_arabic": N_("For Arabic, press 1."),
    "for_english": N_("For English, press 2."),
    "enter_number": N_("Please enter your transaction number, then press the hash key."),
    "enter_number_short": N_("Enter the transaction number, then the hash key."),
    "you_entered": N_("You entered {digits}."),
    "enter_id": N_("To confirm it is yours, enter your national ID or residence number, "
                   "then press the hash key."),
    "enter_id_short": N_("Enter your national ID number, then the hash key."),
    "no_input": N_("We did not receive your answer."),
    "invalid_choice": N_("That is not one of the choices."),
    "invalid_number": N_("That transaction number is not valid."),
    "invalid_id": N_("That national ID number is not valid."),
    "options": N_("To hear it again, press 1. For another transaction, press 2. To speak "
                  "to an employee, press 0. To end the call, press 9."),
    "options_short": N_("Press 1 to repeat, 2 for another transaction, 0 for an employee, "
                        "or 9 to end."),
    "options_no_agent": N_("To hear it again, press 1. For another transaction, press 2. "
                           "To end the call, press 9."),
    "options_short_no_agent": N_("Press 1 to repeat, 2 for another transaction, or 9 to "
                                 "end."),
    "connecting": N_("Please wait while we put you through to an employee."),
    "agents_closed": N_("Our employees are not available at this time."),
    "agents_busy": N_("No employee is free to take your call right now."),
    "agents_hours": N_("Our employees answer calls {days}, from {start} to {end}."),
    "days_range": N_("{first} to {last}"),
    "self_service": N_("You can hear your transaction's status on this line at any time, "
                       "send its number by SMS to {short_code}, or use the emirate's "
                       "portal."),
    "give_up": N_("Sorry, we could not complete your request."),
    "goodbye": N_("Thank you for calling. Goodbye."),
    "date": N_("{day} {month} {year} AH, corresponding to {gregorian_day} "
               "{gregorian_month} {gregorian_year}."),
    # Citizen's Voice (main menu, a complaint left as a voice message, a case's state).
    "services": N_("For a transaction's status, press 1. To leave a complaint as a voice "
                   "message, press 2. To follow a complaint by its tracking number, "
                   "press 3."),
    "services_short": N_("Press 1 for a transaction, 2 to leave a complaint, or 3 to "
                         "follow a complaint."),
    "enter_mobile": N_("Please enter your mobile number, for the text message with your "
                       "tracking number, then press the hash key."),
    "enter_mobile_short": N_("Enter your mobile number, then the hash key."),
    "invalid_mobile": N_("That mobile number is not valid."),
    "record": N_("After the tone, say your complaint: what happened, where and when. "
                 "Press the hash key when you have finished."),
    "record_short": N_("Say your complaint after the tone, then press the hash key."),
    "recording_too_short": N_("We did not hear a message, so nothing was filed."),
    "complaint_filed": N_("Your complaint was received. Its tracking number is {digits}."),
    "tracking_sent": N_("We have sent the tracking number to your mobile by text "
                        "message."),
    "too_many_cases": N_("You have filed as many complaints as allowed for now. Please "
                         "try again later."),
    "enter_tracking": N_("Please enter the tracking number of your complaint, then press "
                         "the hash key."),
    "enter_tracking_short": N_("Enter the tracking number, then the hash key."),
    "invalid_tracking": N_("That tracking number is not valid."),
    "enter_case_mobile": N_("To confirm it is yours, enter the mobile number you gave with "
                            "it, then press the hash key."),
    "enter_case_mobile_short": N_("Enter the mobile number, then the hash key."),
    "case_state": N_("Case number {digits}: {state}."),
    "case_answer": N_("The answer:"),
    "case_answer_sent": N_("The answer was sent to your mobile by text message."),
    "no_such_case": N_("No case was found for these details. Check the number and try "
                       "again."),
    "case_options": N_("To hear it again, press 1. To follow a complaint by its tracking "
                       "number, press 2. To end the call, press 9."),
    "case_options_short": N_("Press 1 to repeat, 2 to follow a complaint, or 9 to end."),
    # The core's wordings (already in the catalog).
    "number_is": "Transaction number {number}.",
    "registered_on": "It was registered on {date}.",
    "not_found": "No transaction was found for these details. Check the number and try again.",
    "rate_limited": "Too many attempts. Please try again later.",
    "status_registered": "Registered and in progress",
    "status_referred": "Referred to {department}",
    "status_assigned": "Under study in {department}",
    "status_issued_awaiting": "Issued to {agency}, awaiting its reply",
    "status_issued": "Issued to {agency}",
    "status_reply_received": "Reply received from {agency}",
    "status_closed": "Completed",
}

# The week as the line names it, from Sunday (the first working day).
DAY_NAMES = {"sun": N_("Sunday"), "mon": N_("Monday"), "tue": N_("Tuesday"),
             "wed": N_("Wednesday"), "thu": N_("Thursday"), "fri": N_("Friday"),
             "sat": N_("Saturday")}

_FIELD = re.compile(r"\{(\w+)\}")
# A fixed stretch with nothing to say (a comma, a full stop) gets no recording of its own.
_SPOKEN = re.compile(r"\w")
_TRIM = " \t\n,.;:!?،؛"


@dataclass(frozen=True)
class Piece:
    """A value put into a sentence: how ``<Say>`` reads it, and its recordable phrases."""

    text: str
    phrases: tuple[str, ...]


@dataclass(frozen=True)
class Sentence:
    lang: str
    text: str
    phrases: tuple[str, ...]

    def to_json(self) -> list:
        return [self.lang, self.text, list(self.phrases)]

    @classmethod
    def from_json(cls, value: list) -> Sentence:
        return cls(str(value[0]), str(value[1]), tuple(str(p) for p in value[2]))


def _fixed(template_part: str) -> list[str]:
    part = template_part.strip(_TRIM)
    return [part] if _SPOKEN.search(part) else []


# A call's sentences are the same few prompts, numbers and dates again and again: each is
# kept once made (all immutable), instead of translated and cut up on every webhook.
@lru_cache(maxsize=4096)
def sentence(lang: str, key: str, **values: Piece | str) -> Sentence:
    """The prompt ``key`` in ``lang`` with its placeholders filled."""
    template = gettext_for(lang)(PROMPTS[key])
    pieces = {name: value if isinstance(value, Piece) else Piece(value, (value,))
              for name, value in values.items()}
    phrases: list[str] = []
    position = 0
    for match in _FIELD.finditer(template):
        phrases += _fixed(template[position:match.start()])
        phrases += [p for p in pieces[match.group(1)].phrases if p]
        position = match.end()
    phrases += _fixed(template[position:])
    text = template.format(**{name: piece.text for name, piece in pieces.items()})
    return Sentence(lang, text, tuple(phrases))


def digits(number: str) -> Piece:
    """A number read digit by digit ("4 4 7 1")."""
    return Piece(" ".join(number), tuple(number))


def _name(name: Name | None, lang: str) -> Piece:
    text = name.in_(lang) if name else ""
    return Piece(text, (text,))


@lru_cache(maxsize=1024)
def spoken_date(day: date, lang: str) -> Sentence:
    """The Hijri date with its Gregorian equivalent, each part a recordable phrase."""
    hijri = hijri_date(day) or (day.year, day.month, day.day)
    hijri_months = HIJRI_MONTHS_AR if lang == "ar" else HIJRI_MONTHS_EN
    months = GREGORIAN_MONTHS_AR if lang == "ar" else GREGORIAN_MONTHS_EN
    year, month, day_of_month = hijri
    return sentence(lang, "date", day=str(day_of_month), month=hijri_months[month - 1],
                    year=str(year), gregorian_day=str(day.day),
                    gregorian_month=months[day.month - 1], gregorian_year=str(day.year))


def working_hours(lang: str, days: Iterable[str], start: time, end: time) -> Sentence:
    """When the employees answer: "Sunday to Thursday, from 8:00 to 15:00"."""
    _ = gettext_for(lang)
    week = list(DAY_NAMES)
    ordered = sorted(set(days) & set(week), key=week.index)
    names = [_(DAY_NAMES[day]) for day in ordered]
    positions = [week.index(day) for day in ordered]
    if len(names) >= 3 and positions == list(range(positions[0], positions[-1] + 1)):
        spoken = sentence(lang, "days_range", first=names[0], last=names[-1])
        days_piece = Piece(spoken.text, spoken.phrases)
    else:
        separator = "، " if lang == "ar" else ", "
        days_piece = Piece(separator.join(names), tuple(names))
    return sentence(lang, "agents_hours", days=days_piece, start=_clock(start),
                    end=_clock(end))


def _clock(moment: time) -> Piece:
    """A time of day, 24-hour ("8:00", "15:30"): the hour and minutes are recordings."""
    minutes = (str(moment.minute),) if moment.minute else ()
    return Piece(f"{moment.hour}:{moment.minute:02d}", (str(moment.hour), *minutes))


def status_sentence(view: TransactionView, lang: str) -> Sentence:
    """The status in a few words: core.render.status_label's wording, in phrases."""
    department = _name(view.department, lang)
    agency = _name(view.destination_agency, lang)
    match view.status:
        case "registered":
            return sentence(lang, "status_registered")
        case "referred":
            return sentence(lang, "status_referred", department=department)
        case "assigned":
            return sentence(lang, "status_assigned", department=department)
        case "issued" if view.reply_expected:
            return sentence(lang, "status_issued_awaiting", agency=agency)
        case "issued":
            return sentence(lang, "status_issued", agency=agency)
        case "reply_received":
            return sentence(lang, "status_reply_received", agency=agency)
        case "closed":
            return sentence(lang, "status_closed")
    return Sentence(lang, view.status, (view.status,))


def answer_speech(answer: Answer, lang: str, tz: ZoneInfo) -> tuple[Sentence, ...]:
    """What the line says about an inquiry's answer (core.render.speech_text's content)."""
    if answer.outcome is Outcome.RATE_LIMITED:
        return (sentence(lang, "rate_limited"),)
    view = answer.transaction
    if answer.outcome is not Outcome.FOUND or view is None:
        return (sentence(lang, "not_found"),)
    registered = spoken_date(local_date(view.registered_at, tz), lang)
    return (
        sentence(lang, "number_is", number=digits(view.number)),
        status_sentence(view, lang),
        sentence(lang, "registered_on", date=Piece(registered.text.rstrip("."),
                                                   registered.phrases)),
    )


# --- what the offline renderer records ---------------------------------------------------


def recordable_phrases(lang: str, years: Iterable[int]) -> Iterator[str]:
    """Every phrase of ``lang`` worth a recording: the fixed wording of each prompt, the
    numbers 0 to 59 (digits read one by one, the days of a month, the hours and minutes of
    the working hours: ``_clock`` says "8:45" as 8 and 45), the years in ``years``, the
    names of the weekdays and months."""
    seen: set[str] = set()
    _ = gettext_for(lang)
    candidates: list[str] = []
    for msgid in PROMPTS.values():
        template = _(msgid)
        for part in _FIELD.split(template)[0::2]:
            candidates += _fixed(part)
    candidates += [str(n) for n in range(60)]
    candidates += [state_words(state, lang) for state in STATES]
    candidates += [str(n) for n in years]
    candidates += [_(name) for name in DAY_NAMES.values()]
    candidates += HIJRI_MONTHS_AR if lang == "ar" else HIJRI_MONTHS_EN
    candidates += GREGORIAN_MONTHS_AR if lang == "ar" else GREGORIAN_MONTHS_EN
    for phrase in candidates:
        if phrase not in seen:
            seen.add(phrase)
            yield phrase


def recording_years(today: date, back: int = 10) -> list[int]:
    """Hijri and Gregorian years a registration date is likely to fall in."""
    hijri = hijri_date(today)
    hijri_year = hijri[0] if hijri else today.year - 579
    return [*range(hijri_year - back, hijri_year + 2), *range(today.year - back, today.year + 2)]


# --- Citizen's Voice ------------------------------------------------------------------------

# <Say> reads at most a few thousand characters; an answer longer than this is cut at a
# word and the caller told the rest is in the text message.
MAX_SPOKEN_ANSWER = 1500


def case_speech(view: CitizenView, lang: str, *, read_answer: bool) -> tuple[Sentence, ...]:
    """A case's state for its citizen: the number digit by digit and the state in words;
    the answer when there is one, read out (``read_answer``: the line speaks with
    Twilio's voices) or said to be in the text message they were sent (recordings)."""
    state = state_words(view.state, lang)
    said = [sentence(lang, "case_state", digits=digits(view.tracking), state=state)]
    if view.answer:
        if read_answer:
            text = _cut(view.answer, MAX_SPOKEN_ANSWER)
            # In the voice of the language it is written in (an Arabic answer to a call
            # in English is read by the Arabic voice), whatever the call's.
            said += [sentence(lang, "case_answer"), Sentence(written_in(text), text, (text,))]
            if len(text) < len(" ".join(view.answer.split())):
                said.append(sentence(lang, "case_answer_sent"))
        else:
            said.append(sentence(lang, "case_answer_sent"))
    return tuple(said)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return (cut or text[:limit]) + " …"
