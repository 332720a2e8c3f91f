"""The subject of a notification sent by e-mail, by its outbox kind, Arabic / English.

The outbox carries messages of every feature, and the e-mail sender titles each by its
kind; which title a kind has is its feature's business. So each feature names its kinds'
titles here (``register``, English msgids marked with ``N_`` for the catalog) in the
module that defines those kinds: transactions (``core.transactions.email_notifications``)
and Citizen's Voice (``core.voice.notices``, ``core.voice.alarm_messages``). Those are
imported with ``core.service`` (``Core``), on which every sender is built. A kind
without a title of its own takes the one registered for ``DEFAULT``.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.messaging.bilingual import REPLY_LANGUAGES
from core.platform.i18n import gettext_for

# The kind whose title every kind without one takes.
DEFAULT = ""

_TITLES: dict[str, str] = {}


def N_(msgid: str) -> str:  # noqa: N802 (babel's default keyword)
    """Marks a msgid for extraction; translated when a subject is made."""
    return msgid


def register(titles: Mapping[str, str]) -> None:
    """Name the title (an English msgid) of each of these outbox kinds. A kind is one
    feature's: naming it again with another title is a mistake, caught here."""
    for kind, title in titles.items():
        if _TITLES.setdefault(kind, title) != title:
            raise ValueError(f"the e-mail subject of {kind!r} is already {_TITLES[kind]!r}")


def notification_subject(kind: str) -> str:
    """The subject of an e-mail of ``kind``: its title in Arabic, then English."""
    title = _TITLES.get(kind) or _TITLES.get(DEFAULT, "")
    return " / ".join(gettext_for(lang)(title) for lang in REPLY_LANGUAGES) if title else ""
