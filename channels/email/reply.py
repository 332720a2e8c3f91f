"""The words and threading of a reply to a citizen's mail: its fixed subject, its
References header, and its sections, Arabic then English, each number asked about with
its answer. Pure, no I/O.

The subject is the same for every reply: the incoming one is the sender's text, and
echoed it would make the emirate's own signed address carry their words. Mail clients
thread the reply by In-Reply-To and References."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo

from core.messaging.bilingual import REPLY_LANGUAGES, Section
from core.messaging.subjects import DEFAULT, notification_subject
from core.platform.i18n import gettext_for
from core.transactions import render
from core.transactions.answer import Answer, Outcome

_MAX_REFERENCES = 10


@dataclass(frozen=True)
class Asked:
    """What filing a mail's question came to (``channels.email.asks``): its ``tracking``
    number, or refused for the filing limits (``too_many``); neither when the core
    refused it otherwise."""

    tracking: str | None = None
    too_many: bool = False


@cache
def reply_subject() -> str:
    """Every reply's subject: "Re: " and the bilingual "Transaction inquiry"."""
    return "Re: " + notification_subject(DEFAULT)


def reply_references(references: str, message_id: str | None) -> str:
    """The References header of the reply: the thread's last ids and the citizen's mail."""
    ids = references.split()
    if message_id:
        ids.append(message_id.strip())
    return " ".join(list(dict.fromkeys(ids))[-_MAX_REFERENCES:])


def _answer_block(number: str, answer: Answer, lang: str, tz: ZoneInfo) -> str:
    _ = gettext_for(lang)
    if answer.outcome is Outcome.FOUND and answer.transaction is not None:
        return render.screen_text(answer, lang, tz)
    heading = _("Transaction {number}").format(number=number)
    if answer.outcome is Outcome.RATE_LIMITED:
        return heading + "\n" + render.rate_limited_text(lang)
    # "No such number" and "not yours" read the same, byte for byte.
    return heading + "\n" + render.not_found_text(lang)


def _asked_block(asked: Asked, lang: str) -> str:
    _ = gettext_for(lang)
    if asked.tracking:
        return _("Your question was passed to the staff who handle your transaction; a "
                 "person will answer it in this thread. Its tracking number is {tracking}."
                 ).format(tracking=asked.tracking)
    if asked.too_many:
        return _("Your question could not be passed on now: you have sent many requests "
                 "today. Please write again tomorrow.")
    return _("Your question could not be passed on. Please write it again in a few words.")


def reply_sections(answers: list[tuple[str, Answer]], tz: ZoneInfo, *,
                   oversized: bool = False, asked: Asked | None = None) -> list[Section]:
    """The reply's text, Arabic then English: each number asked about with its answer, a
    help text when the mail named none, or a polite refusal for a mail too large to read;
    and, when the mail's question was filed (``asked``), that a person will answer it."""
    sections = []
    for lang in REPLY_LANGUAGES:
        _ = gettext_for(lang)
        blocks = [_("Thank you for writing to us.")]
        if oversized:
            blocks.append(_("Your message is too large for us to read. Please write again "
                            "with only your transaction number, without attachments."))
        elif not answers:
            blocks.append(_("Write your transaction number in the subject or the body of "
                            "your message, and we will reply with its status."))
        else:
            blocks += [_answer_block(number, answer, lang, tz) for number, answer in answers]
        if asked is not None:
            blocks.append(_asked_block(asked, lang))
        blocks.append(_("This is an automatic reply from the transaction follow-up service. "
                        "Only the applicant's e-mail address on file, or a message carrying "
                        "the applicant's national ID, receives a transaction's status."))
        sections.append(Section(lang, "\n\n".join(blocks)))
    return sections
