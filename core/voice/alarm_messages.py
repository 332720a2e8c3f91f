"""The alarms' messages: who is told of which level, and the one message per recipient
and level that lists a scan's cases (``core.voice.alarms`` raises the levels).

- warning: the case's specialist and its agency's coordinators;
- breach: its agency's leaders;
- leadership: every emirate leadership user, the cases listed by agency.

By SMS, or by e-mail for a user with an address and no mobile; a disabled account is
never told. The texts are in the deployment's language (``locale.default_language``,
Arabic): staff accounts have none of their own.

A scan works in batches, one database transaction each; a recipient still gets one
message per level and scan. The first batch that raises a level for them queues the
message; a later batch of the same scan rewrites that message's text to list its cases
too, in its own transaction, as long as no sender has tried the message yet. One that a
sender has taken meanwhile is left as it is, and the batch's cases go in a new message.
The cause key of a message names its first case's alarm, which was raised once
(``CaseAlarm``): no two messages to a user can share it.

A text lists the tracking numbers and their count; the first few only, then "and N
more", where all would not fit in three UCS-2 parts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from core.access.actors import AGENCY_LEADER, COORDINATOR, LEADERSHIP
from core.access.models import StaffUser
from core.directory.models import Agency, Department
from core.messaging import outbox, subjects
from core.messaging.models import Notification, NotificationStatus
from core.messaging.subjects import N_
from core.platform.i18n import gettext_for, ngettext_for
from core.platform.settings import CoreSettings
from core.voice.deadlines import BREACH, WARNING
from core.voice.deadlines import LEADERSHIP as LEADERSHIP_LEVEL
from core.voice.models import VoiceCase

LEVEL_NAMES = {WARNING: "warning", BREACH: "breach", LEADERSHIP_LEVEL: "leadership"}
# The outbox kind of each level's messages.
KINDS = {level: f"voice_{name}" for level, name in LEVEL_NAMES.items()}
subjects.register({
    KINDS[WARNING]: N_("Citizen's Voice: cases nearing their deadline"),
    KINDS[BREACH]: N_("Citizen's Voice: cases past their deadline"),
    KINDS[LEADERSHIP_LEVEL]: N_("Citizen's Voice: cases long past their deadline"),
})
# Three UCS-2 parts of a concatenated SMS: a longer listing is cut to fit.
SMS_BUDGET = 3 * 67

_OUTBOX = Notification.__table__


@dataclass(frozen=True)
class Listed:
    """A case as its alarm's message lists it."""

    case_id: int
    cycle: int
    tracking: str
    agency_id: int


@dataclass(frozen=True)
class _Address:
    # A staff user's id, or "department-<id>" for a department's manager (no account:
    # the directory's manager mobile, as the transactions' overdue reminders use).
    user_id: int | str
    channel: str  # "sms", or "email" for a user with an address and no mobile
    recipient: str


class Messages:
    """The messages of one scan, batch after batch."""

    def __init__(self, config: CoreSettings, unreachable: Counter[str]) -> None:
        self._config = config
        self._lang = config.locale.default_language
        # Alarms raised with nobody to tell, by level name (the scan's result).
        self._unreachable = unreachable
        # What this scan queued: per (level, recipient), the message's cause and cases.
        self._queued: dict[tuple[int, _Address], tuple[str, list[Listed]]] = {}
        self._agencies: dict[int, str] = {}

    def write(self, session: Session, raised: list[tuple[VoiceCase, int]]) -> int:
        """Queue the messages of the levels this batch raised, or add its cases to those
        the scan queued before, in the batch's transaction; how many new messages.

        Called again after a batch that failed, it would list that batch's cases in
        messages it no longer holds: a scan ends at its first failed batch."""
        if not raised:
            return 0
        lists = self._lists(session, raised)
        self._name_agencies(session, {case.agency_id for case, _level in raised})
        untried = _untried(session, [self._queued[key][0] for key in lists
                                     if key in self._queued])
        new, rewritten = [], []
        for (level, address), cases in lists.items():
            key = (level, address)
            if key in self._queued and self._queued[key][0] in untried:
                cause, listed = self._queued[key]
                self._queued[key] = (cause, listed + cases)
                rewritten.append({"cause": cause, "text": self._body(level, listed + cases)})
                continue
            first = cases[0]
            cause = f"voice-alarm:{level}:{first.case_id}:{first.cycle}:{address.user_id}"
            self._queued[key] = (cause, cases)
            new.append({"cause_key": cause, "kind": KINDS[level], "audience": "staff",
                        "recipient": address.recipient, "channel": address.channel,
                        "language": self._lang, "body": self._body(level, cases)})
        if rewritten:
            session.execute(update(_OUTBOX).where(_OUTBOX.c.cause_key == bindparam("cause"))
                            .values(body=bindparam("text")), rewritten)
        return outbox.enqueue_new(session, new)

    def _lists(self, session: Session, raised: list[tuple[VoiceCase, int]],
               ) -> dict[tuple[int, _Address], list[Listed]]:
        """The cases each recipient is to be told of, per level."""
        staff = _Staff(session, raised)
        lists: dict[tuple[int, _Address], list[Listed]] = defaultdict(list)
        for case, level in sorted(raised, key=lambda pair: pair[0].id):
            audience = staff.audience(case, level)
            if not audience:
                self._unreachable[LEVEL_NAMES[level]] += 1
            listed = Listed(case.id, case.cycle, case.tracking, case.agency_id)
            for address in audience:
                lists[(level, address)].append(listed)
        return lists

    def _name_agencies(self, session: Session, ids: set[int]) -> None:
        missing = ids - set(self._agencies)
        if missing:
            for row in session.execute(select(Agency.id, Agency.name_ar, Agency.name_en)
                                       .where(Agency.id.in_(missing))):
                self._agencies[row.id] = row.name_ar if self._lang == "ar" else row.name_en

    def _body(self, level: int, cases: list[Listed]) -> str:
        trackings = [case.tracking for case in cases]
        if level == WARNING:
            return warning_sms(trackings, self._config.voice.warning_percent, self._lang)
        if level == BREACH:
            return breach_sms(trackings, self._lang)
        by_agency: dict[str, list[str]] = defaultdict(list)
        for case in cases:
            by_agency[self._agencies.get(case.agency_id, "")].append(case.tracking)
        return leadership_sms(list(by_agency.items()),
                              self._config.voice.leadership_after_days, self._lang)


def _untried(session: Session, causes: list[str]) -> set[str]:
    """Those of the messages no sender has tried yet, held for this transaction (on
    PostgreSQL locked: a sender's claim waits for it, or was made before and is seen;
    on SQLite the writer lock does the same). One pending again after a try is left
    alone: parts of it may have gone already."""
    if not causes:
        return set()
    return set(session.scalars(
        select(_OUTBOX.c.cause_key).where(_OUTBOX.c.cause_key.in_(causes),
                                          _OUTBOX.c.status == NotificationStatus.PENDING,
                                          _OUTBOX.c.attempts == 0)
        .with_for_update()))


class _Staff:
    """The users a batch's alarms may go to: its agencies' coordinators and leaders, its
    specialists, the emirate's leadership; those without a mobile or an address left out."""

    def __init__(self, session: Session, raised: list[tuple[VoiceCase, int]]) -> None:
        agencies = {case.agency_id for case, _level in raised}
        specialists = {case.assigned_user_id for case, level in raised
                       if level == WARNING and case.assigned_user_id is not None}
        users = session.scalars(select(StaffUser).where(
            StaffUser.disabled_at.is_(None),
            (StaffUser.role.in_([COORDINATOR, AGENCY_LEADER])
             & StaffUser.agency_id.in_(agencies))
            | (StaffUser.role == LEADERSHIP) | StaffUser.id.in_(specialists))
            .order_by(StaffUser.id)).all()
        self.by_id = {user.id: address for user in users
                      if (address := _address(user)) is not None}
        # A late case a department holds is also told to the department's manager.
        held = {case.department_id for case, level in raised
                if level == BREACH and case.department_id is not None}
        self.managers = {ident: _Address(f"department-{ident}", "sms", mobile)
                         for ident, mobile in session.execute(
                             select(Department.id, Department.manager_mobile).where(
                                 Department.id.in_(held),
                                 Department.manager_mobile.is_not(None)))
                         if mobile} if held else {}
        # By role, agency and department: a department's staff hear of its cases only.
        self.by_role: dict[tuple[str, int | None, int | None], list[_Address]] = \
            defaultdict(list)
        for user in users:
            if user.id in self.by_id:
                agency = None if user.role == LEADERSHIP else user.agency_id
                self.by_role[(user.role, agency, user.department_id)].append(
                    self.by_id[user.id])

    def _of(self, role: str, case: VoiceCase) -> list[_Address]:
        """The agency's users of ``role`` for this case: a department's case goes to its
        department's, or the agency's general ones when the department has none."""
        if case.department_id is not None:
            held = self.by_role[(role, case.agency_id, case.department_id)]
            if held:
                return held
        return self.by_role[(role, case.agency_id, None)]

    def audience(self, case: VoiceCase, level: int) -> list[_Address]:
        if level == WARNING:
            specialist = self.by_id.get(case.assigned_user_id or 0)
            coordinators = self._of(COORDINATOR, case)
            return list({a.user_id: a for a in [*coordinators, *filter(None, [specialist])]
                         }.values())
        if level == BREACH:
            manager = self.managers.get(case.department_id or 0)
            leaders = self._of(AGENCY_LEADER, case)
            return list({a.recipient: a for a in [*leaders, *filter(None, [manager])]
                         }.values())
        return self.by_role[(LEADERSHIP, None, None)]


def _address(user: StaffUser) -> _Address | None:
    if user.mobile:
        return _Address(user.id, "sms", user.mobile)
    if user.email:
        return _Address(user.id, "email", user.email)
    return None


# --- the texts: pure functions of the cases and the language -------------------------


def warning_sms(trackings: list[str], percent: int, lang: str) -> str:
    """The specialist's and coordinators' warning."""
    _ = gettext_for(lang)
    text = _("Citizen's Voice: cases with {percent}% of their answer time gone ({count}): "
             "{cases}.").format(percent=percent, count=len(trackings), cases="{cases}")
    return _fill(text, _listing(trackings, _room(text), _comma(lang), lang))


def breach_sms(trackings: list[str], lang: str) -> str:
    """The agency leader's message: the agency's newly late cases."""
    _ = gettext_for(lang)
    text = _("Citizen's Voice: cases past their answer deadline in your agency ({count}): "
             "{cases}. Please follow up.").format(count=len(trackings), cases="{cases}")
    return _fill(text, _listing(trackings, _room(text), _comma(lang), lang))


def leadership_sms(by_agency: list[tuple[str, list[str]]], days: int, lang: str) -> str:
    """The emirate leadership's message: the cases still unanswered ``days`` working days
    after their deadline, by agency, as many of each agency's as fit."""
    _ = gettext_for(lang)
    late = ngettext_for(lang)("{n} working day", "{n} working days", days).format(n=days)
    count = sum(len(trackings) for _agency, trackings in by_agency)
    text = _("Citizen's Voice: cases still unanswered {late} after their deadline "
             "({count}): {cases}.").format(late=late, count=count, cases="{cases}")
    semicolon = "؛ " if lang == "ar" else "; "

    def entry(agency: str, trackings: list[str], shown: int) -> str:
        # A group cut short says how many more it has: the count alone would let the
        # reader take the numbers shown for all of them.
        head = f"{agency} ({len(trackings)})"
        if not shown:
            return head
        listed = _comma(lang).join(trackings[:shown])
        if len(trackings) > shown:
            listed += " " + _more(len(trackings) - shown, lang)
        return f"{head}: {listed}"

    def entries(shown: int) -> list[str]:
        return [entry(agency, trackings, shown) for agency, trackings in by_agency]

    fitting = None
    for shown in range(max(len(trackings) for _agency, trackings in by_agency) + 1):
        listing = semicolon.join(entries(shown))
        if len(listing) > _room(text):
            break
        fitting = listing
    return _fill(text, fitting if fitting is not None
                 else _listing(entries(0), _room(text), semicolon, lang))


def _comma(lang: str) -> str:
    return "، " if lang == "ar" else ", "


def _room(text: str) -> int:
    """What is left of the budget for the ``{cases}`` slot of ``text``."""
    return SMS_BUDGET - len(text) + len("{cases}")


def _fill(text: str, listing: str) -> str:
    return text.replace("{cases}", listing)


def _listing(items: list[str], room: int, separator: str, lang: str) -> str:
    """``items`` joined, or the first of them that fit in ``room`` characters with
    "and N more"."""
    whole = separator.join(items)
    if len(whole) <= room:
        return whole
    fitting = _more(len(items), lang)
    for shown in range(1, len(items)):
        listing = f"{separator.join(items[:shown])} {_more(len(items) - shown, lang)}"
        if len(listing) > room:
            break
        fitting = listing
    return fitting


def _more(count: int, lang: str) -> str:
    return gettext_for(lang)("and {count} more").format(count=count)
