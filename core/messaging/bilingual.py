"""A message in both languages, Arabic first: the sections an e-mail is written in (its
HTML part gives each its own block) and the one plain-text body they make in the outbox.

Shared by the replies to citizens' mails and the notifications sent by e-mail, so that
the sender can split any body it drains back into the sections it was written from.
"""

from __future__ import annotations

from dataclasses import dataclass

REPLY_LANGUAGES = ("ar", "en")
SECTION_RULE = "\n\n" + "—" * 24 + "\n\n"


@dataclass(frozen=True)
class Section:
    """One language's part of a reply."""

    lang: str
    text: str


def plain_text(sections: list[Section]) -> str:
    """The sections as one plain-text body, Arabic first, a rule between them."""
    return SECTION_RULE.join(section.text for section in sections)


def split_sections(body: str, language: str) -> list[Section]:
    """The sections of a body ``plain_text`` wrote (Arabic, then English); a body with one
    part is one section in ``language``."""
    parts = body.split(SECTION_RULE)
    if len(parts) == len(REPLY_LANGUAGES):
        return [Section(lang, text) for lang, text in zip(REPLY_LANGUAGES, parts, strict=True)]
    return [Section(language, body)]
