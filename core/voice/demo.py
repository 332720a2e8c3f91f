"""Demo data for Citizen's Voice: agencies, their categories and deadlines, staff to work
the cases, and a few hundred cases in every state and age.

Everything goes through the real code: categories and policies through
``core.voice.categories``, cases filed by ``cases.file_case`` and worked by
``actions.staff_action`` and ``actions.citizen_action`` at past times, so each case has
the events, answers, deadlines and cycles the back office would have given it. The plan
is a pure function of the seed, the count and the clock.

Nothing reaches a real phone: the messages the demo's acts queue are marked expired in
the same database transaction, before it commits (as the transactions' demo does); the
alarms its clocks have passed are raised silently and its alarm clocks stopped (as the
transactions' demo stops its overdue clocks); and the staff the demo adds to work its
cases have no mobile and no usable password. Where a
member of staff of the right role and agency exists already (the demo users of
``gateway demo-data``), the demo works its cases as them: the demo specialist finds
cases in their queue.

Loading twice loads once: the demo's first citizen (``DEMO_MOBILE``) having a case means
the demo is there, and nothing is written. Agencies are added only when missing (the
transactions' demo may have made them), categories and policies upserted.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from core.access.actors import COORDINATOR, SPECIALIST, Actor
from core.access.demo import DEMO_DEPARTMENT
from core.access.models import StaffUser
from core.directory.models import Agency, Department
from core.identity.phones import normalize_mobile
from core.messaging.models import Notification, NotificationStatus
from core.platform.clock import utcnow
from core.platform.db import Database
from core.platform.settings import CoreSettings
from core.transactions.models import Transaction
from core.voice import actions, cases, categories, deadlines, states
from core.voice.actions import CitizenProof
from core.voice.models import CaseAlarm, VoiceCase

NOT_SENT: Final = "demo data: not sent"
# Enquiries about the transactions' demo's transactions (linked, held by departments).
ENQUIRIES: Final = 4
ENQUIRY_TEXTS: Final = (
    "متى يصدر الخطاب الخاص بمعاملتي؟ أحتاجه قبل نهاية الأسبوع",
    "هل ينقص معاملتي أي مستند حتى تستكمل؟",
    "أرغب في معرفة سبب تأخر معاملتي وموعد إنجازها",
    "هل يمكن تحويل المعاملة إلى جهة أخرى أقرب لمقر سكني؟",
)
DEMO_MOBILE: Final = "0500000001"
# Cases filed and worked per database transaction.
BATCH: Final = 50

# The transactions' demo names these agencies the same (core/transactions/demo/data.py;
# a test keeps the two in step): one directory for both.
AGENCIES: Final = (
    ("AMANA", "أمانة المنطقة", "Regional Municipality"),
    ("MOH", "وزارة الصحة", "Ministry of Health"),
    ("POLICE", "شرطة المنطقة", "Regional Police"),
    ("HRSD", "وزارة الموارد البشرية والتنمية الاجتماعية",
     "Ministry of Human Resources and Social Development"),
)
EMIRATE_NAMES: Final = ("إمارة المنطقة", "Regional Emirate")

C, S, E = states.COMPLAINT, states.SUGGESTION, states.ENQUIRY


@dataclass(frozen=True)
class DemoCategory:
    code: str
    agency: str  # None: the emirate's (its code is the configuration's)
    name_ar: str
    name_en: str
    types: tuple[str, ...]
    targets: tuple[str, str] | None  # (acknowledge, answer), or the agency's default
    texts: tuple[str, ...]


CATEGORIES: Final = (
    DemoCategory("AMANA-ROADS", "AMANA", "الطرق والأرصفة", "Roads and pavements", (C, S),
                 None, ("حفرة كبيرة في الطريق أمام المدرسة تسبب حوادث",
                        "الرصيف مكسور منذ شهرين ولم يصلح",
                        "أقترح إضافة ممر مشاة عند الإشارة")),
    DemoCategory("AMANA-LIGHTS", "AMANA", "إنارة الشوارع", "Street lighting", (C,),
                 ("4h", "2d"), ("أعمدة الإنارة مطفأة في الشارع منذ أسبوع",
                                "The street lights on our road have been off for days")),
    DemoCategory("AMANA-PARKS", "AMANA", "الحدائق والمتنزهات", "Parks", (C, S, E), None,
                 ("ألعاب الأطفال في الحديقة تالفة وخطرة", "متى تفتح الحديقة الجديدة؟",
                  "أقترح زيادة المظلات في الحديقة")),
    DemoCategory("MOH-APPOINT", "MOH", "المواعيد", "Appointments", (C, E), ("2h", "1d"),
                 ("موعدي في المستشفى أُلغي دون إشعار", "How do I move my clinic appointment?")),
    DemoCategory("MOH-CARE", "MOH", "جودة الخدمة الصحية", "Quality of care", (C, S), None,
                 ("الانتظار في الطوارئ تجاوز خمس ساعات",
                  "أقترح تمديد ساعات عمل المركز الصحي")),
    DemoCategory("POLICE-TRAFFIC", "POLICE", "المرور", "Traffic", (C, S), None,
                 ("إشارة المرور معطلة عند التقاطع", "أقترح كاميرا لضبط السرعة قرب المدرسة")),
    DemoCategory("POLICE-NOISE", "POLICE", "الإزعاج", "Noise", (C,), ("1h", "8h"),
                 ("إزعاج متكرر من ورشة في الحي ليلاً",)),
    DemoCategory("HRSD-SUPPORT", "HRSD", "الضمان الاجتماعي", "Social support", (C, E), None,
                 ("تأخر صرف الضمان لهذا الشهر", "ما المستندات المطلوبة لطلب الضمان؟")),
    DemoCategory("HRSD-LABOUR", "HRSD", "العمل", "Labour", (C, S), None,
                 ("صاحب العمل لم يصرف الرواتب منذ شهرين",
                  "I suggest an online form for labour disputes")),
)
# Agency defaults (acknowledge, answer), and one per case type.
POLICIES: Final = (
    ("AMANA", None, "1d", "10d"), ("AMANA", S, "2d", "20d"), ("MOH", None, "4h", "5d"),
    ("POLICE", None, "2h", "3d"), ("HRSD", None, "1d", "15d"),
)

# The stories a demo case lives, with their share in a hundred: each ends in a state
# (and an age) the back office must show.
STORIES: Final = {
    "new": 8, "new_late": 3, "unrouted": 3, "routed": 3, "not_competent": 3, "own_staff": 2,
    "assigned": 6, "in_progress": 10, "in_progress_late": 5, "awaiting": 6, "replied": 3,
    "drafted": 6, "sent_back": 2, "answered": 6, "rated": 8, "closed": 6, "reopened": 3,
    "duplicate": 3, "withdrawn": 2,
    "s_received": 1, "s_study": 2, "s_drafted": 2, "s_accepted": 2, "s_planned": 2,
    "s_implemented": 2, "s_rejected": 2,
}
_SUGGESTION_STORIES = {story for story in STORIES if story.startswith("s_")}
_OPEN_STORIES = {"new", "new_late", "unrouted", "routed", "not_competent", "own_staff",
                 "assigned", "in_progress", "in_progress_late", "awaiting", "replied",
                 "drafted", "sent_back", "reopened", "s_received", "s_study", "s_drafted"}
_LATE_STORIES = {"new_late", "in_progress_late"}

# (who, action, body): who is "coordinator", "specialist" or "citizen".
_Step = tuple[str, str, dict[str, Any]]
_ASSIGN: _Step = ("coordinator", "assign", {})
_START: _Step = ("specialist", "start", {})
_ASK: _Step = ("specialist", "request_info", {"text": "نرجو تحديد الموقع بدقة أو إرفاق صورة"})
_REPLY = ("citizen", "citizen_reply", {"text": "الموقع بجوار المسجد الكبير"})
_DRAFT = ("specialist", "answer", {"text": "تمت معالجة البلاغ وإبلاغ الفريق الميداني"})
_APPROVE: _Step = ("coordinator", "approve", {})
_ANSWERED = (_ASSIGN, _START, _DRAFT, _APPROVE)
_CLOSE = ("coordinator", "close", {"reason": "أُجيب المواطن وانقضت مدة إعادة الفتح"})
# Each story's steps after filing.
STEPS: Final[dict[str, tuple[_Step, ...]]] = {
    "new": (), "new_late": (), "unrouted": (), "own_staff": (),
    "routed": (("coordinator", "route", {}),),
    "not_competent": (("coordinator", "not_competent",
                       {"reason": "الموضوع من اختصاص جهة أخرى"}),),
    "assigned": (_ASSIGN,), "in_progress": (_ASSIGN, _START),
    "in_progress_late": (_ASSIGN, _START), "awaiting": (_ASSIGN, _START, _ASK),
    "replied": (_ASSIGN, _START, _ASK, _REPLY), "drafted": (_ASSIGN, _START, _DRAFT),
    "sent_back": (_ASSIGN, _START, _DRAFT,
                  ("coordinator", "send_back", {"reason": "يرجى ذكر موعد الإصلاح"})),
    "answered": _ANSWERED, "rated": (*_ANSWERED, ("citizen", "rate", {})),
    "closed": (*_ANSWERED, ("citizen", "rate", {}), _CLOSE),
    "reopened": (*_ANSWERED, ("citizen", "reopen", {})),
    "duplicate": (("coordinator", "merge", {"reason": "بلاغ مكرر من المواطن نفسه"}),),
    "withdrawn": (_ASSIGN, ("citizen", "withdraw", {})),
    "s_received": (), "s_study": (_ASSIGN, _START),
    "s_drafted": (_ASSIGN, _START, ("specialist", "answer", {"text": "مقترح مفيد ندرسه"})),
    "s_accepted": (_ASSIGN, _START, ("coordinator", "accept",
                                     {"text": "قُبل المقترح وسيُدرج في الخطة"})),
    "s_planned": (_ASSIGN, _START, ("coordinator", "accept", {"text": "قُبل المقترح"}),
                  ("coordinator", "plan", {"text": "التنفيذ في الربع القادم"})),
    "s_implemented": (_ASSIGN, _START, ("coordinator", "accept", {"text": "قُبل المقترح"}),
                      ("coordinator", "plan", {}), ("coordinator", "implement",
                                                    {"text": "نُفذ المقترح، شكراً لك"})),
    "s_rejected": (_ASSIGN, _START, ("coordinator", "reject",
                                     {"reason": "يتعارض مع المخطط المعتمد"})),
}
# The state each story ends in (what a test checks the load against).
END_STATE: Final = {
    "new": states.RECEIVED, "new_late": states.RECEIVED, "unrouted": states.RECEIVED,
    "routed": states.RECEIVED, "not_competent": states.RECEIVED,
    "own_staff": states.RECEIVED, "assigned": states.ASSIGNED,
    "in_progress": states.IN_PROGRESS, "in_progress_late": states.IN_PROGRESS,
    "awaiting": states.AWAITING_CITIZEN, "replied": states.IN_PROGRESS,
    "drafted": states.ANSWER_DRAFTED, "sent_back": states.IN_PROGRESS,
    "answered": states.ANSWERED, "rated": states.ANSWERED, "closed": states.CLOSED,
    "reopened": states.ASSIGNED, "duplicate": states.DUPLICATE,
    "withdrawn": states.WITHDRAWN, "s_received": states.RECEIVED,
    "s_study": states.UNDER_STUDY, "s_drafted": states.ANSWER_DRAFTED,
    "s_accepted": states.ACCEPTED, "s_planned": states.PLANNED,
    "s_implemented": states.IMPLEMENTED, "s_rejected": states.REJECTED,
}

_NAMES = ("محمد العتيبي", "سارة القحطاني", "عبدالله الدوسري", "نورة الشمري", "فهد الحربي",
          "ريم المطيري", "خالد الغامدي", "هند الزهراني", "Imran Qureshi", "Anwar Khan")
_MOBILE_PREFIXES = ("50", "53", "54", "55", "56", "58", "59")


@dataclass(frozen=True)
class DemoCase:
    """One case of the plan: its filing, when, and the steps that bring it to its end."""

    story: str
    case_type: str
    agency: str | None  # the agency it names (None: filed without one)
    category: str | None
    text: str
    lang: str
    channel: str
    mobile: str
    name: str
    filed_at: datetime
    # (when, who, action, body): who is "coordinator", "specialist" or "citizen".
    steps: tuple[tuple[datetime, str, str, dict[str, Any]], ...] = field(default=())
    # For "duplicate": the index in the plan of the case it duplicates.
    duplicate_of: int | None = None


def plan_demo(*, seed: int, cases: int, now: datetime) -> list[DemoCase]:
    """The demo's cases, oldest first; every story at least once."""
    rng = random.Random(seed)
    stories = [story for story, share in STORIES.items()
               for _ in range(max(1, round(share * cases / 100)))]
    rng.shuffle(stories)
    stories = _every_story_kept(stories[:cases], cases)
    plan: list[DemoCase] = []
    open_at: dict[str | None, list[int]] = {}
    for n, story in enumerate(stories):
        case = _plan_case(rng, n, story, now, open_at)
        if case.story in _OPEN_STORIES and case.story not in ("routed", "not_competent",
                                                                "own_staff"):
            open_at.setdefault(case.agency, []).append(n)
        plan.append(case)
    return plan


def _every_story_kept(stories: list[str], cases: int) -> list[str]:
    missing = [story for story in STORIES if story not in stories]
    if len(STORIES) > cases:
        return list(STORIES)[:cases]
    counts = Counter(stories)
    for story in missing:
        common = counts.most_common(1)[0][0]
        stories[stories.index(common)] = story
        counts[common] -= 1
        counts[story] += 1
    return stories


def _plan_case(rng: random.Random, n: int, story: str, now: datetime,
               open_at: dict[str | None, list[int]]) -> DemoCase:
    case_type = S if story in _SUGGESTION_STORIES else C
    fitting = [c for c in CATEGORIES if case_type in c.types]
    if story not in _SUGGESTION_STORIES and rng.random() < 0.15:
        enquiries = [c for c in CATEGORIES if E in c.types]
        if story in ("answered", "rated", "new", "in_progress"):
            case_type, fitting = E, enquiries
    category = rng.choice(fitting)
    agency: str | None = category.agency
    category_code: str | None = category.code
    if story in ("unrouted", "routed"):
        agency = category_code = None
    text = rng.choice(category.texts)
    lang = "en" if text.isascii() else "ar"
    steps = STEPS[story]
    if story == "routed":
        steps = (("coordinator", "route", {"agency": category.agency}),)
    duplicate_of = None
    if story == "duplicate":
        candidates = open_at.get(agency) or []
        if not candidates:  # nothing open there yet: a case like any other
            story, steps = "new", ()
        else:
            duplicate_of = rng.choice(candidates)
    age = _age(rng, story)
    filed_at = now - age
    span = age * 0.9
    timed = tuple((filed_at + span * (k + 1) / (len(steps) + 1), who, action, dict(body))
                  for k, (who, action, body) in enumerate(steps))
    if story == "reopened":  # the citizen reopens within days of the answer
        *done, (_, who, action, body) = timed
        timed = (*done, (done[-1][0] + timedelta(hours=20), who, action, body))
    mobile = DEMO_MOBILE if n == 0 else (
        f"0{rng.choice(_MOBILE_PREFIXES)}{rng.randrange(10**7):07d}")
    return DemoCase(story, case_type, agency, category_code, text, lang,
                    rng.choice(("portal", "sms", "sms", "ivr", "email", "kiosk")),
                    mobile, rng.choice(_NAMES), filed_at, timed, duplicate_of)


def _age(rng: random.Random, story: str) -> timedelta:
    if story in _LATE_STORIES:
        return timedelta(days=rng.uniform(18, 40))
    if story in ("new", "unrouted", "s_received"):
        return timedelta(hours=rng.uniform(1, 60))
    if story in _OPEN_STORIES:
        return timedelta(days=rng.uniform(1, 16))
    if story in ("answered", "rated", "reopened"):
        return timedelta(days=rng.uniform(3, 9))
    return timedelta(days=rng.uniform(20, 300))


# --- loading ------------------------------------------------------------------------------

@dataclass
class Staff:
    """Who works the demo's cases at each agency (code -> role -> actor)."""

    by_agency: dict[str, dict[str, Actor]] = field(default_factory=dict)

    def of(self, agency: str, role: str) -> Actor:
        return self.by_agency[agency][role]


class DemoTarget(Protocol):
    """What the demo loads through: ``core.service.Core``, which sits a layer above."""

    @property
    def db(self) -> Database: ...
    @property
    def config(self) -> CoreSettings: ...


def cases_present(db: Database) -> int:
    """How many Citizen's Voice cases the database holds, the demo's or anyone's."""
    with db.read() as session:
        return session.scalar(select(func.count()).select_from(VoiceCase)) or 0


def load_demo(core: DemoTarget, *, cases: int = 300, seed: int = 15015,
              now: datetime | None = None) -> str:
    """Load the demo (once) and return a report for the operator."""
    started = time.perf_counter()
    db, config = core.db, core.config
    now = now or utcnow()
    with db.read() as session:
        present = session.scalar(select(func.count()).select_from(VoiceCase).where(
            VoiceCase.citizen_mobile == normalize_mobile(DEMO_MOBILE)))
    if present:
        return "voice demo: not loaded, its cases are there already (loaded before)"
    with db.write.begin() as session:
        _reference(session, config, now)
        staff = _staff(session, config)
    plan = plan_demo(seed=seed, cases=cases, now=now)
    trackings: list[str] = []
    expired = 0
    for first in range(0, len(plan), BATCH):
        with db.write.begin() as session:
            mark = session.scalar(select(func.max(Notification.id))) or 0
            for demo in plan[first:first + BATCH]:
                trackings.append(_work(session, config, staff, demo, trackings))
            _silence_alarms(session, config, trackings[first:], now)
            expired += _expire(session, mark)
    with db.write.begin() as session:
        mark = session.scalar(select(func.max(Notification.id))) or 0
        asked = _enquiries(session, config, now)
        trackings.extend(asked)
        _silence_alarms(session, config, asked, now)
        expired += _expire(session, mark)
    with db.read() as session:
        by_state = dict(session.execute(
            select(VoiceCase.state, func.count()).where(VoiceCase.tracking.in_(trackings))
            .group_by(VoiceCase.state)).all())
    return _report(len(plan) + len(asked), by_state, staff, expired,
                   time.perf_counter() - started, trackings[0], len(asked))


def _reference(session: Session, config: CoreSettings, now: datetime) -> None:
    """The agencies (only those missing), categories and policies (upserted)."""
    codes = {code for code, *_ in AGENCIES} | {config.voice.emirate_agency}
    have = set(session.scalars(select(Agency.code).where(Agency.code.in_(codes))))
    for code, name_ar, name_en in (*AGENCIES, (config.voice.emirate_agency, *EMIRATE_NAMES)):
        if code not in have:
            session.add(Agency(code=code, name_ar=name_ar, name_en=name_en))
    session.flush()
    for category in CATEGORIES:
        body: dict[str, Any] = {"agency": category.agency, "name_ar": category.name_ar,
                                "name_en": category.name_en, "types": list(category.types)}
        if category.targets:
            body["acknowledge"], body["answer"] = category.targets
        categories.upsert_category(session, category.code, body, now)
    for agency, case_type, acknowledge, answer in POLICIES:
        policy = {"acknowledge": acknowledge, "answer": answer, "type": case_type}
        current = {(p.case_type, p.acknowledge, p.answer)
                   for p in categories.agency_policies(session, agency)}
        if (case_type, acknowledge, answer) not in current:
            categories.set_agency_policy(session, agency, policy, now)


def _staff(session: Session, config: CoreSettings) -> Staff:
    """A coordinator and a specialist at each agency: the first active one there, or a
    demo worker made for it (no mobile, no usable password)."""
    staff = Staff()
    for code in (*(code for code, *_ in AGENCIES), config.voice.emirate_agency):
        agency_id = session.scalars(select(Agency.id).where(Agency.code == code)).one()
        staff.by_agency[code] = {}
        for role in (COORDINATOR, SPECIALIST):
            user = session.scalars(select(StaffUser).where(
                StaffUser.role == role, StaffUser.agency_id == agency_id,
                StaffUser.disabled_at.is_(None)).order_by(StaffUser.id).limit(1)).first()
            if user is None:
                user = StaffUser(login=f"voice-demo-{role}-{code.lower()}",
                                 name=f"{'منسق' if role == COORDINATOR else 'مختص'} {code}",
                                 role=role, agency_id=agency_id, password_hash="!",
                                 must_change_password=True)
                session.add(user)
                session.flush()
            staff.by_agency[code][role] = Actor(user.id, user.login, user.name, user.role,
                                                user.agency_id)
    return staff


def _work(session: Session, config: CoreSettings, staff: Staff, demo: DemoCase,
          trackings: list[str]) -> str:
    """File one demo case and walk it through its steps, as its people would."""
    body: dict[str, Any] = {
        "type": demo.case_type, "text": demo.text, "channel": demo.channel, "lang": demo.lang,
        "citizen": {"mobile": demo.mobile, "name": demo.name},
        "about_own_staff": demo.story == "own_staff"}
    if demo.agency:
        body["agency"] = demo.agency
    if demo.category and demo.story != "own_staff":
        body["category"] = demo.category
    case = cases.file_case(session, config, body, demo.filed_at)
    proof = CitizenProof(mobile=demo.mobile)
    emirate = config.voice.emirate_agency
    for at, who, action, step in demo.steps:
        handling = session.get(Agency, case.agency_id)
        agency = handling.code if handling else emirate
        if who == "citizen":
            rating = 1 + len(case.tracking) % 5 if action == "rate" else None
            actions.citizen_action(session, config, case.tracking, action, proof, at,
                                   text=step.get("text"), rating=rating)
            continue
        data = {"action": action, **step}
        if action == "assign":
            data["user"] = staff.of(agency, SPECIALIST).login
        if action == "merge":
            assert demo.duplicate_of is not None
            data["into"] = trackings[demo.duplicate_of]
        actions.staff_action(session, config, staff.of(agency, who), case.tracking, data, at)
    return case.tracking


def _enquiries(session: Session, config: CoreSettings, now: datetime) -> list[str]:
    """A few enquiries about the transactions' demo's transactions, asked from their
    applicants' mobiles, so linked and held by their departments (most by
    ``DEMO_DEPARTMENT``, whose demo coordinator finds them in their inbox). None when
    the transactions' demo is not loaded."""
    rows = session.execute(
        select(Transaction.number, Transaction.applicant_mobile, Department.code)
        .join(Department, Department.id == Transaction.department_id)
        .where(Transaction.applicant_mobile.is_not(None))
        .order_by(Transaction.registered_at.desc(), Transaction.id.desc())
        .limit(200)).all()
    chosen = [row for row in rows if row.code == DEMO_DEPARTMENT][:ENQUIRIES - 1]
    chosen += [row for row in rows if row.code != DEMO_DEPARTMENT][:1]
    asked = []
    for n, (number, mobile, _code) in enumerate(chosen):
        case = cases.file_case(session, config, {
            "transaction": number, "text": ENQUIRY_TEXTS[n % len(ENQUIRY_TEXTS)],
            "channel": ("sms", "email", "portal")[n % 3], "lang": "ar",
            "citizen": {"mobile": mobile}}, now - timedelta(hours=2 * (n + 1)))
        asked.append(case.tracking)
    return asked


def _silence_alarms(session: Session, config: CoreSettings, batch: list[str],
                    now: datetime) -> None:
    """Raise, silently, the alarms each running clock of the batch has passed (so the
    inbox shows its warnings and breaches), and stop its alarm clock: no scan ever
    messages the demo's staff about the demo's cases. Working a case starts it again."""
    running = session.scalars(select(VoiceCase).where(
        VoiceCase.tracking.in_(batch), VoiceCase.state.in_(states.CLOCK_RUNNING),
        VoiceCase.answer_due.is_not(None)))
    for case in running:
        passed = [level for level, at in deadlines.alarm_times(session, config, case).levels()
                  if at <= now and level > case.escalation]
        for level in passed:
            session.add(CaseAlarm(case_id=case.id, cycle=case.cycle, level=level,
                                  raised_at=now))
        case.escalation = max([case.escalation, *passed])
        case.next_alarm_at = None


def _expire(session: Session, mark: int) -> int:
    """Mark the messages this batch queued expired before it commits: none is sent."""
    result = session.execute(
        update(Notification)
        .where(Notification.id > mark, Notification.cause_key.startswith("voice:"),
               Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.EXPIRED, last_error=NOT_SENT),
        execution_options={"synchronize_session": False})
    return int(getattr(result, "rowcount", 0) or 0)


def _report(count: int, by_state: dict[str, int], staff: Staff, expired: int,
            seconds: float, first: str, enquiries: int = 0) -> str:
    lines = [f"voice demo loaded in {seconds:.1f} s: {count} cases "
             f"({enquiries} enquiries about transactions, held by their departments), "
             f"{len(CATEGORIES)} categories, {len(AGENCIES) + 1} agencies",
             "  cases by state:"]
    for state in states.STATES:
        if by_state.get(state):
            lines.append(f"    {state:<18}{by_state[state]:>5}")
    lines.append(f"  {expired} messages of the demo marked expired: nothing is sent to "
                 "its made-up citizens or its staff.")
    lines.append(f"  a case to follow: tracking {first}, filed from {DEMO_MOBILE}")
    lines.append("  worked by: " + ", ".join(
        f"{code} {roles[COORDINATOR].login}/{roles[SPECIALIST].login}"
        for code, roles in staff.by_agency.items()))
    return "\n".join(lines)
