"""A case as its citizen sees it, on any channel: where it stands, what happened in plain
words, the question they are asked or the answer they were given, and what they may do
now. And the citizen's own open cases, found by the mobile or address a channel
verified: where a plain message of theirs belongs.

Nothing here names a member of staff or shows what is internal to the agency (drafts,
drafts sent back, staff comments, the reason a case moved between agencies): the
citizen sees that their case moved, who answered is the agency.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from core.calendar.dates import local_date
from core.directory.models import Agency
from core.identity.phones import InvalidMobile, normalize_mobile
from core.platform.i18n import gettext_for
from core.platform.settings import CoreSettings
from core.voice import states as s
from core.voice.actions import CitizenProof, allowed_from, reopen_until
from core.voice.models import CaseAnswer, CaseEvent, VoiceCase, VoiceCategory

# The steps a citizen is shown, by the event's action; the others are the agency's own.
SHOWN = frozenset({"file", "route", "not_competent", "assign", "request_info",
                   "citizen_reply", "answer", "approve", "accept", "plan", "implement",
                   "reject", "close", "merge", "withdraw", "reopen", "rate"})
# Shown as one step: the case moved to another agency, or someone took it up.
SAME_STEP = {"not_competent": "route", "start": "assign"}
# Source keys looked up at once: a mail thread's first (its In-Reply-To and References,
# newest first; a long thread's oldest mails are not looked at).
MAX_SOURCE_KEYS = 20


@dataclass(frozen=True)
class Step:
    """One thing that happened, as the citizen is told it: ``what`` is an action of
    ``SHOWN`` (``plain`` says it in words), ``text`` what they were asked or answered,
    or the reason given them."""

    at: datetime
    what: str
    text: str | None = None
    rating: int | None = None


@dataclass(frozen=True)
class CitizenView:
    tracking: str
    type: str
    state: str
    agency_ar: str
    agency_en: str
    category_ar: str | None
    category_en: str | None
    text: str
    received_at: datetime
    answer_due: datetime | None  # while the agency's clock runs
    question: str | None  # what they are asked, while the case waits for them
    answer: str | None  # the answer (or decision) of the current cycle, once given
    rating: int | None
    reopen_until: date | None  # the last day they may reopen, while they may
    may_reply: bool
    may_rate: bool
    may_reopen: bool
    may_withdraw: bool
    history: list[Step]

    def agency(self, lang: str) -> str:
        return self.agency_ar if lang == "ar" else self.agency_en

    def category(self, lang: str) -> str | None:
        return self.category_ar if lang == "ar" else self.category_en


def plain(step: Step, case_type: str, lang: str) -> str:
    """The step in the citizen's words (without its text, which follows it)."""
    _ = gettext_for(lang)
    words = {
        "file": {"complaint": _("Your complaint was received."),
                 "suggestion": _("Your suggestion was received."),
                 "enquiry": _("Your enquiry was received.")}[case_type],
        "route": _("It was sent to the agency responsible."),
        "assign": _("A specialist is studying it."),
        "request_info": _("You were asked for more information."),
        "citizen_reply": _("You replied."),
        "answer": _("It was answered."),
        "accept": _("Your suggestion was accepted."),
        "plan": _("Your suggestion is planned."),
        "implement": _("Your suggestion was implemented."),
        "reject": _("Your suggestion was not accepted."),
        "close": _("It was closed."),
        "merge": _("It is handled together with another report of the same matter."),
        "withdraw": _("You withdrew it."),
        "reopen": _("You reopened it."),
        "rate": _("You rated the answer."),
    }
    return words[step.what]


def state_words(state: str, lang: str) -> str:
    """The state in one short phrase (an SMS, the kiosk's screen)."""
    _ = gettext_for(lang)
    return {
        s.RECEIVED: _("received"), s.ASSIGNED: _("under study"),
        s.IN_PROGRESS: _("under study"), s.UNDER_STUDY: _("under study"),
        s.ANSWER_DRAFTED: _("under study"),
        s.AWAITING_CITIZEN: _("waiting for your reply"), s.ANSWERED: _("answered"),
        s.CLOSED: _("closed"), s.DUPLICATE: _("joined with another report"),
        s.WITHDRAWN: _("withdrawn"), s.ACCEPTED: _("accepted"), s.PLANNED: _("planned"),
        s.IMPLEMENTED: _("implemented"), s.REJECTED: _("not accepted"),
    }[state]


def view(session: Session, config: CoreSettings, case: VoiceCase, now: datetime
         ) -> CitizenView:
    agency = session.get(Agency, case.agency_id)
    category = session.get(VoiceCategory, case.category_id) if case.category_id else None
    events = session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)
                             .order_by(CaseEvent.id)).all()
    history = _history(session, events)
    question = next((step.text for step in reversed(history)
                     if step.what == "request_info"), None) \
        if case.state == s.AWAITING_CITIZEN else None
    answer = _answer(session, case)
    last_reopen_day = None
    may_reopen = False
    if case.state in allowed_from("reopen", case.case_type) and case.answered_at:
        end = reopen_until(session, config, case.answered_at)
        if now < end:
            may_reopen = True
            last_reopen_day = local_date(end, config.tz) - timedelta(days=1)
    may_rate = case.state in allowed_from("rate", case.case_type) \
        and case.answered_at is not None \
        and (case.rated_at is None or case.rated_at < case.cycle_started_at)
    return CitizenView(
        tracking=case.tracking, type=case.case_type, state=case.state,
        agency_ar=agency.name_ar if agency else "", agency_en=agency.name_en if agency else "",
        category_ar=category.name_ar if category else None,
        category_en=category.name_en if category else None, text=case.text,
        received_at=case.received_at,
        answer_due=case.answer_due if case.state in s.CLOCK_RUNNING else None,
        question=question, answer=answer, rating=case.rating,
        reopen_until=last_reopen_day,
        may_reply=case.state in allowed_from("citizen_reply", case.case_type),
        may_rate=may_rate, may_reopen=may_reopen,
        may_withdraw=case.state in allowed_from("withdraw", case.case_type),
        history=history)


def _history(session: Session, events: Sequence[CaseEvent]) -> list[Step]:
    steps: list[Step] = []
    answers = {row.id: row.text for row in session.scalars(
        select(CaseAnswer).where(CaseAnswer.id.in_(
            [e.detail.get("answer_id") for e in events if e.detail.get("answer_id")])))}
    for event in events:
        what = SAME_STEP.get(event.action, event.action)
        if what not in SHOWN or event.action == "answer" and not event.detail.get("sent"):
            continue
        if what == "approve":
            what = "answer"
        if steps and steps[-1].what == what and what in ("route", "assign"):
            continue  # reassigned, routed on: nothing new for the citizen
        text: str | None = None
        if what in ("request_info", "citizen_reply"):
            text = str(event.detail.get("text") or "") or None
        elif what in ("answer", "accept", "reject"):
            answer_id = event.detail.get("answer_id")
            text = answers.get(answer_id) if isinstance(answer_id, int) else None
        elif what in ("plan", "implement"):
            text = str(event.detail.get("text") or "") or None
        elif what == "close":
            text = event.reason or None
        rating = event.detail.get("rating") if what == "rate" else None
        steps.append(Step(event.at, what, text,
                          rating if isinstance(rating, int) else None))
    return steps


def _answer(session: Session, case: VoiceCase) -> str | None:
    if case.answered_at is None:
        return None
    return session.scalar(
        select(CaseAnswer.text).where(CaseAnswer.case_id == case.id,
                                      CaseAnswer.cycle == case.cycle,
                                      CaseAnswer.sent_at.is_not(None))
        .order_by(CaseAnswer.id.desc()).limit(1))


# --- the citizen's own cases ------------------------------------------------------------


def _theirs(proof: CitizenProof) -> ColumnElement[bool]:
    """Cases reached at the proof's mobile or address (the channel verified it)."""
    found: list[ColumnElement[bool]] = []
    if proof.mobile:
        with contextlib.suppress(InvalidMobile):
            found.append(VoiceCase.citizen_mobile == normalize_mobile(proof.mobile))
    if proof.email and proof.email.strip():
        found.append(func.lower(VoiceCase.citizen_email) == proof.email.strip().lower())
    return or_(*found) if found else false()


def newest(session: Session, proof: CitizenProof, in_states: frozenset[str]
           ) -> VoiceCase | None:
    """The citizen's most recently changed case in one of ``in_states``."""
    return session.scalar(select(VoiceCase).where(_theirs(proof),
                                                  VoiceCase.state.in_(in_states))
                          .order_by(VoiceCase.updated_at.desc(), VoiceCase.id.desc())
                          .limit(1))


def newest_answered(session: Session, config: CoreSettings, proof: CitizenProof,
                    now: datetime) -> VoiceCase | None:
    """The citizen's most recently answered case they may still rate or reopen: answered
    (or decided) within the reopen window, or not yet rated (a rating, as
    ``allowed_from("rate")``, has no deadline: the state texts offer it while it is
    unrated). Any case within the window is newer than any outside it, so a bare "0" is
    about the newest reopenable case."""
    rateable = allowed_from("rate", s.COMPLAINT) | allowed_from("rate", s.SUGGESTION)
    candidates = session.scalars(
        select(VoiceCase).where(_theirs(proof), VoiceCase.state.in_(rateable),
                                VoiceCase.answered_at.is_not(None))
        .order_by(VoiceCase.answered_at.desc(), VoiceCase.id.desc()).limit(5)).all()
    for case in candidates:
        assert case.answered_at is not None
        if not _rated(case) or now < reopen_until(session, config, case.answered_at):
            return case
    return None


def _rated(case: VoiceCase) -> bool:
    """Rated since its last answer (a reopened case's new answer may be rated again)."""
    return case.rated_at is not None and case.rated_at >= case.cycle_started_at


def acted_from(session: Session, source_keys: Sequence[str]) -> tuple[VoiceCase, str] | None:
    """What channel messages (any of ``source_keys``: one message's keys, or a thread's)
    did, the newest: the case one filed and "file", else the case of the citizen's act
    and the act; None when none did anything."""
    keys = list(dict.fromkeys(source_keys))[:MAX_SOURCE_KEYS]
    if not keys:
        return None
    case = session.scalar(select(VoiceCase).where(VoiceCase.source_key.in_(keys))
                          .order_by(VoiceCase.id.desc()).limit(1))
    if case is not None:
        return case, "file"
    acted = session.execute(
        select(VoiceCase, CaseEvent.action)
        .join(CaseEvent, CaseEvent.case_id == VoiceCase.id)
        .where(CaseEvent.source_key.in_(keys))
        .order_by(CaseEvent.id.desc()).limit(1)).first()
    return (acted[0], acted[1]) if acted is not None else None


@dataclass(frozen=True)
class CaseLine:
    """One of the citizen's cases in a list ("my transactions"): what it is and where it
    stands, nothing of what was written in it."""

    tracking: str
    type: str
    state: str
    received_at: datetime


def listed(session: Session, *, national_id_hash: str | None, mobile: str | None,
           limit: int) -> list[CaseLine]:
    """The cases filed under the keyed hash of a national ID or reached at a mobile the
    caller verified, newest first, at most ``limit``."""
    found = [_theirs(CitizenProof(mobile=mobile))] if mobile else []
    if national_id_hash:
        found.append(VoiceCase.citizen_national_id_hash == national_id_hash)
    if not found:
        return []
    rows = session.execute(
        select(VoiceCase.tracking, VoiceCase.case_type, VoiceCase.state,
               VoiceCase.received_at).where(or_(*found))
        .order_by(VoiceCase.received_at.desc(), VoiceCase.id.desc()).limit(limit)).all()
    return [CaseLine(*row) for row in rows]
