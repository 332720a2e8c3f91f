"""Demo data: departments, agencies, employees and transactions in every stage.

Everything goes through the real code: reference data through the upserts, transactions
as lifecycle event payloads checked by ``parse_event`` and applied by
``lifecycle.apply_event``. The plan is a pure function of the seed, the count and the
clock, so one seed always gives the same demo. The first transaction is fixed
(``DEMO_NUMBER``, ``DEMO_NATIONAL_ID``, ``DEMO_MOBILE``) so the README can name it.

The outbox rows the demo's events cause are marked expired before they are committed,
and its transactions awaiting a reply get a stopped overdue clock (``overdue.silence``):
the demo's made-up numbers, managers' included, are never messaged.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, func, select, true, update
from sqlalchemy.orm import Session

from core.directory.reference import Upserted
from core.identity.national_id import national_id_with_check_digit
from core.messaging.models import Notification, NotificationStatus
from core.platform.db import Database
from core.platform.settings import CoreSettings
from core.transactions import lifecycle, overdue
from core.transactions.events import parse_event
from core.transactions.models import Transaction

DEMO_NUMBER = "1447001"
DEMO_NATIONAL_ID = "1234567897"
DEMO_MOBILE = "0501234567"
EVENT_PREFIX = "demo:"
NOT_SENT = "demo data: not sent"
# Transactions applied per database transaction.
BATCH = 250
# The demo spans this many days back from now.
SPAN_DAYS = 90


@dataclass(frozen=True)
class DemoDepartment:
    code: str
    name_ar: str
    name_en: str
    manager: str
    manager_mobile: str
    reply_days: int | None
    subjects: tuple[str, ...]
    agencies: tuple[str, ...]


DEPARTMENTS = (
    DemoDepartment(
        "PRIVATE-RIGHTS", "إدارة الحقوق الخاصة", "Private Rights Department",
        "سعد بن فهد الدوسري", "0501000101", None,
        ("استدعاء بشأن نزاع على أرض زراعية", "مطالبة مالية بموجب سند لأمر",
         "طلب تنفيذ صلح بين طرفين", "شكوى تعدٍّ على ملكية خاصة",
         "طلب إيقاف البناء على أرض متنازع عليها"),
        ("COURT", "MOJ", "AMANA", "POLICE")),
    DemoDepartment(
        "PUBLIC-RIGHTS", "إدارة الحقوق العامة", "Public Rights Department",
        "عبدالعزيز بن ناصر الشهري", "0551000202", 14,
        ("طلب إطلاق سراح موقوف بكفالة", "طلب العفو عن محكوم", "طلب تأجيل تنفيذ حكم",
         "طلب زيارة سجين", "طلب إيقاف ترحيل"),
        ("POLICE", "COURT", "MOJ", "JAWAZAT")),
    DemoDepartment(
        "SECURITY", "إدارة الشؤون الأمنية", "Security Affairs Department",
        "فيصل بن سلطان العنزي", "0531000303", 7,
        ("طلب رفع منع سفر", "طلب تصريح سفر لأحد أفراد الأسرة", "بلاغ عن إزعاج متكرر",
         "طلب تمديد مهلة المغادرة"),
        ("MOI", "JAWAZAT", "POLICE")),
    DemoDepartment(
        "CITIZENS", "إدارة شؤون المواطنين", "Citizens Affairs Department",
        "ماجد بن عبدالله الحربي", "0561000404", None,
        ("طلب مساعدة مالية", "طلب علاج في الخارج", "طلب سكن لأسرة محتاجة",
         "طلب مساعدة علاجية", "طلب إعانة لذوي الإعاقة"),
        ("MOH", "HRSD", "CIVIL-STATUS")),
    DemoDepartment(
        "ADMIN-COMMS", "إدارة الاتصالات الإدارية", "Administrative Communications Department",
        "منيرة بنت صالح القحطاني", "0541000505", None,
        ("طلب إفادة بحالة معاملة", "طلب صورة من معاملة سابقة", "طلب تصديق مستند",
         "طلب إحالة معاملة إلى جهة الاختصاص"),
        ("MOI", "CIVIL-STATUS", "HRSD")),
    DemoDepartment(
        "GOVERNORATES", "إدارة شؤون المحافظات", "Governorates Affairs Department",
        "تركي بن حمد السبيعي", "0591000606", 15,
        ("طلب منحة أرض سكنية", "طلب إيصال الخدمات إلى قرية", "شكوى من تعثر مشروع بلدي",
         "طلب سفلتة وإنارة طريق", "طلب تعويض عن نزع ملكية عقار"),
        ("AMANA", "HRSD", "MOH")),
)

AGENCIES = (
    ("MOI", "وزارة الداخلية", "Ministry of Interior"),
    ("MOJ", "وزارة العدل", "Ministry of Justice"),
    ("MOH", "وزارة الصحة", "Ministry of Health"),
    ("AMANA", "أمانة المنطقة", "Regional Municipality"),
    ("POLICE", "شرطة المنطقة", "Regional Police"),
    ("COURT", "المحكمة العامة", "General Court"),
    ("JAWAZAT", "المديرية العامة للجوازات", "General Directorate of Passports"),
    ("HRSD", "وزارة الموارد البشرية والتنمية الاجتماعية",
     "Ministry of Human Resources and Social Development"),
    ("CIVIL-STATUS", "الأحوال المدنية", "Civil Status Agency"),
)

# (Arabic, Latin for the e-mail address)
_MEN = (("محمد", "mohammed"), ("عبدالله", "abdullah"), ("عبدالرحمن", "abdulrahman"),
        ("فهد", "fahad"), ("خالد", "khalid"), ("سعد", "saad"), ("سلطان", "sultan"),
        ("تركي", "turki"), ("ناصر", "nasser"), ("فيصل", "faisal"), ("بندر", "bandar"),
        ("ماجد", "majed"), ("إبراهيم", "ibrahim"), ("عبدالعزيز", "abdulaziz"),
        ("سليمان", "sulaiman"), ("يوسف", "yousef"), ("عمر", "omar"), ("صالح", "saleh"),
        ("منصور", "mansour"), ("نايف", "naif"), ("مشعل", "mishal"), ("راشد", "rashed"))
_WOMEN = (("نورة", "noura"), ("سارة", "sara"), ("مريم", "maryam"), ("هيفاء", "haifa"),
          ("منيرة", "munira"), ("لطيفة", "latifa"), ("أمل", "amal"), ("ريم", "reem"),
          ("هند", "hind"), ("الجوهرة", "aljawhara"), ("العنود", "alanoud"),
          ("أسماء", "asma"), ("فاطمة", "fatimah"), ("دلال", "dalal"), ("شهد", "shahad"))
_FAMILIES = ("العتيبي", "القحطاني", "الدوسري", "الشمري", "الحربي", "المطيري", "الغامدي",
             "الزهراني", "السبيعي", "العنزي", "الرشيدي", "الشهري", "السهلي", "البقمي",
             "التميمي", "الجهني", "العمري", "المالكي", "الخالدي", "الشهراني")
# Residents (Iqama numbers start with 2); some prefer English.
_RESIDENTS_FIRST = (("عمران", "imran"), ("رفيق", "rafiq"), ("أنور", "anwar"),
                    ("جمال", "jamal"), ("حسن", "hassan"), ("سليم", "salim"))
_RESIDENTS_FAMILY = ("قريشي", "خان", "الأنصاري", "حسين", "رحمن", "الصديقي")
_MOBILE_PREFIXES = ("50", "53", "54", "55", "56", "58", "59")

# What the demo shows, and how many of each in a hundred.
STAGES = {
    "registered": 8, "referred": 12, "assigned": 20, "issued": 10,
    "awaiting_reply": 10, "overdue": 10, "reply_received": 12, "closed": 18,
}
STATUS_OF_STAGE = {"awaiting_reply": "issued", "overdue": "issued"}
STAGE_LABELS = {
    "registered": "registered, not yet referred",
    "referred": "referred to a department",
    "assigned": "assigned to a researcher (under study)",
    "issued": "issued, no reply expected",
    "awaiting_reply": "issued, awaiting the agency's reply",
    "overdue": "issued, the agency's reply is overdue",
    "reply_received": "the agency replied",
    "closed": "completed",
}
# The stages the report offers to look up, after the fixed first transaction.
LOOKUP_STAGES = ("registered", "overdue", "closed")


@dataclass(frozen=True)
class DemoTransaction:
    number: str
    stage: str
    national_id: str
    mobile: str | None
    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class DemoPlan:
    departments: tuple[tuple[str, dict[str, Any]], ...]
    agencies: tuple[tuple[str, dict[str, Any]], ...]
    employees: tuple[tuple[str, dict[str, Any]], ...]
    transactions: tuple[DemoTransaction, ...]

    def stages(self) -> Counter[str]:
        return Counter(txn.stage for txn in self.transactions)

    def lookups(self) -> list[DemoTransaction]:
        """The fixed first transaction and one of each LOOKUP_STAGES, with a mobile."""
        chosen = [self.transactions[0]]
        for stage in LOOKUP_STAGES:
            chosen.extend([txn for txn in self.transactions[1:]
                           if txn.stage == stage and txn.mobile][:1])
        return chosen


@dataclass
class _Applicants:
    rng: random.Random
    ids: set[str] = field(default_factory=lambda: {DEMO_NATIONAL_ID})
    mobiles: set[str] = field(default_factory=lambda: {DEMO_MOBILE})

    def national_id(self, resident: bool) -> str:
        while True:
            value = national_id_with_check_digit(
                ("2" if resident else "1") + f"{self.rng.randrange(10 ** 8):08d}")
            if value not in self.ids:
                self.ids.add(value)
                return value

    def mobile(self) -> str:
        while True:
            value = "0" + self.rng.choice(_MOBILE_PREFIXES) + f"{self.rng.randrange(10**7):07d}"
            if value not in self.mobiles:
                self.mobiles.add(value)
                return value

    def person(self, number: str) -> tuple[dict[str, Any], str, str | None]:
        """(applicant payload, national ID, mobile or None)."""
        rng = self.rng
        resident = rng.random() < 0.12
        if resident:
            (first, latin), family = rng.choice(_RESIDENTS_FIRST), rng.choice(_RESIDENTS_FAMILY)
            name = f"{first} {rng.choice(_MEN)[0]} {family}"
        else:
            first, latin = rng.choice(_WOMEN if rng.random() < 0.35 else _MEN)
            name = f"{first} {rng.choice(_MEN)[0]} {rng.choice(_FAMILIES)}"
        national_id = self.national_id(resident)
        mobile = self.mobile() if rng.random() < 0.9 else None
        applicant: dict[str, Any] = {"name": name, "national_id": national_id}
        if mobile:
            applicant["mobile"] = mobile
        if rng.random() < 0.3 or not mobile:
            applicant["email"] = f"{latin}.{number[-3:]}@example.com"
        applicant["lang"] = "en" if resident and rng.random() < 0.5 else "ar"
        return applicant, national_id, mobile


def plan_demo(*, seed: int, transactions: int, now: datetime,
              default_reply_days: int = 10) -> DemoPlan:
    """The whole demo as payloads: same seed, count and clock, same plan."""
    rng = random.Random(seed)
    people = _Applicants(rng)
    departments = tuple((d.code, {
        "name_ar": d.name_ar, "name_en": d.name_en,
        "manager": {"name": d.manager, "mobile": d.manager_mobile},
        **({"reply_days": d.reply_days} if d.reply_days else {}),
    }) for d in DEPARTMENTS)
    agencies = tuple((code, {"name_ar": ar, "name_en": en}) for code, ar, en in AGENCIES)
    staff: dict[str, list[str]] = {}
    employees = []
    for index, department in enumerate(DEPARTMENTS, start=1):
        for seat in range(1, rng.randint(2, 4) + 1):
            code = f"EMP-{index}{seat:02d}"
            first = rng.choice(_WOMEN if rng.random() < 0.3 else _MEN)[0]
            employees.append((code, {
                "name": f"{first} {rng.choice(_MEN)[0]} {rng.choice(_FAMILIES)}",
                "mobile": people.mobile(), "department": department.code}))
            staff.setdefault(department.code, []).append(code)

    now = now.astimezone(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    stages = ["assigned", *_stage_mix(rng, max(transactions - 1, 0))][:transactions]
    planned = []
    mobile: str | None
    for index, stage in enumerate(stages):
        number = str(int(DEMO_NUMBER) + index)
        department = DEPARTMENTS[0] if index == 0 else rng.choice(DEPARTMENTS)
        reply_days = department.reply_days or default_reply_days
        if index == 0:
            applicant = {"name": "عبدالله محمد العتيبي", "national_id": DEMO_NATIONAL_ID,
                         "mobile": DEMO_MOBILE, "email": "abdullah.alotaibi@example.com",
                         "lang": "ar"}
            national_id, mobile = DEMO_NATIONAL_ID, DEMO_MOBILE
            subject = department.subjects[0]
        else:
            applicant, national_id, mobile = people.person(number)
            subject = rng.choice(department.subjects)
        events = _events(rng, number, stage, department, staff[department.code], subject,
                         applicant, now, reply_days)
        planned.append(DemoTransaction(number, stage, national_id, mobile, events))
    return DemoPlan(departments, agencies, tuple(employees), tuple(planned))


def _stage_mix(rng: random.Random, count: int) -> list[str]:
    """One of each stage first (so even a small demo has them all), then STAGES' mix."""
    names = list(STAGES)
    rest = max(count - len(names), 0)
    deck = [name for name, share in STAGES.items()
            for _ in range(rest * share // sum(STAGES.values()))]
    deck += rng.choices(names, list(STAGES.values()), k=rest - len(deck))
    rng.shuffle(deck)
    return (names + deck)[:count]


def _events(rng: random.Random, number: str, stage: str, department: DemoDepartment,
            employees: list[str], subject: str, applicant: dict[str, Any],
            now: datetime, reply_days: int) -> tuple[dict[str, Any], ...]:
    """The stage's events, in order, with realistic gaps, all in the past."""
    issued = stage in ("issued", "awaiting_reply", "overdue", "reply_received", "closed")
    replied = stage == "reply_received" or (stage == "closed" and rng.random() < 0.5)
    steps: list[tuple[str, float, dict[str, Any]]] = [("registered", 0.0, {})]
    if stage != "registered":
        steps.append(("referred", rng.uniform(1, 30), {"department": department.code}))
    if stage != "registered" and stage != "referred":
        steps.append(("assigned", rng.uniform(2, 72), {"employee": rng.choice(employees)}))
    if issued:
        steps.append(("issued", rng.uniform(24, 240), {
            "outgoing_number": f"9{rng.randrange(10 ** 6):06d}",
            "destination_agency": rng.choice(department.agencies),
            "reply_expected": stage in ("awaiting_reply", "overdue") or replied}))
    if replied:
        steps.append(("reply_received", rng.uniform(48, 24 * 20), {}))
    if stage == "closed":
        steps.append(("closed", rng.uniform(4, 96), {}))

    offsets = []
    total = 0.0
    for _, gap, _ in steps:
        total += gap
        offsets.append(total)
    span = SPAN_DAYS * 24 - total - 1
    if stage == "overdue":
        # Issued (the last event) more than reply_days ago, never answered.
        age = rng.uniform((reply_days + 1) * 24, min((reply_days + 35) * 24, span))
    elif stage == "awaiting_reply":
        age = rng.uniform(2, (reply_days - 1) * 24)
    else:
        recent = {"registered": 10, "referred": 20, "assigned": 40}.get(stage, SPAN_DAYS)
        age = rng.uniform(1, min(recent * 24, span))
    start = now - timedelta(hours=age + total)

    payloads = []
    for (kind, _, extra), offset in zip(steps, offsets, strict=True):
        at = (start + timedelta(hours=offset)).replace(second=0, microsecond=0)
        payload: dict[str, Any] = {
            "event_id": f"{EVENT_PREFIX}{number}:{kind}", "type": kind,
            "occurred_at": at.isoformat(), "transaction": {"number": number}, **extra}
        if kind == "registered":
            payload["transaction"].update(subject=subject, applicant=applicant)
        payloads.append(payload)
    return tuple(payloads)


class DemoTarget(Protocol):
    """What the demo loads through: ``core.service.Core``, which sits a layer above."""

    @property
    def db(self) -> Database: ...
    @property
    def config(self) -> CoreSettings: ...
    def upsert_department(self, code: str, data: Any) -> Upserted: ...
    def upsert_agency(self, code: str, data: Any) -> Upserted: ...
    def upsert_employee(self, code: str, data: Any) -> Upserted: ...


def load_demo(core: DemoTarget, *, transactions: int = 300, seed: int = 74747,
              if_empty: bool = False, now: datetime | None = None) -> str:
    """Load the demo and return a report for the operator: counts and lookups to try."""
    started = time.perf_counter()
    with core.db.read() as session:
        existing = session.scalar(select(func.count()).select_from(Transaction)) or 0
    if if_empty and existing:
        return (f"demo data: not loaded, the database already has {existing} "
                f"transactions (--if-empty)")
    plan = plan_demo(seed=seed, transactions=transactions, now=now or datetime.now(UTC),
                     default_reply_days=core.config.scheduler.overdue_reply_days)
    clash = _first_present(core, [txn.number for txn in plan.transactions])
    if clash:
        return (f"demo data: not loaded, transaction {clash} already exists (demo data "
                f"loaded before?). Load it into an empty database.")

    for code, body in plan.departments:
        core.upsert_department(code, body)
    for code, body in plan.agencies:
        core.upsert_agency(code, body)
    for code, body in plan.employees:
        core.upsert_employee(code, body)
    events = expired = 0
    for first in range(0, len(plan.transactions), BATCH):
        with core.db.write.begin() as session:
            for txn in plan.transactions[first:first + BATCH]:
                for payload in txn.events:
                    lifecycle.apply_event(session, parse_event(payload), payload, core.config)
                    events += 1
            expired += _expire_notifications(session)
            _silence_overdue(session, [txn.number for txn in
                                       plan.transactions[first:first + BATCH]])
    return _report(plan, seed, events, expired, time.perf_counter() - started)


def _first_present(core: DemoTarget, numbers: list[str]) -> str | None:
    with core.db.read() as session:
        for first in range(0, len(numbers), 500):
            found = session.scalar(select(func.min(Transaction.number)).where(
                Transaction.number.in_(numbers[first:first + 500])))
            if found:
                return found
    return None


def _expire_notifications(session: Session) -> int:
    """Mark this batch's demo messages expired before commit: no sender ever sees them."""
    result = cast(CursorResult[Any], session.execute(
        update(Notification)
        .where(Notification.cause_key.startswith(f"event:{EVENT_PREFIX}", autoescape=True),
               Notification.status == NotificationStatus.PENDING)
        .values(status=NotificationStatus.EXPIRED, last_error=NOT_SENT),
        execution_options={"synchronize_session": False}))
    return result.rowcount


def _silence_overdue(session: Session, numbers: list[str]) -> int:
    """Stop the overdue clocks of this batch before commit: no scan ever messages the demo's
    managers, however long the gateway runs."""
    awaiting = session.scalars(select(Transaction.id).where(
        Transaction.number.in_(numbers), Transaction.reply_expected == true()))
    return overdue.silence(session, list(awaiting), NOT_SENT)


def _report(plan: DemoPlan, seed: int, events: int, expired: int, seconds: float) -> str:
    stages = plan.stages()
    statuses: Counter[str] = Counter()
    for stage, count in stages.items():
        statuses[STATUS_OF_STAGE.get(stage, stage)] += count
    lines = [
        f"demo data loaded in {seconds:.1f} s (seed {seed}):",
        f"  {len(plan.departments)} departments, {len(plan.agencies)} agencies, "
        f"{len(plan.employees)} employees",
        f"  {len(plan.transactions)} transactions, {events} lifecycle events",
        "  transactions by status:",
    ]
    for status in ("registered", "referred", "assigned", "issued", "reply_received",
                   "closed"):
        note = ""
        if status == "issued":
            waiting = stages["awaiting_reply"] + stages["overdue"]
            note = f"  ({waiting} awaiting a reply, {stages['overdue']} of them overdue)"
        lines.append(f"    {status:<15}{statuses[status]:>5}{note}")
    lines += [
        f"  {expired} notifications of the demo marked expired: nothing is sent to the "
        f"demo's made-up numbers (nor overdue follow-ups to its managers).",
        "",
        "Try a lookup: web portal or kiosk with the number and the national ID;",
        "SMS to the short code or the IVR from the mobile (where a test phone has it).",
        f"  {'number':<10}{'national ID':<13}{'mobile':<12}stage",
    ]
    for txn in plan.lookups():
        lines.append(f"  {txn.number:<10}{txn.national_id:<13}{txn.mobile or '-':<12}"
                     f"{STAGE_LABELS[txn.stage]}")
    return "\n".join(lines)
