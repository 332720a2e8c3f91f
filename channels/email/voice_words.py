"""What a mail to the Citizen's Voice address says, and the words of the replies the
channel itself writes (the case's own notices are the core's, ``core.voice.notices``).
Pure, no I/O.

A mail files a complaint unless its subject, or else its text, starts with a keyword
naming another type, as on SMS: ``مقترح``, ``اقتراح`` or ``suggestion`` a suggestion,
``استفسار`` or ``question`` an enquiry (``شكوى``, ``بلاغ`` or ``complaint`` say
complaint); diacritics, tatweel, alef forms and case do not matter. The subject, once
its keyword and any "Re:"/"Fwd:" are taken off, is the case text's first line. A mail
in a case's thread (or naming its tracking number in the subject) is about that case:
its text is the citizen's reply while the case waits for them; a text that is only a
digit ``1``–``5`` rates the answer and ``0`` reopens the case, as by SMS.
"""

from __future__ import annotations

import re
from datetime import date

from core.calendar.dates import format_date
from core.identity.arabic import fold, starts_with_word
from core.identity.digits import normalize_digits
from core.messaging.bilingual import REPLY_LANGUAGES, Section
from core.platform.i18n import gettext_for
from core.voice.citizen_cases import CitizenView, state_words
from core.voice.tracking import parse_tracking

COMPLAINT, SUGGESTION, ENQUIRY = "complaint", "suggestion", "enquiry"
# Folded as core.identity.arabic.fold folds what the citizen wrote.
TYPE_WORDS: dict[str, tuple[str, ...]] = {
    COMPLAINT: tuple(fold(word) for word in ("شكوى", "بلاغ", "complaint")),
    SUGGESTION: tuple(fold(word) for word in ("مقترح", "اقتراح", "suggestion")),
    ENQUIRY: tuple(fold(word) for word in ("استفسار", "question")),
}
_ALL_WORDS = tuple(word for words in TYPE_WORDS.values() for word in words)
# "Re:", "Fwd:", "رد:", "إعادة توجيه:", repeated, in front of a subject.
_PREFIXES = re.compile(r"^\s*(?:(?:re|fwd?|aw|sv|رد|إعادة توجيه|اعادة توجيه)\s*(?:\[\d+\])?"
                       r"\s*[:：]\s*)+", re.IGNORECASE)
# Ten digits starting with 7, in any digits, groups split by spaces or dashes.
_TRACKING_SHAPE = re.compile(r"(?<!\d)7(?:[\s\-]?\d){9}(?!\d)")
_DIGIT_ONLY = re.compile(r"^\s*([0-9])\s*[.!]?\s*$")


def case_type_and_text(subject: str, text: str) -> tuple[str, str]:
    """The type a mail files and the case's text: the subject (without its keyword or
    reply prefixes) as the first line, then the mail's new text (without its keyword,
    when the subject had none)."""
    subject = _PREFIXES.sub("", subject).strip()
    case_type = COMPLAINT
    found = starts_with_word(subject, _ALL_WORDS)
    if found is not None:
        case_type, subject = _type_of(found[0]), found[1]
    else:
        found = starts_with_word(text, _ALL_WORDS)
        if found is not None:
            case_type, text = _type_of(found[0]), found[1]
    parts = [part.strip() for part in (subject, text) if part.strip()]
    return case_type, "\n\n".join(parts)


def _type_of(word: str) -> str:
    return next(kind for kind, words in TYPE_WORDS.items() if word in words)


def tracking_in(subject: str) -> str | None:
    """The tracking number a subject names ("طلبي 7482 1093 65"), or None."""
    clean = normalize_digits(subject)
    for match in _TRACKING_SHAPE.finditer(clean):
        found = parse_tracking(match.group())
        if found is not None:
            return found
    return None


def bare_digit(text: str) -> int | None:
    """The digit a reply is made of (its first line "1" to "5" rates, "0" reopens; a
    signature under it does not matter), or None for any other text."""
    for line in normalize_digits(text).splitlines():
        if line.strip():
            match = _DIGIT_ONLY.match(line)
            return int(match.group(1)) if match and int(match.group(1)) <= 5 else None
    return None


# --- the channel's own replies, Arabic then English ------------------------------------

def _bilingual(*texts: str, **values: object) -> list[Section]:
    sections = []
    for lang in REPLY_LANGUAGES:
        _ = gettext_for(lang)
        blocks = [_(text).format(**values) for text in texts]
        blocks.append(_("This is an automatic reply from the Citizen's Voice service."))
        sections.append(Section(lang, "\n\n".join(blocks)))
    return sections


def empty_sections() -> list[Section]:
    return _bilingual("Your message has no text for us to file. Please write your "
                      "complaint or suggestion in the body of the message.")


def too_long_sections(limit: int) -> list[Section]:
    return _bilingual("Your message is longer than {limit} characters, more than a request "
                      "can hold. Please write it again more briefly.", limit=limit)


def too_large_sections() -> list[Section]:
    return _bilingual("Your message is too large for us to read. Please write again with "
                      "the text only, without attachments.")


def too_many_sections() -> list[Section]:
    return _bilingual("You have sent as many requests as we can take from you for now. "
                      "Please write again later.")


def not_found_sections() -> list[Section]:
    """For a case that does not exist and for one that is not the sender's alike."""
    return _bilingual("We found no request of yours with this number. To file a new "
                      "request, write a new message to this address.")


def reply_added_sections(tracking: str) -> list[Section]:
    return _bilingual("Your reply was added to your request {tracking}, and the agency "
                      "is studying it again.", tracking=tracking)


def rated_sections(tracking: str) -> list[Section]:
    return _bilingual("Thank you: your rating of the answer to your request {tracking} "
                      "was recorded.", tracking=tracking)


def reopened_sections(tracking: str) -> list[Section]:
    return _bilingual("Your request {tracking} was reopened; the agency will study it "
                      "again.", tracking=tracking)


def state_sections(view: CitizenView) -> list[Section]:
    """Where the case stands, what it asks of the citizen, and what they may do now."""
    sections = []
    for lang in REPLY_LANGUAGES:
        _ = gettext_for(lang)
        blocks = [_("Your request {tracking}: {state}.").format(
            tracking=view.tracking, state=state_words(view.state, lang))]
        if view.may_reply and view.question:
            blocks.append(_("We asked you: {question} Please reply to this message with "
                            "the information.").format(question=view.question))
        if view.answer:
            blocks.append(_("The answer: {answer}").format(answer=view.answer))
        if view.may_rate or view.may_reopen:
            blocks.append(_reopen_hint(view.may_rate, view.reopen_until, lang))
        if not view.may_reply and view.state not in ("answered", "closed"):
            blocks.append(_("We will write to you here when there is news."))
        blocks.append(_("This is an automatic reply from the Citizen's Voice service."))
        sections.append(Section(lang, "\n\n".join(blocks)))
    return sections


def _reopen_hint(may_rate: bool, until: date | None, lang: str) -> str:
    _ = gettext_for(lang)
    hints = []
    if may_rate:
        hints.append(_("Reply with a digit from 1 to 5 to rate the answer."))
    if until is not None:
        hints.append(_("Reply with 0 by {date} to reopen the request.").format(
            date=format_date(until, lang)))
    return " ".join(hints)
