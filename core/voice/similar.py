"""Similar open cases of the same agency: what a coordinator may merge a new case into.

Two cases are similar when their texts, folded for matching (``core.identity.arabic.fold``:
alef forms, ya and alef maqsura, ta marbuta, tatweel and diacritics made one; stored as
``VoiceCase.text_folded``), share enough trigrams: ``|A ∩ B| / |A ∪ B|`` over the sets of
three-letter pieces of their words (of the first ``MATCHED`` characters: a report's gist
is at its start, and it bounds the work per case), each word padded as pg_trgm pads it (two spaces
before, one after). That is pg_trgm's ``similarity()``; on PostgreSQL, where the
extension is there and classifies Arabic letters as letters (a database whose LC_CTYPE
is a UTF-8 locale: in the "C" locale it sees no Arabic word at all), the database
computes it over its GIN trigram index. Elsewhere (SQLite, PostgreSQL without the
extension or in the "C" locale) the same measure is computed here over a bounded set of
candidates: the agency's ``CANDIDATES`` most recently received open cases.

Only cases the coordinator may merge into are suggested: open (the agency has not
answered or decided), of the same handling agency, not the case itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.identity.arabic import fold
from core.identity.masking import mask_contacts
from core.voice import states
from core.voice.models import VoiceCase

# pg_trgm's default ``similarity_threshold``: the least similarity suggested.
THRESHOLD = 0.3
SHOWN = 5
CANDIDATES = 200
EXCERPT = 160
MATCHED = 1000
OPEN_STATES = tuple(sorted(frozenset(states.STATES) - states.ANSWER_GIVEN))
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class SimilarCase:
    tracking: str
    type: str
    state: str
    received_at: datetime
    excerpt: str
    score: float  # 0 to 1


def matched_text(text: str) -> str:
    """What similarity compares of a case's text (``VoiceCase.text_folded``): the text
    folded, its first ``MATCHED`` characters."""
    return fold(text)[:MATCHED]


def trigrams(folded: str) -> set[str]:
    """The trigrams of a folded text as pg_trgm makes them: per word of letters and
    digits, padded with two spaces before and one after."""
    found: set[str] = set()
    for word in set(_WORD.findall(folded.lower())):
        padded = f"  {word} "
        found.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return found


def similarity(first: str, second: str) -> float:
    """pg_trgm's ``similarity`` of two folded texts (0 when either has no word)."""
    return _jaccard(trigrams(first), trigrams(second))


def _jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    common = len(a & b)
    return common / (len(a) + len(b) - common)


def database_trigrams(session: Session) -> bool:
    """Whether this database computes trigram similarity of Arabic text itself: pg_trgm
    installed, and a locale in which an Arabic word has trigrams."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    try:
        with session.begin_nested():
            found = session.scalar(text("SELECT similarity('شارع', 'شارع')"))
    except DBAPIError:  # no pg_trgm: the function does not exist
        return False
    return bool(found and found > 0.99)


def suggest(session: Session, case: VoiceCase, *, in_database: bool) -> list[SimilarCase]:
    """The open cases of ``case``'s agency most like it, the most similar first, at most
    ``SHOWN``. ``in_database``: ``database_trigrams`` said yes."""
    folded = case.text_folded or matched_text(case.text)
    mine = trigrams(folded)
    if not mine:
        return []
    scope = (VoiceCase.agency_id == case.agency_id, VoiceCase.state.in_(OPEN_STATES),
             VoiceCase.id != case.id)
    if in_database:
        score = func.similarity(VoiceCase.text_folded, folded)
        rows = session.execute(
            select(VoiceCase, score.label("score")).where(
                *scope, VoiceCase.text_folded.op("%")(folded), score >= THRESHOLD)
            .order_by(score.desc(), VoiceCase.id.desc()).limit(SHOWN)).all()
        return [_similar(row[0], float(row[1])) for row in rows]
    candidates = session.scalars(
        select(VoiceCase).where(*scope)
        .order_by(VoiceCase.received_at.desc(), VoiceCase.id.desc())
        .limit(CANDIDATES)).all()
    scored = [(_jaccard(mine, trigrams(other.text_folded or matched_text(other.text))), other)
              for other in candidates]
    scored = [(score, other) for score, other in scored if score >= THRESHOLD]
    scored.sort(key=lambda pair: (-pair[0], -pair[1].id))
    return [_similar(other, score) for score, other in scored[:SHOWN]]


def _similar(case: VoiceCase, score: float) -> SimilarCase:
    excerpt = mask_contacts(case.text)
    if len(excerpt) > EXCERPT:
        excerpt = excerpt[:EXCERPT - 1].rstrip() + "…"
    return SimilarCase(case.tracking, case.case_type, case.state, case.received_at,
                       excerpt, round(score, 2))
