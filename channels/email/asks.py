"""A question about a transaction by e-mail: which mail asks more than its status, and
filing it as an enquiry that a person answers. The rule is pure; filing is the core's.

The inquiry responder answers every number a mail names with its status at once. A mail
that also asks something the status cannot answer ("why is it late?", "what papers are
missing?") is filed as well, as an enquiry about the first number it names
(``"transaction"``: the core links it, and routes it to the department holding the
transaction, only when the sender's address or the national ID the mail carries proves
it is theirs; otherwise it is an ordinary enquiry to the emirate and the sender learns
nothing more than the status reply already said).

The rule (``asks_more``), on the mail's new text (quotes and signature already cut off by
``parse``), not its subject (often a mail client's default, or a line a forger chose to
have echoed: a subject alone never files a case): take away the transaction numbers,
national IDs and other digits, and every word of a plain status request (greetings, thanks
and closings, "status", "transaction", "number", "please tell me", ...: ``STOCK_WORDS``,
folded as ``core.identity.arabic.fold`` folds); what is left are the mail's own words. At least
``MIN_OWN_WORDS`` of them is a question for a person. A question mark alone is not: "ما
حالة معاملتي 1447001؟" is a status request, and the automatic reply answers it.

The enquiry is filed once per mail (its source key is the mail's dedupe key), in the thread
of the mail (its notices, the answer among them, are replies in that thread), without an
acknowledgement of its own: the status reply says a person will answer and gives the
tracking number.
"""

from __future__ import annotations

import logging
import re

from channels.email.identifiers import redact_national_ids
from channels.email.reply import Asked, reply_references
from core.identity.addresses import mask_email
from core.identity.arabic import fold, written_in
from core.platform.errors import InvalidRequest, TooMany
from core.service import Core
from core.voice.cases import TEXT_MAX
from core.voice.limits import mail_domain

log = logging.getLogger(__name__)

# Words of its own a mail needs, beyond a status request's, to be a question for a person.
MIN_OWN_WORDS = 3

# The words of a plain status request, greetings and closings, in Arabic and English.
_STOCK_TEXT = """
السلام عليكم ورحمة الله وبركاته وعليكم سلام مرحبا مرحبً اهلا وسهلا تحية طيبة طيبه وبعد
صباح مساء الخير النور شكرا شكراً جزيلا وشكرا جزاكم جزاك خيرا الله يعطيكم العافية مع التحية
تحياتي وتقديري احترامي التقدير والاحترام الرجاء ارجو أرجو نرجو من فضلك فضلكم لو سمحت سمحتم
افادتي إفادتي افيدوني أفيدوني اود أود ابغى أبغى اريد أريد معرفة اعرف أعرف بحالة حالة الحالة
وضع المعاملة معاملتي معاملة معاملتى المعامله معامله رقم رقمها برقم الرقم استعلام استعلم
الاستعلام عن على ما هي هو هى متابعة متابعه اخي أخي الكريم الكرام السادة السيد المحترم
المحترمين سعادة حضرة فضيلة و في من الى إلى
hello hi hey dear sir sirs madam team good morning afternoon evening greetings please
kindly could can would you tell me let know i'd id i want like to the a an of my for
is what whats what's status current latest update on about regarding re fw fwd
transaction transactions number no inquiry enquiry query follow up followup thanks thank
regards best kind sincerely yours faithfully cheers and in with
"""
STOCK_WORDS: frozenset[str] = frozenset(fold(word) for word in _STOCK_TEXT.split())
_WORD = re.compile(r"[^\W\d_]+")


def own_words(text: str) -> list[str]:
    """The text's words beyond a status request's: letters only (digits, numbers and
    punctuation go), folded, the stock words and single letters left out."""
    words = _WORD.findall(fold(text).lower())
    return [word for word in words if len(word) > 1 and word not in STOCK_WORDS]


def asks_more(text: str) -> bool:
    """Whether a mail (its new text) that names a transaction asks something its status
    cannot answer (the module's rule)."""
    return len(own_words(text)) >= MIN_OWN_WORDS


def file_question(core: Core, *, number: str, text: str, sender: str,
                  key: str, references: str, message_id: str | None,
                  national_id: str | None) -> Asked:
    """File the mail's question as an enquiry about transaction ``number``, once per mail
    (``key``), threaded under the mail; the national ID it carries (never stored: hashed
    by the core) may prove the transaction is the sender's."""
    question = redact_national_ids(text.strip())[:TEXT_MAX]
    citizen: dict[str, str] = {"email": sender}
    if national_id:
        citizen["national_id"] = national_id
    body = {"type": "enquiry", "text": question, "channel": "email",
            "lang": written_in(question), "citizen": citizen, "transaction": number}
    try:
        filed = core.voice.file_case(
            body, source_key=key, self_service=True, origin=mail_domain(sender),
            email_thread=reply_references(references, message_id), acknowledge=False)
    except TooMany:
        return Asked(too_many=True)
    except InvalidRequest as exc:
        log.info("question by e-mail from %s not filed: %s", mask_email(sender),
                 exc.message)
        return Asked()
    return Asked(tracking=filed.tracking)
